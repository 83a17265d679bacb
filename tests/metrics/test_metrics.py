"""Metrics against sklearn and against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import (
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    ndcg_score,
    roc_auc_score,
)

from autorec.data.interactions import Interactions
from autorec.errors import ConfigError
from autorec.metrics import auc, logloss, mae, mse, ranking_metrics, rmse, top_k

PROPS = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------- rating
@st.composite
def pairs_of(draw, elements):
    n = draw(st.integers(1, 50))
    return draw(arrays(np.float64, n, elements=elements)), draw(arrays(np.float64, n,
                                                                       elements=elements))


@PROPS
@given(pairs_of(finite))
def test_rating_errors_match_sklearn(pair):
    y, p = pair
    assert mse(y, p) == pytest.approx(mean_squared_error(y, p), rel=1e-12, abs=1e-12)
    assert rmse(y, p) == pytest.approx(math.sqrt(mean_squared_error(y, p)), rel=1e-12,
                                       abs=1e-12)
    assert mae(y, p) == pytest.approx(mean_absolute_error(y, p), rel=1e-12, abs=1e-12)


def test_rating_errors_accumulate_in_float64():
    # float32 inputs: the float32 mean of 1e6 squared 0.1 errors drifts; float64 does not
    y = np.zeros(1_000_000, dtype=np.float32)
    p = np.full(1_000_000, 0.1, dtype=np.float32)
    assert mse(y, p) == pytest.approx(float(np.float32(0.1)) ** 2, rel=1e-12)
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)


@pytest.mark.parametrize("y, p, msg", [
    ([1, 2, 3], [1, 2], "3 values but y_pred has 2"),
    ([1, float("nan")], [1, 2], "y_true has 1 non-finite"),
    ([1, 2], [1, float("inf")], "y_pred has 1 non-finite value.*position 1"),
    ([], [], "empty"),
    (np.ones((2, 3)), np.ones((2, 3)), "1-D"),
    (["a"], [1.0], "array of numbers"),
])
def test_rating_errors_reject_bad_input(y, p, msg):
    for fn in (mse, rmse, mae):
        with pytest.raises(ConfigError, match=msg):
            fn(y, p)


def test_column_vectors_are_accepted():
    assert rmse(np.array([[1.0], [2.0]]), np.array([1.0, 4.0])) == pytest.approx(math.sqrt(2))


# ---------------------------------------------------------------------------- CTR
@st.composite
def labelled(draw, scores):
    n = draw(st.integers(2, 60))
    y = draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    y[0], y[1] = 0, 1  # both classes
    return y, draw(arrays(np.float64, n, elements=scores))


@PROPS
@given(labelled(st.floats(1e-4, 1 - 1e-4)))
def test_logloss_matches_sklearn(case):
    y, p = case
    assert logloss(y, p) == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-10)


def test_logloss_clips_and_validates():
    assert logloss([1, 0], [0.0, 1.0], eps=1e-7) == pytest.approx(-math.log(1e-7))
    assert logloss([1], [1.0]) == pytest.approx(-math.log(1 - 1e-7))
    with pytest.raises(ConfigError, match="probabilities in \\[0, 1\\]"):
        logloss([1, 0], [0.5, 1.5])
    with pytest.raises(ConfigError, match="0/1 labels"):
        logloss([1, 2], [0.5, 0.5])
    with pytest.raises(ConfigError, match="eps"):
        logloss([1], [0.5], eps=0.0)


@PROPS
@given(labelled(st.integers(-3, 3).map(float)))
def test_auc_matches_sklearn_with_ties(case):
    y, s = case
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), rel=1e-12)


@PROPS
@given(labelled(finite))
def test_auc_matches_sklearn(case):
    y, s = case
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), rel=1e-12)


def test_auc_by_hand_and_one_class():
    # pairs (pos, neg): (0.8, 0.1) win, (0.8, 0.8) tie, (0.3, 0.1) win, (0.3, 0.8) loss
    assert auc([1, 0, 1, 0], [0.8, 0.1, 0.3, 0.8]) == pytest.approx((1 + 0.5 + 1 + 0) / 4)
    with pytest.raises(ConfigError, match="both classes"):
        auc([1, 1, 1], [0.1, 0.2, 0.3])


# ---------------------------------------------------------------------------- ranking by hand
def _parts(n_users: int, n_items: int, train: dict, test: dict, test_ratings=None):
    def inter(pairs, ratings=None):
        u = np.array([u for u, items in pairs.items() for _ in items], dtype=np.int64)
        i = np.array([i for items in pairs.values() for i in items], dtype=np.int64)
        r = np.ones(len(u), np.float32) if ratings is None else np.asarray(ratings, np.float32)
        return Interactions(users=u, items=i, ratings=r, user_ids=np.arange(n_users),
                            item_ids=np.arange(n_items))
    return inter(train), inter(test, test_ratings)


LOG3, LOG4 = math.log2(3), math.log2(4)

# user 0: train {0}, test {2, 5}; after excluding item 0 the order is 3, 2, 5, 1, 4
# user 1: train {3, 4}, test {1}; the rest tie at 0 -> by index 0, 1, 2, 5 (item 1 second)
# user 2: no test items -> not averaged
HAND_SCORES = np.array([
    [9.0, 1.0, 5.0, 8.0, 0.0, 3.0],
    [0.0, 0.0, 0.0, 10.0, 10.0, 0.0],
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
])
HAND_TRAIN = {0: [0], 1: [3, 4], 2: [1]}
HAND_TEST = {0: [2, 5], 1: [1]}


def test_ranking_metrics_by_hand():
    train, test = _parts(3, 6, HAND_TRAIN, HAND_TEST)
    got = ranking_metrics(HAND_SCORES, train, test, k=(1, 3, 10))
    assert got["n_users"] == 2
    for name in ("recall", "precision", "ndcg", "hr", "mrr"):
        assert got[f"{name}@1"] == 0.0
    # k=3: user 0 top [3, 2, 5] -> hits at 2 and 3; user 1 top [0, 1, 2] -> hit at 2
    assert got["recall@3"] == pytest.approx((2 / 2 + 1 / 1) / 2)
    assert got["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert got["hr@3"] == pytest.approx(1.0)
    assert got["mrr@3"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    ndcg0 = (1 / LOG3 + 1 / LOG4) / (1 + 1 / LOG3)
    ndcg1 = (1 / LOG3) / 1
    assert got["ndcg@3"] == pytest.approx((ndcg0 + ndcg1) / 2)
    # average precision: user 0 (1/2 + 2/3) / min(3, 2), user 1 (1/2) / 1
    assert got["map@3"] == pytest.approx(((1 / 2 + 2 / 3) / 2 + 1 / 2) / 2)
    # the lists [3, 2, 5] and [0, 1, 2] cover 5 of 6 items; items 0, 1, 3, 4 are each in one
    # of 3 users' training items: popularity (1/3 / 3 + 2/3 / 3) / 2
    assert got["coverage@3"] == pytest.approx(5 / 6)
    assert got["popularity@3"] == pytest.approx((1 / 9 + 2 / 9) / 2)
    # k=10 > 6 items: the whole list; precision still divides by k
    assert got["recall@10"] == pytest.approx(1.0)
    assert got["precision@10"] == pytest.approx((2 / 10 + 1 / 10) / 2)
    assert got["ndcg@10"] == pytest.approx((ndcg0 + ndcg1) / 2)


def test_training_items_are_excluded_from_the_ranking():
    # user 1 without exclusion would rank items 3 and 4 first and item 1 fourth
    train, test = _parts(3, 6, {2: [1]}, HAND_TEST)
    got = ranking_metrics(HAND_SCORES, train, test, k=3)
    excluded = ranking_metrics(HAND_SCORES, *_parts(3, 6, HAND_TRAIN, HAND_TEST), k=3)
    assert excluded["hr@3"] == 1.0
    # without any training items user 0 ranks 0, 3, 2 (one hit at 3), user 1 ranks 3, 4, 0
    assert got["hr@3"] == pytest.approx(0.5)
    assert got["mrr@3"] == pytest.approx((1 / 3 + 0) / 2)


def test_inputs_batches_and_sparse_forms_agree():
    train, test = _parts(3, 6, HAND_TRAIN, HAND_TEST)
    dense = ranking_metrics(HAND_SCORES, train, test, k=(1, 2, 3))
    calls = []

    def score(users):
        calls.append(users.tolist())
        return HAND_SCORES[users]

    batched = ranking_metrics(score, train, test, k=(3, 2, 1), batch_size=1)
    assert batched == pytest.approx(dense)
    assert calls == [[0], [1]]  # only users with test items are scored
    sparse = ranking_metrics(HAND_SCORES, train.csr(), sp.csr_array(test.csr()), k=(1, 2, 3))
    assert sparse == pytest.approx(dense)
    only1 = ranking_metrics(HAND_SCORES, train, test, k=3, users=[1, 2])
    assert only1["n_users"] == 1 and only1["mrr@3"] == pytest.approx(0.5)


def test_relevance_threshold_keeps_high_ratings():
    train, test = _parts(3, 6, HAND_TRAIN, HAND_TEST, test_ratings=[5, 2, 4])
    got = ranking_metrics(HAND_SCORES, train, test, k=3, relevance_threshold=4)
    # user 0 keeps item 2 only (rank 2), user 1 keeps item 1 (rank 2)
    assert got["recall@3"] == pytest.approx(1.0)
    assert got["ndcg@3"] == pytest.approx(1 / LOG3)
    assert got["precision@3"] == pytest.approx(1 / 3)
    low = ranking_metrics(HAND_SCORES, train, test.csr(), k=3, relevance_threshold=5)
    assert low["n_users"] == 1


def test_ranking_metrics_rejects_bad_input():
    train, test = _parts(3, 6, HAND_TRAIN, HAND_TEST)
    overlap_train, _ = _parts(3, 6, {0: [2]}, {})
    with pytest.raises(ConfigError, match="in both train and test"):
        ranking_metrics(HAND_SCORES, overlap_train, test)
    bad = HAND_SCORES.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ConfigError, match="NaN, e.g. user 1, item 2"):
        ranking_metrics(bad, train, test)
    with pytest.raises(ConfigError, match="shape"):
        ranking_metrics(HAND_SCORES[:, :5], train, test)
    with pytest.raises(ConfigError, match="shape"):
        ranking_metrics(lambda u: HAND_SCORES[u, :5], train, test)
    with pytest.raises(ConfigError, match="positive integer"):
        ranking_metrics(HAND_SCORES, train, test, k=0)
    with pytest.raises(ConfigError, match="no user to evaluate"):
        ranking_metrics(HAND_SCORES, train, test, users=[2])
    with pytest.raises(ConfigError, match="repeats"):
        ranking_metrics(HAND_SCORES, train, test, users=[0, 0])
    with pytest.raises(ConfigError, match="share one id space"):
        ranking_metrics(HAND_SCORES, train, sp.csr_matrix((3, 7)))
    with pytest.raises(ConfigError, match="Interactions or a scipy sparse"):
        ranking_metrics(HAND_SCORES, train, np.zeros((3, 6)))


# ---------------------------------------------------------------------------- ranking vs references
@PROPS
@given(st.integers(1, 6), st.integers(1, 12), st.integers(1, 15), st.integers(0, 2**32 - 1),
       st.booleans())
def test_top_k_is_a_stable_sort(n_rows, n_items, k, seed, ties):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 3, (n_rows, n_items)).astype(float) if ties else rng.random(
        (n_rows, n_items))
    s[rng.random(s.shape) < 0.2] = -np.inf
    ref = [sorted(range(n_items), key=lambda j: (-s[r, j], j))[:k] for r in range(n_rows)]
    assert top_k(s, k).tolist() == ref


def _reference(scores, train_mask, test_mask, k):
    """Per-user loop straight from the definitions."""
    out = {m: [] for m in ("recall", "precision", "ndcg", "hr", "mrr")}
    for u in range(scores.shape[0]):
        rel = set(np.flatnonzero(test_mask[u]).tolist())
        if not rel:
            continue
        cand = [j for j in range(scores.shape[1]) if not train_mask[u, j]]
        ranked = sorted(cand, key=lambda j: (-scores[u, j], j))[:k]
        hits = [1 if j in rel else 0 for j in ranked]
        out["recall"].append(sum(hits) / len(rel))
        out["precision"].append(sum(hits) / k)
        out["hr"].append(float(any(hits)))
        out["mrr"].append(1 / (hits.index(1) + 1) if any(hits) else 0.0)
        dcg = sum(h / math.log2(j + 2) for j, h in enumerate(hits))
        idcg = sum(1 / math.log2(j + 2) for j in range(min(k, len(rel))))
        out["ndcg"].append(dcg / idcg)
    return {m: float(np.mean(v)) for m, v in out.items()}, len(out["hr"])


@st.composite
def ranking_case(draw):
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(2, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    state = rng.integers(0, 3, (n_users, n_items))  # 0 none, 1 train, 2 test
    state[0, rng.integers(n_items)] = 2  # at least one user to evaluate
    ties = draw(st.booleans())
    scores = (rng.integers(0, 3, (n_users, n_items)).astype(float) if ties
              else rng.normal(size=(n_users, n_items)))
    return scores, state == 1, state == 2, draw(st.integers(1, 14))


@PROPS
@given(ranking_case())
def test_ranking_metrics_match_the_definitions(case):
    scores, train_mask, test_mask, k = case
    got = ranking_metrics(scores, sp.csr_matrix(train_mask), sp.csr_matrix(test_mask), k=k,
                          batch_size=3)
    ref, n = _reference(scores, train_mask, test_mask, k)
    assert got["n_users"] == n
    for m, v in ref.items():
        assert got[f"{m}@{k}"] == pytest.approx(v, abs=1e-12), m


@PROPS
@given(ranking_case())
def test_ndcg_matches_sklearn_without_ties(case):
    scores, train_mask, test_mask, k = case
    rng = np.random.default_rng(int(abs(scores).sum() * 1000) % 2**32)
    scores = rng.permutation(scores.size).reshape(scores.shape).astype(float)  # distinct
    got = ranking_metrics(scores, sp.csr_matrix(train_mask), sp.csr_matrix(test_mask), k=k)
    per_user = []
    for u in range(scores.shape[0]):
        keep = ~train_mask[u]
        if not test_mask[u].any():
            continue
        if keep.sum() == 1:  # sklearn needs two items; one relevant item ranked first
            per_user.append(1.0)
            continue
        per_user.append(ndcg_score(test_mask[u][keep][None].astype(float),
                                   scores[u][keep][None], k=k))
    assert got[f"ndcg@{k}"] == pytest.approx(float(np.mean(per_user)), abs=1e-12)


def test_ranking_on_interactions_from_a_frame():
    frame = pd.DataFrame({"user": ["a", "a", "a", "b", "b"],
                          "item": [10, 20, 30, 10, 40], "rating": [5, 4, 3, 2, 1]})
    data = Interactions.from_frame(frame)
    train, test = data.take([0, 3]), data.take([1, 2, 4])
    # items by index: 10, 20, 30, 40; user a trained on 10 -> ranks 40, 30, 20
    scores = np.array([[4.0, 1.0, 2.0, 3.0], [4.0, 3.0, 2.0, 1.0]])
    got = ranking_metrics(scores, train, test, k=2)
    # a: top-2 [40, 30] one hit of 2 relevant; b: top-2 [20, 30] no hit (relevant 40)
    assert got["recall@2"] == pytest.approx((1 / 2 + 0) / 2)
    assert got["mrr@2"] == pytest.approx((1 / 2 + 0) / 2)


from hypothesis import given as _given, settings as _settings, strategies as _st  # noqa: E402


@_settings(max_examples=30, deadline=None)
@_given(_st.integers(0, 10**6), _st.integers(1, 40))
def test_ranking_metrics_are_bit_identical_whatever_the_batch_size(seed, batch):
    import scipy.sparse as sp

    from autorec.metrics.ranking import ranking_metrics

    rng = np.random.default_rng(seed)
    n_users, n_items = 37, 23
    both = rng.random((n_users, n_items))
    train = sp.csr_matrix(both < 0.3)
    test = sp.csr_matrix((both > 0.8))
    scores = np.round(rng.random((n_users, n_items)) * 4) / 4  # many ties
    a = ranking_metrics(scores, train, test, k=(1, 5, 20), batch_size=batch)
    b = ranking_metrics(scores, train, test, k=(1, 5, 20), batch_size=n_users)
    assert a == b
