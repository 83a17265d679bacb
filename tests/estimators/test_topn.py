"""TopNModel: popularity, ItemKNN and EASE on implicit feedback, exact against their formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import autorec
from autorec import TopNModel
from autorec.data import Interactions
from autorec.errors import ConfigError
from autorec.splits import make_split

from planted import planted_clicks


def _implicit(n_users=60, n_items=30, seed=0):
    return planted_clicks(n_users, n_items, rank=2, threshold=0.8, seed=seed)


@pytest.fixture(scope="module")
def data():
    return _implicit()


def test_ease_is_its_closed_form(data):
    model = TopNModel("ease", params={"lambda": 7.0}).fit(data)
    x = data.csr().toarray().astype(float)
    p = np.linalg.inv(x.T @ x + 7.0 * np.eye(x.shape[1]))
    b = np.eye(x.shape[1]) - p / np.diag(p)
    np.testing.assert_allclose(np.diag(b), 0.0, atol=1e-9)
    np.testing.assert_allclose(model.score_users(np.arange(data.n_users)), x @ b, atol=1e-8)


def test_itemknn_is_shrunk_cosine_over_the_top_neighbours(data):
    model = TopNModel("itemknn", params={"neighbours": 5, "shrink": 2.0}).fit(data)
    x = data.csr().toarray().astype(float)
    norms = np.sqrt(x.sum(0))
    sim = (x.T @ x) / (np.outer(norms, norms) + 2.0)
    np.fill_diagonal(sim, 0.0)
    keep = np.zeros_like(sim)
    for i in range(sim.shape[0]):
        order = np.lexsort((np.arange(sim.shape[1]), -sim[i]))
        top = [j for j in order[:5] if sim[i, j] != 0]
        keep[i, top] = sim[i, top]
    np.testing.assert_allclose(model.score_users(np.arange(data.n_users)), x @ keep.T, atol=1e-10)


def test_gfcf_is_its_linear_plus_ideal_low_pass_filter(data):
    model = TopNModel("gf-cf", params={"k": 6, "alpha": 0.7}).fit(data)
    x = data.csr().toarray().astype(float)
    du, di = x.sum(1), x.sum(0)
    r = x / np.sqrt(np.maximum(du, 1))[:, None] / np.sqrt(np.maximum(di, 1))[None, :]
    r[:, di == 0] = 0
    _, _, vt = np.linalg.svd(r)
    v = vt[:6]  # the top 6 right singular vectors (up to sign, which V^T V does not see)
    d_inv = np.where(di > 0, 1 / np.sqrt(np.maximum(di, 1)), 0)
    want = x @ r.T @ r + 0.7 * (x * d_inv) @ v.T @ v * np.sqrt(di)
    np.testing.assert_allclose(model.score_users(np.arange(data.n_users)), want, atol=1e-8)
    with pytest.raises(ConfigError, match="gf-cf: k=30 singular vectors need more than 30 users and items"):
        TopNModel("gf-cf", params={"k": 30}).fit(data)


def _graph(x, k):
    """R, P = R^T R, and the ideal low-pass filter L of the 0/1 matrix x, densely."""
    du, di = x.sum(1), x.sum(0)
    r = x / np.sqrt(np.maximum(du, 1))[:, None] / np.sqrt(np.maximum(di, 1))[None, :]
    r[:, di == 0] = 0
    _, _, vt = np.linalg.svd(r)
    v = vt[:k]
    d_inv = np.where(di > 0, 1 / np.sqrt(np.maximum(di, 1)), 0)
    return r.T @ r, (d_inv[:, None] * v.T) @ (v * np.sqrt(di)[None, :])


@pytest.mark.parametrize("solver, steps, merge, combine", [("rk4", 1, "early", False), ("euler", 3, "late", False),
                                                           ("euler", 1, "early", True), ("rk4", 2, "late", True)])
def test_bspm_is_blurring_then_a_polynomial_of_the_item_graph(data, solver, steps, merge, combine):
    """Euler's step is I - hP and RK4's the degree-4 Taylor polynomial of exp(-hP): BSPM's
    scores, by its definition, written densely."""
    t, beta = 2.5, 0.4
    model = TopNModel("bspm", params={"k": 6, "beta": beta, "t_sharpen": t, "sharpen_steps": steps,
                                      "solver": solver, "merge": merge, "combine": combine}).fit(data)
    x = data.csr().toarray().astype(float)
    p, ideal = _graph(x, 6)
    h, eye = t / steps, np.eye(p.shape[0])
    hp = h * p
    step = eye - hp if solver == "euler" else eye - hp + hp @ hp / 2 - hp @ hp @ hp / 6 + hp @ hp @ hp @ hp / 24
    blurred = x @ p
    y = blurred + beta * x @ ideal if merge == "early" else blurred
    points = [blurred]
    for _ in range(steps):
        y = y @ step
        points.append(y)
    want = np.mean(points, axis=0) if combine else y
    if merge == "late":
        want = want + beta * x @ ideal
    got = model.score_users(np.arange(data.n_users))
    np.testing.assert_allclose(got, want, atol=2e-5 * np.abs(want).max())  # the propagation is float32


def test_bspm_without_sharpening_is_gfcf(data):
    gfcf = TopNModel("gf-cf", params={"k": 6, "alpha": 0.7}).fit(data)
    bspm = TopNModel("bspm", params={"k": 6, "beta": 0.7, "t_sharpen": 0.0, "combine": False}).fit(data)
    want = gfcf.score_users(np.arange(data.n_users))
    np.testing.assert_allclose(bspm.score_users(np.arange(data.n_users)), want, atol=1e-5 * np.abs(want).max())


def test_graph_filters_reuse_a_cached_svd_only_for_the_same_matrix_and_k(data):
    from autorec.families import graph_filters

    graph_filters.clear_cache()
    first = TopNModel("gf-cf", params={"k": 6}).fit(data).state_.lowpass_out
    assert len(graph_filters._SVD_CACHE) == 1
    again = TopNModel("bspm", params={"k": 6}).fit(data).state_.lowpass_out
    np.testing.assert_array_equal(first, again)
    assert len(graph_filters._SVD_CACHE) == 1
    TopNModel("bspm", params={"k": 5}).fit(data)
    TopNModel("bspm", params={"k": 6}).fit(_implicit(seed=1))
    assert len(graph_filters._SVD_CACHE) == 3


@pytest.mark.parametrize("params, message", [({"solver": "heun"}, "bspm: solver must be one of euler, rk4"),
                                             ({"merge": "middle"}, "bspm: merge must be one of early, late"),
                                             ({"sharpen_steps": 0}, "bspm: sharpen_steps must be a whole number"),
                                             ({"t_sharpen": -1.0}, "bspm: t_sharpen must be a number >= 0"),
                                             ({"combine": "yes"}, "bspm: combine must be true or false"),
                                             ({"gamma": 1.0}, r"bspm has no parameter\(s\) \['gamma'\]")])
def test_bspm_refuses_bad_settings(data, params, message):
    with pytest.raises(ConfigError, match=message):
        TopNModel("bspm", params=params).fit(data)


@pytest.mark.parametrize("name", ["popularity", "itemknn", "ease", "gf-cf", "bspm"])
def test_recommend_fold_in_save_and_load(data, name, tmp_path):
    params = {"ease": {"lambda": 10.0}, "gf-cf": {"k": 5}, "bspm": {"k": 5}}.get(name)
    model = TopNModel(name, params=params).fit(data)
    user = data.user_ids[3]
    top = model.recommend(user, k=5)
    seen = set(data.item_ids[data.items[data.users == 3]].tolist())
    assert len(top) == 5 and not {i for i, _ in top} & seen
    # the history is the user's row: folding a training user in gives its own list exactly
    assert model.recommend(history=sorted(seen), k=5) == top
    again = autorec.load(model.save(tmp_path / name))
    assert isinstance(again, TopNModel) and again.recommend(user, k=5) == top
    lists, flags = again.recommend_batch([user, "stranger"], k=5, return_fallback=True)
    assert lists[0] == top and flags.tolist() == [False, True]
    assert [i for i, _ in lists[1]] == [i for i, _ in TopNModel("popularity").fit(data).recommend(
        "stranger", k=5)]


def test_evaluate_is_ranking_metrics_of_its_scores(data):
    split = make_split(data, "user-80-20", seed=0)
    model = TopNModel("ease", params={"lambda": 5.0}).fit(split.train)
    from autorec.metrics.ranking import ranking_metrics

    got = model.evaluate(split.test, k=(5, 10))
    expected = ranking_metrics(model.score_users(np.arange(data.n_users)), split.train, split.test, k=(5, 10))
    assert got == expected
    pop = TopNModel("popularity").fit(split.train).evaluate(split.test, k=10)
    assert got["ndcg@10"] > pop["ndcg@10"]  # EASE finds the planted taste; popularity cannot


def test_ratings_become_positives_by_a_threshold():
    frame = pd.DataFrame({"user": [0, 0, 0, 1, 1, 2], "item": [0, 1, 2, 0, 2, 1], "rating": [5, 2, 4, 4, 1, 5]})
    data = Interactions.from_frame(frame)
    model = TopNModel("popularity", positive=4).fit(data)
    np.testing.assert_array_equal(model.item_popularity(), [2, 1, 1])  # only ratings >= 4 count
    assert model.recommend(history={0: 5, 2: 1}, k=2) == model.recommend(history=[0], k=2)


@pytest.mark.parametrize("name,params,match", [
    ("eas", None, "unknown top-N model 'eas'"),
    ("ease", {"lambda": 0}, "lambda must be a number > 0"),
    ("ease", {"alpha": 3}, "no parameter"),
    ("itemknn", {"neighbours": 0}, "neighbours must be"),
])
def test_bad_settings_are_one_clear_error(data, name, params, match):
    with pytest.raises(ConfigError, match=match):
        TopNModel(name, params=params).fit(data)


def test_ease_refuses_a_catalogue_too_large_for_a_dense_matrix(data):
    with pytest.raises(ConfigError, match="dense .* max_items=10"):
        TopNModel("ease", params={"max_items": 10}).fit(data)


@pytest.mark.parametrize("name", ["gf-cf", "bspm"])
def test_the_search_draws_no_more_singular_vectors_than_a_small_matrix_has(data, name):
    from autorec.families.topn import TopNFamily
    from autorec.hparams import DefaultHP

    params = TopNFamily().search_params(name, DefaultHP(), data)  # the space's default k is 256
    assert params["k"] == min(data.n_users, data.n_items) - 1
    TopNModel(name, params=params).fit(data)
