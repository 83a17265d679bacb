"""MovieLens in its official formats: 100K (``u.*``), 1M/10M (``::``), 20M/25M/latest (CSV).

Ratings become an :class:`~autorec.data.Interactions`; the side files become
``user_features`` (100K, 1M: age, gender, occupation, zip) and ``item_features`` (title,
year, one 0/1 ``genre_<name>`` column per genre), both indexed by the original id.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.interactions import Interactions
from ..errors import ConfigError, DataError
from ._text import Column, ensure_file, read_delimited, short

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)
ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)
ML1M_AGES = {1: "Under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55",
             56: "56+"}
ML100K_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
NO_GENRE = "(no genres listed)"
RATING_COLUMNS = ["user", "item", "rating", "timestamp"]

_YEAR = re.compile(r"\((\d{4})\)\s*$")


def _split_path(path: Path, main_file: str) -> tuple[Path, Path]:
    """(folder, ratings file) from a dataset folder or the ratings file itself."""
    path = Path(path)
    if path.is_dir():
        return path, path / main_file
    return path.parent, path


def _ratings_columns(rating_kind: str) -> list[Column]:
    return [Column("user", "int"), Column("item", "int"),
            Column("rating", rating_kind, dtype="float32"), Column("timestamp", "int")]


# ---------------------------------------------------------------- ML-100K
def read_ml100k_ratings(path: Path) -> pd.DataFrame:
    """``u.data`` or a split file: tab-separated ``user item rating timestamp``, no header."""
    return read_delimited(Path(path), _ratings_columns("int"), "\t")


def read_ml100k_split(folder: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The predefined split ``name`` (u1..u5, ua, ub): (base, test) frames with columns
    user, item, rating, timestamp."""
    if name not in ML100K_SPLITS:
        raise ConfigError(f"unknown ML-100K split {name!r}; the splits are {list(ML100K_SPLITS)}")
    folder = Path(folder)
    return (read_ml100k_ratings(folder / f"{name}.base"),
            read_ml100k_ratings(folder / f"{name}.test"))


def read_ml100k_users(path: Path) -> pd.DataFrame:
    """``u.user``: ``id|age|gender|occupation|zip`` -> frame indexed by user id."""
    cols = [Column("user", "int"), Column("age", "int"), Column("gender", "category"),
            Column("occupation", "category"), Column("zip", "str")]
    frame = read_delimited(Path(path), cols, "|", encoding="latin-1")
    return _index_unique(frame, "user", Path(path), 1)


def read_ml100k_items(path: Path) -> pd.DataFrame:
    """``u.item`` (latin-1): id|title|release date|video release date|URL|19 genre flags."""
    cols = [Column("item", "int"), Column("title", "str"),
            Column("release_date", "str", required=False),
            Column("video_release_date", "str", required=False),
            Column("url", "str", required=False)]
    cols += [Column(f"genre_{g}", "int") for g in ML100K_GENRES]
    path = Path(path)
    frame = read_delimited(path, cols, "|", encoding="latin-1")
    genre_cols = [f"genre_{g}" for g in ML100K_GENRES]
    flags = frame[genre_cols].to_numpy()
    bad = ~np.isin(flags, (0, 1))
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise DataError("genre flag must be 0 or 1", path=path, line=row + 1,
                        column=genre_cols[col], value=int(flags[row, col]))
    dates = pd.to_datetime(frame["release_date"], format="%d-%b-%Y", errors="coerce")
    bad = dates.isna() & frame["release_date"].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError("release date is not DD-Mon-YYYY", path=path, line=row + 1,
                        column="release_date", value=frame["release_date"].iloc[row])
    out = pd.DataFrame({
        "item": frame["item"],
        "title": frame["title"],
        "year": dates.dt.year.astype("float32"),
    })
    out = pd.concat([out, frame[genre_cols].astype(np.uint8)], axis=1)
    return _index_unique(out, "item", path, 1)


def load_ml100k(path: Path, *, side_features: bool = True, duplicates: str = "error",
                name: str = "ml-100k") -> Interactions:
    folder, ratings_path = _split_path(path, "u.data")
    frame = read_ml100k_ratings(ratings_path)
    users = items = None
    if side_features:
        users = _optional(folder / "u.user", read_ml100k_users)
        items = _optional(folder / "u.item", read_ml100k_items)
    return Interactions.from_frame(
        frame, timestamp_col="timestamp", rating_scale=(1.0, 5.0), duplicates=duplicates,
        source=ratings_path, line_offset=1, name=name, user_features=users, item_features=items,
    )


# ---------------------------------------------------------------- ML-1M / ML-10M
def read_dat_ratings(path: Path, *, integer_ratings: bool) -> pd.DataFrame:
    """``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``, no header."""
    return read_delimited(Path(path), _ratings_columns("int" if integer_ratings else "float"), "::")


def read_ml1m_users(path: Path) -> pd.DataFrame:
    """``users.dat`` (1M): ``UserID::Gender::Age::Occupation::Zip`` -> frame indexed by user.

    ``age`` keeps the official code (1, 18, 25, ...); ``age_group`` is its label and
    ``occupation`` the name of the official occupation code."""
    path = Path(path)
    cols = [Column("user", "int"), Column("gender", "category"), Column("age", "int"),
            Column("occupation_code", "int"), Column("zip", "str")]
    frame = read_delimited(path, cols, "::", encoding="latin-1")
    for col, allowed in (("age", list(ML1M_AGES)), ("occupation_code", range(len(ML1M_OCCUPATIONS)))):
        bad = ~frame[col].isin(list(allowed)).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"unknown {col.split('_')[0]} code", path=path, line=row + 1,
                            column=col, value=int(frame[col].iloc[row]))
    bad = ~frame["gender"].isin(["M", "F"]).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError("gender must be M or F", path=path, line=row + 1, column="gender",
                        value=frame["gender"].iloc[row])
    out = pd.DataFrame({
        "user": frame["user"],
        "age": frame["age"],
        "age_group": pd.Categorical(frame["age"].map(ML1M_AGES), categories=list(ML1M_AGES.values())),
        "gender": frame["gender"],
        "occupation": pd.Categorical.from_codes(frame["occupation_code"].to_numpy(),
                                                categories=list(ML1M_OCCUPATIONS)),
        "zip": frame["zip"],
    })
    return _index_unique(out, "user", path, 1)


def read_movies_dat(path: Path, *, encoding: str = "latin-1") -> pd.DataFrame:
    """``movies.dat`` (1M latin-1, 10M utf-8): ``MovieID::Title::Genres`` -> indexed by item.

    Titles may contain a single ``:``, so the byte counter of :mod:`._text` does not apply;
    the file is small (about 10K lines), so it is split on ``::`` per line.
    """
    path = ensure_file(Path(path))
    raw = path.read_bytes().decode(encoding)
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    ids, titles, genres = [], [], []
    for k, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        parts = line.split("::")
        if len(parts) != 3:
            raise DataError(f"expected 3 fields separated by '::', found {len(parts)}",
                            path=path, line=k, value=short(line))
        try:
            ids.append(int(parts[0]))
        except ValueError:
            raise DataError("not an integer", path=path, line=k, column="item",
                            value=parts[0]) from None
        titles.append(parts[1])
        genres.append(parts[2])
    if not ids:
        raise DataError("the file has no data rows", path=path)
    return _movies_frame(ids, titles, genres, path, first_line=1)


def load_ml_dat(path: Path, *, integer_ratings: bool, rating_scale: tuple[float, float],
                movies_encoding: str, side_features: bool = True, duplicates: str = "error",
                name: str = "") -> Interactions:
    """ML-1M (integer ratings 1-5, latin-1) or ML-10M (half stars 0.5-5, utf-8)."""
    folder, ratings_path = _split_path(path, "ratings.dat")
    frame = read_dat_ratings(ratings_path, integer_ratings=integer_ratings)
    users = items = None
    if side_features:
        if (folder / "users.dat").exists():  # 1M only; 10M has no demographics
            users = read_ml1m_users(folder / "users.dat")
        items = _optional(folder / "movies.dat",
                          lambda p: read_movies_dat(p, encoding=movies_encoding))
    return Interactions.from_frame(
        frame, timestamp_col="timestamp", rating_scale=rating_scale, duplicates=duplicates,
        source=ratings_path, line_offset=1, name=name, user_features=users, item_features=items,
    )


# ---------------------------------------------------------------- ML-20M / 25M / latest
def read_ratings_csv(path: Path) -> pd.DataFrame:
    """``ratings.csv`` with header ``userId,movieId,rating,timestamp``."""
    frame = read_delimited(Path(path), _ratings_columns("float"), ",",
                           header=["userId", "movieId", "rating", "timestamp"])
    return frame


def read_movies_csv(path: Path) -> pd.DataFrame:
    """``movies.csv`` (``movieId,title,genres``; titles with commas are double-quoted)."""
    path = ensure_file(Path(path))
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != ["movieId", "title", "genres"]:
            raise DataError("unexpected header, expected 'movieId,title,genres'", path=path,
                            line=1, value=header)
        ids, titles, genres, lines = [], [], [], []
        line_no = reader.line_num
        for row in reader:
            start = line_no + 1  # a quoted title could span lines: report where the record starts
            line_no = reader.line_num
            if len(row) != 3:
                raise DataError(f"expected 3 comma-separated fields, found {len(row)}",
                                path=path, line=start, value=short(",".join(row)))
            try:
                ids.append(int(row[0]))
            except ValueError:
                raise DataError("not an integer", path=path, line=start, column="movieId",
                                value=row[0]) from None
            titles.append(row[1])
            genres.append(row[2])
            lines.append(start)
    if not ids:
        raise DataError("the file has no data rows", path=path)
    return _movies_frame(ids, titles, genres, path, first_line=lines)


def load_ml_csv(path: Path, *, rating_scale: tuple[float, float] = (0.5, 5.0),
                side_features: bool = True, duplicates: str = "error", name: str = "") -> Interactions:
    folder, ratings_path = _split_path(path, "ratings.csv")
    frame = read_ratings_csv(ratings_path)
    items = _optional(folder / "movies.csv", read_movies_csv) if side_features else None
    return Interactions.from_frame(
        frame, timestamp_col="timestamp", rating_scale=rating_scale, duplicates=duplicates,
        source=ratings_path, line_offset=2, name=name, item_features=items,
    )


# ---------------------------------------------------------------- shared helpers
def _movies_frame(ids, titles, genres, path: Path, first_line) -> pd.DataFrame:
    titles_s = pd.Series(titles, dtype=object)
    year = titles_s.str.extract(_YEAR, expand=False).astype("float32")
    genre_s = pd.Series(genres, dtype=object)
    dummies = genre_s.str.get_dummies(sep="|")
    dummies = dummies.drop(columns=[c for c in dummies.columns if c in (NO_GENRE, "")])
    dummies = dummies.add_prefix("genre_").astype(np.uint8)
    out = pd.concat([pd.DataFrame({"item": np.asarray(ids, dtype=np.int64), "title": titles_s,
                                   "year": year}), dummies], axis=1)
    return _index_unique(out, "item", path, first_line)


def _index_unique(frame: pd.DataFrame, key: str, path: Path, first_line) -> pd.DataFrame:
    """Index a side table by its id; a repeated id is an error (which row would win?)."""
    dup = frame[key].duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        line = first_line[row] if isinstance(first_line, list) else row + first_line
        raise DataError(f"duplicate {key} id", path=path, line=line, column=key,
                        value=frame[key].iloc[row])
    return frame.set_index(key)


def _optional(path: Path, reader):
    if not path.exists():
        warnings.warn(f"{path} not found: loading without these side features", stacklevel=3)
        return None
    return reader(path)
