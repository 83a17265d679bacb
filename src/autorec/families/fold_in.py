"""Fold-in: predictions for a user who is not in the training data, from a history given at
query time (item indices and their ratings), without retraining the model.

Each rating family answers with a *scorer*, a function from item indices to raw model outputs
for that one user:

* models that encode a user's history (U-AutoRec and its deep and denoising variants) encode it
  directly, as one more row of the rating matrix;
* models that keep one parameter row per user (MF, BiasedMF, GMF, MLP, NeuMF on pairs; the
  output layer of item-based AutoRec) fit that row to the history with every other weight fixed,
  minimising the model's own training objective restricted to the row: squared error over the
  history plus the L2 the model was trained with.  For MF and BiasedMF (and item-based AutoRec
  with its identity output) that objective is a ridge regression, which L-BFGS solves to
  machine precision; at a converged model, folding in a training user's own history gives back
  that user's trained row (the row is a stationary point of the same objective).

A model that cannot fold in raises a `ConfigError` that names models that can.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch

from ..errors import ConfigError

#: models whose artifacts answer ``history=`` queries, named in the error of those that cannot
FOLD_IN_MODELS = ("u-autorec", "i-autorec", "deep-autorec", "denoising-autorec", "biased-mf", "mf", "neumf")

Scorer = Callable[[np.ndarray], np.ndarray]


def cannot_fold_in(model: str, why: str) -> ConfigError:
    return ConfigError(f"{model} cannot fold in a new user's history ({why}); models that can: "
                       f"{', '.join(FOLD_IN_MODELS)}")


def minimise(params: Iterable[torch.Tensor], objective: Callable[[], torch.Tensor],
             rounds: int = 20, grad_tol: float = 1e-8) -> None:
    """Minimise ``objective()`` over ``params`` in place with L-BFGS (strong Wolfe line search),
    restarted until the largest gradient entry is below ``grad_tol`` (one L-BFGS run can stop
    on a flat stretch of the line search long before that).  Deterministic."""
    params = list(params)

    def closure():
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    with torch.enable_grad():
        for _ in range(rounds):
            opt = torch.optim.LBFGS(params, lr=1.0, max_iter=200, history_size=50, tolerance_grad=grad_tol,
                                    tolerance_change=1e-15, line_search_fn="strong_wolfe")
            opt.step(closure)
            closure()
            if max(float(p.grad.abs().max()) for p in params) < grad_tol:
                break
        for p in params:
            p.grad = None


def check_history(items: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The history as int64 item indices and float64 ratings; at least one rating, no item twice."""
    items = np.asarray(items, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float64)
    if items.ndim != 1 or items.shape != ratings.shape:
        raise ConfigError("a history needs one rating per item")
    if len(items) == 0:
        raise ConfigError("the history holds no item this model knows, so there is nothing to fold in")
    if not np.all(np.isfinite(ratings)):
        raise ConfigError("every rating in a history must be a finite number")
    if len(np.unique(items)) != len(items):
        raise ConfigError("a history lists an item twice; give each item once")
    return items, ratings
