"""The zoo's pair models (MF, GMF, MLP, NeuMF: `autorec.models.zoo`) as top-N models: the same
block graphs, their output read as a score, trained on sampled negatives with a ranking loss.

* ``loss="bce"``: NeuMF's pointwise log loss (He et al. 2017): each positive (label 1) with
  ``n_negatives`` sampled items (label 0), ``binary_cross_entropy_with_logits`` on the output.
* ``loss="bpr"``: ``-log sigmoid(s(u, i) - s(u, j))`` for each positive and each of its
  ``n_negatives`` sampled items.
* ``loss="softmax"``: sampled softmax (Jean et al. 2015; as a recommender loss, Covington et al.
  2016): the cross-entropy of the positive among itself and its ``n_negatives`` sampled items,
  ``-log(exp s_i' / (exp s_i' + sum_j exp s_j'))``, each logit corrected by the log of its
  sampling probability, ``s' = s - log q`` (Bengio and Senecal 2008; Yi et al. 2019), so that
  popularity sampling estimates the full softmax rather than a popularity-discounted one; under
  uniform sampling the correction is a constant and changes nothing.

Negatives come from `autorec.data.negatives` (uniform or by popularity, never a positive). The
blocks' own per-example L2 penalties (the factors they looked up) are added as in rating
training; an epoch is every positive once.  A user's scores are the module on (user, every
item): exact, but a pass over the catalogue per user (fine for MovieLens, slow for Gowalla).
They have no native fold-in (a new user would need its embedding fitted on the ranking loss):
``recommend(history=...)`` and held-out-user splits say so.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch

from ..blocks.graph import DataInfo
from ..data.negatives import KINDS as NEGATIVE_KINDS
from ..errors import ConfigError
from ..hparams import DefaultHP, FixedHP
from ..models.zoo import ZOO, make_model
from .factors import RankingAdapter, RankingValidation, whole_number

BLOCK_RANKING_MODELS = ("mf", "gmf", "mlp", "neumf")
LOSSES = ("bce", "bpr", "softmax")
#: the ranking settings; everything else is the zoo block's own hyperparameter (its defaults:
#: `autorec.models.zoo`).  NeuMF's paper trains with 4 sampled negatives per positive and the
#: log loss; that is the default for every block model here.
RANKING_DEFAULTS: dict[str, Any] = {"loss": "bce", "n_negatives": 4, "negatives": "uniform"}
BLOCK_RANKING_TRAIN_DEFAULTS: dict[str, Any] = {"optimizer": "adam", "lr": 1e-3, "batch_size": 1024,
                                                "max_epochs": 100, "patience": 5}


def describe(name: str) -> str:
    return (f"{ZOO[name].summary}, ranked: trained on sampled negatives (log loss, BPR or sampled softmax) "
            f"({ZOO[name].reference})")


def split_params(name: str, params: Mapping[str, Any] | None) -> tuple[dict, dict]:
    """(ranking settings, block hyperparameters), each checked."""
    params = dict(params or {})
    ranking = {k: params.pop(k, v) for k, v in RANKING_DEFAULTS.items()}
    if ranking["loss"] not in LOSSES:
        raise ConfigError(f"{name}: loss must be one of {', '.join(LOSSES)}, got {ranking['loss']!r}")
    if ranking["negatives"] not in NEGATIVE_KINDS:
        raise ConfigError(f"{name}: negatives must be one of {', '.join(NEGATIVE_KINDS)}, got {ranking['negatives']!r}")
    ranking["n_negatives"] = whole_number(name, "n_negatives", ranking["n_negatives"])
    make_model(name, "rating", **params)  # unknown block keys fail here, naming the known ones
    return ranking, params


def new_module(name: str, block_params: Mapping[str, Any], n_users: int, n_items: int, seed: int,
               fixed: bool = False) -> torch.nn.Module:
    """The block graph for ``n_users`` x ``n_items`` (``fixed``: every value given, as when a
    saved model is rebuilt)."""
    torch.manual_seed(seed)
    info = DataInfo(task="rating", n_users=n_users, n_items=n_items)
    hp = FixedHP({}, strict=True) if fixed else DefaultHP()
    return make_model(name, "rating", **dict(block_params)).build(hp, info)


def _penalties(module: torch.nn.Module) -> torch.Tensor | float:
    """The L2 terms the last forward passes left in the blocks, cleared (as `BlockModule.loss`)."""
    total = 0.0
    for m in module._penalized:
        if m.penalty is not None:
            total = total + m.penalty
            m.penalty = None
    return total


def score_users(module: torch.nn.Module, users: np.ndarray, n_items: int, chunk: int = 1 << 20) -> np.ndarray:
    """The module on (user, every item) for each user: ``len(users) x n_items``."""
    users = np.asarray(users, dtype=np.int64)
    out = np.empty((len(users), n_items), dtype=np.float32)
    per = max(1, chunk // max(1, n_items))
    items = torch.arange(n_items)
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            for s in range(0, len(users), per):
                block = torch.from_numpy(users[s:s + per])
                u = block.repeat_interleave(n_items)
                i = items.repeat(len(block))
                out[s:s + per] = module({"user": u, "item": i}).float().reshape(len(block), n_items).numpy()
                _penalties(module)
    finally:
        module.train(was)
    return out


class BlockRankingAdapter(RankingAdapter):
    """The engine's gradient adapter: the examples are the positives, each with its negatives."""

    def __init__(self, module: torch.nn.Module, x: sp.csr_matrix, validation: sp.csr_matrix | None,
                 ranking: Mapping[str, Any], seed: int, fold_in=None) -> None:
        if fold_in is not None:
            raise ConfigError("the block models cannot fold in held-out users (a new user's embedding would "
                              "need fitting); use a split whose validation users are in train")
        self.module = module
        self._init_positives(x, ranking["negatives"], seed + 15485863)
        self.n_items = x.shape[1]
        self.ranking = dict(ranking)
        q = self.sampler.probabilities()  # None under uniform sampling, where log q is a constant
        self.log_q = None if q is None else torch.from_numpy(np.log(np.maximum(q, 1e-30))).float()
        self._validation = RankingValidation(lambda users: score_users(module, users, self.n_items), x, validation)

    def batch_loss(self, index: np.ndarray) -> torch.Tensor:
        n_neg = self.ranking["n_negatives"]
        u = self.users[index]
        neg = torch.from_numpy(self.sampler.sample(np.repeat(u, n_neg)))
        u_t, i_t = torch.from_numpy(u), torch.from_numpy(self.items[index])
        pos = self.module({"user": u_t, "item": i_t}).float()
        penalty = _penalties(self.module)
        negs = self.module({"user": u_t.repeat_interleave(n_neg), "item": neg}).float().reshape(len(index), n_neg)
        penalty = penalty + _penalties(self.module)
        if self.ranking["loss"] == "bpr":
            loss = torch.nn.functional.softplus(negs - pos[:, None]).mean()
        elif self.ranking["loss"] == "softmax":
            logits = torch.cat([pos[:, None], negs], dim=1)
            if self.log_q is not None:  # popularity sampling: the logQ correction
                items = torch.cat([i_t[:, None], neg.reshape(len(index), n_neg)], dim=1)
                logits = logits - self.log_q[items]
            loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(index), dtype=torch.long))
        else:
            logits = torch.cat([pos[:, None], negs], dim=1)
            labels = torch.zeros_like(logits)
            labels[:, 0] = 1.0
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="sum") / (
                len(index) * (1 + n_neg))
        return (loss + penalty) * (len(index) / len(self.users))
