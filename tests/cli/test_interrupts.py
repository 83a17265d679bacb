"""Ctrl-C and SIGTERM during `autorec search`: the running trial fails as interrupted, what
finished is written, the exit code says which signal, and the same command resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest

from planted import planted

pytestmark = pytest.mark.slow


def _done(out) -> list[optuna.trial.FrozenTrial]:
    if not (out / "study.db").exists():
        return []
    try:
        study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{out / 'study.db'}")
    except Exception:  # the tables are being created
        return []
    return [t for t in study.trials if t.state.is_finished()]


ENV = {**os.environ, "AUTOREC_NO_PROGRESS": "1"}


def _search(tmp_path, trials: int):
    """A search whose trials each train for 3 s (75,000 planted ratings), and its folder."""
    csv = tmp_path / "ratings.csv"
    planted(500, 300, seed=5).to_csv(csv, index=False)
    out = tmp_path / "s"
    return [sys.executable, "-m", "autorec.cli.main", "search", "--dataset", str(csv), "--models", "biased-mf",
            "--tuner", "random", "--trials", str(trials), "--max-epochs", "100000", "--trial-timeout", "3s",
            "--pruner", "none", "--out", str(out)], out


@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_a_signal_mid_search_stops_cleanly_and_the_same_command_resumes(tmp_path, sig, code, word) -> None:
    cmd, out = _search(tmp_path, trials=3)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + 120
        while not _done(out) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert _done(out), "no trial finished in time"
        time.sleep(0.5)  # the next trial is training now
        sent = time.monotonic()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        assert time.monotonic() - sent < 15
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, stderr[-2000:]
    assert f"autorec: {word}" in stderr and "Traceback" not in stderr
    assert "the same command again resumes" in stdout
    board = pd.read_csv(out / "leaderboard.csv")
    finished = [t.number for t in _done(out) if t.state == optuna.trial.TrialState.COMPLETE]
    assert set(finished) <= set(board["trial"])
    # the resumed run keeps what finished, redoes the cut trial, and ends with --trials done
    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    study = optuna.load_study(study_name="autorec", storage=f"sqlite:///{out / 'study.db'}")
    complete = [t.number for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert set(finished) <= set(complete) and len(complete) == 3
    assert json.loads((out / "metrics.json").read_text())["n_complete"] == 3


def test_two_searches_on_one_folder_the_second_is_refused(tmp_path) -> None:
    cmd, out = _search(tmp_path, trials=2)
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + 120
        while not (out / ".autorec.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        second = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=120)
        assert second.returncode == 1
        assert "is in use by another autorec process" in second.stderr and "Traceback" not in second.stderr
        _, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr[-2000:]
    assert json.loads((out / "metrics.json").read_text())["n_trials"] == 2
