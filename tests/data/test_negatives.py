"""Negative sampling: never a positive, seeded, and distributed as it says (uniform or by popularity)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from autorec.data.negatives import NegativeSampler
from autorec.errors import ConfigError


@st.composite
def positives(draw):
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(2, 15))
    mask = np.array(draw(st.lists(st.booleans(), min_size=n_users * n_items, max_size=n_users * n_items)))
    mask = mask.reshape(n_users, n_items)
    mask[:, draw(st.integers(0, n_items - 1))] = False  # every user keeps at least one negative
    return sp.csr_matrix(mask.astype(float))


@settings(max_examples=60, deadline=None)
@given(positives(), st.sampled_from(["uniform", "popularity"]), st.integers(0, 2**31 - 1))
def test_never_a_positive_and_seeded(x, kind, seed):
    users = np.random.default_rng(seed).integers(0, x.shape[0], size=200)
    if kind == "popularity" and x.nnz == 0:
        with pytest.raises(ConfigError, match="at least one positive"):
            NegativeSampler(x, kind, seed=seed)
        return
    a = NegativeSampler(x, kind, seed=seed).sample(users)
    b = NegativeSampler(x, kind, seed=seed).sample(users)
    assert np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < x.shape[1]
    assert not np.asarray(x[users, a]).ravel().any()


def test_uniform_is_uniform_over_the_negatives():
    x = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=float))
    draws = NegativeSampler(x, "uniform", seed=1).sample(np.zeros(80_000, dtype=np.int64))
    freq = np.bincount(draws, minlength=10) / len(draws)
    assert freq[:2].sum() == 0
    np.testing.assert_allclose(freq[2:], 1 / 8, atol=0.006)


def test_popularity_follows_count_to_the_power():
    # items 0..3 with 8, 4, 2, 1 positives among users 1..8; user 0 samples from all of them
    rows = [[], [0, 1, 2, 3], [0, 1, 2], [0, 1], [0, 1], [0], [0], [0], [0]]
    x = sp.lil_matrix((9, 5))
    for u, items in enumerate(rows):
        for i in items:
            x[u, i] = 1
    draws = NegativeSampler(x.tocsr(), "popularity", seed=2, exponent=0.75).sample(np.zeros(100_000, dtype=np.int64))
    w = np.array([8, 4, 2, 1, 0], dtype=float) ** 0.75
    np.testing.assert_allclose(np.bincount(draws, minlength=5) / len(draws), w / w.sum(), atol=0.006)


def test_a_user_with_one_negative_always_gets_it():
    # the rejection loop almost never finds item 7 of 1,000 for user 0: the exact draw does
    x = np.ones((2, 1000))
    x[0, 7] = 0
    x[1, :500] = 0
    s = NegativeSampler(sp.csr_matrix(x), "uniform", seed=0)
    assert (s.sample(np.zeros(50, dtype=np.int64)) == 7).all()


def test_a_user_with_every_item_is_refused():
    with pytest.raises(ConfigError, match="user index 1 interacted with every one of the 3 items"):
        NegativeSampler(sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 1]], dtype=float)))
    with pytest.raises(ConfigError, match="must be one of uniform, popularity"):
        NegativeSampler(sp.csr_matrix((2, 3)), "hard")
