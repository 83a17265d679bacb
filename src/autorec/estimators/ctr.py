"""`CTRModel`: click-through-rate models on a `FeatureTable`, scikit-learn style.

``CTRModel("deepfm").fit(table, train_rows, val_rows)`` fits the feature encoder on the
training rows only (vocabularies with a minimum count and an out-of-vocabulary bucket, the
dense transform), trains the zoo model with early stopping on validation logloss, and
``predict_proba(table, rows)`` scores any rows, new categories included.  ``save``/``load``
write safetensors weights plus JSON (model, hyperparameters, encoder), no pickle.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch

from .. import metrics
from ..blocks.graph import DataInfo
from ..data.features import EncodedFeatures, FeatureEncoder, FeatureTable
from ..errors import ConfigError
from ..families import canonical_name, get_family, model_names
from ..io import read_model_folder, write_model_folder
from ..train.engine import TrainConfig, fit, resolve_device, seed_everything
from .base import FittedModelMixin, ParamsMixin

FORMAT = "autorec-ctr-model"
FORMAT_VERSION = 1


def ctr_model_names() -> list[str]:
    """Zoo models that score feature rows (pair models such as NeuMF read user/item ids)."""
    return model_names("ctr")


class CTRModel(FittedModelMixin, ParamsMixin):
    """``model``: a CTR model name; ``params``: its hyperparameters; ``train``: training
    settings; ``min_count``: categories seen fewer times in training share the
    out-of-vocabulary code; ``dense_transform``: ``"log"`` or ``"none"`` for dense fields."""

    def __init__(self, model: str = "deepfm", params: Mapping[str, Any] | None = None,
                 train: TrainConfig | Mapping[str, Any] | None = None, min_count: int = 1,
                 dense_transform: str = "log") -> None:
        self.model = model
        self.params = params
        self.train = train
        self.min_count = min_count
        self.dense_transform = dense_transform

    def _check_arguments(self) -> None:
        self.family_ = get_family(self.model, "ctr")
        self.model_ = canonical_name(self.model, "ctr")

    def fit(self, table: FeatureTable, train_rows=None, val_rows=None, on_epoch=None,
            deadline: float | None = None) -> "CTRModel":
        """Fit the encoder and the model on ``train_rows`` with early stopping on ``val_rows``
        (``on_epoch`` and ``deadline`` as in :meth:`autorec.Recommender.fit`)."""
        self._check_arguments()
        cfg = TrainConfig.resolve(self.train, self.family_.train_defaults(self.model_))
        self.train_config_ = cfg
        self.device_ = resolve_device(cfg.device)
        seed_everything(cfg.seed)
        self.encoder_ = FeatureEncoder(min_count=self.min_count, dense_transform=self.dense_transform)
        self.encoder_.fit(table, train_rows)
        enc = self.encoder_.transform(table, train_rows)
        if len(enc) == 0:
            raise ConfigError("cannot fit on an empty training set")
        val = self.encoder_.transform(table, val_rows) if val_rows is not None and len(val_rows) else None
        self.info_ = DataInfo.from_encoded(enc, task="ctr")
        self.state_ = self.family_.build(self.model_, dict(self.params or {}), self.info_, self.device_, seed=cfg.seed)
        adapter = self.family_.adapter(self.state_, enc, val, cfg, self._predict_encoded)
        t0 = time.perf_counter()
        self.history_ = fit(adapter, cfg, on_epoch=on_epoch, deadline=deadline)
        self.fit_seconds_ = time.perf_counter() - t0
        self.state_.module.eval()
        return self

    @property
    def module_(self) -> torch.nn.Module:
        self._check_fitted()
        return self.state_.module

    def _predict_encoded(self, enc: EncodedFeatures) -> np.ndarray:
        return self.family_.predict(self.state_, enc)

    def predict_proba(self, table, rows=None) -> np.ndarray:
        """Click probabilities of ``table``'s rows (all, or the positions ``rows``).  ``table``
        is a `FeatureTable`, or raw rows: a DataFrame or a list of ``{column: value}`` dicts
        holding the training's dense and categorical columns (the saved encoder applies; a
        category it never saw takes the out-of-vocabulary code, a missing dense value 0)."""
        self._check_fitted()
        if isinstance(table, FeatureTable):
            return self._predict_encoded(self.encoder_.transform(table, rows))
        if isinstance(table, pd.DataFrame):
            frame = table
        elif isinstance(table, (list, tuple)) and all(isinstance(r, Mapping) for r in table):
            frame = pd.DataFrame.from_records(list(table), columns=self.feature_columns_)
        else:
            raise ConfigError("predict_proba takes a FeatureTable, a DataFrame or a list of {column: value} rows, "
                              f"not {type(table).__name__}")
        if rows is not None:
            frame = frame.iloc[np.asarray(rows)]
        return self._predict_encoded(self.encoder_.transform_frame(frame))

    @property
    def feature_columns_(self) -> list[str]:
        """The raw columns a row to score must have: dense ones, then categorical ones."""
        self._check_fitted()
        return [*self.encoder_.dense, *self.encoder_.categorical]

    def evaluate(self, table: FeatureTable, rows=None) -> dict[str, float]:
        p = self.predict_proba(table, rows)
        y = table.labels if rows is None else table.labels[np.asarray(rows)]
        return metrics.ctr_scores(y, p)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        return write_model_folder(Path(path), dict(self.state_.module.state_dict()), {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "model": self.model_, "hparams": self.hparams_, "train": asdict(self.train_config_),
            "encoder": self.encoder_.to_dict(), "min_count": self.min_count,
            "dense_transform": self.dense_transform, "info": self.family_.shapes(self.state_),
        })

    @classmethod
    def load(cls, path: str | Path) -> "CTRModel":
        """A saved CTR model, from its folder or a run folder holding ``model/``."""
        folder = read_model_folder(path, formats=[FORMAT], versions={FORMAT: FORMAT_VERSION})
        meta = folder.meta
        folder.require("model", "hparams", "train", "encoder", "min_count", "dense_transform", "info")
        obj = cls(meta["model"], params=meta["hparams"], train=meta["train"], min_count=meta["min_count"],
                  dense_transform=meta["dense_transform"])
        obj._check_arguments()
        obj.train_config_ = TrainConfig.resolve(meta["train"])
        obj.device_ = torch.device("cpu")
        obj.encoder_ = FeatureEncoder.from_dict(meta["encoder"])
        try:
            obj.state_ = obj.family_.rebuild(obj.model_, meta["hparams"], meta["info"], folder.tensors, obj.device_)
            obj.state_.module.load_state_dict(folder.tensors)
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{folder.path}: the weights do not fit the recorded model "
                              f"{meta['model']!r} ({(str(exc).splitlines() or [type(exc).__name__])[0]})") from None
        obj.info_ = obj.state_.extra["info"]
        obj.state_.module.eval()
        return obj
