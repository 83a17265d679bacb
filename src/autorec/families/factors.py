"""Matrix-factorisation top-N models trained by epochs on a binary user x item matrix X:
scores are ``w_u . h_i``.  Both go through the shared engine (`autorec.train.engine`), so they
stop early on validation NDCG@20, keep the best epoch, report to the search's pruner and stop
at its deadline like every other model.

* ``ials``: implicit alternating least squares (Hu et al. 2008) in the form and with the tuning
  advice of Rendle et al. 2021 ("Revisiting the performance of iALS"): minimise

      sum_{(u,i) in X} (w_u.h_i - 1)^2 + alpha0 sum_{all u,i} (w_u.h_i)^2
        + reg (sum_u (n_u + alpha0 n_items)^nu |w_u|^2 + sum_i (n_i + alpha0 n_users)^nu |h_i|^2)

  Each epoch solves every item's row given the users, then every user's row given the items,
  exactly: one Cholesky solve of ``(sum_{i in u} h_i h_i^T + alpha0 H^T H + lambda_u I) w_u =
  sum_{i in u} h_i`` per row, batched (rows bucketed by length, so padding stays small).  The
  users are solved last, so folding a user in is the same solve: a training user's own history
  gives back its trained row.  A sweep adapter (no gradient steps).
* ``bpr``: BPR-MF (Rendle et al. 2009): minimise ``-log sigmoid(w_u.(h_i - h_j))`` over the
  positives (u, i) with a sampled negative j per positive (`autorec.data.negatives`, uniform or
  by popularity), plus ``reg (|w_u|^2 + |h_i|^2 + |h_j|^2)`` per sampled triple; Adam.  Folding a
  user in fits the user's row on the same objective with every negative counted (its
  expectation under uniform sampling) and the item rows fixed, by L-BFGS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch

from ..data.negatives import KINDS as NEGATIVE_KINDS
from ..data.negatives import NegativeSampler
from ..errors import ConfigError
from ..metrics.ranking import ranking_metrics
from .fold_in import minimise

FACTOR_DESCRIPTIONS = {
    "ials": "iALS: implicit alternating least squares, exact per-row solves (Hu et al. 2008; Rendle et al. 2021)",
    "bpr": "BPR-MF: matrix factorisation on sampled (positive, negative) pairs (Rendle et al. 2009)",
}

#: defaults and where they came from: docs/topn.md ("Defaults") gives the sweep on
#: ml-latest-small and its subsamples that chose them (benchmarks/tune_topn_defaults.py)
FACTOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "ials": {"dim": 64, "unobserved": 10.0, "alpha0": None, "reg": 0.03, "reg_exponent": 1.0, "init_std": 0.1},
    "bpr": {"dim": 256, "reg": 1e-3, "negatives": "uniform", "init_std": 0.1, "bias": True},
}

#: training settings the factor models take unless told otherwise (TrainConfig keys)
FACTOR_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    # an exact sweep's gains shrink geometrically: on Gowalla iALS gained 1e-4 NDCG@20 an epoch
    # for ten epochs past its plateau; a gain under 0.001 does not count as one
    "ials": {"max_epochs": 30, "patience": 3, "min_delta": 1e-3},
    # BPR's validation NDCG peaks early (the popular items), dips, then climbs for a hundred
    # epochs more on ml-latest-small: patience 5 stopped at the first peak.  The dip is counted
    # in steps, not epochs: on ml-latest-small's leave-one-out carve (10 steps an epoch) it ran
    # from epoch 4 to 40, longer than 20 epochs (docs/topn.md)
    "bpr": {"optimizer": "adam", "lr": 1e-3, "batch_size": 4096, "max_epochs": 300, "patience": 20,
            "patience_steps": 1000},
}

_BUCKET_FLOATS = 1 << 23  # floats per batched solve: the padded histories plus the systems


# the checks every top-N model's parameters go through (here and in topn, multvae, lightgcn,
# ranking_blocks), so that a wrong value reads the same whichever model it was given to
def merged_params(name: str, defaults: Mapping[str, Any], params: Mapping[str, Any] | None) -> dict:
    """``defaults`` overridden by ``params``; a key the model does not have is an error."""
    values = dict(defaults)
    unknown = sorted(set(params or {}) - set(values))
    if unknown:
        raise ConfigError(f"{name} has no parameter(s) {unknown}; known: {sorted(values) or 'none'}")
    values.update(params or {})
    return values


def whole_number(name: str, key: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"{name}: {key} must be a whole number >= {low}, got {value!r}")
    return int(value)


def non_negative(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise ConfigError(f"{name}: {key} must be a number >= 0, got {value!r}")
    return float(value)


def check_factor_params(name: str, params: Mapping[str, Any] | None) -> dict:
    values = merged_params(name, FACTOR_DEFAULTS[name], params)
    values["dim"] = whole_number(name, "dim", values["dim"])
    if name == "ials" and values["alpha0"] is None:
        values.pop("alpha0")  # derived from ``unobserved`` and the data at fit (ials_alpha0)
    for key in ("reg", "init_std") + (tuple(k for k in ("alpha0", "unobserved", "reg_exponent") if k in values)
                                       if name == "ials" else ()):
        values[key] = non_negative(name, key, values[key])
    if name == "ials" and not values["reg"] > 0:
        raise ConfigError("ials: reg must be > 0 (it keeps every row's system positive definite)")
    if name == "bpr" and not isinstance(values["bias"], (bool, np.bool_)):
        raise ConfigError(f"bpr: bias must be true or false, got {values['bias']!r}")
    if name == "bpr" and values["negatives"] not in NEGATIVE_KINDS:
        raise ConfigError(f"bpr: negatives must be one of {', '.join(NEGATIVE_KINDS)}, got {values['negatives']!r}")
    return values


class FactorModule(torch.nn.Module):
    """User and item factor tables; ``trainable`` False for iALS (solved, not stepped).
    ``bias``: an item bias beside the factors (BPR), so popularity need not be learnt in the
    factors; `factor_tables` folds it in as one more column (the user's fixed at 1)."""

    def __init__(self, n_users: int, n_items: int, dim: int, init_std: float, seed: int, trainable: bool,
                 bias: bool = False) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(int(seed))
        std = init_std / np.sqrt(dim)  # Rendle et al.: N(0, 0.1 / sqrt(d)) keeps w.h small at any d
        self.user = torch.nn.Parameter(torch.randn(n_users, dim, generator=g) * std, requires_grad=trainable)
        self.item = torch.nn.Parameter(torch.randn(n_items, dim, generator=g) * std, requires_grad=trainable)
        self.item_bias = torch.nn.Parameter(torch.zeros(n_items), requires_grad=trainable) if bias else None

    def scores(self, users: np.ndarray) -> torch.Tensor:
        s = self.user[torch.as_tensor(np.asarray(users, dtype=np.int64))] @ self.item.T
        return s if self.item_bias is None else s + self.item_bias

    def factor_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(users, items) with ``users @ items.T`` the scores: the bias as a last item column
        against a user column of ones."""
        user, item = self.user.detach().numpy().copy(), self.item.detach().numpy().copy()
        if self.item_bias is None:
            return user, item
        ones = np.ones((len(user), 1), dtype=user.dtype)
        return np.hstack([user, ones]), np.hstack([item, self.item_bias.detach().numpy()[:, None]])


def ials_alpha0(values: Mapping[str, Any], x: sp.csr_matrix) -> float:
    """The unobserved weight alpha0 of Rendle et al.'s objective.  Given as ``alpha0`` it is
    used as it is; by default it comes from ``unobserved``: the weight of a user's unobserved
    entries all together relative to its positives, on average (``alpha0 * n_items =
    unobserved * positives per user``).  The same alpha0 weighs 41,000 Gowalla items four
    times as heavily as 10,000 MovieLens ones; the relative weight carries from one catalogue
    to another (docs/topn.md, "Defaults")."""
    if values.get("alpha0") is not None:
        return float(values["alpha0"])
    n_users, n_items = x.shape
    per_user = x.nnz / max(1, int((np.diff(x.tocsr().indptr) > 0).sum()))
    return float(values["unobserved"]) * per_user / n_items


def ials_lambdas(counts: np.ndarray, n_other: int, alpha0: float, reg: float, exponent: float) -> np.ndarray:
    """Each row's L2 weight: ``reg (n_row + alpha0 n_other) ** exponent`` (Rendle et al.'s scaling)."""
    return reg * (counts.astype(np.float64) + alpha0 * n_other) ** exponent


def solve_rows(x: sp.csr_matrix, fixed: torch.Tensor, alpha0: float, lambdas: np.ndarray,
               short_rows: bool = True) -> torch.Tensor:
    """The exact iALS solution of every row of ``x`` (rows x cols, 0/1) given the other side's
    factors ``fixed`` (cols x d): ``(F_r^T F_r + alpha0 F^T F + lambda_r I) w_r = F_r^T 1``.

    A row with fewer entries L than d dimensions is solved in L dimensions instead of d: with
    ``alpha0 F^T F = Q diag(g) Q^T`` (one eigendecomposition per call) and ``M_r = alpha0 F^T F +
    lambda_r I``, the push-through identity ``(M + E^T E)^-1 E^T = M^-1 E^T (I + E M^-1 E^T)^-1``
    gives ``w_r = Q D P^T t`` with ``P = F_r Q``, ``D = diag(1 / (g + lambda_r))`` and ``t`` the
    solution of ``(I + P D P^T) t = 1``: an L x L system that is never indefinite (it is >= I),
    and ``F_r Q`` is one large matrix product instead of a d x d factorisation per row.  Longer
    rows take the d x d Cholesky solve.  Both are exact; the test checks them against the
    normal equations.  ``short_rows=False`` solves every row by the d x d Cholesky (the
    benchmark's comparison; the same result).
    """
    n_rows = x.shape[0]
    d = fixed.shape[1]
    dtype = fixed.dtype
    gram64 = alpha0 * (fixed.double().T @ fixed.double())
    gram = gram64.to(dtype)
    g, q = torch.linalg.eigh(gram64)
    g, q = g.clamp_min(0.0).to(dtype), q.to(dtype)
    padded = torch.cat([fixed, torch.zeros(1, d, dtype=dtype)])  # the pad index n_cols is a zero row
    pad = fixed.shape[0]
    counts = np.diff(x.indptr).astype(np.int64)
    out = torch.zeros(n_rows, d, dtype=dtype)
    order = np.argsort(counts, kind="stable")
    order = order[counts[order] > 0]  # an empty row's solution is 0 (its right-hand side is)
    sorted_counts = counts[order]
    short = int(np.searchsorted(sorted_counts, d, side="left")) if short_rows else 0  # rows [0, short): L < d
    eye = torch.eye(d, dtype=dtype)
    lam = torch.as_tensor(lambdas, dtype=dtype)
    pos = 0
    while pos < len(order):
        stop = short if pos < short else len(order)
        ends = np.arange(pos + 1, stop + 1)
        cost = (ends - pos) * (sorted_counts[ends - 1] * (d + sorted_counts[ends - 1]) + d * d)
        end = pos + max(1, int(np.searchsorted(cost, _BUCKET_FLOATS, side="right")))
        rows = order[pos:end]
        lens = counts[rows]
        width = int(lens.max())
        total = int(lens.sum())
        offsets = np.cumsum(lens) - lens
        which = np.repeat(np.arange(len(rows)), lens)
        slot = np.arange(total) - np.repeat(offsets, lens)
        src = np.repeat(x.indptr[rows].astype(np.int64) - offsets, lens) + np.arange(total)
        idx = np.full((len(rows), width), pad, dtype=np.int64)
        idx[which, slot] = x.indices[src]
        index, rows_t = torch.from_numpy(idx), torch.from_numpy(rows)
        e = padded[index]  # (rows, width, d), zero rows past each history
        if width < d:
            out[rows_t] = _solve_short(e, g, q, lam[rows_t])
        else:
            out[rows_t] = _solve_long(e, gram, gram64, eye, lam[rows_t], padded, index)
        pos = end
    return out


def _solve_short(e, g, q, lam) -> torch.Tensor:
    """Rows with L < d entries by the push-through identity (see solve_rows); pads are zero
    rows of ``e``, which decouple (their row of I + P D P^T is the identity's)."""
    p = e @ q  # (rows, L, d)
    pd = p / (g[None, None, :] + lam[:, None, None])
    s = pd @ p.transpose(1, 2)
    s.diagonal(dim1=1, dim2=2).add_(1.0)
    t = torch.cholesky_solve(torch.ones(s.shape[0], s.shape[1], 1, dtype=s.dtype), torch.linalg.cholesky(s))
    return (pd.transpose(1, 2) @ t).squeeze(-1) @ q.T


def _solve_long(e, gram, gram64, eye, lam, padded, index) -> torch.Tensor:
    """Rows with L >= d entries by the d x d Cholesky solve of the normal equations."""
    a = e.transpose(1, 2) @ e + gram + lam[:, None, None] * eye
    chol, info = torch.linalg.cholesky_ex(a)
    out = torch.cholesky_solve(e.sum(dim=1).unsqueeze(-1), chol).squeeze(-1)
    bad = torch.nonzero(info).ravel()
    if bad.numel():
        # float32 rounding of a system with a tiny L2 beside large factors can lose positive
        # definiteness; assembled again in float64, the L2 keeps it positive definite
        e64 = padded.double()[index[bad]]
        a64 = e64.transpose(1, 2) @ e64 + gram64 + lam.double()[bad][:, None, None] * eye.double()
        out[bad] = torch.cholesky_solve(e64.sum(dim=1).unsqueeze(-1), torch.linalg.cholesky(a64)).squeeze(-1).to(out.dtype)
    return out


def ials_objective(x: sp.csr_matrix, users: torch.Tensor, items: torch.Tensor, alpha0: float,
                   user_lambdas: np.ndarray, item_lambdas: np.ndarray) -> float:
    """iALS's training objective per positive (what an epoch reports as its training loss)."""
    coo = x.tocoo()
    u, i = torch.from_numpy(coo.row.astype(np.int64)), torch.from_numpy(coo.col.astype(np.int64))
    observed = 0.0
    for lo in range(0, len(u), 1 << 20):
        pred = (users[u[lo:lo + (1 << 20)]] * items[i[lo:lo + (1 << 20)]]).sum(1).double()
        observed += float(((pred - 1.0) ** 2).sum())
    everything = float(((users.T @ users).double() * (items.T @ items).double()).sum())
    reg = float((torch.as_tensor(user_lambdas) * (users.double() ** 2).sum(1)).sum()
                + (torch.as_tensor(item_lambdas) * (items.double() ** 2).sum(1)).sum())
    return (observed + alpha0 * everything + reg) / max(1, x.nnz)


class RankingValidation:
    """Validation NDCG@20 / Recall@20 of a model's ``scores(users)`` by full ranking, training
    items excluded (None without a validation part): what every epoch-trained top-N adapter
    reports, maximised."""

    def __init__(self, scores, train: sp.csr_matrix, validation: sp.csr_matrix | None) -> None:
        self.scores, self.train, self.validation = scores, train, validation

    def __call__(self) -> dict[str, float] | None:
        if self.validation is None or self.validation.nnz == 0:
            return None
        with torch.no_grad():
            m = ranking_metrics(self.scores, self.train, self.validation, k=(20,))
        return {"ndcg@20": m["ndcg@20"], "recall@20": m["recall@20"]}


class RankingAdapter:
    """What every epoch-trained top-N adapter shares: NDCG@20 on validation, maximised
    (``self._validation``, a `RankingValidation`), and for those trained on sampled negatives
    the positives as the examples with a seeded sampler (``_init_positives``)."""

    metric = "ndcg@20"
    direction = "maximize"

    def _init_positives(self, x: sp.csr_matrix, negatives: str, seed: int) -> None:
        coo = sp.csr_matrix(x).tocoo()
        self.users, self.items = coo.row.astype(np.int64), coo.col.astype(np.int64)
        self.sampler = NegativeSampler(x, negatives, seed=np.random.default_rng(seed))

    def n_examples(self) -> int:
        return len(self.users)

    def validate(self) -> dict[str, float] | None:
        return self._validation()


class _FactorAdapter(RankingAdapter):
    def _init_validation(self, module: FactorModule, train: sp.csr_matrix, validation: sp.csr_matrix | None,
                         fold_in=None) -> None:
        """``fold_in``: (positives, seen) of validation users who are not in ``train`` (strong
        generalisation): their rows are folded in by ``fold_in_rows`` at every validation."""
        self.module = module
        if fold_in is None:
            self._validation = RankingValidation(lambda users: module.scores(users).numpy(), train, validation)
        else:
            history, seen = fold_in
            self._validation = RankingValidation(lambda users: self.fold_in_rows(history[users]), seen, validation)

    def fold_in_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        raise ConfigError(f"{type(self).__name__[:-len('Adapter')].lower()} cannot fold in held-out users at every "
                          "epoch (it fits each one by L-BFGS); use a split whose validation users are in train")


class IALSAdapter(_FactorAdapter):
    """The engine's sweep adapter for iALS: one epoch = items solved, then users."""

    def __init__(self, module: FactorModule, x: sp.csr_matrix, validation: sp.csr_matrix | None,
                 params: Mapping[str, Any], fold_in=None) -> None:
        self._init_validation(module, x, validation, fold_in)
        self.params = params
        self.x, self.xt = x.tocsr(), x.T.tocsr()
        self.alpha0 = params["alpha0"]  # resolved by the estimator (ials_alpha0)
        n_users, n_items = x.shape
        self.user_lambdas = ials_lambdas(np.diff(self.x.indptr), n_items, self.alpha0, params["reg"],
                                         params["reg_exponent"])
        self.item_lambdas = ials_lambdas(np.diff(self.xt.indptr), n_users, self.alpha0, params["reg"],
                                         params["reg_exponent"])

    def fold_in_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        """Held-out users' scores: their rows solved against the current item factors."""
        item = self.module.item.data
        lam = ials_lambdas(np.diff(rows.indptr), item.shape[0], self.alpha0, self.params["reg"],
                           self.params["reg_exponent"])
        return (solve_rows(rows, item, self.alpha0, lam) @ item.T).numpy()

    def sweep(self) -> float:
        m = self.module
        m.item.data = solve_rows(self.xt, m.user.data, self.alpha0, self.item_lambdas)
        m.user.data = solve_rows(self.x, m.item.data, self.alpha0, self.user_lambdas)
        return ials_objective(self.x, m.user.data, m.item.data, self.alpha0, self.user_lambdas, self.item_lambdas)


class BPRAdapter(_FactorAdapter):
    """The engine's gradient adapter for BPR-MF: the examples are the positives."""

    def __init__(self, module: FactorModule, x: sp.csr_matrix, validation: sp.csr_matrix | None,
                 params: Mapping[str, Any], seed: int, fold_in=None) -> None:
        if fold_in is not None:
            self.fold_in_rows(None)  # refuses, with the reason
        self._init_validation(module, x, validation)
        self._init_positives(x, params["negatives"], seed + 7919)
        self.reg = params["reg"]

    def batch_loss(self, index: np.ndarray) -> torch.Tensor:
        u = self.users[index]
        j = torch.from_numpy(self.sampler.sample(u))
        u, i = torch.from_numpy(u), torch.from_numpy(self.items[index])
        m = self.module
        wu, hi, hj = m.user[u], m.item[i], m.item[j]
        margin = (wu * (hi - hj)).sum(1)
        reg = self.reg * ((wu ** 2).sum() + (hi ** 2).sum() + (hj ** 2).sum())
        if m.item_bias is not None:
            bi, bj = m.item_bias[i], m.item_bias[j]
            margin = margin + bi - bj
            reg = reg + self.reg * ((bi ** 2).sum() + (bj ** 2).sum())
        return (torch.nn.functional.softplus(-margin).sum() + reg) / len(self.users)


@dataclass
class FactorFit:
    user: np.ndarray  # (n_users, d)
    item: np.ndarray  # (n_items, d)


def new_module(name: str, values: Mapping[str, Any], n_users: int, n_items: int, seed: int) -> FactorModule:
    return FactorModule(n_users, n_items, values["dim"], values["init_std"], seed, trainable=(name == "bpr"),
                        bias=bool(values.get("bias", False)))


def adapter(name: str, module: FactorModule, x: sp.csr_matrix, validation: sp.csr_matrix | None,
            values: Mapping[str, Any], seed: int, fold_in=None):
    if name == "ials":
        return IALSAdapter(module, x, validation, values, fold_in)
    return BPRAdapter(module, x, validation, values, seed, fold_in)


def fold_in_user(name: str, values: Mapping[str, Any], item_factors: np.ndarray, items: np.ndarray) -> np.ndarray:
    """A new user's factor row from the item indices of its history, the item rows fixed:
    iALS's exact solve, or BPR's objective over every (history item, other item) pair."""
    h = torch.from_numpy(np.ascontiguousarray(item_factors, dtype=np.float64))
    n_items = h.shape[0]
    items = np.unique(np.asarray(items, dtype=np.int64))
    if name == "ials":
        row = sp.csr_matrix((np.ones(len(items)), (np.zeros(len(items), dtype=np.int64), items)), shape=(1, n_items))
        lam = ials_lambdas(np.array([len(items)]), n_items, values["alpha0"], values["reg"], values["reg_exponent"])
        return solve_rows(row, h, values["alpha0"], lam)[0].numpy()
    # BPR: mean over uniform negatives = mean over every item the user has not interacted with
    negative = np.ones(n_items, dtype=bool)
    negative[items] = False
    bias = bool(values.get("bias", False))  # the item table's last column, the user's fixed at 1
    b = h[:, -1] if bias else torch.zeros(n_items, dtype=torch.float64)
    h = h[:, :-1] if bias else h
    pos, neg = torch.from_numpy(items), torch.from_numpy(np.flatnonzero(negative))
    hi, hj, bi, bj = h[pos], h[neg], b[pos], b[neg]
    w = torch.zeros(h.shape[1], dtype=torch.float64, requires_grad=True)
    reg = values["reg"]

    def objective() -> torch.Tensor:
        si, sj = hi @ w + bi, hj @ w + bj
        loss = torch.nn.functional.softplus(sj[None, :] - si[:, None]).mean(dim=1).sum()
        return loss + reg * len(items) * (w ** 2).sum()

    minimise([w], objective)
    w = w.detach().numpy()
    return np.append(w, 1.0) if bias else w
