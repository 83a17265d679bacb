"""Studies: storages, resume after a killed process, and several worker processes sharing a budget."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from autorec.errors import ConfigError
from autorec.search.storage import (
    FAIL_REASON,
    SharedBudget,
    count_done,
    fail_running_trials,
    open_study,
    remaining_budget,
    track_failures,
)

import pg

optuna.logging.set_verbosity(optuna.logging.WARNING)

N_SHARED = 16

# One worker process: waits for the others (so they really overlap), then takes trials from the
# shared study until the shared budget is used up.  Each evaluation is logged as "number pid".
WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import optuna
    from autorec.search.storage import open_study, remaining_budget, SharedBudget, track_failures
    from autorec.search.tuners import make_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage, out_dir, n_trials, worker, n_workers, log, barrier, kill_at, sleep, grace = sys.argv[1:]
    n_trials, worker, n_workers, kill_at, sleep = int(n_trials), int(worker), int(n_workers), int(kill_at), float(sleep)
    study = open_study(storage, "shared", Path(out_dir), sampler=make_sampler("greedy", seed=worker),
                       heartbeat_interval=1, grace_period=int(grace))
    Path(barrier, f"ready-{worker}").touch()
    deadline = time.time() + 20
    while len(list(Path(barrier).glob("ready-*"))) < n_workers:
        if time.time() > deadline:
            sys.exit("other workers never arrived")
        time.sleep(0.01)

    def objective(trial):
        x = trial.suggest_int("x", 0, 5)
        y = trial.suggest_categorical("y", ["a", "b", "c", "d", "e", "f"])
        z = trial.suggest_int("z", 0, 5)
        if trial.number == kill_at:
            os._exit(3)  # die mid-trial, as a killed process would: the trial stays RUNNING
        with open(log, "a") as f:
            f.write(f"{trial.number} {os.getpid()}\\n")
        time.sleep(sleep)
        return (x - 3) ** 2 + (z - 1) ** 2 + (y != "c")

    study.optimize(track_failures(objective), n_trials=remaining_budget(study, n_trials),
                   callbacks=[SharedBudget(n_trials)])
    """
)


def _workers(
    tmp_path: Path, storage: str, n_workers: int, n_trials: int, kill_at: int = -1, sleep: float = 0.1, grace: int = 30
):
    # grace: seconds without a heartbeat before a RUNNING trial counts as dead; short only where
    # a test waits for that, since a starved heartbeat thread on a busy machine looks dead too
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    log = tmp_path / "evaluated.log"
    barrier = tmp_path / "barrier"
    barrier.mkdir(exist_ok=True)
    for f in barrier.glob("ready-*"):
        f.unlink()
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), storage, str(tmp_path / "out"), str(n_trials), str(w), str(n_workers),
             str(log), str(barrier), str(kill_at), str(sleep), str(grace)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(n_workers)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append((p.returncode, err))
    evaluated = [tuple(map(int, line.split())) for line in log.read_text().splitlines()] if log.exists() else []
    return results, evaluated


def _check_shared_run(study: optuna.Study, evaluated: list[tuple[int, int]], n_workers: int) -> None:
    trials = study.get_trials()
    states = Counter(t.state for t in trials)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    # nothing left hanging or lost, nothing failed
    assert set(states) == {TrialState.COMPLETE}, states
    # the shared budget: exactly N unless workers asked at the same instant (then at most N + workers - 1)
    assert N_SHARED <= len(complete) <= N_SHARED + n_workers - 1, len(complete)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))  # every trial number handed out once
    # each trial evaluated exactly once, by one process, and every evaluation is in the study
    assert Counter(n for n, _ in evaluated) == Counter(t.number for t in complete)
    assert len({pid for _, pid in evaluated}) == n_workers, "the workers did not share the study"
    # the greedy sampler in separate processes never proposed one configuration twice
    configs = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(configs)) == len(configs)


# ------------------------------------------------------------------ opening studies


def test_default_storage_is_sqlite_file_in_out_dir(tmp_path: Path) -> None:
    out = tmp_path / "run"
    study = open_study(None, "s", out, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert (out / "study.db").is_file()
    again = open_study(None, "s", out)
    assert [t.value for t in again.trials] == [t.value for t in study.trials]
    explicit = open_study(f"sqlite:///{out / 'study.db'}", "s", tmp_path / "elsewhere")
    assert len(explicit.trials) == 3


def test_journal_storage_roundtrip(tmp_path: Path) -> None:
    url = f"journal:{tmp_path / 'search.log'}"
    study = open_study(url, "j", tmp_path, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)
    again = open_study(url, "j", tmp_path, direction="maximize")
    assert len(again.trials) == 4 and again.best_value == study.best_value
    assert (tmp_path / "search.log").stat().st_size > 0


def test_open_study_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not understood"):
        open_study("study.db", "s", tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        open_study(f"journal:{tmp_path / 'missing' / 'x.log'}", "s", tmp_path)
    with pytest.raises(ConfigError, match="direction"):
        open_study(None, "s", tmp_path, direction="up")
    open_study(None, "s", tmp_path, direction="minimize")
    with pytest.raises(ConfigError, match="created to minimize, not to maximize"):
        open_study(None, "s", tmp_path, direction="maximize")
    with pytest.raises(ConfigError, match="already exists"):
        open_study(None, "s", tmp_path, load_if_exists=False)
    with pytest.raises(ConfigError, match="could not be opened|not installed"):
        open_study("nosuchdialect://x/y", "s", tmp_path)


# ------------------------------------------------------------------ budget accounting


def test_budget_counts_complete_pruned_and_errors_not_interruptions(tmp_path: Path) -> None:
    study = open_study(f"journal:{tmp_path / 'b.log'}", "b", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        kind = trial.number % 4
        if kind == 1:
            raise optuna.TrialPruned()
        if kind == 2:
            raise RuntimeError("diverged")
        if kind == 3:
            return math.nan
        return x

    study.optimize(track_failures(objective), n_trials=8, catch=(RuntimeError,))
    states = Counter(t.state for t in study.trials)
    assert states == {TrialState.COMPLETE: 2, TrialState.PRUNED: 2, TrialState.FAIL: 4}
    reasons = {t.number: t.user_attrs.get(FAIL_REASON) for t in study.trials if t.state == TrialState.FAIL}
    assert reasons[2] == "RuntimeError: diverged" and "nan" in reasons[3]
    assert count_done(study) == 8

    # an interrupted trial (RUNNING, then failed on resume) is not counted: it will be redone
    study.ask()
    assert count_done(study) == 8 and remaining_budget(study, 10) == 2
    assert fail_running_trials(study) == [8]
    assert study.trials[8].state == TrialState.FAIL
    assert count_done(study) == 8 and remaining_budget(study, 10) == 2
    assert remaining_budget(study, 5) == 0
    with pytest.raises(ConfigError):
        remaining_budget(study, -1)


def test_shared_budget_stops_the_optimize_loop(tmp_path: Path) -> None:
    study = open_study(None, "cb", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    # a resumed run given a larger per-worker cap still stops at the shared total of 7
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=100, callbacks=[SharedBudget(7)])
    assert len(study.trials) == 7


# ------------------------------------------------------------------ resume after a kill


@pytest.mark.slow
def test_resume_after_killed_process_sqlite_heartbeat(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    results, evaluated = _workers(tmp_path, url, n_workers=1, n_trials=10, kill_at=4, sleep=0.0, grace=1)
    assert results[0][0] == 3, results[0][1]  # the worker died by os._exit(3) inside trial 4
    raw = optuna.load_study(study_name="shared", storage=url)
    assert [t.state for t in raw.trials] == [TrialState.COMPLETE] * 4 + [TrialState.RUNNING]

    time.sleep(2.2)  # let the dead trial's heartbeat go stale (interval 1 s, grace 1 s)
    study = open_study(url, "shared", tmp_path, heartbeat_interval=1, grace_period=1)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4 + [TrialState.FAIL]
    assert FAIL_REASON not in study.trials[4].user_attrs
    assert remaining_budget(study, 10) == 6

    results, evaluated = _workers(tmp_path, url, n_workers=1, n_trials=10)
    assert results[0][0] == 0, results[0][1]
    study = open_study(url, "shared", tmp_path)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 4 + [TrialState.FAIL] + [TrialState.COMPLETE] * 6
    assert count_done(study) == 10 and remaining_budget(study, 10) == 0
    configs = [tuple(sorted(t.params.items())) for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(set(configs)) == 10


def test_resume_journal_with_fail_running(tmp_path: Path) -> None:
    url = f"journal:{tmp_path / 'study.log'}"
    results, _ = _workers(tmp_path, url, n_workers=1, n_trials=6, kill_at=2, sleep=0.0)
    assert results[0][0] == 3, results[0][1]
    # a journal has no heartbeat: without fail_running the dead trial stays RUNNING
    study = open_study(url, "shared", tmp_path)
    assert study.trials[2].state == TrialState.RUNNING
    study = open_study(url, "shared", tmp_path, fail_running=True)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2 + [TrialState.FAIL]
    assert remaining_budget(study, 6) == 4


# ------------------------------------------------------------------ several workers, one study


@pytest.mark.slow
def test_two_workers_share_a_sqlite_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    results, evaluated = _workers(tmp_path, url, n_workers=2, n_trials=N_SHARED)
    assert all(rc == 0 for rc, _ in results), results
    _check_shared_run(optuna.load_study(study_name="shared", storage=url), evaluated, 2)


@pytest.mark.slow
def test_two_workers_share_a_journal_study(tmp_path: Path) -> None:
    url = f"journal:{tmp_path / 'study.log'}"
    results, evaluated = _workers(tmp_path, url, n_workers=2, n_trials=N_SHARED)
    assert all(rc == 0 for rc, _ in results), results
    _check_shared_run(open_study(url, "shared", tmp_path), evaluated, 2)


@pytest.mark.slow
def test_two_workers_share_a_postgresql_study(tmp_path: Path) -> None:
    reason = pg.why_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with pg.postgres_server() as url:
        results, evaluated = _workers(tmp_path, url, n_workers=2, n_trials=N_SHARED)
        assert all(rc == 0 for rc, _ in results), results
        _check_shared_run(optuna.load_study(study_name="shared", storage=url), evaluated, 2)
