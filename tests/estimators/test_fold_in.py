"""Fold-in: predictions and top-N lists for a user outside the training data, from a history
given in the call (autorec.families.fold_in)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import autorec
from autorec import Ensemble
from autorec.data import Interactions
from autorec.errors import ConfigError
from planted import planted

CONVERGED = {"max_epochs": 400, "patience": 400, "batch_size": 4096, "lr": 0.02}


def _data(seed=0):
    return Interactions.from_frame(planted(n_users=80, n_items=50, density=0.5, seed=seed))


def _history(data, u):
    mask = data.users == u
    return dict(zip(data.item_ids[data.items[mask]].tolist(), data.ratings[mask].tolist()))


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def biased_mf(data):
    return autorec.Recommender("biased-mf", params={"embedding_dim": 8}, train=CONVERGED).fit(data)


def test_u_autorec_folds_a_training_users_history_in_exactly(data) -> None:
    # U-AutoRec encodes a user's ratings: the history is the same input row, so the same output
    rec = autorec.Recommender("u-autorec", params={"hidden": 20}, train={"max_epochs": 5}).fit(data)
    items = data.item_ids
    for u in range(0, 80, 13):
        uid = data.user_ids[u]
        np.testing.assert_allclose(rec.predict(history=_history(data, u), items=items),
                                   rec.predict([uid] * len(items), items), atol=1e-5)


def test_biased_mf_folds_a_training_user_back_to_its_trained_row(data, biased_mf) -> None:
    # at a converged model the trained user row is the minimiser of the same per-user ridge
    # objective the fold-in solves, so predictions agree up to how far training converged
    # (full-batch Adam for 400 epochs; a model stopped early is further from the optimum)
    items = data.item_ids
    gaps = [np.abs(biased_mf.predict(history=_history(data, u), items=items)
                   - biased_mf.predict([data.user_ids[u]] * len(items), items)).mean() for u in range(0, 80, 7)]
    assert np.mean(gaps) < 0.02, gaps


def test_the_mf_fold_in_is_the_closed_form_ridge_solution(data, biased_mf) -> None:
    # BiasedMF: r = mu + b_u + b_i + p_u.q_i, L2 l2_f |p_u|^2 and l2_b b_u^2 per rating
    state = biased_mf.state_
    sd = state.module.state_dict()
    q = sd["nodes.factors.tables.1.weight"].double().numpy()
    b_i = sd["head.item_bias.weight"].double().numpy()[:, 0]
    mu = float(sd["head.mean"])
    l2_f, l2_b = state.hparams["factors/l2"], state.hparams["rating_head/l2"]
    u = 3
    mask = data.users == u
    items, ratings = data.items[mask], data.ratings[mask].astype(np.float64)
    x = np.hstack([q[items], np.ones((len(items), 1))])
    reg = np.diag([l2_f] * q.shape[1] + [l2_b]) * len(items)
    sol = np.linalg.solve(x.T @ x + reg, x.T @ (ratings - mu - b_i[items]))
    expected = np.clip(mu + sol[-1] + b_i + q @ sol[:-1], 1, 5)
    got = biased_mf.predict(history=_history(data, u), items=data.item_ids)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_the_i_autorec_fold_in_is_the_ridge_solution_for_its_output_unit(data) -> None:
    rec = autorec.Recommender("i-autorec", params={"hidden": 16}, train={"max_epochs": 20, "l2": 30.0}).fit(data)
    module = rec.state_.module
    source = rec.state_.extra["source"]
    with torch.no_grad():
        z = module.encode(source.batch(np.arange(source.n_rows), transpose=False)).double().numpy()
    u = 5
    mask = data.users == u
    items, ratings = data.items[mask], data.ratings[mask].astype(np.float64)
    x = np.hstack([z[items], np.ones((len(items), 1))])
    reg = np.diag([0.5 * 30.0] * z.shape[1] + [0.0])
    sol = np.linalg.solve(x.T @ x + reg, x.T @ ratings)
    expected = np.clip(z @ sol[:-1] + sol[-1], 1, 5)
    np.testing.assert_allclose(rec.predict(history=_history(data, u), items=data.item_ids), expected, atol=1e-6)


@pytest.mark.parametrize("model,params,train", [
    ("biased-mf", {"embedding_dim": 8}, {"max_epochs": 60}),
    ("i-autorec", {"hidden": 32}, {"max_epochs": 60, "l2": 30.0}),
    ("u-autorec", {"hidden": 32}, {"max_epochs": 60, "l2": 30.0}),
    ("neumf", {}, {"max_epochs": 30}),
])
def test_folding_in_new_users_beats_the_default_rating(model, params, train) -> None:
    # strong generalisation: 20 users are left out of training; half of each one's ratings
    # are its history, the other half are predicted
    rng = np.random.default_rng(1)  # a clear rank-2 structure, so a fitted row has signal to find
    p, q = rng.normal(size=(150, 2)), rng.normal(size=(40, 2))
    full = 3 + 0.9 * (p @ q.T) + rng.normal(scale=0.2, size=(150, 40))
    u, i = np.nonzero(rng.random((150, 40)) < 0.6)
    frame = pd.DataFrame({"user": u, "item": i, "rating": np.clip(full[u, i], 1, 5)})
    held = frame["user"].isin(sorted(frame["user"].unique())[-20:])
    rec = autorec.Recommender(model, params=params, train=train).fit(Interactions.from_frame(frame[~held]))
    errs, base = [], []
    for _, rows in frame[held].groupby("user"):
        rows = rows.sample(frac=1.0, random_state=0)
        hist, rest = rows.iloc[: len(rows) // 2], rows.iloc[len(rows) // 2:]
        pred = rec.predict(history=dict(zip(hist["item"], hist["rating"])), items=rest["item"].tolist())
        errs.append((pred - rest["rating"].to_numpy()) ** 2)
        base.append((rec.default_value_ - rest["rating"].to_numpy()) ** 2)
    rmse, rmse_default = np.sqrt(np.concatenate(errs).mean()), np.sqrt(np.concatenate(base).mean())
    assert rmse < 0.95 * rmse_default, (rmse, rmse_default)


def test_recommend_from_a_history_leaves_the_history_out_and_ignores_unknown_items(data, biased_mf) -> None:
    hist = _history(data, 0)
    top = biased_mf.recommend(history={**hist, "no-such-item": 5.0}, k=5)
    assert len(top) == 5 and not {i for i, _ in top} & set(hist)
    assert top == biased_mf.recommend(history=hist, k=5)
    ids = [i for i, _ in top]
    np.testing.assert_allclose([s for _, s in top], biased_mf.predict(history=hist, items=ids))
    with_seen = biased_mf.recommend(history=hist, k=len(data.item_ids), exclude_seen=False)
    assert len(with_seen) == len(data.item_ids)
    _, flag = biased_mf.predict(history=hist, items=["no-such-item", ids[0]], return_fallback=True)
    assert flag.tolist() == [True, False]


@pytest.mark.parametrize("history,match", [
    ({"no-such-item": 4.0}, "none of the history's 1 items"),
    ({}, "none of the history's 0 items"),
    ([("a", 1, 2)], "a rating for every item"),
    ({0: "good"}, "must be a number"),
])
def test_bad_histories_are_one_clear_error(biased_mf, history, match) -> None:
    with pytest.raises(ConfigError, match=match):
        biased_mf.predict(history=history, items=[0])


def test_a_model_that_cannot_fold_in_names_models_that_can(data) -> None:
    rec = autorec.Recommender("fm", train={"max_epochs": 1}).fit(data)
    with pytest.raises(ConfigError, match="fm cannot fold in .* models that can: u-autorec"):
        rec.recommend(history=_history(data, 0))


def test_an_ensemble_folds_in_through_every_member(data, biased_mf) -> None:
    other = autorec.Recommender("u-autorec", params={"hidden": 8}, train={"max_epochs": 3}).fit(data)
    ens = Ensemble([biased_mf, other], [2, 1], ["a", "b"], task="rating")
    hist = _history(data, 4)
    items = data.item_ids[:10]
    np.testing.assert_allclose(ens.predict(history=hist, items=items),
                               (2 * biased_mf.predict(history=hist, items=items)
                                + other.predict(history=hist, items=items)) / 3)
    assert not {i for i, _ in ens.recommend(history=hist, k=5)} & set(hist)


def test_an_unknown_user_gets_the_popular_items_flagged_as_the_fallback(data, biased_mf) -> None:
    top, fallback = biased_mf.recommend("nobody", k=5, return_fallback=True)
    assert fallback
    counts = pd.Series(data.item_ids[data.items]).value_counts()
    assert counts[[i for i, _ in top]].tolist() == counts.sort_values(ascending=False).iloc[:5].tolist()
    assert all(s == biased_mf.default_value_ for _, s in top)
    assert biased_mf.recommend(data.user_ids[0], k=5, return_fallback=True)[1] is False


def test_recommend_batch_is_recommend_per_user(data, biased_mf) -> None:
    users = [data.user_ids[0], "nobody", data.user_ids[7]]
    lists, flags = biased_mf.recommend_batch(users, k=4, return_fallback=True)
    assert flags.tolist() == [False, True, False]
    for user, got in zip(users, lists):
        expected = biased_mf.recommend(user, k=4)
        assert [i for i, _ in got] == [i for i, _ in expected]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=1e-6)
    with pytest.raises(ConfigError, match="k must be a whole number"):
        biased_mf.recommend_batch(users, k=0)


@pytest.mark.parametrize("model", ["mf", "biased-mf"])
def test_mf_fast_path_scores_every_item_as_the_module_does(data, model):
    rec = autorec.Recommender(model, params={"embedding_dim": 8}, train={"max_epochs": 3}).fit(data)
    items = np.arange(len(rec.item_ids_))
    for u in (0, 17, 79):
        np.testing.assert_allclose(rec.score_items(u), rec.predict_index(np.full(len(items), u), items), atol=1e-5)
