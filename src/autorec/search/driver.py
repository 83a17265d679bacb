"""The AutoML search (rating and CTR prediction): an Optuna study over models, their
hyperparameters and the training settings, with pruning, a leaderboard, the best model
refitted and saved, and a Caruana ensemble of the best trials.

Each trial is define-by-run: it picks a model, then asks that model's declared
hyperparameters (blocks ask only for what the chosen branch needs), then the training
settings.  The trial trains on ``split.train`` with early stopping on ``split.validation``,
reporting the validation RMSE per epoch to the pruner; the test part is touched once, at the
end, by the refitted best model and the ensemble.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import optuna

from .. import metrics
from ..blocks.hparams import Choice, Float, HParam
from ..errors import ConfigError
from ..train.engine import StopTraining, TrainConfig

# Training settings are part of the space (the original platform never tuned them).
TRAIN_SPACE: dict[str, dict[str, HParam]] = {
    # lambda on the paper's scale (sum of squared errors + lambda/2 ||W||^2): on MovieLens-100K
    # the validation sweep of I-AutoRec chose 200 or 300 on each of 5 splits (300 on three;
    # benchmarks/bench_autorec_accuracy.py); at 100 it overfits within 10 epochs
    "autorec": {
        "lr": Float(1e-4, 5e-3, 1e-3, log=True),
        "batch_size": Choice([16, 32, 64, 128], 32),
        "l2": Float(1.0, 3000.0, 300.0, log=True),
        "optimizer": Choice(["adam", "adamw"], "adam"),
    },
    "blocks": {
        "lr": Float(1e-4, 3e-2, 1e-3, log=True),
        "batch_size": Choice([256, 512, 1024, 2048], 1024),
        "weight_decay": Float(1e-7, 1e-1, 1e-5, log=True),
        "optimizer": Choice(["adam", "adamw"], "adam"),
    },
}


@dataclass
class SearchSettings:
    models: Sequence[str]
    tuner: str = "tpe"
    n_trials: int | None = 20
    time_budget: float | None = None  # seconds for the whole search (this process)
    trial_timeout: float | None = None  # seconds per trial; the run keeps its best epoch so far
    pruner: str = "hyperband"
    pruner_min_epochs: int = 5  # no trial is pruned before this many epochs: early curves mislead
    max_epochs: int = 200
    patience: int = 15
    seed: int = 0
    storage: str | None = None
    study_name: str = "autorec"
    fixed: Mapping[str, Any] = field(default_factory=dict)  # "model/param" or training key -> value
    ensemble_size: int = 5  # how many of the best trials the ensemble may draw from
    refit_full: bool = False  # refit the best on train + validation with its best epoch count
    default_rating: float | str = "global_mean"
    progress: bool = True
    # models whose all-defaults configuration opens a fresh study, in order, after the first
    # model's (None: the task's usual anchors among ``models``, see WARM_START; [] for none)
    warm_start: Sequence[str] | None = None


# Each of these, at its defaults, is a strong configuration that a sampler's first random
# draws rarely come near (I-AutoRec's lambda, BiasedMF's per-rating L2): queued as the first
# trials of a fresh study they give TPE / GP good points to model from, and the pruner a fair
# bar.  Cheap on purpose (seconds per trial on MovieLens-100K / the CTR samples).
WARM_START: dict[str, tuple[str, ...]] = {
    "rating": ("i-autorec", "biased_mf", "deep-autorec"),
    "ctr": ("deepfm", "dcn", "fm"),
}


def parse_duration(text: str | None) -> float | None:
    """``"30m"``, ``"2h"``, ``"90s"``, ``"45"`` (seconds) -> seconds."""
    if text is None or text == "":
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = str(text).strip().lower()
    try:
        if t[-1] in units:
            value = float(t[:-1]) * units[t[-1]]
        else:
            value = float(t)
    except (ValueError, IndexError):
        raise ConfigError(f"cannot read the duration {text!r}; use e.g. 90s, 30m, 2h") from None
    if not value > 0:
        raise ConfigError(f"a duration must be positive, got {text!r}")
    return value


class RatingProblem:
    """Rating prediction on an `Interactions` split: RMSE on validation, RMSE/MAE on test."""

    task = "rating"
    metric = "rmse"

    def __init__(self, data, split, default_rating: float | str = "global_mean") -> None:
        if split.validation is None or len(split.validation) == 0:
            raise ConfigError("the search needs a validation part: choose a split that carves one "
                              "(e.g. random-90-10)")
        self.data, self.split, self.default_rating = data, split, default_rating
        self.y_val = split.validation.ratings
        self.y_test = split.test.ratings
        self.name, self.split_name = data.name, split.name

    def family_kind(self, model: str) -> str:
        from ..models.registry import get_family

        return get_family(model).kind

    def search_names(self, model: str) -> set[str]:
        from ..models.registry import get_family

        return get_family(model).search_names(model)

    def search_params(self, model: str, hp) -> dict:
        from ..models.registry import get_family

        return get_family(model).search_params(model, hp, self.data)

    def fit(self, model: str, params: dict, train: dict, on_epoch=None, full: bool = False):
        from ..estimator import Recommender

        rec = Recommender(model=model, params=params, train=train, default_rating=self.default_rating)
        if full:
            return rec.fit(self.split.train.concat(self.split.validation), None, on_epoch=on_epoch)
        return rec.fit(self.split.train, self.split.validation, on_epoch=on_epoch)

    def predict(self, rec, part: str) -> np.ndarray:
        p = getattr(self.split, part)
        return rec.predict_index(p.users, p.items)

    def scores(self, y: np.ndarray, pred: np.ndarray) -> dict:
        return {"rmse": metrics.rmse(y, pred), "mae": metrics.mae(y, pred)}

    def hparams(self, rec) -> dict:
        return rec.state_.hparams


class CTRProblem:
    """Click-through-rate prediction on rows of a `FeatureTable`: logloss on validation,
    logloss/AUC on test.  The feature encoder is fitted on the training rows of each trial."""

    task = "ctr"
    metric = "logloss"

    def __init__(self, table, split_name: str = "random-90-10", seed: int = 0) -> None:
        from ..splits import split_rows
        from ..train.run import CTR_SPLITS

        if split_name not in CTR_SPLITS:
            raise ConfigError(f"split {split_name!r} does not apply to CTR rows; use one of {sorted(CTR_SPLITS)}")
        test, val = CTR_SPLITS[split_name]
        self.table = table
        self.rows = dict(zip(("train", "validation", "test"), split_rows(len(table), test=test, validation=val, seed=seed)))
        self.y_val = table.labels[self.rows["validation"]].astype(np.float64)
        self.y_test = table.labels[self.rows["test"]].astype(np.float64)
        self.name, self.split_name = table.name, split_name
        self._info = None

    def family_kind(self, model: str) -> str:
        return "blocks"

    def search_names(self, model: str) -> set[str]:
        from ..models.zoo import make_model

        return {f"{model}/{n}" for n in make_model(model, "ctr").tunable()}

    def search_params(self, model: str, hp) -> dict:
        from ..blocks.graph import DataInfo, ScopedHP
        from ..data.features import FeatureEncoder
        from ..models.zoo import make_model

        if self._info is None:  # shapes only: the encoder of the training rows with default settings
            enc = FeatureEncoder().fit(self.table, self.rows["train"]).transform(self.table, self.rows["train"][:1])
            self._info = DataInfo.from_encoded(enc, task="ctr")
        return dict(make_model(model, "ctr").build(ScopedHP(hp, model), self._info).hp_values)

    def fit(self, model: str, params: dict, train: dict, on_epoch=None, full: bool = False):
        from ..ctr import CTRModel

        rec = CTRModel(model, params=params, train=train)
        if full:
            rows = np.sort(np.concatenate([self.rows["train"], self.rows["validation"]]))
            return rec.fit(self.table, rows, None, on_epoch=on_epoch)
        return rec.fit(self.table, self.rows["train"], self.rows["validation"], on_epoch=on_epoch)

    def predict(self, rec, part: str) -> np.ndarray:
        return rec.predict_proba(self.table, self.rows[part])

    def scores(self, y: np.ndarray, pred: np.ndarray) -> dict:
        return {"logloss": metrics.logloss(y, pred), "auc": metrics.auc(y, pred)}

    def hparams(self, rec) -> dict:
        return rec.hparams_


class _Scoped:
    """An hp source that applies the user's fixed values before asking the trial."""

    def __init__(self, source, fixed: Mapping[str, Any]) -> None:
        self.source = source
        self.fixed = fixed
        self.values: dict[str, Any] = {}

    def get(self, name: str, spec: HParam) -> Any:
        value = spec.validate(self.fixed[name], name) if name in self.fixed else self.source.get(name, spec)
        self.values[name] = value
        return value


# training settings that the search's own options decide
SEARCH_OWNED_TRAIN_KEYS = {"max_epochs": "--max-epochs", "patience": "SearchSettings.patience",
                           "seed": "--seed", "progress": "(always off inside trials)"}
_PASSED_TRAIN_KEYS = set(TrainConfig.__dataclass_fields__) - set(SEARCH_OWNED_TRAIN_KEYS)


def check_fixed(settings: SearchSettings, problem) -> None:
    """Every ``--set`` name must be one the search could ask for: a misspelt or foreign name
    would otherwise be ignored without a word, and the user would believe it fixed."""
    fixed = settings.fixed
    for key, option in SEARCH_OWNED_TRAIN_KEYS.items():
        if key in fixed:
            raise ConfigError(f"--set {key}=...: the search sets {key} itself; use {option}")
    # bad training values (precision "fp16", a negative lr) fail now, not in every trial
    TrainConfig(**{k: v for k, v in fixed.items() if k in _PASSED_TRAIN_KEYS})
    known = {"model"} | _PASSED_TRAIN_KEYS
    models = list(settings.models)
    for model in models:
        kind = problem.family_kind(model)
        known |= {f"train.{kind}/{k}" for k in TRAIN_SPACE[kind]} | problem.search_names(model)
    unknown = sorted(set(fixed) - known)
    if unknown:
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"--set: not a hyperparameter or training setting of the searched models "
                          f"({', '.join(models)}): {', '.join(hints)}")
    if "model" in fixed and fixed["model"] not in models:
        raise ConfigError(f"--set model={fixed['model']}: not among the searched models {models}")


def suggest(trial_hp, settings: SearchSettings, problem) -> tuple[str, dict, dict]:
    """Pick a model, its hyperparameters and the training settings from ``trial_hp``."""
    hp = _Scoped(trial_hp, settings.fixed)
    models = list(settings.models)
    model = hp.get("model", Choice(models, models[0])) if len(models) > 1 else models[0]
    kind = problem.family_kind(model)
    params = problem.search_params(model, hp)
    # scoped by family: the same setting has a different range for autoencoders and block models
    # (Optuna needs one distribution per name); a user fixes them by the bare name or scoped
    train = {k: (hp.get(k, spec) if k in settings.fixed else hp.get(f"train.{kind}/{k}", spec))
             for k, spec in TRAIN_SPACE[kind].items()}
    train.update({"max_epochs": settings.max_epochs, "patience": settings.patience,
                  "seed": settings.seed, "progress": False})
    # training settings the search does not tune but the user fixed (device, threads,
    # precision, ...) go to every trial as given
    train.update({k: v for k, v in settings.fixed.items() if k in _PASSED_TRAIN_KEYS and k not in train})
    return model, params, train


def default_search_models(task: str = "rating") -> list[str]:
    from ..models.registry import model_names, get_family

    if task == "ctr":
        from ..ctr import ctr_model_names

        return ctr_model_names()
    if task != "rating":
        raise ConfigError(f"--task must be rating or ctr, got {task!r}")
    out = []
    for name in model_names():
        fam = get_family(name)
        if fam.kind == "autorec" and name != "hybrid-autorec":
            out.append(name)
        elif fam.kind == "blocks" and "rating" in fam.tasks(name):
            out.append(name)
    return out


@dataclass
class TrialOutcome:
    rec: Any
    val_pred: np.ndarray
    value: float


def run_trial(problem, model: str, params: dict, train: dict, on_epoch=None) -> TrialOutcome:
    rec = problem.fit(model, params, train, on_epoch)
    val_pred = problem.predict(rec, "validation")
    return TrialOutcome(rec, val_pred, problem.scores(problem.y_val, val_pred)[problem.metric])


def run_search(problem, settings: SearchSettings, out: Path,
               on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None) -> dict:
    """Run (or resume) the study on ``problem`` (a :class:`RatingProblem` or :class:`CTRProblem`)
    and write everything into ``out``; returns metrics.json's dict."""
    from .hp import OptunaHP
    from .storage import SharedBudget, open_study, remaining_budget, track_failures
    from .tuners import make_pruner, make_sampler

    check_fixed(settings, problem)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own progress line says it better
    sampler = make_sampler(settings.tuner, seed=settings.seed)
    pruner = make_pruner(settings.pruner, min_resource=settings.pruner_min_epochs,
                         n_warmup_steps=settings.pruner_min_epochs)
    # with the default per-folder SQLite file this process is the only worker, so a trial left
    # RUNNING is one a killed run left behind; shared storages rely on heartbeats instead
    study = open_study(settings.storage, settings.study_name, out, direction="minimize",
                       sampler=sampler, pruner=pruner, fail_running=settings.storage is None)
    # the first trial of a fresh study is the all-defaults configuration (greedy starts there),
    # then the defaults of the warm-start models
    if not study.trials:
        for model in warm_start_models(settings, problem.task):
            study.enqueue_trial(_defaults_as_params(settings, problem, model), skip_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        hp = OptunaHP(trial)
        model, params, train = suggest(hp, settings, problem)
        trial.set_user_attr("model", model)
        trial.set_user_attr("params", _jsonable(params))
        trial.set_user_attr("train", _jsonable(train))
        started = time.perf_counter()

        def on_epoch(epoch: int, val: dict) -> None:
            trial.report(val[problem.metric], epoch)
            if trial.should_prune():
                trial.set_user_attr("epochs", epoch)
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")
            if settings.trial_timeout and time.perf_counter() - started > settings.trial_timeout:
                trial.set_user_attr("timed_out", True)
                raise StopTraining("per-trial time limit")

        try:
            outcome = run_trial(problem, model, params, train, on_epoch)
        except BaseException as exc:
            trial.set_user_attr("seconds", time.perf_counter() - started)
            if isinstance(exc, Exception) and not isinstance(exc, optuna.TrialPruned):
                trial.set_user_attr("traceback", traceback.format_exc()[-4000:])
            raise  # track_failures records the error; the search goes on
        trial.set_user_attr("epochs", len(outcome.rec.history_.epochs))
        trial.set_user_attr("best_epoch", outcome.rec.history_.best_epoch)
        trial.set_user_attr("seconds", time.perf_counter() - started)
        return outcome.value

    n_left = remaining_budget(study, settings.n_trials) if settings.n_trials else None
    callbacks = []
    if settings.n_trials:
        callbacks.append(SharedBudget(settings.n_trials))  # workers on one study share the total
    if on_trial is not None:
        callbacks.append(on_trial)
    t0 = time.perf_counter()
    if n_left is None or n_left > 0:
        study.optimize(track_failures(objective), n_trials=n_left, timeout=settings.time_budget,
                       callbacks=callbacks, catch=(Exception,), gc_after_trial=True)
    search_seconds = time.perf_counter() - t0
    return finalize(study, problem, settings, out, search_seconds)


def warm_start_models(settings: SearchSettings, task: str) -> list[str]:
    """The models whose defaults open a fresh study: the first model of the space, then the
    warm-start list (``settings.warm_start`` or the task's :data:`WARM_START`) within the space."""
    models = list(settings.models)
    if "model" in settings.fixed:
        return [settings.fixed["model"]]
    wanted = WARM_START.get(task, ()) if settings.warm_start is None else settings.warm_start
    unknown = [m for m in wanted if m not in models]
    if settings.warm_start is not None and unknown:
        raise ConfigError(f"warm-start model(s) {unknown} are not in the searched models {models}")
    return list(dict.fromkeys([models[0], *(m for m in wanted if m in models)]))


def _defaults_as_params(settings: SearchSettings, problem, model: str | None = None) -> dict:
    """The all-defaults trial of ``model`` (default: the first) in Optuna's parameter naming
    (for enqueue_trial)."""
    from ..blocks.hparams import DefaultHP
    from .hp import encode_value

    class Recording(DefaultHP):
        def __init__(self) -> None:
            super().__init__()
            self.specs: dict[str, HParam] = {}

        def get(self, name: str, spec: HParam):
            self.specs[name] = spec
            if name == "model" and model is not None:
                self.values[name] = model
                return model
            return super().get(name, spec)

    rec = Recording()
    suggest(rec, settings, problem)
    return {k: encode_value(k, rec.specs[k], v) for k, v in rec.values.items()}


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else list(o)))


def leaderboard(study: optuna.Study, metric: str = "rmse"):
    import pandas as pd

    rows = []
    for t in study.trials:
        rows.append({
            "trial": t.number,
            "state": t.state.name,
            "model": t.user_attrs.get("model", ""),
            f"val_{metric}": t.value if t.value is not None else float("nan"),
            "epochs": t.user_attrs.get("epochs"),
            "seconds": round(float(t.user_attrs.get("seconds", float("nan"))), 2),
            "params": json.dumps({**t.user_attrs.get("params", {}), **t.user_attrs.get("train", {})}, sort_keys=True),
            "error": t.user_attrs.get("fail_reason", ""),
        })
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values([f"val_{metric}", "trial"], na_position="last").reset_index(drop=True)
    return df


def finalize(study: optuna.Study, problem, settings: SearchSettings, out: Path, search_seconds: float) -> dict:
    from ..artifact import write_json_atomic
    from ..train.run import write_run
    from .ensemble import caruana_ensemble

    board = leaderboard(study, problem.metric)
    tmp = out / ".leaderboard.csv.tmp"
    board.to_csv(tmp, index=False)
    tmp.replace(out / "leaderboard.csv")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise ConfigError(f"no trial completed (of {len(study.trials)}); see {out / 'leaderboard.csv'} for the errors")
    complete.sort(key=lambda t: (t.value, t.number))
    best = complete[0]

    # refits are deterministic (same seed, same settings): the trial's model again
    def refit(t: optuna.trial.FrozenTrial):
        train = dict(t.user_attrs["train"])
        # the trial again, for the epochs it ran (a per-trial time limit may have cut it short)
        train["max_epochs"] = int(t.user_attrs.get("epochs") or train["max_epochs"])
        outcome = run_trial(problem, t.user_attrs["model"], t.user_attrs["params"], train)
        return outcome.rec, outcome.val_pred

    best_rec, best_val = refit(best)
    result = {
        "task": problem.task,
        "model": best.user_attrs["model"],
        "dataset": problem.name,
        "split": problem.split_name,
        "seed": settings.seed,
        "params": problem.hparams(best_rec),
        "train_settings": best_rec.train_config_.to_dict(),
        "validation": problem.scores(problem.y_val, best_val),
        "best_trial": best.number,
        "n_trials": len(study.trials),
        "n_complete": len(complete),
        "n_pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        "n_failed": sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials),
        "tuner": settings.tuner,
        "search_seconds": round(search_seconds, 2),
    }
    final = best_rec
    if settings.refit_full:
        # train + validation, for the number of epochs the trial found best
        train = dict(best.user_attrs["train"])
        train.update({"max_epochs": int(best.user_attrs.get("best_epoch") or train["max_epochs"]), "patience": 0})
        final = problem.fit(best.user_attrs["model"], best.user_attrs["params"], train, full=True)
        result["refit"] = "train+validation"
    result["test"] = problem.scores(problem.y_test, problem.predict(final, "test"))
    result["train_seconds"] = round(final.fit_seconds_, 3)
    result["epochs"] = len(final.history_.epochs)
    write_run(out, final, result)

    # ensemble of the best trials: greedy selection with replacement on validation predictions
    members = complete[: max(1, settings.ensemble_size)]
    if len(members) > 1:
        fitted = [(best_rec, best_val)] + [refit(t) for t in members[1:]]
        val_preds = np.stack([v for _, v in fitted])
        ens = caruana_ensemble(val_preds, problem.y_val, metric=problem.metric, max_size=20)
        weights = np.asarray(ens.weights, dtype=np.float64)
        ens_val = float(ens.score)
        best_single = float(min(problem.scores(problem.y_val, v)[problem.metric] for v in val_preds))
        info = {"members": [t.number for t in members], "weights": weights.tolist(),
                "validation": {problem.metric: ens_val}, f"best_single_validation_{problem.metric}": best_single}
        if ens_val < best_single - 1e-9 and (weights > 0).sum() > 1:
            test_preds = np.stack([problem.predict(r, "test") for r, _ in fitted])
            info["test"] = problem.scores(problem.y_test, (weights[:, None] * test_preds).sum(0) / weights.sum())
            ens_dir = out / "ensemble"
            ens_dir.mkdir(exist_ok=True)
            for (r, _), t, w in zip(fitted, members, weights):
                if w > 0:
                    r.save(ens_dir / f"trial-{t.number}")
            write_json_atomic(ens_dir / "ensemble.json", {
                "members": [f"trial-{t.number}" for t, w in zip(members, weights) if w > 0],
                "weights": [float(w) for w in weights if w > 0]})
            info["saved"] = str(ens_dir)
            result["ensemble"] = info
        else:
            info["note"] = "not built: it does not beat the best single model on validation"
            result["ensemble_considered"] = info
        write_json_atomic(out / "metrics.json", result)
    _plots(study, board, out, problem.metric)
    return result


def _plots(study: optuna.Study, board, out: Path, metric: str) -> None:
    from ..report.search_plots import plot_importances, plot_leaderboard, plot_optimization_history

    plot_optimization_history(study, out / "history.png", metric)
    plot_importances(study, out / "importances.png")
    plot_leaderboard(board, out / "leaderboard.png", metric)
