"""The AutoML search on Optuna, one concern per module:

* :mod:`.settings`: ``SearchSettings`` (what to search, how long), ``parse_duration``.
* :mod:`.space`: the space of a trial (model, its hyperparameters, training settings), the
  ``--set`` checks, the warm start.
* :mod:`.driver`: ``run_search``: the study, the objective, pruning reports, the budget.
* :mod:`.results`: the leaderboard, the refit of the best, the ensemble, the plots.
* :mod:`.tuners`: ``make_sampler`` (random, greedy, bayesian, tpe), ``make_pruner``.
* :mod:`.greedy`: ``GreedySampler``, the hill climber that never repeats a configuration.
* :mod:`.storage`: ``open_study`` (SQLite by default, any SQLAlchemy URL, ``journal:PATH``),
  resume of interrupted studies and a budget shared by several workers.
* :mod:`.ensemble`: Caruana greedy ensemble selection.

The hyperparameter sources (``OptunaHP`` among them) are in :mod:`autorec.hparams`.  See
docs/search.md.
"""

from __future__ import annotations

from .driver import run_search
from .ensemble import EnsembleSelection, caruana_ensemble
from .greedy import GreedySampler, SearchSpaceExhausted
from .results import finalize, leaderboard
from .settings import SearchSettings, parse_duration
from .space import TRAIN_SPACE, WARM_START, check_fixed, defaults_as_params, suggest, warm_start_models
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
from .tuners import PRUNERS, SAMPLERS, make_pruner, make_sampler

__all__ = [
    "run_search", "SearchSettings", "parse_duration", "TRAIN_SPACE", "WARM_START", "check_fixed",
    "defaults_as_params", "suggest", "warm_start_models", "finalize", "leaderboard", "SAMPLERS", "PRUNERS",
    "make_sampler", "make_pruner", "GreedySampler", "SearchSpaceExhausted", "open_study", "storage_url",
    "fail_running_trials", "is_done", "count_done", "remaining_budget", "SharedBudget", "track_failures",
    "caruana_ensemble", "EnsembleSelection",
]
