"""Implicit feedback in the one-line-per-user format that top-N papers publish:
``user item item ...`` (integer ids, whitespace-separated; a user with no items may stand
alone).  Every listed (user, item) is one positive interaction.

The Gowalla split of the LightGCN paper (He et al. 2020) is in this format: ``train.txt``,
``test.txt`` and ``valid.txt`` (a validation carve of ``train.txt``); `load_user_lines_folder`
reads train and test as one dataset, and the ``lightgcn`` split (``splits/predefined.py``)
cuts it along the files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.interactions import Interactions
from ..errors import DataError
from ._text import check_text

USER_LINE_FILES = ("train.txt", "test.txt")


def read_user_lines(path: str | Path) -> pd.DataFrame:
    """``user, item, line`` rows of a one-line-per-user file.  A token that is not a whole
    number, or an item listed twice on one line, is a `DataError` naming the line and the
    token's position (column)."""
    path = Path(path)
    check_text(path)
    users: list[np.ndarray] = []
    items: list[np.ndarray] = []
    lines: list[np.ndarray] = []
    with path.open("r", encoding="ascii", errors="strict") as fh:
        for number, text in enumerate(fh, start=1):
            tokens = text.split()
            if not tokens:
                continue
            try:
                ids = np.array(tokens, dtype=np.int64)
            except ValueError:
                col = next(i for i, t in enumerate(tokens, start=1) if not t.lstrip("-").isdigit())
                raise DataError("not a whole-number id", path=str(path), line=number, column=f"token {col}",
                                value=tokens[col - 1]) from None
            if (ids < 0).any():
                col = int(np.flatnonzero(ids < 0)[0]) + 1
                raise DataError("ids must be >= 0", path=str(path), line=number, column=f"token {col}",
                                value=int(ids[col - 1]))
            row = ids[1:]
            if len(np.unique(row)) != len(row):
                _, first = np.unique(row, return_index=True)
                dup = int(np.setdiff1d(np.arange(len(row)), first)[0])
                raise DataError("item listed twice for this user", path=str(path), line=number,
                                column=f"token {dup + 2}", value=int(row[dup]))
            users.append(np.full(len(row), ids[0], dtype=np.int64))
            items.append(row)
            lines.append(np.full(len(row), number, dtype=np.int64))
    if not users:
        raise DataError("no interactions: the file is empty", path=str(path))
    return pd.DataFrame({"user": np.concatenate(users), "item": np.concatenate(items),
                         "line": np.concatenate(lines)})


def load_user_lines_folder(folder: str | Path, name: str = "") -> Interactions:
    """A folder of one-line-per-user files (``train.txt`` and ``test.txt``) as one implicit
    dataset: every (user, item) of either file.  A pair in both files is a `DataError`."""
    folder = Path(folder)
    frames = []
    for file in USER_LINE_FILES:
        path = folder / file
        if not path.is_file():
            raise DataError(f"missing {file} (a one-line-per-user folder needs {', '.join(USER_LINE_FILES)})",
                            path=str(folder))
        frame = read_user_lines(path)
        frame["file"] = file
        frames.append(frame)
    both = pd.concat(frames, ignore_index=True)
    dup = both.duplicated(["user", "item"], keep=False)
    if dup.any():
        rows = both[dup].sort_values(["user", "item"]).head(2)
        a, b = rows.iloc[0], rows.iloc[1]
        raise DataError(f"(user, item) = ({a.user}, {a.item}) is in {a.file} (line {a.line}) and in {b.file} "
                        f"(line {b.line})", path=str(folder))
    return Interactions.from_frame(both[["user", "item"]], rating_col=None, implicit=True,
                                   source=str(folder), name=name or folder.name)
