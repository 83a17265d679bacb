"""predict says per row when it answered with the default rating; recommend says when its list
is the popularity fallback for an unknown user."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import autorec
from autorec import Ensemble
from autorec.errors import ConfigError

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-v0.1"
EXPECTED = json.loads((LEGACY / "expected.json").read_text())


@pytest.mark.parametrize("name", ["i-autorec", "biased-mf"])
def test_the_fallback_flag_marks_exactly_the_default_rows(name) -> None:
    rec = autorec.load(LEGACY / name)
    users = list(EXPECTED["query_users"]) + ["nobody", rec.user_ids_[0]]
    items = list(EXPECTED["query_items"]) + [rec.item_ids_[0], "no-such-item"]
    pred, flag = rec.predict(users, items, return_fallback=True)
    np.testing.assert_array_equal(pred, rec.predict(users, items))
    assert flag[-2] and flag[-1]
    assert np.all(pred[flag] == rec.default_value_)
    known = ~flag
    assert known.any()


def test_an_ensemble_flags_a_row_when_any_member_fell_back() -> None:
    a, b = autorec.load(LEGACY / "i-autorec"), autorec.load(LEGACY / "biased-mf")
    ens = Ensemble([a, b], [1, 1], ["a", "b"], task="rating")
    users, items = ["nobody", a.user_ids_[0]], [a.item_ids_[0], a.item_ids_[0]]
    _, flag = ens.predict(users, items, return_fallback=True)
    np.testing.assert_array_equal(flag, a.fallback(users, items) | b.fallback(users, items))
    assert flag[0]


def test_recommend_for_an_unknown_user_is_the_flagged_popularity_fallback() -> None:
    rec = autorec.load(LEGACY / "biased-mf")
    top, fallback = rec.recommend("nobody", n=5, return_fallback=True)
    assert fallback and [s for _, s in top] == [rec.default_value_] * 5
    popularity = rec.item_popularity()
    ranked = [int(rec._index("item", [i])[0]) for i, _ in top]
    assert list(popularity[ranked]) == sorted(popularity, reverse=True)[:5]


def _with_a_cold_item():
    """Planted ratings, with every rating of one item and of one user held out of train, so
    the two stay in the id space with no training rating."""
    import pandas as pd

    from autorec.data import Interactions
    from planted import planted

    data = Interactions.from_frame(planted(n_users=40, n_items=25, density=0.5, seed=3))
    cold_item, cold_user = 7, 11
    train = data.take(np.flatnonzero((data.items != cold_item) & (data.users != cold_user)))
    assert isinstance(train.item_ids, (np.ndarray, pd.Index)) and len(train.item_ids) == data.n_items
    return data, train, cold_user, cold_item


def test_biases_default_answers_a_known_users_new_item_with_its_shrunk_bias(tmp_path) -> None:
    from autorec.families.baselines import fallback_biases

    data, train, cold_user, cold_item = _with_a_cold_item()
    rec = autorec.Recommender("biased-mf", params={"embedding_dim": 8}, train={"max_epochs": 2}).fit(train)
    bu, bi = fallback_biases(train)
    mu = train.global_mean
    uid, iid = data.user_ids, data.item_ids
    users = [uid[0], uid[cold_user], uid[cold_user], "nobody"]
    items = [iid[cold_item], iid[0], iid[cold_item], iid[0]]
    pred, flag = rec.predict(users, items, return_fallback=True)
    assert flag.tolist() == [True, True, True, True]
    np.testing.assert_allclose(pred, np.clip([mu + bu[0], mu + bi[0], mu, mu + bi[0]], 1, 5))
    # a model trained with the old default answers each of them with the mean
    flat = autorec.Recommender("biased-mf", params={"embedding_dim": 8}, train={"max_epochs": 2},
                               default_rating="global_mean").fit(train)
    np.testing.assert_allclose(flat.predict(users, items), mu)
    # every item's score for a known user agrees with predict, the cold item included
    np.testing.assert_allclose(rec.score_items(0), rec.predict([uid[0]] * data.n_items, iid))
    # the artifact keeps the biases
    rec.save(tmp_path / "m")
    back = autorec.load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict(users, items), pred)


def test_biases_are_the_baselines_own_at_its_defaults() -> None:
    data, train, _, _ = _with_a_cold_item()
    base = autorec.Recommender("baseline", train={"max_epochs": 200, "patience": 0}).fit(train)
    from autorec.families.baselines import fallback_biases

    bu, bi = fallback_biases(train)
    np.testing.assert_allclose(base.state_.module.user_bias.numpy(), bu, atol=1e-7)
    np.testing.assert_allclose(base.state_.module.item_bias.numpy(), bi, atol=1e-7)


def test_a_folded_in_users_unknown_item_gets_the_mean_plus_its_history_bias() -> None:
    from autorec.families.baselines import fallback_biases

    data, train, _, cold_item = _with_a_cold_item()
    rec = autorec.Recommender("biased-mf", params={"embedding_dim": 8}, train={"max_epochs": 2}).fit(train)
    _, bi = fallback_biases(train)
    history = {data.item_ids[i]: r for i, r in ((0, 5.0), (1, 4.5), (2, 5.0))}
    want = train.global_mean + sum(r - train.global_mean - bi[i] for i, r in ((0, 5.0), (1, 4.5), (2, 5.0))) / (10 + 3)
    pred, flag = rec.predict(history=history, items=[data.item_ids[cold_item], "no-such-item"], return_fallback=True)
    assert flag.all()
    np.testing.assert_allclose(pred, min(want, 5.0))


def test_default_rating_must_be_a_known_word_or_a_number() -> None:
    _, train, _, _ = _with_a_cold_item()
    with pytest.raises(ConfigError, match="default_rating must be 'biases', 'global_mean' or a number"):
        autorec.Recommender("baseline", default_rating="median").fit(train)
