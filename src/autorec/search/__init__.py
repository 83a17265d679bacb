"""Search components on Optuna: tuners, the hyperparameter source, studies and ensembles.

* :mod:`.hp`: ``OptunaHP`` (a ``HyperParameters`` source backed by an Optuna trial) and the
  encoding of hyperparameter values into Optuna params (``space_defaults``, ``decode_params``).
* :mod:`.tuners`: ``make_sampler`` (random, greedy, bayesian, tpe), ``make_pruner`` (none,
  median, successive-halving, hyperband) and the ``GreedySampler``.
* :mod:`.storage`: ``open_study`` (SQLite by default, any SQLAlchemy URL, ``journal:PATH``),
  resume of interrupted studies and a budget shared by several workers.
* :mod:`.ensemble`: Caruana greedy ensemble selection.

See docs/search.md.
"""

from __future__ import annotations

# none of these imports torch (hp only names autorec.blocks for type hints), so a worker
# process that only opens studies starts quickly
from .ensemble import EnsembleSelection, caruana_ensemble, ensemble_predict
from .hp import OptunaHP, decode_params, decode_value, encode_value, space_defaults, to_distribution
from .storage import (
    SharedBudget,
    count_done,
    fail_running_trials,
    is_done,
    open_study,
    remaining_budget,
    storage_url,
    track_failures,
)
from .tuners import PRUNERS, SAMPLERS, GreedySampler, SearchSpaceExhausted, make_pruner, make_sampler

__all__ = [
    "OptunaHP",
    "space_defaults",
    "encode_value",
    "decode_value",
    "decode_params",
    "to_distribution",
    "SAMPLERS",
    "PRUNERS",
    "make_sampler",
    "make_pruner",
    "GreedySampler",
    "SearchSpaceExhausted",
    "open_study",
    "storage_url",
    "fail_running_trials",
    "is_done",
    "count_done",
    "remaining_budget",
    "SharedBudget",
    "track_failures",
    "caruana_ensemble",
    "EnsembleSelection",
    "ensemble_predict",
]
