"""The default thread count: free cores, shared among autorec processes training on one machine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from autorec.errors import ConfigError
from autorec.train import threads as th
from autorec.train.engine import TrainConfig


@pytest.mark.parametrize("cores, busy, processes, expected", [
    (2, 0.0, 1, 2),   # an idle machine: every core
    (2, 1.0, 1, 1),   # another process keeps a core busy: the free one only
    (2, 0.0, 2, 1),   # two autorec trainers: a core each
    (2, 1.0, 2, 1),   # ... and the other trainer's core is its own, not foreign load
    (8, 1.2, 2, 4),
    (8, 4.0, 2, 4),   # the other trainer uses its half
    (4, 3.6, 1, 1),   # never below one thread
    (1, 0.0, 3, 1),
])
def test_choose_threads(cores, busy, processes, expected):
    assert th.choose_threads(cores=cores, busy=busy, processes=processes) == expected


def test_available_cores_respects_the_affinity_mask():
    assert 1 <= th.available_cores() <= len(os.sched_getaffinity(0))


def _holder(tmpdir) -> subprocess.Popen:
    code = textwrap.dedent("""
        import sys, time
        from autorec.train.threads import training_slot
        with training_slot():
            print("holding", flush=True)
            time.sleep(60)
    """)
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_processes_training_here_are_counted_and_a_killed_one_is_forgotten(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(th.tempfile, "tempdir", None)  # re-read TMPDIR
    with th.training_slot():
        assert th.training_processes() == 1
        proc = _holder(tmp_path)
        try:
            assert th.training_processes() == 2
        finally:
            proc.kill()
            proc.wait()
        assert th.training_processes() == 1  # its lock died with it; the file is cleaned up
    assert len(list(th._slots_dir().glob("*.lock"))) <= 1


def test_busy_cores_sees_another_process_spinning():
    spin = subprocess.Popen([sys.executable, "-c", "import os\nos.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
                             "while True: pass"])
    try:
        time.sleep(0.3)  # let it start spinning
        assert th.busy_cores(0.3) >= 0.5
    finally:
        spin.kill()
        spin.wait()


def test_threads_setting_is_checked():
    for bad in ("abc", 0, -2, 1.5, True):
        with pytest.raises(ConfigError, match="threads must be a positive integer"):
            TrainConfig(threads=bad)
    assert TrainConfig(threads=3).threads == 3 and TrainConfig().threads is None
