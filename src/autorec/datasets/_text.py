"""Strict, fast readers for the unquoted delimited formats of the public datasets.

Two passes, both vectorised:

1. :func:`check_field_counts` counts separator bytes per physical line with numpy (in blocks,
   so a 10 GB file never sits in memory at once).  pandas fills a short line with NaN and the
   C engine cannot tell ``a\\tb\\t`` (last field empty) from ``a\\tb`` (one field missing), so
   the structure is checked here, where both are visible, with the exact physical line number.
2. :func:`read_delimited` parses the values with the pandas C engine and explicit dtypes.  If
   that fails (a non-number, an empty required field) the file is read again as text and the
   first offending cell is located, so the error names line, column and value.

Blank lines are an error except at the very end of a file (an editor artefact, not data), so
row ``i`` of a frame is always physical line ``header_lines + i + 1``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Literal, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError

ColumnKind = Literal["int", "float", "str", "category"]
BLOCK_SIZE = 1 << 26  # 64 MiB of text per numpy pass

_PANDAS_DTYPES = {"int": "int64", "float": "float64", "str": "object", "category": "category"}


@dataclass(frozen=True)
class Column:
    """One field of a delimited record.

    ``required``: an empty field is an error (ids, labels, ratings); otherwise it becomes NaN.
    ``keep``: ``False`` for fields that are counted but not returned (not even parsed).
    ``filler``: the empty field between the two colons of a ``::`` separator; it must be
    empty, or a real field contained a ``:``.
    """

    name: str
    kind: ColumnKind = "str"
    required: bool = True
    keep: bool = True
    filler: bool = False
    dtype: str | None = None  # storage dtype after parsing (e.g. "float32", "int8")


def ensure_file(path: Path) -> Path:
    if not path.exists():
        raise DataError("file does not exist", path=path)
    if path.is_dir():
        raise DataError("expected a file, found a folder", path=path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", path=path)
    return path


# what a file that is not text usually is, by its first bytes
_MAGIC = (
    (b"\x1f\x8b", "a gzip archive (name it .gz, or unpack it)"),
    (b"PK\x03\x04", "a zip archive (unpack it first)"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive (unpack it first)"),
    (b"BZh", "a bzip2 archive (name it .bz2, or unpack it)"),
)


def check_text(path: Path, encoding: str = "utf-8", block_size: int = BLOCK_SIZE) -> None:
    """Refuse a file that is not text in ``encoding``, naming where.

    Binary input (a known magic number, or a NUL byte in the first block) is named as such,
    instead of surfacing later as a "blank line" or a parser error.  Then the whole file is
    decoded strictly, block by block: the first invalid byte sequence is reported with its
    line and byte offset, and ``--encoding`` is suggested.  Compressed files are decompressed
    by the reader and checked by it."""
    import codecs

    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        from ..errors import ConfigError
        raise ConfigError(f"unknown text encoding {encoding!r} (e.g. utf-8, latin-1, cp1252, utf-16)") from None
    offset, lines = 0, 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(block_size)
            if offset == 0:
                for magic, what in _MAGIC:
                    if block.startswith(magic):
                        raise DataError(f"this is {what}, not delimited text", path=path)
                nul = block.find(b"\x00")
                if nul >= 0 and not encoding.lower().replace("-", "").startswith("utf16"):
                    raise DataError(f"binary data, not text: a NUL byte at byte offset {nul}",
                                    path=path, line=block.count(b"\n", 0, nul) + 1)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                bad = exc.object[exc.start:exc.end]
                at = offset + exc.start
                line = lines + block.count(b"\n", 0, max(exc.start, 0)) + 1
                raise DataError(f"the bytes {bad!r} at byte offset {at} are not valid {encoding}; if the file "
                                "is in another encoding, say which with --encoding (e.g. latin-1, cp1252)",
                                path=path, line=line) from None
            if not block:
                return
            offset += len(block)
            lines += block.count(b"\n")


def short(text: bytes | str, limit: int = 200) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.rstrip("\r\n")
    return text if len(text) <= limit else text[:limit] + "..."


def iter_blocks(path: Path, block_size: int = BLOCK_SIZE) -> Iterator[tuple[int, bytes]]:
    """Yield (number of lines before the block, block of whole lines ending in ``\\n``)."""
    lines_before = 0
    carry = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(block_size)
            if not chunk:
                break
            data = carry + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            body, carry = data[: cut + 1], data[cut + 1 :]
            yield lines_before, body
            lines_before += body.count(b"\n")
    if carry:
        yield lines_before, carry + b"\n"


@dataclass
class LineIndex:
    """Line boundaries of one block: ``starts[i]:ends[i]`` is line ``i`` without its newline
    (and without a trailing ``\\r``)."""

    arr: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, body: bytes) -> "LineIndex":
        arr = np.frombuffer(body, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        starts = np.empty_like(nl)
        starts[0] = 0
        starts[1:] = nl[:-1] + 1
        ends = nl.copy()
        has_cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == 13)
        ends[has_cr] -= 1
        return cls(arr, starts, ends)

    @property
    def blank(self) -> np.ndarray:
        return self.ends == self.starts

    def count(self, byte: int) -> np.ndarray:
        # each line's span runs to the next start; the newline/CR it includes is never ``byte``.
        # uint16 sums are several times faster than int32 ones and cannot wrap while every
        # line is shorter than 65535 bytes; longer lines (never in valid data) take int32.
        if len(self.starts) == 0:
            return np.zeros(0, dtype=np.int32)
        longest = int((np.diff(self.starts).max(initial=0)))
        longest = max(longest, len(self.arr) - int(self.starts[-1]))
        dtype = np.uint16 if longest < 65535 else np.int32
        counts = np.add.reduceat((self.arr == byte).view(np.uint8), self.starts, dtype=dtype)
        return counts.astype(np.int32)

    def text(self, i: int) -> str:
        return short(self.arr[self.starts[i] : self.ends[i]].tobytes())


class BlankLineGuard:
    """Blank lines may only end a file; one followed by more data is an error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: int | None = None

    def feed(self, lines_before: int, blank: np.ndarray) -> None:
        nonblank = np.flatnonzero(~blank)
        blanks = np.flatnonzero(blank)
        if nonblank.size and self.pending is not None:
            self._fail(self.pending)
        if blanks.size and nonblank.size and blanks[0] < nonblank[-1]:
            self._fail(lines_before + int(blanks[0]) + 1)
        if blanks.size and self.pending is None:
            tail = blanks[blanks > nonblank[-1]] if nonblank.size else blanks
            if tail.size:
                self.pending = lines_before + int(tail[0]) + 1

    def _fail(self, line: int) -> None:
        raise DataError("blank line inside the data (only the end of a file may be blank)",
                        path=self.path, line=line)


def check_field_counts(
    path: Path,
    sep: str,
    n_fields: int,
    *,
    names: Sequence[str] | None = None,
    max_lines: int | None = None,
    block_size: int = BLOCK_SIZE,
) -> int:
    """Check that every non-blank line has exactly ``n_fields`` fields; return the line count.

    With the field ``names``, a short line's error also names the first missing column.

    For a multi-character separator made of one repeated byte (``::``) the byte itself is
    counted; fields that hold that byte are then caught by :func:`read_delimited`, which checks
    that the filler fields between the separator bytes are empty.
    """
    sep_bytes = sep.encode()
    if len(set(sep_bytes)) != 1:
        raise ValueError(f"separator {sep!r} must repeat one byte")
    byte = sep_bytes[0]
    expected = (n_fields - 1) * len(sep_bytes)
    guard = BlankLineGuard(path)
    total = 0
    for lines_before, body in iter_blocks(path, block_size):
        idx = LineIndex.of(body)
        if max_lines is not None and lines_before + len(idx.starts) > max_lines:
            keep = max(max_lines - lines_before, 0)
            cut = int(idx.starts[keep]) if keep < len(idx.starts) else len(idx.arr)
            idx = LineIndex(idx.arr[:cut], idx.starts[:keep], idx.ends[:keep])
        blank = idx.blank
        guard.feed(lines_before, blank)
        counts = idx.count(byte)
        bad = np.flatnonzero((counts != expected) & ~blank)
        if bad.size:
            i = int(bad[0])
            found = int(counts[i])
            missing = None
            if found % len(sep_bytes) == 0:
                n_found = found // len(sep_bytes) + 1
                what = f"found {n_found}"
                if names is not None and n_found < len(names):
                    missing = names[n_found]
                    what += f": column {missing!r} is missing"
            else:
                what = f"found {found} {chr(byte)!r} characters"
            raise DataError(f"expected {n_fields} fields separated by {sep!r}, {what}",
                            path=path, line=lines_before + i + 1, column=missing, value=idx.text(i))
        total += int((~blank).sum())
        if max_lines is not None and lines_before + len(blank) >= max_lines:
            break
    return total


def _fields_for(columns: Sequence[Column], sep: str) -> tuple[str, list[Column]]:
    """Expand a ``::`` separator into single ``:`` with empty filler fields between."""
    if len(sep) == 1:
        return sep, list(columns)
    fields: list[Column] = []
    for k, col in enumerate(columns):
        if k:
            fields.extend(Column(f"_sep{k}_{j}", "float", required=False, keep=False, filler=True)
                          for j in range(len(sep) - 1))
        fields.append(col)
    return sep[0], fields


def read_delimited(
    path: Path,
    columns: Sequence[Column],
    sep: str,
    *,
    header: Sequence[str] | None = None,
    encoding: str = "utf-8",
    nrows: int | None = None,
) -> pd.DataFrame:
    """Read an unquoted delimited file with a fixed number of typed fields.

    ``header``: the expected header names (checked), or ``None`` if the file has no header.
    Row ``i`` of the result is physical line ``i + 1 + (header is not None)``.
    """
    ensure_file(path)
    check_text(path, encoding)
    n_header = 0 if header is None else 1
    real_sep, fields = _fields_for(columns, sep)
    n_lines = check_field_counts(path, sep, len(columns), names=[c.name for c in columns],
                                 max_lines=None if nrows is None else nrows + n_header)
    if header is not None:
        with open(path, "rb") as fh:
            first = fh.readline().decode(encoding, errors="replace").rstrip("\r\n")
        names = [h.strip().strip('"') for h in first.split(sep)]
        if names != list(header):
            raise DataError(f"unexpected header, expected {sep.join(header)!r}", path=path,
                            line=1, value=first)
    if n_lines - n_header <= 0:
        raise DataError("the file has no data rows", path=path)

    names = [f.name for f in fields]
    fields = [f for f in fields if f.keep or f.filler]
    try:
        frame = pd.read_csv(
            path, sep=real_sep, header=None, skiprows=n_header, names=names,
            usecols=[f.name for f in fields],
            dtype={f.name: _PANDAS_DTYPES[f.kind] for f in fields},
            engine="c", quoting=csv.QUOTE_NONE, encoding=encoding,
            keep_default_na=False, na_values=[""], nrows=nrows, skip_blank_lines=True,
        )
        # the fast parser reads both "" and "nan" as NaN; only the text tells them apart
        if any(f.required and not f.filler and frame[f.name].isna().any() for f in fields):
            raise _Ambiguous()
    except (ValueError, TypeError, OverflowError, _Ambiguous) as exc:
        frame = _read_slow(path, names, fields, real_sep, n_header, encoding, nrows, exc)
    if len(frame) != n_lines - n_header:
        # cannot happen when the field check passed; guards the row -> line mapping
        raise DataError(f"read {len(frame)} rows but the file has {n_lines - n_header} data lines",
                        path=path)
    fillers = [f.name for f in fields if f.filler]
    if fillers:
        bad = frame[fillers].notna().any(axis=1).to_numpy()
        if bad.any():
            _misplaced(path, int(np.flatnonzero(bad)[0]) + n_header + 1)
    frame = frame[[f.name for f in fields if f.keep]]
    for f in fields:
        if f.keep and f.dtype is not None:
            frame[f.name] = frame[f.name].astype(f.dtype)
    return frame


class _Ambiguous(Exception):
    pass


def _misplaced(path: Path, line: int) -> None:
    raise DataError("misplaced separator character (a field contains it)", path=path, line=line,
                    value=_line_text(path, line))


def _line_text(path: Path, line: int) -> str:
    with open(path, "rb") as fh:
        for k, raw in enumerate(fh, start=1):
            if k == line:
                return short(raw)
    return ""


def _read_slow(path, names, fields, sep, n_header, encoding, nrows, exc) -> pd.DataFrame:
    """Read every field as text, locate the first bad value, or convert if all are valid.

    Values pandas' fast parser rejects but that are numbers (``nan``, ``inf``) are converted
    here; whether they are acceptable is the caller's decision (a rating must be finite).
    On one line, a misplaced ``::`` is reported before the empty field it causes.
    """
    text = pd.read_csv(
        path, sep=sep, header=None, skiprows=n_header, names=names,
        usecols=[f.name for f in fields], dtype=str, engine="c", quoting=csv.QUOTE_NONE,
        encoding=encoding, keep_default_na=False, na_filter=False, nrows=nrows,
        skip_blank_lines=True,
    )
    out: dict[str, pd.Series] = {}
    worst: tuple[int, int, str, str, str] | None = None  # (row, priority, column, reason, value)

    def note(bad: np.ndarray, priority: int, name: str, why) -> None:
        nonlocal worst
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            cand = (pos, priority, name, why(pos), text[name].iloc[pos])
            if worst is None or cand[:2] < worst[:2]:
                worst = cand

    for f in fields:
        raw = text[f.name]
        empty = (raw.str.strip() == "").to_numpy()
        if f.filler:
            note(~empty, 0, f.name, lambda pos: "misplaced")
            out[f.name] = raw.where(~empty)
        elif f.kind in ("int", "float"):
            num = pd.to_numeric(raw.where(~empty), errors="coerce")
            spelled_nan = raw.str.strip().str.lower().isin(["nan", "+nan", "-nan"]).to_numpy()
            bad = num.isna().to_numpy() & ~empty & ~spelled_nan
            reason = "not a number"
            if f.kind == "int":
                values = num.to_numpy(dtype=np.float64)
                bad |= ~empty & (~np.isfinite(values) | (values != np.round(values)))
                reason = "not an integer"
            if f.required:
                bad |= empty
            note(bad, 1, f.name, lambda pos, e=empty, r=reason: "missing value" if e[pos] else r)
            out[f.name] = num.astype("int64") if (f.kind == "int" and not bad.any()) else num
        else:
            if f.required:
                note(empty, 1, f.name, lambda pos: "missing value")
            out[f.name] = raw.where(~empty)
            if f.kind == "category":
                out[f.name] = out[f.name].astype("category")
    if worst is not None:
        pos, _, name, why, value = worst
        line = pos + n_header + 1
        if why == "misplaced":
            _misplaced(path, line)
        raise DataError(why, path=path, line=line, column=name, value=value,
                        has_value=why != "missing value") from exc
    return pd.DataFrame(out)


_LINE_RE = re.compile(r"\bline (\d+)")


def remap_lines(err: DataError, to_line: Callable[[int], int], path: Path | str | None) -> DataError:
    """Re-express an error raised on frame rows (``line_offset=0``) in physical lines.

    Used where header lines are interleaved with the data (Netflix ``MovieID:`` lines), so a
    row position is not a fixed offset from its line.  Line numbers mentioned inside the
    reason (the first occurrence of a duplicate) are mapped too.
    """
    reason = _LINE_RE.sub(lambda m: f"line {to_line(int(m.group(1)))}", err.reason)
    return DataError(
        reason, path=path if path is not None else err.path,
        line=None if err.line is None else to_line(err.line),
        column=err.column, value=err.value, has_value=err.has_value,
    )
