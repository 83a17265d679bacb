"""Tuners, pruners and the Optuna hyperparameter source, on cheap synthetic objectives."""

from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from autorec.hparams import Bool, Choice, Float, Int, Tunable
from autorec.errors import ConfigError
from autorec.hparams import OptunaHP, decode_params, decode_value, space_defaults
from autorec.search.tuners import (
    PRUNERS,
    SAMPLERS,
    GreedySampler,
    SearchSpaceExhausted,
    make_pruner,
    make_sampler,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ------------------------------------------------------------------ the Optuna HP source


class Net(Tunable):
    hparams = {
        "lr": Float(1e-4, 1e-1, 1e-3, log=True),
        "units": Int(16, 256, 64, step=16),
        "layers": Choice([(64,), (128, 64), (256, 128, 64)], default=(128, 64)),
        "act": Choice(["relu", "tanh"]),
        "dropout": Bool(False),
    }


def test_optuna_hp_suggests_every_kind_and_decodes_tuples() -> None:
    specs = Net(name="net").tunable()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen_layers = set()
    for _ in range(30):
        trial = study.ask()
        hp = OptunaHP(trial)
        values = Net(name="net").resolve(hp)
        assert hp.values == {f"net/{k}": v for k, v in values.items()}
        assert 1e-4 <= values["lr"] <= 1e-1
        assert values["units"] in range(16, 257, 16)
        assert values["layers"] in Net.hparams["layers"].choices and isinstance(values["layers"], tuple)
        assert isinstance(values["dropout"], bool)
        # Optuna itself only holds primitives: the tuple choice is stored by its repr
        assert trial.params["net/layers"] == repr(values["layers"])
        assert decode_params(trial.params, specs) == hp.values
        seen_layers.add(values["layers"])
        study.tell(trial, 0.0)
    assert seen_layers == set(Net.hparams["layers"].choices)
    dists = study.trials[0].distributions
    assert dists["net/lr"].log and dists["net/units"].step == 16


def test_space_defaults_enqueued_gives_the_defaults_first() -> None:
    specs = Net(name="net").tunable()
    defaults = space_defaults(specs)
    assert defaults["net/layers"] == "(128, 64)" and defaults["net/lr"] == 1e-3
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(defaults)
    hp = OptunaHP(study.ask())
    assert Net(name="net").resolve(hp) == {k: s.default for k, s in Net.hparams.items()}


def test_optuna_hp_rejects_what_optuna_cannot_express() -> None:
    trial = optuna.create_study().ask()
    with pytest.raises(ConfigError, match="log-scale int range cannot have step"):
        OptunaHP(trial).get("x", Int(1, 64, 8, log=True, step=2))
    with pytest.raises(ConfigError, match="not a multiple of step"):
        OptunaHP(trial).get("y", Int(0, 10, 0, step=3))
    with pytest.raises(ConfigError, match="is not one of the encoded choices"):
        decode_value("layers", Net.hparams["layers"], "(1, 2)")
    with pytest.raises(ConfigError, match="no hyperparameter declaration"):
        decode_params({"mystery": 1}, Net(name="net").tunable())
    OptunaHP(trial).get("z", Float(0.0, 1.0, 0.5))
    with pytest.raises(ConfigError, match="'z'"):  # the same name asked with another range
        OptunaHP(trial).get("z", Float(0.0, 2.0, 0.5))


# ------------------------------------------------------------------ names


def test_make_sampler_and_pruner_by_name() -> None:
    kinds = {
        "random": optuna.samplers.RandomSampler,
        "greedy": GreedySampler,
        "bayesian": optuna.samplers.GPSampler,
        "tpe": optuna.samplers.TPESampler,
    }
    assert set(kinds) == set(SAMPLERS)
    for name, cls in kinds.items():
        assert isinstance(make_sampler(name, seed=1), cls)
    with pytest.raises(ConfigError, match="random, greedy, bayesian, tpe"):
        make_sampler("annealing", seed=0)
    with pytest.raises(ConfigError, match="bad option"):
        make_sampler("tpe", seed=0, no_such_option=1)
    with pytest.raises(ConfigError, match="seed"):
        make_sampler("random", seed="0")  # type: ignore[arg-type]
    pruners = {
        "none": optuna.pruners.NopPruner,
        "median": optuna.pruners.MedianPruner,
        "successive-halving": optuna.pruners.SuccessiveHalvingPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
    }
    assert set(pruners) == set(PRUNERS)
    for name, cls in pruners.items():
        assert isinstance(make_pruner(name), cls)
    with pytest.raises(ConfigError, match="none, median, successive-halving, hyperband"):
        make_pruner("asha")
    with pytest.raises(ConfigError):
        make_pruner("hyperband", reduction_factor=1)


# ------------------------------------------------------------------ model-based tuners beat random


def _shifted_bowl(trial: optuna.Trial) -> float:
    """Minimum 0 at x=1.3, y=-0.7, c='b'."""
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_float("y", -5, 5)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    return (x - 1.3) ** 2 + (y + 0.7) ** 2 + {"a": 1.0, "b": 0.0, "c": 2.0}[c]


def _trials_to_reach(name: str, seed: int, budget: int, eps: float) -> int:
    """Trials until a value within ``eps`` of the optimum (0); ``budget + 1`` if never."""
    study = optuna.create_study(sampler=make_sampler(name, seed=seed, **({} if name == "random" else {"n_startup_trials": 5})))

    def stop_at_optimum(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.value is not None and trial.value <= eps:
            study.stop()

    study.optimize(_shifted_bowl, n_trials=budget, callbacks=[stop_at_optimum])
    values = [t.value for t in study.trials]
    return next((i + 1 for i, v in enumerate(values) if v <= eps), budget + 1)


@pytest.mark.slow
def test_bayesian_and_tpe_reach_the_optimum_in_fewer_trials_than_random() -> None:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the GP's tiny matrices gain nothing from threads on a shared box
    try:
        seeds, budget, eps = range(1, 6), 60, 0.25
        mean = {
            name: float(np.mean([_trials_to_reach(name, s, budget, eps) for s in seeds]))
            for name in ("random", "tpe", "bayesian")
        }
    finally:
        torch.set_num_threads(threads)
    # random search almost never lands within 0.25 of the optimum of this 2-D bowl in 60 trials
    assert mean["random"] > 55, mean
    assert mean["tpe"] < mean["random"] - 10, mean
    assert mean["bayesian"] < mean["tpe"] and mean["bayesian"] < 25, mean


# ------------------------------------------------------------------ pruners


def _curves(trial: optuna.Trial) -> float:
    """A learning curve per trial: at every epoch a lower ``q`` is better; the final value is ``q``."""
    q = trial.suggest_float("q", 0.0, 1.0)
    value = math.inf
    for epoch in range(1, 10):
        value = q + 1.0 / epoch
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return q


@pytest.mark.parametrize("name", PRUNERS)
def test_pruners_stop_bad_learning_curves(name: str) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7), pruner=make_pruner(name))
    study.optimize(_curves, n_trials=40)
    pruned = [t.params["q"] for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t.params["q"] for t in study.trials if t.state == TrialState.COMPLETE]
    if name == "none":
        assert not pruned and len(complete) == 40
        return
    assert len(pruned) >= 10, (name, len(pruned))
    assert np.mean(pruned) > np.mean(complete)
    best_q = min(t.params["q"] for t in study.trials)
    assert best_q in complete  # the best curve is never cut


# ------------------------------------------------------------------ the greedy sampler

SPACE_DEFAULTS = {"x0": -4.0, "x1": -4.0, "x2": -4.0, "n": 1, "c": "p"}


def _separable(trial: optuna.Trial) -> float:
    """Minimum 0 at x_i = i, n = 6, c = 'q'; the defaults are far from it."""
    xs = [trial.suggest_float(f"x{i}", -5, 5) for i in range(3)]
    n = trial.suggest_int("n", 1, 8)
    c = trial.suggest_categorical("c", ["p", "q", "r"])
    return sum((x - i) ** 2 for i, x in enumerate(xs)) + 0.5 * (n - 6) ** 2 + (0.0 if c == "q" else 3.0)


def _diff(a: dict, b: dict) -> int:
    return sum(a.get(k) != b.get(k) for k in set(a) | set(b))


@pytest.mark.parametrize("max_changes", [1, 2])
def test_greedy_starts_at_defaults_then_changes_few_params_of_the_best(max_changes: int) -> None:
    study = optuna.create_study(sampler=GreedySampler(SPACE_DEFAULTS, seed=5, max_changes=max_changes))
    study.optimize(_separable, n_trials=40)
    trials = study.trials
    assert trials[0].params == SPACE_DEFAULTS
    changes = Counter()
    for t in trials[1:]:
        best_before = min(trials[: t.number], key=lambda u: (u.value, u.number))
        d = _diff(t.params, best_before.params)
        assert 1 <= d <= max_changes, (t.number, t.params, best_before.params)
        assert t.system_attrs["greedy:info"]["base"] == best_before.number
        changes[d] += 1
    assert set(changes) == set(range(1, max_changes + 1))  # the width is drawn, not fixed
    assert study.best_value < _separable(optuna.trial.FixedTrial(SPACE_DEFAULTS)) / 10


def test_greedy_starts_from_enqueued_defaults_too() -> None:
    study = optuna.create_study(sampler=make_sampler("greedy", seed=0))
    study.enqueue_trial(SPACE_DEFAULTS)
    study.optimize(_separable, n_trials=5)
    assert study.trials[0].params == SPACE_DEFAULTS
    assert 1 <= _diff(study.trials[1].params, SPACE_DEFAULTS) <= 2


def test_greedy_is_reproducible_per_seed() -> None:
    def run(seed: int) -> list[dict]:
        study = optuna.create_study(sampler=GreedySampler(SPACE_DEFAULTS, seed=seed))
        study.optimize(_separable, n_trials=15)
        return [t.params for t in study.trials]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_greedy_improves_on_a_separable_objective_more_than_random() -> None:
    best = {"greedy": [], "random": []}
    for seed in range(5):
        for name in best:
            sampler = GreedySampler(SPACE_DEFAULTS, seed=seed) if name == "greedy" else make_sampler(name, seed=seed)
            study = optuna.create_study(sampler=sampler)
            study.enqueue_trial(SPACE_DEFAULTS)
            study.optimize(_separable, n_trials=60)
            best[name].append(study.best_value)
    assert np.mean(best["greedy"]) < 0.5 * np.mean(best["random"]), best


def _small_discrete(trial: optuna.Trial) -> float:
    a = trial.suggest_int("a", 0, 2)
    b = trial.suggest_categorical("b", ["x", "y", "z"])
    c = trial.suggest_int("c", 0, 4, step=2)
    return (a - 1) ** 2 + (b != "y") + (c - 4) ** 2


def test_greedy_never_repeats_and_stops_when_the_space_is_exhausted() -> None:
    study = optuna.create_study(sampler=GreedySampler({"a": 0, "b": "x", "c": 0}, seed=2, max_changes=1))
    study.optimize(_small_discrete, n_trials=40)
    configs = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(configs) == 27 == len(set(configs))  # all 3*3*3, each once, then it stopped
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    modes = Counter(t.system_attrs["greedy:info"]["mode"] for t in study.trials)
    assert modes["defaults"] == 1 and modes["perturb"] > 10
    assert study.best_value == 0.0


def _conditional(trial: optuna.Trial) -> float:
    """Five configurations: kind=A with a in {0,1}, kind=B with b in {0,1,2}."""
    kind = trial.suggest_categorical("kind", ["A", "B"])
    if kind == "A":
        return float(trial.suggest_int("a", 0, 1))
    return 0.5 + trial.suggest_int("b", 0, 2)


def test_greedy_in_a_conditional_space_tries_each_configuration_once() -> None:
    study = optuna.create_study(sampler=GreedySampler({"kind": "A", "a": 1}, seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(_conditional, n_trials=12, catch=(SearchSpaceExhausted,))
    complete = [tuple(sorted(t.params.items())) for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == len(set(complete)) == 5
    assert set(complete) == {
        (("a", 0), ("kind", "A")),
        (("a", 1), ("kind", "A")),
        (("b", 0), ("kind", "B")),
        (("b", 1), ("kind", "B")),
        (("b", 2), ("kind", "B")),
    }
    # whatever ran after the space was used up failed before repeating anything
    assert all(t.state == TrialState.FAIL for t in study.trials if t.state != TrialState.COMPLETE)


def _open_and_closed_branch(trial: optuna.Trial) -> float:
    """Branch A is continuous (never exhausted), branch B has 6 values; B's best is 0.25 worse than A's."""
    if trial.suggest_categorical("kind", ["A", "B"]) == "A":
        return abs(trial.suggest_float("a", 0, 1) - 0.5)
    return 0.25 + trial.suggest_int("b", 0, 5) / 10


def test_greedy_leaves_a_used_up_branch_without_wasting_trials() -> None:
    # the best trial is an A; a change of kind to B must come with an untried b, and once all
    # six b's are tried it must not propose B at all (it would have to repeat or fail)
    study = optuna.create_study(sampler=GreedySampler({"kind": "B", "b": 5}, seed=4, max_changes=1))
    study.optimize(_open_and_closed_branch, n_trials=60)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    configs = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(configs)) == len(configs) == 60
    assert sorted(t.params["b"] for t in study.trials if t.params["kind"] == "B") == list(range(6))
    # a switch to B takes its b from what B trials showed, not from the best (A) trial
    switched = [t for t in study.trials if t.system_attrs["greedy:info"].get("changed") == ["kind"]]
    assert any(t.params["kind"] == "B" for t in switched)


def test_greedy_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError):
        GreedySampler(max_changes=0)
    with pytest.raises(ConfigError):
        GreedySampler(local_prob=1.5)
