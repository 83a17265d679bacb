"""Top-k ranking metrics with full ranking over all items, excluding each user's training items.

For a user u with relevant test items T_u (|T_u| >= 1) and training items R_u, every item
not in R_u is ranked by score, highest first; equal scores are ordered by item index
(lower first), so results do not depend on how numpy partitions.  Items in R_u get score
-inf and therefore come last (they are never hits).  With L_k the first k items of that
list and ``hit_j = 1`` when the item at position j (1-based) is in T_u:

* ``hits@k       = sum_{j<=k} hit_j``
* ``recall@k     = hits@k / |T_u|``
* ``precision@k  = hits@k / k``
* ``hr@k         = 1 if hits@k > 0 else 0``                     (hit rate)
* ``mrr@k        = 1 / (first j <= k with hit_j = 1), else 0``  (reciprocal rank)
* ``ndcg@k       = DCG@k / IDCG@k``, ``DCG@k = sum_{j<=k} hit_j / log2(j + 1)``,
  ``IDCG@k = sum_{j <= min(k, |T_u|)} 1 / log2(j + 1)``          (binary relevance)
* ``map@k        = sum_{j<=k} hit_j hits@j / j / min(k, |T_u|)``   (average precision)

Each metric is the mean over the evaluated users: those with at least one relevant test
item (and in ``users``, when given).  Two more describe the lists, not their hits:

* ``coverage@k``   = the share of all items that are in at least one evaluated user's L_k;
* ``popularity@k`` = the mean over users of the mean popularity of the items in L_k, an
  item's popularity being the share of users with it among their training items.
"""

from __future__ import annotations

import numbers
from typing import Callable, Sequence, Union

import numpy as np
import scipy.sparse as sp

from ..data.interactions import Interactions
from ..errors import ConfigError

Scores = Union[np.ndarray, Callable[[np.ndarray], np.ndarray]]
METRICS: tuple[str, ...] = ("recall", "precision", "ndcg", "hr", "mrr", "map")
LIST_METRICS: tuple[str, ...] = ("coverage", "popularity")  # of the lists themselves
_BATCH_ELEMENTS = 4_000_000  # scores per batch: 32 MB of float64


def _binary(part, name: str, threshold: float | None) -> sp.csr_matrix:
    """users x items 0/1 CSR of a part (an Interactions or a sparse matrix's stored entries)."""
    if isinstance(part, Interactions):
        keep = np.ones(len(part), dtype=bool) if threshold is None else part.ratings >= threshold
        m = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.int8), (part.users[keep], part.items[keep])),
            shape=(part.n_users, part.n_items),
        )
    elif sp.issparse(part):
        m = sp.csr_matrix(part, copy=True)
        if threshold is not None:
            m.data = (m.data >= threshold).astype(np.int8)
            m.eliminate_zeros()
        else:
            m.data = np.ones_like(m.data, dtype=np.int8)
    else:
        raise ConfigError(f"{name} must be an Interactions or a scipy sparse users x items "
                          f"matrix, got {type(part).__name__}")
    m.sum_duplicates()
    m.data[:] = 1
    return m


def _ks(k: int | Sequence[int]) -> tuple[int, ...]:
    ks = (k,) if isinstance(k, numbers.Integral) else tuple(k)
    if not ks or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                     for v in ks):
        raise ConfigError(f"k must be a positive integer or a list of them, got {k!r}")
    return tuple(sorted(set(int(v) for v in ks)))


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Item indices of the ``k`` highest scores per row, best first, ties by lower index.

    torch's multithreaded ``topk`` finds the candidates; they are then ordered by (score,
    index), and rows where the k-th score is tied with items outside the candidates are ranked
    over every item scoring at least that much, so the tie rule holds exactly (equal to
    ``np.argsort(-scores, kind="stable")[:, :k]``, property-tested).
    """
    import torch

    scores = np.ascontiguousarray(scores)
    n_rows, n_items = scores.shape
    k = min(k, n_items)
    if k >= n_items or n_rows == 0:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    t = torch.from_numpy(scores)
    vals, idx = torch.topk(t, k, dim=1, sorted=False)
    vals, cand = vals.numpy(), idx.numpy()
    kth = vals.min(axis=1)
    tied = np.count_nonzero(scores >= kth[:, None], axis=1) > k
    out = np.take_along_axis(cand, np.lexsort((cand, -vals), axis=-1), axis=1)
    for row in np.flatnonzero(tied):
        # the k-th score is shared with items outside the candidates: rank every item scoring
        # at least that much (ties included), by score then index, and keep the first k.
        # Far fewer than all the items, even for popularity, whose counts tie by the thousand
        c = np.flatnonzero(scores[row] >= kth[row])
        out[row] = c[np.lexsort((c, -scores[row, c]))[:k]]
    return out


def ranking_metrics(
    scores: Scores,
    train: Interactions | sp.spmatrix,
    test: Interactions | sp.spmatrix,
    k: int | Sequence[int] = (10, 20),
    users: np.ndarray | Sequence[int] | None = None,
    *,
    relevance_threshold: float | None = None,
    batch_size: int | None = None,
) -> dict[str, float]:
    """Full-ranking top-k metrics (see the module docstring for the exact definitions).

    ``scores``: a dense (n_users x n_items) array, or a callable taking an int64 array of
    user indices and returning their (len(users) x n_items) scores, called once per batch
    of ``batch_size`` users (default: about 4 million scores per batch).  ``train`` /
    ``test``: `Interactions` in one id space, or users x items sparse matrices (every stored
    entry is an interaction).  ``relevance_threshold``: when given, only test ratings >= it
    are relevant (e.g. 4 on a 1-5 scale); otherwise every test interaction is.  A pair in
    both train and test is an error (a correct split never has one).  ``users`` restricts
    the evaluation to those user indices (users among them without relevant test items are
    not counted).

    Returns ``{"recall@k", "precision@k", "ndcg@k", "hr@k", "mrr@k", "map@k", "coverage@k",
    "popularity@k"}`` for each k, plus ``n_users``: how many users were averaged over.
    """
    ks = _ks(k)
    tr = _binary(train, "train", None)
    te = _binary(test, "test", relevance_threshold)
    if tr.shape != te.shape:
        raise ConfigError(f"train is {tr.shape[0]} users x {tr.shape[1]} items but test is "
                          f"{te.shape[0]} x {te.shape[1]}; they must share one id space")
    n_users, n_items = tr.shape
    overlap = tr.multiply(te).tocoo()
    if overlap.nnz:
        raise ConfigError(f"{overlap.nnz} (user, item) pairs are in both train and test, e.g. "
                          f"user {int(overlap.row[0])}, item {int(overlap.col[0])}; ranking "
                          "excludes training items, so these could never be hits")

    n_rel_all = np.diff(te.indptr)
    if users is None:
        eval_users = np.flatnonzero(n_rel_all > 0)
    else:
        given = np.asarray(users)
        if given.ndim != 1 or not np.issubdtype(given.dtype, np.integer):
            raise ConfigError("users must be a 1-D array of user indices")
        if given.size and (given.min() < 0 or given.max() >= n_users):
            raise ConfigError(f"users must be indices in [0, {n_users}); got values from "
                              f"{given.min()} to {given.max()}")
        if np.unique(given).size != given.size:
            raise ConfigError("users repeats an index; each user must be counted once")
        eval_users = given[n_rel_all[given] > 0].astype(np.int64)
    if eval_users.size == 0:
        raise ConfigError("no user to evaluate: no (selected) user has a relevant test item")

    if callable(scores):
        score_fn = scores
    else:
        dense = scores
        if getattr(dense, "shape", None) is None or tuple(dense.shape) != (n_users, n_items):
            raise ConfigError(f"scores must be a ({n_users} x {n_items}) array or a callable, "
                              f"got shape {getattr(dense, 'shape', type(dense).__name__)}")
        score_fn = lambda idx: dense[idx]  # noqa: E731

    if batch_size is None:
        batch_size = max(1, _BATCH_ELEMENTS // max(n_items, 1))
    elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")

    kmax = min(max(ks), n_items)
    discount = 1.0 / np.log2(np.arange(2, kmax + 2, dtype=np.float64))
    ideal = np.cumsum(discount)  # ideal[m-1] = IDCG with m relevant items in the list
    # per-user values, summed once at the end in user order: the result is the same bit for
    # bit whatever the batch size (a running sum per batch would round differently)
    values = {f"{m}@{kk}": np.zeros(eval_users.size) for kk in ks for m in METRICS + ("popularity",)}
    covered = {kk: np.zeros(n_items, dtype=bool) for kk in ks}
    item_popularity = np.diff(tr.tocsc().indptr) / max(n_users, 1)

    for start in range(0, eval_users.size, batch_size):
        batch = eval_users[start:start + batch_size]
        s = np.array(score_fn(batch))  # a copy: -inf is written into it
        if not np.issubdtype(s.dtype, np.floating):
            s = s.astype(np.float64)  # float32 stays float32: the same order and ties, half the bytes
        if s.shape != (batch.size, n_items):
            raise ConfigError(f"scores for {batch.size} users must have shape "
                              f"({batch.size}, {n_items}), got {s.shape}")
        if np.isnan(s).any():
            row, col = np.argwhere(np.isnan(s))[0]
            raise ConfigError(f"scores contain NaN, e.g. user {int(batch[row])}, "
                              f"item {int(col)}")
        seen = tr[batch].tocoo()
        s[seen.row, seen.col] = -np.inf
        te_batch = te[batch]
        n_rel = np.diff(te_batch.indptr)
        top = top_k(s, kmax)
        # relevance only at the ranked positions: a batch x kmax lookup, not batch x n_items
        hits = np.asarray(te_batch[np.arange(batch.size)[:, None], top].todense()).astype(bool)
        for kk in ks:
            h = hits[:, :min(kk, n_items)]
            n_hit = h.sum(axis=1)
            first = np.argmax(h, axis=1)
            any_hit = n_hit > 0
            # per row, not a matrix product: BLAS blocks by the batch's shape, so h @ discount
            # rounded differently at different batch sizes
            dcg = (h * discount[:h.shape[1]]).sum(axis=1)
            idcg = ideal[np.minimum(n_rel, h.shape[1]) - 1]
            at = slice(start, start + batch.size)
            values[f"recall@{kk}"][at] = n_hit / n_rel
            values[f"precision@{kk}"][at] = n_hit / kk
            values[f"hr@{kk}"][at] = any_hit
            values[f"mrr@{kk}"][at] = np.where(any_hit, 1.0 / (first + 1), 0.0)
            values[f"ndcg@{kk}"][at] = dcg / idcg
            precision_at = np.cumsum(h, axis=1) / np.arange(1, h.shape[1] + 1)
            values[f"map@{kk}"][at] = (precision_at * h).sum(axis=1) / np.minimum(n_rel, h.shape[1])
            listed = top[:, :h.shape[1]]
            covered[kk][listed.ravel()] = True
            values[f"popularity@{kk}"][at] = item_popularity[listed].mean(axis=1)

    out: dict[str, float] = {name: float(v.sum()) / eval_users.size for name, v in values.items()}
    out.update({f"coverage@{kk}": float(c.sum()) / n_items for kk, c in covered.items()})
    out["n_users"] = int(eval_users.size)
    return out
