"""`TopNModel`: top-N recommendation from implicit feedback (or ratings turned into positives),
with the closed-form models of :mod:`autorec.families.topn` (popularity, ItemKNN, EASE) and
the factor models of :mod:`autorec.families.factors` (iALS, BPR-MF; trained by the shared
engine with early stopping on validation NDCG@20).

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
from ..families import factors, lightgcn, multvae, ranking_blocks
from ..families.graph_filters import GRAPH_FILTERS
from ..families.multvae import VAE_DEFAULTS
from ..families.topn import TOPN_DESCRIPTIONS, TopNFamily, TopNState, check_params, fit_topn, is_factored
from ..io import ids_from_json, ids_to_json, read_model_folder, write_model_folder
from ..metrics.ranking import ranking_metrics
from ..train.engine import History, TrainConfig
from ..train.engine import fit as engine_fit
from .base import IdMapMixin, ParamsMixin, TopNMixin

FORMAT = "autorec-topn-model"
FORMAT_VERSION = 1


class TopNModel(IdMapMixin, TopNMixin, ParamsMixin):
    """``model``: ``popularity``, ``itemknn``, ``ease``, ``ials``, ``bpr``, ``mult-vae`` or
    ``mult-dae``; ``params``: its
    hyperparameters; ``positive``: None (every interaction is a positive) or a threshold
    (ratings >= it); ``train``: training settings of the models trained by epochs
    (`TrainConfig` keys: ``max_epochs``, ``patience``, ``lr``, ``batch_size``, ``seed``, ...)."""

    def __init__(self, model: str = "ease", params: Mapping[str, Any] | None = None,
                 positive: float | None = None, train: Mapping[str, Any] | TrainConfig | None = None) -> None:
        self.model = model
        self.params = params
        self.positive = positive
        self.train = train

    # ------------------------------------------------------------------ fitting
    def _positives(self, data: Interactions) -> sp.csr_matrix:
        keep = np.ones(len(data), dtype=bool) if self.positive is None else data.ratings >= float(self.positive)
        return sp.csr_matrix((np.ones(int(keep.sum())), (data.users[keep], data.items[keep])),
                             shape=(data.n_users, data.n_items))

    def fit(self, train: Interactions, validation: Interactions | None = None, on_epoch=None,
            deadline: float | None = None, validation_fold_in: Interactions | None = None) -> "TopNModel":
        """Fit on ``train``'s positives.  The closed forms are solved (``validation`` unused);
        iALS, BPR and the autoencoders train by epochs, stopping early on ``validation``'s
        NDCG@20 when given (``on_epoch`` and ``deadline`` as in :meth:`autorec.Recommender.fit`).
        ``validation_fold_in``: the validation users' histories when they are not in ``train``
        (strong generalisation); each epoch folds them in before ranking."""
        name = str(self.model).strip().lower()
        values = check_params(name, self.params)
        if self.positive is not None and not isinstance(self.positive, (int, float)):
            raise ConfigError(f"positive must be None or a rating threshold, got {self.positive!r}")
        if len(train) == 0:
            raise ConfigError("cannot fit on an empty training set")
        x = self._positives(train)
        if x.nnz == 0:
            raise ConfigError(f"no training interaction is a positive (ratings >= {self.positive})")
        t0 = time.perf_counter()
        if is_factored(name):
            self._fit_factors(name, values, x, validation, on_epoch, deadline, validation_fold_in)
        else:
            if self.train:  # a closed form has no epochs: a setting given here would be ignored
                TrainConfig.resolve(self.train)
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

    def _fit_factors(self, name, values, x, validation, on_epoch, deadline, validation_fold_in=None) -> None:
        defaults = TopNFamily().train_defaults(name)
        if name in VAE_DEFAULTS:  # I-AutoRec's examples are the items
            defaults["batch_size"] = multvae.default_batch_size(x.T if name in multvae.ITEM_AUTOENCODERS else x)
        cfg = TrainConfig.resolve(self.train, defaults)
        if cfg.device not in ("auto", "cpu"):
            raise ConfigError(f"{name} trains on the CPU here; device {cfg.device!r} is not supported for it yet")
        val = None
        if validation is not None and len(validation):
            if validation.n_users != x.shape[0] or validation.n_items != x.shape[1]:
                raise ConfigError("validation must share the training data's id space (parts of one split)")
            val = self._positives(validation)
        fold = None
        if val is not None and validation_fold_in is not None:
            seen = validation_fold_in.csr()
            fold = (self._positives(validation_fold_in),
                    sp.csr_matrix((np.ones(seen.nnz), seen.indices, seen.indptr), shape=seen.shape))
        popularity = np.asarray(x.sum(axis=0)).ravel()
        if name == "ials":  # the unobserved weight for this catalogue, recorded with the model
            values = {**values, "alpha0": factors.ials_alpha0(values, x)}
        blocks = name in ranking_blocks.BLOCK_RANKING_MODELS
        if name in VAE_DEFAULTS:
            module = multvae.new_module(name, values, x.shape[1], cfg.seed, n_users=x.shape[0])
            adapter = multvae.MultVAEAdapter(name, module, x, val, values, cfg.seed, fold_in=fold)
        elif name == "lightgcn":
            module = lightgcn.LightGCN(lightgcn.normalised_graph(x), x.shape[0], values["dim"], values["layers"],
                                       values["init_std"], cfg.seed)
            adapter = lightgcn.LightGCNAdapter(module, x, val, values, cfg.seed, fold_in=fold)
        elif blocks:
            ranking, block = ranking_blocks.split_params(name, values)
            module = ranking_blocks.new_module(name, block, x.shape[0], x.shape[1], cfg.seed)
            adapter = ranking_blocks.BlockRankingAdapter(module, x, val, ranking, cfg.seed, fold_in=fold)
        else:
            module = factors.new_module(name, values, x.shape[0], x.shape[1], cfg.seed)
            adapter = factors.adapter(name, module, x, val, values, cfg.seed, fold_in=fold)
        self.history_ = engine_fit(adapter, cfg, on_epoch=on_epoch, deadline=deadline)
        self.train_config_ = cfg
        self.fit_seconds_ = self.history_.seconds
        if name in VAE_DEFAULTS:
            self.state_ = TopNState(name, values, popularity, network=module.eval())
        elif name == "lightgcn":  # what scores need: the final (propagated) embeddings
            with torch.no_grad():
                users, items = module.propagate()
            self.state_ = TopNState(name, values, popularity, user=users.numpy().copy(), item=items.numpy().copy())
        elif blocks:  # every architecture value recorded, so a load rebuilds the same graph
            self.state_ = TopNState(name, {**ranking, **block, **module.hp_values}, popularity, blocks=module.eval())
        else:
            user, item = module.factor_tables()
            self.state_ = TopNState(name, values, popularity, user=user, item=item)

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
        """Scores of every item for each user index (its positives times B, or w_u . h_i)."""
        return self.state_.score_users(np.asarray(user_indices, dtype=np.int64), self.history_matrix_)

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
        return self.state_.fold_in(idx), idx

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, test: Interactions, k: int | Sequence[int] = (10, 20, 50, 100),
                 batch_size: int | None = None, fold_in: Interactions | None = None) -> dict[str, float]:
        """Full-ranking metrics on ``test`` (one id space with the training data): every item
        ranked, each user's training items excluded; test positives by ``positive``.  With
        ``fold_in`` (strong generalisation: the test users' other interactions) each user is
        folded in from its positives there and ranked with those items excluded."""
        self._check_fitted()
        for part in (test, fold_in):
            if part is not None and (part.n_items != len(self.item_ids_) or part.n_users != len(self.user_ids_)):
                raise ConfigError("test must share the training data's id space (parts of one split)")
        seen, scores = (self.seen_, self.score_users) if fold_in is None else self.fold_in_scorer(fold_in)
        return ranking_metrics(scores, seen, test, k=k, batch_size=batch_size,
                               relevance_threshold=None if self.positive is None else float(self.positive))

    def fold_in_scorer(self, fold_in: Interactions):
        """(the fold-in items as a users x items matrix, ``scores(users)`` from their positives)."""
        history = self._positives(fold_in)
        seen = fold_in.csr()
        seen = sp.csr_matrix((np.ones(seen.nnz), seen.indices, seen.indptr), shape=seen.shape)
        return seen, lambda users: self.state_.score_histories(history[np.asarray(users, dtype=np.int64)])

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
        if st.norm is not None:
            tensors["gfcf.norm.indptr"] = torch.from_numpy(st.norm.indptr.astype(np.int64))
            tensors["gfcf.norm.indices"] = torch.from_numpy(st.norm.indices.astype(np.int64))
            tensors["gfcf.norm.data"] = torch.from_numpy(st.norm.data.astype(np.float64))
            tensors["gfcf.lowpass_in"] = torch.from_numpy(st.lowpass_in)
            tensors["gfcf.lowpass_out"] = torch.from_numpy(st.lowpass_out)
        if st.network is not None:
            tensors.update({f"net.{k}": v for k, v in st.network.state_dict().items()})
        if st.blocks is not None:
            tensors.update({f"blocks.{k}": v for k, v in st.blocks.state_dict().items()})
        if st.factored:
            tensors["factors.user"] = torch.from_numpy(np.ascontiguousarray(st.user))
            tensors["factors.item"] = torch.from_numpy(np.ascontiguousarray(st.item))
        if st.sparse is not None:
            tensors["b.indptr"] = torch.from_numpy(st.sparse.indptr.astype(np.int64))
            tensors["b.indices"] = torch.from_numpy(st.sparse.indices.astype(np.int64))
            tensors["b.data"] = torch.from_numpy(st.sparse.data.astype(np.float64))
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": self.model_,
                "hparams": st.params, "positive": self.positive, "fit_seconds": self.fit_seconds_,
                "history": self.history_.to_dict(), "train_config": self.train_config_.to_dict(),
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
        user = t["factors.user"].numpy() if "factors.user" in t else None
        item = t["factors.item"].numpy() if "factors.item" in t else None
        if (obj.model_ in factors.FACTOR_DEFAULTS or obj.model_ == "lightgcn") and (user is None or item is None):
            raise ConfigError(f"{folder.path}: a {obj.model_} model needs its factor tensors")
        if ((dense is not None and dense.shape != (n, n)) or len(t["popularity"]) != n
                or (item is not None and (item.shape[0] != n or user.shape != (shape[0], item.shape[1])))):
            raise ConfigError(f"{folder.path}: the model's matrices do not fit its {shape[0]:,} users x {n:,} items")
        network = None
        if obj.model_ in VAE_DEFAULTS:
            weights = {k[len("net."):]: v for k, v in t.items() if k.startswith("net.")}
            network = multvae.new_module(obj.model_, meta["hparams"], n, 0, n_users=shape[0])
            try:
                network.load_state_dict(weights)
            except RuntimeError as exc:
                raise ConfigError(f"{folder.path}: the {obj.model_} weights do not fit its {n:,} items: "
                                  f"{str(exc).splitlines()[0]}") from None
            network.eval()
        blocks = None
        if obj.model_ in ranking_blocks.BLOCK_RANKING_MODELS:
            _, block = ranking_blocks.split_params(obj.model_, meta["hparams"])
            blocks = ranking_blocks.new_module(obj.model_, block, shape[0], n, 0, fixed=True)
            try:
                blocks.load_state_dict({k[len("blocks."):]: v for k, v in t.items() if k.startswith("blocks.")})
            except RuntimeError as exc:
                raise ConfigError(f"{folder.path}: the {obj.model_} weights do not fit its "
                                  f"{shape[0]:,} users x {n:,} items: {str(exc).splitlines()[0]}") from None
            blocks.eval()
        gfcf = {}
        if obj.model_ in GRAPH_FILTERS:
            folder.require_tensors("gfcf.norm.indptr", "gfcf.norm.indices", "gfcf.norm.data", "gfcf.lowpass_in",
                                   "gfcf.lowpass_out")
            gfcf["norm"] = sp.csr_matrix((t["gfcf.norm.data"].numpy(), t["gfcf.norm.indices"].numpy(),
                                          t["gfcf.norm.indptr"].numpy()), shape=shape)
            gfcf["lowpass_in"], gfcf["lowpass_out"] = t["gfcf.lowpass_in"].numpy(), t["gfcf.lowpass_out"].numpy()
            if gfcf["lowpass_in"].shape[0] != n or gfcf["lowpass_out"].shape != gfcf["lowpass_in"].T.shape:
                raise ConfigError(f"{folder.path}: the {obj.model_} filters do not fit its {n:,} items")
        obj.state_ = TopNState(obj.model_, dict(meta["hparams"]), t["popularity"].numpy(), dense=dense, sparse=sparse,
                               user=user, item=item, network=network, blocks=blocks, **gfcf)
        obj.fit_seconds_ = meta.get("fit_seconds", 0.0)
        obj._closed_form_record()
        if "history" in meta:
            obj.history_ = History.from_dict(meta["history"])
            obj.train_config_ = TrainConfig(**meta["train_config"])
        return obj


def topn_model_names() -> dict[str, str]:
    return dict(TOPN_DESCRIPTIONS)
