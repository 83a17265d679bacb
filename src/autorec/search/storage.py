"""Where a study lives, how an interrupted search resumes, and how workers share a budget.

Storages (``open_study(storage=...)``):

* ``None``: a SQLite file ``out_dir/study.db``.
* any SQLAlchemy URL: ``sqlite:///path.db``, ``postgresql://user:pass@host:5432/db`` (several
  machines), ``mysql+pymysql://...``.  These get Optuna's heartbeat: each running trial records
  a heartbeat every ``heartbeat_interval`` seconds, and a RUNNING trial whose heartbeat is older
  than ``grace_period`` (default twice the interval) belongs to a dead process and is marked
  FAILED, on open and again before every new trial.
* ``journal:PATH``: Optuna's JournalStorage over an append-only file (``JournalFileBackend``,
  file locks; works across processes on one machine or on a shared file system with working
  locks).  It has no heartbeat.

Resume: a process killed mid-trial leaves that trial RUNNING.  Opening the study marks it
FAILED when its heartbeat is stale (RDB storages), or, with ``fail_running=True``, marks every
RUNNING trial FAILED at once (for a single-worker resume, where the caller knows no other
process is using the study; the only way for a journal file, which has no heartbeat).

The budget counts what is already done (:func:`count_done`): COMPLETE and PRUNED trials, and
FAILED trials whose objective raised an error (recorded by :func:`track_failures` as the user
attr ``fail_reason``), except configuration errors.  A FAILED trial without a reason was interrupted (its process died, or
``fail_running`` closed it) and is not counted, so a resumed run redoes it.  WAITING (enqueued)
and RUNNING trials are not done.

Several workers share one budget: each calls ``study.optimize(objective,
n_trials=remaining_budget(study, N), callbacks=[SharedBudget(N)])``.  The per-worker
``n_trials`` bounds any one worker; :class:`SharedBudget` stops a worker once the trials done
plus the trials other workers are running reach ``N``.  A worker asks for its next trial only
after seeing fewer than ``N`` done-or-running trials, so the total exceeds ``N`` only when
workers look at the same moment: at most by ``workers - 1``.  (Optuna's ``MaxTrialsCallback``
counts finished trials only, so every worker still running a trial when the total is reached
overshoots, and it cannot tell an interrupted failure from an error.)
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import optuna
import sqlalchemy
import sqlalchemy.event
import sqlalchemy.exc
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from ..errors import ConfigError

__all__ = [
    "open_study",
    "storage_url",
    "fail_running_trials",
    "is_done",
    "count_done",
    "remaining_budget",
    "SharedBudget",
    "track_failures",
    "requeue_interrupted",
    "FAIL_REASON",
]

FAIL_REASON = "fail_reason"
CONFIG_ERROR = "ConfigError:"

DIRECTIONS = ("minimize", "maximize")
_CREATE_ATTEMPTS = 5


def storage_url(storage: str | None, out_dir: Path) -> str:
    """The storage string actually used: the default is ``sqlite:///<out_dir>/study.db``."""
    if storage is None:
        return f"sqlite:///{(Path(out_dir) / 'study.db').resolve()}"
    return storage


def _make_storage(
    storage: str | None, out_dir: Path, heartbeat_interval: int | None, grace_period: int | None
) -> optuna.storages.BaseStorage:
    url = storage_url(storage, out_dir)
    if storage is None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    if url.startswith("journal:"):
        path = Path(url[len("journal:") :])
        if not str(path) or str(path) == ".":
            raise ConfigError(f"storage {url!r}: 'journal:' needs a file path, e.g. journal:search.log")
        if not path.parent.is_dir():
            raise ConfigError(f"storage {url!r}: folder {str(path.parent)!r} does not exist")
        return JournalStorage(JournalFileBackend(str(path)))
    if "://" not in url:
        raise ConfigError(
            f"storage {url!r} is not understood: give a SQLAlchemy URL (sqlite:///study.db, "
            "postgresql://user:pass@host/db) or journal:PATH"
        )
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # several processes on one SQLite file wait for the write lock instead of failing at once
        engine_kwargs["connect_args"] = {"timeout": 60}
    for attempt in range(_CREATE_ATTEMPTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat flag
            try:
                rdb = RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                )
                if url.startswith("sqlite"):
                    _sqlite_wal(rdb)
                return rdb
            except ImportError as e:
                raise ConfigError(f"storage {url!r}: the database driver is not installed ({e})") from e
            except sqlalchemy.exc.DBAPIError as e:
                # workers started together on a new database race to create Optuna's tables and
                # its schema-version row ("already exists", unique violations); the losers find
                # them created when they try again.  A server that is down gets the same retries.
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise ConfigError(f"storage {url!r} could not be opened: {e}") from e
                time.sleep(0.2 * (attempt + 1))
            except Exception as e:  # SQLAlchemy's URL/connection errors: say which storage failed
                raise ConfigError(f"storage {url!r} could not be opened: {e}") from e
    raise AssertionError("unreachable")


def _sqlite_wal(rdb: RDBStorage) -> None:
    """Write-ahead logging for a SQLite study file.

    Readers then no longer block the writer (several workers on one file), and with
    ``synchronous=NORMAL`` a commit no longer waits for an fsync: a trial makes a few dozen
    commits, which otherwise cost more than a fast trial.  A process crash loses nothing; a
    power cut can lose the last commits, never the file.  WAL is a property of the file (it
    persists), ``synchronous`` one of each connection, hence the listener.
    """

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sqlalchemy.event.listen(rdb.engine, "connect", on_connect)
    rdb.engine.dispose()  # pooled connections were opened before the listener existed
    with rdb.engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode=WAL").scalar()
    if str(mode).lower() != "wal":  # e.g. an in-memory database: keep what SQLite allows
        warnings.warn(f"SQLite study storage {rdb.url!r} stays in journal mode {mode!r}", stacklevel=3)


def open_study(
    storage: str | None,
    study_name: str,
    out_dir: Path,
    direction: str = "minimize",
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    load_if_exists: bool = True,
    *,
    heartbeat_interval: int = 60,
    grace_period: int | None = None,
    fail_running: bool = False,
) -> optuna.Study:
    """Create or load the study ``study_name`` (see the module docstring for ``storage``).

    On open, RUNNING trials of dead processes are marked FAILED: those with a stale heartbeat
    on RDB storages, and all of them when ``fail_running`` is set.  A loaded study must have the
    requested direction.  ``load_if_exists=False`` makes an existing study an error.
    """
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if not study_name:
        raise ConfigError("study_name must not be empty")
    if heartbeat_interval is not None and heartbeat_interval < 1:
        raise ConfigError(f"heartbeat_interval must be a positive number of seconds, got {heartbeat_interval}")
    if grace_period is not None and grace_period < 1:
        raise ConfigError(f"grace_period must be a positive number of seconds, got {grace_period}")
    backend = _make_storage(storage, out_dir, heartbeat_interval, grace_period)
    try:
        study = optuna.create_study(
            storage=backend,
            study_name=study_name,
            direction=direction,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=load_if_exists,
        )
    except optuna.exceptions.DuplicatedStudyError as e:
        raise ConfigError(
            f"study {study_name!r} already exists in {storage_url(storage, out_dir)!r} "
            "(resume it, or choose another study name)"
        ) from e
    found = study.direction.name.lower()
    if found != direction:
        raise ConfigError(
            f"study {study_name!r} in {storage_url(storage, out_dir)!r} was created to {found}, "
            f"not to {direction}"
        )
    _fail_stale(study)
    if fail_running:
        fail_running_trials(study)
    return study


def _fail_stale(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a no-op without a heartbeat


def fail_running_trials(study: optuna.Study) -> list[int]:
    """Mark every RUNNING trial FAILED; returns their numbers.

    Only for when no other process is working on the study (e.g. a single-worker resume): a
    live worker's trial would be failed too, and its later result rejected.
    """
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # skip_if_finished: the trial may have finished between the listing and this call
        closed = study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
        if was_interrupted(closed):
            failed.append(t.number)
    return failed


def was_interrupted(t: FrozenTrial) -> bool:
    """Cut short by Ctrl-C or a kill: FAILED without a recorded reason (an error the objective
    saw records one, ``track_failures``).  Such a trial tried nothing."""
    return t.state == TrialState.FAIL and FAIL_REASON not in t.user_attrs


def is_done(t: FrozenTrial) -> bool:
    """Whether a trial uses up budget (see the module docstring).  A trial that failed on a
    configuration error (``ConfigError``: a value the model cannot take) does not: once the
    configuration is fixed, the re-run gets its full ``--trials``."""
    if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return (t.state == TrialState.FAIL and FAIL_REASON in t.user_attrs
            and not str(t.user_attrs[FAIL_REASON]).startswith(CONFIG_ERROR))


def count_done(study: optuna.Study) -> int:
    """Trials that count against the budget: COMPLETE, PRUNED, and FAILED with an error."""
    return sum(is_done(t) for t in study.get_trials(deepcopy=False))


def remaining_budget(study: optuna.Study, n_trials: int) -> int:
    """How many of ``n_trials`` are left to run, counting what is already done."""
    if n_trials < 0:
        raise ConfigError(f"the number of trials must be >= 0, got {n_trials}")
    return max(0, n_trials - count_done(study))


class SharedBudget:
    """``study.optimize`` callback: stop this worker once done + running-elsewhere trials reach ``n_trials``."""

    def __init__(self, n_trials: int) -> None:
        if n_trials < 0:
            raise ConfigError(f"the number of trials must be >= 0, got {n_trials}")
        self.n_trials = n_trials

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        _fail_stale(study)  # a dead worker's trial must not hold budget forever
        trials = study.get_trials(deepcopy=False)
        done = sum(is_done(t) for t in trials)
        running = sum(t.state == TrialState.RUNNING and t.number != trial.number for t in trials)
        if done + running >= self.n_trials:
            study.stop()


def requeue_interrupted(study: optuna.Study, queued: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Enqueue again each of ``queued`` (parameters once given to ``enqueue_trial``) whose every
    trial was interrupted (FAILED without a reason) and none is waiting or running; returns them.
    Optuna's ``skip_if_exists`` would see the interrupted trial and skip it for good."""
    again = []
    for params in queued:
        same = [t for t in study.get_trials(deepcopy=False) if t.system_attrs.get("fixed_params") == params]
        if same and all(was_interrupted(t) for t in same):
            study.enqueue_trial(params)
            again.append(params)
    return again


def track_failures(objective: Callable[[optuna.Trial], Any]) -> Callable[[optuna.Trial], Any]:
    """Wrap an objective so an error it raises is recorded on the trial (user attr
    ``fail_reason``) before Optuna marks the trial FAILED; such a trial counts as done.

    A returned value that is None or NaN is recorded the same way (Optuna fails such a trial
    without raising).  ``optuna.TrialPruned`` and ``KeyboardInterrupt`` pass through untouched.
    """

    def wrapped(trial: optuna.Trial) -> Any:
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            raise
        except Exception as e:  # not KeyboardInterrupt: Ctrl-C is an interruption, not a result
            trial.set_user_attr(FAIL_REASON, f"{type(e).__name__}: {e}")
            raise
        try:
            bad = value is None or math.isnan(float(value))
        except (TypeError, ValueError):
            bad = True
        if bad:
            # Optuna fails such a trial itself (without raising); record why, so it counts as done
            trial.set_user_attr(FAIL_REASON, f"objective returned {value!r}, not a number")
        return value

    wrapped.__name__ = getattr(objective, "__name__", "objective")
    wrapped.__doc__ = objective.__doc__
    return wrapped
