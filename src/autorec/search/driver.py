"""The AutoML search (rating and CTR prediction): an Optuna study over models, their
hyperparameters and the training settings, with pruning; the results (leaderboard, the best
model refitted and saved, a Caruana ensemble of the best trials, plots) come from
:mod:`.results`.

Each trial draws a configuration from the space (:mod:`.space`), trains it on the problem's
training part with early stopping on validation, reporting the validation metric per epoch to
the pruner; the test part is touched once, at the end, by the refitted best model and the
ensemble.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
import optuna

from ..hparams import OptunaHP
from ..io import folder_lock, require_kind, to_jsonable
from ..problems import CrossValidated, Problem
from ..train import interrupts
from .budget import REFIT_FULL_FACTOR, RESERVED_MEMBER_SHARE, Budget, refit_estimate
from .identity import check_identity, delete_study, study_identity
from .results import KeptModels, candidates_of, completed, finalize, leaderboard, write_leaderboard
from .scheduling import FOLD_SCORES, CostAwareModelSampler, ModelwisePruner, fold_cut, raced_out
from .settings import SearchSettings
from .space import check_fixed, defaults_as_params, resolve_cv, suggest, train_space_of, warm_start_models
from .storage import SharedBudget, open_study, remaining_budget, requeue_interrupted, track_failures
from .tuners import make_pruner, make_sampler

# tuners whose model choice the cost-aware rule replaces (random stays uniform on purpose; the
# greedy climber walks from the best configuration, model included)
COST_AWARE_TUNERS = ("tpe", "bayesian")


def run_search(problem: Problem, settings: SearchSettings, out: Path,
               on_trial: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
               started: float | None = None) -> dict:
    """Run (or resume) the study on ``problem`` (a :class:`~autorec.problems.RatingProblem` or
    :class:`~autorec.problems.CTRProblem`) and write everything into ``out``; returns
    metrics.json's dict.  ``settings.time_budget`` bounds everything from ``started``
    (``time.monotonic()``, default: now), the results included (:mod:`.budget`)."""
    budget = Budget(settings.time_budget, started)
    problem.require_validation()
    folds = resolve_cv(settings.cv, problem)
    if folds is not None:
        # folds from the split seed: every worker of a study scores on the same folds
        problem = CrossValidated(problem, folds, seed=settings.seed if settings.split_seed is None
                                 else settings.split_seed)
    check_fixed(settings, problem)
    if settings.refit_full is None:
        # the task's default on the plain validation part; under cross-validation cv_refit
        # decides (--cv-bag keeps the bag)
        settings = dataclasses.replace(settings, refit_full=folds is None and settings.refit_full_for(problem.task))
    out = Path(out)
    # one writer per folder; everything above is checked before the folder exists
    with folder_lock(out, command="autorec search"):
        require_kind(out, "search", "search")
        return _run_locked(problem, settings, out, on_trial, budget)


def probe_share(settings: SearchSettings, finished, others) -> float:
    """The budget share of a model's first trial: ``first_trial_share``, or less where the
    probes so far (each model's first finished trial) leave less of ``probe_share`` to split
    among the models not yet started (this one included), but at least ``min_probe_share``."""
    first: dict[str, float] = {}
    for t in finished:
        m = t.user_attrs.get("model")
        if m is not None and m not in first:
            first[m] = float(t.user_attrs.get("seconds", 0.0))
    started = {t.user_attrs.get("model") for t in others}
    untried = max(1, sum(1 for m in settings.models if m not in started))  # this one's among them
    budget = settings.time_budget
    if not budget:
        return settings.first_trial_share
    left = settings.probe_share - sum(first.values()) / budget
    return max(settings.min_probe_share, min(settings.first_trial_share, left / untried))


def trial_share(settings: SearchSettings, model: str, finished, others) -> float:
    """The budget share one trial of ``model`` may take: its probe's (``probe_share``) while
    the model has no finished trial; after that ``trial_price_factor`` times the model's median
    trial seconds, within [``min_trial_share``, ``max_trial_share``].  The cost-aware draw
    priced the trial at that median, so a configuration far slower than its model's usual
    one is stopped (with its best epoch) before it spends what the draw did not pay for."""
    seconds = [float(t.user_attrs.get("seconds", 0.0)) for t in finished if t.user_attrs.get("model") == model]
    if not seconds:
        return probe_share(settings, finished, others)  # its probe: the search learns its cost first
    if not settings.time_budget:
        return settings.max_trial_share
    priced = settings.trial_price_factor * float(np.median(seconds)) / settings.time_budget
    return min(settings.max_trial_share, max(settings.min_trial_share, priced))


def _run_locked(problem: Problem, settings: SearchSettings, out: Path, on_trial, budget: Budget) -> dict:
    if settings.new_study:
        delete_study(settings.storage, settings.study_name, out)
    # our own progress line and the leaderboard say it better (a failure is in its error column;
    # an interrupted trial would otherwise print its traceback)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = make_sampler(settings.tuner, seed=settings.seed)
    if settings.model_choice == "cost-aware" and settings.tuner in COST_AWARE_TUNERS:
        def time_left() -> float | None:
            deadline = trials_deadline()
            return None if deadline is None else deadline - time.monotonic()
        tiers = {m: getattr(problem.family(m), "cost_tier", lambda name: 0)(m) for m in settings.models}
        fixed = [m for m in settings.models if not problem.family(m).search_names(m)
                 and train_space_of(problem.family(m), m) == "none"]
        sampler = CostAwareModelSampler(sampler, seed=settings.seed, time_left=time_left, tiers=tiers, fixed=fixed,
                                        probe_params=lambda model: defaults_as_params(settings, problem, model))

    def one_pruner() -> optuna.pruners.BasePruner:
        return make_pruner(settings.pruner, min_resource=settings.pruner_min_epochs,
                           n_warmup_steps=settings.pruner_min_epochs)
    pruner = ModelwisePruner(one_pruner) if settings.prune_by_model and settings.pruner != "none" else one_pruner()
    # with the default per-folder SQLite file this process is the only worker, so a trial left
    # RUNNING is one a killed run left behind; shared storages rely on heartbeats instead
    study = open_study(settings.storage, settings.study_name, out, direction=problem.direction,
                       sampler=sampler, pruner=pruner, fail_running=settings.storage is None)
    # the first trial of a fresh study is the all-defaults configuration (greedy starts there),
    # then the defaults of the warm-start models
    check_identity(study, study_identity(problem, settings), where=str(out) if settings.storage is None
                   else repr(settings.storage))
    warm = [defaults_as_params(settings, problem, model) for model in warm_start_models(settings, problem.task)]
    if not study.trials:
        for params in warm:
            study.enqueue_trial(params, skip_if_exists=True)
    else:
        requeue_interrupted(study, warm)  # a warm start that Ctrl-C or a kill cut short runs again

    kept = KeptModels(out / "trials", settings, problem)

    def trials_deadline() -> float | None:
        refit = finish_seconds(study, problem, settings)
        return budget.trials_deadline(refit)

    def objective(trial: optuna.Trial) -> float:
        interrupts.check()
        hp = OptunaHP(trial)
        model, params, train = suggest(hp, settings, problem)
        trial.set_user_attr("model", model)
        trial.set_user_attr("params", to_jsonable(params))
        trial.set_user_attr("train", to_jsonable(train))
        twin = _same_configuration(study, trial)
        if twin is not None:
            # every fit is seeded, so the same configuration gives the same model: its value
            # again, at no cost (TPE over a small categorical space draws repeats often)
            trial.set_user_attr("duplicate_of", twin.number)
            trial.set_user_attr("seconds", 0.0)
            for key in ("epochs", "best_epoch", "threads"):
                if key in twin.user_attrs:
                    trial.set_user_attr(key, twin.user_attrs[key])
            return twin.value
        started = time.perf_counter()

        def on_epoch(epoch: int, val: dict) -> None:
            trial.report(val[problem.metric], epoch)
            if trial.should_prune():
                trial.set_user_attr("epochs", epoch)
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")

        # a trial ends at the trials' deadline, or at its own limit (--trial-timeout, else a
        # share of the budget priced on the model's trials so far: one slow model, or one slow
        # configuration of it, cannot eat the whole search)
        budget_end = trials_deadline()
        others = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        finished = [t for t in others if t.state in (optuna.trial.TrialState.COMPLETE,
                                                     optuna.trial.TrialState.PRUNED)]
        if settings.trial_timeout:  # the user's own limit replaces the priced share
            cap = settings.trial_timeout
        else:
            share = trial_share(settings, model, finished, others)
            trial.set_user_attr("time_share", round(share, 4))
            cap = share * budget.seconds if budget.seconds else None
        if cap is not None:
            trial.set_user_attr("time_limit", round(cap, 3))
        own_end = None if cap is None else time.monotonic() + cap
        deadline = min((d for d in (budget_end, own_end) if d is not None), default=None)
        fit_options = {}
        if isinstance(problem, CrossValidated):
            fold_scores: list[float] = []
            keep = settings.ensemble_size_for(problem.task)  # the racing cut: the keep-th best

            def on_fold(fold: int, score: float) -> None:
                fold_scores.append(score)
                trial.set_user_attr(FOLD_SCORES, list(fold_scores))
                # race after every fold but the last (the last one's score is the trial's own)
                if settings.fold_racing and fold < problem.k - 1:
                    done = len(fold_scores)
                    cut = fold_cut(study, trial.number, keep, folds=done)
                    so_far = float(np.mean(fold_scores))
                    if raced_out(so_far, cut, problem.direction):
                        trial.set_user_attr("raced_out", True)
                        which = "its first fold predicts" if done == 1 else f"its first {done} folds predict"
                        raise optuna.TrialPruned(f"{which} ({so_far:.4f}) a score that "
                                                 f"cannot reach the {keep} best (cut {cut:.4f})")
            fit_options["on_fold"] = on_fold
        try:
            est = problem.fit(model, params, train, on_epoch=on_epoch, deadline=deadline, **fit_options)
            if not getattr(est, "complete_", True):
                raise optuna.TrialPruned("the time ran out before every fold was trained")
            if est.history_.stop_reason == "deadline":
                by_budget = budget_end is not None and deadline == budget_end
                trial.set_user_attr("stopped_by_budget" if by_budget else "timed_out", True)
                if not est.history_.epochs:
                    raise optuna.TrialPruned(("the time budget" if by_budget else "its time limit")
                                             + " ran out during its first epoch")
            value = problem.evaluate(est, "validation")[problem.metric]
        except BaseException as exc:
            trial.set_user_attr("seconds", time.perf_counter() - started)
            if isinstance(exc, Exception) and not isinstance(exc, optuna.TrialPruned):
                trial.set_user_attr("traceback", traceback.format_exc()[-4000:])
            raise  # track_failures records the error; the search goes on
        trial.set_user_attr("epochs", len(est.history_.epochs))
        trial.set_user_attr("best_epoch", est.history_.best_epoch)
        if isinstance(problem, CrossValidated):  # what a refit on the whole pool trains for
            trial.set_user_attr("fold_best_epochs", [m.history_.best_epoch or len(m.history_.epochs)
                                                     for m in est.members])
        trial.set_user_attr("threads", est.history_.threads)
        trial.set_user_attr("seconds", time.perf_counter() - started)
        trial.set_user_attr("kept", kept.offer(study, trial.number, value, model, est))
        return value

    def stop_at_deadline(study: optuna.Study, _trial) -> None:
        deadline = trials_deadline()
        if deadline is not None and time.monotonic() >= deadline:
            study.stop()

    n_left = remaining_budget(study, settings.n_trials) if settings.n_trials else None
    callbacks = [stop_at_deadline]
    if settings.n_trials:
        callbacks.append(SharedBudget(settings.n_trials))  # workers on one study share the total
    if on_trial is not None:
        callbacks.append(on_trial)
    t0 = time.perf_counter()
    deadline = trials_deadline()
    timeout = None if deadline is None else deadline - time.monotonic()
    if (n_left is None or n_left > 0) and (timeout is None or timeout > 0):
        try:
            # signals wait for the next mini-batch, trial start or trial end (train/interrupts.py)
            with interrupts.deferred():
                study.optimize(track_failures(objective), n_trials=n_left, timeout=timeout,
                               callbacks=[interrupts_check, *callbacks], catch=(Exception,), gc_after_trial=True)
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM (train/interrupts.py): Optuna has failed the running trial, which
            # counts as interrupted and is redone on resume; what finished goes on record
            write_leaderboard(leaderboard(study, problem.metric, problem.direction), out)
            raise
    search_seconds = time.perf_counter() - t0
    return finalize(study, problem, settings, out, search_seconds, kept=kept, budget=budget)


def _same_configuration(study: optuna.Study, trial: optuna.Trial):
    """A finished trial with this trial's model, hyperparameters and training settings that ran
    to its end (one cut short by a time limit might have done better with the time)."""
    mine = {k: trial.user_attrs.get(k) for k in ("model", "params", "train")}
    for other in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        attrs = other.user_attrs
        if any(attrs.get(k) for k in ("duplicate_of", "timed_out", "stopped_by_budget")):
            continue
        if all(attrs.get(k) == v for k, v in mine.items()):
            return other
    return None


def interrupts_check(_study: optuna.Study, _trial) -> None:
    interrupts.check()


def finish_seconds(study: optuna.Study, problem: Problem, settings: SearchSettings) -> float:
    """What finishing will cost, reserved at the end of the budget: a refit of the best trial
    (its training time); with ``--refit-full`` a refit of each other rating-ensemble candidate
    (they are kept, so not scored again); and for a ranking ensemble the best trial of each
    other model it may take, once to score it on validation and once more to refit it (a
    trial's seconds are its fit plus its validations, an upper estimate of either)."""
    ranked = [t for t in completed(study, problem) if t.user_attrs.get("duplicate_of") is None]
    if not ranked:
        return 0.0
    if isinstance(problem, CrossValidated):
        if not (settings.refit_full or settings.cv_refit):
            return 0.0
        # a trial's seconds are K fold fits; a refit is one fit on 1 + 1/(K-1) times the rows,
        # for the best and each member the ensemble may take
        one = REFIT_FULL_FACTOR / problem.k
        return one * sum(float(t.user_attrs.get("seconds", 0.0)) for t in candidates_of(ranked, problem, settings))
    best = refit_estimate(ranked[0]) if settings.refit_full else 0.0
    if not getattr(problem, "rank_ensembles", False):
        if not settings.refit_full:
            return best
        # the rating ensemble's members are kept models (nothing to score again), each refit;
        # a member whose refit would take more than RESERVED_MEMBER_SHARE of the budget is not
        # reserved for (it is refit at the end only if time is left, else kept as trained)
        cap = RESERVED_MEMBER_SHARE * settings.time_budget if settings.time_budget else float("inf")
        estimates = (refit_estimate(t) for t in candidates_of(ranked, problem, settings)[1:])
        return best + sum(e for e in estimates if e <= cap)
    others = [float(t.user_attrs.get("seconds", 0.0)) for t in candidates_of(ranked, problem, settings)[1:]]
    return best + sum(others) * (2 if settings.refit_full else 1)
