"""Named split protocols: ``make_split(data, "random-90-10", seed=0)``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np

from ..data.interactions import Interactions
from ..errors import ConfigError
from .predefined import ML100K_SPLITS, lightgcn_predefined, ml100k_predefined
from .protocols import (
    kfold,
    leave_one_out,
    random_holdout,
    split_rows,
    strong_generalization,
    temporal_global,
    temporal_last_n,
    user_holdout,
)
from .split import Split

_Maker = Callable[[Interactions, int, "str | Path | None"], Split]

# name -> (description, maker).  Kept as data so `list_splits` and the error for an unknown
# name can never disagree with what `make_split` accepts.
_NAMED: dict[str, tuple[str, _Maker]] = {
    "random-90-10": (
        "AutoRec paper: random 90% train / 10% test, then 10% of train as validation "
        "(81/9/10)",
        lambda d, s, p: random_holdout(d, test=0.1, validation=0.1, seed=s, name="random-90-10"),
    ),
    "random-80-10-10": (
        "AutoRec AutoML platform: random 80% train / 10% validation / 10% test of all ratings",
        lambda d, s, p: random_holdout(d, test=0.1, validation=1 / 9, seed=s,
                                       name="random-80-10-10"),
    ),
    "user-80-20": (
        "per user: a random 20% of each user's ratings to test (at least 1 kept in train), "
        "no validation",
        lambda d, s, p: user_holdout(d, test=0.2, validation=0.0, seed=s, name="user-80-20"),
    ),
    "temporal-90-10": (
        "global time cut: latest 10% of ratings test, the next latest 9% (10% of the "
        "remaining 90%) validation; needs timestamps",
        lambda d, s, p: temporal_global(d, test=0.1, validation=0.09, name="temporal-90-10"),
    ),
    "temporal-last-1": (
        "per user: the latest rating test, the one before it validation; needs timestamps",
        lambda d, s, p: temporal_last_n(d, n=1, validation_n=1, name="temporal-last-1"),
    ),
    "strong-80-10-10": (
        "strong generalisation (Liang et al. 2018): 10% of users test, 10% validation, the rest "
        "train; each held-out user folds in a random 80% of its rows and is ranked on the rest",
        lambda d, s, p: strong_generalization(d, validation=0.1, test=0.1, fold_in=0.8, seed=s,
                                              name="strong-80-10-10"),
    ),
    "loo": (
        "leave-one-out: per user the latest item test, the one before validation "
        "(random with the seed when there are no timestamps)",
        lambda d, s, p: leave_one_out(d, seed=s, by_time=True, validation=True, name="loo"),
    ),
}

def _lightgcn(data: Interactions, seed: int, data_path: "str | Path | None") -> Split:
    if data_path is None:
        raise ConfigError("split 'lightgcn' reads train.txt, test.txt and valid.txt: pass data_path=<their folder>")
    return lightgcn_predefined(data, data_path)


_LIGHTGCN_HELP = ("the fixed split of one-line-per-user files (LightGCN's Gowalla): test.txt test, "
                  "valid.txt validation, the rest of train.txt train; needs data_path=<their folder>")

_STRONG = re.compile(r"^strong-users-(\d+)$")
_STRONG_HELP = ("strong generalisation with counts (Liang et al. 2018 on ML-20M: strong-users-10000): N "
                "validation and N test users among those with at least 5 interactions, 80% of each folded in")
_KFOLD = re.compile(r"^kfold-(\d+):(\d+)$")
_KFOLD_HELP = ("k-fold cross-validation over ratings, fold f of k (e.g. kfold-5:0 .. "
               "kfold-5:4), 10% of the training folds as validation")


def list_splits() -> dict[str, str]:
    """Every accepted name (or name pattern) with a one-line description."""
    out = {name: desc for name, (desc, _) in _NAMED.items()}
    out["kfold-5:<fold>"] = _KFOLD_HELP + "; any kfold-<k>:<fold> with k >= 2 works"
    out["lightgcn"] = _LIGHTGCN_HELP
    out["strong-users-<N>"] = _STRONG_HELP
    for name in ML100K_SPLITS:
        kind = ("80/20 cross-validation fold" if name.startswith("u") and name[1:].isdigit()
                else "exactly 10 test ratings per user")
        out[name] = (f"MovieLens 100K predefined {name}.base/{name}.test ({kind}); 10% of "
                     "the base as validation; needs data_path=<ml-100k folder>")
    return out


def make_split(data: Interactions, name: str, seed: int = 0, *,
               data_path: str | Path | None = None) -> Split:
    """Split ``data`` with the named protocol (see `list_splits`).

    ``seed`` drives the random parts (ignored by the purely temporal ones, which then report
    ``seed=None``); ``data_path`` is the MovieLens 100K folder for ``u1``..``u5``, ``ua``,
    ``ub``.
    """
    if not isinstance(name, str):
        raise ConfigError(f"split name must be a string, got {name!r}")
    key = name.strip()
    if key in _NAMED:
        return _NAMED[key][1](data, seed, data_path)
    if key == "lightgcn":
        return _lightgcn(data, seed, data_path)
    m = _STRONG.match(key)
    if m:
        n = int(m.group(1))
        return strong_generalization(data, fold_in=0.8, seed=seed, min_interactions=5, n_validation_users=n,
                                     n_test_users=n, name=key)
    m = _KFOLD.match(key)
    if m:
        k, fold = int(m.group(1)), int(m.group(2))
        if k < 2 or fold >= k:
            raise ConfigError(f"split {name!r}: need k >= 2 and 0 <= fold < k")
        return kfold(data, k=k, seed=seed, validation=0.1)[fold]
    if key in ML100K_SPLITS:
        if data_path is None:
            raise ConfigError(f"split {name!r} is a MovieLens 100K predefined split: pass "
                              "data_path=<the ml-100k folder holding "
                              f"{key}.base and {key}.test>")
        return ml100k_predefined(data, key, data_path, validation=0.1, seed=seed)
    known = ", ".join(list_splits())
    raise ConfigError(f"unknown split {name!r}; known splits: {known}")


# Row splits of a CTR table by protocol name: (test fraction, validation fraction of the rest),
# the same fractions as the rating protocols of the same name
CTR_SPLITS: dict[str, tuple[float, float]] = {"random-90-10": (0.1, 0.1), "random-80-10-10": (0.1, 1 / 9)}


def make_row_split(n_rows: int, name: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Split the rows of a CTR table by protocol name: ``{"train", "validation", "test"}`` ->
    sorted row positions."""
    if name not in CTR_SPLITS:
        raise ConfigError(f"split {name!r} does not apply to CTR rows; use one of {sorted(CTR_SPLITS)}")
    test, validation = CTR_SPLITS[name]
    parts = split_rows(n_rows, test=test, validation=validation, seed=seed)
    return dict(zip(("train", "validation", "test"), parts))
