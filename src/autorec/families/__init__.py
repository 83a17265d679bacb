"""Model families: each turns model names into trained modules, with its training adapter.

* :mod:`.base`: the :class:`Family` interface, :class:`FittedState`, :class:`PairTargets`.
* :mod:`.autorec`: the AutoRec autoencoders (rows of the sparse rating matrix).
* :mod:`.pairs`: block models on (user, item) rating pairs (MF, BiasedMF, NeuMF, ...).
* :mod:`.ctr`: block models on feature rows with a CTR head (FM, DeepFM, DCN, ...).
* :mod:`.registry`: every family, registered eagerly; name lookup with aliases.
"""

from .base import TASKS, Family, FittedState, PairTargets, RatingFamily
from .registry import (
    FAMILIES,
    aliases,
    all_model_names,
    canonical_name,
    get_family,
    model_names,
    search_models,
    tasks_of,
)

__all__ = [
    "TASKS", "Family", "FittedState", "PairTargets", "RatingFamily", "FAMILIES", "aliases", "all_model_names",
    "canonical_name", "get_family", "model_names", "search_models", "tasks_of",
]
