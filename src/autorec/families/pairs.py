"""The block-model family on rating pairs: zoo models (MF, BiasedMF, NeuMF, the feature models
on (user, item) fields, ...) trained on (user, item, rating) mini-batches.

Hyperparameters are replayed with ``FixedHP``: a search draws them define-by-run (the build
asks only what the chosen blocks need) and records them in ``module.hp_values``; the same
values rebuild the same architecture when an artifact is loaded.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch

from ..blocks.graph import DataInfo
from ..hparams import DataDefaultsHP, DefaultHP, FixedHP, PrefixedHP
from ..models.zoo import MF_DATA_DEFAULTS, ZOO, canonical_name, list_models, make_model, mf_l2_for
from .base import FittedState, PairTargets, validate_ratings

BLOCK_TRAIN_DEFAULTS = {"optimizer": "adam", "lr": 2e-3, "batch_size": 1024, "weight_decay": 0.0,
                        "max_epochs": 100, "patience": 5}


def _spec(name: str, params: Mapping[str, Any] | None = None):
    # make_model validates the keys: scoped ("deep/units") or bare ("embedding_dim": every block)
    return make_model(name, "rating", **dict(params or {}))


def data_defaults(name: str, train) -> dict[str, Any]:
    """Defaults that depend on the training data (``models.zoo.mf_l2_for``), by block name."""
    keys = MF_DATA_DEFAULTS.get(canonical_name(name), ())
    if not keys or train is None or len(train) == 0:
        return {}
    per_user = len(train) / max(1, int((train.user_counts() > 0).sum()))
    l2 = mf_l2_for(per_user)
    return {k: l2 for k in keys}


def _info(train) -> DataInfo:
    return DataInfo.from_interactions(train, "rating", histories=False)


class PairTraining:
    """Training adapter: mini-batches of (user, item, rating) pairs through a block model with
    a rating head.  Each batch's mean loss is weighted by its share of the pairs, so an epoch's
    sum is the mean loss over all training pairs."""

    metric = "rmse"

    def __init__(self, module, users, items, ratings, validation: PairTargets | None, predict_fn, device):
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


class PairBlockFamily:
    kind = "blocks"
    task = "rating"
    train_space = "blocks"

    def names(self) -> list[str]:
        return list_models(task="rating")

    def describe(self, name: str) -> str:
        return f"{ZOO[name].summary} ({ZOO[name].reference})"

    def train_defaults(self, name: str) -> dict:
        return dict(BLOCK_TRAIN_DEFAULTS)

    def search_names(self, name: str) -> set[str]:
        """Every hyperparameter name ``search_params`` may ask for (some only conditionally)."""
        return {f"{name}/{n}" for n in _spec(name).tunable()}

    def search_params(self, name: str, hp, data) -> dict:
        """Draw the model's hyperparameters from ``hp`` under the ``name/`` scope."""
        defaults = {f"{name}/{k}": v for k, v in data_defaults(name, data).items()}
        module = _spec(name).build(PrefixedHP(DataDefaultsHP(hp, defaults), name), _info(data))
        return dict(module.hp_values)

    def build(self, name: str, params: Mapping[str, Any], train, device, seed: int = 0) -> FittedState:
        info = _info(train)
        module = _spec(name, params).build(DataDefaultsHP(DefaultHP(), data_defaults(name, train)), info).to(device)
        # every value the architecture depends on: the fixed ones and the defaults asked for
        return FittedState(module, {**params, **module.hp_values}, {"info": info, "train": train, "device": device,
                                                             "seen": train.csr()})

    def adapter(self, state: FittedState, train, validation, cfg, predict_fn) -> PairTraining:
        return PairTraining(state.module, train.users, train.items, train.ratings, validation, predict_fn,
                        state.extra["device"])

    def predict(self, state: FittedState, users: np.ndarray, items: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
        dev = state.extra["device"]
        out = np.empty(len(users), dtype=np.float64)
        module = state.module
        for s in range(0, len(users), chunk):
            batch = {"user": torch.as_tensor(users[s:s + chunk], device=dev),
                     "item": torch.as_tensor(items[s:s + chunk], device=dev)}
            # raw head output: the estimator applies the default for unseen ids and the clip
            out[s:s + chunk] = module(batch).detach().cpu().numpy()
        return out

    def seen_items(self, state: FittedState, user: int) -> np.ndarray:
        m = state.extra["seen"]
        return m.indices[m.indptr[user]:m.indptr[user + 1]]

    def extra_tensors(self, state: FittedState) -> dict[str, torch.Tensor]:
        m = state.extra["seen"]
        return {"seen.indptr": torch.from_numpy(m.indptr.astype(np.int64)),
                "seen.indices": torch.from_numpy(m.indices.astype(np.int64)),
                "seen.data": torch.from_numpy(m.data.astype(np.float32))}

    def shapes(self, state: FittedState) -> dict:
        info = state.extra["info"]
        return {"n_users": info.n_users, "n_items": info.n_items,
                "rating_scale": list(info.rating_scale) if info.rating_scale else None,
                "global_mean": info.global_mean}

    def rebuild(self, name: str, hparams: dict, shapes: dict, tensors: dict, device) -> FittedState:
        info = DataInfo(task="rating", n_users=shapes["n_users"], n_items=shapes["n_items"],
                        rating_scale=tuple(shapes["rating_scale"]) if shapes["rating_scale"] else None,
                        global_mean=shapes["global_mean"])
        module = _spec(name, hparams).build(FixedHP({}, strict=True), info).to(device)
        seen = sp.csr_matrix((tensors["seen.data"].numpy(), tensors["seen.indices"].numpy(),
                              tensors["seen.indptr"].numpy()), shape=(info.n_users, info.n_items))
        return FittedState(module, dict(hparams), {"info": info, "device": device, "seen": seen})
