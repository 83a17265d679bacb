"""CTR data: `FeatureTable` (raw rows) and `FeatureEncoder` (rows -> model inputs).

A `FeatureTable` keeps the data un-encoded: a label column (0/1), dense numeric columns and
categorical columns (stored as pandas ``category``, so a column of 45M hashed strings costs
its int32 codes plus one copy of each distinct value).  Encoding is a separate, fitted step so
that vocabularies and scaling come from the *training* rows only; the fitted encoder is plain
JSON (`to_dict` / `from_dict`) and is saved with a model to encode new rows at serving time.

Encoding rules (documented in docs/datasets.md):

* categorical: index 0 is the out-of-vocabulary (OOV) bucket.  A value seen fewer than
  ``min_count`` times in the training rows, or never, maps to 0.  A missing value is the
  category ``"<missing>"``, which gets its own index when it is frequent enough in training,
  else 0.  Values are compared by their string form (``5``, ``5.0`` and ``"5"`` are one value).
* dense: NaN, +-inf and missing are *missing*.  ``"log"`` maps x -> sign(x) * log1p(|x|)
  (Criteo's counts, whose I2 column has -1..-3); ``"standard"`` maps x -> (x - mean) / std
  with mean/std of the training rows (a constant column, std 0, uses std 1);
  ``"none"`` keeps x.  A missing value becomes 0 *after* the transform (for ``"standard"``:
  the training mean).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError

DenseTransform = Literal["log", "standard", "none"]
DENSE_TRANSFORMS: tuple[str, ...] = ("log", "standard", "none")
MISSING = "<missing>"
OOV_INDEX = 0


@dataclass(eq=False)
class FeatureTable:
    """Un-encoded CTR rows. ``frame`` holds the label, dense and categorical columns (and
    optionally a ``timestamp`` column, seconds, used for temporal splits, never a feature)."""

    frame: pd.DataFrame
    label: str
    dense: list[str]
    categorical: list[str]
    name: str = ""
    timestamp: str | None = None
    source: str | None = None  # file it was read from, for error messages

    def __post_init__(self) -> None:
        self.dense = list(self.dense)
        self.categorical = list(self.categorical)
        cols = [self.label, *self.dense, *self.categorical]
        if self.timestamp is not None:
            cols.append(self.timestamp)
        seen: set[str] = set()
        dup = [c for c in cols if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
        if dup:
            raise ConfigError(f"column(s) {dup} named more than once among label/dense/categorical")
        missing = [c for c in cols if c not in self.frame.columns]
        if missing:
            raise DataError(f"missing column(s) {missing}; the table has {list(self.frame.columns)}",
                            path=self.source)
        if not self.dense and not self.categorical:
            raise ConfigError("a FeatureTable needs at least one dense or categorical column")

    # ------------------------------------------------------------------ facts
    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (f"FeatureTable({self.name or 'unnamed'}: {len(self):,} rows, "
                f"{self.n_positive:,} positive, {len(self.dense)} dense, "
                f"{len(self.categorical)} categorical)")

    @property
    def labels(self) -> np.ndarray:
        return self.frame[self.label].to_numpy(dtype=np.float32)

    @property
    def n_positive(self) -> int:
        return int(self.frame[self.label].to_numpy().sum())

    @property
    def timestamps(self) -> np.ndarray | None:
        return None if self.timestamp is None else self.frame[self.timestamp].to_numpy(np.int64)

    def fingerprint(self) -> str:
        """sha256 of the rows and the column roles (see ``Interactions.fingerprint``)."""
        h = hashlib.sha256(repr((self.label, self.dense, self.categorical, self.timestamp)).encode())
        h.update(np.ascontiguousarray(pd.util.hash_pandas_object(self.frame, index=False).to_numpy()).tobytes())
        return h.hexdigest()

    def take(self, rows: np.ndarray | Sequence[int]) -> "FeatureTable":
        """Rows at positions (or a boolean mask); categorical columns keep their categories."""
        return FeatureTable(self.frame.iloc[np.asarray(rows)].reset_index(drop=True), self.label,
                            self.dense, self.categorical, self.name, self.timestamp, self.source)


@dataclass(frozen=True, eq=False)
class EncodedFeatures:
    label: np.ndarray  # float32 [N]
    dense: np.ndarray  # float32 [N, D]
    categorical: np.ndarray  # int64 [N, F], 0 = OOV
    vocab_sizes: list[int]  # per categorical field, including the OOV slot
    field_names: list[str]  # categorical field names, in column order of ``categorical``
    dense_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.label)


class FeatureEncoder:
    """Fit vocabularies and dense scaling on training rows; encode any rows with them."""

    def __init__(self, min_count: int = 1, dense_transform: DenseTransform = "log") -> None:
        if not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool) or min_count < 1:
            raise ConfigError(f"min_count must be an integer >= 1, got {min_count!r}")
        if dense_transform not in DENSE_TRANSFORMS:
            raise ConfigError(f"dense_transform must be one of {DENSE_TRANSFORMS}, got {dense_transform!r}")
        self.min_count = int(min_count)
        self.dense_transform = dense_transform
        self.dense: list[str] = []
        self.categorical: list[str] = []
        self.label: str | None = None
        self.vocab: dict[str, list[str]] = {}
        self.mean: list[float] = []
        self.std: list[float] = []
        self._lookup: dict[str, dict[str, int]] = {}

    @property
    def fitted(self) -> bool:
        return self.label is not None

    # ------------------------------------------------------------------ fit
    def fit(self, table: FeatureTable, rows: np.ndarray | Sequence[int] | None = None) -> "FeatureEncoder":
        """Learn from ``rows`` of ``table`` only (the training rows)."""
        frame = _rows(table.frame, rows)
        if len(frame) == 0:
            raise DataError("cannot fit an encoder on zero rows", path=table.source)
        self.label, self.dense, self.categorical = table.label, list(table.dense), list(table.categorical)
        self.vocab = {}
        for col in self.categorical:
            keys, codes = _keys_and_codes(frame[col])
            counts = np.bincount(codes + 1, minlength=len(keys) + 1)  # slot 0: missing
            values = np.r_[np.array([MISSING], dtype=object), keys.astype(object)]
            merged = pd.Series(counts, index=values).groupby(level=0, sort=False).sum()
            merged = merged[merged >= self.min_count]
            # most frequent first, ties by value: deterministic, and small ids for common values
            order = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
            self.vocab[col] = [k for k, _ in order]
        self.mean, self.std = [], []
        for col in self.dense:  # one column at a time: 45M rows x 13 floats never coexist
            x = _dense_column(frame, col)  # also validates the column
            if self.dense_transform == "standard":
                finite = x[np.isfinite(x)]
                mean = float(finite.mean()) if finite.size else 0.0
                std = float(finite.std()) if finite.size else 0.0
                self.mean.append(mean)
                self.std.append(std if std > 0 else 1.0)  # constant column: centre only
        self._build_lookup()
        return self

    def _build_lookup(self) -> None:
        self._lookup = {col: {v: i + 1 for i, v in enumerate(vals)} for col, vals in self.vocab.items()}

    # ------------------------------------------------------------------ transform
    def transform(self, table: FeatureTable, rows: np.ndarray | Sequence[int] | None = None) -> EncodedFeatures:
        return self.transform_frame(_rows(self._checked(table.frame, table.source), rows), table.label)

    def _checked(self, frame: pd.DataFrame, source: str | None) -> pd.DataFrame:
        if not self.fitted:
            raise ConfigError("FeatureEncoder.transform called before fit")
        missing = [c for c in [*self.dense, *self.categorical] if c not in frame.columns]
        if missing:
            raise DataError(f"the rows lack column(s) {missing} the encoder was fitted on", path=source)
        return frame

    def transform_frame(self, frame: pd.DataFrame, label: str | None = None, source: str | None = None
                        ) -> EncodedFeatures:
        """Raw rows (a DataFrame with the fitted dense and categorical columns; the label
        column is optional, serving has none) encoded as in training."""
        frame = self._checked(frame, source)
        label = self.label if label is None else label
        n = len(frame)
        cat = np.zeros((n, len(self.categorical)), dtype=np.int64)
        for j, col in enumerate(self.categorical):
            keys, codes = _keys_and_codes(frame[col])
            lookup = self._lookup[col]
            per_key = np.fromiter((lookup.get(k, OOV_INDEX) for k in keys.tolist()),
                                  dtype=np.int64, count=len(keys))
            table_idx = np.r_[np.int64(lookup.get(MISSING, OOV_INDEX)), per_key]
            cat[:, j] = table_idx[codes + 1]
        dense = self._encode_dense(frame)
        if label in frame.columns:
            label_values = frame[label].to_numpy(dtype=np.float32)
        else:  # serving: rows to score have no label
            label_values = np.full(n, np.nan, dtype=np.float32)
        return EncodedFeatures(
            label=label_values, dense=dense, categorical=cat,
            vocab_sizes=[len(self.vocab[c]) + 1 for c in self.categorical],
            field_names=list(self.categorical), dense_names=list(self.dense),
        )

    def fit_transform(self, table: FeatureTable, rows=None) -> EncodedFeatures:
        return self.fit(table, rows).transform(table, rows)

    def _encode_dense(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.dense)), dtype=np.float32)
        for j, col in enumerate(self.dense):
            x = _dense_column(frame, col)
            missing = ~np.isfinite(x)
            if self.dense_transform == "log":
                x = np.sign(x) * np.log1p(np.abs(x))
            elif self.dense_transform == "standard":
                x = (x - self.mean[j]) / self.std[j]
            out[:, j] = np.where(missing, 0.0, x)
        return out

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        if not self.fitted:
            raise ConfigError("cannot serialise an unfitted FeatureEncoder")
        return {
            "format": "autorec.FeatureEncoder/1",
            "min_count": self.min_count,
            "dense_transform": self.dense_transform,
            "label": self.label,
            "dense": list(self.dense),
            "categorical": list(self.categorical),
            "vocab": {c: list(v) for c, v in self.vocab.items()},
            "mean": list(self.mean),
            "std": list(self.std),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureEncoder":
        if data.get("format") != "autorec.FeatureEncoder/1":
            raise ConfigError(f"not a serialised FeatureEncoder (format {data.get('format')!r})")
        enc = cls(min_count=data["min_count"], dense_transform=data["dense_transform"])
        enc.label = data["label"]
        enc.dense = list(data["dense"])
        enc.categorical = list(data["categorical"])
        enc.vocab = {c: [str(v) for v in vals] for c, vals in data["vocab"].items()}
        enc.mean = [float(v) for v in data["mean"]]
        enc.std = [float(v) for v in data["std"]]
        if set(enc.vocab) != set(enc.categorical):
            raise ConfigError("serialised FeatureEncoder: vocab fields do not match categorical")
        enc._build_lookup()
        return enc


# ---------------------------------------------------------------------- helpers
def _rows(frame: pd.DataFrame, rows) -> pd.DataFrame:
    return frame if rows is None else frame.iloc[np.asarray(rows)]


def _keys_and_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values as canonical strings, and each row's code into them (-1 = missing).

    Works on the distinct values only (pandas categories), so a 45M-row column costs one
    pass over its int codes, not 45M string conversions.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat = series.array
    else:
        cat = pd.Categorical(series)
    codes = np.asarray(cat.codes, dtype=np.int64)
    keys = np.array([_canonical(v) for v in cat.categories.tolist()], dtype=object)
    # two categories with one string form (5 and "5") must be one value
    uniq, inverse = np.unique(keys.astype(str), return_inverse=True)
    if len(uniq) != len(keys):
        codes = np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1)
        keys = uniq.astype(object)
    return keys, codes


def _canonical(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _dense_column(frame: pd.DataFrame, col: str) -> np.ndarray:
    """A dense column as float64; NaN/inf stay (they are *missing*), text is an error."""
    raw = frame[col]
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(raw, errors="coerce")
    bad = (values.isna() & raw.notna()).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"dense feature is not a number (row label {frame.index[pos]!r})",
                        column=col, value=raw.iloc[pos])
    return values.to_numpy(dtype=np.float64, na_value=np.nan)
