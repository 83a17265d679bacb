"""One writer per output folder, and what kind of run a folder holds.

:func:`folder_lock` takes an exclusive ``flock`` on ``FOLDER/.autorec.lock`` for as long as a
command writes there.  A second process on the same folder is refused at once with the first
one's pid and command, instead of both writing (two searches on one study marked each other's
trials failed).  The lock belongs to the open file, so the kernel drops it when its process
dies, ``kill -9`` included: there is never a stale lock to remove by hand.

:func:`folder_kind` tells a search folder (``study.db``, ``leaderboard.csv``) from a training run
(``metrics.json`` alone), so that ``autorec train`` never overwrites half of a search's folder
and leaves the other half contradicting it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError

LOCK_NAME = ".autorec.lock"
SEARCH_MARKERS = ("study.db", "leaderboard.csv", "trials")


def folder_kind(folder: Path) -> str | None:
    """``"search"``, ``"train"`` or None (missing or holding no run)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    if any((folder / m).exists() for m in SEARCH_MARKERS):
        return "search"
    if (folder / "metrics.json").exists():
        return "train"
    return None


def require_kind(folder: Path, kind: str, command: str) -> None:
    """Refuse to write a ``kind`` run into a folder that holds the other kind."""
    found = folder_kind(folder)
    if found is not None and found != kind:
        what = {"search": "a search (study.db, leaderboard.csv, trials/)", "train": "a training run (metrics.json)"}
        raise ConfigError(f"{folder} holds {what[found]}; `autorec {command}` there would overwrite part of it "
                          "and leave the rest contradicting it: write to another --out")


@contextlib.contextmanager
def folder_lock(folder: Path, command: str | None = None) -> Iterator[Path]:
    """Hold the folder's writer lock (creating the folder) for the ``with`` block.

    Raises :class:`~autorec.errors.ConfigError` naming the holder when another process has it.
    A folder this call created and nothing else wrote to is removed again on the way out, so a
    command that fails before writing leaves nothing behind."""
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock(fd)
    except BlockingIOError:
        try:
            holder = os.read(fd, 500).decode("utf-8", "replace").strip() or "unknown"
        finally:
            os.close(fd)
        raise ConfigError(f"{folder} is in use by another autorec process ({holder}); wait for it to end, "
                          "or write to another --out") from None
    try:
        os.ftruncate(fd, 0)
        what = command or " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        os.write(fd, f"pid {os.getpid()}: {what[:300]}\n".encode("utf-8", "replace"))
        yield folder
    finally:
        try:
            if created and {p.name for p in folder.iterdir()} == {LOCK_NAME}:
                path.unlink()
                folder.rmdir()
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: msvcrt locks a byte range instead
        import msvcrt
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as e:
            raise BlockingIOError(str(e)) from e
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
