"""The scikit-learn estimator contract: __init__ stores its arguments, fit validates them,
get_params(deep=True) / set_params, and sklearn.base.clone round-trips every estimator."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.base import clone

from autorec import CTRModel, Recommender
from autorec.data import Interactions
from autorec.errors import ConfigError

from planted import planted, planted_table

ESTIMATORS = [
    (Recommender, dict(model="biased_mf", params={"embedding_dim": 8}, train={"max_epochs": 2, "progress": False},
                       default_rating=3.0, clip=False)),
    (CTRModel, dict(model="fm", params={"embedding_dim": 8}, train={"max_epochs": 2, "progress": False},
                    min_count=2, dense_transform="none")),
]


@pytest.mark.parametrize("cls, kwargs", ESTIMATORS, ids=lambda x: getattr(x, "__name__", ""))
def test_clone_round_trips_and_params_are_the_constructor_arguments(cls, kwargs):
    est = cls(**kwargs)
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert list(est.get_params(deep=True)) == names
    for k, v in kwargs.items():
        assert est.get_params()[k] is v  # stored as given, not copied or resolved
    twin = clone(est)
    assert type(twin) is cls and twin is not est
    assert twin.get_params() == est.get_params()
    assert est.set_params(clip=True) is est if cls is Recommender else est.set_params(min_count=5) is est
    with pytest.raises(ConfigError, match="no parameter 'learning_rate'"):
        est.set_params(learning_rate=0.1)


def test_the_constructor_validates_nothing_and_fit_does():
    rec = Recommender("no-such-model", default_rating="somewhere")  # stored, not checked
    assert rec.get_params()["model"] == "no-such-model"
    data = Interactions.from_frame(planted(12, 10), rating_scale=(1, 5))
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'"):
        rec.fit(data)
    with pytest.raises(ConfigError, match="default_rating must be"):
        rec.set_params(model="mf").fit(data)
    with pytest.raises(ConfigError, match="unknown CTR model"):
        CTRModel("biased-mf").fit(planted_table(60))


def test_a_clone_of_a_fitted_estimator_is_unfitted_and_refits_to_the_same_model():
    data = Interactions.from_frame(planted(20, 15, seed=2), rating_scale=(1, 5))
    rec = Recommender("biased-mf", train={"max_epochs": 3, "progress": False, "batch_size": 32}).fit(data)
    twin = clone(rec)
    assert not hasattr(twin, "state_")
    with pytest.raises(ConfigError, match="not fitted"):
        twin.predict([data.user_ids[0]], [data.item_ids[0]])
    twin.fit(data)  # seeded: the same fit
    np.testing.assert_array_equal(rec.predict_index(data.users, data.items), twin.predict_index(data.users, data.items))
    assert rec.model_ == twin.model_ == "biased-mf"
