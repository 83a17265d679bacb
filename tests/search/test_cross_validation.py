"""Selection by K-fold cross-validation with bagged fold models (--cv)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autorec
from autorec import Ensemble
from autorec.data import Interactions
from autorec.errors import ConfigError
from autorec.metrics import rmse
from autorec.problems import CrossValidated, RatingProblem
from autorec.search import SearchSettings, run_search
from autorec.search.space import resolve_cv
from autorec.splits import make_split

from planted import planted


@pytest.fixture(scope="module")
def problem():
    data = Interactions.from_frame(planted(60, 40, seed=11), rating_scale=(1, 5), name="planted")
    return RatingProblem(data, make_split(data, "random-90-10", seed=0))


class _Pool:
    def __init__(self, n):
        self.n = n
        for name in ("task", "metric", "direction", "metric_names", "options", "name", "split_name"):
            setattr(self, name, name)

    def pool_size(self):
        return self.n


@given(n=st.integers(10, 500), k=st.integers(2, 5), seed=st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_folds_partition_the_pool_evenly_and_reproducibly(n, k, seed):
    cv = CrossValidated(_Pool(n), k, seed=seed)
    rows = np.concatenate(cv.folds)
    assert sorted(rows.tolist()) == list(range(n))  # disjoint and complete
    sizes = [len(f) for f in cv.folds]
    assert max(sizes) - min(sizes) <= 1
    again = CrossValidated(_Pool(n), k, seed=seed)
    assert all(np.array_equal(a, b) for a, b in zip(cv.folds, again.folds))


def test_out_of_fold_predictions_come_from_the_model_that_did_not_see_the_row(problem):
    cv = CrossValidated(problem, 3, seed=0)
    bag = cv.fit("biased-mf", {"embedding_dim": 8}, {"max_epochs": 3, "progress": False, "batch_size": 64})
    assert isinstance(bag, Ensemble) and len(bag.members) == 3 and bag.complete_
    assert np.isfinite(bag.oof_).all() and len(bag.oof_) == problem.pool_size()
    for f, held in enumerate(cv.folds):
        np.testing.assert_array_equal(bag.oof_[held], problem.predict_pool(bag.members[f], held))
    # the score is the metric of the out-of-fold predictions over every non-test rating
    assert cv.evaluate(bag, "validation")["rmse"] == pytest.approx(rmse(problem.pool_target(), bag.oof_))
    # the bag predicts test as the average of its fold models
    test = problem.split.test
    avg = np.mean([m.predict_index(test.users, test.items) for m in bag.members], axis=0)
    np.testing.assert_allclose(cv.predict(bag, "test"), avg, atol=1e-12)


def test_a_cross_validated_search_returns_a_bag_that_loads_and_scores_as_reported(problem, tmp_path):
    s = SearchSettings(models=["biased-mf", "mf"], tuner="random", n_trials=4, max_epochs=4, patience=0,
                       pruner="none", seed=0, cv=3, ensemble_size=3, cv_refit=False)
    result = run_search(problem, s, tmp_path)
    assert result["cv"] == {"folds": 3, "pool_rows": problem.pool_size(), "raced_out": result["cv"]["raced_out"],
                            "raced_out_after": result["cv"]["raced_out_after"]}
    assert sum(result["cv"]["raced_out_after"].values()) == result["cv"]["raced_out"]
    assert result["refit"].startswith("bagged")
    model = autorec.load(tmp_path)
    assert isinstance(model, Ensemble) and len(model.members) == 3
    test = problem.split.test
    assert rmse(test.ratings, model.predict_index(test.users, test.items)) == pytest.approx(result["test"]["rmse"])
    kept = sorted((tmp_path / "trials").iterdir())
    assert kept and all((k / "oof.safetensors").exists() for k in kept)
    if "ensemble" in result:  # an ensemble of bags, selected on out-of-fold predictions
        ens = autorec.load(tmp_path / "ensemble")
        assert all(isinstance(m, Ensemble) for m in ens.members)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["validation"]["rmse"] == pytest.approx(result["validation"]["rmse"])


def test_resolve_cv(problem):
    assert resolve_cv("auto", problem) == 5  # about 200 validation ratings: too few to select on
    assert resolve_cv(None, problem) is None and resolve_cv("none", problem) is None
    assert resolve_cv(3, problem) == 3 and resolve_cv("4", problem) == 4
    for bad in ("1", "abc", "2.5"):
        with pytest.raises(ConfigError, match="--cv"):
            resolve_cv(bad, problem)


def test_by_default_cross_validation_refits_one_model_on_the_pool(problem, tmp_path):
    s = SearchSettings(models=["baseline"], tuner="random", n_trials=2, max_epochs=30, patience=3,
                       pruner="none", seed=0, cv=3, ensemble_size=1)
    result = run_search(problem, s, tmp_path)
    assert result["refit"].startswith("train+validation")
    model = autorec.load(tmp_path)
    assert not isinstance(model, Ensemble)
    # every non-test rating trained it, for the median of the folds' best epoch counts
    assert model.seen_users_.sum() == len(np.unique(problem._pool().users))
    import optuna

    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    folds = study.trials[result["best_trial"]].user_attrs["fold_best_epochs"]
    assert len(folds) == 3 and all(e >= 1 for e in folds)
    assert model.train_config_.max_epochs == int(np.median(folds)) and model.train_config_.patience == 0
    test = problem.split.test
    assert rmse(test.ratings, model.predict_index(test.users, test.items)) == pytest.approx(result["test"]["rmse"])


def test_the_ensemble_of_a_cross_validated_search_is_of_refits(problem, tmp_path):
    s = SearchSettings(models=["baseline", "biased-mf"], tuner="random", n_trials=6, max_epochs=6, patience=2,
                       pruner="none", seed=0, cv=3, ensemble_size=4)
    result = run_search(problem, s, tmp_path)
    assert result["refit"].startswith("train+validation")
    key = "ensemble" if "ensemble" in result else "ensemble_considered"
    if key == "ensemble":  # selected on out-of-fold predictions, each member then refit
        assert all(result["ensemble"]["refit"])
        ens = autorec.load(tmp_path / "ensemble")
        assert not any(isinstance(m, Ensemble) for m in ens.members)
        test = problem.split.test
        assert rmse(test.ratings, ens.predict_index(test.users, test.items)) == pytest.approx(
            result["ensemble"]["test"]["rmse"])
    else:
        assert "note" in result[key]


def test_refit_full_refits_the_ensembles_members_too(problem, tmp_path):
    # on the plain validation part: the best and every weighted member on train + validation,
    # each for its trial's best epoch count, with the weights chosen on validation
    s = SearchSettings(models=["biased-mf", "i-autorec"], tuner="random", n_trials=6, max_epochs=8, patience=2,
                       pruner="none", seed=0, cv=None, refit_full=True, fixed={"i-autorec/hidden_units": 100})
    result = run_search(problem, s, tmp_path)
    assert result["refit"] == "train+validation"
    info = result["ensemble"]
    assert info["refit"] and all(info["refit"])
    ens = autorec.load(tmp_path / "ensemble")
    for member in ens.members:
        assert member.train_config_.patience == 0  # a refit: a fixed number of epochs, no early stop
    test = problem.split.test
    assert rmse(test.ratings, ens.predict_index(test.users, test.items)) == pytest.approx(info["test"]["rmse"])
    # no budget: every weighted member refit with two seeds, sharing its Caruana weight equally
    weights = [w for w in info["weights"] if w > 0]
    assert info["refit_seeds"] == [2] * len(weights)
    assert len(ens.members) == 2 * len(weights)
    assert ens.weights.tolist() == pytest.approx([w / 2 for w in weights for _ in range(2)])
    assert ens.names[1] == ens.names[0] + "-seed1"
    first, second = ens.members[0], ens.members[1]
    assert second.train_config_.seed == first.train_config_.seed + 1
    assert not np.allclose(first.predict_index(test.users, test.items), second.predict_index(test.users, test.items))


def test_refit_seeds_one_trains_each_member_once(problem, tmp_path):
    s = SearchSettings(models=["biased-mf", "i-autorec"], tuner="random", n_trials=6, max_epochs=8, patience=2,
                       pruner="none", seed=0, cv=None, refit_full=True, refit_seeds=1,
                       fixed={"i-autorec/hidden_units": 100})
    info = run_search(problem, s, tmp_path)["ensemble"]
    assert info["refit_seeds"] == [1] * sum(w > 0 for w in info["weights"])
    assert len(autorec.load(tmp_path / "ensemble").members) == len(info["refit_seeds"])
    with pytest.raises(ConfigError, match="--refit-seeds must be a whole number >= 1"):
        SearchSettings(models=["mf"], refit_seeds=0)


def test_extra_refit_seeds_are_trained_only_while_the_budget_has_room(problem, tmp_path):
    # build_ensemble asks room(seconds of the member's first refit) before each extra copy
    from autorec.search.results import build_ensemble

    rng = np.random.default_rng(0)
    y = problem.target("validation")
    fitted = [(f"model-{i}", y + rng.normal(0, 0.3, len(y))) for i in range(3)]
    members = [type("T", (), {"number": i})() for i in range(3)]
    calls, asked = [], []

    class Fit:
        def __init__(self, i, offset):
            self.i, self.offset, self.fit_seconds_ = i, offset, 10.0 * (i + 1)

        def predict_index(self, users, items):
            return np.full(len(users), 3.0)

    def refit(i, offset):
        calls.append((i, offset))
        return Fit(i, offset)

    def room(seconds):
        asked.append(seconds)
        return seconds <= 20.0  # room for the copies of the two cheaper members only

    saved = []
    original = Ensemble.save
    Ensemble.save = lambda self, path: saved.append(self)
    try:
        key, info = build_ensemble(problem, members, fitted, tmp_path, refit=refit, seeds=2, room=room)
    finally:
        Ensemble.save = original
    assert key == "ensemble"
    kept = [i for i, w in enumerate(info["weights"]) if w > 0]
    assert sorted(asked) == sorted(10.0 * (i + 1) for i in kept)
    assert {(i, 1) for i in kept if i < 2} == {c for c in calls if c[1] == 1}
    assert info["refit_seeds"] == [2 if i < 2 else 1 for i in kept]
    assert len(saved[0].members) == sum(info["refit_seeds"])
