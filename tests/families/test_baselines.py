"""The baseline predictor (mu + b_u + b_i, shrunk biases): the sweeps against the ridge solution
and Koren's two-step estimate, fold-in, the artifact, bad settings, and its place in the search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import autorec
from autorec.data import Interactions
from autorec.errors import ConfigError
from autorec.families.baselines import solve_biases
from autorec.problems import RatingProblem
from autorec.search import SearchSettings, run_search
from autorec.splits import make_split
from planted import planted

CONVERGED = {"max_epochs": 500, "patience": 0}  # no validation: every sweep, to the fixed point


def _data(seed=0):
    return Interactions.from_frame(planted(n_users=50, n_items=30, density=0.3, seed=seed))


def _ridge(data, reg_user, reg_item):
    """The joint minimiser from the normal equations: [b_u; b_i] for the design [U | I]."""
    n = len(data)
    x = sp.hstack([sp.csr_matrix((np.ones(n), (np.arange(n), data.users)), shape=(n, data.n_users)),
                   sp.csr_matrix((np.ones(n), (np.arange(n), data.items)), shape=(n, data.n_items))]).tocsc()
    penalty = sp.diags(np.r_[np.full(data.n_users, reg_user), np.full(data.n_items, reg_item)])
    b = sp.linalg.spsolve((x.T @ x + penalty).tocsc(), x.T @ (data.ratings - data.global_mean))
    return b[:data.n_users], b[data.n_users:]


@pytest.mark.parametrize("reg_user,reg_item", [(10.0, 3.0), (1.0, 25.0), (0.5, 0.5)])
def test_the_sweeps_converge_to_the_ridge_solution(reg_user, reg_item) -> None:
    data = _data()
    rec = autorec.Recommender("baseline", params={"reg_user": reg_user, "reg_item": reg_item},
                              train={**CONVERGED, "progress": False}).fit(data)
    bu, bi = _ridge(data, reg_user, reg_item)
    module = rec.state_.module
    np.testing.assert_allclose(module.user_bias.numpy(), bu, atol=1e-8)
    np.testing.assert_allclose(module.item_bias.numpy(), bi, atol=1e-8)
    assert float(module.mean) == pytest.approx(data.global_mean)
    pairs = rec.predict_index(data.users, data.items)
    expected = np.clip(data.global_mean + bu[data.users] + bi[data.items], *data.rating_scale)
    np.testing.assert_allclose(pairs, expected, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 50.0), st.floats(0.0, 50.0))
def test_the_first_sweep_is_korens_two_step_estimate(seed, reg_user, reg_item) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_items = 7, 5
    users, items = rng.integers(0, n_users, 40), rng.integers(0, n_items, 40)
    residuals = rng.normal(size=40)
    bu, bi = solve_biases(users, items, residuals, np.zeros(n_users), n_items, reg_user, reg_item)
    for i in range(n_items):  # b_i = sum (r - mu) / (reg_i + n_i), then b_u from those
        mine = items == i
        want = residuals[mine].sum() / (reg_item + mine.sum()) if mine.any() else 0.0
        assert bi[i] == pytest.approx(want)
    for u in range(n_users):
        mine = users == u
        want = (residuals[mine] - bi[items[mine]]).sum() / (reg_user + mine.sum()) if mine.any() else 0.0
        assert bu[u] == pytest.approx(want)


def test_early_stopping_keeps_the_best_sweep() -> None:
    split = make_split(_data(), "random-90-10", seed=0)
    rec = autorec.Recommender("baseline", train={"progress": False}).fit(split.train, split.validation)
    hist = rec.history_
    best = min(e.validation["rmse"] for e in hist.epochs)
    assert hist.epochs[hist.best_epoch - 1].validation["rmse"] == best
    pred = rec.predict_index(split.validation.users, split.validation.items)
    assert np.sqrt(np.mean((pred - split.validation.ratings) ** 2)) == pytest.approx(best)


def test_a_training_users_history_folds_back_to_its_bias() -> None:
    # at the fixed point each user's bias solves its own ridge problem with the item biases
    # fixed, which is what fold-in solves
    data = _data()
    rec = autorec.Recommender("baseline", train={**CONVERGED, "progress": False}).fit(data)
    for u in (0, 17, 33):
        mask = data.users == u
        history = dict(zip(data.item_ids[data.items[mask]].tolist(), data.ratings[mask].tolist()))
        np.testing.assert_allclose(rec.predict(history=history, items=data.item_ids),
                                   rec.predict([data.user_ids[u]] * data.n_items, data.item_ids), atol=1e-9)


def test_save_load_and_top_n(tmp_path) -> None:
    data = _data()
    rec = autorec.Recommender("baseline", params={"reg_user": 5.0}, train={"progress": False}).fit(data)
    rec.save(tmp_path / "m")
    back = autorec.Recommender.load(tmp_path / "m")
    assert back.state_.hparams == {"reg_user": 5.0, "reg_item": 3.0}
    np.testing.assert_array_equal(back.predict(data.user_ids[data.users], data.item_ids[data.items]),
                                  rec.predict(data.user_ids[data.users], data.item_ids[data.items]))
    user = data.user_ids[0]
    top = back.recommend(user, 5)
    seen = set(data.item_ids[data.items[data.users == 0]].tolist())
    assert len(top) == 5 and not seen & {item for item, _ in top}
    scores = [s for _, s in top]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("params,message", [
    ({"reg_user": -1.0}, "reg_user must be a number >= 0"),
    ({"reg_item": "lots"}, "reg_item must be a number >= 0"),
    ({"l2": 0.1}, "baseline has no hyperparameter 'l2'"),
])
def test_bad_settings_are_one_clear_error(params, message) -> None:
    with pytest.raises(ConfigError, match=message):
        autorec.Recommender("baseline", params=params).fit(_data())


def test_unknown_users_and_items_get_the_default() -> None:
    data = _data()
    rec = autorec.Recommender("baseline", train={"progress": False}).fit(data)
    pred, fallback = rec.predict(["nobody", data.user_ids[0]], ["nothing", data.item_ids[0]], return_fallback=True)
    assert fallback.tolist() == [True, False] and pred[0] == pytest.approx(data.global_mean)


def test_the_search_warm_starts_it_and_cross_validates_it(tmp_path) -> None:
    data = Interactions.from_frame(planted(n_users=40, n_items=25, density=0.4, seed=1), name="planted")
    problem = RatingProblem(data, make_split(data, "random-90-10", seed=0))
    s = SearchSettings(models=["biased-mf", "baseline"], tuner="tpe", n_trials=4, max_epochs=3, patience=0,
                       pruner="none", seed=0, cv=3, ensemble_size=2)
    run_search(problem, s, tmp_path)
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert (board["state"] == "COMPLETE").all(), board
    # the default configurations open the study: biased-mf's (the first model), then baseline's
    assert board.sort_values("trial")["model"].tolist()[:2] == ["biased-mf", "baseline"]
