"""Input checks shared by the metrics: same length, finite, non-empty, 1-D."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def as_vector(name: str, values) -> np.ndarray:
    """``values`` as a float64 1-D array; a column (n, 1) is accepted, a real matrix is not."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be an array of numbers: {exc}") from exc
    if arr.ndim == 0 or sum(d != 1 for d in arr.shape) > 1:
        raise ConfigError(f"{name} must be a 1-D array, got shape {arr.shape}")
    return arr.reshape(-1)


def paired(name_a: str, a, name_b: str, b) -> tuple[np.ndarray, np.ndarray]:
    """Two equal-length, non-empty, finite float64 vectors."""
    x, y = as_vector(name_a, a), as_vector(name_b, b)
    if len(x) != len(y):
        raise ConfigError(f"{name_a} has {len(x)} values but {name_b} has {len(y)}")
    if len(x) == 0:
        raise ConfigError(f"{name_a} and {name_b} are empty: nothing to score")
    for name, arr in ((name_a, x), (name_b, y)):
        bad = ~np.isfinite(arr)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise ConfigError(f"{name} has {int(bad.sum())} non-finite value(s), first at "
                              f"position {pos}: {arr[pos]!r}")
    return x, y
