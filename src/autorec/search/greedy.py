"""The greedy tuner: a hill climber over configurations that never repeats one.

A hill climber over configurations, in the style of KerasTuner's greedy oracle:

* The first trial is the defaults (the search enqueues them with ``study.enqueue_trial``, or the
  sampler is given ``defaults`` and proposes them itself while no trial has completed).
* Every later trial starts from the best COMPLETE trial so far and changes ``k`` of its
  hyperparameters, ``k`` drawn uniformly from ``1..max_changes``.  A changed numeric value is,
  with probability ``local_prob``, a Gaussian step around the current value (``local_scale`` of
  the range, on the log scale for log ranges), otherwise a uniform draw from the range; a
  changed categorical takes one of its other choices.  When a change opens a conditional branch
  the best trial never asked (``kind`` A -> B), the names that branch asks are taken from
  finished trials that had the same value and drawn at random; names no trial has shown yet
  are drawn at random when the objective asks for them.
* A configuration is never proposed twice.  The proposal is compared with every other trial in
  the storage: complete, pruned, failed, running and waiting (a running trial by its stored
  proposal, a waiting one by its enqueued params).  It repeats a known configuration ``C`` when
  ``C``'s (name, value) pairs are a subset of the proposal's: a deterministic define-by-run
  objective given the proposal's values walks ``C``'s path and never reads the other names (in
  a flat space this is plain equality).  A repeat is redrawn (``tries`` times per width); if
  that fails the neighbourhood is taken as exhausted and widened (first the other widths up to
  ``max_changes``, then more changes, up to all of them); if every width fails, the fallback is
  a random configuration not yet seen (enumerated exactly when the space is finite and small).
  When even that finds nothing the space is exhausted: the study is stopped and
  :class:`SearchSpaceExhausted` is raised (which fails that trial).  After each trial, a flat
  finite space whose every configuration has been tried stops the study, so that case normally
  ends cleanly without the failed trial.
* While no trial has completed (and the defaults are taken, e.g. running in another worker,
  or failed), trials are random-but-unseen.
* Each trial's proposal is decided when the trial first asks for a value, from a random stream
  seeded by ``(seed, trial number)``, and written to the trial's system attrs
  (``greedy:target``; ``greedy:info`` says how it was made) before use.  Other worker processes
  sharing the storage read it, so they never pick the same configuration; after writing, the
  sampler re-reads the study and re-plans if another trial wrote a clashing proposal at the
  same moment (write-then-check: of two simultaneous writers at least one sees the other).
* Values drawn when asked (names of a branch no trial has shown yet, and the random mode before
  anything completed) are checked one by one: a value that would make the params asked so far
  exactly a finished trial's params is replaced by another, and :class:`SearchSpaceExhausted`
  is raised if every value would.  Such values are not in the stored proposal, so two workers
  drawing them at the same moment in a tiny discrete branch are the one case not excluded.
Optuna's private API used here, each where no public one exists (tested with Optuna 5.0):

* ``study._storage`` / ``study._study_id``: every trial of the study; ``study.get_trials()``
  gives a per-bracket view under the Hyperband pruner, which would hide other brackets' trials;
* ``storage.set_trial_system_attr(trial._trial_id, ...)``: a sampler gets a ``FrozenTrial``,
  which has no public setter, and the proposal must be stored before it is used;
* ``FrozenTrial._trial_id``: the storage key those calls take.
"""

from __future__ import annotations

import itertools
import zlib
import math
from typing import Any, Iterable, Mapping

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from ..errors import AutorecError, ConfigError

__all__ = ["GreedySampler", "SearchSpaceExhausted", "TARGET_ATTR", "INFO_ATTR"]

TARGET_ATTR = "greedy:target"
INFO_ATTR = "greedy:info"


class SearchSpaceExhausted(AutorecError):
    """Every configuration of the search space has already been tried."""


# ---------------------------------------------------------------- distributions as value sets


def _n_values(dist: BaseDistribution) -> float:
    """How many values a distribution has (``inf`` for a continuous float range)."""
    if isinstance(dist, CategoricalDistribution):
        return len(dist.choices)
    if isinstance(dist, IntDistribution):
        return (dist.high - dist.low) // dist.step + 1
    assert isinstance(dist, FloatDistribution)
    if dist.step is None:
        return 1 if dist.low == dist.high else math.inf
    return int(round((dist.high - dist.low) / dist.step)) + 1


def _all_values(dist: BaseDistribution) -> list[Any]:
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution):
        return list(range(dist.low, dist.high + 1, dist.step))
    assert isinstance(dist, FloatDistribution)
    if dist.step is None:
        assert dist.low == dist.high, "a continuous range has no finite list of values"
        return [float(dist.low)]
    return [float(dist.low + i * dist.step) for i in range(int(_n_values(dist)))]


def _grid_value(dist: IntDistribution | FloatDistribution, x: float) -> Any:
    """Snap a number to the distribution's grid and range."""
    x = min(max(x, dist.low), dist.high)
    if isinstance(dist, IntDistribution):
        return int(dist.low + round((x - dist.low) / dist.step) * dist.step)
    if dist.step is not None:
        return float(dist.low + round((x - dist.low) / dist.step) * dist.step)
    return float(x)


def _bounds(dist: IntDistribution | FloatDistribution) -> tuple[float, float]:
    # ints are drawn on [low - 0.5, high + 0.5] so that rounding gives the ends a full share
    lo, hi = float(dist.low), float(dist.high)
    if isinstance(dist, IntDistribution) or dist.step is not None:
        half = 0.5 * (dist.step if not dist.log else 1)
        lo, hi = lo - half, hi + half
        if dist.log:
            lo = max(lo, float(dist.low) * 0.5)
    return (math.log(lo), math.log(hi)) if dist.log else (lo, hi)


def _random_value(dist: BaseDistribution, rng: np.random.Generator) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(rng.integers(len(dist.choices)))]
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    lo, hi = _bounds(dist)
    u = rng.uniform(lo, hi)
    return _grid_value(dist, math.exp(u) if dist.log else u)


def _contains(dist: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is one of ``dist``'s values (in range, on the grid)."""
    if isinstance(dist, CategoricalDistribution):
        return value in dist.choices
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    try:
        x = float(value)
    except (TypeError, ValueError):
        return False
    if not dist.low <= x <= dist.high:
        return False
    step = dist.step
    if step is None:
        return True
    k = (x - dist.low) / step
    return abs(k - round(k)) < 1e-8


def _changed_value(
    dist: BaseDistribution, current: Any, rng: np.random.Generator, local_prob: float, local_scale: float
) -> Any | None:
    """A value of ``dist`` different from ``current``, or None if it has no other value."""
    if _n_values(dist) <= 1:
        return None
    if isinstance(dist, CategoricalDistribution):
        others = [c for c in dist.choices if c != current]
        return others[int(rng.integers(len(others)))] if others else None
    assert isinstance(dist, (IntDistribution, FloatDistribution))
    lo, hi = _bounds(dist)
    for _ in range(16):
        if rng.random() < local_prob and _contains(dist, current):
            u0 = math.log(current) if dist.log else float(current)
            step = rng.normal(0.0, local_scale * (hi - lo))
            value = _grid_value(dist, math.exp(u0 + step) if dist.log else u0 + step)
            if value == current:  # a step smaller than the grid: move one grid point that way
                unit = dist.step if (isinstance(dist, IntDistribution) or dist.step) else 0
                value = _grid_value(dist, current + (unit if step >= 0 else -unit))
                if value == current:
                    value = _grid_value(dist, current - (unit if step >= 0 else -unit))
        else:
            value = _random_value(dist, rng)
        if value != current:
            return value
    return None


def _key(params: Mapping[str, Any]) -> frozenset:
    return frozenset(params.items())


class _Seen:
    """The configurations other trials ran or will run, for the never-repeat rule.

    A proposal repeats a known configuration ``C`` when ``C``'s items are a subset of the
    proposal's: a deterministic define-by-run objective given the proposal's values follows
    ``C``'s path (asks the same names, gets the same values) and never reads the other names.
    For a flat space that is plain equality.  Configurations are grouped by their names, so the
    test is one hash lookup per distinct branch structure.
    """

    def __init__(self) -> None:
        self.groups: dict[frozenset, set[frozenset]] = {}
        self.finished: set[frozenset] = set()

    def add(self, config: Mapping[str, Any], finished: bool) -> None:
        self.groups.setdefault(frozenset(config), set()).add(_key(config))
        if finished:
            self.finished.add(_key(config))

    def covers(self, proposal: Mapping[str, Any]) -> bool:
        names = proposal.keys()
        for group_names, configs in self.groups.items():
            if group_names <= names and frozenset((n, proposal[n]) for n in group_names) in configs:
                return True
        return False


def _complete_branches(
    target: dict[str, Any], changed: list[str], finished: list[FrozenTrial], rng: np.random.Generator
) -> None:
    """Give ``target`` values for the names a changed value is known to open.

    Changing e.g. ``kind`` from A to B opens B's params, which the best trial (an A) does not
    have.  Finished trials that took the same new value show which names then get asked; each
    such name gets a random value from its distribution, so the proposal is complete and the
    never-repeat rule can judge it before the trial starts.  Names never seen stay open and are
    drawn when asked.
    """
    for n in changed:
        for t in reversed(finished):
            if n in t.params and t.params[n] == target[n]:
                for k, dist in t.distributions.items():
                    if k not in target:
                        target[k] = _random_value(dist, rng)


# ---------------------------------------------------------------- the greedy sampler


class GreedySampler(BaseSampler):
    """Hill climbing from the best complete trial, never repeating a configuration.

    See the module docstring for the exact procedure.  ``defaults`` are Optuna-encoded params
    (``autorec.hparams.space_defaults``); they are proposed while no trial has completed,
    unless an identical trial already exists (e.g. the search enqueued them).
    """

    def __init__(
        self,
        defaults: Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        max_changes: int = 2,
        local_prob: float = 0.5,
        local_scale: float = 0.15,
        tries: int = 64,
        max_enumerate: int = 200_000,
    ) -> None:
        if max_changes < 1:
            raise ConfigError(f"greedy max_changes must be >= 1, got {max_changes}")
        if not 0.0 <= local_prob <= 1.0:
            raise ConfigError(f"greedy local_prob must be in [0, 1], got {local_prob}")
        if local_scale <= 0:
            raise ConfigError(f"greedy local_scale must be > 0, got {local_scale}")
        self.defaults = dict(defaults) if defaults else None
        self.seed = int(seed)
        self.max_changes = int(max_changes)
        self.local_prob = float(local_prob)
        self.local_scale = float(local_scale)
        self.tries = int(tries)
        self.max_enumerate = int(max_enumerate)
        # per-process cache of the plan of each trial this process is sampling, by trial id
        self._plans: dict[int, dict[str, Any]] = {}

    # Optuna's sampler interface: everything is independent sampling (define-by-run)
    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def reseed_rng(self) -> None:
        # randomness is derived from (seed, trial number), which is what keeps workers consistent;
        # Optuna calls this for n_jobs>1 threads, where there is nothing to reseed
        pass

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        plan = self._plans.get(trial._trial_id)
        if plan is None:
            plan = self._plan(study, trial)
            self._plans[trial._trial_id] = plan
        target = plan["target"]
        rng = np.random.default_rng([self.seed, trial.number, plan["round"], zlib.crc32(param_name.encode())])
        if param_name in target and _contains(param_distribution, target[param_name]):
            value = target[param_name]
        else:
            value = _random_value(param_distribution, rng)
        return self._avoid_finished(plan["finished"], dict(trial.params), param_name, param_distribution, value, rng)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Any
    ) -> None:
        self._plans.pop(trial._trial_id, None)
        if self._flat_space_exhausted(study):
            try:
                study.stop()
            except RuntimeError:
                pass  # not inside study.optimize (ask/tell use): nothing to stop

    # ------------------------------------------------------------ planning

    def _all_trials(self, study: optuna.Study) -> list[FrozenTrial]:
        # the storage, not study.get_trials(): under Hyperband the sampler sees a per-bracket view
        return study._storage.get_all_trials(study._study_id, deepcopy=False)

    @staticmethod
    def _known_config(t: FrozenTrial) -> dict[str, Any] | None:
        """The configuration a trial ran or will run, when it is known in full."""
        if t.state == TrialState.WAITING:
            return dict(t.system_attrs.get("fixed_params", {})) or None
        if t.state == TrialState.RUNNING:
            planned = t.system_attrs.get(TARGET_ATTR) or t.system_attrs.get("fixed_params")
            return dict(planned) if planned else None  # a random-mode trial is checked value by value
        return dict(t.params) or None

    def _seen(self, trials: Iterable[FrozenTrial], own_id: int) -> "_Seen":
        seen = _Seen()
        for t in trials:
            if t._trial_id == own_id:
                continue
            cfg = self._known_config(t)
            if cfg is not None:
                seen.add(cfg, finished=t.state.is_finished())
        return seen

    def _best(self, study: optuna.Study, trials: list[FrozenTrial]) -> FrozenTrial | None:
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
        if not complete:
            return None
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
        return min(complete, key=lambda t: (sign * t.values[0], t.number))

    def _plan(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        for round_ in range(32):
            trials = self._all_trials(study)
            seen = self._seen(trials, trial._trial_id)
            rng = np.random.default_rng([self.seed, trial.number, round_])
            target, info = self._propose(study, trials, seen, rng)
            info["round"] = round_
            storage = study._storage
            storage.set_trial_system_attr(trial._trial_id, TARGET_ATTR, target)
            storage.set_trial_system_attr(trial._trial_id, INFO_ATTR, info)
            if not target:
                break  # nothing to compare yet: values are drawn (and checked) one by one
            # write-then-check: a worker that planned the same configuration at the same moment
            if not self._seen(self._all_trials(study), trial._trial_id).covers(target):
                break
        else:
            raise RuntimeError("greedy sampler: could not settle on a configuration no other worker chose")
        return {"target": target, "finished": seen.finished, "round": round_}

    def _propose(
        self, study: optuna.Study, trials: list[FrozenTrial], seen: "_Seen", rng: np.random.Generator
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        best = self._best(study, trials)
        if best is None:
            if self.defaults is not None and not seen.covers(self.defaults):
                return dict(self.defaults), {"mode": "defaults"}
            ref = next((t for t in reversed(trials) if t.state.is_finished() and t.params), None)
            if ref is None:
                return {}, {"mode": "random"}
            return self._random_unseen(study, ref.distributions, seen, rng, reason="no complete trial yet")

        finished = [t for t in trials if t.state.is_finished() and t.params]
        base, dists = dict(best.params), dict(best.distributions)
        changeable = sorted(n for n in base if _n_values(dists[n]) > 1)
        if changeable:
            k0 = int(rng.integers(1, min(self.max_changes, len(changeable)) + 1))
            widths = [k0] + [w for w in range(1, min(self.max_changes, len(changeable)) + 1) if w != k0]
            widths += list(range(self.max_changes + 1, len(changeable) + 1))
            for width in widths:
                for _ in range(self.tries):
                    names = sorted(rng.choice(changeable, size=width, replace=False).tolist())
                    target = dict(base)
                    for n in names:
                        new = _changed_value(dists[n], base[n], rng, self.local_prob, self.local_scale)
                        if new is None:
                            break
                        target[n] = new
                    else:
                        _complete_branches(target, names, finished, rng)
                        if not seen.covers(target):
                            return target, {"mode": "perturb", "base": best.number, "changed": names}
        return self._random_unseen(study, dists, seen, rng, reason=f"neighbourhood of trial {best.number} exhausted")

    def _random_unseen(
        self, study: optuna.Study, dists: Mapping[str, BaseDistribution], seen: "_Seen", rng: np.random.Generator, reason: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        names = sorted(dists)
        info = {"mode": "random", "reason": reason}
        size = math.prod(_n_values(dists[n]) for n in names)
        if size <= self.max_enumerate:
            values = [_all_values(dists[n]) for n in names]
            unseen = [c for c in itertools.product(*values) if not seen.covers(dict(zip(names, c)))]
            if unseen:
                return dict(zip(names, unseen[int(rng.integers(len(unseen)))])), info
        else:
            for _ in range(self.tries):
                target = {n: _random_value(dists[n], rng) for n in names}
                if not seen.covers(target):
                    return target, info
        try:
            study.stop()
        except RuntimeError:
            pass
        raise SearchSpaceExhausted(
            f"greedy search: all {size if size != math.inf else 'sampled'} configurations of "
            f"{names} have been tried; stopping the study"
        )

    def _avoid_finished(
        self,
        finished: set,
        partial: dict[str, Any],
        name: str,
        dist: BaseDistribution,
        value: Any,
        rng: np.random.Generator,
    ) -> Any:
        """``value``, unless asking it would make this trial's params exactly a finished trial's."""

        def repeats(v: Any) -> bool:
            return _key({**partial, name: v}) in finished

        if not repeats(value):
            return value
        if _n_values(dist) <= self.max_enumerate:
            options = [v for v in _all_values(dist) if not repeats(v)]
            if options:
                return options[int(rng.integers(len(options)))]
        else:
            for _ in range(self.tries):
                v = _random_value(dist, rng)
                if not repeats(v):
                    return v
        raise SearchSpaceExhausted(
            f"greedy search: every value of {name!r} repeats a finished trial given {partial}"
        )

    def _flat_space_exhausted(self, study: optuna.Study) -> bool:
        trials = [t for t in self._all_trials(study) if t.params]
        if not trials:
            return False
        dists = trials[0].distributions
        if any(t.distributions != dists for t in trials):
            return False  # conditional space: its size is not the product of the params' sizes
        size = math.prod(_n_values(d) for d in dists.values())
        if size > self.max_enumerate:
            return False
        return len({_key(t.params) for t in trials}) >= size
