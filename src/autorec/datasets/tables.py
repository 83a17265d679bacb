"""Any CSV / TSV / Parquet file (or DataFrame) whose columns the user names.

Text files go through pyarrow's CSV reader (quote-aware, multi-threaded); a record with too
few or too many fields is reported with its physical line (pyarrow knows it when reading
single-threaded, so that second read happens only on the error path).  For a DataFrame or a
Parquet file, ``line`` in an error is the 1-based row number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..data.features import FeatureTable
from ..data.interactions import Interactions
from ..errors import ConfigError, DataError
from ._text import check_text, ensure_file, short

_COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")
_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSED:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def read_table(source: str | Path | pd.DataFrame, *, sep: str | None = None,
               columns: Sequence[str] | None = None,
               encoding: str = "utf-8") -> tuple[pd.DataFrame, str | None, int]:
    """Read ``source`` -> (frame, path for messages, line of frame row 0).

    ``sep`` None: from the extension (.csv ``,``; .tsv/.tab tab; .parquet).  ``columns``:
    the ones the caller needs; others in the file are read (to check field counts) but
    dropped.  ``encoding``: of a text file, strict (an invalid byte is an error naming line
    and byte offset, ``_text.check_text``).
    """
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        _require_columns(frame, columns, None)
        return frame, None, 1
    path = ensure_file(Path(source))
    suffix = _suffix(path)
    if suffix == ".parquet" and sep is None:
        try:
            frame = pd.read_parquet(path, columns=None)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"cannot read Parquet: {exc}", path=path) from None
        _require_columns(frame, columns, path)
        if len(frame) == 0:
            raise DataError("the table has no rows", path=path)
        return frame, str(path), 1
    if sep is None:
        if suffix not in _SEPARATORS:
            raise ConfigError(f"cannot tell the separator of {path} from its extension "
                              f"{suffix!r}: pass sep=',' (or '\\t', ';', ...)")
        sep = _SEPARATORS[suffix]
    if len(sep) != 1:
        raise ConfigError(f"sep must be one character, got {sep!r}")
    if suffix == path.suffix.lower():  # not compressed: the raw bytes are the text
        check_text(path, encoding)
    frame = _read_csv(path, sep, encoding)
    _require_columns(frame, columns, path)
    if len(frame) == 0:
        raise DataError("the file has a header but no data rows", path=path)
    empty = frame.isna().all(axis=1).to_numpy()
    if empty.any():
        raise DataError("empty record (a blank line inside the data?)", path=path,
                        line=int(np.flatnonzero(empty)[0]) + 2)
    return frame, str(path), 2


def _read_csv(path: Path, sep: str, encoding: str = "utf-8") -> pd.DataFrame:
    invalid: list = []

    def on_invalid(row) -> str:
        invalid.append(row)
        return "skip"  # recorded and raised below: nothing is dropped

    def read(threads: bool, as_text: bool) -> pa.Table:
        convert = pacsv.ConvertOptions(null_values=[""], strings_can_be_null=True,
                                       quoted_strings_can_be_null=False)
        if as_text:
            convert = pacsv.ConvertOptions(
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
                column_types={n: pa.string() for n in _header_names(path, sep, encoding)})
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=threads, encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=on_invalid,
                                             ignore_empty_lines=False),
            convert_options=convert,
        )

    try:
        try:
            table = read(True, False)
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc) and "conversion" not in str(exc).lower():
                raise
            # a column's type was inferred from its first block and a later value does not
            # fit: read everything as text and let the caller's checks locate bad values
            invalid.clear()
            table = read(True, True)
    except pa.ArrowInvalid as exc:
        raise DataError(f"cannot parse as {sep!r}-separated text: {exc}", path=path) from None
    if invalid:
        first = invalid[0]
        if first.number is None:  # multi-threaded reads do not know line numbers
            invalid.clear()
            read(False, True)
            first = invalid[0]
        raise DataError(f"expected {first.expected_columns} fields separated by {sep!r}, "
                        f"found {first.actual_columns}", path=path, line=first.number,
                        value=short(first.text))
    frame = table.to_pandas()
    blank_tail = _trailing_blank_lines(path)
    if blank_tail:
        # pyarrow turns each blank line into a row of nulls; blank lines that end the file
        # are not data (an editor artefact), any other blank line stays and fails validation
        frame = frame.iloc[: len(frame) - blank_tail]
    return frame


def _trailing_blank_lines(path: Path) -> int:
    if _suffix(path) != path.suffix.lower():  # compressed: cannot look at the raw tail
        return 0
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(size - 4096, 0))
        tail = fh.read()
    rest = tail.rstrip(b"\r\n")
    if len(rest) == 0 and size > 4096:
        return 0  # more than 4 KiB of newlines: leave them to fail visibly
    return max(tail[len(rest):].count(b"\n") - 1, 0)


def _header_names(path: Path, sep: str, encoding: str = "utf-8") -> list[str]:
    import csv

    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    with open(path, newline="", encoding=enc, errors="replace") as fh:
        return next(csv.reader(fh, delimiter=sep), [])


def _require_columns(frame: pd.DataFrame, columns: Sequence[str] | None, path) -> None:
    if columns is None:
        return
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; the table has {list(frame.columns)}",
                        path=path)


def _timestamps(frame: pd.DataFrame, col: str, path, line0: int) -> pd.Series:
    """Numbers stay (seconds); text is parsed as dates (ISO 8601) and becomes seconds."""
    raw = frame[col]
    if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_datetime64_any_dtype(raw):
        return raw
    num = pd.to_numeric(raw, errors="coerce")
    if num.notna().all():
        return num
    # pyarrow hands dates over as datetime.date objects: their str() is ISO 8601 too
    dates = pd.to_datetime(raw.map(lambda v: v if isinstance(v, str) else str(v)),
                           errors="coerce", format="ISO8601", utc=True)
    bad = dates.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        if pd.isna(raw.iloc[pos]):
            raise DataError("missing timestamp", path=path, line=pos + line0, column=col)
        raise DataError("timestamp is neither a number (seconds) nor an ISO 8601 date",
                        path=path, line=pos + line0, column=col, value=raw.iloc[pos])
    naive = dates.dt.tz_localize(None)  # UTC wall time -> seconds since the epoch
    return pd.Series(naive.to_numpy().astype("datetime64[s]").astype(np.int64), index=raw.index)


def load_table(
    source: str | Path | pd.DataFrame,
    *,
    user: str,
    item: str,
    rating: str | None = None,
    timestamp: str | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    rating_scale: tuple[float, float] | None = None,
    duplicates: str = "error",
    name: str = "",
    user_features: pd.DataFrame | None = None,
    item_features: pd.DataFrame | None = None,
) -> Interactions:
    """Interactions from any table with a header.

    ``rating`` None: implicit feedback (every row is a positive, value 1).  ``rating_scale``
    None: the observed min and max.  ``timestamp``: seconds, or ISO 8601 dates.
    """
    if not user or not item:
        raise ConfigError("load_table needs the user and item column names (user=..., item=...)")
    needed = [c for c in (user, item, rating, timestamp) if c is not None]
    frame, path, line0 = read_table(source, sep=sep, columns=needed, encoding=encoding)
    if not name:
        name = Path(path).stem if path else "table"
    frame = frame[needed].copy()
    if timestamp is not None:
        frame[timestamp] = _timestamps(frame, timestamp, path, line0)
    return Interactions.from_frame(
        frame, user_col=user, item_col=item, rating_col=rating, timestamp_col=timestamp,
        rating_scale=rating_scale, duplicates=duplicates, implicit=rating is None, source=path,
        line_offset=line0, name=name, user_features=user_features, item_features=item_features,
    )


def load_ctr_table(
    source: str | Path | pd.DataFrame,
    *,
    label: str,
    dense: Sequence[str] = (),
    categorical: Sequence[str] = (),
    sep: str | None = None,
    encoding: str = "utf-8",
    name: str = "",
) -> FeatureTable:
    """A CTR table: a 0/1 ``label`` column, numeric ``dense`` columns (empty = missing) and
    ``categorical`` columns (empty = missing, encoded later as ``<missing>``)."""
    dense, categorical = list(dense), list(categorical)
    needed = [label, *dense, *categorical]
    frame, path, line0 = read_table(source, sep=sep, columns=needed, encoding=encoding)
    if not name:
        name = Path(path).stem if path else "table"
    out = pd.DataFrame(index=frame.index)
    lab = pd.to_numeric(frame[label], errors="coerce")
    bad = ~lab.isin([0, 1]).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError("label must be 0 or 1", path=path, line=pos + line0, column=label,
                        value=frame[label].iloc[pos])
    out[label] = lab.to_numpy().astype(np.int8)
    for col in dense:
        raw = frame[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = (num.isna() & raw.notna()).to_numpy()
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataError("dense feature is not a number", path=path, line=pos + line0,
                            column=col, value=raw.iloc[pos])
        out[col] = num.to_numpy(dtype=np.float32, na_value=np.nan)
    for col in categorical:
        out[col] = frame[col].astype("category")
    return FeatureTable(out.reset_index(drop=True), label, dense, categorical, name=name,
                        source=path)
