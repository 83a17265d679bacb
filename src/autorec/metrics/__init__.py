"""Evaluation metrics: rating errors, CTR metrics, and full-ranking top-k metrics.

docs/splits-and-metrics.md defines each one precisely.
"""

from __future__ import annotations

from .ctr import auc, ctr_scores, logloss
from .ranking import METRICS as RANKING_METRICS
from .ranking import ranking_metrics, top_k
from .rating import mae, mse, rating_scores, rmse

__all__ = ["RANKING_METRICS", "auc", "ctr_scores", "logloss", "mae", "mse", "ranking_metrics", "rating_scores",
           "rmse", "top_k"]
