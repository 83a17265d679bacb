"""A study knows what it is a study of (autorec.search.identity), failures that a fixed
configuration must not inherit, and interrupted warm starts that run again."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from autorec.data import Interactions
from autorec.errors import ConfigError
from autorec.problems import RatingProblem
from autorec.search import SearchSettings, run_search
from autorec.search.identity import IDENTITY_ATTR, stored_split_seed
from autorec.search.storage import FAIL_REASON, count_done, requeue_interrupted
from autorec.splits import make_split

from planted import planted


def _problem(data_seed: int = 3, split_seed: int = 0) -> RatingProblem:
    data = Interactions.from_frame(planted(40, 25, seed=data_seed), timestamp_col="timestamp", rating_scale=(1, 5),
                                   name="planted")
    return RatingProblem(data, make_split(data, "random-90-10", seed=split_seed))


def _settings(**kw) -> SearchSettings:
    base = dict(models=["biased-mf"], tuner="random", n_trials=1, max_epochs=2, patience=0, pruner="none",
                seed=0, cv=None, ensemble_size=1)
    base.update(kw)
    return SearchSettings(**base)


def _study(out) -> optuna.Study:
    return optuna.load_study(study_name="autorec", storage=f"sqlite:///{out / 'study.db'}")


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    out = tmp_path_factory.mktemp("search")
    run_search(_problem(), _settings(), out)
    return out


def test_a_study_records_what_it_is_of(searched) -> None:
    ident = _study(searched).user_attrs[IDENTITY_ATTR]
    assert ident["dataset"] == "planted" and ident["split"] == "random-90-10" and ident["split_seed"] == 0
    assert ident["models"] == ["biased-mf"] and ident["max_epochs"] == 2 and len(ident["fingerprint"]) == 64
    assert stored_split_seed(None, "autorec", searched) == 0
    assert stored_split_seed(None, "autorec", searched.parent / "nothing-here") is None


@pytest.mark.parametrize("change, named", [
    (dict(problem=_problem(data_seed=4)), "(rows|fingerprint)"),
    (dict(problem=_problem(split_seed=1)), "split_seed"),
    (dict(settings=_settings(models=["mf"])), "models"),
    (dict(settings=_settings(max_epochs=3)), "max_epochs"),
    (dict(settings=_settings(fixed={"lr": 0.01})), "fixed"),
])
def test_resuming_on_anything_else_is_refused_and_names_it(searched, change, named) -> None:
    before = len(_study(searched).trials)
    with pytest.raises(ConfigError, match=rf"{named}: the study has .*--new-study"):
        run_search(change.get("problem", _problem()), change.get("settings", _settings(n_trials=2)), searched)
    assert len(_study(searched).trials) == before  # nothing run, nothing mixed


def test_settings_that_do_not_change_the_measurement_may_differ(searched) -> None:
    # threads and the tuner are how a worker runs, not what it measures
    run_search(_problem(), _settings(n_trials=2, tuner="tpe", fixed={"threads": 1}), searched)
    assert count_done(_study(searched)) == 2


def test_new_study_starts_afresh(tmp_path) -> None:
    run_search(_problem(), _settings(), tmp_path)
    run_search(_problem(data_seed=4), _settings(new_study=True), tmp_path)
    study = _study(tmp_path)
    assert len(study.trials) == 1 and study.user_attrs[IDENTITY_ATTR]["fingerprint"] == \
        _problem(data_seed=4).identity()["fingerprint"]


def test_bad_options_fail_before_any_study_or_folder_exists(tmp_path) -> None:
    for bad in (dict(max_epochs=0), dict(n_trials=0), dict(max_epochs=1.5), dict(tuner="annealing"),
                dict(pruner="asha"), dict(time_budget=-1), dict(model_choice="fastest")):
        with pytest.raises(ConfigError):
            run_search(_problem(), _settings(**bad), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_configuration_error_does_not_use_up_the_budget_of_the_fixed_rerun() -> None:
    study = optuna.create_study()
    for reason in ("ConfigError: hidden_units must be >= 1", "RuntimeError: out of memory"):
        trial = study.ask()
        trial.set_user_attr(FAIL_REASON, reason)
        study.tell(trial, state=TrialState.FAIL)
    assert count_done(study) == 1  # only the real failure counts


def test_an_interrupted_warm_start_is_queued_again() -> None:
    study = optuna.create_study()
    warm = [{"x": 1.0}, {"x": 2.0}]
    for params in warm:
        study.enqueue_trial(params)
    cut = study.ask()  # {"x": 1.0}, then Ctrl-C: Optuna fails it without a reason
    cut.suggest_float("x", 0, 3)
    study.tell(cut, state=TrialState.FAIL)
    assert requeue_interrupted(study, warm) == [{"x": 1.0}]  # {"x": 2.0} is still waiting
    assert requeue_interrupted(study, warm) == []  # queued now: not twice
    waiting = [t.system_attrs["fixed_params"] for t in study.get_trials(states=(TrialState.WAITING,))]
    assert sorted(w["x"] for w in waiting) == [1.0, 2.0]


def test_train_into_a_search_folder_is_refused_before_training(searched) -> None:
    from autorec.runs import train_and_evaluate

    metrics_before = (searched / "metrics.json").read_bytes()
    with pytest.raises(ConfigError, match="holds a search"):
        train_and_evaluate(_problem(), "biased-mf", {"max_epochs": 1}, out=searched)
    assert (searched / "metrics.json").read_bytes() == metrics_before
