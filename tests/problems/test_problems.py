"""One problem per task, shared by `autorec train` (runs) and `autorec search`: the same fit,
the same scores, the same result keys for rating and CTR."""

from __future__ import annotations

import numpy as np
import pytest

from autorec import metrics
from autorec.data import Interactions
from autorec.errors import ConfigError
from autorec.problems import CTRProblem, RatingProblem, load_problem
from autorec.runs import split_settings, train_and_evaluate
from autorec.splits import make_split

from planted import planted, planted_table

FAST = {"max_epochs": 3, "patience": 0, "progress": False}


@pytest.fixture(scope="module")
def rating():
    data = Interactions.from_frame(planted(30, 20, seed=4), rating_scale=(1, 5), name="planted")
    return RatingProblem(data, make_split(data, "random-90-10", seed=0))


@pytest.fixture(scope="module")
def ctr():
    return CTRProblem(planted_table(600), "random-90-10", seed=0)


def test_both_problems_declare_the_same_interface(rating, ctr):
    for problem, metric, names in ((rating, "rmse", ("rmse", "mae")), (ctr, "logloss", ("logloss", "auc"))):
        assert problem.metric == metric and problem.metric_names == names and problem.direction == "minimize"
        assert problem.better(0.1, 0.2) and not problem.better(0.2, 0.1)
        assert problem.default_models()


def test_a_run_and_the_search_score_through_the_problem(rating, ctr):
    for problem, model, settings in ((rating, "biased_mf", {"embedding_dim": 8, "batch_size": 64}),
                                     (ctr, "fm", {"embedding_dim": 8, "batch_size": 128, "min_count": 2})):
        est, result = train_and_evaluate(problem, model, {**FAST, **settings}, seed=0)
        assert result["task"] == problem.task and result["model"] == est.model_ == model.replace("_", "-")
        assert set(result["test"]) == set(problem.metric_names)
        # the figure is the problem's own scoring of the part, as a search trial computes it
        val = problem.scores(problem.target("validation"), problem.predict(est, "validation"))
        assert result["validation"] == val
    assert result["rows"] == {k: len(v) for k, v in ctr.rows.items()}
    assert est.min_count == 2  # an estimator option, not a model hyperparameter


def test_rating_scores_are_the_metric_functions(rating):
    y = rating.target("test")
    pred = np.full(len(y), 3.0)
    assert rating.scores(y, pred) == {"rmse": metrics.rmse(y, pred), "mae": metrics.mae(y, pred)}


def test_settings_split_by_the_problem_options(rating, ctr):
    s = {"lr": 0.1, "hidden": [5], "clip": False, "min_count": 3}
    assert split_settings(s, rating.options) == ({"hidden": [5], "min_count": 3}, {"lr": 0.1}, {"clip": False})
    assert split_settings(s, ctr.options) == ({"hidden": [5], "clip": False}, {"lr": 0.1}, {"min_count": 3})


def test_load_problem_infers_the_task_and_refuses_a_mismatch(tmp_path):
    csv = tmp_path / "ratings.csv"
    planted(20, 10).to_csv(csv, index=False)
    assert isinstance(load_problem(str(csv), None, "random-90-10", 0), RatingProblem)
    with pytest.raises(ConfigError, match="needs a CTR dataset"):
        load_problem(str(csv), None, "random-90-10", 0, task="ctr")
    ranking = load_problem(str(csv), None, "random-90-10", 0, task="ranking")
    assert ranking.task == "ranking" and ranking.positive == 4.0  # ratings >= 4 are the positives
    with pytest.raises(ConfigError, match="--task must be one of"):
        load_problem(str(csv), None, "random-90-10", 0, task="clicks")
    with pytest.raises(ConfigError, match="does not apply to CTR rows"):
        CTRProblem(planted_table(50), "user-80-20")


def test_a_near_miss_of_a_training_setting_names_it(rating):
    with pytest.raises(ConfigError, match=r"--set lrr=\.\.\.: not a setting; did you mean 'lr'\?"):
        split_settings({"lrr": 0.1}, rating.options)
    with pytest.raises(ConfigError, match="did you mean 'max_epochs'"):
        split_settings({"max_epoch": 3}, rating.options)
    # model hyperparameters, bare or scoped, pass through to the model
    assert split_settings({"hidden": [5], "factors/l2": 0.1}, rating.options)[0] == {"hidden": [5], "factors/l2": 0.1}
