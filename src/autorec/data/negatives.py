"""Negative sampling for pointwise and pairwise top-N losses (BPR, sampled cross-entropy).

``NegativeSampler(positives, kind="uniform" | "popularity", seed=...)`` draws, for each user in
an array of user indices, items that user never interacted with: uniformly over the items, or
in proportion to ``count ** exponent`` (popularity; Mikolov et al.'s 0.75 by default).  Never a
positive: candidates are drawn for every row at once, checked against the sorted
``user * n_items + item`` keys of the positives, and only the rejected rows are drawn again.
A user whose rejections persist (nearly every item, or nearly all the popularity mass, is a
positive) gets an exact draw from its own complement, so the loop always ends.  Seeded by a
`numpy.random.Generator`: the same seed and calls give the same negatives.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError

KINDS = ("uniform", "popularity")
_ROUNDS = 20  # rejection rounds before the remaining rows are drawn exactly


class NegativeSampler:
    def __init__(self, positives: sp.spmatrix, kind: str = "uniform", seed: int | np.random.Generator = 0,
                 exponent: float = 0.75) -> None:
        if kind not in KINDS:
            raise ConfigError(f"negative sampling must be one of {', '.join(KINDS)}, got {kind!r}")
        x = sp.csr_matrix(positives)
        x.sum_duplicates()
        self.n_users, self.n_items = x.shape
        self.kind = kind
        self.indptr, self.indices = x.indptr.astype(np.int64), x.indices.astype(np.int64)
        counts = np.diff(self.indptr)
        full = np.flatnonzero(counts >= self.n_items)
        if full.size:
            raise ConfigError(f"user index {int(full[0])} interacted with every one of the {self.n_items:,} items: "
                              "it has no negative to sample")
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), counts)
        self._keys = np.sort(rows * self.n_items + self.indices)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if kind == "popularity":
            weight = np.bincount(self.indices, minlength=self.n_items).astype(np.float64) ** float(exponent)
            if not weight.sum() > 0:
                raise ConfigError("popularity sampling needs at least one positive")
            self._weight = weight
            self._cdf = np.cumsum(weight) / weight.sum()
        else:
            self._weight = None

    def probabilities(self) -> np.ndarray | None:
        """Each item's probability of a draw before a user's positives are rejected (what the
        logQ correction of a sampled softmax needs); None under uniform sampling."""
        return None if self._weight is None else self._weight / self._weight.sum()

    def _draw(self, n: int) -> np.ndarray:
        if self._weight is None:
            return self.rng.integers(0, self.n_items, size=n, dtype=np.int64)
        pick = np.searchsorted(self._cdf, self.rng.random(n), side="right")
        return np.minimum(pick, self.n_items - 1).astype(np.int64)

    def is_positive(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        keys = np.asarray(users, dtype=np.int64) * self.n_items + np.asarray(items, dtype=np.int64)
        at = np.searchsorted(self._keys, keys)
        at = np.minimum(at, len(self._keys) - 1) if len(self._keys) else at
        return (self._keys[at] == keys) if len(self._keys) else np.zeros(len(keys), dtype=bool)

    def sample(self, users: np.ndarray) -> np.ndarray:
        """One negative item index per entry of ``users`` (a user may repeat)."""
        users = np.asarray(users, dtype=np.int64)
        out = self._draw(len(users))
        bad = np.flatnonzero(self.is_positive(users, out))
        for _ in range(_ROUNDS):
            if bad.size == 0:
                return out
            out[bad] = self._draw(bad.size)
            bad = bad[self.is_positive(users[bad], out[bad])]
        for row in bad:  # rare: users with most of the sampling mass among their positives
            out[row] = self._exact(int(users[row]))
        return out

    def _exact(self, user: int) -> int:
        mask = np.ones(self.n_items, dtype=bool)
        mask[self.indices[self.indptr[user]:self.indptr[user + 1]]] = False
        free = np.flatnonzero(mask)
        if self._weight is None or not self._weight[free].sum() > 0:
            return int(free[self.rng.integers(0, free.size)])
        p = self._weight[free] / self._weight[free].sum()
        return int(free[np.searchsorted(np.cumsum(p), self.rng.random(), side="right").clip(0, free.size - 1)])
