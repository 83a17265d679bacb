"""Errors autorec raises on purpose.

Every user-facing failure is an :class:`AutorecError`; the CLI turns one into a single line
and a non-zero exit code.  :class:`DataError` carries *where* the problem is (file, line,
column, value) so the message can point at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class AutorecError(Exception):
    """Base class for errors that are the user's to fix (bad input, bad arguments)."""


class DataError(AutorecError, ValueError):
    """Malformed or invalid data, with its location.

    ``line`` is 1-based and counts physical lines of the file (a header is line 1).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        value: Any = None,
        has_value: bool | None = None,
    ) -> None:
        self.reason = message
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        self.value = value
        self.has_value = value is not None if has_value is None else has_value
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = (", ".join(where) + ": ") if where else ""
        text += self.reason
        if self.has_value:
            text += f" (value: {shown(self.value)})"
        return text


def shown(value: Any, limit: int = 80) -> str:
    """A value as a message shows it: plain numbers (6.0, not ``np.float32(6.0)``), and long
    values cut to a readable length with their full size said."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy scalar
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, (str, bytes)) else f"{len(text):,} characters shown in full"
    return f"{text[:limit]}... ({size})"


class ConfigError(AutorecError, ValueError):
    """An argument or setting that is not valid (unknown name, out of range, wrong type)."""


class DatasetNotAvailable(AutorecError, FileNotFoundError):
    """A registered dataset is neither cached, bundled, given as a local path, nor downloadable."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption (``cli/main.py``): the same clean path as Ctrl-C
    (the running trial fails as interrupted, what finished is written), exit code 143."""
