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
