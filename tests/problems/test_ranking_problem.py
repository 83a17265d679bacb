"""The ranking task through the shared pipeline: `autorec train` and `autorec search` on
implicit feedback, with the top-N models (problems.RankingProblem)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import autorec
from autorec.cli import main as cli_main
from autorec.errors import ConfigError
from autorec.problems import RankingProblem, load_problem

runner = CliRunner()
cli_main._register()


@pytest.fixture(scope="module")
def clicks(tmp_path_factory):
    rng = np.random.default_rng(0)
    taste = rng.normal(size=(80, 2)) @ rng.normal(size=(2, 40))
    u, i = np.nonzero(taste + rng.normal(scale=0.5, size=taste.shape) > 0.7)
    path = tmp_path_factory.mktemp("clicks") / "clicks.csv"
    pd.DataFrame({"user": u, "item": i, "timestamp": rng.permutation(len(u))}).to_csv(path, index=False)
    return path


def test_implicit_data_is_a_ranking_problem(clicks):
    problem = load_problem(str(clicks), None, "loo", 0)
    assert isinstance(problem, RankingProblem) and problem.positive is None
    with pytest.raises(ConfigError, match="pass --task ranking"):
        load_problem(str(clicks), None, "loo", 0, task="rating")


def test_train_writes_a_ranking_run(clicks, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(cli_main.app, ["train", "--dataset", str(clicks), "--model", "ease", "--set", "lambda=20",
                                          "--split", "loo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "ranking" and set(metrics["test"]) >= {"recall@20", "ndcg@20", "n_users"}
    model = autorec.load(out)
    assert model.hparams_["lambda"] == 20
    assert "closed form" in result.output and (out / "report.html").exists()


def test_search_ranks_models_by_validation_ndcg(clicks, tmp_path):
    out = tmp_path / "search"
    result = runner.invoke(cli_main.app, ["search", "--dataset", str(clicks), "--split", "loo", "--trials", "5",
                                          "--refit-full", "--out", str(out)])
    assert result.exit_code == 0, result.output
    board = pd.read_csv(out / "leaderboard.csv")
    from autorec.families import model_names

    assert set(board["model"]) <= set(model_names("ranking")) and (board["state"] == "COMPLETE").all(), board["error"]
    metrics = json.loads((out / "metrics.json").read_text())
    best = board.sort_values("val_ndcg@20", ascending=False).iloc[0]
    assert metrics["validation"]["ndcg@20"] == pytest.approx(best["val_ndcg@20"])
    assert metrics["refit"] == "train+validation"
    assert autorec.load(out).recommend(0, k=3)
    # the ranking ensemble: the best trial of each other model, standardised scores, weights
    # chosen on validation users; built only when it beats the best single model there
    ens = metrics.get("ensemble") or metrics["ensemble_considered"]
    assert len(set(ens["models"])) == len(ens["models"]) >= 2 and ens["models"][0] == metrics["model"]
    if "ensemble" in metrics:
        assert ens["validation"]["ndcg@20"] > metrics["validation"]["ndcg@20"]
        assert set(ens["test"]) >= {"recall@20", "ndcg@20", "map@20", "coverage@20"}
        loaded = autorec.load(out / "ensemble")
        assert loaded.evaluate(load_problem(str(clicks), None, "loo", 0).split.test, k=20)["ndcg@20"] == \
            pytest.approx(ens["test"]["ndcg@20"])
        assert loaded.recommend(history=[1, 2, 3], k=3)


def test_cross_validation_is_refused_for_ranking(clicks, tmp_path):
    result = runner.invoke(cli_main.app, ["search", "--dataset", str(clicks), "--split", "loo", "--trials", "2",
                                          "--cv", "3", "--out", str(tmp_path / "cv")])
    assert isinstance(result.exception, ConfigError) and "--cv none" in str(result.exception)


def test_a_step_setting_for_a_closed_form_is_refused(clicks, tmp_path):
    result = runner.invoke(cli_main.app, ["train", "--dataset", str(clicks), "--model", "ease", "--set", "lr=0.1",
                                          "--split", "loo", "--out", str(tmp_path / "lr")])
    assert isinstance(result.exception, ConfigError)
    assert "ease is solved in closed form, not trained by steps: the setting(s) lr do not apply" in str(result.exception)


def test_positive_option_parses_and_reaches_the_problem(tmp_path):
    from autorec.cli.data_options import parse_positive

    assert parse_positive(">=4") == 4.0 and parse_positive("4") == 4.0 and parse_positive(" >= 3.5 ") == 3.5
    assert 3.5 < parse_positive(">3.5") < 3.5000001
    for bad in ("abc", ">=", "<4", "inf"):
        with pytest.raises(ConfigError, match="--positive"):
            parse_positive(bad)
    rng = np.random.default_rng(1)
    u, i = np.nonzero(rng.random((40, 30)) < 0.4)
    ratings = pd.DataFrame({"user": u, "item": i, "rating": rng.integers(1, 6, len(u))})
    path = tmp_path / "ratings.csv"
    ratings.to_csv(path, index=False)
    out = tmp_path / "run"
    result = runner.invoke(cli_main.app, ["train", "--dataset", str(path), "--task", "ranking", "--positive", ">3",
                                          "--model", "itemknn", "--split", "user-80-20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert autorec.load(out).positive == pytest.approx(3.0) and autorec.load(out).positive > 3.0
    assert "positives: ratings > 3" in " ".join(result.output.split())
    result = runner.invoke(cli_main.app, ["train", "--dataset", str(path), "--positive", "4", "--model", "biased-mf",
                                          "--out", str(tmp_path / "r")])
    assert isinstance(result.exception, ConfigError) and "pass --task ranking too" in str(result.exception)


def test_duplicates_option_counts_repeated_clicks(tmp_path):
    path = tmp_path / "plays.csv"
    rng = np.random.default_rng(2)
    u, i = rng.integers(0, 30, 900), rng.integers(0, 20, 900)
    pd.DataFrame({"user": u, "item": i}).to_csv(path, index=False)
    result = runner.invoke(cli_main.app, ["train", "--dataset", str(path), "--model", "popularity", "--split", "loo",
                                          "--out", str(tmp_path / "a")])
    assert isinstance(result.exception, autorec.errors.DataError) and "duplicate (user, item) pair" in str(result.exception)
    result = runner.invoke(cli_main.app, ["train", "--dataset", str(path), "--model", "popularity", "--split", "loo",
                                          "--duplicates", "count", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output


def test_strong_generalization_folds_held_out_users_in(clicks, tmp_path):
    from autorec.metrics import ranking_metrics

    problem = load_problem(str(clicks), None, "strong-80-10-10", 0)
    split = problem.split
    assert split.test_fold_in is not None and not set(split.test.users) & set(split.train.users)
    for model, params in (("ease", {"lambda": 20.0}), ("ials", {"dim": 8}), ("mult-dae", {"hidden": 16, "latent": 4})):
        est = problem.fit(model, params, {"max_epochs": 5})
        got = problem.evaluate(est, "test")
        # by hand: each test user's fold-in items are its history, one user at a time
        users = np.unique(split.test.users)
        by_hand = np.zeros((split.n_users, split.n_items))
        for u in users:
            items = split.test_fold_in.items[split.test_fold_in.users == u]
            by_hand[u] = est._history_scores(list(est.item_ids_[items]))[0]
        want = ranking_metrics(by_hand, split.test_fold_in, split.test, k=problem.KS)
        assert got["n_users"] == len(users)
        for key in ("recall@20", "ndcg@20", "map@10"):
            assert got[key] == pytest.approx(want[key], abs=1e-6), (model, key)
    with pytest.raises(ConfigError, match="bpr cannot fold in held-out users at every epoch"):
        problem.fit("bpr", {}, {"max_epochs": 2})
    with pytest.raises(ConfigError, match="i-autorec cannot fold in held-out users"):
        problem.fit("i-autorec", {"hidden": 8}, {"max_epochs": 2})
    # so the default search leaves out every model that refuses, and keeps those that fold in
    defaults = set(problem.default_models())
    assert not defaults & {"bpr", "lightgcn", "neumf", "gmf", "mf", "mlp", "i-autorec"}
    assert {"ease", "ials", "mult-vae", "u-autorec", "itemknn"} <= defaults
    assert "bpr" in load_problem(str(clicks), None, "loo", 0).default_models()
    # the search on a strong split: validation users folded in, ensemble included
    out = tmp_path / "strong"
    result = runner.invoke(cli_main.app, ["search", "--dataset", str(clicks), "--split", "strong-80-10-10",
                                          "--models", "ease,ials,itemknn", "--trials", "4", "--refit-full",
                                          "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["n_users"] == len(np.unique(split.test.users))


def test_the_ranking_ensemble_reuses_the_best_refit_and_refits_only_within_the_budget(clicks, tmp_path, monkeypatch):
    import optuna

    from autorec.search import SearchSettings, run_search
    from autorec.search import results
    from autorec.search.budget import Budget
    from autorec.search.ensemble import EnsembleSelection

    problem = load_problem(str(clicks), None, "loo", 0)
    s = SearchSettings(models=["ease", "itemknn", "popularity"], n_trials=3, refit_full=True, seed=0, warm_start=[])
    run_search(problem, s, tmp_path / "s")
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 's' / 'study.db'}")
    members = results.completed(study, problem)[:3]
    assert len({t.user_attrs["model"] for t in members}) == 3
    fitted = [results.trained(problem, t, None) for t in members]
    best_refit = results.refit_full(problem, members[0])
    # every member kept with one pick each, and counted as beating the best single model
    monkeypatch.setattr(results, "ranking_ensemble",
                        lambda blocks, score: EnsembleSelection(weights=np.ones(len(blocks)), scores=[1.0]))
    monkeypatch.setattr(type(problem), "better", lambda self, a, b: True)
    monkeypatch.setattr(results, "held_out_gains", lambda *a: [0.01, 0.01])
    calls = []
    real = results.refit_full
    monkeypatch.setattr(results, "refit_full", lambda p, t: calls.append(t.number) or real(p, t))

    key, info = results.build_ranking_ensemble(problem, members, fitted, tmp_path / "a", s, None,
                                               refit_best=best_refit)
    assert key == "ensemble" and info["refit"] == "train+validation"
    assert calls == [t.number for t in members[1:]]  # the best trial's refit is not made twice
    loaded = autorec.load(tmp_path / "a" / "ensemble")
    np.testing.assert_allclose(loaded.members[0].score_users([0, 1]), best_refit.score_users([0, 1]))

    calls.clear()
    spent = Budget(10, started=0.0)  # long past its deadline: nothing may be refit
    key, info = results.build_ranking_ensemble(problem, members, fitted, tmp_path / "b", s, spent,
                                               refit_best=best_refit)
    # an ensemble that cannot be refit is not chosen over the best model, refit
    assert key == "ensemble_considered" and calls == [] and "test" not in info
    assert info["note"].startswith("not chosen: refitting its members would take")
    assert not (tmp_path / "b" / "ensemble").exists()


def test_the_ranking_ensemble_is_judged_on_users_it_was_not_weighted_on(clicks):
    from autorec.estimators.ensemble import standardise_rows
    from autorec.search import results

    problem = load_problem(str(clicks), None, "loo", 0)
    users = problem.validation_sample(2000, 0)
    ease = problem.fit("ease", {"lambda": 20.0}, {})
    knn = problem.fit("itemknn", {"neighbours": 10}, {})
    a, b = (standardise_rows(problem.sample_scores(m, users)) for m in (ease, knn))
    # a copy of the best model adds nothing on held-out users: no gain, so no ensemble
    assert results.held_out_gains(problem, users, [a, a], seed=0) == [0.0, 0.0]
    gains = results.held_out_gains(problem, users, [a, b], seed=0)
    # by hand for the first half: weights chosen on it, the other half judged
    order = np.random.default_rng(7).permutation(len(users))
    fit, judge = np.sort(order[: len(users) // 2]), np.sort(order[len(users) // 2:])
    w = results.ranking_ensemble([a[fit], b[fit]], lambda blk: problem.sample_metric(users[fit], blk)).weights
    mixed = (w[0] * a[judge] + w[1] * b[judge]) / w.sum()
    want = problem.sample_metric(users[judge], mixed) - problem.sample_metric(users[judge], a[judge])
    assert gains[0] == pytest.approx(want)
