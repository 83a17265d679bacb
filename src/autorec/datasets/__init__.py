"""Datasets: the registry, the official-format loaders and `load`.

>>> from autorec.datasets import load
>>> data = load("ml-latest-small")            # bundled, works offline
>>> data = load("ml-100k", data_path="~/data/ml-100k")
>>> ctr = load("criteo-sample")               # a FeatureTable
>>> data = load("my_ratings.csv", user="uid", item="sku", rating="stars")

See docs/datasets.md for formats, the resolution order and the error policy.
"""

from __future__ import annotations

import inspect
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..data.features import FeatureTable
from ..data.interactions import Interactions
from ..errors import ConfigError, DataError
from .ctr import load_avazu, load_criteo
from .movielens import (
    load_ml100k,
    load_ml_csv,
    load_ml_dat,
    read_dat_ratings,
    read_ml100k_items,
    read_ml100k_ratings,
    read_ml100k_split,
    read_ml100k_users,
    read_ml1m_users,
    read_movies_csv,
    read_movies_dat,
    read_ratings_csv,
)
from .implicit import load_user_lines_folder, read_user_lines
from .netflix import load_netflix, read_netflix_file
from .registry import REGISTRY, DatasetSpec, get_spec, list_datasets
from .store import availability, cache_dir, fetch, is_cached, locate
from ._text import short
from .tables import load_ctr_table, load_table, read_table

LOADERS: dict[str, Callable[..., Interactions | FeatureTable]] = {
    "ml-100k": load_ml100k,
    "ml-1m": partial(load_ml_dat, integer_ratings=True, rating_scale=(1.0, 5.0),
                     movies_encoding="latin-1"),
    "ml-10m": partial(load_ml_dat, integer_ratings=False, rating_scale=(0.5, 5.0),
                      movies_encoding="utf-8"),
    "ml-csv": load_ml_csv,
    "netflix": load_netflix,
    "criteo": load_criteo,
    "criteo-sample": partial(load_criteo, file_name="train-10k.txt"),
    "avazu": load_avazu,
    "avazu-sample": partial(load_avazu, file_name="train-10k.csv"),
    "user-lines": load_user_lines_folder,
}

# column names that `load("file.csv")` recognises without being told
_USER_NAMES = ("user", "user_id", "userid", "userId", "UserID", "customer_id", "CustomerID")
_ITEM_NAMES = ("item", "item_id", "itemid", "itemId", "movieId", "movie_id", "MovieID", "product_id")
_RATING_NAMES = ("rating", "Rating", "score", "stars")
_TIME_NAMES = ("timestamp", "Timestamp", "time", "ts", "date", "Date")


def load(name_or_path: str | Path | pd.DataFrame, data_path: str | Path | None = None, *,
         download: bool = True, **options: Any) -> Interactions | FeatureTable:
    """Load a registered dataset by name, or a file/folder/DataFrame.

    A name is resolved by :func:`locate` (``data_path`` first).  ``options`` go to the
    loader: ``duplicates`` and ``side_features`` (MovieLens), ``nrows`` (CTR), or for a plain
    table ``user``/``item``/``rating``/``timestamp``/``sep``/``rating_scale`` (see
    :func:`load_table`) or ``label``/``dense``/``categorical`` (see :func:`load_ctr_table`).
    Returns an :class:`Interactions` (rating/implicit data) or a :class:`FeatureTable` (CTR).
    """
    if isinstance(name_or_path, pd.DataFrame):
        return _load_table_like(name_or_path, options)
    key = str(name_or_path).strip()
    if key.lower() in REGISTRY:
        spec = get_spec(key)
        path = locate(spec.name, data_path, download=download)
        return _call(LOADERS[spec.loader], path, name=spec.name, **options)
    path = Path(key).expanduser()
    if data_path is not None:
        raise ConfigError(f"{key!r} is not a registered dataset, so data_path has no meaning; "
                          "pass the path as the first argument")
    if path.exists():
        return load_path(path, **options)
    if "/" in key or "\\" in key or path.suffix:
        raise DataError("no such file or folder", path=path)
    get_spec(key)  # raises ConfigError naming the closest registered name
    raise AssertionError("unreachable")


def load_path(path: Path, **options: Any) -> Interactions | FeatureTable:
    """A file or folder whose format is recognised by its name/contents, or a plain table."""
    path = Path(path)
    if path.is_dir():
        loader = _folder_loader(path)
        return _call(loader, path, name=options.pop("name", path.name), **options)
    if {"user", "item", "label"} & options.keys():
        return _load_table_like(path, options)
    loader = _file_loader(path)
    if loader is not None:
        return _call(loader, path, name=options.pop("name", path.parent.name), **options)
    return _load_table_like(path, options)


def _is_user_lines_folder(folder: Path) -> bool:
    """train.txt and test.txt whose first line has no tab (Criteo's files are tab-separated):
    the reader then checks every token."""
    if not ((folder / "train.txt").is_file() and (folder / "test.txt").is_file()):
        return False
    with (folder / "train.txt").open("rb") as fh:
        first = fh.readline(1 << 20)
    return b"\t" not in first and bool(first.split())


def _folder_loader(folder: Path) -> Callable[..., Any]:
    if _is_user_lines_folder(folder):
        return LOADERS["user-lines"]
    checks = [
        ("u.data", "ml-100k"),
        ("users.dat", "ml-1m"),
        ("ratings.dat", "ml-10m"),
        ("ratings.csv", "ml-csv"),
        ("combined_data_*.txt", "netflix"),
        ("train.txt", "criteo"),
        ("train-10k.txt", "criteo-sample"),
        ("train.csv", "avazu"),
        ("train-10k.csv", "avazu-sample"),
    ]
    for pattern, key in checks:
        if any(folder.glob(pattern)):
            if key == "ml-1m" and not (folder / "ratings.dat").exists():
                continue
            return LOADERS[key]
    raise DataError("cannot tell the dataset format of this folder (expected u.data, "
                    "ratings.dat, ratings.csv, combined_data_*.txt, train.txt or train.csv); "
                    "pass a file with user=/item= column names instead", path=folder)


def _file_loader(path: Path) -> Callable[..., Any] | None:
    name = path.name
    if name == "u.data" or (name.startswith("u") and name.endswith((".base", ".test"))):
        return LOADERS["ml-100k"]
    if name == "ratings.dat":
        return LOADERS["ml-1m" if (path.parent / "users.dat").exists() else "ml-10m"]
    if name.startswith("combined_data_") and name.endswith(".txt"):
        return LOADERS["netflix"]
    if name == "ratings.csv":
        with open(path, "rb") as fh:
            if fh.readline().strip() == b"userId,movieId,rating,timestamp":
                return LOADERS["ml-csv"]
    if path.suffix == ".txt" and name.startswith("train"):
        return partial(load_criteo, file_name=name)
    return None


def _load_table_like(source: Path | pd.DataFrame, options: dict[str, Any]) -> Interactions | FeatureTable:
    if "label" in options:
        return load_ctr_table(source, **options)
    if "user" not in options or "item" not in options:
        columns = list(read_table(source, sep=options.get("sep"), encoding=options.get("encoding", "utf-8"))[0].columns) \
            if not isinstance(source, pd.DataFrame) else list(source.columns)
        guess = {
            "user": next((c for c in _USER_NAMES if c in columns), None),
            "item": next((c for c in _ITEM_NAMES if c in columns), None),
            "rating": next((c for c in _RATING_NAMES if c in columns), None),
            "timestamp": next((c for c in _TIME_NAMES if c in columns), None),
        }
        if guess["user"] is None or guess["item"] is None:
            if len(columns) == 1:
                other = next((c for c in (";", "\t", "|", ",", " ") if c in str(columns[0])), None)
                if other is not None:
                    raise ConfigError(f"{source if isinstance(source, Path) else 'the frame'}: the header reads as one "
                                      f"column {short(str(columns[0]), 80)!r}; the fields look separated by {other!r}: "
                                      f"pass --sep {other!r}")
            raise ConfigError(f"cannot tell the user and item columns of {source if isinstance(source, Path) else 'the frame'} "
                              f"(columns: {columns}); name them with --user-col and --item-col (and "
                              "--rating-col, --time-col); in Python, user=... and item=...")
        for k, v in guess.items():
            options.setdefault(k, v)
    return load_table(source, **options)


def _call(loader: Callable[..., Any], path: Path, **options: Any) -> Any:
    """Call a loader, turning an unknown option into a ConfigError that lists the valid ones."""
    params = inspect.signature(loader).parameters
    accepted = [p for p, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = [k for k in options if k not in params]
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown} for this dataset; accepted: {accepted}")
    return loader(path, **options)


__all__ = [
    "DatasetSpec", "FeatureTable", "Interactions", "LOADERS", "REGISTRY", "availability",
    "cache_dir", "fetch", "get_spec", "is_cached", "list_datasets", "load", "load_avazu",
    "load_criteo", "load_ctr_table", "load_ml100k", "load_ml_csv", "load_ml_dat", "load_netflix",
    "load_path", "load_table", "locate", "read_dat_ratings", "read_ml100k_items",
    "read_ml100k_ratings", "read_ml100k_split", "read_ml100k_users", "read_ml1m_users",
    "read_movies_csv", "read_movies_dat", "read_netflix_file", "read_ratings_csv", "read_table",
]
