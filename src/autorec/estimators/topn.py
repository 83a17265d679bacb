"""`TopNModel`: top-N recommendation from implicit feedback (or ratings turned into positives),
with the closed-form models of :mod:`autorec.families.topn` (popularity, ItemKNN, EASE).

``TopNModel("ease").fit(train)`` then ``recommend(user, k)``, ``recommend_batch(users, k)``,
``recommend(history=[item, ...], k)`` for a user outside the training data (natively: the
history is the user's row), ``evaluate(test, k)`` (full ranking, training items excluded),
``save``/``TopNModel.load`` (safetensors + JSON, no pickle).  An unknown user gets the most
popular items, flagged as the fallback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from ..data import Interactions
from ..errors import ConfigError
from ..families.topn import TOPN_DESCRIPTIONS, TopNState, check_params, fit_topn
from ..io import ids_from_json, ids_to_json, read_model_folder, write_model_folder
from ..metrics.ranking import ranking_metrics
from ..train.engine import History, TrainConfig
from .base import IdMapMixin, ParamsMixin, TopNMixin

FORMAT = "autorec-topn-model"
FORMAT_VERSION = 1


class TopNModel(IdMapMixin, TopNMixin, ParamsMixin):
    """``model``: ``popularity``, ``itemknn`` or ``ease``; ``params``: its hyperparameters;
    ``positive``: None (every interaction is a positive) or a threshold (ratings >= it)."""

    def __init__(self, model: str = "ease", params: Mapping[str, Any] | None = None,
                 positive: float | None = None) -> None:
        self.model = model
        self.params = params
        self.positive = positive

    # ------------------------------------------------------------------ fitting
    def _positives(self, data: Interactions) -> sp.csr_matrix:
        keep = np.ones(len(data), dtype=bool) if self.positive is None else data.ratings >= float(self.positive)
        return sp.csr_matrix((np.ones(int(keep.sum())), (data.users[keep], data.items[keep])),
                             shape=(data.n_users, data.n_items))

    def fit(self, train: Interactions, validation: Interactions | None = None) -> "TopNModel":
        """Solve the model on ``train``'s positives (closed form: ``validation`` is not used)."""
        name = str(self.model).strip().lower()
        check_params(name, self.params)
        if self.positive is not None and not isinstance(self.positive, (int, float)):
            raise ConfigError(f"positive must be None or a rating threshold, got {self.positive!r}")
        if len(train) == 0:
            raise ConfigError("cannot fit on an empty training set")
        x = self._positives(train)
        if x.nnz == 0:
            raise ConfigError(f"no training interaction is a positive (ratings >= {self.positive})")
        t0 = time.perf_counter()
        self.state_ = fit_topn(name, self.params, x)
        self.fit_seconds_ = time.perf_counter() - t0
        self._closed_form_record()
        self.model_ = name
        self.user_ids_, self.item_ids_ = train.user_ids, train.item_ids
        self.history_matrix_ = x.tocsr()  # what scores a user: its positives
        seen = train.csr()
        self.seen_ = sp.csr_matrix((np.ones(seen.nnz), seen.indices, seen.indptr), shape=seen.shape)
        self.seen_users_ = np.diff(self.seen_.indptr) > 0
        return self

    def _closed_form_record(self) -> None:
        # what a run folder records of training: a closed-form solve has no epochs and no
        # training settings
        self.history_ = History(metric="ndcg@20", seconds=self.fit_seconds_)
        self.train_config_ = TrainConfig()

    def _check_fitted(self) -> None:
        if not hasattr(self, "state_"):
            raise ConfigError("this TopNModel is not fitted yet: call fit() or TopNModel.load()")

    @property
    def hparams_(self) -> dict:
        self._check_fitted()
        return dict(self.state_.params)

    # ------------------------------------------------------------------ what TopNMixin needs
    def score_users(self, user_indices) -> np.ndarray:
        """Scores of every item for each user index (its training positives times B)."""
        return self.state_.scores(self.history_matrix_[np.asarray(user_indices, dtype=np.int64)])

    def score_items(self, user_index: int) -> np.ndarray:
        return self.score_users([user_index])[0]

    def seen_item_indices(self, user_index: int) -> np.ndarray:
        m = self.seen_
        return m.indices[m.indptr[user_index]:m.indptr[user_index + 1]]

    def item_popularity(self) -> np.ndarray:
        return self.state_.popularity

    def _fallback_scores(self) -> np.ndarray:
        return self.state_.popularity.astype(np.float64)

    def _history_scores(self, history) -> tuple[np.ndarray, np.ndarray]:
        """A new user's scores from a history: a list of item ids (each a positive), or
        ``{item: rating}`` (positives by ``positive``, all when it is None)."""
        if isinstance(history, Mapping):
            items = [i for i, r in history.items() if self.positive is None or float(r) >= float(self.positive)]
        else:
            items = list(history)
        idx = self._index("item", items)
        idx = np.unique(idx[idx >= 0])
        if idx.size == 0:
            raise ConfigError(f"none of the history's {len(items)} items is in this model's training data, "
                              "so there is nothing to fold in")
        row = sp.csr_matrix((np.ones(idx.size), (np.zeros(idx.size, dtype=np.int64), idx)),
                            shape=(1, len(self.item_ids_)))
        return self.state_.scores(row)[0], idx

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, test: Interactions, k: int | Sequence[int] = (10, 20, 50, 100),
                 batch_size: int | None = None) -> dict[str, float]:
        """Full-ranking metrics on ``test`` (one id space with the training data): every item
        ranked, each user's training items excluded; test positives by ``positive``."""
        self._check_fitted()
        if test.n_items != len(self.item_ids_) or test.n_users != len(self.user_ids_):
            raise ConfigError("test must share the training data's id space (parts of one split)")
        return ranking_metrics(self.score_users, self.seen_, test, k=k, batch_size=batch_size,
                               relevance_threshold=None if self.positive is None else float(self.positive))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        st = self.state_
        tensors = {"popularity": torch.from_numpy(st.popularity.astype(np.float64))}
        for prefix, m in (("history", self.history_matrix_), ("seen", self.seen_)):
            tensors[f"{prefix}.indptr"] = torch.from_numpy(m.indptr.astype(np.int64))
            tensors[f"{prefix}.indices"] = torch.from_numpy(m.indices.astype(np.int64))
        if st.dense is not None:
            tensors["b.dense"] = torch.from_numpy(np.ascontiguousarray(st.dense, dtype=np.float64))
        if st.sparse is not None:
            tensors["b.indptr"] = torch.from_numpy(st.sparse.indptr.astype(np.int64))
            tensors["b.indices"] = torch.from_numpy(st.sparse.indices.astype(np.int64))
            tensors["b.data"] = torch.from_numpy(st.sparse.data.astype(np.float64))
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": self.model_,
                "hparams": st.params, "positive": self.positive, "fit_seconds": self.fit_seconds_,
                "user_ids": ids_to_json(self.user_ids_), "item_ids": ids_to_json(self.item_ids_)}
        return write_model_folder(Path(path), tensors, meta)

    @classmethod
    def load(cls, path: str | Path) -> "TopNModel":
        folder = read_model_folder(path, formats=[FORMAT], versions={FORMAT: FORMAT_VERSION})
        meta, t = folder.meta, folder.tensors
        folder.require("model", "hparams", "positive", "user_ids", "item_ids")
        folder.require_tensors("popularity", "history.indptr", "history.indices", "seen.indptr", "seen.indices")
        obj = cls(meta["model"], params=meta["hparams"], positive=meta["positive"])
        obj.model_ = meta["model"]
        obj.user_ids_, obj.item_ids_ = ids_from_json(meta["user_ids"]), ids_from_json(meta["item_ids"])
        shape = (len(obj.user_ids_), len(obj.item_ids_))

        def csr(prefix):
            indptr, indices = t[f"{prefix}.indptr"].numpy(), t[f"{prefix}.indices"].numpy()
            if len(indptr) != shape[0] + 1 or (indices.size and indices.max() >= shape[1]):
                raise ConfigError(f"{folder.path}: {prefix} does not fit {shape[0]:,} users x {shape[1]:,} items")
            return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=shape)

        obj.history_matrix_, obj.seen_ = csr("history"), csr("seen")
        obj.seen_users_ = np.diff(obj.seen_.indptr) > 0
        n = shape[1]
        dense = t["b.dense"].numpy() if "b.dense" in t else None
        sparse = None
        if "b.indptr" in t:
            sparse = sp.csr_matrix((t["b.data"].numpy(), t["b.indices"].numpy(), t["b.indptr"].numpy()), shape=(n, n))
        if (dense is not None and dense.shape != (n, n)) or len(t["popularity"]) != n:
            raise ConfigError(f"{folder.path}: the model's matrices do not fit its {n:,} items")
        obj.state_ = TopNState(obj.model_, dict(meta["hparams"]), t["popularity"].numpy(), dense=dense, sparse=sparse)
        obj.fit_seconds_ = meta.get("fit_seconds", 0.0)
        obj._closed_form_record()
        return obj


def topn_model_names() -> dict[str, str]:
    return dict(TOPN_DESCRIPTIONS)
