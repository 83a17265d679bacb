"""`Interactions`: (user, item, rating[, timestamp]) triples with their id maps.

Users and items are stored as dense indices ``0..n-1``; the original ids are kept in
``user_ids`` / ``item_ids`` (index -> original id).  A subset (``take``) keeps the *same*
index space, so a train/validation/test split of one `Interactions` shares one set of id
maps and a model trained on the train part can score test pairs by index directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ConfigError, DataError

DuplicatePolicy = Literal["error", "last", "mean", "count"]
# count: one row per pair whose rating is how many times it occurred (implicit feedback: plays,
# check-ins, purchases), at its first position, with its latest timestamp
DUPLICATE_POLICIES: tuple[str, ...] = ("error", "last", "mean", "count")


@dataclass(frozen=True, eq=False)
class Interactions:
    users: np.ndarray  # int64 user index per row
    items: np.ndarray  # int64 item index per row
    ratings: np.ndarray  # float32 rating per row (1.0 for implicit feedback)
    user_ids: np.ndarray  # original user id per user index
    item_ids: np.ndarray  # original item id per item index
    timestamps: np.ndarray | None = None  # int64 seconds, or None
    rating_scale: tuple[float, float] | None = None  # (min, max) of explicit ratings
    implicit: bool = False
    user_features: pd.DataFrame | None = None  # one row per user index, in index order
    item_features: pd.DataFrame | None = None  # one row per item index, in index order
    name: str = ""
    _user_lookup: dict = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    _item_lookup: dict = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        user_col: str = "user",
        item_col: str = "item",
        rating_col: str | None = "rating",
        timestamp_col: str | None = None,
        rating_scale: tuple[float, float] | None = None,
        duplicates: DuplicatePolicy = "error",
        implicit: bool = False,
        source: str | Path | None = None,
        line_offset: int = 2,
        name: str = "",
        user_features: pd.DataFrame | None = None,
        item_features: pd.DataFrame | None = None,
    ) -> "Interactions":
        """Validate a table of interactions and index it.

        ``line_offset`` maps a frame row position to a line of ``source`` for error messages
        (2 for a CSV with one header line: row 0 is line 2).  ``user_features`` /
        ``item_features`` are indexed by *original* id; rows are reordered to index order and
        users/items missing from them get NaN (a documented, visible fill, not a drop).
        """
        src = None if source is None else str(source)
        needed = [c for c in (user_col, item_col, rating_col, timestamp_col) if c is not None]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise DataError(
                f"missing column(s) {missing}; the table has {list(frame.columns)}",
                path=src,
            )
        if duplicates not in DUPLICATE_POLICIES:
            raise ConfigError(
                f"duplicates must be one of {DUPLICATE_POLICIES}, got {duplicates!r}"
            )
        if len(frame) == 0:
            raise DataError("no interactions: the table is empty", path=src)

        def where(pos: int) -> int:
            return int(pos) + line_offset

        for col in (user_col, item_col):
            bad = frame[col].isna().to_numpy()
            if bad.any():
                pos = int(np.flatnonzero(bad)[0])
                raise DataError("missing id", path=src, line=where(pos), column=col,
                                value=frame[col].iloc[pos], has_value=True)

        if rating_col is None:
            ratings = np.ones(len(frame), dtype=np.float32)
            implicit = True
        else:
            raw = frame[rating_col]
            num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(num)
            if bad.any():
                pos = int(np.flatnonzero(bad)[0])
                raise DataError("rating is not a finite number", path=src, line=where(pos),
                                column=rating_col, value=raw.iloc[pos], has_value=True)
            if rating_scale is not None:
                lo, hi = rating_scale
                out = (num < lo) | (num > hi)
                if out.any():
                    pos = int(np.flatnonzero(out)[0])
                    raise DataError(f"rating outside the scale [{lo:g}, {hi:g}]", path=src,
                                    line=where(pos), column=rating_col, value=raw.iloc[pos],
                                    has_value=True)
            ratings = num.astype(np.float32)

        timestamps = None
        if timestamp_col is not None:
            ts_raw = frame[timestamp_col]
            if pd.api.types.is_datetime64_any_dtype(ts_raw):
                # pandas >= 2 keeps s/ms/us resolutions and time zones: go through datetime64[s]
                if getattr(ts_raw.dt, "tz", None) is not None:
                    ts_raw = ts_raw.dt.tz_convert(None)
                ts = ts_raw.to_numpy().astype("datetime64[s]").astype(np.int64)
                bad = ts_raw.isna().to_numpy()
            else:
                num = pd.to_numeric(ts_raw, errors="coerce").to_numpy(dtype=np.float64)
                bad = ~np.isfinite(num)
                ts = np.where(bad, 0, num).astype(np.int64)
            if bad.any():
                pos = int(np.flatnonzero(bad)[0])
                raise DataError("timestamp is not a number", path=src, line=where(pos),
                                column=timestamp_col, value=ts_raw.iloc[pos], has_value=True)
            timestamps = ts

        user_codes, user_ids = pd.factorize(frame[user_col], sort=True)
        item_codes, item_ids = pd.factorize(frame[item_col], sort=True)
        users = user_codes.astype(np.int64)
        items = item_codes.astype(np.int64)

        users, items, ratings, timestamps = _resolve_duplicates(
            users, items, ratings, timestamps, len(item_ids), duplicates, src, line_offset,
            frame[user_col], frame[item_col],
        )
        if rating_scale is None and not implicit:
            rating_scale = (float(ratings.min()), float(ratings.max()))

        user_ids = np.asarray(user_ids)
        item_ids = np.asarray(item_ids)
        return cls(
            users=users,
            items=items,
            ratings=ratings,
            user_ids=user_ids,
            item_ids=item_ids,
            timestamps=timestamps,
            rating_scale=None if rating_scale is None else (float(rating_scale[0]), float(rating_scale[1])),
            implicit=implicit,
            user_features=_align_features(user_features, user_ids),
            item_features=_align_features(item_features, item_ids),
            name=name,
        )

    # ------------------------------------------------------------------ basic facts
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.ratings)

    def __repr__(self) -> str:
        scale = "implicit" if self.implicit else f"scale={self.rating_scale}"
        return (f"Interactions({self.name or 'unnamed'}: {len(self):,} ratings, "
                f"{self.n_users:,} users, {self.n_items:,} items, {scale})")

    @property
    def global_mean(self) -> float:
        return float(self.ratings.mean()) if len(self) else float("nan")

    # ------------------------------------------------------------------ subsets
    def fingerprint(self) -> str:
        """sha256 of the content (rows, ids, ratings, times, scale): two loads of the same data
        agree, any edit of a row or an id changes it.  A study records it, so that resuming
        on other data is caught (``autorec.search.identity``)."""
        h = hashlib.sha256()
        for arr in (self.users, self.items, self.ratings, self.timestamps):
            h.update(b"-" if arr is None else np.ascontiguousarray(arr).tobytes())
        for ids in (self.user_ids, self.item_ids):
            h.update("\x1f".join(map(str, ids)).encode("utf-8", "surrogateescape"))
        h.update(repr((self.rating_scale, self.implicit)).encode())
        return h.hexdigest()

    def take(self, index: np.ndarray | Sequence[int]) -> "Interactions":
        """Rows at ``index`` (positions or a boolean mask), in the same id space."""
        idx = np.asarray(index)
        return replace(
            self,
            users=self.users[idx],
            items=self.items[idx],
            ratings=self.ratings[idx],
            timestamps=None if self.timestamps is None else self.timestamps[idx],
        )

    def concat(self, other: "Interactions") -> "Interactions":
        """Rows of both; both must share this id space (parts of one split)."""
        if other.n_users != self.n_users or other.n_items != self.n_items:
            raise ConfigError("can only concatenate parts of the same Interactions")
        ts = None
        if self.timestamps is not None and other.timestamps is not None:
            ts = np.concatenate([self.timestamps, other.timestamps])
        return replace(
            self,
            users=np.concatenate([self.users, other.users]),
            items=np.concatenate([self.items, other.items]),
            ratings=np.concatenate([self.ratings, other.ratings]),
            timestamps=ts,
        )

    # ------------------------------------------------------------------ matrix views
    def csr(self) -> sp.csr_matrix:
        """users x items ratings, CSR (rows sorted, no duplicates)."""
        m = sp.csr_matrix(
            (self.ratings, (self.users, self.items)),
            shape=(self.n_users, self.n_items), dtype=np.float32,
        )
        m.sort_indices()
        return m

    def csr_items(self) -> sp.csr_matrix:
        """items x users ratings, CSR: the input of I-AutoRec (one row per item)."""
        m = sp.csr_matrix(
            (self.ratings, (self.items, self.users)),
            shape=(self.n_items, self.n_users), dtype=np.float32,
        )
        m.sort_indices()
        return m

    def coo(self) -> sp.coo_matrix:
        return sp.coo_matrix(
            (self.ratings, (self.users, self.items)),
            shape=(self.n_users, self.n_items), dtype=np.float32,
        )

    def user_counts(self) -> np.ndarray:
        return np.bincount(self.users, minlength=self.n_users)

    def item_counts(self) -> np.ndarray:
        return np.bincount(self.items, minlength=self.n_items)

    # ------------------------------------------------------------------ id maps
    def user_index(self, ids: Sequence | np.ndarray) -> np.ndarray:
        """Indices of original user ids; -1 where an id is unknown."""
        if self._user_lookup is None:
            object.__setattr__(self, "_user_lookup", id_lookup(self.user_ids))
        return map_ids(self._user_lookup, ids)

    def item_index(self, ids: Sequence | np.ndarray) -> np.ndarray:
        """Indices of original item ids; -1 where an id is unknown."""
        if self._item_lookup is None:
            object.__setattr__(self, "_item_lookup", id_lookup(self.item_ids))
        return map_ids(self._item_lookup, ids)

    def to_frame(self) -> pd.DataFrame:
        """Rows with original ids (columns user, item, rating[, timestamp])."""
        data = {
            "user": self.user_ids[self.users],
            "item": self.item_ids[self.items],
            "rating": self.ratings,
        }
        if self.timestamps is not None:
            data["timestamp"] = self.timestamps
        return pd.DataFrame(data)


def id_lookup(ids: np.ndarray) -> dict:
    """original id -> index, with ids normalised so 5, 5.0 and '5' match."""
    return {_key(v): i for i, v in enumerate(ids.tolist())}


def _key(v):
    # ids read as int in one place and as float/str elsewhere must still match: 5 == 5.0 == "5"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s)
        except ValueError:
            return s
    return v


def map_ids(lookup: dict, ids) -> np.ndarray:
    arr = np.asarray(ids).tolist()
    if not isinstance(arr, list):
        arr = [arr]
    return np.fromiter((lookup.get(_key(v), -1) for v in arr), dtype=np.int64, count=len(arr))


def _align_features(features: pd.DataFrame | None, ids: np.ndarray) -> pd.DataFrame | None:
    if features is None:
        return None
    return features.reindex(pd.Index(ids)).reset_index(drop=True)


def _resolve_duplicates(users, items, ratings, timestamps, n_items, policy, src, line_offset,
                        raw_users, raw_items):
    key = users * np.int64(n_items) + items
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    dup_sorted = np.flatnonzero(sorted_key[1:] == sorted_key[:-1]) + 1
    if dup_sorted.size == 0:
        return users, items, ratings, timestamps
    if policy == "error":
        second = int(order[dup_sorted].min())  # earliest row that repeats an earlier pair
        first = int(np.flatnonzero(key == key[second])[0])
        raise DataError(
            f"duplicate (user, item) pair, first seen on line {first + line_offset}; "
            "pass duplicates='last' (keep the latest by timestamp), 'mean', or 'count' (implicit feedback: "
            "how many times) to resolve it",
            path=src, line=second + line_offset,
            value=(raw_users.iloc[second], raw_items.iloc[second]), has_value=True,
        )
    if policy == "last":
        # keep the row with the latest timestamp; ties (or no timestamps) keep the later row
        ts = timestamps if timestamps is not None else np.zeros(len(key), dtype=np.int64)
        order = np.lexsort((np.arange(len(key)), ts, key))
        last = np.r_[key[order][1:] != key[order][:-1], True]
        keep = np.sort(order[last])
        return (users[keep], items[keep], ratings[keep],
                None if timestamps is None else timestamps[keep])
    # mean / count: one row per pair at the position of its first occurrence; the latest timestamp
    uniq, first_pos, inverse = np.unique(key, return_index=True, return_inverse=True)
    sums = np.bincount(inverse, weights=ratings.astype(np.float64))
    counts = np.bincount(inverse)
    new_ratings = (counts if policy == "count" else sums / counts).astype(np.float32)
    new_ts = None
    if timestamps is not None:
        new_ts = np.full(len(uniq), np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(new_ts, inverse, timestamps)
    pos_order = np.argsort(first_pos, kind="stable")
    return (users[first_pos][pos_order], items[first_pos][pos_order], new_ratings[pos_order],
            None if new_ts is None else new_ts[pos_order])
