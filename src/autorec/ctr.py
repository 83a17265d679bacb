"""`CTRModel`: click-through-rate models on a `FeatureTable`, scikit-learn style.

``CTRModel("deepfm").fit(table, train_rows, val_rows)`` fits the feature encoder on the
training rows only (vocabularies with a minimum count and an out-of-vocabulary bucket, the
dense transform), trains the zoo model with early stopping on validation logloss, and
``predict_proba(table, rows)`` scores any rows, new categories included.  ``save``/``load``
write safetensors weights plus JSON (model, hyperparameters, encoder), no pickle.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from safetensors.torch import load_file

from . import __version__, metrics
from .blocks.graph import DataInfo
from .blocks.hparams import DefaultHP, FixedHP
from .data.features import EncodedFeatures, FeatureEncoder, FeatureTable
from .errors import ConfigError
from .train.engine import TrainConfig, fit, resolve_device, seed_everything

CTR_TRAIN_DEFAULTS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 1024, "weight_decay": 0.0,
                      "max_epochs": 30, "patience": 3}
FORMAT = "autorec-ctr-model"


def ctr_model_names() -> list[str]:
    """Zoo models that score feature rows (pair models such as NeuMF read user/item ids)."""
    from .models.zoo import list_models

    return list_models(task="ctr", reads="features")


class CTRModel:
    def __init__(self, model: str = "deepfm", params: Mapping[str, Any] | None = None,
                 train: TrainConfig | Mapping[str, Any] | None = None, min_count: int = 1,
                 dense_transform: str = "log") -> None:
        if model not in ctr_model_names():
            import difflib

            close = difflib.get_close_matches(model, ctr_model_names(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown CTR model {model!r}{hint}; known: {', '.join(ctr_model_names())}")
        self.model = model
        self.params = dict(params or {})
        self.train = train
        self.min_count = min_count
        self.dense_transform = dense_transform

    def _spec(self, params: Mapping[str, Any]):
        # make_model validates the keys (bare ones fix every block that declares them)
        from .models.zoo import make_model

        return make_model(self.model, "ctr", **params)

    def fit(self, table: FeatureTable, train_rows=None, val_rows=None, on_epoch=None) -> "CTRModel":
        from .estimator import _train_config
        from .train.tasks import CTRTask

        cfg = _train_config(self.train, CTR_TRAIN_DEFAULTS)
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
        self.module_ = self._spec(self.params).build(DefaultHP(), self.info_).to(self.device_)
        # every value the architecture depends on: the fixed ones and the defaults asked for
        self.hparams_ = {**self.params, **self.module_.hp_values}
        task = CTRTask(self.module_, enc, val, self._predict_encoded, self.device_)
        t0 = time.perf_counter()
        self.history_ = fit(task, cfg, on_epoch=on_epoch)
        self.fit_seconds_ = time.perf_counter() - t0
        self.module_.eval()
        return self

    def _predict_encoded(self, enc: EncodedFeatures, chunk: int = 1 << 15) -> np.ndarray:
        out = np.empty(len(enc), dtype=np.float64)
        dense = torch.as_tensor(enc.dense, dtype=torch.float32)
        cat = torch.as_tensor(enc.categorical, dtype=torch.long)
        for s in range(0, len(enc), chunk):
            batch = {"dense": dense[s:s + chunk].to(self.device_), "categorical": cat[s:s + chunk].to(self.device_)}
            out[s:s + chunk] = self.module_.predict(batch).cpu().numpy()
        return out

    def predict_proba(self, table: FeatureTable, rows=None) -> np.ndarray:
        if not hasattr(self, "module_"):
            raise ConfigError("this CTRModel is not fitted yet: call fit() or CTRModel.load()")
        return self._predict_encoded(self.encoder_.transform(table, rows))

    def evaluate(self, table: FeatureTable, rows=None) -> dict[str, float]:
        p = self.predict_proba(table, rows)
        y = table.labels if rows is None else table.labels[np.asarray(rows)]
        return {"logloss": metrics.logloss(y, p), "auc": metrics.auc(y, p)}

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        from .artifact import write_model_folder

        tensors = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
        return write_model_folder(Path(path), tensors, {
            "format": FORMAT, "format_version": 1, "autorec_version": __version__,
            "model": self.model, "hparams": self.hparams_, "train": asdict(self.train_config_),
            "encoder": self.encoder_.to_dict(), "min_count": self.min_count,
            "dense_transform": self.dense_transform,
            "info": {"vocab_sizes": list(self.info_.vocab_sizes), "n_dense": self.info_.n_dense,
                     "field_names": list(self.info_.field_names), "dense_names": list(self.info_.dense_names),
                     "global_mean": self.info_.global_mean},
        })

    @classmethod
    def load(cls, path: str | Path) -> "CTRModel":
        path = Path(path)
        if (path / "model" / "meta.json").exists():
            path = path / "model"
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            raise ConfigError(f"{path} is not an autorec CTR model (format {meta.get('format')!r})")
        obj = cls(meta["model"], params=meta["hparams"], train=meta["train"], min_count=meta["min_count"],
                  dense_transform=meta["dense_transform"])
        obj.train_config_ = TrainConfig(**meta["train"])
        obj.device_ = torch.device("cpu")
        obj.encoder_ = FeatureEncoder.from_dict(meta["encoder"])
        i = meta["info"]
        obj.info_ = DataInfo.for_features(i["vocab_sizes"], i["n_dense"], task="ctr", global_mean=i["global_mean"],
                                          field_names=i["field_names"], dense_names=i["dense_names"])
        obj.module_ = obj._spec(meta["hparams"]).build(FixedHP({}, strict=True), obj.info_)
        obj.module_.load_state_dict(load_file(str(path / "weights.safetensors")))
        obj.module_.eval()
        obj.hparams_ = meta["hparams"]
        return obj
