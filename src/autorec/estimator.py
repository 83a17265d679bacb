"""`Recommender`: one trainable model behind a scikit-learn style face.

``Recommender(model="i-autorec", params={...}, train={...}).fit(train, validation)`` then
``predict(users, items)`` with ORIGINAL ids, ``recommend(user, n)``, ``save(dir)`` and
``Recommender.load(dir)`` (safetensors + JSON, no pickle).

The model *family* (AutoRec autoencoders, block models on rating pairs) decides how the
module is built, trained and queried; the estimator owns what is common: id maps, the
default rating for users/items unseen in training, clipping to the rating scale, the
training loop and the artifact.
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from .data import Interactions
from .data.interactions import id_lookup, map_ids
from .errors import ConfigError
from .train.engine import History, TrainConfig, fit, resolve_device, seed_everything
from .train.tasks import PairTargets


def _train_config(train: TrainConfig | Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> TrainConfig:
    if isinstance(train, TrainConfig):
        return train
    values = dict(defaults)
    values.update(train or {})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown training setting(s) {unknown}; known: {sorted(known)}")
    return TrainConfig(**values)


class Recommender:
    """A rating-prediction model with original-id input and a portable artifact.

    ``default_rating``: what to predict for a user or item with no training rating:
    ``"global_mean"`` (default) or a number (the AutoRec paper uses 3).
    """

    def __init__(
        self,
        model: str = "i-autorec",
        params: Mapping[str, Any] | None = None,
        train: TrainConfig | Mapping[str, Any] | None = None,
        default_rating: float | str = "global_mean",
        clip: bool = True,
    ) -> None:
        from .models.registry import get_family

        self.model = model
        self.params = dict(params or {})
        self.train = train
        self.default_rating = default_rating
        self.clip = clip
        self.family = get_family(model)  # fails early on an unknown model name
        if not (default_rating == "global_mean" or isinstance(default_rating, (int, float))):
            raise ConfigError(f"default_rating must be 'global_mean' or a number, got {default_rating!r}")

    # ------------------------------------------------------------------ fitting
    def fit(self, train: Interactions, validation: Interactions | None = None,
            on_epoch=None) -> "Recommender":
        """Train on ``train`` with early stopping on ``validation``; ``on_epoch(epoch, metrics)``
        runs after each validated epoch (the search reports to its pruner there)."""
        if train.implicit:
            raise ConfigError("this estimator predicts ratings; the data is implicit feedback")
        if len(train) == 0:
            raise ConfigError("cannot fit on an empty training set")
        cfg = _train_config(self.train, self.family.train_defaults(self.model))
        self.train_config_ = cfg
        self.device_ = resolve_device(cfg.device)
        seed_everything(cfg.seed)
        self.user_ids_ = train.user_ids
        self.item_ids_ = train.item_ids
        self.rating_scale_ = train.rating_scale
        self.global_mean_ = train.global_mean
        self.default_value_ = (self.global_mean_ if self.default_rating == "global_mean"
                               else float(self.default_rating))
        self.seen_users_ = train.user_counts() > 0
        self.seen_items_ = train.item_counts() > 0
        self.state_ = self.family.build(self.model, self.params, train, self.device_, seed=cfg.seed)
        val = None
        if validation is not None and len(validation):
            val = PairTargets(validation.users, validation.items, validation.ratings)
        task = self.family.task(self.state_, train, val, cfg, self._predict_index_raw)
        t0 = time.perf_counter()
        self.history_: History = fit(task, cfg, on_epoch=on_epoch)
        self.fit_seconds_ = time.perf_counter() - t0
        self.state_.module.eval()
        return self

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "state_"):
            raise ConfigError("this Recommender is not fitted yet: call fit() or Recommender.load()")

    def _predict_index_raw(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predictions for index pairs: model output, default for unseen, clipped."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        out = np.full(len(users), self.default_value_, dtype=np.float64)
        known = (users >= 0) & (items >= 0)
        known[known] = self.seen_users_[users[known]] & self.seen_items_[items[known]]
        if known.any():
            was_training = self.state_.module.training
            self.state_.module.eval()
            with torch.no_grad():
                out[known] = self.family.predict(self.state_, users[known], items[known])
            self.state_.module.train(was_training)
        if self.clip and self.rating_scale_ is not None:
            np.clip(out, self.rating_scale_[0], self.rating_scale_[1], out=out)
        return out

    def _index(self, kind: str, query) -> np.ndarray:
        """Indices of original ids (-1 where unknown); the id -> index dict is built once."""
        cache = self.__dict__.setdefault("_id_maps", {})
        if kind not in cache:
            cache[kind] = id_lookup(self.user_ids_ if kind == "user" else self.item_ids_)
        return map_ids(cache[kind], query)

    def predict_index(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return self._predict_index_raw(users, items)

    def predict(self, users, items) -> np.ndarray:
        """Predicted ratings for pairs of ORIGINAL user and item ids (unknown ids get the default)."""
        self._check_fitted()
        u = self._index("user", users)
        i = self._index("item", items)
        if len(u) != len(i):
            raise ConfigError(f"users and items differ in length ({len(u)} vs {len(i)})")
        return self._predict_index_raw(u, i)

    def score_items(self, user_index: int) -> np.ndarray:
        """Predicted rating of every item for one user (by index)."""
        items = np.arange(len(self.item_ids_))
        return self._predict_index_raw(np.full(len(items), user_index), items)

    def recommend(self, user, n: int = 10, exclude: np.ndarray | None = None) -> list[tuple[Any, float]]:
        """Top-``n`` (item id, predicted rating) for one ORIGINAL user id, best first, excluding
        the user's training items (stored in the model) and any ``exclude`` item ids."""
        self._check_fitted()
        u = int(self._index("user", [user])[0])
        if u < 0:
            raise ConfigError(f"unknown user id {user!r}")
        scores = self.score_items(u)
        seen = self.family.seen_items(self.state_, u)
        scores[seen] = -np.inf
        if exclude is not None:
            ex = self._index("item", exclude)
            scores[ex[ex >= 0]] = -np.inf
        n = min(n, int(np.isfinite(scores).sum()))
        top = np.argsort(-scores, kind="stable")[:n]
        return [(self.item_ids_[j].item() if hasattr(self.item_ids_[j], "item") else self.item_ids_[j],
                 float(scores[j])) for j in top]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        from .artifact import save_recommender

        self._check_fitted()
        return save_recommender(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        from .artifact import load_recommender

        return load_recommender(Path(path))

    def get_params(self) -> dict:
        cfg = getattr(self, "train_config_", None)
        return {
            "model": self.model,
            "params": dict(self.params),
            "resolved": dict(getattr(self, "state_", None).hparams) if hasattr(self, "state_") else {},
            "train": asdict(cfg) if cfg is not None else dict(self.train or {}),
            "default_rating": self.default_rating,
        }
