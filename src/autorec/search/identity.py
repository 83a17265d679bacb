"""What a study is a study *of*, so that it is never resumed on something else.

A fresh study records its identity (:func:`study_identity`): the task, the dataset's name and
content fingerprint, the split and the seed it was split with, the rows per part, the
cross-validation folds, the searched models, the fixed ``--set`` values and the epoch limits.
Opening it again with any of these changed is a one-line error that names what differs
(:func:`check_identity`), where it used to continue silently and mix two datasets' scores on one
leaderboard.  Settings that change how a trial runs but not what it measures (``threads``,
``device``, the tuner, the budget) are not part of it, so workers may differ in them.

The split seed belongs to the study: a worker (or a re-run) with another ``--seed`` reads it
(:func:`stored_split_seed`) and splits the data the same way, its own seed then seeding only
its sampler and its trials' training.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import optuna

from ..errors import ConfigError
from ..io import to_jsonable
from ..problems import Problem
from .settings import SearchSettings

IDENTITY_ATTR = "autorec:identity"
# fixed training settings that change how fast a trial runs, not what it measures
NOT_IDENTITY = {"threads", "device", "progress"}
# what a search writes into its folder besides the study (removed by --new-study)
RESULT_FILES = ("trials", "model", "ensemble", "leaderboard.csv", "metrics.json", "history.csv",
                "curves.png", "history.png", "importances.png", "leaderboard.png")


def study_identity(problem: Problem, settings: SearchSettings) -> dict[str, Any]:
    """The identity of a study of ``problem`` under ``settings``, in JSON form."""
    ident = dict(problem.identity())
    ident.update({
        "models": sorted(settings.models),
        "fixed": {k: v for k, v in sorted(settings.fixed.items()) if k not in NOT_IDENTITY},
        "max_epochs": settings.max_epochs,
        "patience": settings.patience,
    })
    return json.loads(json.dumps(to_jsonable(ident)))


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        text = repr(value[:12] + "...")  # a fingerprint
    return text if len(text) <= width else text[: width - 3] + "..."


def check_identity(study: optuna.Study, identity: dict[str, Any], where: str) -> None:
    """Record ``identity`` on a study that has none; refuse one that was made for another."""
    stored = study.user_attrs.get(IDENTITY_ATTR)
    if stored is None:
        study.set_user_attr(IDENTITY_ATTR, identity)
        return
    differ = [k for k in sorted(set(stored) | set(identity)) if stored.get(k) != identity.get(k)]
    if not differ:
        return
    # the fingerprint differs whenever the data or its split rows differ: name it last, and
    # only when nothing plainer explains the difference
    plain = [k for k in differ if k != "fingerprint"] or differ
    what = "; ".join(f"{k}: the study has {_short(stored.get(k))}, this run {_short(identity.get(k))}"
                     for k in plain)
    raise ConfigError(f"study {study.study_name!r} in {where} was made for other data or settings ({what}); "
                      "resume it with the same ones, or start afresh with --new-study (deletes that study "
                      "and its results) or another --out / --study")


def _load(storage: str | None, study_name: str, out: Path) -> optuna.Study | None:
    from .storage import _make_storage

    if storage is None and not (Path(out) / "study.db").exists():
        return None
    backend = _make_storage(storage, out, heartbeat_interval=None, grace_period=None)
    try:
        return optuna.load_study(study_name=study_name, storage=backend)
    except KeyError:  # no such study
        return None


def stored_split_seed(storage: str | None, study_name: str, out: Path) -> int | None:
    """The split seed an existing study was made with (None: no such study, or no record)."""
    study = _load(storage, study_name, out)
    ident = None if study is None else study.user_attrs.get(IDENTITY_ATTR)
    return None if not ident or ident.get("split_seed") is None else int(ident["split_seed"])


def delete_study(storage: str | None, study_name: str, out: Path) -> bool:
    """``--new-study``: delete the study and the results it produced in ``out``; whether one
    existed.  The caller holds the folder's lock."""
    study = _load(storage, study_name, out)
    if study is not None:
        optuna.delete_study(study_name=study_name, storage=study._storage)
    for name in RESULT_FILES:
        path = Path(out) / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return study is not None
