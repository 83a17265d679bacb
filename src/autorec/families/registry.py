"""Every model family, registered eagerly, and the lookup of a model name.

Model names are hyphenated (``biased-mf``, ``wide-deep``, ``i-autorec``); the same name with
underscores is accepted as an alias everywhere a name is read (the CLI, ``Recommender``, saved
artifacts and ``--set`` keys written before the names were made one convention).

A new family is one module in this package and one entry in :data:`FAMILIES`.
"""

from __future__ import annotations

import difflib

from ..errors import ConfigError
from .autorec import AutoRecFamily
from .base import TASKS, Family
from .baselines import BaselineFamily
from .ctr import CTRFamily
from .pairs import PairBlockFamily
from .topn import TopNFamily

#: by problem kind, in the order `autorec models` lists them; a name may serve several tasks
#: (the feature models run on rating pairs and on CTR rows) with one family per task
FAMILIES: dict[str, tuple[Family, ...]] = {
    "rating": (AutoRecFamily(), BaselineFamily(), PairBlockFamily()),
    "ctr": (CTRFamily(),),
    "ranking": (TopNFamily(),),
}

# Rating models the search leaves out unless asked: hybrid AutoRec needs side information
# that most rating datasets do not have.
_NOT_SEARCHED_BY_DEFAULT = {"rating": {"hybrid-autorec"}}


def _check_task(task: str) -> None:
    if task not in FAMILIES:
        raise ConfigError(f"task must be one of {', '.join(FAMILIES)}, got {task!r}")


def model_names(task: str = "rating") -> list[str]:
    """Canonical names of every model for ``task``."""
    _check_task(task)
    return [n for fam in FAMILIES[task] for n in fam.names()]


def all_model_names() -> list[str]:
    """Every model name, each once, rating models first."""
    return list(dict.fromkeys(n for task in TASKS for n in model_names(task)))


def canonical_name(name: str, task: str | None = None) -> str:
    """``name`` in the canonical (hyphenated) spelling if it, or its hyphenated form, is a
    known model (for ``task``, or any); otherwise ``name`` unchanged."""
    known = model_names(task) if task else all_model_names()
    if name in known:
        return name
    hyphenated = str(name).replace("_", "-")
    return hyphenated if hyphenated in known else name


def aliases(name: str) -> list[str]:
    """The other spellings accepted for ``name``."""
    return [name.replace("-", "_")] if "-" in name else []


def tasks_of(name: str) -> list[str]:
    name = canonical_name(name)
    return [task for task in TASKS if name in model_names(task)]


def get_family(name: str, task: str = "rating") -> Family:
    """The family that trains model ``name`` for ``task``; an unknown name is a ConfigError
    with the closest known name."""
    _check_task(task)
    name = canonical_name(name, task)
    for fam in FAMILIES[task]:
        if name in fam.names():
            return fam
    known = model_names(task)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    other = [t for t in tasks_of(name) if t != task]
    where = f"; {name!r} is a {' / '.join(other)} model" if other else ""
    kind = "" if task == "rating" else f"{task.upper()} "
    raise ConfigError(f"unknown {kind}model {name!r}{hint}{where}; known {task} models: {', '.join(known)}")


def search_models(task: str = "rating") -> list[str]:
    """The models ``autorec search --task TASK`` searches when ``--models`` is not given."""
    skip = _NOT_SEARCHED_BY_DEFAULT.get(task, set())
    return [n for n in model_names(task) if n not in skip]
