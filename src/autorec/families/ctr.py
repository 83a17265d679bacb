"""The CTR family: zoo models that score rows of categorical fields and dense features
(FM, DeepFM, Wide&Deep, DCN, DCN-v2, AutoInt, DLRM, xDeepFM, ...) with a logistic head.

The data a CTR model is built for is the :class:`~autorec.blocks.DataInfo` of encoded rows
(vocabulary sizes, dense width); the encoder itself belongs to the estimator
(:class:`autorec.estimators.ctr.CTRModel`), like the id maps of a rating model.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from .. import metrics
from ..blocks.graph import DataInfo
from ..data.features import EncodedFeatures
from ..hparams import DefaultHP, FixedHP, PrefixedHP
from ..models.zoo import ZOO, list_models, make_model
from .base import FittedState

# Adam at DeepCTR-Torch's settings (lr 1e-3, batch 1024), a few epochs with early stopping
CTR_TRAIN_DEFAULTS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 1024, "weight_decay": 0.0,
                      "max_epochs": 30, "patience": 3}


class CTRTraining:
    """Training adapter: mini-batches of encoded feature rows through a block model with a
    CTR head; validation logloss (and AUC)."""

    metric = "logloss"

    def __init__(self, module, encoded: EncodedFeatures, validation: EncodedFeatures | None, predict_fn, device):
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
        return metrics.ctr_scores(self.validation.label, self.predict_fn(self.validation))


def _spec(name: str, params: Mapping[str, Any] | None = None):
    # make_model validates the keys (bare ones fix every block that declares them)
    return make_model(name, "ctr", **dict(params or {}))


class CTRFamily:
    kind = "ctr"
    task = "ctr"
    # the same ranges of training settings as the block models on pairs (and the same
    # Optuna names, "train.blocks/lr", so studies and --set values read as before)
    train_space = "blocks"

    def names(self) -> list[str]:
        # pair models (NeuMF, ...) read user/item ids, which CTR rows do not have
        return list_models(task="ctr", reads="features")

    def describe(self, name: str) -> str:
        return f"{ZOO[name].summary} ({ZOO[name].reference})"

    def train_defaults(self, name: str) -> dict:
        return dict(CTR_TRAIN_DEFAULTS)

    def search_names(self, name: str) -> set[str]:
        return {f"{name}/{n}" for n in _spec(name).tunable()}

    def search_params(self, name: str, hp, info: DataInfo) -> dict:
        return dict(_spec(name).build(PrefixedHP(hp, name), info).hp_values)

    def build(self, name: str, params: Mapping[str, Any], info: DataInfo, device, seed: int = 0) -> FittedState:
        module = _spec(name, params).build(DefaultHP(), info).to(device)
        # every value the architecture depends on: the fixed ones and the defaults asked for
        return FittedState(module, {**params, **module.hp_values}, {"info": info, "device": device})

    def adapter(self, state: FittedState, encoded: EncodedFeatures, validation: EncodedFeatures | None,
                cfg, predict_fn) -> CTRTraining:
        return CTRTraining(state.module, encoded, validation, predict_fn, state.extra["device"])

    def predict(self, state: FittedState, enc: EncodedFeatures, chunk: int = 1 << 15) -> np.ndarray:
        dev = state.extra["device"]
        out = np.empty(len(enc), dtype=np.float64)
        dense = torch.as_tensor(enc.dense, dtype=torch.float32)
        cat = torch.as_tensor(enc.categorical, dtype=torch.long)
        for s in range(0, len(enc), chunk):
            batch = {"dense": dense[s:s + chunk].to(dev), "categorical": cat[s:s + chunk].to(dev)}
            out[s:s + chunk] = state.module.predict(batch).cpu().numpy()
        return out

    def extra_tensors(self, state: FittedState) -> dict[str, torch.Tensor]:
        return {}

    def shapes(self, state: FittedState) -> dict:
        info = state.extra["info"]
        return {"vocab_sizes": list(info.vocab_sizes), "n_dense": info.n_dense,
                "field_names": list(info.field_names), "dense_names": list(info.dense_names),
                "global_mean": info.global_mean}

    def rebuild(self, name: str, hparams: Mapping[str, Any], shapes: Mapping[str, Any], tensors, device) -> FittedState:
        info = DataInfo.for_features(shapes["vocab_sizes"], shapes["n_dense"], task="ctr",
                                     global_mean=shapes["global_mean"], field_names=shapes["field_names"],
                                     dense_names=shapes["dense_names"])
        module = _spec(name, hparams).build(FixedHP({}, strict=True), info).to(device)
        return FittedState(module, dict(hparams), {"info": info, "device": device})
