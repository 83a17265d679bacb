"""The baseline predictor on ratings: ``mu + b_u + b_i`` with shrunk biases (Koren 2010, "Factor
in the neighbors", section 2.1), solved exactly.

The biases minimise the ridge objective

    sum over training ratings (r - mu - b_u - b_i)^2 + reg_user sum b_u^2 + reg_item sum b_i^2

with ``mu`` the training mean.  Each epoch is one exact sweep of coordinate descent: every item
bias solved with the user biases fixed (``b_i = sum_u (r - mu - b_u) / (reg_item + n_i)``), then
every user bias with the item biases fixed.  The first sweep from zero biases is Koren's own
two-step estimate; the sweeps converge to the joint minimiser, and early stopping on validation
keeps the best one.  The regularisers count pseudo-ratings: a bias estimated from ``n`` ratings
is shrunk by ``n / (n + reg)``, so the same value means the same thing on dense and sparse data.

Why it is in the space: on small, sparse data (about 10 ratings per user) nothing learns much
beyond the biases, and a model with factors, fitted by SGD, adds noise to them.  There a shrunk
biases-only model is what wins (docs/benchmarks.md, sections 8 and 9); it also anchors an
ensemble.  A fit is a few vectorised passes over the ratings: milliseconds on MovieLens-100K.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from ..errors import ConfigError
from ..hparams import Float
from .base import FittedState, PairTargets, SeenRatings, validate_ratings
from .fold_in import check_history

BASELINE = "baseline"

#: the search's ranges and the defaults `autorec train` uses.  The defaults come from the
#: validation sweep of benchmarks/tune_defaults.py on ml-latest-small and its subsamples (never
#: a benchmark's test rows); docs/training.md ("Where the defaults come from") gives the figures
BASELINE_SEARCH = {
    "reg_item": Float(0.1, 300.0, 3.0, log=True, help="pseudo-ratings shrinking each item bias to 0"),
    "reg_user": Float(0.1, 300.0, 10.0, log=True, help="pseudo-ratings shrinking each user bias to 0"),
}

# one sweep is exact, so a few without improvement mean the validation optimum has passed
BASELINE_TRAIN_DEFAULTS = {"max_epochs": 50, "patience": 3}


class BiasModule(torch.nn.Module):
    """``mu + b_u + b_i``; the biases are tensors of the artifact, set by the sweeps (no
    gradients)."""

    def __init__(self, n_users: int, n_items: int, mean: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean), dtype=torch.float64))
        self.register_buffer("user_bias", torch.zeros(n_users, dtype=torch.float64))
        self.register_buffer("item_bias", torch.zeros(n_items, dtype=torch.float64))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.mean + self.user_bias[users] + self.item_bias[items]


def _regularisers(params: Mapping[str, Any]) -> tuple[float, float]:
    out = []
    for key in ("reg_user", "reg_item"):
        value = params.get(key, BASELINE_SEARCH[key].default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise ConfigError(f"baseline: {key} must be a number >= 0 (pseudo-ratings), got {value!r}")
        out.append(float(value))
    return out[0], out[1]


def solve_biases(users: np.ndarray, items: np.ndarray, residuals: np.ndarray, user_bias: np.ndarray,
                 n_items: int, reg_user: float, reg_item: float) -> tuple[np.ndarray, np.ndarray]:
    """One exact sweep: item biases given ``user_bias``, then user biases given those.
    ``residuals`` are the ratings minus the mean."""
    n_users = len(user_bias)
    item_n = np.bincount(items, minlength=n_items)
    user_n = np.bincount(users, minlength=n_users)
    item_bias = np.bincount(items, weights=residuals - user_bias[users], minlength=n_items) / (reg_item + item_n)
    user_bias = np.bincount(users, weights=residuals - item_bias[items], minlength=n_users) / (reg_user + user_n)
    # an id with no ratings and no shrinkage (reg 0) divides 0 by 0: its bias is 0
    return np.nan_to_num(user_bias), np.nan_to_num(item_bias)


def fallback_biases(train, sweeps: int = 50, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """The user and item biases of the baseline predictor at its defaults, solved to
    convergence on ``train``: what every rating model answers for a pair it cannot score
    (a known user with a new item gets ``mu + b_u``; ``Recommender(default_rating="biases")``)."""
    reg_user, reg_item = (BASELINE_SEARCH[k].default for k in ("reg_user", "reg_item"))
    users, items = np.asarray(train.users, dtype=np.int64), np.asarray(train.items, dtype=np.int64)
    residuals = np.asarray(train.ratings, dtype=np.float64) - float(train.global_mean)
    bu, bi = np.zeros(train.n_users), np.zeros(train.n_items)
    for _ in range(sweeps):
        new_bu, bi = solve_biases(users, items, residuals, bu, train.n_items, reg_user, reg_item)
        done = np.max(np.abs(new_bu - bu), initial=0.0) < tol
        bu = new_bu
        if done:
            break
    return bu, bi


def user_bias_from(ratings: np.ndarray, baseline: np.ndarray, reg_user: float | None = None) -> float:
    """A new user's shrunk bias from a history: its ratings against ``mu + b_i`` of the same
    items (the baseline's user step; ``reg_user`` defaults to the baseline's default)."""
    if reg_user is None:
        reg_user = BASELINE_SEARCH["reg_user"].default
    return float(np.sum(np.asarray(ratings, dtype=np.float64) - baseline) / (reg_user + len(ratings)))


class BiasSweeps:
    """The engine's sweep adapter: one epoch = one exact sweep (items, then users)."""

    metric = "rmse"

    def __init__(self, module: BiasModule, train, validation: PairTargets | None, predict_fn,
                 reg_user: float, reg_item: float) -> None:
        self.module = module
        self.users = np.asarray(train.users, dtype=np.int64)
        self.items = np.asarray(train.items, dtype=np.int64)
        self.residuals = np.asarray(train.ratings, dtype=np.float64) - float(module.mean)
        self.reg_user, self.reg_item = reg_user, reg_item
        self.validation = validation
        self.predict_fn = predict_fn

    def n_examples(self) -> int:
        return len(self.residuals)

    def sweep(self) -> float:
        m = self.module
        bu, bi = solve_biases(self.users, self.items, self.residuals, m.user_bias.cpu().numpy(),
                              len(m.item_bias), self.reg_user, self.reg_item)
        m.user_bias.copy_(torch.from_numpy(bu))
        m.item_bias.copy_(torch.from_numpy(bi))
        err = self.residuals - bu[self.users] - bi[self.items]
        # the objective per rating, so that epochs on different data read alike
        return float((err @ err + self.reg_user * bu @ bu + self.reg_item * bi @ bi) / max(1, len(err)))

    def validate(self):
        return validate_ratings(self.validation, self.predict_fn)


class BaselineFamily(SeenRatings):
    kind = "baseline"
    task = "rating"
    train_space = "none"  # exact sweeps: no optimizer settings to draw

    def names(self) -> list[str]:
        return [BASELINE]

    def describe(self, name: str) -> str:
        return "Baseline predictor mu + b_u + b_i with shrunk biases, solved exactly (Koren 2010)"

    def train_defaults(self, name: str) -> dict:
        return dict(BASELINE_TRAIN_DEFAULTS)

    def search_patience(self, name: str) -> int:
        return BASELINE_TRAIN_DEFAULTS["patience"]

    def search_names(self, name: str) -> set[str]:
        return {f"{name}/{k}" for k in BASELINE_SEARCH}

    def search_params(self, name: str, hp, data) -> dict:
        return {k: hp.get(f"{name}/{k}", spec) for k, spec in BASELINE_SEARCH.items()}

    def _hparams(self, params: Mapping[str, Any]) -> dict:
        unknown = sorted(set(params) - set(BASELINE_SEARCH))
        if unknown:
            raise ConfigError(f"baseline has no hyperparameter {', '.join(map(repr, unknown))}; "
                              f"it has {', '.join(BASELINE_SEARCH)}")
        reg_user, reg_item = _regularisers(params)
        return {"reg_user": reg_user, "reg_item": reg_item}

    def build(self, name: str, params: Mapping[str, Any], train, device, seed: int = 0) -> FittedState:
        hparams = self._hparams(params)
        module = BiasModule(train.n_users, train.n_items, train.global_mean).to(device)
        return FittedState(module, hparams, {"seen": train.csr()})

    def adapter(self, state: FittedState, train, validation, cfg, predict_fn) -> BiasSweeps:
        return BiasSweeps(state.module, train, validation, predict_fn, state.hparams["reg_user"],
                          state.hparams["reg_item"])

    def predict(self, state: FittedState, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        m = state.module
        with torch.no_grad():
            out = m(torch.as_tensor(users, dtype=torch.long, device=m.mean.device),
                    torch.as_tensor(items, dtype=torch.long, device=m.mean.device))
        return out.cpu().numpy()

    def score_all_items(self, state: FittedState, user: int) -> np.ndarray:
        m = state.module
        return (m.mean + m.user_bias[user] + m.item_bias).cpu().numpy()

    def fold_in(self, state: FittedState, items: np.ndarray, ratings: np.ndarray, cfg):
        """A new user's bias, solved exactly from the history with the item biases fixed: what a
        training user's last half-sweep gives it."""
        items, ratings = check_history(items, ratings)
        m = state.module
        mean, item_bias = float(m.mean), m.item_bias.cpu().numpy()
        b_u = user_bias_from(ratings, mean + item_bias[items], state.hparams["reg_user"])

        def score(query):
            return mean + b_u + item_bias[np.asarray(query, dtype=np.int64)]
        return score

    def shapes(self, state: FittedState) -> dict:
        return {"n_users": len(state.module.user_bias), "n_items": len(state.module.item_bias)}

    def rebuild(self, name: str, hparams: dict, shapes: dict, tensors: dict, device) -> FittedState:
        n_users, n_items = int(shapes["n_users"]), int(shapes["n_items"])
        seen = self.seen_from(tensors, n_users, n_items)
        return FittedState(BiasModule(n_users, n_items).to(device), self._hparams(hparams), {"seen": seen})
