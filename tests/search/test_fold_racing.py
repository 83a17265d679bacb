"""Racing cross-validated trials over their folds (SearchSettings.fold_racing): a trial whose
folds so far rule it out of the kept best stops there."""

from __future__ import annotations

from collections import Counter

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.trial import TrialState, create_trial

from autorec.data import Interactions
from autorec.problems import CrossValidated, RatingProblem
from autorec.search import SearchSettings, run_search
from autorec.search.scheduling import FOLD_SCORES, fold_cut, raced_out
from autorec.splits import make_split

from planted import planted


def _study(direction: str, trials) -> optuna.Study:
    study = optuna.create_study(direction=direction)
    for value, folds in trials:
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=value, params={}, distributions={},
                                     user_attrs={FOLD_SCORES: folds}))
    return study


def test_no_cut_before_enough_complete_trials_have_fold_scores():
    study = _study("minimize", [(0.90, [0.91, 0.9]), (0.95, [0.96, 0.94])])
    assert fold_cut(study, 99, keep=2) is None  # fewer than three
    study = _study("minimize", [(0.90, [0.91, 0.9]), (0.95, [0.96, 0.94]), (0.97, [0.97, 0.97])])
    assert fold_cut(study, 99, keep=5) is None  # fewer than the results keep
    assert fold_cut(study, 99, keep=3) is not None
    assert not raced_out(2.0, None, "minimize")


def test_the_cut_is_the_kept_worst_less_the_first_folds_optimism():
    # every full score is its first fold + 0.01 exactly: the cut is the 2nd best less 0.01
    study = _study("minimize", [(0.91, [0.90]), (0.93, [0.92]), (0.96, [0.95]), (1.01, [1.00])])
    cut = fold_cut(study, 99, keep=2)
    assert cut == pytest.approx(0.92)
    assert raced_out(0.921, cut, "minimize") and not raced_out(0.919, cut, "minimize")
    assert raced_out(float("nan"), cut, "minimize")


def test_later_folds_race_on_the_mean_of_the_folds_so_far_with_a_narrower_range():
    # full scores are the mean of three folds; the first fold alone is a noisy guess of it
    # (+-0.02 around the full score), the mean of two much less so (+-0.005)
    rng = np.random.default_rng(3)
    trials = []
    for v in np.linspace(0.90, 1.00, 12):
        a = rng.choice([-0.02, 0.02])
        b = -a + rng.choice([-0.01, 0.01])
        trials.append((float(v), [float(v + a), float(v + b), float(v - a - b)]))
    study = _study("minimize", trials)
    one, two = fold_cut(study, 99, keep=3), fold_cut(study, 99, keep=3, folds=2)
    assert one == pytest.approx(fold_cut(study, 99, keep=3, folds=1))  # one fold is the default
    firsts = np.array([f[0] for _, f in trials])
    kth = sorted(v for v, _ in trials)[2]
    gaps1 = np.array([v for v, _ in trials]) - firsts
    assert one == pytest.approx(kth - gaps1.mean() + 2 * gaps1.std(ddof=1))
    means2 = np.array([np.mean(f[:2]) for _, f in trials])
    gaps2 = np.array([v for v, _ in trials]) - means2
    assert two == pytest.approx(kth - gaps2.mean() + 2 * gaps2.std(ddof=1))
    assert two < one  # two folds leave less room for luck
    # a trial whose first fold is inside the first cut, and whose second fold shows that the
    # first was lucky, is stopped after two folds
    first = one - 0.001
    second = 2 * (two + 0.01) - first
    assert not raced_out(first, one, "minimize") and raced_out((first + second) / 2, two, "minimize")
    # trials with fewer folds than asked (stopped early themselves) do not teach the rule
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.5, params={}, distributions={},
                                 user_attrs={FOLD_SCORES: [0.5]}))
    assert fold_cut(study, 99, keep=3, folds=2) == pytest.approx(two)


@given(gaps=st.lists(st.floats(-0.05, 0.05), min_size=3, max_size=12), keep=st.integers(1, 5),
       base=st.floats(0.5, 2.0))
@settings(max_examples=80, deadline=None)
def test_no_trial_that_would_have_been_kept_is_cut_when_it_behaves_like_the_others(gaps, keep, base):
    """A new trial whose folds relate like the complete trials' (its gap v - f equals the mean
    gap) and whose full score would be among the ``keep`` best is never cut; the rule mirrors
    for maximisation."""
    if len(gaps) < keep:
        return
    firsts = base + np.linspace(0.0, 0.2, len(gaps))
    trials = [(float(f + g), [float(f)]) for f, g in zip(firsts, gaps)]
    kth = sorted(v for v, _ in trials)[keep - 1]
    new_first = kth - float(np.mean(gaps)) - 1e-9  # predicted full score just inside the kept
    assert not raced_out(new_first, fold_cut(_study("minimize", trials), 99, keep), "minimize")
    mirrored = [(-v, [-f[0]]) for v, f in trials]
    assert not raced_out(-new_first, fold_cut(_study("maximize", mirrored), 99, keep), "maximize")


@pytest.fixture(scope="module")
def problem():
    data = Interactions.from_frame(planted(60, 40, seed=11), rating_scale=(1, 5), name="planted")
    return RatingProblem(data, make_split(data, "random-90-10", seed=0))


def test_each_fold_reports_its_own_held_out_score_and_a_raise_stops_the_folds(problem):
    cv = CrossValidated(problem, 3, seed=0)
    heard = []
    bag = cv.fit("baseline", {}, {"max_epochs": 5}, on_fold=lambda f, s: heard.append((f, s)))
    y = problem.pool_target()
    assert [f for f, _ in heard] == [0, 1, 2]
    for f, score in heard:
        held = cv.folds[f]
        assert score == pytest.approx(float(np.sqrt(np.mean((y[held] - bag.oof_[held]) ** 2))))

    class Stop(Exception):
        pass

    def stop(f, s):
        raise Stop
    with pytest.raises(Stop):
        cv.fit("baseline", {}, {"max_epochs": 5}, on_fold=stop)


def test_a_cross_validated_search_races_bad_trials_out_after_their_first_fold(problem, tmp_path):
    # random draws of the two shrinkages (0.1-300 pseudo-ratings) differ enough that some first
    # folds rule their trials out
    s = SearchSettings(models=["baseline"], tuner="random", n_trials=12, max_epochs=20, patience=2,
                       pruner="none", seed=0, cv=3, ensemble_size=3, warm_start=[])
    result = run_search(problem, s, tmp_path)
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{tmp_path / 'study.db'}")
    raced = [t for t in study.trials if t.user_attrs.get("raced_out")]
    assert result["cv"]["raced_out"] == len(raced) > 0
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert all(len(t.user_attrs[FOLD_SCORES]) == 3 for t in complete)
    for t in raced:  # stopped before its last fold, pruned, and out of the kept models
        assert t.state == TrialState.PRUNED
        assert len(t.user_attrs[FOLD_SCORES]) < 3
        assert not (tmp_path / "trials" / f"trial-{t.number}").exists()
    assert result["cv"]["raced_out_after"] == dict(Counter(str(len(t.user_attrs[FOLD_SCORES])) for t in raced))
    # without racing the same study runs every fold of every trial
    s2 = SearchSettings(**{**s.__dict__, "fold_racing": False})
    result2 = run_search(problem, s2, tmp_path / "no-racing")
    assert result2["cv"]["raced_out"] == 0 and result2["n_complete"] == 12


def test_the_cli_says_it_races_and_no_fold_racing_runs_every_fold(tmp_path, capsys):
    import json

    from autorec.cli.main import main

    csv = tmp_path / "r.csv"
    planted(40, 25, seed=5).to_csv(csv, index=False)

    def run(extra, out):
        try:
            main(["search", "--dataset", str(csv), "--models", "baseline", "--tuner", "random", "--trials", "8",
                  "--max-epochs", "10", "--pruner", "none", "--cv", "3", "--warm-start", "none",
                  "--out", str(tmp_path / out), *extra])
        except SystemExit as exc:
            assert not exc.code
        return json.loads((tmp_path / out / "metrics.json").read_text())

    def said() -> str:  # rich wraps long lines
        return " ".join(capsys.readouterr().out.split())

    racing = run([], "racing")
    assert "a trial whose folds so far rule it out stops there" in said()
    every = run(["--no-fold-racing"], "every-fold")
    assert "rules it out" not in said()
    assert every["cv"]["raced_out"] == 0 and every["n_complete"] == 8
    assert racing["cv"]["raced_out"] + racing["n_complete"] + racing.get("n_failed", 0) <= 8
