"""The search space: which model, which of its hyperparameters, which training settings.

Each trial is define-by-run: it picks a model, then asks that model's declared
hyperparameters (blocks ask only for what the chosen branch needs), then the training
settings of the model's family.  The user's ``--set`` values are answered before the trial is
asked (:class:`~autorec.hparams.OverridesHP`), so they are fixed, not searched.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from ..errors import ConfigError
from ..hparams import Choice, FixedHP, Float, HParam, HyperParameters, OverridesHP, RecordingHP, encode_value
from ..problems import Problem
from ..train.engine import TrainConfig
from .settings import SearchSettings

# Training settings are part of the space (the original platform never tuned them), by the
# family's ``train_space``: the same setting has a different range for autoencoders and block
# models (Optuna needs one distribution per name), so their names are scoped ("train.autorec/lr").
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
    "none": {},  # closed-form models (the ranking task's): nothing trained, nothing to set
    # top-N models stepped by an optimizer (BPR-MF): bigger batches than rating pairs, since an
    # epoch is every positive (810,000 on Gowalla)
    "topn-sgd": {
        "lr": Float(3e-4, 3e-2, 3e-3, log=True),
        "batch_size": Choice([1024, 4096, 16384], 4096),
    },
    "blocks": {
        "lr": Float(1e-4, 3e-2, 1e-3, log=True),
        "batch_size": Choice([256, 512, 1024, 2048], 1024),
        "weight_decay": Float(1e-7, 1e-1, 1e-5, log=True),
        "optimizer": Choice(["adam", "adamw"], "adam"),
    },
}

# Each of these, at its defaults, is a strong configuration that a sampler's first random
# draws rarely come near (I-AutoRec's lambda, BiasedMF's per-rating L2): queued as the first
# trials of a fresh study they give TPE / GP good points to model from, and the pruner a fair
# bar.  Cheap on purpose (seconds per trial on MovieLens-100K / the CTR samples).
WARM_START: dict[str, tuple[str, ...]] = {
    "rating": ("i-autorec", "baseline", "biased-mf", "deep-autorec"),
    "ctr": ("deepfm", "dcn", "fm"),
    # the graph filters too: closed forms at their published or grid-chosen settings, the
    # strongest single models on Gowalla (docs/benchmarks.md section 15), a minute a fit there
    "ranking": ("ease", "ials", "itemknn", "popularity", "gf-cf", "bspm"),
}

# Below this many validation rows the search scores by cross-validation (cv="auto"): the
# standard error of an RMSE over n rows is about RMSE * sqrt((kurtosis - 1) / 4n), 0.01-0.015 at
# n = 5,000 for ratings on a 5-star scale, as large as the differences selection must resolve.
CV_BELOW_ROWS = 5_000
CV_AUTO_FOLDS = 5


def resolve_cv(cv: int | str | None, problem: Problem) -> int | None:
    """The folds the search uses (None: the plain validation part)."""
    if cv in (None, 0, 1, "none", "0"):
        return None
    if not getattr(problem, "pointwise", True):  # a ranking is scored per user, not per row
        if cv == "auto":
            return None
        raise ConfigError(f"--cv {cv}: cross-validation scores per-row predictions, and the {problem.task} task "
                          "ranks; pass --cv none")
    if cv == "auto":
        return CV_AUTO_FOLDS if len(problem.target("validation")) < CV_BELOW_ROWS else None
    try:
        k = int(cv)
    except (TypeError, ValueError):
        raise ConfigError(f"--cv must be a number of folds, 'auto' or 'none', got {cv!r}") from None
    if k < 2 or str(k) != str(cv).strip():
        raise ConfigError(f"--cv must be at least 2 folds (or 'auto' / 'none'), got {cv!r}")
    return k


# training settings that the search's own options decide
SEARCH_OWNED_TRAIN_KEYS = {"max_epochs": "--max-epochs", "patience": "SearchSettings.patience",
                           "seed": "--seed", "progress": "(always off inside trials)"}
PASSED_TRAIN_KEYS = TrainConfig.keys() - set(SEARCH_OWNED_TRAIN_KEYS)


def train_space_of(family, model: str) -> str:
    """Which ranges of ``TRAIN_SPACE`` the search draws for ``model`` (a family may choose
    per model: the top-N family holds closed forms and models stepped by an optimizer)."""
    per_model = getattr(family, "train_space_for", None)
    return per_model(model) if per_model is not None else family.train_space


def check_fixed(settings: SearchSettings, problem: Problem) -> None:
    """Every ``--set`` name must be one the search could ask for: a misspelt or foreign name
    would otherwise be ignored without a word, and the user would believe it fixed."""
    fixed = settings.fixed
    for key, option in SEARCH_OWNED_TRAIN_KEYS.items():
        if key in fixed:
            raise ConfigError(f"--set {key}=...: the search sets {key} itself; use {option}")
    # bad training values (precision "fp16", a negative lr) fail now, not in every trial
    TrainConfig(**{k: v for k, v in fixed.items() if k in PASSED_TRAIN_KEYS})
    known = {"model"} | PASSED_TRAIN_KEYS
    models = list(settings.models)
    for model in models:
        family = problem.family(model)
        space = train_space_of(family, model)
        known |= {f"train.{space}/{k}" for k in TRAIN_SPACE[space]}
        known |= family.search_names(model)
    unknown = sorted(set(fixed) - known)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"--set: not a hyperparameter or training setting of the searched models "
                          f"({', '.join(models)}): {', '.join(hints)}")
    if "model" in fixed and fixed["model"] not in models:
        raise ConfigError(f"--set model={fixed['model']}: not among the searched models {models}")


def suggest(trial_hp: HyperParameters, settings: SearchSettings, problem: Problem) -> tuple[str, dict, dict]:
    """Pick a model, its hyperparameters and the training settings from ``trial_hp``."""
    hp = OverridesHP(trial_hp, settings.fixed)
    models = list(settings.models)
    model = hp.get("model", Choice(models, models[0])) if len(models) > 1 else models[0]
    family = problem.family(model)
    space = train_space_of(family, model)
    params = problem.search_params(model, hp)
    # a user fixes a training setting by the bare name or the scoped one; a family may move a
    # setting's default inside the shared range (the warm start and each model's first trial
    # begin there), which leaves Optuna's distribution, and so the study, unchanged
    own = getattr(family, "search_train_defaults_for", lambda _name: {})(model)
    specs = {k: dataclasses.replace(spec, default=spec.validate(own[k], k)) if k in own else spec
             for k, spec in TRAIN_SPACE[space].items()}
    train = {k: (hp.get(k, spec) if k in settings.fixed else hp.get(f"train.{space}/{k}", spec))
             for k, spec in specs.items()}
    # a model whose own patience is shorter keeps it: an exact sweep (iALS) is not a noisy
    # stochastic epoch, and waiting 15 sweeps past its peak only spends the budget
    own = getattr(problem.family(model), "search_patience", lambda _name: None)(model)
    patience = settings.patience if own is None else min(settings.patience, own)
    train.update({"max_epochs": settings.max_epochs, "patience": patience,
                  "seed": settings.seed, "progress": False})
    # training settings the search does not tune but the user fixed (device, threads,
    # precision, ...) go to every trial as given
    train.update({k: v for k, v in settings.fixed.items() if k in PASSED_TRAIN_KEYS and k not in train})
    return model, params, train


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


def defaults_as_params(settings: SearchSettings, problem: Problem, model: str | None = None) -> dict[str, Any]:
    """The all-defaults trial of ``model`` (default: the first) in Optuna's parameter naming,
    for ``study.enqueue_trial``: the space is walked with every answer at its default (the
    model choice answered with ``model``) and each answer encoded as Optuna stores it."""
    recorder = RecordingHP(FixedHP({"model": model} if model is not None else {}))
    suggest(recorder, settings, problem)
    return {k: encode_value(k, recorder.specs[k], v) for k, v in recorder.values.items()}
