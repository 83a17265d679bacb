"""Tuners (Optuna samplers) and pruners for the search, by name.

``make_sampler(name, seed)``: ``random`` (RandomSampler), ``greedy`` (:class:`~.greedy.GreedySampler`), ``bayesian`` (Optuna's GPSampler: Gaussian-process Bayesian optimisation) and ``tpe``
(TPESampler, multivariate with grouping so conditional branches are modelled jointly, and the
constant liar so parallel workers do not all pick the same point).

``make_pruner(name)``: ``none``, ``median``, ``successive-halving``, ``hyperband``.  Pruning is
multi-fidelity over epochs: the objective calls ``trial.report(val_metric, epoch)`` after each
epoch and raises ``optuna.TrialPruned`` when ``trial.should_prune()``.

The greedy hill climber is :class:`autorec.search.greedy.GreedySampler`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler

from ..errors import ConfigError
from .greedy import GreedySampler, SearchSpaceExhausted

__all__ = [
    "SAMPLERS",
    "PRUNERS",
    "make_sampler",
    "make_pruner",
    "GreedySampler",
    "SearchSpaceExhausted",
]

SAMPLERS = ("random", "greedy", "bayesian", "tpe")
PRUNERS = ("none", "median", "successive-halving", "hyperband")

def make_sampler(name: str, seed: int, **options: Any) -> BaseSampler:
    """An Optuna sampler by tuner name; ``options`` go to its constructor."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ConfigError(f"sampler seed must be an integer, got {seed!r}")
    seed = int(seed)
    try:
        with warnings.catch_warnings():
            # multivariate/group/constant_liar are flagged experimental but are the point here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if name == "random":
                return optuna.samplers.RandomSampler(seed=seed, **options)
            if name == "greedy":
                return GreedySampler(seed=seed, **options)
            if name == "bayesian":
                opts = {"n_startup_trials": 10, "warn_independent_sampling": False, **options}
                return optuna.samplers.GPSampler(seed=seed, **opts)
            if name == "tpe":
                opts = {
                    "n_startup_trials": 10,
                    "multivariate": True,
                    "group": True,
                    "constant_liar": True,
                    **options,
                }
                return optuna.samplers.TPESampler(seed=seed, **opts)
    except TypeError as e:
        raise ConfigError(f"tuner {name!r}: bad option in {sorted(options)}: {e}") from e
    raise ConfigError(f"unknown tuner {name!r}; known: {', '.join(SAMPLERS)}")


def make_pruner(
    name: str,
    *,
    min_resource: int = 1,
    max_resource: int | str = "auto",
    reduction_factor: int = 3,
    n_startup_trials: int = 5,
    n_warmup_steps: int = 1,
) -> optuna.pruners.BasePruner:
    """An Optuna pruner by name.

    Resources are epochs (the step passed to ``trial.report``).  ``max_resource`` is the most
    epochs a trial can run ("auto": taken from the first trial that finishes); ``median`` prunes
    a trial whose metric at an epoch is worse than the median of earlier trials at that epoch,
    after ``n_startup_trials`` trials and ``n_warmup_steps`` epochs.
    """
    if reduction_factor < 2:
        raise ConfigError(f"pruner reduction_factor must be >= 2, got {reduction_factor}")
    if min_resource < 1:
        raise ConfigError(f"pruner min_resource must be >= 1, got {min_resource}")
    if max_resource != "auto" and (not isinstance(max_resource, int) or max_resource < min_resource):
        raise ConfigError(f"pruner max_resource must be 'auto' or an int >= min_resource, got {max_resource!r}")
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)
    if name == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=reduction_factor)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=min_resource, max_resource=max_resource, reduction_factor=reduction_factor
        )
    raise ConfigError(f"unknown pruner {name!r}; known: {', '.join(PRUNERS)}")
