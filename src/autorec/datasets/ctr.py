"""Criteo Display Advertising Challenge and Avazu CTR files -> :class:`FeatureTable`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.features import FeatureTable
from ..errors import DataError
from ._text import Column, read_delimited

CRITEO_DENSE = [f"I{i}" for i in range(1, 14)]
CRITEO_CATEGORICAL = [f"C{i}" for i in range(1, 27)]
AVAZU_HEADER = [
    "id", "click", "hour", "C1", "banner_pos", "site_id", "site_domain", "site_category",
    "app_id", "app_domain", "app_category", "device_id", "device_ip", "device_model",
    "device_type", "device_conn_type", "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21",
]
AVAZU_CATEGORICAL = ["hour_of_day", "weekday"] + AVAZU_HEADER[3:]


def _check_label(frame: pd.DataFrame, col: str, path: Path, line_offset: int) -> None:
    bad = ~frame[col].isin([0, 1]).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError("label must be 0 or 1", path=path, line=pos + line_offset, column=col,
                        value=frame[col].iloc[pos])


def _file(path: Path, name: str) -> Path:
    path = Path(path)
    return path / name if path.is_dir() else path


def load_criteo(path: Path, *, nrows: int | None = None, name: str = "criteo",
                file_name: str = "train.txt") -> FeatureTable:
    """Criteo DAC ``train.txt``: tab-separated ``label I1..I13 C1..C26``, no header.

    Empty integer fields are missing (NaN); empty categorical fields are missing (the
    encoder's ``<missing>`` category).  ``nrows`` reads only the first rows (the file is
    chronological, so the first rows are the earliest).
    """
    path = _file(path, file_name)
    cols = [Column("label", "int", dtype="int8")]
    cols += [Column(c, "float", required=False, dtype="float32") for c in CRITEO_DENSE]
    cols += [Column(c, "category", required=False) for c in CRITEO_CATEGORICAL]
    frame = read_delimited(path, cols, "\t", nrows=nrows)
    _check_label(frame, "label", path, 1)
    return FeatureTable(frame, "label", CRITEO_DENSE, CRITEO_CATEGORICAL, name=name, source=str(path))


def load_avazu(path: Path, *, nrows: int | None = None, name: str = "avazu",
               file_name: str = "train.csv") -> FeatureTable:
    """Avazu ``train.csv``: label ``click``; ``id`` is a row id, not a feature, and is not kept;
    ``hour`` (YYMMDDHH) becomes the categorical ``hour_of_day`` and ``weekday`` plus a
    ``timestamp`` column (seconds, for temporal splits); every other column is categorical."""
    path = _file(path, file_name)
    cols = [Column("id", "str", keep=False), Column("click", "int", dtype="int8"),
            Column("hour", "int")]
    cols += [Column(c, "category") for c in AVAZU_HEADER[3:]]
    frame = read_delimited(path, cols, ",", header=AVAZU_HEADER, nrows=nrows)
    _check_label(frame, "click", path, 2)
    hour = frame["hour"].to_numpy()
    parts = pd.DataFrame({"year": 2000 + hour // 1_000_000, "month": hour // 10_000 % 100,
                          "day": hour // 100 % 100, "hour": hour % 100})
    when = pd.to_datetime(parts, errors="coerce")
    bad = (when.isna() | (hour < 0) | (hour >= 100_000_000)).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError("hour must be YYMMDDHH", path=path, line=pos + 2, column="hour",
                        value=int(hour[pos]))
    out = pd.DataFrame({
        "click": frame["click"],
        "hour_of_day": pd.Categorical(parts["hour"].to_numpy(), categories=range(24)),
        "weekday": pd.Categorical(when.dt.day_of_week.to_numpy(), categories=range(7)),
        "timestamp": when.to_numpy().astype("datetime64[s]").astype(np.int64),
    })
    for c in AVAZU_HEADER[3:]:
        out[c] = frame[c]
    return FeatureTable(out, "click", [], AVAZU_CATEGORICAL, name=name, timestamp="timestamp",
                        source=str(path))
