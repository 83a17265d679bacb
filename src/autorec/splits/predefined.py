"""Predefined splits: rows of given base/test files mapped into the id space of the full data.

MovieLens 100K ships five 80/20 cross-validation splits (``u1``..``u5``: the test files are
disjoint and together cover all 100,000 ratings) and two splits with exactly 10 test
ratings per user (``ua``, ``ub``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.interactions import Interactions
from ..datasets.movielens import read_ml100k_ratings  # the one strict reader of the format
from ..errors import ConfigError, DataError
from .protocols import _assemble, _check_fraction, _check_seed, _round_half_up
from .split import Split

ML100K_SPLITS: tuple[str, ...] = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


def predefined(
    data: Interactions,
    base_frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    *,
    validation: float = 0.1,
    seed: int = 0,
    name: str = "predefined",
    base_source: str | Path | None = None,
    test_source: str | Path | None = None,
    line_offset: int = 1,
    check_ratings: bool = True,
    allow_unassigned: bool = False,
) -> Split:
    """Split ``data`` as the rows of ``base_frame`` (train + validation) and ``test_frame``.

    Rows are matched on original (user, item) ids (columns ``user``, ``item``).  It is a
    `DataError`, naming the file (``*_source``) and line (row position + ``line_offset``;
    1 for headerless files), when a row's pair is not in ``data``, when a pair repeats inside
    one file, when a pair is in both files, when (``check_ratings`` and the frame has a
    ``rating`` column) its rating differs from the data's, and when rows of ``data`` are in
    neither file (unless ``allow_unassigned``; they are then counted in
    ``Split.n_unassigned``).  A random ``validation`` share of the base rows, drawn with
    ``default_rng(seed)``, is validation.
    """
    validation = _check_fraction("validation", validation, allow_zero=True)
    seed = _check_seed(seed)
    base_name = str(base_source) if base_source is not None else "base"
    test_name = str(test_source) if test_source is not None else "test"
    base_pos = _locate(data, base_frame, base_name, line_offset, check_ratings)
    test_pos = _locate(data, test_frame, test_name, line_offset, check_ratings)

    in_base = np.full(len(data), -1, dtype=np.int64)
    in_base[base_pos] = np.arange(len(base_pos))
    both = np.flatnonzero(in_base[test_pos] >= 0)
    if both.size:
        row = int(both[0])
        pos = int(test_pos[row])
        raise DataError(
            f"(user, item) pair is in both {base_name} (line "
            f"{int(in_base[pos]) + line_offset}) and the test file",
            path=test_name, line=row + line_offset,
            value=(data.user_ids[data.users[pos]], data.item_ids[data.items[pos]]),
        )

    assigned = np.zeros(len(data), dtype=bool)
    assigned[base_pos] = True
    assigned[test_pos] = True
    n_unassigned = int((~assigned).sum())
    if n_unassigned and not allow_unassigned:
        first = int(np.flatnonzero(~assigned)[0])
        raise DataError(
            f"{n_unassigned:,} ratings of the data are in neither {base_name} nor "
            f"{test_name}, e.g. (user, item) = ({data.user_ids[data.users[first]]!r}, "
            f"{data.item_ids[data.items[first]]!r}); these files do not split this data "
            "(pass allow_unassigned=True to leave such ratings out on purpose)"
        )

    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(base_pos)
    n_val = _round_half_up(validation * len(shuffled))
    val_idx = shuffled[:n_val] if validation > 0 else None
    return _assemble(data, shuffled[n_val:], val_idx, test_pos, name=name,
                     seed=seed if validation > 0 else None, n_unassigned=n_unassigned)


def _locate(data: Interactions, frame: pd.DataFrame, source: str, line_offset: int,
            check_ratings: bool) -> np.ndarray:
    """Row position in ``data`` of each row of ``frame`` (matched on original ids)."""
    missing = [c for c in ("user", "item") if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; the table has {list(frame.columns)}",
                        path=source)
    if len(frame) == 0:
        raise DataError("no rows: the file is empty", path=source)
    u = data.user_index(frame["user"].to_numpy())
    i = data.item_index(frame["item"].to_numpy())
    for idx, col in ((u, "user"), (i, "item")):
        bad = np.flatnonzero(idx < 0)
        if bad.size:
            row = int(bad[0])
            raise DataError(f"{col} id is not in the data", path=source,
                            line=row + line_offset, column=col, value=frame[col].iloc[row],
                            has_value=True)

    n_items = np.int64(data.n_items)
    data_key = data.users * n_items + data.items
    sorter = np.argsort(data_key, kind="stable")
    sorted_key = data_key[sorter]
    key = u * n_items + i
    at = np.minimum(np.searchsorted(sorted_key, key), len(sorted_key) - 1)
    found = sorted_key[at] == key
    if not found.all():
        row = int(np.flatnonzero(~found)[0])
        raise DataError("(user, item) pair is not in the data", path=source,
                        line=row + line_offset,
                        value=(frame["user"].iloc[row], frame["item"].iloc[row]))
    pos = sorter[at]

    order = np.argsort(pos, kind="stable")
    repeat = np.flatnonzero(pos[order][1:] == pos[order][:-1])
    if repeat.size:
        first, second = sorted((int(order[repeat[0]]), int(order[repeat[0] + 1])))
        raise DataError(f"(user, item) pair repeats line {first + line_offset}",
                        path=source, line=second + line_offset,
                        value=(frame["user"].iloc[second], frame["item"].iloc[second]))

    if check_ratings and "rating" in frame.columns:
        given = pd.to_numeric(frame["rating"], errors="coerce").to_numpy(dtype=np.float64)
        # compare as float32: the precision Interactions stores ratings in
        differs = given.astype(np.float32) != data.ratings[pos]
        if differs.any():
            row = int(np.flatnonzero(differs)[0])
            raise DataError(
                f"rating differs from the data's rating {float(data.ratings[pos[row]]):g} "
                "for this (user, item); the file does not belong to this data",
                path=source, line=row + line_offset, column="rating",
                value=frame["rating"].iloc[row], has_value=True,
            )
    return pos.astype(np.int64)


# ---------------------------------------------------------------------------- ML-100K files
def ml100k_split_files(data_path: str | Path, name: str) -> tuple[Path, Path]:
    """Paths of ``<name>.base`` / ``<name>.test`` under ``data_path``: the ml-100k folder, a
    file in it (such as ``u.data``), or a folder holding ``ml-100k/``."""
    if name not in ML100K_SPLITS:
        raise ConfigError(f"unknown MovieLens 100K split {name!r}; known: {list(ML100K_SPLITS)}")
    root = Path(data_path)
    if root.is_file():
        root = root.parent
    for folder in (root, root / "ml-100k"):
        base, test = folder / f"{name}.base", folder / f"{name}.test"
        if base.is_file() and test.is_file():
            return base, test
    raise ConfigError(
        f"split {name!r} needs the MovieLens 100K folder with {name}.base and {name}.test; "
        f"not found in {root} or {root / 'ml-100k'}"
    )


def read_ml100k_split_frames(data_path: str | Path, name: str
                             ) -> tuple[pd.DataFrame, pd.DataFrame, Path, Path]:
    """(base_frame, test_frame, base_path, test_path) of a predefined ML-100K split."""
    base_path, test_path = ml100k_split_files(data_path, name)
    return read_ml100k_ratings(base_path), read_ml100k_ratings(test_path), base_path, test_path


def ml100k_predefined(data: Interactions, name: str, data_path: str | Path, *,
                      validation: float = 0.1, seed: int = 0) -> Split:
    """`predefined` with the ML-100K files ``<name>.base`` / ``<name>.test``."""
    base, test, base_path, test_path = read_ml100k_split_frames(data_path, name)
    return predefined(data, base, test, validation=validation, seed=seed, name=name,
                      base_source=base_path, test_source=test_path, line_offset=1)


LIGHTGCN_FILES = ("train.txt", "test.txt", "valid.txt")


def lightgcn_predefined(data: Interactions, data_path: str | Path, name: str = "lightgcn") -> Split:
    """The fixed split of one-line-per-user files (the LightGCN paper's Gowalla): test is
    ``test.txt``; validation is ``valid.txt``, a carve of ``train.txt``; train is the rest of
    ``train.txt``.  Without ``valid.txt`` there is no validation part.  Every pair is located
    in ``data`` by original ids; a pair of ``valid.txt`` missing from ``train.txt`` is an error."""
    from ..datasets.implicit import read_user_lines

    folder = Path(data_path)
    if folder.is_file():
        folder = folder.parent
    frames = {}
    for file in LIGHTGCN_FILES:
        path = folder / file
        if path.is_file():
            frames[file] = (read_user_lines(path), path)
        elif file != "valid.txt":
            raise DataError(f"split {name!r} needs {file}", path=str(folder))
    pos = {file: _locate_lines(data, frame, str(path)) for file, (frame, path) in frames.items()}
    train = pos["train.txt"]
    valid = pos.get("valid.txt")
    if valid is not None and len(valid) == 0:
        valid = None  # a valid.txt of users alone: no validation part
    if valid is not None:
        in_train = np.isin(valid, train)
        if not in_train.all():
            frame, path = frames["valid.txt"]
            row = int(np.flatnonzero(~in_train)[0])
            raise DataError("(user, item) pair of valid.txt is not in train.txt", path=str(path),
                            line=int(frame["line"].iloc[row]),
                            value=(int(frame["user"].iloc[row]), int(frame["item"].iloc[row])))
        train = np.setdiff1d(train, valid)
    assigned = np.zeros(len(data), dtype=bool)
    assigned[pos["train.txt"]] = True
    assigned[pos["test.txt"]] = True
    return _assemble(data, np.sort(train), None if valid is None else np.sort(valid), np.sort(pos["test.txt"]),
                     name=name, seed=None, n_unassigned=int((~assigned).sum()))


def _locate_lines(data: Interactions, frame: pd.DataFrame, source: str) -> np.ndarray:
    """Row positions in ``data`` of a one-line-per-user frame's pairs (errors name the line)."""
    users = data.user_index(frame["user"].to_numpy())
    items = data.item_index(frame["item"].to_numpy())
    missing = (users < 0) | (items < 0)
    key = users.astype(np.int64) * np.int64(max(data.n_items, 1)) + items
    data_key = data.users.astype(np.int64) * np.int64(max(data.n_items, 1)) + data.items
    order = np.argsort(data_key)
    at = np.searchsorted(data_key[order], key)
    at = np.minimum(at, len(order) - 1)
    found = ~missing & (data_key[order][at] == key)
    if not found.all():
        row = int(np.flatnonzero(~found)[0])
        raise DataError("(user, item) pair is not in the data", path=source, line=int(frame["line"].iloc[row]),
                        value=(int(frame["user"].iloc[row]), int(frame["item"].iloc[row])))
    return order[at]
