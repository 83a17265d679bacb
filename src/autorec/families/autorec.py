"""The AutoRec family (Sedhain et al. 2015 and descendants): I-/U-AutoRec, Deep, denoising
and hybrid AutoRec, each a preset of :class:`~autorec.models.autorec.AutoRecConfig`.

An AutoRec model predicts from the training ratings (a column of the rating matrix is the
encoder's input), so the matrix travels with the artifact as extra tensors.  Its training
adapter, :class:`AutoRecTraining`, feeds rows of that sparse matrix to the engine.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..errors import ConfigError
from ..models.autorec import AutoRec, AutoRecConfig, RowSource
from .base import FittedState, PairTargets, validate_ratings
from .fold_in import cannot_fold_in, check_history, minimise

# The AutoRec family: each name is a preset of AutoRecConfig; `params` override it.
AUTOREC_PRESETS: dict[str, dict[str, Any]] = {
    # 100 hidden units, not the paper's 500: at lambda 300, on the validation parts of
    # ml-latest-small, half its users and its items with 10 or more ratings, 100 units beat 500
    # by 0.019, 0.055 and 0.004 RMSE, and tied on a 10,000-rating sample (0.9729 against
    # 0.9726; benchmarks/tune_defaults.py --models i-autorec-width; docs/training.md).  Dropout
    # 0.2 on the code with lambda 100 (AUTOREC_OWN_TRAIN_DEFAULTS): the best mean of dropout 0 or
    # 0.2 x lambda 50/100/300 over the four variants (--models i-autorec-dropout)
    "i-autorec": {"orientation": "item", "hidden": (100,), "dropout": 0.2},
    "u-autorec": {"orientation": "user"},
    # Kuchaiev & Ginsburg's shape (512-256-512, SELU inner layers, dropout 0.3 on the code, a
    # linear decoder) with I-AutoRec's sigmoid first layer: on ml-latest-small and half its users
    # a SELU first layer scored 0.928 / 1.040 on validation and a sigmoid one 0.838 / 0.901
    # (benchmarks/tune_defaults.py --models deep-autorec; docs/training.md)
    "deep-autorec": {"orientation": "item", "hidden": (512, 256, 512), "encoder_activation": "sigmoid",
                     "hidden_activation": "selu", "decoder_activation": "identity", "dropout": 0.3},
    # 100 units, a drop rate of 0.45 and lambda 50 (AUTOREC_OWN_TRAIN_DEFAULTS), not I-AutoRec's
    # 500 / 0.2 / 300: the best of 100 or 500 units x 0.2 or 0.45 x lambda 50 or 300 on the
    # validation parts of the four ml-latest-small variants (benchmarks/tune_defaults.py --models
    # denoising-autorec; docs/training.md)
    "denoising-autorec": {"orientation": "item", "hidden": (100,), "noise": "dropout", "noise_level": 0.45},
    "hybrid-autorec": {"orientation": "item", "side": True},
}

AUTOREC_DESCRIPTIONS = {
    "i-autorec": "I-AutoRec (Sedhain et al. 2015): one autoencoder over each item's ratings",
    "u-autorec": "U-AutoRec: one autoencoder over each user's ratings",
    "deep-autorec": "Deep AutoRec (after Kuchaiev & Ginsburg 2017): a sigmoid first layer, SELU inner layers, dropout on the code",
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

# Where a preset's search starts (its warm-start trial) differs from AutoRec.hparams' default;
# the searched range is the same.  A one-layer preset with its own width (I-AutoRec's 100) starts
# there, so that the search's first trial and `autorec train` agree.
AUTOREC_SEARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    name: {"hidden_units": preset["hidden"][0],
           **{k: preset[k] for k in ("noise_level", "dropout") if k in preset}}
    for name, preset in AUTOREC_PRESETS.items()
    if len(preset.get("hidden", ())) == 1 and AUTOREC_SEARCH_FIXED.get(name, {}).get("depth") == 1
}

# Training defaults (the paper: full-batch RProp; Adam with mini-batches is faster here), the
# same as the search's defaults for the family (search/space.py TRAIN_SPACE["autorec"]): lambda
# 300 and 32 rows per batch, from the validation sweeps of benchmarks/bench_autorec_accuracy.py
# on MovieLens-100K (validation parts only, never test).  lambda 1, the default before, overfit
# (test RMSE 0.924 on ML-100K random 90/10 seed 0; 0.9034 now).  A sweep on ml-latest-small and
# its subsamples (benchmarks/tune_defaults.py) picks 600-1000 there instead: lambda does not
# transfer well between datasets, which is what the search (and its --cv) is for.  See
# docs/training.md, "Where the defaults come from".
AUTOREC_TRAIN_DEFAULTS = {"optimizer": "adam", "lr": 1e-3, "batch_size": 32, "l2": 300.0,
                          "max_epochs": 300, "patience": 20}
# a preset's own training defaults, for `autorec train` and the search's first trial of it:
# dropping 45% of the inputs (denoising) or 20% of the code (I-AutoRec) already regularises,
# and their grids chose a lower lambda with it (comments on AUTOREC_PRESETS)
AUTOREC_OWN_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {"denoising-autorec": {"l2": 50.0},
                                                         "i-autorec": {"l2": 100.0}}


def side_matrix(frame, n_rows: int) -> np.ndarray | None:
    """Numeric side-feature matrix (one-hot for non-numeric columns, NaN -> 0) for the rows."""
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


class AutoRecTraining:
    """Training adapter: mini-batches of rows of the sparse rating matrix.

    The loss is scaled so that summing the batch losses over one epoch gives the *full*
    objective (observed squared errors + lambda/2 ||W||^2) divided by the number of observed
    ratings: mini-batch and full-batch optimizers then minimise the same function, and lambda
    keeps its meaning at any batch size.
    """

    metric = "rmse"

    def __init__(self, module, source, l2: float, validation: PairTargets | None, predict_fn):
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


class AutoRecFamily:
    kind = "autorec"
    task = "rating"
    train_space = "autorec"

    def names(self) -> list[str]:
        return list(AUTOREC_PRESETS)

    def describe(self, name: str) -> str:
        return AUTOREC_DESCRIPTIONS[name]

    def train_defaults(self, name: str) -> dict:
        return {**AUTOREC_TRAIN_DEFAULTS, **AUTOREC_OWN_TRAIN_DEFAULTS.get(name, {})}

    def search_train_defaults_for(self, name: str) -> dict:
        """Where the search's training range starts for ``name``: its own training defaults."""
        return dict(AUTOREC_OWN_TRAIN_DEFAULTS.get(name, {}))

    def config(self, name: str, params: Mapping[str, Any]):
        values = {k: v for k, v in AUTOREC_PRESETS[name].items() if k != "side"}
        values.update({k: v for k, v in params.items() if k != "side"})
        known = {f.name for f in fields(AutoRecConfig)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{name} has no parameter(s) {unknown}; known: {sorted(known - {'side_dim'})}")
        if "hidden" in values:
            h = values["hidden"]
            parts = h.split(",") if isinstance(h, str) else [h] if isinstance(h, (int, float)) else list(h)
            try:
                sizes = tuple(int(str(x).strip()) for x in parts)
            except (TypeError, ValueError):
                raise ConfigError(f"{name}: hidden must be layer sizes, a whole number or a comma-separated "
                                  f"list such as 500 or 500,250,500; got {h!r}") from None
            if not sizes or min(sizes) < 1:
                raise ConfigError(f"{name}: every hidden layer needs at least 1 unit, got {h!r}")
            values["hidden"] = sizes
        return values

    def search_names(self, name: str) -> set[str]:
        """Every hyperparameter name ``search_params`` may ask for (some only conditionally)."""
        return {f"{name}/{k}" for k in AutoRec.hparams if k not in AUTOREC_SEARCH_FIXED[name]}

    def search_params(self, name: str, hp, data) -> dict:
        """Draw the preset's open hyperparameters from ``hp`` (names ``name/key``)."""
        cfg = AutoRec.config_from_hparams(hp, prefix=name, fixed=AUTOREC_SEARCH_FIXED[name],
                                          defaults=AUTOREC_SEARCH_DEFAULTS.get(name))
        params = cfg.to_dict()
        params.pop("side_dim")
        return params

    def _matrix(self, data, orientation: str) -> sp.csr_matrix:
        return data.csr_items() if orientation == "item" else data.csr()

    def build(self, name: str, params: Mapping[str, Any], train, device, seed: int = 0) -> FittedState:
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

    def adapter(self, state: FittedState, train, validation, cfg, predict_fn) -> AutoRecTraining:
        return AutoRecTraining(state.module, state.extra["source"], cfg.l2, validation, predict_fn)

    def predict(self, state: FittedState, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        rows, cols = (items, users) if state.extra["orientation"] == "item" else (users, items)
        return np.asarray(state.module.predict_pairs(state.extra["source"], rows, cols), dtype=np.float64)

    def item_counts(self, state: FittedState) -> np.ndarray:
        """Training ratings per item index."""
        m = state.extra["matrix"]
        if state.extra["orientation"] == "item":
            return np.diff(m.indptr).astype(np.int64)
        return np.bincount(m.indices, minlength=m.shape[1]).astype(np.int64)

    def seen_items(self, state: FittedState, user: int) -> np.ndarray:
        m = state.extra["matrix"]
        if state.extra["orientation"] == "item":
            return m[:, user].nonzero()[0]
        return m.indices[m.indptr[user]:m.indptr[user + 1]]

    def fold_in(self, state: FittedState, items: np.ndarray, ratings: np.ndarray, cfg):
        """A scorer (item indices -> raw predictions) for a new user with this history.

        U-AutoRec encodes the history as one more row of its users x items input.  An item-based
        model has one output unit per user: the new user's unit (its decoder row and bias) is
        fitted to the history with every other weight fixed, on the training objective
        restricted to it (squared error + lambda/2 |row|^2); the history does not enter the item
        codes, since the encoder has no input for that user."""
        items, ratings = check_history(items, ratings)
        module = state.module
        if state.extra["orientation"] == "user":
            if state.extra["side"] is not None:
                raise cannot_fold_in("hybrid U-AutoRec", "its input needs the new user's side information")
            n_items = state.extra["matrix"].shape[1]
            row = sp.csr_matrix((ratings.astype(np.float32), (np.zeros(len(items), dtype=np.int64), items)),
                                shape=(1, n_items))
            source = state.extra["source"].other_rows(row)
            full = module.reconstruct(source, np.array([0]))[0].astype(np.float64)
            return lambda query: full[np.asarray(query, dtype=np.int64)]
        codes = self._item_codes(state)
        z = torch.from_numpy(codes[items]).double()
        y = torch.from_numpy(ratings)
        w = module.decoder_weight.detach().double().mean(0).clone().requires_grad_(True)
        b = module.decoder_bias.detach().double().mean().reshape(1).clone().requires_grad_(True)
        lam = float(cfg.l2) if cfg is not None else 0.0
        f = module.output_activation

        def objective():
            err = f(z @ w + b) - y
            return err @ err + 0.5 * lam * (w @ w)

        minimise([w, b], objective)
        w_np, b_np = w.detach().numpy(), float(b.detach()[0])
        all_codes = codes.astype(np.float64)

        def score(query):
            q = np.asarray(query, dtype=np.int64)
            with torch.no_grad():
                return f(torch.from_numpy(all_codes[q] @ w_np + b_np)).numpy()
        return score

    def _item_codes(self, state: FittedState) -> np.ndarray:
        """The last hidden layer of every item (eval mode), computed once per loaded model."""
        if "item_codes" not in state.extra:
            module, source = state.module, state.extra["source"]
            was = module.training
            module.eval()
            parts = []
            with torch.no_grad():
                for start in range(0, source.n_rows, 2048):
                    ids = np.arange(start, min(start + 2048, source.n_rows))
                    parts.append(module.encode(source.batch(ids, transpose=False)).double().cpu().numpy())
            module.train(was)
            state.extra["item_codes"] = np.concatenate(parts)
        return state.extra["item_codes"]

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
