"""Train / validation / test splits of `Interactions` (and row splits of CTR tables).

Every protocol returns a `Split` whose parts share the data's id space (``data.take``), so a
model trained on ``split.train`` scores ``split.test`` by index directly.  Named protocols:
`make_split` / `list_splits`.  docs/splits-and-metrics.md describes each rule precisely.
"""

from __future__ import annotations

from .predefined import (
    ML100K_SPLITS,
    ml100k_predefined,
    predefined,
    read_ml100k_split_frames,
)
from .protocols import (
    kfold,
    leave_one_out,
    random_holdout,
    repeated_holdout,
    split_rows,
    temporal_global,
    temporal_last_n,
    user_holdout,
)
from .registry import CTR_SPLITS, list_splits, make_row_split, make_split
from .split import Split

__all__ = [
    "CTR_SPLITS",
    "ML100K_SPLITS",
    "Split",
    "kfold",
    "leave_one_out",
    "list_splits",
    "make_row_split",
    "make_split",
    "ml100k_predefined",
    "predefined",
    "random_holdout",
    "read_ml100k_split_frames",
    "repeated_holdout",
    "split_rows",
    "temporal_global",
    "temporal_last_n",
    "user_holdout",
]
