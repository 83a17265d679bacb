"""Netflix Prize ``combined_data_*.txt``: blocks headed ``MovieID:``, then ``CustomerID,Rating,Date``.

Parsed block-wise with numpy: lines are classified (header / rating / blank) from their byte
counts, the header lines are cut out, and the remaining rating lines go through the pandas C
parser in one call per 64 MiB block, with ``-`` in the dates turned into field separators so
that year, month and day arrive as integers (no per-line Python, no date strings in memory).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..data.interactions import Interactions
from ..errors import DataError
from ._text import BLOCK_SIZE, BlankLineGuard, LineIndex, ensure_file, iter_blocks, remap_lines

NETFLIX_GLOB = "combined_data_*.txt"
_COLON, _COMMA, _DASH = ord(":"), ord(","), ord("-")


def netflix_files(path: Path) -> list[Path]:
    """The rating files of a Netflix folder (sorted), or the one file given."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob(NETFLIX_GLOB))
        if not files:
            raise DataError(f"no {NETFLIX_GLOB} file in this folder", path=path)
        return files
    return [ensure_file(path)]


def read_netflix_file(path: Path, block_size: int = BLOCK_SIZE) -> tuple[pd.DataFrame, np.ndarray]:
    """One ``combined_data`` file -> (frame user,item,rating,timestamp; physical line per row)."""
    path = ensure_file(Path(path))
    guard = BlankLineGuard(path)
    movie: int | None = None
    parts: list[pd.DataFrame] = []
    line_parts: list[np.ndarray] = []
    for lines_before, body in iter_blocks(path, block_size):
        idx = LineIndex.of(body)
        blank = idx.blank
        guard.feed(lines_before, blank)
        last = idx.arr[np.maximum(idx.ends - 1, 0)]
        is_header = ~blank & (last == _COLON)
        commas = idx.count(_COMMA)
        dashes = idx.count(_DASH)
        colons = idx.count(_COLON)
        is_rating = ~blank & ~is_header

        def fail(i: int, msg: str) -> None:
            raise DataError(msg, path=path, line=lines_before + int(i) + 1, value=idx.text(int(i)))

        bad = np.flatnonzero(is_header & ((commas != 0) | (colons != 1)))
        if bad.size:
            fail(bad[0], "a 'MovieID:' line must hold one integer and a colon")
        bad = np.flatnonzero(is_rating & ((commas != 2) | (colons != 0)))
        if bad.size:
            fail(bad[0], f"expected 3 fields 'CustomerID,Rating,Date', found {int(commas[bad[0]]) + 1}")
        bad = np.flatnonzero(is_rating & (dashes != 2))
        if bad.size:
            fail(bad[0], "the date must be YYYY-MM-DD (and ids and ratings are not negative)")

        headers = np.flatnonzero(is_header)
        header_ids = np.empty(len(headers), dtype=np.int64)
        for k, i in enumerate(headers):  # ~18K headers in the whole prize data: a loop is fine
            text = idx.arr[idx.starts[i] : idx.ends[i] - 1].tobytes()
            try:
                header_ids[k] = int(text)
            except ValueError:
                fail(i, "a 'MovieID:' line must hold one integer and a colon")
        rating_lines = np.flatnonzero(is_rating)
        if rating_lines.size == 0:
            if headers.size:
                movie = int(header_ids[-1])
            continue
        owner = np.searchsorted(headers, rating_lines, side="right") - 1
        if movie is None and owner[0] < 0:
            fail(rating_lines[0], "rating line before any 'MovieID:' line")
        movies = np.r_[np.int64(movie if movie is not None else -1), header_ids][owner + 1]
        if headers.size:
            movie = int(header_ids[-1])

        # cut the (few) header lines out; what remains is pure CSV, with '-' made a separator
        full_end = np.r_[idx.starts[1:], len(idx.arr)]  # end of each line incl. its newline
        pieces, prev = [], 0
        for start, stop in zip(idx.starts[headers].tolist(), full_end[headers].tolist()):
            pieces.append(body[prev:start])
            prev = stop
        pieces.append(body[prev:])
        data = b"".join(pieces).replace(b"-", b",")
        frame = _parse_ratings(data, path, lines_before, rating_lines)
        frame.insert(1, "item", movies)
        parts.append(frame)
        line_parts.append(lines_before + rating_lines + 1)
    if not parts:
        raise DataError("no ratings in the file", path=path)
    return pd.concat(parts, ignore_index=True), np.concatenate(line_parts)


def _parse_ratings(data: bytes, path: Path, lines_before: int, rating_lines: np.ndarray) -> pd.DataFrame:
    names = ["user", "rating", "year", "month", "day"]
    try:
        raw = pd.read_csv(io.BytesIO(data), header=None, names=names, dtype="int64",
                          engine="c", keep_default_na=False, na_values=[""])
    except (ValueError, TypeError, OverflowError):
        text = pd.read_csv(io.BytesIO(data), header=None, names=names, dtype=str,
                           engine="c", keep_default_na=False, na_filter=False)
        first = None
        for col in names:
            num = pd.to_numeric(text[col], errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(num) | (num != np.round(num))
            if bad.any():
                pos = int(np.flatnonzero(bad)[0])
                if first is None or pos < first[0]:
                    first = (pos, col)
        if first is None:
            raise
        pos, col = first
        column = "date" if col in ("year", "month", "day") else col
        raise DataError("not an integer" if column != "date" else "the date must be YYYY-MM-DD",
                        path=path, line=lines_before + int(rating_lines[pos]) + 1, column=column,
                        value=text[col].iloc[pos]) from None
    if len(raw) != len(rating_lines):
        raise DataError(f"read {len(raw)} ratings from {len(rating_lines)} rating lines", path=path)
    dates = pd.to_datetime(raw[["year", "month", "day"]], errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = f"{raw['year'].iloc[pos]:04d}-{raw['month'].iloc[pos]:02d}-{raw['day'].iloc[pos]:02d}"
        raise DataError("not a valid date", path=path, line=lines_before + int(rating_lines[pos]) + 1,
                        column="date", value=value)
    seconds = dates.to_numpy().astype("datetime64[s]").astype(np.int64)
    return pd.DataFrame({"user": raw["user"].to_numpy(), "rating": raw["rating"].to_numpy(np.float32),
                         "timestamp": seconds})


def load_netflix(path: Path | Iterable[Path], *, duplicates: str = "error",
                 name: str = "netflix") -> Interactions:
    """All ``combined_data_*.txt`` of a folder (or the given file(s)); ratings on (1, 5)."""
    files = netflix_files(path) if isinstance(path, (str, Path)) else [ensure_file(Path(p)) for p in path]
    frames, lines, sources = [], [], []
    for f in files:
        frame, line = read_netflix_file(f)
        frames.append(frame)
        lines.append(line)
        sources.append(np.full(len(frame), len(sources), dtype=np.int32))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    line_of = np.concatenate(lines)
    file_of = np.concatenate(sources)
    try:
        return Interactions.from_frame(frame, timestamp_col="timestamp", rating_scale=(1.0, 5.0),
                                       duplicates=duplicates, line_offset=0, name=name)
    except DataError as err:
        # rows are not a fixed offset from their line (MovieID: lines in between): map back
        row = err.line if err.line is not None else 0
        path_of_row = files[int(file_of[row])] if err.line is not None else files[0]
        raise remap_lines(err, lambda r: int(line_of[r]), path_of_row) from None
