"""The cost-aware model choice and the per-model pruner (autorec.search.scheduling)."""

from __future__ import annotations

from collections import Counter

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from autorec.search.scheduling import (
    CostAwareModelSampler,
    ModelwisePruner,
    expected_improvement,
    trial_model,
)

def _finished(study: optuna.Study, model: str, value: float, seconds: float,
              state: TrialState = TrialState.COMPLETE) -> None:
    study.add_trial(create_trial(
        state=state, value=value if state == TrialState.COMPLETE else None,
        params={"model": model}, distributions={"model": CategoricalDistribution(sorted({"fast", "slow", model}))},
        # a failure the objective saw records its reason (storage.track_failures); one without
        # is an interrupted trial, which tried nothing
        user_attrs={"seconds": seconds, "model": model,
                    **({"fail_reason": "RuntimeError: diverged"} if state == TrialState.FAIL else {})},
        intermediate_values={} if state == TrialState.COMPLETE else {5: value}))


def _choices(sampler: CostAwareModelSampler, study: optuna.Study, n: int, models=("fast", "slow")) -> Counter:
    picks = Counter()
    for number in range(1000, 1000 + n):
        trial = create_trial(state=TrialState.RUNNING, params={}, distributions={})
        trial.number = number
        picks[sampler.choose(study, trial, list(models))[0]] += 1
    return picks


def test_every_model_is_tried_once_before_any_is_tried_twice() -> None:
    study = optuna.create_study(sampler=CostAwareModelSampler(optuna.samplers.RandomSampler(seed=0), seed=0))
    models = ["a", "b", "c", "d"]
    for _ in range(4):
        trial = study.ask()
        trial.suggest_categorical("model", models)
        study.tell(trial, 1.0)
    assert sorted(trial_model(t) for t in study.trials) == models
    assert all(t.user_attrs["model_choice"]["reason"] == "first trial of this model" for t in study.trials)


def test_first_trials_go_to_the_cheapest_kind_of_model_first() -> None:
    tiers = {"vae": 2, "knn": 0, "als": 1, "ease": 0, "bpr": 2}
    study = optuna.create_study(sampler=CostAwareModelSampler(optuna.samplers.RandomSampler(seed=0), seed=3,
                                                              tiers=tiers))
    for _ in range(5):
        trial = study.ask()
        trial.suggest_categorical("model", sorted(tiers))
        study.tell(trial, 1.0)
    order = [trial_model(t) for t in study.trials]
    assert sorted(order[:2]) == ["ease", "knn"] and order[2] == "als" and sorted(order[3:]) == ["bpr", "vae"]


def test_the_ranking_family_ranks_closed_forms_then_ials_then_epoch_models() -> None:
    from autorec.families.topn import TopNFamily

    family = TopNFamily()
    assert [family.cost_tier(m) for m in ("popularity", "bspm", "gf-cf", "ials", "bpr", "mult-vae")] == \
        [0, 0, 0, 1, 2, 2]


def test_a_slow_model_is_drawn_in_proportion_to_its_promise_per_second() -> None:
    # the same scores, the slow model 20x the seconds: it must be drawn far less often
    study = optuna.create_study()
    for value in (0.90, 0.92, 0.95, 0.99):
        _finished(study, "fast", value, seconds=5.0)
        _finished(study, "slow", value, seconds=100.0)
    picks = _choices(CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=0), study, 400)
    assert picks["fast"] > 10 * picks["slow"] > 0


def test_a_slow_model_that_promises_more_is_still_drawn() -> None:
    # the slow model is clearly better: its improvement per second can win despite the cost
    study = optuna.create_study()
    for value in (0.95, 0.96, 0.97, 0.98):
        _finished(study, "fast", value, seconds=5.0)
    for value in (0.85, 0.86, 0.87, 0.88):
        _finished(study, "slow", value, seconds=20.0)
    picks = _choices(CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=0), study, 200)
    assert picks["slow"] > picks["fast"]


def test_a_model_that_would_not_fit_in_the_time_left_is_not_drawn() -> None:
    study = optuna.create_study()
    for value in (0.85, 0.86):
        _finished(study, "slow", value, seconds=300.0)
    for value in (0.95, 0.96):
        _finished(study, "fast", value, seconds=5.0)
    sampler = CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=0, time_left=lambda: 60.0)
    picks = _choices(sampler, study, 100)
    assert picks == Counter({"fast": 100})
    trial = create_trial(state=TrialState.RUNNING, params={}, distributions={})
    assert sampler.choose(study, trial, ["fast", "slow"])[1]["left_out_too_slow"] == ["slow"]


def test_direction_maximise_prefers_the_higher_scoring_model() -> None:
    study = optuna.create_study(direction="maximize")
    for value in (0.70, 0.71, 0.72):
        _finished(study, "fast", value, seconds=5.0)  # AUC-like: higher is better
    for value in (0.78, 0.79, 0.80):
        _finished(study, "slow", value, seconds=5.0)
    picks = _choices(CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=0), study, 200)
    assert picks["slow"] > 2 * picks["fast"]


def test_a_model_that_only_failed_keeps_a_small_chance() -> None:
    study = optuna.create_study()
    for value in (0.90, 0.91, 0.95):
        _finished(study, "fast", value, seconds=5.0)
    _finished(study, "slow", 0.0, seconds=1.0, state=TrialState.FAIL)
    picks = _choices(CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=0), study, 300)
    assert picks["fast"] > picks["slow"] > 0


def test_the_choice_is_seeded() -> None:
    study = optuna.create_study()
    for value in (0.90, 0.92):
        _finished(study, "fast", value, seconds=5.0)
        _finished(study, "slow", value + 0.01, seconds=8.0)
    a = _choices(CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=3), study, 50)
    b = _choices(CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=3), study, 50)
    assert a == b


def test_with_tpe_the_other_parameters_are_still_the_tuners() -> None:
    # a conditional space through the wrapper: TPE samples the per-model parameters, the
    # wrapper the model; nothing is sampled twice and every trial records why its model
    sampler = CostAwareModelSampler(optuna.samplers.TPESampler(seed=0, multivariate=True, group=True,
                                                               n_startup_trials=3), seed=0)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        model = trial.suggest_categorical("model", ["quad", "abs"])
        x = trial.suggest_float(f"{model}/x", -3, 3)
        trial.set_user_attr("seconds", 1.0 if model == "quad" else 3.0)
        return x * x if model == "quad" else abs(x) + 0.5

    study.optimize(objective, n_trials=25)
    assert study.best_value < 0.5
    assert all("model_choice" in t.user_attrs for t in study.trials)
    assert {trial_model(t) for t in study.trials} == {"quad", "abs"}


@pytest.mark.parametrize("tuner", ["tpe", "gp"])
def test_a_models_probe_runs_at_its_defaults_and_later_trials_are_the_tuners(tuner: str) -> None:
    # "lr" is shared by both models, so after the first trials it is in TPE's relative space:
    # the probe of the model tried second must still take its defaults, not the relative draw
    defaults = {"quad": {"model": "quad", "quad/x": 2.5, "lr": 0.01}, "abs": {"model": "abs", "abs/x": -1.5, "lr": 0.02}}
    base = (optuna.samplers.TPESampler(seed=0, multivariate=True, group=True, n_startup_trials=1) if tuner == "tpe"
            else optuna.samplers.GPSampler(seed=0, n_startup_trials=1))
    sampler = CostAwareModelSampler(base, seed=0, probe_params=lambda m: defaults[m])
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        model = trial.suggest_categorical("model", ["quad", "abs", "third"])
        x = trial.suggest_float(f"{model}/x", -3, 3)
        lr = trial.suggest_float("lr", 1e-3, 1e-1, log=True)
        trial.set_user_attr("seconds", 1.0)
        return x * x + lr

    # the third model has no defaults on record: its probe is the tuner's draw (a KeyError
    # from probe_params would fail the trial, so give it an empty mapping)
    defaults["third"] = {}
    study.optimize(objective, n_trials=12)
    probes = {}
    for t in study.trials:
        probes.setdefault(trial_model(t), t)
    assert set(probes) == {"quad", "abs", "third"}
    for model in ("quad", "abs"):
        first = probes[model]
        assert first.params[f"{model}/x"] == defaults[model][f"{model}/x"] and first.params["lr"] == defaults[model]["lr"]
        assert first.user_attrs["probe_at_defaults"] is True
    later = [t for t in study.trials if t.number > max(p.number for p in probes.values())]
    assert later and all("probe_at_defaults" not in t.user_attrs for t in later)
    # the tuner draws again after the probes: not every later trial repeats its model's defaults
    assert any(t.params[f"{trial_model(t)}/x"] not in (2.5, -1.5) for t in later)


def test_a_probe_cut_short_is_probed_again_and_a_failed_one_is_not() -> None:
    # an interrupted trial (failed without a reason: Ctrl-C, a kill) tried nothing, so its
    # model is still untried; a trial that failed with a recorded error did try it
    study = optuna.create_study()
    for model, attrs in (("cut", {}), ("broken", {"fail_reason": "ValueError: bad"})):
        study.add_trial(create_trial(state=TrialState.FAIL, params={"model": model},
                                     distributions={"model": CategoricalDistribution(["cut", "broken"])},
                                     user_attrs={"model": model, **attrs}))
    sampler = CostAwareModelSampler(optuna.samplers.RandomSampler(seed=0), seed=0)
    trial = create_trial(state=TrialState.RUNNING, params={}, distributions={})
    trial.number = 10
    model, why = sampler.choose(study, trial, ["cut", "broken"])
    assert (model, why["reason"]) == ("cut", "first trial of this model")


def test_without_probe_params_the_probe_is_the_tuners_draw() -> None:
    study = optuna.create_study(sampler=CostAwareModelSampler(optuna.samplers.RandomSampler(seed=0), seed=0))
    trial = study.ask()
    trial.suggest_categorical("model", ["a", "b"])
    trial.suggest_float("a/x", -3, 3)
    assert "probe_at_defaults" not in study.trials[0].user_attrs


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.5, 1.5), min_size=1, max_size=8), st.floats(0.5, 1.5), st.floats(0.001, 0.5),
       st.floats(0.0, 0.3))
def test_expected_improvement_is_nonnegative_and_falls_as_the_model_gets_worse(values, best, prior, shift) -> None:
    ei = expected_improvement(best, values, prior)
    assert ei >= 0
    assert expected_improvement(best, [v + shift for v in values], prior) <= ei + 1e-12


def _trial_with(study: optuna.Study, model: str, curve: list[float]) -> bool:
    study.enqueue_trial({"model": model})
    trial = study.ask()
    trial.suggest_categorical("model", ["ae", "mf"])
    trial.suggest_float("x", 0, 1)
    for epoch, value in enumerate(curve, start=1):
        trial.report(value, epoch)
        if trial.should_prune():
            study.tell(trial, state=TrialState.PRUNED)
            return True
    study.tell(trial, curve[-1])
    return False


@pytest.mark.parametrize("per_model", [False, True])
def test_a_slow_learner_is_pruned_only_against_its_own_kind(per_model: bool) -> None:
    # matrix factorisation reaches 0.90 in 3 epochs; the autoencoder starts at 1.2 and ends at
    # 0.85.  Against MF curves a new autoencoder is pruned at once; against its own kind, not.
    def median() -> optuna.pruners.BasePruner:
        return optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=ModelwisePruner(median) if per_model else median())
    for _ in range(3):
        assert not _trial_with(study, "mf", [0.95, 0.92, 0.90, 0.90])
    slow_curve = [1.20, 1.05, 0.95, 0.88, 0.85]
    if per_model:
        assert not _trial_with(study, "ae", slow_curve)  # the first of its kind
        assert not _trial_with(study, "ae", [v - 0.01 for v in slow_curve])  # better than its kind
        assert _trial_with(study, "ae", [v + 0.2 for v in slow_curve])  # worse than its kind
    else:
        assert _trial_with(study, "ae", slow_curve)


def test_per_model_hyperband_sees_only_the_models_own_trials() -> None:
    # Hyperband wraps the study it is given in its own bracket study; the per-model view must
    # survive that (it lives in the storage, not the study object)
    seen = []

    class Spy(optuna.pruners.HyperbandPruner):
        def prune(self, study, trial):  # noqa: ANN001
            seen.append({trial_model(t) for t in study.get_trials(deepcopy=False)})
            return super().prune(study, trial)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=ModelwisePruner(lambda: Spy(min_resource=1, max_resource=9)))
    for i in range(6):
        _trial_with(study, "mf" if i % 2 else "ae", [1.0 - 0.01 * e - 0.001 * i for e in range(9)])
    assert seen and all(len(models) == 1 for models in seen)
    assert {next(iter(models)) for models in seen} == {"ae", "mf"}


def test_a_model_with_nothing_to_search_is_not_drawn_again() -> None:
    # popularity has one configuration: once tried, a second trial would only repeat it
    study = optuna.create_study()
    for value in (0.90, 0.92):
        _finished(study, "fast", value, seconds=5.0)
    _finished(study, "slow", 0.5, seconds=1.0)
    sampler = CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=0, fixed=["slow"])
    assert _choices(sampler, study, 50) == Counter({"fast": 50})
    # unless it is all there is
    only = CostAwareModelSampler(optuna.samplers.RandomSampler(), seed=0, fixed=["fast", "slow"])
    assert sum(_choices(only, study, 20).values()) == 20
