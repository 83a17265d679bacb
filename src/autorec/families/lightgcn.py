"""LightGCN (He et al. 2020): user and item embeddings propagated over the normalised
user-item graph, trained by BPR on sampled negatives.

``A = D^-1/2 [[0, X], [X^T, 0]] D^-1/2`` over users and items; ``E^(k+1) = A E^(k)``; the final
embedding of a node is the mean of ``E^(0) .. E^(K)``; scores are ``e_u . e_i`` of the final
embeddings.  The loss per sampled triple is ``-log sigmoid(s(u, i) - s(u, j))`` plus
``reg / 2 (|e_u^0|^2 + |e_i^0|^2 + |e_j^0|^2)`` on the layer-0 embeddings, the mean over the
batch, as in the paper's code (there: weight decay 1e-4, 64 dimensions, 3 layers, lr 1e-3,
batch 2,048, about 1,000 epochs on Gowalla).  The graph is propagated once per mini-batch (the
gradient must flow through it), so an epoch costs 2K sparse products per batch.

A new user has no layer-0 embedding, so LightGCN does not fold in; the estimator says so.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch

from ..data.negatives import KINDS as NEGATIVE_KINDS
from ..errors import ConfigError
from .factors import RankingAdapter, RankingValidation, merged_params, non_negative, whole_number

DESCRIPTION = "LightGCN: embeddings propagated over the normalised user-item graph, BPR loss (He et al. 2020)"
#: the paper's settings (its code's defaults for Gowalla), not tuned here
DEFAULTS: dict[str, Any] = {"dim": 64, "layers": 3, "reg": 1e-4, "negatives": "uniform", "init_std": 0.1}
# patience_steps: on ml-latest-small (20 steps an epoch) validation NDCG sits at the popularity
# level for about 40 epochs before it climbs; 10 epochs' patience stopped there (docs/topn.md)
TRAIN_DEFAULTS: dict[str, Any] = {"optimizer": "adam", "lr": 1e-3, "batch_size": 2048, "max_epochs": 1000,
                                  "patience": 10, "patience_steps": 1000}


def check_params(params: Mapping[str, Any] | None) -> dict:
    values = merged_params("lightgcn", DEFAULTS, params)
    for key, low in (("dim", 1), ("layers", 0)):
        values[key] = whole_number("lightgcn", key, values[key], low)
    for key in ("reg", "init_std"):
        values[key] = non_negative("lightgcn", key, values[key])
    if values["negatives"] not in NEGATIVE_KINDS:
        raise ConfigError(f"lightgcn: negatives must be one of {', '.join(NEGATIVE_KINDS)}, got {values['negatives']!r}")
    return values


def normalised_graph(x: sp.csr_matrix) -> torch.Tensor:
    """``D^-1/2 [[0, X], [X^T, 0]] D^-1/2`` as a torch sparse matrix (users first, then items)."""
    n_users, n_items = x.shape
    x = sp.csr_matrix(x, dtype=np.float64)
    x.data[:] = 1.0
    adj = sp.bmat([[None, x], [x.T, None]], format="coo", dtype=np.float64)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1.0)), 0.0)
    vals = inv[adj.row] * adj.data * inv[adj.col]
    index = torch.from_numpy(np.vstack([adj.row, adj.col]).astype(np.int64))
    return torch.sparse_coo_tensor(index, torch.from_numpy(vals.astype(np.float32)),
                                   size=(n_users + n_items, n_users + n_items), check_invariants=True).coalesce()


class LightGCN(torch.nn.Module):
    def __init__(self, graph: torch.Tensor, n_users: int, dim: int, layers: int, init_std: float, seed: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(int(seed))
        self.graph, self.n_users, self.layers = graph, n_users, layers
        self.embedding = torch.nn.Parameter(torch.randn(graph.shape[0], dim, generator=g) * init_std)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The final user and item embeddings: the mean of layers 0..K."""
        e = self.embedding
        total = e
        for _ in range(self.layers):
            e = torch.sparse.mm(self.graph, e)
            total = total + e
        final = total / (self.layers + 1)
        return final[: self.n_users], final[self.n_users:]


class LightGCNAdapter(RankingAdapter):
    """The engine's gradient adapter: the examples are the positives, one negative each."""

    def __init__(self, module: LightGCN, x: sp.csr_matrix, validation: sp.csr_matrix | None,
                 values: Mapping[str, Any], seed: int, fold_in=None) -> None:
        if fold_in is not None:
            raise ConfigError("lightgcn cannot fold in held-out users (a new user has no layer-0 embedding); "
                              "use a split whose validation users are in train")
        self.module = module
        self._init_positives(x, values["negatives"], seed + 32452843)
        self.reg = values["reg"]
        self._validation = RankingValidation(self._scores, x, validation)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            u, i = self.module.propagate()
            return (u[torch.from_numpy(np.asarray(users, dtype=np.int64))] @ i.T).numpy()

    def batch_loss(self, index: np.ndarray) -> torch.Tensor:
        u = self.users[index]
        j = torch.from_numpy(self.sampler.sample(u))
        u, i = torch.from_numpy(u), torch.from_numpy(self.items[index])
        users, items = self.module.propagate()
        margin = (users[u] * (items[i] - items[j])).sum(dim=1)
        ego = self.module.embedding
        n_users = self.module.n_users
        reg = 0.5 * ((ego[u] ** 2).sum() + (ego[n_users + i] ** 2).sum() + (ego[n_users + j] ** 2).sum()) / len(index)
        loss = torch.nn.functional.softplus(-margin).mean() + self.reg * reg
        return loss * (len(index) / len(self.users))
