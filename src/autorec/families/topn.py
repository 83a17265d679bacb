"""Closed-form top-N models on a binary user x item matrix X: each learns an item x item matrix
B, and a user's scores are ``x_u B`` (their history row times B).  Nothing is trained by
gradient steps, so no engine adapter: ``fit`` solves for B directly.

* ``popularity``: every item scored by its number of training interactions (B is not used).
* ``itemknn``: item-based k-nearest neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004):
  ``sim(i, j) = X_i . X_j / (|X_i| |X_j| + shrink)`` (cosine with shrinkage), each item keeping
  its ``neighbours`` most similar items; B is that sparse matrix.
* ``ease``: EASE (Steck 2019): ``B = I - P / diag(P)`` with ``P = (X^T X + lambda I)^-1``,
  ``diag(B) = 0``: the closed-form minimiser of ``|X - XB|^2 + lambda |B|^2`` under
  ``diag(B) = 0``.  Dense in items (memory ``n_items^2`` floats): refused beyond ``max_items``.
* ``gf-cf`` and ``bspm``: filters of the normalised item graph (Shen et al. 2021; Choi et al.
  2023), in :mod:`.graph_filters`.  B is never formed.

Because scores come from a history row, every model here folds a new user in natively: the
history is the row.  The factor models trained by epochs (iALS, BPR-MF) are in
:mod:`.factors`; :class:`TopNFamily` offers both kinds to the registry and the search, and
:class:`TopNState` holds either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError
from ..hparams import Choice, Float
from . import factors, graph_filters, lightgcn, multvae, ranking_blocks
from .factors import FACTOR_DEFAULTS, FACTOR_DESCRIPTIONS, FACTOR_TRAIN_DEFAULTS, check_factor_params
from .multvae import VAE_DEFAULTS, VAE_DESCRIPTIONS, VAE_TRAIN_DEFAULTS, check_vae_params

TOPN_DESCRIPTIONS = {
    "popularity": "Popularity: items by their number of training interactions (the baseline)",
    "itemknn": "ItemKNN: item-based neighbours, cosine similarity with shrinkage (Sarwar et al. 2001)",
    "ease": "EASE (Steck 2019): closed-form linear item-item autoencoder, diag(B) = 0",
    "gf-cf": "GF-CF (Shen et al. 2021): linear plus ideal low-pass graph filter of the item graph, closed form",
    "bspm": "BSPM (Choi et al. 2023): the item graph's blurring then sharpening processes, closed form",
    **FACTOR_DESCRIPTIONS,
    **VAE_DESCRIPTIONS,
    "lightgcn": lightgcn.DESCRIPTION,
    **{name: ranking_blocks.describe(name) for name in ranking_blocks.BLOCK_RANKING_MODELS},
}

#: defaults, and where they came from: EASE's lambda 500 is Steck's value for ML-20M and
#: Netflix; ItemKNN's 100 neighbours and shrink 10 are the common defaults of the ItemKNN
#: literature (Dacrema et al. 2019's baselines search them from there)
TOPN_DEFAULTS: dict[str, dict[str, Any]] = {
    "popularity": {},
    "itemknn": {"neighbours": 100, "shrink": 10.0},
    "ease": {"lambda": 500.0, "max_items": 30_000},
    # GF-CF's k 256 and alpha 0.3 are the paper's, one setting for all its datasets but one;
    # BSPM's: see graph_filters.DEFAULTS
    **graph_filters.DEFAULTS,
}


@dataclass
class TopNState:
    """A fitted top-N model: its name, hyperparameters, the popularity vector, and either an
    item x item matrix B (scores ``x_u B``) or user and item factors (scores ``w_u . h_i``)."""

    name: str
    params: dict
    popularity: np.ndarray  # training interactions per item (float64)
    dense: np.ndarray | None = None  # EASE's B
    sparse: sp.csr_matrix | None = None  # ItemKNN's B
    user: np.ndarray | None = None  # iALS / BPR user factors
    item: np.ndarray | None = None  # their item factors
    network: "multvae.MultVAE | None" = None  # Mult-VAE / Mult-DAE (in eval mode)
    blocks: Any = None  # a zoo block graph (MF, GMF, MLP, NeuMF) scored per (user, item), in eval mode
    norm: sp.csr_matrix | None = None  # the graph filters' degree-normalised R (users x items)
    lowpass_in: np.ndarray | None = None  # their D_I^-1/2 V^T (items x k)
    lowpass_out: np.ndarray | None = None  # and V D_I^1/2 (k x items)
    _gram: sp.csr_matrix | None = field(default=None, repr=False)  # GF-CF's R^T R, made on first use
    _propagate: Any = field(default=None, repr=False)  # BSPM's y -> y R^T R, made on first use
    _item_table: np.ndarray | None = field(default=None, repr=False)  # I-AutoRec's users x items scores

    def gram(self) -> sp.csr_matrix:
        if self._gram is None:  # R^T R once (Gowalla: 35M entries): 1.7x faster than two products a batch
            self._gram = (self.norm.T @ self.norm).tocsr()
        return self._gram

    def propagator(self) -> "graph_filters.Propagator":
        if self._propagate is None:
            self._propagate = graph_filters.Propagator(self.norm, self.lowpass_out)
        return self._propagate

    @property
    def factored(self) -> bool:
        return self.item is not None

    def score_users(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Scores of every item for the user indices ``users`` (``history``: every user's
        training positives, the rows the item x item models multiply)."""
        if self.factored:
            return self.user[np.asarray(users, dtype=np.int64)] @ self.item.T
        if self.blocks is not None:
            return ranking_blocks.score_users(self.blocks, users, len(self.popularity))
        if self.name in multvae.ITEM_AUTOENCODERS:  # every item's column through the network, once
            if self._item_table is None:
                self._item_table = multvae.item_autoencoder_scores(self.network, history.T.tocsr())
            return self._item_table[np.asarray(users, dtype=np.int64)]
        if self.network is not None:  # CDAE's user node for a training user
            return self._network_scores(history[np.asarray(users, dtype=np.int64)], users)
        return self.scores(history[np.asarray(users, dtype=np.int64)])

    def _network_scores(self, rows: sp.csr_matrix, users=None) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.network(rows, users=users)[0].numpy()

    def scores(self, history: sp.csr_matrix) -> np.ndarray:
        """``history x B``: scores of every item for each row of a users x items 0/1 matrix."""
        if self.name == "popularity":
            return np.broadcast_to(self.popularity, (history.shape[0], len(self.popularity))).copy()
        if self.network is not None:
            return self._network_scores(history)
        if self.norm is not None:
            return graph_filters.scores(self, history)
        if self.dense is not None:
            return np.asarray(history @ self.dense, dtype=np.float64)
        return np.asarray((history @ self.sparse).toarray(), dtype=np.float64)

    def score_histories(self, rows: sp.csr_matrix) -> np.ndarray:
        """Scores of every item for users known only by their positives (the rows of a 0/1
        users x items matrix): natively for the closed forms and the autoencoders, by iALS's
        exact row solves (batched), by BPR's fold-in fit per row."""
        rows = sp.csr_matrix(rows)
        self._check_fold_in()
        if not self.factored:
            return self.scores(rows)
        if self.name == "ials":
            import torch

            item = torch.from_numpy(np.ascontiguousarray(self.item, dtype=np.float64))
            lam = factors.ials_lambdas(np.diff(rows.indptr), len(self.popularity), self.params["alpha0"],
                                       self.params["reg"], self.params["reg_exponent"])
            users = factors.solve_rows(rows, item, self.params["alpha0"], lam).numpy()
            return (users @ self.item.T.astype(np.float64)).astype(self.item.dtype)
        return np.stack([self.fold_in(rows.indices[rows.indptr[r]:rows.indptr[r + 1]]) if rows.indptr[r + 1] >
                         rows.indptr[r] else np.zeros(len(self.popularity), dtype=self.item.dtype)
                         for r in range(rows.shape[0])])

    def _check_fold_in(self) -> None:
        if self.name in multvae.ITEM_AUTOENCODERS:
            raise ConfigError(f"{self.name} cannot fold in a new user's history: a new user is a new input of its "
                              "network; models that can: popularity, itemknn, ease, gf-cf, bspm, ials, bpr, "
                              "mult-vae, mult-dae, cdae, u-autorec")
        if self.name == "lightgcn":
            raise ConfigError("lightgcn cannot fold in a new user's history: a new user has no layer-0 embedding; "
                              "models that can: popularity, itemknn, ease, gf-cf, bspm, ials, bpr, mult-vae, mult-dae, "
                              "cdae, u-autorec")
        if self.blocks is not None:
            raise ConfigError(f"{self.name} (a block model ranked by sampled negatives) cannot fold in a new "
                              "user's history: its user embedding would need fitting; models that can: "
                              "popularity, itemknn, ease, gf-cf, bspm, ials, bpr, mult-vae, mult-dae")

    def fold_in(self, items: np.ndarray) -> np.ndarray:
        """Scores of every item for a new user whose positives are the item indices ``items``."""
        self._check_fold_in()
        if self.factored:
            return self.item @ factors.fold_in_user(self.name, self.params, self.item, items).astype(self.item.dtype)
        row = sp.csr_matrix((np.ones(len(items)), (np.zeros(len(items), dtype=np.int64), items)),
                            shape=(1, len(self.popularity)))
        return self.scores(row)[0]


def folds_in_held_out_users(name: str) -> bool:
    """Whether a model can score users it was not trained on at every validation (a strong-
    generalisation split): not BPR (each user fitted by L-BFGS), LightGCN (no layer-0
    embedding), the block models, I-AutoRec (a new user is a new input)."""
    return not (name in ("bpr", "lightgcn") or name in ranking_blocks.BLOCK_RANKING_MODELS
                or name in multvae.ITEM_AUTOENCODERS)


def topn_names() -> list[str]:
    return list(TOPN_DESCRIPTIONS)


def is_factored(name: str) -> bool:
    """Whether ``name`` is trained by epochs (iALS, BPR, Mult-VAE/DAE, the block models)
    rather than solved in closed form."""
    return (name in FACTOR_DEFAULTS or name in VAE_DEFAULTS or name in ranking_blocks.BLOCK_RANKING_MODELS
            or name == "lightgcn")


def check_params(name: str, params: Mapping[str, Any] | None) -> dict:
    if name in FACTOR_DEFAULTS:
        return check_factor_params(name, params)
    if name in VAE_DEFAULTS:
        return check_vae_params(name, params)
    if name in ranking_blocks.BLOCK_RANKING_MODELS:
        ranking, block = ranking_blocks.split_params(name, params)
        return {**ranking, **block}
    if name == "lightgcn":
        return lightgcn.check_params(params)
    if name not in TOPN_DEFAULTS:
        raise ConfigError(f"unknown top-N model {name!r}; known: {', '.join(TOPN_DESCRIPTIONS)}")
    values = factors.merged_params(name, TOPN_DEFAULTS[name], params)
    if name == "itemknn":
        values["neighbours"] = factors.whole_number("itemknn", "neighbours", values["neighbours"])
        if not isinstance(values["shrink"], (int, float)) or values["shrink"] < 0:
            raise ConfigError(f"itemknn: shrink must be a number >= 0, got {values['shrink']!r}")
    if name == "ease":
        if not isinstance(values["lambda"], (int, float)) or not values["lambda"] > 0:
            raise ConfigError(f"ease: lambda must be a number > 0, got {values['lambda']!r}")
    if name in graph_filters.GRAPH_FILTERS:
        values = graph_filters.check_params(name, values)
    return values


def fit_topn(name: str, params: Mapping[str, Any] | None, x: sp.csr_matrix) -> TopNState:
    """Solve the model on the binary users x items matrix ``x``."""
    values = check_params(name, params)
    x = sp.csr_matrix(x, dtype=np.float64)
    popularity = np.asarray(x.sum(axis=0)).ravel()
    if name == "popularity":
        return TopNState(name, values, popularity)
    if name in graph_filters.GRAPH_FILTERS:
        return TopNState(name, popularity=popularity, **graph_filters.fit(name, values, x, popularity))
    if name == "ease":
        n = x.shape[1]
        if n > values["max_items"]:
            raise ConfigError(f"ease: {n:,} items need a dense {n:,} x {n:,} matrix ({n * n * 8 / 2**30:.1f} GiB); "
                              f"the limit is max_items={values['max_items']:,} (raise it, or use itemknn)")
        gram = (x.T @ x).toarray()
        gram[np.diag_indices(n)] += float(values["lambda"])
        # X^T X + lambda I is symmetric positive definite: its inverse through a Cholesky
        # factor (torch, float64) is as exact as a general inverse and twice as fast
        import torch

        g = torch.from_numpy(gram)
        p = torch.cholesky_inverse(torch.linalg.cholesky(g)).numpy()
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices(n)] = 0.0
        return TopNState(name, values, popularity, dense=b)
    # itemknn: cosine with shrinkage, the top neighbours of every item kept
    norms = np.sqrt(popularity)  # |X_i| for a 0/1 column
    co = (x.T @ x).tocsr()
    co.setdiag(0.0)
    co.eliminate_zeros()
    coo = co.tocoo()
    sim = coo.data / (norms[coo.row] * norms[coo.col] + float(values["shrink"]))
    sim_m = sp.csr_matrix((sim, (coo.row, coo.col)), shape=co.shape)
    sparse = _top_per_row(sim_m, int(values["neighbours"]))
    # B[j, i] = sim(i, j) for the neighbours j of i: scores_i = sum_j x_j sim(i, j)
    return TopNState(name, values, popularity, sparse=sparse.T.tocsr())


def _top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's ``k`` largest entries (ties by lower column), the rest dropped."""
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        if hi == lo:
            continue
        c, v = m.indices[lo:hi], m.data[lo:hi]
        keep = np.lexsort((c, -v))[:k]
        rows.append(np.full(len(keep), r))
        cols.append(c[keep])
        vals.append(v[keep])
    if not rows:
        return sp.csr_matrix(m.shape)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=m.shape)


# What the search draws (names scoped "model/key"); the defaults are TOPN_DEFAULTS'.
TOPN_SEARCH = {
    "popularity": {},
    "itemknn": {"neighbours": Choice((10, 20, 50, 100, 200, 400), 100, help="neighbours kept per item"),
                "shrink": Choice((0.0, 1.0, 10.0, 50.0, 100.0), 10.0, help="cosine shrinkage")},
    "ease": {"lambda": Float(1.0, 1e4, 500.0, log=True, help="the L2 on B")},
    "gf-cf": {"k": Choice((64, 128, 256, 512), 256, help="singular vectors of the ideal low-pass filter"),
              "alpha": Float(0.01, 3.0, 0.3, log=True, help="weight of the ideal filter")},
    # BSPM: the step count stays at one (the authors' choice on two of three datasets): one
    # dimension fewer for the sampler, and RK4's one step is already a degree-4 polynomial
    "bspm": {"k": Choice((64, 128, 256, 512), 256, help="singular vectors of the ideal low-pass filter"),
             "beta": Float(0.01, 3.0, 0.1, log=True, help="weight of the ideal filter"),
             "t_sharpen": Float(0.1, 4.0, 2.5, help="sharpening time"),
             "solver": Choice(graph_filters.SOLVERS, "rk4", help="sharpening ODE solver"),
             "merge": Choice(graph_filters.MERGES, "early", help="add the ideal filter before or after sharpening"),
             "combine": Choice((False, True), True, help="average the blurred and sharpened time points")},
    # iALS: Rendle et al. 2021 tune the unobserved weight and the L2 on log scales with the
    # frequency scaling (nu = 1) fixed; the dimension is capped by the d^3 per row of each solve
    "ials": {"dim": Choice((32, 64, 128, 256, 512), FACTOR_DEFAULTS["ials"]["dim"], help="factor dimension"),
             "unobserved": Float(1.0, 1000.0, FACTOR_DEFAULTS["ials"]["unobserved"], log=True,
                                 help="unobserved weight, relative to a user's positives"),
             "reg": Float(1e-4, 1.0, FACTOR_DEFAULTS["ials"]["reg"], log=True, help="L2, scaled by frequency")},
    # Mult-VAE / DAE: Liang et al. fix 600-200-600 and tune beta (VAE) or lambda (DAE)
    "mult-vae": {"beta_max": Float(0.05, 1.0, 0.2, log=True, help="the KL weight reached by annealing"),
                 "dropout": Choice((0.2, 0.5, 0.7), 0.5, help="input dropout")},
    "mult-dae": {"reg": Float(1e-5, 0.1, 0.005, log=True, help="L2 on the weights"),
                 "dropout": Choice((0.2, 0.5, 0.7), 0.5, help="input dropout")},
    "cdae": {"hidden": Choice((50, 100, 200), 50, help="hidden units"),
             "reg": Float(1e-5, 0.1, 0.001, log=True, help="L2 on the weights and user nodes"),
             "dropout": Choice((0.0, 0.2, 0.4, 0.6), 0.2, help="input corruption")},
    "u-autorec": {"hidden": Choice((100, 300, 500), 500, help="hidden units"),
                  "reg": Float(1e-5, 0.1, 0.001, log=True, help="L2 on the weights")},
    "i-autorec": {"hidden": Choice((100, 300, 500), 500, help="hidden units"),
                  "reg": Float(1e-5, 0.1, 0.001, log=True, help="L2 on the weights")},
    "lightgcn": {"dim": Choice((32, 64, 128), 64, help="embedding dimension"),
                 "layers": Choice((1, 2, 3, 4), 3, help="propagation layers"),
                 "reg": Float(1e-6, 1e-2, 1e-4, log=True, help="L2 on the layer-0 embeddings")},
    "bpr": {"dim": Choice((32, 64, 128, 256, 512), FACTOR_DEFAULTS["bpr"]["dim"], help="factor dimension"),
            "reg": Float(1e-7, 1e-2, FACTOR_DEFAULTS["bpr"]["reg"], log=True, help="L2 per sampled triple"),
            "negatives": Choice(("uniform", "popularity"), "uniform", help="negative sampling"),
            "bias": Choice((True, False), FACTOR_DEFAULTS["bpr"]["bias"], help="an item bias beside the factors")},
}


# the block models' ranking settings (their blocks' own hyperparameters come from the zoo)
BLOCK_RANKING_SEARCH = {
    "loss": Choice(("bce", "bpr", "softmax"), "bce", help="log loss on sampled negatives, BPR, or sampled softmax"),
    "n_negatives": Choice((1, 4, 8), 4, help="sampled negatives per positive"),
    "negatives": Choice(("uniform", "popularity"), "uniform", help="negative sampling"),
}


class TopNFamily:
    """The closed-form top-N models as a family of the ``ranking`` task: names, descriptions
    and search space for the registry and the search.  They are solved, not trained, so the
    ranking problem fits them through `autorec.estimators.TopNModel` (no engine adapter)."""

    kind = "topn"
    task = "ranking"
    train_space = "none"  # the closed-form models: nothing to set (train_space_for: per model)

    def names(self) -> list[str]:
        return topn_names()

    def describe(self, name: str) -> str:
        return TOPN_DESCRIPTIONS[name]

    def train_space_for(self, name: str) -> str:
        """BPR steps an optimizer (its lr and batch size are searched); iALS and the closed
        forms have no training settings to search."""
        stepped = name in ("bpr", "lightgcn") or name in ranking_blocks.BLOCK_RANKING_MODELS
        return "topn-sgd" if stepped else "none"

    def train_defaults(self, name: str) -> dict:
        if name in VAE_DEFAULTS:
            return dict(VAE_TRAIN_DEFAULTS)
        if name in ranking_blocks.BLOCK_RANKING_MODELS:
            return dict(ranking_blocks.BLOCK_RANKING_TRAIN_DEFAULTS)
        if name == "lightgcn":
            return dict(lightgcn.TRAIN_DEFAULTS)
        return dict(FACTOR_TRAIN_DEFAULTS.get(name, {}))

    def cost_tier(self, name: str) -> int:
        """The search probes cheaper kinds first: 0 a closed form, 1 iALS (a few exact sweeps),
        2 a model trained by epochs of gradient steps."""
        return 0 if not is_factored(name) else 1 if name == "ials" else 2

    def search_patience(self, name: str) -> int | None:
        """iALS's own patience inside a search too (see search/space.py suggest)."""
        return FACTOR_TRAIN_DEFAULTS["ials"]["patience"] if name == "ials" else None

    def search_names(self, name: str) -> set[str]:
        names = {f"{name}/{k}" for k in TOPN_SEARCH.get(name, BLOCK_RANKING_SEARCH)}
        if name in ranking_blocks.BLOCK_RANKING_MODELS:
            names |= {f"{name}/{n}" for n in ranking_blocks.make_model(name, "rating").tunable()}
        return names

    def search_params(self, name: str, hp, data) -> dict:
        if name in ranking_blocks.BLOCK_RANKING_MODELS:
            from ..blocks.graph import DataInfo
            from ..hparams import PrefixedHP

            drawn = {k: hp.get(f"{name}/{k}", spec) for k, spec in BLOCK_RANKING_SEARCH.items()}
            info = DataInfo(task="rating", n_users=data.n_users, n_items=data.n_items)
            module = ranking_blocks.make_model(name, "rating").build(PrefixedHP(hp, name), info)
            return {**drawn, **module.hp_values}
        values = {k: hp.get(f"{name}/{k}", spec) for k, spec in TOPN_SEARCH[name].items()}
        if name in graph_filters.GRAPH_FILTERS:  # a small matrix has fewer singular vectors than drawn
            values["k"] = int(min(values["k"], min(data.n_users, data.n_items) - 1))
        return values
