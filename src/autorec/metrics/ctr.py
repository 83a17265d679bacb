"""Click-through-rate metrics: log loss and ROC AUC."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ._checks import paired


def _labels(y: np.ndarray) -> np.ndarray:
    bad = (y != 0) & (y != 1)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ConfigError(f"y_true must hold 0/1 labels; position {pos} is {y[pos]!r}")
    return y


def logloss(y_true, p, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy ``-mean(y log p + (1 - y) log(1 - p))``.

    ``p`` are probabilities in [0, 1] (anything outside is an error: raw scores must go
    through a sigmoid first); they are clipped to ``[eps, 1 - eps]`` so a confident wrong
    prediction costs ``-log(eps)`` rather than infinity.
    """
    if not (0 < eps < 0.5):
        raise ConfigError(f"eps must be in (0, 0.5), got {eps!r}")
    y, q = paired("y_true", y_true, "p", p)
    _labels(y)
    outside = (q < 0) | (q > 1)
    if outside.any():
        pos = int(np.flatnonzero(outside)[0])
        raise ConfigError(f"p must be probabilities in [0, 1]; position {pos} is {q[pos]!r}")
    q = np.clip(q, eps, 1 - eps)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q)))


def auc(y_true, scores) -> float:
    """Area under the ROC curve, by ranks (Mann-Whitney U).

    ``(sum of the positives' ranks - P(P+1)/2) / (P N)`` with average ranks for tied scores,
    so a positive and a negative with equal scores count one half, as in sklearn's
    ``roc_auc_score``.  Both classes must be present.
    """
    y, s = paired("y_true", y_true, "scores", scores)
    _labels(y)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ConfigError(f"AUC needs both classes; y_true has {n_pos} positives and "
                          f"{n_neg} negatives")
    from scipy.stats import rankdata  # imported here: scipy.stats costs a second at every CLI start

    ranks = rankdata(s, method="average")
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ctr_scores(y_true, p) -> dict[str, float]:
    """Every CTR metric autorec reports, in one dict: ``{"logloss", "auc"}``."""
    return {"logloss": logloss(y_true, p), "auc": auc(y_true, p)}
