"""What a finished search hands back: the leaderboard, the best model refitted and scored on
test once, the ensemble of the best trials (kept only when it beats the best single model on
validation), and the plots.  Each step is its own function; :func:`finalize` runs them in order.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from ..errors import ConfigError
from ..estimators import Ensemble
from ..estimators.ensemble import standardise_rows
from ..io import read_json, write_json_atomic
from ..plots import plot_importances, plot_leaderboard, plot_optimization_history
from ..problems import CrossValidated, Problem
from ..runs import write_run
from ..train.engine import History
from .budget import REFIT_FULL_FACTOR, Budget, refit_estimate
from .ensemble import caruana_ensemble, ranking_ensemble
from .scheduling import FOLD_SCORES
from .settings import SearchSettings


def leaderboard(study: optuna.Study, metric: str = "rmse", direction: str = "minimize") -> pd.DataFrame:
    """One row per trial, best first by its validation metric (unfinished trials last); a
    queued trial that never started (a warm start the trial count cut off) is not one."""
    rows = []
    for t in study.trials:
        if t.state == optuna.trial.TrialState.WAITING:
            continue
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
        df = df.sort_values([f"val_{metric}", "trial"], ascending=[direction == "minimize", True],
                            na_position="last").reset_index(drop=True)
    return df


def _raced_out_after(study: optuna.Study) -> dict[str, int]:
    """How many trials fold racing stopped after each number of folds, ``{"1": n, "2": m}``: a
    raced trial's recorded fold scores are the folds it trained."""
    counts: dict[str, int] = {}
    for t in study.trials:
        if t.user_attrs.get("raced_out"):
            done = str(len(t.user_attrs[FOLD_SCORES]))
            counts[done] = counts.get(done, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: int(kv[0])))


def write_leaderboard(board: pd.DataFrame, out: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=out, prefix=".leaderboard.csv.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)  # a unique name, renamed into place
    try:
        board.to_csv(tmp, index=False)
        tmp.replace(out / "leaderboard.csv")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out / "leaderboard.csv"


def completed(study: optuna.Study, problem: Problem) -> list[FrozenTrial]:
    """The COMPLETE trials, best first (ties to the earlier trial)."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return sorted(done, key=lambda t: (problem.sort_key(t.value), t.number))


def ensemble_candidates(ranked: list, size: int, per_model: int, fill: bool = True,
                        model_of=lambda t: t.user_attrs.get("model")) -> list:
    """The trials an ensemble draws on, from ``ranked`` (best first): the best ones while their
    model has fewer than ``per_model`` among them, ``size`` in all.  A long search otherwise
    hands the ensemble near-copies of one model: after an hour on u1 the five best were
    I-AutoRec configurations within 0.0007 RMSE, and their ensemble gained 0.003 on the best
    single trial where the 15-minute run's mixed one gained 0.011 (docs/search.md).  With
    ``fill``, when the models run out first (a search of one or two), the best of the rest
    complete the ``size``."""
    picked, count = [], {}
    for i, t in enumerate(ranked):
        if len(picked) >= size:
            break
        model = model_of(t)
        if count.get(model, 0) < per_model:
            picked.append(i)
            count[model] = count.get(model, 0) + 1
    if fill and len(picked) < size:
        taken = set(picked)
        picked = sorted(picked + [i for i in range(len(ranked)) if i not in taken][: size - len(picked)])
    return [ranked[i] for i in picked]


def candidates_of(ranked: list[FrozenTrial], problem: Problem, settings: SearchSettings) -> list[FrozenTrial]:
    """The search's ensemble candidates, best first (the best trial is the first): for a
    ranking ensemble the best trial of each model (trials of one model rank alike), else
    ``ensemble_candidates`` with ``settings.ensemble_per_model``.  Duplicate trials (the same
    configuration again) are never candidates."""
    unique = [t for t in ranked if t.user_attrs.get("duplicate_of") is None]
    size = settings.ensemble_size_for(problem.task)
    if getattr(problem, "rank_ensembles", False):
        return ensemble_candidates(unique, size, 1, fill=False)
    size = size if getattr(problem, "ensembles", True) else 1
    return ensemble_candidates(unique, size, settings.ensemble_per_model)


class KeptModels:
    """The trained models of the ensemble's candidates so far (``candidates_of``), in
    ``out/trials/trial-N/``, so that the results need no retraining: a model folder plus
    ``history.json``.  A trial whose folder is missing (another worker's, or one written before
    a kill) is refitted instead."""

    def __init__(self, folder: Path, settings: SearchSettings, problem: Problem) -> None:
        self.folder, self.settings, self.problem = Path(folder), settings, problem

    def _path(self, number: int) -> Path:
        return self.folder / f"trial-{number}"

    def offer(self, study: optuna.Study, number: int, value: float, model: str, est) -> bool:
        """Keep ``est`` if trial ``number`` (``value``, of ``model``) is among the ensemble's
        candidates; drop the ones it displaces."""
        ranked = [SimpleNamespace(number=t.number, value=t.value, user_attrs=t.user_attrs)
                  for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.number != number]
        ranked.append(SimpleNamespace(number=number, value=value, user_attrs={"model": model}))
        ranked.sort(key=lambda t: (self.problem.sort_key(t.value), t.number))
        keep = {t.number for t in candidates_of(ranked, self.problem, self.settings)}
        kept = number in keep
        if kept:
            path = self.problem.keep(est, self._path(number))
            write_json_atomic(path / "history.json", est.history_.to_dict())
        for n in (t.number for t in ranked):
            if n not in keep and self._path(n).exists():
                shutil.rmtree(self._path(n), ignore_errors=True)
        return kept

    def load(self, number: int):
        path = self._path(number)
        if not (path / "history.json").exists():
            return None
        try:
            est = self.problem.load_estimator(path)
            est.history_ = History.from_dict(read_json(path / "history.json"))
        except (ConfigError, TypeError, KeyError):
            return None  # damaged: refit instead
        est.fit_seconds_ = est.history_.seconds
        return est


def refit(problem: Problem, trial: FrozenTrial):
    """The trial's model again, for the epochs it ran (a per-trial time limit may have cut it
    short): fits are deterministic (same seed, same settings), so this is the trial's model."""
    train = dict(trial.user_attrs["train"])
    train["max_epochs"] = int(trial.user_attrs.get("epochs") or train["max_epochs"])
    est = problem.fit(trial.user_attrs["model"], trial.user_attrs["params"], train)
    return est, problem.predict(est, "validation")


def trained(problem: Problem, trial: FrozenTrial, kept: KeptModels | None, may_refit: bool = True):
    """The trial's model and its validation predictions: the kept one, else a refit (None when
    the model is not kept and ``may_refit`` is false)."""
    est = kept.load(trial.number) if kept is not None else None
    if est is None:
        return refit(problem, trial) if may_refit else None
    return est, problem.predict(est, "validation")


def refit_full(problem: Problem, trial: FrozenTrial, seed_offset: int = 0):
    """The trial's configuration on train + validation, for the number of epochs it found best
    (under cross-validation: the median of its fold models' best epoch counts); ``seed_offset``
    trains another copy with the trial's seed plus that much."""
    train = dict(trial.user_attrs["train"])
    if seed_offset:
        train["seed"] = int(train.get("seed", 0)) + seed_offset
    if isinstance(problem, CrossValidated):
        epochs = trial.user_attrs.get("fold_best_epochs") or [trial.user_attrs.get("best_epoch") or 1]
        train["max_epochs"] = max(1, int(np.median(epochs)))
        problem = problem.base  # the pool is the base problem's train + validation
    else:
        train["max_epochs"] = int(trial.user_attrs.get("best_epoch") or train["max_epochs"])
    train["patience"] = 0
    return problem.fit(trial.user_attrs["model"], trial.user_attrs["params"], train, full=True)


def build_ensemble(problem: Problem, members: list[FrozenTrial], fitted: list, out: Path,
                   refit=None, seeds: int = 1, room=None) -> tuple[str, dict]:
    """Caruana selection over the members' validation predictions.  Saved (and scored on test)
    only when it beats the best single model on validation with more than one member; returns
    ``("ensemble" | "ensemble_considered", info)`` for metrics.json.  ``refit(i, offset)``, under
    cross-validation or ``--refit-full``: member ``i`` trained on every non-test row with its
    seed plus ``offset`` (None: keep the model as it was scored).  With ``seeds`` > 1 each
    refit member gets ``seeds - 1`` more copies, heaviest members first, each only while
    ``room(seconds)`` says the time budget holds one more fit of that length; a member's weight
    is shared equally by its copies."""
    if problem.direction != "minimize":
        raise ConfigError(f"the ensemble selection minimises; {problem.metric} is maximised")
    val_preds = np.stack([v for _, v in fitted])
    y_val = problem.target("validation")
    selection = caruana_ensemble(val_preds, y_val, metric=problem.metric, max_size=20)
    weights = np.asarray(selection.weights, dtype=np.float64)
    ens_val = float(selection.score)
    best_single = float(min(problem.scores(y_val, v)[problem.metric] for v in val_preds))
    info = {"members": [t.number for t in members], "weights": weights.tolist(),
            "validation": {problem.metric: ens_val}, f"best_single_validation_{problem.metric}": best_single}
    if not (problem.better(ens_val, best_single - 1e-9) and (weights > 0).sum() > 1):
        info["note"] = "not built: it does not beat the best single model on validation"
        return "ensemble_considered", info
    keep = [i for i, w in enumerate(weights) if w > 0]
    copies = [[fitted[i][0]] for i in keep]
    if refit is not None:
        refits = [refit(i, 0) for i in keep]
        info["refit"] = [m is not None for m in refits]
        copies = [[m] if m is not None else c for m, c in zip(refits, copies)]
        # more seeds of each refit member: a refit is trained once, on rows no model was
        # scored on, so averaging copies is the one cheap guard against an unlucky seed
        for j in sorted(range(len(keep)), key=lambda j: -weights[keep[j]]):
            if refits[j] is None:
                continue
            for offset in range(1, seeds):
                if room is not None and not room(float(getattr(refits[j], "fit_seconds_", 0.0))):
                    break
                copy = refit(keep[j], offset)
                if copy is None:
                    break
                copies[j].append(copy)
        info["refit_seeds"] = [len(c) if m is not None else 0 for c, m in zip(copies, refits)]
    chosen = [m for c in copies for m in c]
    shares = [weights[i] / len(c) for i, c in zip(keep, copies) for _ in c]
    names = [f"trial-{members[i].number}" + (f"-seed{k}" if k else "")
             for i, c in zip(keep, copies) for k in range(len(c))]
    ensemble = Ensemble(chosen, shares, names, task=problem.task)
    info["test"] = problem.evaluate(ensemble, "test")
    ensemble.save(out / "ensemble")
    info["saved"] = str(out / "ensemble")
    return "ensemble", info


RANKING_SAMPLE_USERS = 2_000  # validation users the ranking ensemble's weights are chosen on


def held_out_gains(problem: Problem, users: np.ndarray, blocks: list[np.ndarray], seed: int) -> list[float]:
    """The ranking ensemble's gain over the best single model (``blocks[0]``) on validation
    users it was not weighted on: the sampled users are cut in two halves (seeded), weights are
    chosen on each half and scored on the other.  Weights chosen and judged on the same users
    flatter the ensemble: on ML-100K one beat EASE by 0.008 NDCG@20 on validation and lost to it
    by 0.005 on test (docs/search.md)."""
    order = np.random.default_rng(seed + 7).permutation(len(users))
    halves = [np.sort(order[: len(users) // 2]), np.sort(order[len(users) // 2:])]
    gains = []
    for fit, judge in ((0, 1), (1, 0)):
        on = halves[fit]
        weights = ranking_ensemble([b[on] for b in blocks],
                                   lambda block, on=on: problem.sample_metric(users[on], block)).weights
        there = halves[judge]
        mixed = sum(w * b[there] for w, b in zip(weights, blocks) if w > 0) / weights.sum()
        gains.append(problem.sample_metric(users[there], mixed) - problem.sample_metric(users[there], blocks[0][there]))
    return gains


def build_ranking_ensemble(problem: Problem, members: list[FrozenTrial], fitted: list, out: Path,
                           settings: SearchSettings, budget: Budget | None, refit_best=None) -> tuple[str, dict]:
    """Caruana selection over the members' per-user standardised scores, on a seeded sample of
    validation users; kept only when, weighted on half of those users, it beats the best single
    model on the other half (`held_out_gains`, both ways, on average), and it beats it on ALL of
    validation with more than one member.  With ``--refit-full`` its members are refit on train + validation
    (their best epoch counts) before the one test evaluation: ``refit_best`` is the best
    trial's refit, already made, and the others are refit only when their trials' time fits in
    what is left of the budget; else the ensemble is not chosen (metrics.json says why)."""
    users = problem.validation_sample(RANKING_SAMPLE_USERS, settings.seed)
    blocks = [standardise_rows(problem.sample_scores(est, users)).astype(np.float32) for est, _ in fitted]
    selection = ranking_ensemble(blocks, lambda block: problem.sample_metric(users, block))
    weights = np.asarray(selection.weights, dtype=np.float64)
    keep = [i for i, w in enumerate(weights) if w > 0]
    # the held-out check costs two more selections: only for an ensemble that could be built
    gains = held_out_gains(problem, users, blocks, settings.seed) if len(keep) >= 2 else []
    del blocks
    info = {"members": [t.number for t in members], "models": [t.user_attrs["model"] for t in members],
            "weights": weights.tolist(), "sample_users": int(len(users)),
            f"sample_{problem.metric}_path": selection.scores}
    best_single = float(fitted[0][1][problem.metric])
    info[f"best_single_validation_{problem.metric}"] = best_single
    info[f"held_out_{problem.metric}_gains"] = gains
    if len(keep) < 2:
        info["note"] = "not built: the selection kept one model"
        return "ensemble_considered", info
    if not float(np.mean(gains)) > 0:
        info["note"] = (f"not built: weighted on half of the validation users and scored on the other half, it "
                        f"does not beat the best single model (mean {problem.metric} gain {np.mean(gains):+.4f})")
        return "ensemble_considered", info
    ensemble = Ensemble([fitted[i][0] for i in keep], weights[keep], [f"trial-{members[i].number}" for i in keep],
                        task=problem.task)
    info["validation"] = problem.evaluate(ensemble, "validation")
    if not problem.better(info["validation"][problem.metric], best_single + 1e-12):
        info["note"] = "not built: it does not beat the best single model on validation"
        return "ensemble_considered", info
    if settings.refit_full:
        need = REFIT_FULL_FACTOR * sum(float(members[i].user_attrs.get("seconds", 0.0)) for i in keep
                                       if not (i == 0 and refit_best is not None))
        left = None if budget is None else budget.left()
        if left is not None and need > left:
            # its validation edge was over the best model trained on the same rows; the model on
            # offer instead is refit on more, so an ensemble that cannot be refit is not chosen
            info["note"] = (f"not chosen: refitting its members would take about {need:.0f} s and the budget has "
                            f"{max(left, 0):.0f} s left; the best single model, refit, is the result")
            return "ensemble_considered", info
        ensemble = Ensemble([refit_best if i == 0 and refit_best is not None else refit_full(problem, members[i])
                             for i in keep], weights[keep], [f"trial-{members[i].number}" for i in keep],
                            task=problem.task)
        info["refit"] = "train+validation"
    info["test"] = problem.evaluate(ensemble, "test")
    ensemble.save(out / "ensemble")
    info["saved"] = str(out / "ensemble")
    return "ensemble", info


def write_plots(study: optuna.Study, board: pd.DataFrame, out: Path, problem: Problem) -> None:
    plot_optimization_history(study, out / "history.png", problem.metric, problem.direction)
    plot_importances(study, out / "importances.png")
    plot_leaderboard(board, out / "leaderboard.png", problem.metric)


def finalize(study: optuna.Study, problem: Problem, settings: SearchSettings, out: Path,
             search_seconds: float, kept: KeptModels | None = None, budget: Budget | None = None) -> dict:
    """Leaderboard, best model (the kept one or a refit, tested once, saved as the run's
    ``model/``), ensemble, plots; returns metrics.json's dict.  Past the budget's deadline,
    ensemble members that would need a refit are left out."""
    board = leaderboard(study, problem.metric, problem.direction)
    write_leaderboard(board, out)
    ranked = completed(study, problem)
    if not ranked:
        raise ConfigError(f"no trial completed (of {len(study.trials)}); see {out / 'leaderboard.csv'} for the errors")
    best = ranked[0]
    best_est, best_val = trained(problem, best, kept)
    result = {
        "task": problem.task,
        "model": best.user_attrs["model"],
        "dataset": problem.name,
        "split": problem.split_name,
        "seed": settings.seed,
        "params": best_est.hparams_,
        "train_settings": best_est.train_config_.to_dict(),
        "validation": problem.scores(problem.target("validation"), best_val),
        "best_trial": best.number,
        "n_trials": len(study.trials),
        "n_complete": len(ranked),
        "n_pruned": sum(t.state == TrialState.PRUNED for t in study.trials),
        "n_failed": sum(t.state == TrialState.FAIL for t in study.trials),
        "tuner": settings.tuner,
        "search_seconds": round(search_seconds, 2),
    }
    final = best_est
    cv_refit = isinstance(problem, CrossValidated) and (settings.refit_full or settings.cv_refit)
    if isinstance(problem, CrossValidated):
        result["cv"] = {"folds": problem.k, "pool_rows": int(len(problem.target("validation"))),
                        # trials stopped before their last fold (SearchSettings.fold_racing), and
                        # how many after each number of folds
                        "raced_out": sum(bool(t.user_attrs.get("raced_out")) for t in study.trials),
                        "raced_out_after": _raced_out_after(study)}
        if cv_refit:
            # one model on every non-test row, for the folds' median best epoch count
            final = refit_full(problem, best)
            result["refit"] = (f"train+validation, {final.train_config_.max_epochs} epochs "
                               f"(the median best epoch of the {len(best_est.members)} folds)")
        else:
            # the bag of fold models already trained on every non-test row: nothing to refit
            result["refit"] = f"bagged: the {len(best_est.members)} fold models, averaged"
    elif settings.refit_full:
        final = refit_full(problem, best)
        result["refit"] = "train+validation"
    result["test"] = problem.evaluate(final, "test")
    result.update(problem.run_info(final))  # the default rating, the data's summary (the report shows it)
    result["train_seconds"] = round(final.fit_seconds_, 3)
    result["epochs"] = len(final.history_.epochs)
    write_run(out, final, result)

    members, fitted = [best], [(best_est, best_val)]
    # the candidates (for rankings the best trial of each other model); past the deadline, a
    # member that would need retraining is left out
    for t in candidates_of(ranked, problem, settings)[1:]:
        pair = trained(problem, t, kept, may_refit=budget is None or not budget.spent())
        if pair is not None:
            members.append(t)
            fitted.append(pair)
    if getattr(problem, "rank_ensembles", False):
        if len(members) > 1:
            key, info = build_ranking_ensemble(problem, members, fitted, out, settings, budget,
                                               refit_best=final if settings.refit_full else None)
            result[key] = info
            write_json_atomic(out / "metrics.json", result)
        write_plots(study, board, out, problem)
        return result
    if len(members) > 1:
        refit = None
        if cv_refit or settings.refit_full:
            # every member on every non-test row, as the best was: with its weights kept, an
            # ensemble of models trained on fewer rows than the best would be the weaker offer.
            # The best's refit is made already; past the deadline a member stays as it was
            # (a bag of fold models, or trained on the train part)
            def refit(i: int, offset: int):
                if i == 0 and offset == 0:
                    return final
                if budget is not None and budget.spent():
                    return None
                if offset == 0 and not cv_refit and not room(refit_estimate(members[i])):
                    return None  # a member the reserve did not hold time for, and none is left
                return refit_full(problem, members[i], offset)

        def room(seconds: float) -> bool:
            # one more fit, with the refit factor's headroom, before the results step's reserve
            left = None if budget is None else budget.left()
            return left is None or left - budget.reserve() > REFIT_FULL_FACTOR * seconds
        key, info = build_ensemble(problem, members, fitted, out, refit=refit,
                                   seeds=settings.refit_seeds if refit is not None else 1, room=room)
        result[key] = info
        write_json_atomic(out / "metrics.json", result)
    write_plots(study, board, out, problem)
    return result
