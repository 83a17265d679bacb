"""`Recommender`: one rating-prediction model behind a scikit-learn style face.

``Recommender(model="i-autorec", params={...}, train={...}).fit(train, validation)`` then
``predict(users, items)`` with ORIGINAL ids, ``recommend(user, n)``, ``save(dir)`` and
``Recommender.load(dir)`` (safetensors + JSON, no pickle).

The model *family* (:mod:`autorec.families`: AutoRec autoencoders, block models on rating
pairs) decides how the module is built, trained and queried; the estimator owns what is
common: id maps, the default rating for users/items unseen in training, clipping to the rating
scale, the training loop and the artifact.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from ..data import Interactions
from ..errors import ConfigError
from ..families import PairTargets, canonical_name, get_family
from ..io import ids_from_json, ids_to_json, read_model_folder, write_model_folder
from ..families.baselines import fallback_biases, user_bias_from
from ..families.fold_in import cannot_fold_in
from ..train.engine import History, TrainConfig, fit, resolve_device, seed_everything
from .base import FittedModelMixin, IdMapMixin, ParamsMixin, TopNMixin, history_pairs

FORMAT = "autorec-model"
FORMAT_VERSION = 1
DEFAULT_RATINGS = ("biases", "global_mean")


class Recommender(IdMapMixin, TopNMixin, FittedModelMixin, ParamsMixin):
    """A rating-prediction model with original-id input and a portable artifact.

    ``model``: a rating model name (``autorec models``); ``params``: its hyperparameters
    (the rest keep their defaults); ``train``: training settings (``TrainConfig`` keys);
    ``default_rating``: what to predict for a pair whose user or item has no training rating:
    ``"biases"`` (default: the training mean plus the shrunk bias of whichever of the two is
    known, Koren 2010's baseline predictor, so a known user's new item gets ``mu + b_u``),
    ``"global_mean"`` (the training mean for every such pair) or a number (the AutoRec paper
    uses 3); ``clip``: clip predictions to the training data's rating scale.
    """

    def __init__(
        self,
        model: str = "i-autorec",
        params: Mapping[str, Any] | None = None,
        train: TrainConfig | Mapping[str, Any] | None = None,
        default_rating: float | str = "biases",
        clip: bool = True,
    ) -> None:
        self.model = model
        self.params = params
        self.train = train
        self.default_rating = default_rating
        self.clip = clip

    # ------------------------------------------------------------------ fitting
    def _check_arguments(self) -> None:
        self.family_ = get_family(self.model, "rating")  # an unknown name says the closest one
        self.model_ = canonical_name(self.model, "rating")
        d = self.default_rating
        if not (d in DEFAULT_RATINGS or (isinstance(d, (int, float)) and not isinstance(d, bool))):
            raise ConfigError(f"default_rating must be 'biases', 'global_mean' or a number, got {d!r}")

    def fit(self, train: Interactions, validation: Interactions | None = None,
            on_epoch=None, deadline: float | None = None) -> "Recommender":
        """Train on ``train`` with early stopping on ``validation``; ``on_epoch(epoch, metrics)``
        runs after each validated epoch (the search reports to its pruner there); training
        ends at ``deadline`` (``time.monotonic()``) keeping the best epoch so far."""
        self._check_arguments()
        if train.implicit:
            raise ConfigError("this estimator predicts ratings; the data is implicit feedback")
        if len(train) == 0:
            raise ConfigError("cannot fit on an empty training set")
        cfg = TrainConfig.resolve(self.train, self.family_.train_defaults(self.model_))
        self.train_config_ = cfg
        self.device_ = resolve_device(cfg.device)
        seed_everything(cfg.seed)
        self.user_ids_ = train.user_ids
        self.item_ids_ = train.item_ids
        self.rating_scale_ = train.rating_scale
        self.global_mean_ = train.global_mean
        self.default_value_ = (self.global_mean_ if self.default_rating in DEFAULT_RATINGS
                               else float(self.default_rating))
        self.fallback_biases_ = fallback_biases(train) if self.default_rating == "biases" else None
        self.seen_users_ = train.user_counts() > 0
        self.seen_items_ = train.item_counts() > 0
        self.state_ = self.family_.build(self.model_, dict(self.params or {}), train, self.device_, seed=cfg.seed)
        val = None
        if validation is not None and len(validation):
            val = PairTargets(validation.users, validation.items, validation.ratings)
        adapter = self.family_.adapter(self.state_, train, val, cfg, self._predict_index_raw)
        t0 = time.perf_counter()
        self.history_: History = fit(adapter, cfg, on_epoch=on_epoch, deadline=deadline)
        self.fit_seconds_ = time.perf_counter() - t0
        self.state_.module.eval()
        return self

    # ------------------------------------------------------------------ prediction
    def _predict_index_raw(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predictions for index pairs: model output, default for unseen, clipped."""
        return self._predict_index_flagged(users, items)[0]

    def _predict_index_flagged(self, users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``_predict_index_raw`` and the fallback flag it was computed with."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        fallback = self._fallback_index(users, items)
        out = np.full(len(users), self.default_value_, dtype=np.float64)
        if fallback.any():
            out[fallback] = self._default_index(users[fallback], items[fallback])
        known = ~fallback
        if known.any():
            module = self.state_.module
            was_training = module.training
            if was_training:  # switching modes walks every submodule: only when needed
                module.eval()
            try:
                with torch.no_grad():
                    out[known] = self.family_.predict(self.state_, users[known], items[known])
            finally:
                if was_training:
                    module.train()
        if self.clip and self.rating_scale_ is not None:
            np.clip(out, self.rating_scale_[0], self.rating_scale_[1], out=out)
        return out, fallback

    def _default_index(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The default rating of index pairs the model does not answer (``default_rating``):
        with ``"biases"``, the mean plus the shrunk bias of the user and of the item where each
        has training ratings (an unknown id, -1, adds nothing)."""
        out = np.full(len(users), self.default_value_, dtype=np.float64)
        if self.fallback_biases_ is None:
            return out
        for ids, seen, bias in ((users, self.seen_users_, self.fallback_biases_[0]),
                                (items, self.seen_items_, self.fallback_biases_[1])):
            ids = np.asarray(ids, dtype=np.int64)
            known = _trained(ids, seen)
            out[known] += bias[ids[known]]
        return out

    def _fallback_index(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Where the default rating answers instead of the model: an id it does not know, or a
        user or item with no training ratings."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        return ~(_trained(users, self.seen_users_) & _trained(items, self.seen_items_))

    def fallback(self, users, items) -> np.ndarray:
        """Per pair of ORIGINAL ids, whether ``predict`` answers it with the default rating
        (``default_rating``) because the user or the item is unknown to the model."""
        self._check_fitted()
        return self._fallback_index(self._index("user", users), self._index("item", items))

    def predict_index(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings for pairs of user and item INDICES of the training id space."""
        self._check_fitted()
        return self._predict_index_raw(users, items)

    def predict(self, users=None, items=None, return_fallback: bool = False, history=None):
        """Predicted ratings for pairs of ORIGINAL user and item ids.  Unknown ids get the
        default rating; ``return_fallback=True`` returns ``(predictions, fallback)`` where
        ``fallback[k]`` says that row ``k`` is the default, not the model's.

        ``predict(history={item: rating, ...}, items=[...])`` predicts for a user who is not in
        the training data, folded in from that history (see :mod:`autorec.families.fold_in`)."""
        self._check_fitted()
        if history is not None:
            if users is not None:
                raise ConfigError("pass users or a history, not both")
            if items is None:
                raise ConfigError("pass the items to predict for the folded-in user")
            predict_items = self._folded(history)[0]
            pred, fallback = predict_items(self._index("item", items))
            return (pred, fallback) if return_fallback else pred
        if users is None or items is None:
            raise ConfigError("pass users and items (original ids, one of each per pair)")
        u = self._index("user", users)
        i = self._index("item", items)
        if len(u) != len(i):
            raise ConfigError(f"users and items differ in length ({len(u)} vs {len(i)})")
        pred, fallback = self._predict_index_flagged(u, i)
        return (pred, fallback) if return_fallback else pred

    def _folded(self, history):
        """For a history of original ids: a function of item indices -> (clipped predictions,
        fallback flags) for the folded-in user, and the history's known item indices.  Items the
        model does not know are left out of the history (they carry nothing it could use)."""
        items, ratings = history_pairs(history)
        idx = self._index("item", items)
        known = _trained(idx, self.seen_items_)
        if not known.any():
            raise ConfigError(f"none of the history's {len(idx)} items is in this model's training data, "
                              "so there is nothing to fold in")
        fold_in = getattr(self.family_, "fold_in", None)
        if fold_in is None:
            raise cannot_fold_in(self.model_, "its family does not support it")
        was_training = self.state_.module.training
        try:
            score = fold_in(self.state_, idx[known], ratings[known], self.train_config_)
        finally:
            self.state_.module.train(was_training)

        default = self.default_value_
        if self.fallback_biases_ is not None:  # the new user's own shrunk bias, from the same history
            default += user_bias_from(ratings[known], self.default_value_ + self.fallback_biases_[1][idx[known]])

        def predict_items(query: np.ndarray):
            query = np.asarray(query, dtype=np.int64)
            out = np.full(len(query), default, dtype=np.float64)
            ok = _trained(query, self.seen_items_)
            if ok.any():
                out[ok] = score(query[ok])
            if self.clip and self.rating_scale_ is not None:
                np.clip(out, self.rating_scale_[0], self.rating_scale_[1], out=out)
            return out, ~ok
        return predict_items, idx[known]

    def _history_scores(self, history):
        predict_items, seen = self._folded(history)
        return predict_items(np.arange(len(self.item_ids_)))[0], seen

    def score_items(self, user_index: int) -> np.ndarray:
        """Predicted rating of every item for one user (by index)."""
        fast = getattr(self.family_, "score_all_items", None)
        raw = fast(self.state_, int(user_index)) if fast is not None and self.seen_users_[user_index] else None
        if raw is None:
            items = np.arange(len(self.item_ids_))
            return self._predict_index_raw(np.full(len(items), user_index), items)
        cold = np.flatnonzero(~self.seen_items_)  # what _predict_index_raw does per pair
        out = np.array(raw, dtype=np.float64)
        out[cold] = self._default_index(np.full(len(cold), user_index), cold)
        if self.clip and self.rating_scale_ is not None:
            np.clip(out, self.rating_scale_[0], self.rating_scale_[1], out=out)
        return out

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """Predicted ratings of every item for each user index, in one pass over the grid."""
        user_indices = np.asarray(user_indices, dtype=np.int64)
        n_items = len(self.item_ids_)
        users = np.repeat(user_indices, n_items)
        items = np.tile(np.arange(n_items), len(user_indices))
        return self._predict_index_raw(users, items).reshape(len(user_indices), n_items)

    def item_popularity(self) -> np.ndarray:
        """Training ratings per item (the fallback ranking's order)."""
        self._check_fitted()
        return self.family_.item_counts(self.state_)

    def seen_item_indices(self, user_index: int) -> np.ndarray:
        """Indices of the items the user rated in training (what ``recommend`` leaves out)."""
        return self.family_.seen_items(self.state_, user_index)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to the folder ``path`` (weights.safetensors + meta.json)."""
        self._check_fitted()
        state = self.state_
        tensors = {f"module.{k}": v for k, v in state.module.state_dict().items()}
        tensors.update(self.family_.extra_tensors(state))
        tensors["seen.users"] = torch.from_numpy(self.seen_users_.astype(np.uint8))
        tensors["seen.items"] = torch.from_numpy(self.seen_items_.astype(np.uint8))
        if self.fallback_biases_ is not None:
            tensors["fallback.user_bias"] = torch.from_numpy(self.fallback_biases_[0])
            tensors["fallback.item_bias"] = torch.from_numpy(self.fallback_biases_[1])
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": self.model_,
            "family": self.family_.kind,
            "hparams": state.hparams,
            "shapes": self.family_.shapes(state),
            "train": asdict(self.train_config_),
            "rating_scale": list(self.rating_scale_) if self.rating_scale_ is not None else None,
            "global_mean": self.global_mean_,
            "default_rating": self.default_rating,
            "default_value": self.default_value_,
            "clip": self.clip,
            "user_ids": ids_to_json(self.user_ids_),
            "item_ids": ids_to_json(self.item_ids_),
        }
        return write_model_folder(Path(path), tensors, meta)

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        """A saved model, from its folder or a run folder holding ``model/``."""
        folder = read_model_folder(path, formats=[FORMAT], versions={FORMAT: FORMAT_VERSION})
        meta, tensors = folder.meta, folder.tensors
        folder.require("model", "hparams", "shapes", "train", "rating_scale", "global_mean",
                       "default_rating", "default_value", "clip", "user_ids", "item_ids")
        folder.require_tensors("seen.users", "seen.items")
        rec = cls(model=meta["model"], params=None, train=meta["train"],
                  default_rating=meta["default_rating"], clip=meta["clip"])
        rec._check_arguments()
        rec.train_config_ = TrainConfig.resolve(meta["train"])
        rec.device_ = resolve_device("auto" if meta["train"].get("device") == "auto" else "cpu")
        module_state = {k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")}
        try:
            state = rec.family_.rebuild(rec.model_, meta["hparams"], meta["shapes"], tensors, rec.device_)
            state.module.load_state_dict(module_state)
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:  # missing, unexpected or mis-shaped
            raise ConfigError(f"{folder.path}: the weights do not fit the recorded model "
                              f"{meta['model']!r} ({(str(exc).splitlines() or [type(exc).__name__])[0]})") from None
        state.module.eval()
        rec.state_ = state
        rec.user_ids_ = ids_from_json(meta["user_ids"])
        rec.item_ids_ = ids_from_json(meta["item_ids"])
        rec.rating_scale_ = tuple(meta["rating_scale"]) if meta["rating_scale"] is not None else None
        rec.global_mean_ = meta["global_mean"]
        rec.default_value_ = meta["default_value"]
        rec.seen_users_ = tensors["seen.users"].numpy().astype(bool)
        rec.seen_items_ = tensors["seen.items"].numpy().astype(bool)
        rec.fallback_biases_ = None
        if meta["default_rating"] == "biases":
            folder.require_tensors("fallback.user_bias", "fallback.item_bias")
            rec.fallback_biases_ = (tensors["fallback.user_bias"].numpy().astype(np.float64),
                                    tensors["fallback.item_bias"].numpy().astype(np.float64))
        rec.meta_ = meta
        _check_invariants(folder.path / "meta.json", rec)
        return rec


def _trained(ids: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Per index: a known id (not -1) with training ratings (``seen``, a mask by index)."""
    known = ids >= 0
    known[known] = seen[ids[known]]
    return known


def _check_invariants(meta_file: Path, rec: "Recommender") -> None:
    """What prediction relies on and an edit could break silently: unique ids, one id per row
    of the user and item tables, a valid rating scale, finite defaults."""
    import math

    for what, ids, seen in (("user", rec.user_ids_, rec.seen_users_), ("item", rec.item_ids_, rec.seen_items_)):
        if len(set(ids.tolist())) != len(ids):
            raise ConfigError(f"{meta_file}: {what}_ids holds the same id twice")
        if len(seen) != len(ids):
            raise ConfigError(f"{meta_file}: {len(ids):,} {what} ids for a model trained on {len(seen):,} {what}s")
    scale = rec.rating_scale_
    if scale is not None and not (len(scale) == 2 and all(isinstance(v, (int, float)) and math.isfinite(v)
                                                         for v in scale) and scale[0] < scale[1]):
        raise ConfigError(f"{meta_file}: rating_scale must be [low, high] with low < high, got {list(scale)}")
    biases = rec.fallback_biases_
    if biases is not None:
        for what, ids, bias in (("user", rec.user_ids_, biases[0]), ("item", rec.item_ids_, biases[1])):
            if len(bias) != len(ids) or not np.isfinite(bias).all():
                raise ConfigError(f"{meta_file}: fallback.{what}_bias must hold one finite bias per {what} "
                                  f"({len(ids):,}), got {len(bias):,} values")
    for key in ("global_mean", "default_value"):
        value = getattr(rec, f"{key}_")
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{meta_file}: {key} must be a finite number, got {value!r}")
