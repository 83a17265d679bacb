"""Training tasks: how each model family turns data into batches, losses and validation.

* :class:`AutoRecTask`: rows of a sparse rating matrix (I-/U-AutoRec and their descendants).
* :class:`PairTask`: (user, item, rating) pairs for factorisation-style block models.
* :class:`CTRTask`: encoded feature rows for click-through-rate models.

Losses are scaled so that summing the batch losses over one epoch gives the *full* objective
divided by the number of training examples: mini-batch and full-batch optimizers then
minimise the same function, and the regulariser keeps its meaning at any batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import metrics


@dataclass
class PairTargets:
    """Validation pairs in model index space, with what a prediction needs to be scored."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray


def validate_ratings(validation: PairTargets | None, predict_fn) -> dict[str, float] | None:
    """RMSE and MAE of ``predict_fn(users, items)`` on the validation pairs (None: no validation)."""
    if validation is None:
        return None
    pred = predict_fn(validation.users, validation.items)
    return {"rmse": metrics.rmse(validation.ratings, pred), "mae": metrics.mae(validation.ratings, pred)}


class AutoRecTask:
    metric = "rmse"

    def __init__(self, module, source, l2: float, validation, predict_fn):
        self.module = module
        self.source = source
        self.l2 = float(l2)
        self.validation = validation
        self.predict_fn = predict_fn
        self.n_rows = source.n_rows
        self.n_obs = max(int(source.matrix.nnz), 1)

    def n_examples(self) -> int:
        return self.n_rows

    def batch_loss(self, index: np.ndarray):
        batch = self.source.batch(index)
        sse, _count = self.module.batch_loss(batch)
        frac = len(index) / self.n_rows
        loss = sse
        if self.l2:
            loss = loss + frac * self.l2 * self.module.regularization()
        loss = loss / self.n_obs
        if self.module.config.dense_refeed:
            # Kuchaiev & Ginsburg's re-feeding, taken in the same step: its mean squared error
            # over the dense reconstruction, weighted like the observed part
            refeed, n_dense = self.module.refeed_loss(batch)
            loss = loss + frac * refeed / max(n_dense, 1)
        return loss

    def validate(self):
        return validate_ratings(self.validation, self.predict_fn)


class PairTask:
    """Mini-batches of (user, item) pairs through a block model with a rating head."""

    metric = "rmse"

    def __init__(self, module, users, items, ratings, validation, predict_fn, device):
        self.module = module
        self.device = device
        self.users = torch.as_tensor(users, dtype=torch.long, device=device)
        self.items = torch.as_tensor(items, dtype=torch.long, device=device)
        self.ratings = torch.as_tensor(ratings, dtype=torch.float32, device=device)
        self.validation = validation
        self.predict_fn = predict_fn

    def n_examples(self) -> int:
        return len(self.ratings)

    def batch_loss(self, index: np.ndarray):
        idx = torch.as_tensor(index, device=self.device)
        out = self.module({"user": self.users[idx], "item": self.items[idx]})
        loss = self.module.loss(out, self.ratings[idx])  # mean over the batch
        return loss * (len(index) / len(self.ratings))

    def validate(self):
        return validate_ratings(self.validation, self.predict_fn)


class CTRTask:
    """Mini-batches of encoded feature rows through a block model with a CTR head."""

    metric = "logloss"

    def __init__(self, module, encoded, validation, predict_fn, device):
        self.module = module
        self.device = device
        self.dense = torch.as_tensor(encoded.dense, dtype=torch.float32, device=device)
        self.categorical = torch.as_tensor(encoded.categorical, dtype=torch.long, device=device)
        self.label = torch.as_tensor(encoded.label, dtype=torch.float32, device=device)
        self.validation = validation
        self.predict_fn = predict_fn
        # every batch is a subset of these rows: checking them once here (codes within the
        # vocabularies, dense values finite) replaces the same check on every training step,
        # a few percent of a step's time (rows counted from the start of the training rows)
        module._check({"dense": self.dense, "categorical": self.categorical})

    def n_examples(self) -> int:
        return len(self.label)

    def batch_loss(self, index: np.ndarray):
        idx = torch.as_tensor(index, device=self.device)
        was = self.module.validate_inputs
        self.module.validate_inputs = False
        try:
            out = self.module({"dense": self.dense[idx], "categorical": self.categorical[idx]})
        finally:
            self.module.validate_inputs = was
        loss = self.module.loss(out, self.label[idx])
        return loss * (len(index) / len(self.label))

    def validate(self):
        if self.validation is None:
            return None
        p = self.predict_fn(self.validation)
        y = self.validation.label
        return {"logloss": metrics.logloss(y, p), "auc": metrics.auc(y, p)}
