"""The search end to end on a small planted dataset: leaderboard, best model, resume, failures,
ensemble, plots, and the `autorec search` command."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import optuna
import pandas as pd
import pytest

from autorec import load
from autorec.data import Interactions
from autorec.errors import ConfigError
from autorec.hparams import FixedHP
from autorec.problems import CTRProblem, RatingProblem
from autorec.search import SearchSettings, parse_duration, run_search
from autorec.splits import make_split

from planted import planted, planted_table


@pytest.fixture(scope="module")
def split():
    data = Interactions.from_frame(planted(50, 30, seed=3), timestamp_col="timestamp", rating_scale=(1, 5),
                                   name="planted")
    return data, make_split(data, "random-90-10", seed=0)


@pytest.fixture(scope="module", autouse=True)
def warm_torch(split):
    # the tests below give trials sub-second limits; torch's first calls in a process (thread
    # pool, kernels, the optimizer's first step) take longer than that, and are not a trial's cost
    data, sp = split
    RatingProblem(data, sp).fit("i-autorec", {}, {"max_epochs": 3})


def settings(**kw):
    base = dict(models=["i-autorec", "biased-mf"], tuner="random", n_trials=4, max_epochs=4, patience=0, pruner_min_epochs=1,
                pruner="none", seed=0, fixed={"i-autorec/hidden_units": 100}, cv=None)
    base.update(kw)
    return SearchSettings(**base)


def test_search_writes_leaderboard_best_model_and_plots(split, tmp_path):
    data, sp = split
    # kept as trained (the rating default refits on train+validation, checked below)
    result = run_search(RatingProblem(data, sp), settings(refit_full=False), tmp_path)
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert len(board) == 4 and set(board["state"]) <= {"COMPLETE", "PRUNED", "FAIL"}
    assert {"trial", "model", "val_rmse", "epochs", "seconds", "params", "state"} <= set(board.columns)
    done = board[board["state"] == "COMPLETE"]
    assert list(done["val_rmse"]) == sorted(done["val_rmse"])
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["best_trial"] == int(done.iloc[0]["trial"]) and m["n_trials"] == 4
    assert set(m["test"]) == {"rmse", "mae"}
    assert "refit" not in m
    # the saved model is the best trial's: same validation figure as its trial
    rec = load(tmp_path)
    pred = rec.predict_index(sp.validation.users, sp.validation.items)
    val = float(np.sqrt(np.mean((pred - sp.validation.ratings) ** 2)))
    assert val == pytest.approx(done.iloc[0]["val_rmse"], rel=1e-5)
    for png in ("history.png", "importances.png", "leaderboard.png", "curves.png"):
        assert (tmp_path / png).stat().st_size > 1000
    # the first trial is the all-defaults configuration
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    first = study.trials[0]
    assert first.params["model"] == "i-autorec" and first.params["train.autorec/lr"] == pytest.approx(1e-3)
    assert first.params["i-autorec/encoder_activation"] == "sigmoid"
    # then the warm-start models' defaults (the rating task's anchors within the space)
    second = study.trials[1]
    assert second.params["model"] == "biased-mf"
    # BiasedMF's own default, scaled with the data (15 ratings per user here: 0.5)
    from autorec.families.pairs import data_defaults
    assert second.params["biased-mf/factors/l2"] == pytest.approx(data_defaults("biased-mf", sp.train)["factors/l2"])
    assert second.params["biased-mf/factors/l2"] == pytest.approx(0.5)
    assert second.params["train.blocks/lr"] == pytest.approx(1e-3)
    # rating pair models start at the floor of the shared weight-decay range (CTR: its default)
    assert second.params["train.blocks/weight_decay"] == pytest.approx(1e-7)


def test_a_rating_search_refits_on_train_and_validation_by_default(split, tmp_path):
    data, sp = split
    assert settings().refit_full_for("rating") and not settings().refit_full_for("ctr")
    assert not settings(refit_full=False).refit_full_for("rating")
    m = run_search(RatingProblem(data, sp), settings(n_trials=2), tmp_path)
    assert m["refit"].startswith("train+validation")
    # the saved model saw the validation rows: it no longer reproduces its trial's figure there
    rec = load(tmp_path)
    pred = rec.predict_index(sp.validation.users, sp.validation.items)
    val = float(np.sqrt(np.mean((pred - sp.validation.ratings) ** 2)))
    best = pd.read_csv(tmp_path / "leaderboard.csv").iloc[0]
    assert abs(val - best["val_rmse"]) > 1e-5


def test_warm_start_models_follow_the_space_and_the_settings():
    from autorec.search.space import warm_start_models

    assert warm_start_models(settings(), "rating") == ["i-autorec", "biased-mf"]
    assert warm_start_models(settings(models=["biased_mf", "deep-autorec", "mf"]), "rating") == [
        "biased-mf", "deep-autorec"]
    assert warm_start_models(settings(warm_start=[]), "rating") == ["i-autorec"]
    assert warm_start_models(settings(fixed={"model": "biased_mf"}), "rating") == ["biased-mf"]
    with pytest.raises(ConfigError, match="not in the searched models"):
        warm_start_models(settings(warm_start=["dcn"]), "rating")


def test_fixed_training_settings_outside_the_space_reach_every_trial(split, tmp_path):
    from autorec.search.space import suggest
    from autorec.hparams import DefaultHP

    data, sp = split
    problem = RatingProblem(data, sp)
    fixed = {"precision": "bf16", "threads": 1, "device": "cpu", "i-autorec/hidden_units": 100}
    for model in ("i-autorec", "biased-mf"):
        _, _, train = suggest(DefaultHP(), settings(fixed={**fixed, "model": model}), problem)
        assert (train["precision"], train["threads"], train["device"]) == ("bf16", 1, "cpu")
    with pytest.raises(ConfigError, match="--max-epochs"):
        run_search(problem, settings(fixed={"max_epochs": 3}), tmp_path / "a")
    with pytest.raises(ConfigError, match="precision"):
        run_search(problem, settings(fixed={"precision": "fp8"}), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing half-made
    board = run_search(problem, settings(n_trials=2, fixed={**fixed}), tmp_path / "c")
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'c' / 'study.db'}")
    assert all(t.user_attrs["train"]["precision"] == "bf16" for t in study.trials)
    assert board["n_trials"] == 2


def test_a_misspelt_or_foreign_fixed_name_is_an_error_not_ignored(split, tmp_path):
    data, sp = split
    problem = RatingProblem(data, sp)
    for fixed, message in [
        ({"i-autorec/hiden_units": 100}, "did you mean 'i-autorec/hidden_units'"),
        ({"deepfm/deep/layers": 2}, "deepfm/deep/layers"),  # deepfm is not searched
        ({"learning_rate": 0.01}, "learning_rate"),
        ({"model": "deepfm"}, "not among the searched models"),
        ({"i-autorec/orientation": "user"}, "i-autorec/orientation"),  # the preset fixes it
    ]:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            run_search(problem, settings(fixed=fixed), tmp_path / "x")
    assert not (tmp_path / "x").exists()
    # names each model really asks for pass: scoped and bare training keys, block and AutoRec names
    from autorec.search.space import check_fixed

    check_fixed(settings(fixed={"lr": 1e-3, "train.blocks/batch_size": 512, "biased_mf/factors/l2": 0.1,
                                "i-autorec/noise_level": 0.1, "model": "biased_mf"}), problem)


def test_rerun_resumes_and_counts_the_budget(split, tmp_path):
    data, sp = split
    run_search(RatingProblem(data, sp), settings(n_trials=3), tmp_path)
    run_search(RatingProblem(data, sp), settings(n_trials=5), tmp_path)
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert len(study.trials) == 5  # 3 kept, 2 more run
    run_search(RatingProblem(data, sp), settings(n_trials=5), tmp_path)
    assert len(optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}").trials) == 5


def test_a_failing_trial_is_recorded_and_the_search_goes_on(split, tmp_path, monkeypatch):
    real = RatingProblem.fit

    def flaky(problem, model, *args, **kw):
        if model == "biased-mf":
            raise RuntimeError("simulated out of memory")
        return real(problem, model, *args, **kw)

    monkeypatch.setattr(RatingProblem, "fit", flaky)
    data, sp = split
    result = run_search(RatingProblem(data, sp), settings(n_trials=6), tmp_path)
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    failed = board[board["state"] == "FAIL"]
    assert len(failed) >= 1 and len(board) == 6
    assert all("simulated out of memory" in e for e in failed["error"])
    assert set(board[board["state"] == "COMPLETE"]["model"]) == {"i-autorec"}
    assert result["n_failed"] == len(failed)


def test_ensemble_is_saved_only_when_it_beats_the_best_on_validation(split, tmp_path):
    data, sp = split
    result = run_search(RatingProblem(data, sp), settings(n_trials=5, ensemble_size=4), tmp_path)
    if "ensemble" in result:
        e = result["ensemble"]
        assert e["validation"]["rmse"] < e["best_single_validation_rmse"]
        assert (tmp_path / "ensemble" / "ensemble.json").exists()
        assert set(e["test"]) == {"rmse", "mae"}
    else:
        assert result["ensemble_considered"]["validation"]["rmse"] >= result["ensemble_considered"][
            "best_single_validation_rmse"] - 1e-12


def test_ctr_search_on_a_planted_table(tmp_path):
    problem = CTRProblem(planted_table(1500), "random-90-10", seed=0)
    s = SearchSettings(models=["fm", "deepfm"], tuner="tpe", n_trials=3, max_epochs=3, patience=0,
                       pruner="median", seed=0, cv=None)
    result = run_search(problem, s, tmp_path)
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert "val_logloss" in board and len(board) == 3
    assert result["task"] == "ctr" and set(result["test"]) == {"logloss", "auc"}
    assert isinstance(load(tmp_path), __import__("autorec.estimators", fromlist=["CTRModel"]).CTRModel)


def test_durations_and_bad_settings():
    assert parse_duration("30m") == 1800 and parse_duration("2h") == 7200 and parse_duration("45") == 45
    with pytest.raises(ConfigError, match="duration"):
        parse_duration("soon")
    with pytest.raises(ConfigError, match="tuner|sampler|known"):
        from autorec.search.tuners import make_sampler

        make_sampler("annealing", seed=0)


@pytest.mark.slow
def test_cli_search_runs_and_prints_a_leaderboard(tmp_path):
    csv = tmp_path / "ratings.csv"
    planted(40, 25, seed=5).to_csv(csv, index=False)
    out = tmp_path / "s"
    res = subprocess.run([sys.executable, "-m", "autorec.cli.main", "search", "--dataset", str(csv),
                          "--models", "i-autorec,biased_mf", "--tuner", "greedy", "--trials", "3",
                          "--max-epochs", "3", "--set", "i-autorec/hidden_units=100", "--out", str(out)],
                         capture_output=True, text=True, env={"AUTOREC_NO_PROGRESS": "1", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr[-2000:]
    assert "leaderboard" in res.stdout and "best: trial" in res.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["tuner"] == "greedy" and m["n_trials"] == 3


def test_per_trial_time_limit_keeps_the_best_epoch_so_far(split, tmp_path):
    data, sp = split
    s = settings(models=["i-autorec"], n_trials=2, max_epochs=500, trial_timeout=0.5)
    run_search(RatingProblem(data, sp), s, tmp_path)
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert t.user_attrs.get("timed_out") is True and t.user_attrs["epochs"] < 500
        # the user's limit replaces the priced share: the trial says which one it ran under
        assert t.user_attrs["time_limit"] == pytest.approx(0.5) and "time_share" not in t.user_attrs


def test_a_configuration_already_trained_is_not_trained_again(tmp_path):
    from autorec.problems import RankingProblem

    rng = np.random.default_rng(0)
    u, i = np.nonzero(rng.random((40, 25)) < 0.3)
    data = Interactions.from_frame(pd.DataFrame({"user": u, "item": i}), rating_col=None)
    problem = RankingProblem(data, make_split(data, "loo", seed=0))
    run_search(problem, settings(models=["popularity", "itemknn"], n_trials=6, fixed={"itemknn/neighbours": 10,
                                                                                      "itemknn/shrink": 0.0}),
               tmp_path / "dup")
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'dup' / 'study.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6
    for model in ("popularity", "itemknn"):
        runs = [t for t in done if t.user_attrs["model"] == model]
        first = [t for t in runs if "duplicate_of" not in t.user_attrs]
        assert len(first) == 1  # two configurations in all: each trained once
        assert all(t.user_attrs["duplicate_of"] == first[0].number and t.value == first[0].value
                   for t in runs if t is not first[0])


def test_a_models_first_trial_is_a_short_probe(split, tmp_path):
    # the budget's share for a model's first trial is first_trial_share, later ones max_trial_share
    data, sp = split
    # 12 s: the reserve for the results takes 5 of them, and on a busy machine a smaller budget
    # left the second trial less than twice the probe before the trials' deadline
    budget = 12.0
    # (a price factor too high to bind: the priced cap has its own test below)
    s = settings(models=["i-autorec"], n_trials=2, max_epochs=100_000, time_budget=budget, max_trial_share=0.5,
                 first_trial_share=0.05, trial_price_factor=1000.0)
    run_search(RatingProblem(data, sp), s, tmp_path)
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    first, second = study.trials[:2]
    assert first.user_attrs["time_share"] == pytest.approx(0.05)
    assert first.user_attrs["time_limit"] == pytest.approx(0.05 * budget)
    assert second.user_attrs["time_share"] == pytest.approx(0.5)
    assert second.user_attrs["time_limit"] == pytest.approx(0.5 * budget)
    # the probe stops at its limit (or, on a loaded machine, is pruned in its first epoch)
    assert first.user_attrs.get("timed_out") or first.state == optuna.trial.TrialState.PRUNED
    assert first.user_attrs["seconds"] < 0.5 * budget * 0.5
    assert second.user_attrs["seconds"] > 2 * first.user_attrs["seconds"]
    with pytest.raises(ConfigError, match="first_trial_share"):
        SearchSettings(models=["mf"], first_trial_share=0.0)


def test_the_probes_share_one_allowance_among_the_untried_models():
    from types import SimpleNamespace

    from autorec.search.driver import probe_share

    def trial(model, seconds=None):
        return SimpleNamespace(user_attrs={"model": model, **({} if seconds is None else {"seconds": seconds})})

    s = SearchSettings(models=["a", "b", "c", "d", "e", "f"], time_budget=1000.0, first_trial_share=0.08,
                       probe_share=0.3, min_probe_share=0.02)
    # nothing spent, six untried: 0.3 / 6 = 0.05 each, under the 8% cap
    assert probe_share(s, [], []) == pytest.approx(0.05)
    # a and b probed for 100 s each: (0.3 - 0.2) / 4 untried
    done = [trial("a", 100.0), trial("b", 100.0)]
    assert probe_share(s, done, done) == pytest.approx(0.025)
    # the allowance spent: the floor
    spent = [trial("a", 150.0), trial("b", 150.0), trial("c", 10.0)]
    assert probe_share(s, spent, spent) == pytest.approx(0.02)
    # two models left of two: the 8% cap
    few = SearchSettings(models=["a", "b"], time_budget=1000.0)
    assert probe_share(few, [], []) == pytest.approx(0.08)
    # no budget: the cap alone (it only matters with one)
    assert probe_share(SearchSettings(models=["a"]), [], []) == pytest.approx(0.08)
    with pytest.raises(ConfigError, match="min_probe_share"):
        SearchSettings(models=["mf"], min_probe_share=0.5)


def test_a_later_trial_is_capped_at_a_multiple_of_its_models_price():
    from types import SimpleNamespace

    from autorec.search.driver import trial_share

    def trial(model, seconds):
        return SimpleNamespace(user_attrs={"model": model, "seconds": seconds})

    s = SearchSettings(models=["fast", "slow", "new"], time_budget=1000.0, first_trial_share=0.08,
                       max_trial_share=0.25, trial_price_factor=3.0, min_trial_share=0.04)
    done = [trial("fast", 2.0), trial("fast", 4.0), trial("slow", 50.0), trial("slow", 40.0), trial("slow", 60.0)]
    # measured and cheap: never below min_trial_share (which may be below a probe's share)
    assert trial_share(s, "fast", done, done) == pytest.approx(0.04)
    # measured and slow: three times its median of 50 s, not the quarter of the budget
    assert trial_share(s, "slow", done, done) == pytest.approx(0.15)
    # a model whose trials run long still stops at max_trial_share
    long = [trial("slow", 100.0), trial("slow", 120.0)]  # median 110 s: 0.33 of the budget
    assert trial_share(s, "slow", long, long) == pytest.approx(0.25)
    # not measured yet: the probe's share (0.3 of probes left, minus what was spent, for one model)
    assert trial_share(s, "new", done, done) == pytest.approx(0.08)
    # no budget: only max_trial_share (it matters only with one)
    assert trial_share(SearchSettings(models=["slow"]), "slow", done, done) == pytest.approx(0.25)
    with pytest.raises(ConfigError, match="trial_price_factor"):
        SearchSettings(models=["mf"], trial_price_factor=0.5)
    with pytest.raises(ConfigError, match="min_trial_share"):
        SearchSettings(models=["mf"], min_trial_share=0.3)  # above max_trial_share


def test_a_slow_configuration_is_stopped_at_its_models_price(split, tmp_path):
    # the second trial of i-autorec runs without an epoch limit: it stops at three times the
    # first (probe) trial's seconds, well before max_trial_share of the budget
    data, sp = split
    s = settings(models=["i-autorec"], n_trials=2, max_epochs=100_000, time_budget=20.0, max_trial_share=0.9,
                 first_trial_share=0.05, min_trial_share=0.05, trial_price_factor=3.0, ensemble_size=1)
    run_search(RatingProblem(data, sp), s, tmp_path)
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    first, second = study.trials[:2]
    assert first.user_attrs["time_share"] == pytest.approx(0.05)
    priced = max(0.05, 3.0 * first.user_attrs["seconds"] / 20.0)
    assert second.user_attrs["time_share"] == pytest.approx(min(0.9, priced), abs=1e-4)
    assert second.user_attrs.get("timed_out") and second.user_attrs["seconds"] < 0.9 * 20.0 * 0.5


def test_a_familys_own_training_default_moves_only_its_start(split):
    # rating pair models begin the shared "blocks" training range at weight decay 1e-7; CTR
    # block models keep the range's own default, and the distribution Optuna sees is the same
    from autorec.search.space import TRAIN_SPACE, defaults_as_params

    data, sp = split
    rating = defaults_as_params(settings(models=["gmf"]), RatingProblem(data, sp), "gmf")
    ctr = defaults_as_params(settings(models=["fm"]), CTRProblem(planted_table(300), "random-90-10", seed=0), "fm")
    assert rating["train.blocks/weight_decay"] == pytest.approx(1e-7)
    assert ctr["train.blocks/weight_decay"] == pytest.approx(TRAIN_SPACE["blocks"]["weight_decay"].default) == 1e-5
    assert TRAIN_SPACE["blocks"]["weight_decay"].low == 1e-7
    # a model's own training default (FM's lr on ratings) moves its start alone
    fm = defaults_as_params(settings(models=["fm"]), RatingProblem(data, sp), "fm")
    assert fm["train.blocks/lr"] == pytest.approx(1e-2) and fm["train.blocks/weight_decay"] == pytest.approx(1e-7)
    assert rating["train.blocks/lr"] == ctr["train.blocks/lr"] == TRAIN_SPACE["blocks"]["lr"].default


def test_i_autorecs_search_starts_at_its_presets_width(split):
    # I-AutoRec's warm start is its preset's 100 units, as `autorec train` is; U-AutoRec keeps
    # AutoRec's 500, and the range Optuna searches is the same for both
    from autorec import Recommender
    from autorec.families.autorec import AutoRecFamily
    from autorec.models.autorec import AutoRec
    from autorec.search.space import defaults_as_params

    data, sp = split
    s = settings(models=["i-autorec", "u-autorec"], fixed={})
    problem = RatingProblem(data, sp)
    assert defaults_as_params(s, problem, "i-autorec")["i-autorec/hidden_units"] == 100
    assert defaults_as_params(s, problem, "u-autorec")["u-autorec/hidden_units"] == 500
    assert AutoRecFamily().config("i-autorec", {})["hidden"] == (100,)
    assert AutoRec.hparams["hidden_units"].default == 500 and 100 in AutoRec.hparams["hidden_units"].choices
    rec = Recommender("i-autorec", train={"max_epochs": 1, "progress": False}).fit(sp.train, sp.validation)
    assert rec.state_.module.encoder_weight.shape[1] == 100
    with pytest.raises(ConfigError, match="no hyperparameter"):
        AutoRec.config_from_hparams(FixedHP({}), defaults={"hiden_units": 100})


def test_denoising_autorec_starts_at_its_own_width_noise_and_lambda(split):
    # `autorec train` and the search's first denoising trial agree: 100 units, 45% of the
    # inputs dropped, lambda 50; I-AutoRec's: 20% of its code dropped and lambda 100; the other
    # presets keep lambda 300
    from autorec import Recommender
    from autorec.search.space import defaults_as_params

    data, sp = split
    s = settings(models=["i-autorec", "denoising-autorec"], fixed={})
    problem = RatingProblem(data, sp)
    den = defaults_as_params(s, problem, "denoising-autorec")
    assert den["denoising-autorec/hidden_units"] == 100
    assert den["denoising-autorec/noise_level"] == pytest.approx(0.45)
    assert den["train.autorec/l2"] == pytest.approx(50.0)
    iar = defaults_as_params(s, problem, "i-autorec")
    assert iar["train.autorec/l2"] == pytest.approx(100.0) and iar["i-autorec/dropout"] == pytest.approx(0.2)
    assert defaults_as_params(settings(models=["u-autorec"], fixed={}), problem, "u-autorec")["train.autorec/l2"] == 300.0
    rec = Recommender("denoising-autorec", train={"max_epochs": 1, "progress": False}).fit(sp.train, sp.validation)
    assert rec.train_config_.l2 == 50.0 and rec.state_.module.encoder_weight.shape[1] == 100
    assert rec.state_.module.config.noise_level == pytest.approx(0.45)
    assert Recommender("i-autorec", train={"max_epochs": 1, "progress": False}).fit(
        sp.train, sp.validation).train_config_.l2 == 100.0


def test_a_models_first_trial_outside_the_warm_start_runs_at_its_defaults(split, tmp_path):
    # denoising AutoRec is not in the warm start: its first trial is the cost-aware draw's
    # probe, and it trains the same configuration as `autorec train --model denoising-autorec`
    from autorec.search.space import defaults_as_params

    data, sp = split
    s = settings(models=["i-autorec", "biased-mf", "denoising-autorec"], tuner="tpe", n_trials=4,
                 warm_start=["biased-mf"], fixed={}, max_epochs=2)
    problem = RatingProblem(data, sp)
    run_search(problem, s, tmp_path)
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    first = next(t for t in study.trials if t.user_attrs["model"] == "denoising-autorec")
    assert first.user_attrs["model_choice"]["reason"] == "first trial of this model"
    assert first.user_attrs["probe_at_defaults"] is True
    assert first.params == defaults_as_params(s, problem, "denoising-autorec")
    assert first.user_attrs["params"]["noise_level"] == pytest.approx(0.45)
    assert first.user_attrs["train"]["l2"] == pytest.approx(50.0)
    # the warm start's own trials are enqueued, not probes
    assert not any(t.user_attrs.get("probe_at_defaults") for t in study.trials[:2])
