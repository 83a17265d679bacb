"""Split protocols: random, k-fold, per-user, temporal and leave-one-out.

Every random protocol draws from ``numpy.random.default_rng(seed)`` only, so the same data
and seed give the same split bit for bit.  Sizes are fractions rounded half up
(``floor(f * n + 0.5)``).  Parts are returned as sorted row positions and as
``data.take(positions)``, so rows keep their original order inside each part.

Where a validation fraction is "of the training part" (random holdout, k-fold, per-user,
predefined, row splits) it is carved *after* the test part is removed; the temporal global
cut instead takes both fractions of the whole (latest ``test``, then the next latest
``validation``).  docs/splits-and-metrics.md states each rule.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Sequence

import numpy as np

from ..data.interactions import Interactions
from ..errors import ConfigError, DataError
from .split import Split


# ---------------------------------------------------------------------------- helpers
def _round_half_up(x: np.ndarray | float) -> np.ndarray | int:
    # Python's round() is round-half-even; half up is what people expect from "10% of 25"
    r = np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)
    return int(r) if r.ndim == 0 else r


def _check_fraction(name: str, value: float, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number in [0, 1), got {value!r}")
    v = float(value)
    lo_ok = v >= 0 if allow_zero else v > 0
    if not (lo_ok and v < 1):
        rng = "[0, 1)" if allow_zero else "(0, 1)"
        raise ConfigError(f"{name} must be a fraction in {rng}, got {value!r}")
    return v


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_count(name: str, value: int, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _assemble(
    data: Interactions,
    train_idx: np.ndarray,
    val_idx: np.ndarray | None,
    test_idx: np.ndarray,
    *,
    name: str,
    seed: int | None,
    n_unassigned: int = 0,
) -> Split:
    """Build a `Split` from row positions; an empty requested part is an error, not a surprise."""
    n = len(data)
    where = f"split {name!r} of {data.name or 'the data'} ({n:,} ratings)"
    if len(test_idx) == 0:
        raise DataError(f"{where}: the test part is empty; the data has too few ratings "
                        "for the requested test size")
    if len(train_idx) == 0:
        raise DataError(f"{where}: the training part is empty; the data has too few ratings")
    if val_idx is not None and len(val_idx) == 0:
        raise DataError(f"{where}: a validation part was requested but it is empty; the "
                        "data has too few ratings (pass validation=0 to go without one)")
    parts = [np.sort(np.asarray(p, dtype=np.int64)) for p in (train_idx, test_idx)]
    train_idx, test_idx = parts
    if val_idx is not None:
        val_idx = np.sort(np.asarray(val_idx, dtype=np.int64))
    return Split(
        train=data.take(train_idx),
        validation=None if val_idx is None else data.take(val_idx),
        test=data.take(test_idx),
        name=name,
        seed=seed,
        train_index=train_idx,
        validation_index=val_idx,
        test_index=test_idx,
        n_unassigned=n_unassigned,
    )


def _three_way(perm: np.ndarray, test: float, validation: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) from a shuffled index: test first, validation from the rest."""
    n_test = _round_half_up(test * len(perm))
    test_idx, rest = perm[:n_test], perm[n_test:]
    n_val = _round_half_up(validation * len(rest))
    return rest[n_val:], rest[:n_val], test_idx


def _rank_in_group(groups: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Position of each row inside its group, where ``order`` sorts rows by group first."""
    n = len(order)
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]) if n else \
        np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.r_[starts, n])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)
    return rank


def _per_user_parts(
    data: Interactions, rank: np.ndarray, n_test_u: np.ndarray, n_val_u: np.ndarray,
    *, name: str, seed: int | None, want_validation: bool,
) -> Split:
    """Rows ranked 0.. within their user: the first n_test_u go to test, the next n_val_u
    to validation, the rest to train."""
    t = n_test_u[data.users]
    v = n_val_u[data.users]
    test_mask = rank < t
    val_mask = (rank >= t) & (rank < t + v)
    train_mask = ~(test_mask | val_mask)
    return _assemble(
        data, np.flatnonzero(train_mask),
        np.flatnonzero(val_mask) if want_validation else None,
        np.flatnonzero(test_mask), name=name, seed=seed,
    )


def _require_timestamps(data: Interactions, protocol: str) -> np.ndarray:
    if data.timestamps is None:
        raise ConfigError(
            f"{protocol} needs timestamps, but {data.name or 'the data'} has none; "
            "load it with a timestamp column or use a random protocol"
        )
    return data.timestamps


def _latest_first_rank(data: Interactions, ts: np.ndarray) -> np.ndarray:
    # per user, 0 = latest; equal timestamps: the higher item index counts as later
    order = np.lexsort((-data.items, -ts, data.users))
    return _rank_in_group(data.users, order)


# ---------------------------------------------------------------------------- protocols
def random_holdout(data: Interactions, test: float = 0.1, validation: float = 0.1,
                   seed: int = 0, *, name: str | None = None) -> Split:
    """The AutoRec paper's protocol: a random ``test`` share of all ratings is test, then a
    random ``validation`` share *of the remaining training part* is validation
    (``validation=0`` gives no validation part).

    With n ratings: ``n_test = round(test * n)``, ``n_val = round(validation * (n - n_test))``.
    For 8:1:1 of the whole use ``test=0.1, validation=1/9``.
    """
    test = _check_fraction("test", test, allow_zero=False)
    validation = _check_fraction("validation", validation, allow_zero=True)
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)
    train_idx, val_idx, test_idx = _three_way(rng.permutation(len(data)), test, validation)
    return _assemble(
        data, train_idx, val_idx if validation > 0 else None, test_idx,
        name=name or f"random(test={test:g}, validation={validation:g})", seed=seed,
    )


def repeated_holdout(data: Interactions, seeds: Sequence[int] = (0, 1, 2, 3, 4),
                     test: float = 0.1, validation: float = 0.1) -> list[Split]:
    """`random_holdout` once per seed (report mean and spread over the repeats)."""
    if len(seeds) == 0:
        raise ConfigError("repeated_holdout needs at least one seed")
    if len(set(int(s) for s in seeds)) != len(seeds):
        raise ConfigError(f"repeated_holdout seeds repeat: {list(seeds)}; repeats would be "
                          "identical splits")
    return [random_holdout(data, test=test, validation=validation, seed=s) for s in seeds]


def kfold(data: Interactions, k: int = 5, seed: int = 0, validation: float = 0.0
          ) -> list[Split]:
    """k-fold cross-validation over ratings.

    One shuffle with ``default_rng(seed)`` is cut into k folds of sizes differing by at most
    one (``numpy.array_split``); split f tests on fold f.  With ``validation > 0`` a random
    share of the other k-1 folds (the training part) is validation, drawn with
    ``default_rng([seed, f])`` so one fold's split does not depend on the others.
    """
    k = _check_count("k", k, minimum=2)
    validation = _check_fraction("validation", validation, allow_zero=True)
    seed = _check_seed(seed)
    n = len(data)
    if k > n:
        raise ConfigError(f"k={k} folds need at least {k} ratings; the data has {n}")
    perm = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(perm, k)
    splits = []
    for f in range(k):
        rest = np.concatenate([folds[g] for g in range(k) if g != f])
        val_idx = None
        if validation > 0:
            rest = np.random.default_rng([seed, f]).permutation(rest)
            n_val = _round_half_up(validation * len(rest))
            val_idx, rest = rest[:n_val], rest[n_val:]
        splits.append(_assemble(data, rest, val_idx, folds[f],
                                name=f"kfold-{k}:{f}", seed=seed))
    return splits


def user_holdout(data: Interactions, test: float = 0.2, validation: float = 0.0,
                 seed: int = 0, min_train: int = 1, *, name: str | None = None) -> Split:
    """User-stratified holdout: each user's ratings are split with the same fractions.

    A user with c ratings gives ``t = round(test * c)`` random ratings to test, capped so that
    at least ``min_train`` stay in train (``t = min(t, max(c - min_train, 0))``); then
    ``v = round(validation * (c - t))`` of the rest to validation, capped the same way.  So
    a user with ``c <= min_train`` ratings keeps all of them in train, and every user who
    appears in test also appears in train (when ``min_train >= 1``).
    """
    test = _check_fraction("test", test, allow_zero=False)
    validation = _check_fraction("validation", validation, allow_zero=True)
    seed = _check_seed(seed)
    min_train = _check_count("min_train", min_train, minimum=0)
    rng = np.random.default_rng(seed)
    key = rng.random(len(data))
    rank = _rank_in_group(data.users, np.lexsort((key, data.users)))
    counts = data.user_counts()
    n_test_u = np.minimum(_round_half_up(test * counts), np.maximum(counts - min_train, 0))
    remaining = counts - n_test_u
    n_val_u = np.minimum(_round_half_up(validation * remaining),
                         np.maximum(remaining - min_train, 0))
    return _per_user_parts(
        data, rank, n_test_u, n_val_u, seed=seed, want_validation=validation > 0,
        name=name or f"user(test={test:g}, validation={validation:g})",
    )


def temporal_global(data: Interactions, test: float = 0.1, validation: float = 0.1,
                    *, name: str | None = None) -> Split:
    """A global time cut: the latest ``round(test * n)`` ratings are test and the next latest
    ``round(validation * n)`` validation (both fractions of ALL n ratings); the rest train.

    Rows are ordered by (timestamp, user index, item index), so equal timestamps are broken
    deterministically and every test timestamp >= every validation timestamp >= every train
    timestamp.  Needs timestamps.
    """
    ts = _require_timestamps(data, "temporal_global")
    test = _check_fraction("test", test, allow_zero=False)
    validation = _check_fraction("validation", validation, allow_zero=True)
    n = len(data)
    n_test = _round_half_up(test * n)
    n_val = _round_half_up(validation * n)
    if n_test + n_val >= n:
        raise ConfigError(f"test={test:g} and validation={validation:g} leave no training "
                          f"ratings out of {n}")
    order = np.lexsort((data.items, data.users, ts))  # oldest first
    test_idx = order[n - n_test:]
    val_idx = order[n - n_test - n_val:n - n_test]
    train_idx = order[:n - n_test - n_val]
    return _assemble(data, train_idx, val_idx if validation > 0 else None, test_idx,
                     name=name or f"temporal(test={test:g}, validation={validation:g})",
                     seed=None)


def temporal_last_n(data: Interactions, n: int = 1, validation_n: int = 1,
                    min_train: int = 1, *, name: str | None = None) -> Split:
    """Per user, the last ``n`` ratings by time are test and the ``validation_n`` before them
    validation.

    Order within a user is (timestamp, item index).  A user gets test ratings only when at
    least ``min_train`` would remain (c >= n + min_train), and validation ratings only when
    they also got test ratings and c >= n + validation_n + min_train; otherwise those
    ratings stay in train (all or nothing per user, never a partial n).  Needs timestamps.
    """
    ts = _require_timestamps(data, "temporal_last_n")
    n = _check_count("n", n, minimum=1)
    validation_n = _check_count("validation_n", validation_n, minimum=0)
    min_train = _check_count("min_train", min_train, minimum=0)
    rank = _latest_first_rank(data, ts)
    counts = data.user_counts()
    n_test_u = np.where(counts >= n + min_train, n, 0)
    n_val_u = np.where((n_test_u > 0) & (counts >= n + validation_n + min_train),
                       validation_n, 0)
    return _per_user_parts(data, rank, n_test_u, n_val_u, seed=None,
                           want_validation=validation_n > 0,
                           name=name or f"temporal-last-{n}")


def leave_one_out(data: Interactions, seed: int = 0, by_time: bool = True,
                  validation: bool = True, *, name: str | None = None) -> Split:
    """Implicit-feedback protocol: one held-out item per user for test, another for validation.

    With ``by_time`` and timestamps, test is each user's latest rating and validation the one
    before it (ties by item index, as in `temporal_last_n`).  Without timestamps, or with
    ``by_time=False``, both are drawn at random with ``default_rng(seed)``; the split's name
    then says ``random``.  Users with one rating keep it in train; users with two give one to
    test and none to validation.
    """
    seed = _check_seed(seed)
    use_time = by_time and data.timestamps is not None
    if use_time:
        rank = _latest_first_rank(data, data.timestamps)
        mode = "latest"
    else:
        key = np.random.default_rng(seed).random(len(data))
        rank = _rank_in_group(data.users, np.lexsort((key, data.users)))
        mode = "random" if not by_time else "random: no timestamps"
    counts = data.user_counts()
    n_test_u = (counts >= 2).astype(np.int64)
    n_val_u = ((counts >= 3) & validation).astype(np.int64)
    return _per_user_parts(data, rank, n_test_u, n_val_u, seed=None if use_time else seed,
                           want_validation=bool(validation),
                           name=name or f"leave-one-out ({mode})")


def split_rows(n_rows: int, test: float = 0.1, validation: float = 0.1, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random row split of a table (CTR data): sorted int64 (train, validation, test) positions.

    Same rule as `random_holdout`: ``round(test * n)`` test rows, then ``validation`` of the
    remaining rows as validation (empty when ``validation=0``).
    """
    n_rows = _check_count("n_rows", n_rows, minimum=1)
    test = _check_fraction("test", test, allow_zero=False)
    validation = _check_fraction("validation", validation, allow_zero=True)
    seed = _check_seed(seed)
    perm = np.random.default_rng(seed).permutation(n_rows)
    parts = _three_way(perm, test, validation)
    return tuple(np.sort(p).astype(np.int64) for p in parts)  # type: ignore[return-value]


def strong_generalization(data: Interactions, validation: float = 0.1, test: float = 0.1, fold_in: float = 0.8,
                          seed: int = 0, min_interactions: int = 2, *, n_validation_users: int | None = None,
                          n_test_users: int | None = None, name: str | None = None) -> Split:
    """Strong generalisation (Liang et al. 2018): users, not ratings, are held out.

    Of the users with at least ``min_interactions`` rows, a random ``test`` share become test
    users and a ``validation`` share validation users; every other user (and every user with
    fewer rows) is a training user, all of whose rows are train.  Each held-out user's rows are
    cut at random: ``round(fold_in * c)`` (at least one, and at least one left) into its fold-in
    part, the rest into ``validation`` / ``test``.  A model trains on the training users only
    and meets a held-out user through its fold-in part.  ``n_validation_users`` /
    ``n_test_users`` give counts instead of shares (Liang et al. hold out 10,000 and 10,000 of
    ML-20M's users with at least five positives)."""
    validation = _check_fraction("validation", validation, allow_zero=False)
    test = _check_fraction("test", test, allow_zero=False)
    fold_in = _check_fraction("fold_in", fold_in, allow_zero=False)
    seed = _check_seed(seed)
    min_interactions = _check_count("min_interactions", min_interactions, minimum=2)
    rng = np.random.default_rng(seed)
    counts = data.user_counts()
    eligible = np.flatnonzero(counts >= min_interactions)
    perm = eligible[rng.permutation(len(eligible))]
    n_test = _round_half_up(test * len(eligible)) if n_test_users is None else \
        _check_count("n_test_users", n_test_users, minimum=1)
    n_val = _round_half_up(validation * len(eligible)) if n_validation_users is None else \
        _check_count("n_validation_users", n_validation_users, minimum=1)
    name = name or f"strong(validation={validation:g}, test={test:g}, fold_in={fold_in:g})"
    if n_test == 0 or n_val == 0 or n_test + n_val >= len(eligible):
        raise DataError(f"split {name!r} of {data.name or 'the data'}: {len(eligible):,} users with at least "
                        f"{min_interactions} interactions are too few to hold out {n_test:,} and {n_val:,} of them")
    role = np.zeros(data.n_users, dtype=np.int8)  # 0 train, 1 validation, 2 test
    role[perm[:n_test]] = 2
    role[perm[n_test:n_test + n_val]] = 1
    key = rng.random(len(data))
    rank = _rank_in_group(data.users, np.lexsort((key, data.users)))
    keep = np.clip(_round_half_up(fold_in * counts), 1, np.maximum(counts - 1, 1))  # fold-in rows per user
    row_role = role[data.users]
    in_fold = rank < keep[data.users]
    parts = {
        "train": np.flatnonzero(row_role == 0),
        "validation": np.flatnonzero((row_role == 1) & ~in_fold),
        "test": np.flatnonzero((row_role == 2) & ~in_fold),
        "validation_fold_in": np.flatnonzero((row_role == 1) & in_fold),
        "test_fold_in": np.flatnonzero((row_role == 2) & in_fold),
    }
    base = _assemble(data, parts["train"], parts["validation"], parts["test"], name=name, seed=seed)
    return dataclasses.replace(base, validation_fold_in=data.take(parts["validation_fold_in"]),
                               validation_fold_in_index=parts["validation_fold_in"],
                               test_fold_in=data.take(parts["test_fold_in"]), test_fold_in_index=parts["test_fold_in"])
