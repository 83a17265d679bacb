"""--time-budget bounds the whole search, results included; the best trials' models are kept so
the results need no retraining."""

from __future__ import annotations

import json
import time

import optuna
import pytest

import autorec.search.results as results
from autorec.data import Interactions
from autorec.errors import ConfigError
from autorec.problems import RatingProblem
from autorec.search import SearchSettings, run_search
from autorec.search.budget import Budget
from autorec.splits import make_split

from planted import planted


@pytest.fixture(scope="module")
def problem():
    data = Interactions.from_frame(planted(80, 50, seed=7), rating_scale=(1, 5), name="planted")
    return RatingProblem(data, make_split(data, "random-90-10", seed=0))


def test_budget_reserve_and_deadlines():
    b = Budget(600, started=100.0)
    assert b.deadline == 700.0 and b.reserve() == pytest.approx(12.0)
    assert b.trials_deadline() == pytest.approx(688.0)
    assert b.trials_deadline(refit_seconds=40) == pytest.approx(638.0)
    assert Budget(60, started=0).reserve() == 5.0  # at least 5 s
    assert Budget(None).trials_deadline() is None and Budget(None).left() is None


def test_the_budget_holds_for_the_whole_search_and_results_are_not_retrained(problem, tmp_path, monkeypatch):
    def no_refit(*a, **k):
        raise AssertionError("the results retrained a kept trial")

    monkeypatch.setattr(results, "refit", no_refit)
    s = SearchSettings(models=["i-autorec", "biased-mf"], tuner="random", n_trials=None, time_budget=12,
                       max_epochs=100_000, patience=0, pruner="none", seed=0, ensemble_size=3,
                       fixed={"i-autorec/hidden_units": 100}, cv=None)
    t0 = time.monotonic()
    result = run_search(problem, s, tmp_path, started=t0)
    elapsed = time.monotonic() - t0
    assert elapsed <= 12 * 1.05 + 1.0, elapsed  # everything, results included
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    # patience 0 and 100,000 epochs: only a time limit ends a trial (the budget, or a trial's share of it)
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert finished and all(t.user_attrs.get("stopped_by_budget") or t.user_attrs.get("timed_out") for t in finished)
    kept = sorted(p.name for p in (tmp_path / "trials").iterdir())
    complete = sorted((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
                      key=lambda t: (t.value, t.number))
    # the ensemble's candidates: best first, at most ensemble_per_model (2) of one model
    assert kept == sorted(f"trial-{t.number}" for t in results.candidates_of(complete, problem, s))
    assert len(kept) == min(3, len(complete))
    assert result["best_trial"] == complete[0].number
    assert json.loads((tmp_path / "metrics.json").read_text())["test"]


def test_kept_models_keep_the_best_and_drop_the_displaced(problem, tmp_path):
    study = optuna.create_study()
    kept = results.KeptModels(tmp_path, SearchSettings(models=["mf"], ensemble_size=2), problem)
    est = problem.fit("mf", {"embedding_dim": 8}, {"max_epochs": 1, "progress": False})
    for value in (0.9, 0.8, 0.95, 0.7):
        trial = study.ask()
        assert kept.offer(study, trial.number, value, "mf", est) == (value != 0.95)
        trial.set_user_attr("model", "mf")
        study.tell(trial, value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial-1", "trial-3"]
    again = kept.load(3)
    assert again.history_.epochs and again.model_ == "mf"
    assert kept.load(0) is None  # displaced, so a refit would be needed


def test_kept_models_hold_the_diverse_candidates(problem, tmp_path):
    """With at most one trial of a model, a better trial of a kept model displaces its own
    model's trial, not the other model's."""
    study = optuna.create_study()
    kept = results.KeptModels(tmp_path, SearchSettings(models=["mf", "baseline"], ensemble_size=2,
                                                       ensemble_per_model=1), problem)
    est = problem.fit("mf", {"embedding_dim": 8}, {"max_epochs": 1, "progress": False})
    for model, value in (("mf", 0.9), ("baseline", 0.95), ("mf", 0.8), ("mf", 0.85), ("baseline", 0.99)):
        trial = study.ask()
        kept.offer(study, trial.number, value, model, est)
        trial.set_user_attr("model", model)
        study.tell(trial, value)
    # mf 0.8 (trial 2) and baseline 0.95 (trial 1); mf 0.85 is better than the baseline but a second mf
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial-1", "trial-2"]


def test_no_trial_takes_more_than_its_share_of_the_budget(problem, tmp_path):
    s = SearchSettings(models=["biased-mf"], tuner="random", n_trials=None, time_budget=12, max_trial_share=0.2,
                       max_epochs=100_000, patience=0, pruner="none", seed=0, ensemble_size=1, cv=None,
                       refit_full=False)  # the shares, not the refit reserve, are under test
    run_search(problem, s, tmp_path)
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) >= 3  # 12 s at 20% each: several trials, not one that eats the budget
    for t in done:
        assert t.user_attrs["seconds"] <= 12 * 0.2 + 0.5
        assert t.user_attrs.get("timed_out") or t.user_attrs.get("stopped_by_budget")


def test_finishing_is_reserved_refit_and_the_ranking_ensemble():
    from autorec.problems import RankingProblem
    from autorec.search.driver import finish_seconds

    study = optuna.create_study(direction="maximize")
    for number, (model, value, seconds) in enumerate([("ials", 0.3, 50.0), ("ials", 0.2, 40.0), ("gf-cf", 0.25, 30.0),
                                                      ("itemknn", 0.1, 20.0), ("bpr", 0.05, 90.0)]):
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs={"model": model, "seconds": seconds}))

    class Ranking:  # what finish_seconds reads of a ranking problem
        task = "ranking"
        rank_ensembles = True
        sort_key = RankingProblem.sort_key
        direction = "maximize"

    rating_like = type("Rating", (), {"task": "rating", "sort_key": staticmethod(lambda v: v)})()
    base = dict(models=["ials"], n_trials=5)
    # the lowest value (90 s) and every other rating-ensemble candidate, refit (kept: not scored again)
    assert finish_seconds(study, rating_like, SearchSettings(**base, refit_full=True)) == 90.0 + 20 + 40 + 30 + 50
    assert finish_seconds(study, rating_like, SearchSettings(**base, refit_full=True, ensemble_size=2)) == 90.0 + 20
    assert finish_seconds(study, rating_like, SearchSettings(**base, refit_full=False)) == 0.0
    # a refit runs to the trial's best epoch only: 225 s to the 15th epoch, best at the 3rd
    slow = optuna.create_study()
    slow.add_trial(optuna.trial.create_trial(value=0.9, user_attrs={"model": "autoint", "seconds": 225.0,
                                                                     "epochs": 15, "best_epoch": 3}))
    assert finish_seconds(slow, rating_like, SearchSettings(**base, refit_full=True)) == pytest.approx(45.0)
    # under a time budget a member's refit is reserved only up to 5% of it: with 600 s, the 40 s
    # and 50 s members are left to the time that remains at the end (the best is always held)
    assert finish_seconds(study, rating_like, SearchSettings(**base, refit_full=True, time_budget=600)) == 90.0 + 20 + 30
    assert finish_seconds(study, rating_like, SearchSettings(**base, refit_full=True, time_budget=2000)) == 230.0
    # best ials (50 s refit) + the best trial of each other model, scored and refit: gf-cf, itemknn, bpr
    assert finish_seconds(study, Ranking(), SearchSettings(**base, refit_full=True)) == 50.0 + 2 * (30 + 20 + 90)
    assert finish_seconds(study, Ranking(), SearchSettings(**base, refit_full=False)) == 30 + 20 + 90
    assert finish_seconds(study, Ranking(), SearchSettings(**base, refit_full=True, ensemble_size=2)) == 50 + 2 * 30


def test_ensemble_candidates_cap_each_model_and_fill_when_models_run_out():
    from types import SimpleNamespace

    ranked = [SimpleNamespace(number=n, user_attrs={"model": m}) for n, m in
              enumerate(["a", "a", "a", "b", "a", "b", "b", "c"])]
    pick = lambda size, per, fill=True: [t.number for t in results.ensemble_candidates(ranked, size, per, fill)]  # noqa: E731
    assert pick(5, 2) == [0, 1, 3, 5, 7]  # a, a, b, b, c: the third a (2) and later ones wait
    assert pick(5, 1) == [0, 1, 2, 3, 7]  # one of each model (0, 3, 7), the best of the rest fill up; rank order
    assert pick(5, 1, fill=False) == [0, 3, 7]
    assert pick(3, 5) == [0, 1, 2]  # a cap above the size: the best trials, as before
    assert pick(20, 2) == list(range(8))


def test_candidates_skip_duplicates_and_follow_the_task():
    from types import SimpleNamespace

    ranked = [SimpleNamespace(number=0, user_attrs={"model": "a"}),
              SimpleNamespace(number=1, user_attrs={"model": "a", "duplicate_of": 0}),
              SimpleNamespace(number=2, user_attrs={"model": "a"}),
              SimpleNamespace(number=3, user_attrs={"model": "b"})]
    s = SearchSettings(models=["a"], ensemble_size=5)
    rating = SimpleNamespace(task="rating")
    assert [t.number for t in results.candidates_of(ranked, rating, s)] == [0, 2, 3]
    ranking = SimpleNamespace(task="ranking", rank_ensembles=True)  # one trial of each model
    assert [t.number for t in results.candidates_of(ranked, ranking, s)] == [0, 3]
    single = SimpleNamespace(task="ctr", ensembles=False)  # without ensembles: the best only
    assert [t.number for t in results.candidates_of(ranked, single, s)] == [0]


def test_the_ensemble_size_defaults_to_the_tasks_own():
    from types import SimpleNamespace

    ranked = [SimpleNamespace(number=i, user_attrs={"model": "abcdefghij"[i]}) for i in range(10)]
    default = SearchSettings(models=["a"])
    assert default.ensemble_size is None
    assert default.ensemble_size_for("rating") == 8
    assert default.ensemble_size_for("ctr") == default.ensemble_size_for("ranking") == 5
    rating, ctr = SimpleNamespace(task="rating"), SimpleNamespace(task="ctr")
    assert [t.number for t in results.candidates_of(ranked, rating, default)] == list(range(8))
    assert [t.number for t in results.candidates_of(ranked, ctr, default)] == list(range(5))
    given = SearchSettings(models=["a"], ensemble_size=3)  # a size given holds for every task
    assert given.ensemble_size_for("rating") == given.ensemble_size_for("ctr") == 3
    assert len(results.candidates_of(ranked, rating, given)) == 3
    # the messages name the command's options, which is what a user typed
    with pytest.raises(ConfigError, match="--ensemble-size must be a whole number >= 1 .*got 0"):
        SearchSettings(models=["a"], ensemble_size=0)
    with pytest.raises(ConfigError, match="--ensemble-per-model must"):
        SearchSettings(models=["a"], ensemble_per_model=0)
    with pytest.raises(ConfigError, match="--time-budget must be a positive number of seconds"):
        SearchSettings(models=["a"], time_budget=-1)
