"""Greedy ensemble selection (Caruana, Niculescu-Mizil, Crew & Ksikes, ICML 2004).

Given every candidate model's predictions on the validation set, grow a bag of models one pick
at a time, each pick being the model whose addition gives the best validation score of the bag's
average.  With replacement a model can be picked several times, which is how the bag expresses
weights.  The bag starts from the ``init_best`` best single models ("sorted initialisation" in
the paper, which keeps the early, noisy picks from dominating).  The result is the best bag seen
along the path (the paper's "select the best prefix"), so it is never worse on validation than
the best single model.  Ties go to the lowest model index, so the result is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import ConfigError, DataError
from ..estimators.ensemble import ensemble_predict

__all__ = ["caruana_ensemble", "ranking_ensemble", "EnsembleSelection", "ensemble_predict", "METRICS"]

_EPS = 1e-15


def _rmse(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean((pred - y) ** 2, axis=-1))


def _mae(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mean(np.abs(pred - y), axis=-1)


def _logloss(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.clip(pred, _EPS, 1.0 - _EPS)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p), axis=-1)


# each maps predictions (..., n_val) and targets (n_val,) to scores (...); lower is better
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "rmse": _rmse,
    "mae": _mae,
    "logloss": _logloss,
}


@dataclass
class EnsembleSelection:
    """The selected bag: ``weights[i]`` is how many times model ``i`` was picked."""

    weights: np.ndarray
    scores: list[float] = field(default_factory=list)  # validation score after each pick
    picks: list[int] = field(default_factory=list)  # model picked at each step, in order
    best_size: int = 0  # picks in the returned bag (the best prefix of ``picks``)
    metric: str = "rmse"

    @property
    def score(self) -> float:
        """Validation score of the returned bag."""
        return self.scores[self.best_size - 1]

    @property
    def members(self) -> np.ndarray:
        """Indices of the models with a non-zero weight."""
        return np.flatnonzero(self.weights)

    def predict(self, preds: np.ndarray) -> np.ndarray:
        """Weighted average of the models' predictions (``n_models x n``)."""
        return ensemble_predict(preds, self.weights)


def _check(val_preds: np.ndarray, y_val: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    preds = np.asarray(val_preds, dtype=np.float64)
    y = np.asarray(y_val, dtype=np.float64)
    if preds.ndim != 2 or preds.shape[0] == 0 or preds.shape[1] == 0:
        raise ConfigError(f"val_preds must be a non-empty 2-D array (models x rows), got shape {preds.shape}")
    if y.shape != (preds.shape[1],):
        raise ConfigError(f"y_val has shape {y.shape} but val_preds has {preds.shape[1]} rows")
    bad = np.argwhere(~np.isfinite(preds))
    if bad.size:
        m, r = bad[0]
        raise DataError(f"validation predictions must be finite; row {r} is not", column=f"model {m}", value=float(preds[m, r]))
    bad_y = np.flatnonzero(~np.isfinite(y))
    if bad_y.size:
        raise DataError(f"validation target at row {bad_y[0]} is not finite", value=float(y[bad_y[0]]))
    if metric == "logloss":
        outside = np.argwhere((preds < 0) | (preds > 1))
        if outside.size:
            m, r = outside[0]
            raise DataError(
                f"logloss needs probabilities in [0, 1]; row {r} is outside", column=f"model {m}", value=float(preds[m, r])
            )
        not01 = np.flatnonzero((y != 0) & (y != 1))
        if not01.size:
            raise DataError(f"logloss needs 0/1 targets; row {not01[0]} is not", value=float(y[not01[0]]))
    return preds, y


def caruana_ensemble(
    val_preds: np.ndarray,
    y_val: np.ndarray,
    metric: str = "rmse",
    max_size: int = 50,
    with_replacement: bool = True,
    init_best: int = 1,
) -> EnsembleSelection:
    """Select a weighted bag of models by greedy forward selection on validation predictions.

    ``val_preds``: ``n_models x n_val`` predictions; ``y_val``: the ``n_val`` targets;
    ``metric``: one of :data:`METRICS` (lower is better); ``max_size``: most picks in the bag
    (counting repeats); ``with_replacement``: whether a model can be picked again;
    ``init_best``: how many of the best single models start the bag (at least 1).
    """
    if metric not in METRICS:
        raise ConfigError(f"unknown ensemble metric {metric!r}; known: {', '.join(METRICS)}")
    preds, y = _check(val_preds, y_val, metric)
    n_models = preds.shape[0]
    if not 1 <= init_best <= n_models:
        raise ConfigError(f"init_best must be between 1 and the number of models ({n_models}), got {init_best}")
    if max_size < init_best:
        raise ConfigError(f"max_size ({max_size}) must be at least init_best ({init_best})")
    score_fn = METRICS[metric]

    single = score_fn(preds, y)
    order = np.argsort(single, kind="stable")  # stable: ties to the lowest index
    picks: list[int] = []
    scores: list[float] = []
    total = np.zeros(preds.shape[1])
    for i in order[:init_best]:
        picks.append(int(i))
        total += preds[i]
        scores.append(float(score_fn(total / len(picks), y)))

    available = np.ones(n_models, dtype=bool)
    if not with_replacement:
        available[picks] = False
    while len(picks) < max_size and available.any():
        n = len(picks) + 1
        # every candidate's bag average at once: (total + preds[i]) / n for all i
        cand = score_fn((total[None, :] + preds) / n, y)
        cand = np.where(available, cand, np.inf)
        best = int(np.argmin(cand))
        picks.append(best)
        total += preds[best]
        scores.append(float(cand[best]))
        if not with_replacement:
            available[best] = False

    best_size = int(np.argmin(scores)) + 1  # first minimum: the smallest best bag
    weights = np.bincount(np.asarray(picks[:best_size]), minlength=n_models).astype(np.int64)
    return EnsembleSelection(weights=weights, scores=scores, picks=picks, best_size=best_size, metric=metric)


def ranking_ensemble(blocks: list[np.ndarray], score: Callable[[np.ndarray], float], max_size: int = 10
                     ) -> EnsembleSelection:
    """Caruana selection for rankings: ``blocks[m]`` is member m's standardised scores for a
    sample of validation users (users x items), ``score(scores)`` the validation metric of a
    combined block (higher is better: NDCG@20).  The bag starts empty and grows by the pick
    whose average scores best, with replacement; the best bag along the path wins (its first
    pick is the best single member, so it is never worse on the sample).  Ties go to the lower
    index."""
    if not blocks:
        raise ConfigError("a ranking ensemble needs at least one member")
    counts = np.zeros(len(blocks), dtype=np.float64)
    total = np.zeros_like(blocks[0], dtype=np.float64)
    best_counts, best_size, scores, picks = None, 0, [], []
    for size in range(1, max_size + 1):
        values = [score((total + b) / size) for b in blocks]
        pick = int(np.argmax(values))  # first maximum: the lower index on a tie
        counts[pick] += 1
        total += blocks[pick]
        scores.append(float(values[pick]))
        picks.append(pick)
        if best_counts is None or scores[-1] > scores[best_size - 1]:
            best_counts, best_size = counts.copy(), size
    return EnsembleSelection(weights=best_counts, scores=scores, picks=picks, best_size=best_size, metric="ndcg@20")
