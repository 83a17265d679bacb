"""Which model the next trial trains, and against whom a running trial is pruned.

Parts of the search that must know that models differ in cost and in how fast they learn:

* :class:`CostAwareModelSampler` wraps the tuner's sampler and answers only the ``model``
  choice: every model is tried once, then the next model is drawn with probability
  proportional to its *expected improvement per second* (Snoek, Larochelle and Adams 2012,
  "EI per second"), where both the improvement and the seconds are learnt from this study's
  own trials on this data.  A model ten times slower than another must promise ten times the
  improvement to be picked as often, so a slow model cannot eat the budget; a model whose
  typical trial would not fit in the time left is not picked while others fit.  Every other
  parameter is left to the wrapped sampler (TPE, GP), which sees a search space without
  ``model``, exactly as with Optuna's own ``PartialFixedSampler``.  The first trials go to
  the cheapest kind of model first (``tiers``: a closed form before a model solved by sweeps
  before one trained by epochs), so that the cheap models' search is under way before the
  slow probes take their share of the budget.
* :class:`ModelwisePruner` runs one pruner per model over a view of the study that holds only
  that model's trials: an autoencoder that learns slowly in its first epochs is not pruned
  for trailing a matrix factorisation at the same epoch, only for trailing other
  autoencoders.
* :func:`fold_cut` races cross-validated trials over their folds (a rung of data, not of
  epochs): after each fold but the last, a trial whose full score, predicted from its folds so
  far, could not reach the configurations the results would keep is stopped, saving the fits
  of its other folds.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from .storage import was_interrupted

MODEL_PARAM = "model"
FIRST_TRIAL = "first trial of this model"
PROBE_PARAMS = "probe_params"  # trial system attribute: the probe's parameters, Optuna naming
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _within(distribution: BaseDistribution, value: Any) -> bool:
    try:
        return bool(distribution._contains(distribution.to_internal_repr(value)))
    except (ValueError, TypeError):  # not one of a categorical's choices
        return False


def trial_model(trial: FrozenTrial) -> str | None:
    """The model a trial trains (None while it has not chosen one, or in a one-model space)."""
    model = trial.params.get(MODEL_PARAM, trial.user_attrs.get(MODEL_PARAM))
    return None if model is None else str(model)


def trial_outcome(trial: FrozenTrial) -> float | None:
    """What a finished trial showed of its model: its value, or for a pruned trial the last
    value it reported (a pessimistic view of where it was going, which is why it was pruned)."""
    if trial.state == TrialState.COMPLETE and trial.value is not None:
        return float(trial.value)
    if trial.state == TrialState.PRUNED and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
        return float(value) if math.isfinite(value) else None
    return None


def expected_improvement(best: float, values: Sequence[float], prior_sd: float) -> float:
    """Expected improvement below ``best`` (minimisation) of the next trial of a model whose
    trials so far scored ``values``.

    The next trial is modelled as normal around the mean of the model's better half (the
    tuner refines around good configurations, so the next trial is more like the good ones
    than like the average), with a spread that starts at ``prior_sd`` (the study-wide
    spread) and moves to the model's own as its trials accumulate."""
    v = np.sort(np.asarray(values, dtype=float))
    top = v[: max(1, math.ceil(len(v) / 2))]
    mu = float(top.mean())
    n = len(v)
    sd = math.sqrt((float(((v - v.mean()) ** 2).sum()) + prior_sd**2) / n) if n else prior_sd
    sd = max(sd, 1e-12)
    z = (best - mu) / sd
    phi = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    # z cdf + phi is >= 0 exactly; far below the best the two terms cancel to a rounding error
    return max(0.0, sd * (z * cdf + phi))


class CostAwareModelSampler(BaseSampler):
    """Draw the ``model`` of each trial by expected improvement per second; delegate the rest.

    ``time_left`` (seconds, or None without a budget) is asked at each choice; ``min_seconds``
    floors the measured cost so that a model whose trials all failed at once is not taken to
    be free.  The choice and its reasons are recorded in the trial's ``model_choice`` user
    attribute.
    """

    def __init__(self, base: BaseSampler, seed: int,
                 time_left: Callable[[], float | None] | None = None, min_seconds: float = 1.0,
                 tiers: Mapping[str, int] | None = None, fixed: Sequence[str] = (),
                 probe_params: Callable[[str], Mapping[str, Any]] | None = None) -> None:
        self._base = base
        # a model's first trial (its probe) runs at these parameters (its defaults, in Optuna's
        # naming) instead of the tuner's draw: the probe is what the draw learns the model's
        # worth from, and a random first configuration (FM at lr 0.016 with weight decay 2.6e-4:
        # validation 1.109 on u1, a biases-only collapse) told it little
        self._probe_params = probe_params
        self._tiers = dict(tiers or {})
        self._fixed = set(fixed)  # models with nothing to search: one trial says all
        self._seed = int(seed)
        self._time_left = time_left or (lambda: None)
        self._min_seconds = float(min_seconds)

    @property
    def base(self) -> BaseSampler:
        return self._base

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self._base.infer_relative_search_space(study, trial)
        return {k: v for k, v in space.items() if k != MODEL_PARAM}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        # Optuna asks for the relative draw before the model is chosen; while a model is
        # untried the next trial is a probe, whose parameters come from sample_independent
        if self._probe_params is not None and self._untried(study, trial, self._space_models(study)):
            return {}
        return self._base.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if param_name != MODEL_PARAM or not isinstance(param_distribution, CategoricalDistribution):
            probe = trial.system_attrs.get(PROBE_PARAMS) or {}
            if param_name in probe and _within(param_distribution, probe[param_name]):
                return probe[param_name]
            return self._base.sample_independent(study, trial, param_name, param_distribution)
        model, why = self.choose(study, trial, [str(c) for c in param_distribution.choices])
        study._storage.set_trial_user_attr(trial._trial_id, "model_choice", why)
        if why.get("reason") == FIRST_TRIAL and self._probe_params is not None:
            params = {k: v for k, v in self._probe_params(model).items() if k != MODEL_PARAM}
            study._storage.set_trial_system_attr(trial._trial_id, PROBE_PARAMS, params)
            study._storage.set_trial_user_attr(trial._trial_id, "probe_at_defaults", True)
        return model

    @staticmethod
    def _space_models(study: optuna.Study) -> list[str] | None:
        """The model choices of this study (from any trial that drew one), or None before any."""
        for t in study.get_trials(deepcopy=False):
            dist = t.distributions.get(MODEL_PARAM)
            if isinstance(dist, CategoricalDistribution):
                return [str(c) for c in dist.choices]
        return None

    @staticmethod
    def _others(study: optuna.Study, trial: FrozenTrial):
        """The study's other trials that tried their model, with it.  A running trial (another
        worker's) counts as trying it; an interrupted one tried nothing, so a resumed search
        probes its model again, at its defaults, as it requeues the warm start."""
        for t in study.get_trials(deepcopy=False):
            if t.number != trial.number and not was_interrupted(t):
                yield trial_model(t), t

    @classmethod
    def _untried(cls, study: optuna.Study, trial: FrozenTrial, models: list[str] | None) -> bool:
        if models is None:
            return False  # the first trials are the enqueued warm start, fixed anyway
        started = {m for m, _ in cls._others(study, trial)}
        return any(m not in started for m in models)

    def choose(self, study: optuna.Study, trial: FrozenTrial, models: list[str]) -> tuple[str, dict]:
        """The model for ``trial`` and a JSON-able account of why."""
        rng = np.random.default_rng([self._seed, max(trial.number, 0)])
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
        values: dict[str, list[float]] = {m: [] for m in models}
        seconds: dict[str, list[float]] = {m: [] for m in models}
        started: set[str] = set()
        for m, t in self._others(study, trial):
            if m not in values:
                continue
            started.add(m)
            if t.state in FINISHED:
                if "seconds" in t.user_attrs:
                    seconds[m].append(float(t.user_attrs["seconds"]))
                outcome = trial_outcome(t)
                if outcome is not None:
                    values[m].append(sign * outcome)
        untried = [m for m in models if m not in started]
        if untried:
            cheapest = min(self._tiers.get(m, 0) for m in untried)
            untried = [m for m in untried if self._tiers.get(m, 0) == cheapest]
            return untried[int(rng.integers(len(untried)))], {"reason": FIRST_TRIAL}
        observed = [v for vs in values.values() for v in vs]
        if len(observed) < 2:
            return models[int(rng.integers(len(models)))], {"reason": "too few results to compare"}
        best = min(observed)
        prior_sd = float(np.std(observed)) or abs(best) * 1e-3 or 1e-3
        left = self._time_left()
        cost = {m: max(float(np.median(seconds[m])) if seconds[m] else self._min_seconds, self._min_seconds)
                for m in models}
        fits = [m for m in models if left is None or cost[m] <= left]
        # a model with nothing to search would only repeat its one configuration
        candidates = [m for m in fits if m not in self._fixed] or fits or models
        ei = {m: expected_improvement(best, values[m], prior_sd) if values[m] else 0.0 for m in candidates}
        # a model that only ever failed keeps a small chance (the failure may have been its
        # configuration, not the model): half the smallest positive score
        score = {m: ei[m] / cost[m] for m in candidates}
        positive = [s for s in score.values() if s > 0]
        floor = 0.5 * min(positive) if positive else 1.0
        weights = np.array([score[m] if score[m] > 0 else floor for m in candidates])
        pick = candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]
        return pick, {"reason": "expected improvement per second",
                      "weights": {m: round(float(w / weights.sum()), 4) for m, w in zip(candidates, weights)},
                      "seconds": {m: round(cost[m], 2) for m in candidates},
                      "left_out_too_slow": sorted(set(models) - set(fits)) if fits else [],
                      "left_out_nothing_to_search": sorted(set(fits or models) - set(candidates))}

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._base.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._base.reseed_rng()


class _ModelStorage:
    """A storage that lists only one model's trials and passes every other call through."""

    def __init__(self, storage: Any, model: str | None) -> None:
        self._storage = storage
        self._model = model

    def get_all_trials(self, study_id: int, deepcopy: bool = True, states=None) -> list[FrozenTrial]:
        trials = self._storage.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        return [t for t in trials if trial_model(t) == self._model]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


class ModelwisePruner(BasePruner):
    """One pruner per model (made by ``factory``), each seeing only its own model's trials."""

    def __init__(self, factory: Callable[[], BasePruner]) -> None:
        self._factory = factory
        self._pruners: dict[str | None, BasePruner] = {}

    def pruner_of(self, model: str | None) -> BasePruner:
        if model not in self._pruners:
            self._pruners[model] = self._factory()
        return self._pruners[model]

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        model = trial_model(trial)
        pruner = self.pruner_of(model)
        view = optuna.Study(study_name=study.study_name, storage=_ModelStorage(study._storage, model),
                            sampler=study.sampler, pruner=pruner)
        return pruner.prune(view, trial)


#: user attribute of a cross-validated trial: its folds' scores, in fold order
FOLD_SCORES = "fold_scores"


def fold_cut(study: optuna.Study, number: int, keep: int, folds: int = 1, z: float = 2.0) -> float | None:
    """The score beyond which cross-validated trial ``number``, with its first ``folds`` folds
    trained, is stopped there (None: no cut yet).  The score compared is the mean of those
    folds' scores.

    Every trial's k-th fold is the same rows, so the mean of the first ``folds`` folds compares
    like with like; what the other folds add is learnt from this study's complete trials: the
    full score ``v`` of a trial is predicted from that mean ``m`` as ``m + mean(v - m)``, give or
    take ``z`` standard deviations of ``v - m``.  A trial is stopped when even the optimistic end
    of that range is worse than the ``keep``-th best complete trial (the results keep that many,
    for the best model and the ensemble): it could not have been kept.  The more folds are in,
    the narrower the range, so a trial that survives its first fold can still be stopped after
    its second.  No cut before ``keep`` complete trials (and at least three) have every fold's
    score."""
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
    pairs = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        scores = t.user_attrs.get(FOLD_SCORES)
        if (t.number == number or t.value is None or not scores or len(scores) < folds
                or t.user_attrs.get("duplicate_of") is not None):
            continue
        pairs.append((sign * float(t.value), sign * float(np.mean(scores[:folds]))))
    if len(pairs) < max(3, keep):
        return None
    values = np.array([v for v, _ in pairs])
    gaps = values - np.array([m for _, m in pairs])
    kth = float(np.sort(values)[keep - 1])
    # optimistic full score m + mean(gap) - z sd(gap) > kth  <=>  m > kth - mean(gap) + z sd(gap)
    cut = kth - float(gaps.mean()) + z * float(gaps.std(ddof=1))
    return sign * cut


def raced_out(score: float, cut: float | None, direction: str) -> bool:
    """Whether a score over the first folds is beyond ``cut`` (:func:`fold_cut`)."""
    if cut is None or not math.isfinite(score):
        return cut is not None  # a NaN fold cannot be kept either
    return score > cut if direction == "minimize" else score < cut
