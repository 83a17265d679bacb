"""Model names -> families.

A *family* knows how to build a model's module from data and hyperparameters, how to train
it (which :mod:`autorec.train.tasks` task), how to predict index pairs, and which tensors
besides the module's weights an artifact must hold (an AutoRec model predicts from the
training ratings, so they travel with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch

from ..errors import ConfigError

# The AutoRec family: each name is a preset of AutoRecConfig; `params` override it.
AUTOREC_PRESETS: dict[str, dict[str, Any]] = {
    "i-autorec": {"orientation": "item"},
    "u-autorec": {"orientation": "user"},
    "deep-autorec": {"orientation": "item", "hidden": (512, 256, 512), "encoder_activation": "selu",
                     "hidden_activation": "selu", "decoder_activation": "identity", "dropout": 0.3},
    "denoising-autorec": {"orientation": "item", "noise": "dropout", "noise_level": 0.2},
    "hybrid-autorec": {"orientation": "item", "side": True},
}

AUTOREC_DESCRIPTIONS = {
    "i-autorec": "I-AutoRec (Sedhain et al. 2015): one autoencoder over each item's ratings",
    "u-autorec": "U-AutoRec: one autoencoder over each user's ratings",
    "deep-autorec": "Deep AutoRec (Kuchaiev & Ginsburg 2017): several SELU layers, dropout on the code",
    "denoising-autorec": "I-AutoRec trained on inputs with observed ratings dropped out",
    "hybrid-autorec": "I-AutoRec with side information (user or item features) appended to the input",
}

# What each preset fixes when searched (the rest of AutoRec.hparams is open).
AUTOREC_SEARCH_FIXED: dict[str, dict[str, Any]] = {
    "i-autorec": {"orientation": "item", "depth": 1, "noise": "none", "dense_refeed": False},
    "u-autorec": {"orientation": "user", "depth": 1, "noise": "none", "dense_refeed": False},
    "deep-autorec": {"orientation": "item", "depth": 3, "noise": "none"},
    "denoising-autorec": {"orientation": "item", "depth": 1, "noise": "dropout", "dense_refeed": False},
    "hybrid-autorec": {"orientation": "item", "depth": 1, "noise": "none", "dense_refeed": False},
}

# Training defaults per family (the paper: full-batch RProp; Adam with mini-batches is faster here).
AUTOREC_TRAIN_DEFAULTS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "l2": 1.0,
                          "max_epochs": 300, "patience": 20}


@dataclass
class FittedState:
    module: torch.nn.Module
    hparams: dict
    extra: dict = field(default_factory=dict)


def side_matrix(frame, n_rows: int) -> np.ndarray | None:
    """Numeric side-feature matrix (one-hot for non-numeric columns, NaN -> 0) for the rows."""
    import pandas as pd

    if frame is None or frame.shape[1] == 0:
        return None
    num = frame.select_dtypes(include="number").astype("float32")
    other = frame.drop(columns=num.columns)
    parts = [num.fillna(0.0)]
    if other.shape[1]:
        parts.append(pd.get_dummies(other.astype("string"), dtype="float32"))
    mat = pd.concat(parts, axis=1).to_numpy(dtype=np.float32)
    # scale numeric columns into [0, 1] so no feature dominates the input of the encoder
    span = mat.max(axis=0) - mat.min(axis=0)
    span[span == 0] = 1.0
    mat = (mat - mat.min(axis=0)) / span
    if mat.shape[0] != n_rows:
        raise ConfigError("side information does not cover every row")
    return mat


class AutoRecFamily:
    kind = "autorec"

    def names(self) -> list[str]:
        return list(AUTOREC_PRESETS)

    def train_defaults(self, name: str) -> dict:
        return dict(AUTOREC_TRAIN_DEFAULTS)

    def config(self, name: str, params: Mapping[str, Any]):
        from .autorec import AutoRecConfig

        values = {k: v for k, v in AUTOREC_PRESETS[name].items() if k != "side"}
        values.update({k: v for k, v in params.items() if k != "side"})
        known = {f.name for f in fields(AutoRecConfig)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{name} has no parameter(s) {unknown}; known: {sorted(known - {'side_dim'})}")
        if "hidden" in values:
            h = values["hidden"]
            values["hidden"] = (int(h),) if isinstance(h, (int, float, str)) and not str(h).count(",") \
                else tuple(int(x) for x in (h.split(",") if isinstance(h, str) else h))
        return values

    def search_names(self, name: str) -> set[str]:
        """Every hyperparameter name ``search_params`` may ask for (some only conditionally)."""
        from .autorec import AutoRec

        return {f"{name}/{k}" for k in AutoRec.hparams if k not in AUTOREC_SEARCH_FIXED[name]}

    def search_params(self, name: str, hp, data) -> dict:
        """Draw the preset's open hyperparameters from ``hp`` (names ``name/key``)."""
        from .autorec import AutoRec

        cfg = AutoRec.config_from_hparams(hp, prefix=name, fixed=AUTOREC_SEARCH_FIXED[name])
        params = cfg.to_dict()
        params.pop("side_dim")
        return params

    def _matrix(self, data, orientation: str) -> sp.csr_matrix:
        return data.csr_items() if orientation == "item" else data.csr()

    def build(self, name: str, params: Mapping[str, Any], train, device, seed: int = 0) -> FittedState:
        from .autorec import AutoRec, AutoRecConfig, RowSource

        values = self.config(name, params)
        orientation = values.get("orientation", "item")
        matrix = self._matrix(train, orientation)
        side = None
        use_side = bool(params.get("side", AUTOREC_PRESETS[name].get("side", False)))
        if use_side:
            frame = train.item_features if orientation == "item" else train.user_features
            side = side_matrix(frame, matrix.shape[0])
            if side is None:
                raise ConfigError(f"{name} needs {orientation} side information, and the dataset has none")
            values["side_dim"] = side.shape[1]
        cfg = AutoRecConfig(**values)
        module = AutoRec(matrix.shape[1], cfg, seed=seed).to(device)
        if cfg.decoder_activation == "identity":
            module.init_output_bias(train.global_mean)  # outputs start at the mean rating
        source = RowSource(matrix, side=side, fill=cfg.fill, orientation=orientation, device=device)
        return FittedState(module, cfg.to_dict(), {"source": source, "matrix": matrix, "side": side,
                                                   "orientation": orientation})

    def task(self, state: FittedState, train, validation, cfg, predict_fn):
        from ..train.tasks import AutoRecTask

        return AutoRecTask(state.module, state.extra["source"], cfg.l2, validation, predict_fn)

    def predict(self, state: FittedState, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        rows, cols = (items, users) if state.extra["orientation"] == "item" else (users, items)
        return np.asarray(state.module.predict_pairs(state.extra["source"], rows, cols), dtype=np.float64)

    def seen_items(self, state: FittedState, user: int) -> np.ndarray:
        m = state.extra["matrix"]
        if state.extra["orientation"] == "item":
            return m[:, user].nonzero()[0]
        return m.indices[m.indptr[user]:m.indptr[user + 1]]

    # artifact support: tensors beyond the module's weights, and the rebuild from them
    def extra_tensors(self, state: FittedState) -> dict[str, torch.Tensor]:
        m = state.extra["matrix"]
        out = {"input.indptr": torch.from_numpy(m.indptr.astype(np.int64)),
               "input.indices": torch.from_numpy(m.indices.astype(np.int64)),
               "input.data": torch.from_numpy(m.data.astype(np.float32))}
        if state.extra["side"] is not None:
            out["input.side"] = torch.from_numpy(state.extra["side"])
        return out

    def rebuild(self, name: str, hparams: dict, shapes: dict, tensors: dict, device) -> FittedState:
        from .autorec import AutoRec, AutoRecConfig, RowSource

        cfg = AutoRecConfig.from_dict(hparams)
        matrix = sp.csr_matrix(
            (tensors["input.data"].numpy(), tensors["input.indices"].numpy(), tensors["input.indptr"].numpy()),
            shape=tuple(shapes["input"]),
        )
        side = tensors["input.side"].numpy() if "input.side" in tensors else None
        module = AutoRec(matrix.shape[1], cfg).to(device)
        source = RowSource(matrix, side=side, fill=cfg.fill, orientation=cfg.orientation, device=device)
        return FittedState(module, dict(hparams), {"source": source, "matrix": matrix, "side": side,
                                                   "orientation": cfg.orientation})

    def shapes(self, state: FittedState) -> dict:
        return {"input": list(state.extra["matrix"].shape)}


_FAMILIES: list = [AutoRecFamily()]


def register_family(family) -> None:
    _FAMILIES.append(family)


def model_names() -> list[str]:
    _load_optional()
    return [n for f in _FAMILIES for n in f.names()]


def _load_optional() -> None:
    # the block-model zoo registers itself when importable
    if not any(getattr(f, "kind", "") == "blocks" for f in _FAMILIES):
        try:
            from ..train.block_family import BlockFamily
        except ImportError:
            return
        _FAMILIES.append(BlockFamily())


def get_family(name: str):
    _load_optional()
    for fam in _FAMILIES:
        if name in fam.names():
            return fam
    import difflib

    names = model_names()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown model {name!r}{hint}; known models: {', '.join(names)}")
