"""Rating-prediction errors: MSE, RMSE, MAE (accumulated in float64)."""

from __future__ import annotations

import numpy as np

from ._checks import paired


def mse(y_true, y_pred) -> float:
    """Mean squared error ``mean((y_pred - y_true)**2)``."""
    t, p = paired("y_true", y_true, "y_pred", y_pred)
    return float(np.mean(np.square(p - t)))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error ``sqrt(mse)``: the AutoRec paper's metric."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error ``mean(|y_pred - y_true|)``."""
    t, p = paired("y_true", y_true, "y_pred", y_pred)
    return float(np.mean(np.abs(p - t)))


def rating_scores(y_true, y_pred) -> dict[str, float]:
    """Every rating metric autorec reports, in one dict: ``{"rmse", "mae"}``."""
    return {"rmse": rmse(y_true, y_pred), "mae": mae(y_true, y_pred)}
