"""One writer per output folder (autorec.io.folders): the lock, its release on kill, run kinds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from autorec.errors import ConfigError
from autorec.io import folder_kind, folder_lock, require_kind

HOLD = """
import sys, time
from autorec.io import folder_lock
with folder_lock(sys.argv[1], command="holder"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path) -> None:
    with folder_lock(tmp_path / "run", command="first"):
        with pytest.raises(ConfigError, match=r"in use by another autorec process \(pid \d+: first\)"):
            with folder_lock(tmp_path / "run", command="second"):
                pass
    with folder_lock(tmp_path / "run"):  # released on the way out
        pass


def test_the_lock_dies_with_its_process_even_on_sigkill(tmp_path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=f"pid {holder.pid}: holder"):
            with folder_lock(tmp_path / "run"):
                pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        with folder_lock(tmp_path / "run"):  # no stale lock to remove by hand
            pass
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_folder_created_for_nothing_is_removed_again(tmp_path) -> None:
    with pytest.raises(RuntimeError):
        with folder_lock(tmp_path / "new"):
            raise RuntimeError("failed before writing")
    assert not (tmp_path / "new").exists()
    with folder_lock(tmp_path / "kept"):
        (tmp_path / "kept" / "metrics.json").write_text("{}")
    assert (tmp_path / "kept" / "metrics.json").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    with folder_lock(existing):
        pass
    assert existing.is_dir()  # the user's folder stays, empty or not


def test_run_kinds_are_told_apart_and_not_mixed(tmp_path) -> None:
    search, train = tmp_path / "search", tmp_path / "train"
    search.mkdir()
    train.mkdir()
    (search / "study.db").write_bytes(b"")
    (train / "metrics.json").write_text("{}")
    assert folder_kind(search) == "search" and folder_kind(train) == "train"
    assert folder_kind(tmp_path / "absent") is None
    with pytest.raises(ConfigError, match="holds a search"):
        require_kind(search, "train", "train")
    with pytest.raises(ConfigError, match="holds a training run"):
        require_kind(train, "search", "search")
    require_kind(search, "search", "search")
    require_kind(tmp_path / "absent", "train", "train")
