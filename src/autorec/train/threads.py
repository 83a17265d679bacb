"""How many threads a training run takes when the user does not say (``threads=None``).

torch's default is one thread per core.  On a machine where another process keeps a core busy,
or where two autorec processes train at once (two search workers, say), that oversubscribes
the cores, and torch's threads wait on each other at every parallel region: on a 2-core machine
with one core busy, an I-AutoRec epoch took about 30 times as long as on one thread
(docs/benchmarks.md, "Threads").  So the default here is what is actually free:

* ``cores``: the CPUs this process may run on (its affinity mask), capped by a cgroup CPU quota
  (containers);
* minus the cores other processes keep busy, sampled from ``/proc/stat`` over 0.1 s while this
  process sleeps (Linux; elsewhere nothing is subtracted);
* shared with the other autorec processes training on this machine at the same moment: each
  holds a lock file in a per-user folder while it trains, and the cores are divided by their
  number.

At least one thread, at most ``cores``.  The choice is remade at the start of every fit, so a
search adapts when the machine gets busier or quieter between trials.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator

SAMPLE_SECONDS = 0.1
# a measurement serves the fits of the next few seconds (many short fits, as in the tests or a
# search of fast models, would otherwise each pay the 0.1 s sample)
REUSE_SECONDS = 10.0
_last_sample: tuple[float, float] | None = None  # (monotonic time, busy cores)


def available_cores() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2/v1 CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota + 0.5)))
    return max(1, cores)


def _cgroup_quota() -> float | None:
    try:  # cgroup v2: "max 100000" or "200000 100000"
        parts = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if parts and parts[0] != "max":
            return int(parts[0]) / int(parts[1])
    except (OSError, ValueError, IndexError):
        pass
    try:  # cgroup v1
        q = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        p = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if q > 0 and p > 0:
            return q / p
    except (OSError, ValueError):
        pass
    return None


def _cpu_times(cpus: set[int]) -> dict[int, tuple[int, int]] | None:
    """(busy, total) jiffies per allowed CPU from /proc/stat, or None where there is none."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *fields = line.split()
        try:
            cpu = int(name[3:])
            values = [int(v) for v in fields[:8]]
        except ValueError:
            continue
        if cpu in cpus and len(values) >= 5:
            idle = values[3] + values[4]  # idle + iowait
            total = sum(values)
            out[cpu] = (total - idle, total)
    return out or None


def busy_cores(seconds: float = SAMPLE_SECONDS) -> float:
    """How many of this process's CPUs other processes keep busy, averaged over ``seconds``
    (this process sleeps meanwhile, so what is measured is everyone else)."""
    try:
        cpus = set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return 0.0
    before = _cpu_times(cpus)
    if before is None:
        return 0.0
    time.sleep(seconds)
    after = _cpu_times(cpus)
    if after is None:
        return 0.0
    busy = 0.0
    for cpu, (b0, t0) in before.items():
        if cpu in after:
            b1, t1 = after[cpu]
            if t1 > t0:
                busy += (b1 - b0) / (t1 - t0)
    return busy


def _slots_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"autorec-training-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def training_processes() -> int:
    """autorec processes of this user training on this machine now (holding a slot), at least 1."""
    folder = _slots_dir()
    live = 0
    for path in folder.glob("*.lock"):
        try:
            with path.open("a") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    live += 1  # its owner holds it: a process training now
                    continue
                fcntl.flock(fh, fcntl.LOCK_UN)
            if int(path.stem) != os.getpid():
                path.unlink(missing_ok=True)  # left by a process that ended
        except (OSError, ValueError):
            continue
    return max(1, live)


@contextlib.contextmanager
def training_slot() -> Iterator[None]:
    """Held while this process trains, so that other autorec processes count it."""
    folder = _slots_dir()
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        fh = (folder / f"{os.getpid()}.lock").open("a")
    except OSError:  # no writable temporary folder: train without announcing it
        yield
        return
    try:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def _recent_busy_cores() -> float:
    global _last_sample
    now = time.monotonic()
    if _last_sample is None or now - _last_sample[0] > REUSE_SECONDS:
        _last_sample = (now, busy_cores())
    return _last_sample[1]


def choose_threads(cores: int | None = None, busy: float | None = None, processes: int | None = None) -> int:
    """The default thread count: the free cores, shared among the autorec processes training
    here (the arguments override the measurements, for tests)."""
    cores = available_cores() if cores is None else cores
    busy = _recent_busy_cores() if busy is None else busy
    processes = training_processes() if processes is None else processes
    # other autorec trainers are part of ``busy`` already; their share is what ``processes`` divides
    others_autorec = processes - 1
    foreign = max(0.0, busy - others_autorec * cores / processes)
    free = cores - math.floor(foreign + 0.5)
    return int(max(1, min(free, cores // processes)))
