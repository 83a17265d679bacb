"""Datasets layer: official formats, real data counts, bad input, registry, cache, download."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autorec import datasets
from autorec.data.features import FeatureTable
from autorec.data.interactions import Interactions
from autorec.datasets import (
    get_spec,
    list_datasets,
    load,
    load_ctr_table,
    load_ml100k,
    load_ml_csv,
    load_ml_dat,
    load_netflix,
    load_table,
    locate,
    read_ml100k_split,
    read_ml1m_users,
    read_movies_dat,
)
from autorec.datasets import store
from autorec.datasets.ctr import load_avazu, load_criteo
from autorec.errors import ConfigError, DataError, DatasetNotAvailable


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never read or write the real ~/.cache; tests opt into $AUTOREC_DATA_DIR explicitly."""
    monkeypatch.setenv("AUTOREC_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("AUTOREC_DATA_DIR", raising=False)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def raises_at(exc_info, path: Path, line: int | None, value: str | None = None) -> str:
    """The error names the file, the line and (when given) the offending value."""
    msg = str(exc_info.value)
    assert path.name in msg, msg
    if line is not None:
        assert exc_info.value.line == line, msg
        assert f"line {line}" in msg, msg
    if value is not None:
        assert value in msg or repr(value)[1:-1] in msg, msg  # values appear as repr()
    return msg


# --------------------------------------------------------------------------- registry
def test_registry_names_folders_and_hashes():
    names = [s.name for s in list_datasets()]
    for expected in ("ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-latest",
                     "ml-latest-small", "netflix", "criteo", "avazu", "criteo-sample",
                     "avazu-sample", "netflix-sample"):
        assert expected in names
    assert get_spec("ml-10m").folder == "ml-10M100K"
    assert get_spec("ML-100K").name == "ml-100k"  # case-insensitive
    for spec in list_datasets():
        assert spec.task in ("rating", "implicit", "ctr")
        assert spec.licence and spec.description and spec.size
        if spec.sha256 is not None:
            assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        assert spec.urls or spec.manual, spec.name  # always says how to get it
    only_shareable = [s.name for s in list_datasets() if s.redistributable]
    assert only_shareable == ["ml-latest-small"]


def test_unknown_name_lists_known_names_and_closest():
    with pytest.raises(ConfigError) as e:
        get_spec("ml100k")
    assert "'ml-100k'" in str(e.value) and "ml-latest-small" in str(e.value)
    with pytest.raises(ConfigError, match="did you mean 'criteo'"):
        load("critoe")
    with pytest.raises(ConfigError) as e:
        load("zzzzzz")
    assert "did you mean" not in str(e.value) and "Known datasets" in str(e.value)


# --------------------------------------------------------------------------- bundled default
def test_bundled_latest_small_loads_offline(monkeypatch):
    def no_network(*a, **k):
        raise AssertionError("must not download a bundled dataset")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    assert store.availability("ml-latest-small") == ["bundled"]
    data = load("ml-latest-small")
    assert isinstance(data, Interactions)
    assert (len(data), data.n_users, data.n_items) == (100_836, 610, 9_724)
    assert data.rating_scale == (0.5, 5.0)
    assert set(np.unique(data.ratings) * 2) <= set(range(1, 11))
    assert data.item_features is not None and "genre_Comedy" in data.item_features.columns
    toy = data.item_features.iloc[int(data.item_index([1])[0])]
    assert toy["title"] == "Toy Story (1995)" and toy["year"] == 1995
    assert toy["genre_Animation"] == 1 and toy["genre_Drama"] == 0
    bundled = store.BUNDLED_DIR / "ml-latest-small"
    assert sorted(p.name for p in bundled.iterdir()) == ["README.txt", "movies.csv", "ratings.csv"]
    assert "redistribute" in (bundled / "README.txt").read_text()


# --------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_ml100k_real(data_dir):
    data = load("ml-100k", data_path=data_dir / "ml-100k")
    assert (len(data), data.n_users, data.n_items) == (100_000, 943, 1_682)
    assert data.rating_scale == (1.0, 5.0)
    assert data.timestamps is not None and data.timestamps.min() > 8e8
    users, items = data.user_features, data.item_features
    assert list(users.columns) == ["age", "gender", "occupation", "zip"]
    u1 = users.iloc[int(data.user_index([1])[0])]
    assert (u1["age"], u1["gender"], u1["occupation"]) == (24, "M", "technician")
    genres = [c for c in items.columns if c.startswith("genre_")]
    assert len(genres) == 19
    toy = items.iloc[int(data.item_index([1])[0])]
    assert [g for g in genres if toy[g] == 1] == ["genre_Animation", "genre_Children's", "genre_Comedy"]
    # data_path may also be the folder that holds ml-100k/, or $AUTOREC_DATA_DIR
    assert len(load("ml-100k", data_path=data_dir)) == 100_000


@pytest.mark.realdata
def test_ml100k_predefined_splits(data_dir):
    base, test = read_ml100k_split(data_dir / "ml-100k", "u1")
    assert (len(base), len(test)) == (80_000, 20_000)
    assert list(base.columns) == ["user", "item", "rating", "timestamp"]
    base, test = read_ml100k_split(data_dir / "ml-100k", "ua")
    assert (len(base), len(test)) == (90_570, 9_430)
    assert (test.groupby("user").size() == 10).all()  # ua.test: 10 ratings per user
    with pytest.raises(ConfigError, match="u1"):
        read_ml100k_split(data_dir / "ml-100k", "u9")


@pytest.mark.realdata
def test_data_dir_resolution(data_dir, monkeypatch):
    monkeypatch.setenv("AUTOREC_DATA_DIR", str(data_dir))
    assert locate("ml-100k") == data_dir / "ml-100k"
    assert "$AUTOREC_DATA_DIR" in store.availability("netflix-sample")
    assert len(load("ml-100k")) == 100_000


@pytest.mark.realdata
def test_netflix_sample_real(data_dir):
    data = load("netflix-sample", data_path=data_dir / "netflix-sample")
    assert (len(data), data.n_users, data.n_items) == (10_000, 9_627, 8)
    assert data.rating_scale == (1.0, 5.0)
    first = data.to_frame().iloc[0]
    assert (first["user"], first["item"], first["rating"]) == (1488844, 1, 3.0)
    assert first["timestamp"] == pd.Timestamp("2005-09-06").value // 10**9


@pytest.mark.realdata
def test_ml1m_side_files_and_synthetic_ratings(data_dir, tmp_path):
    users = read_ml1m_users(data_dir / "ml-1m" / "users.dat")
    movies = read_movies_dat(data_dir / "ml-1m" / "movies.dat", encoding="latin-1")
    assert (len(users), len(movies)) == (6_040, 3_883)
    assert users.loc[1, "gender"] == "F" and users.loc[1, "age_group"] == "Under 18"
    assert users.loc[1, "occupation"] == "K-12 student"
    assert movies.loc[1, "title"] == "Toy Story (1995)"
    assert movies.loc[1, "genre_Children's"] == 1 and len([c for c in movies if c.startswith("genre_")]) == 18
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    for name in ("users.dat", "movies.dat"):
        (folder / name).symlink_to(data_dir / "ml-1m" / name)
    write(folder / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n"
                                  "2::1357::5::978298709\n6040::1::4::956703977\n")
    data = load("ml-1m", data_path=folder)
    assert (len(data), data.n_users, data.n_items, data.rating_scale) == (4, 3, 4, (1.0, 5.0))
    assert data.user_features.loc[int(data.user_index([6040])[0]), "gender"] == "M"
    assert data.item_features.loc[int(data.item_index([1193])[0]), "title"].startswith("One Flew")


@pytest.mark.realdata
def test_criteo_sample_real(data_dir):
    table = load("criteo-sample", data_path=data_dir / "criteo-sample")
    assert isinstance(table, FeatureTable)
    assert (len(table), table.n_positive) == (10_000, 2_182)
    assert table.dense == [f"I{i}" for i in range(1, 14)]
    assert table.categorical == [f"C{i}" for i in range(1, 27)]
    assert all(table.frame[c].dtype == np.float32 for c in table.dense)
    assert all(isinstance(table.frame[c].dtype, pd.CategoricalDtype) for c in table.categorical)
    assert table.frame["I2"].min() < 0  # Criteo's I2 holds -1..-3: must survive parsing
    assert table.frame["I12"].isna().any()  # empty integer fields are missing, not 0
    assert table.frame["C22"].isna().any()  # empty categorical fields too
    head = load("criteo-sample", data_path=data_dir / "criteo-sample", nrows=100)
    assert len(head) == 100
    assert head.frame["C1"].astype(str).tolist() == table.frame["C1"].astype(str).tolist()[:100]


@pytest.mark.realdata
def test_avazu_sample_real(data_dir):
    table = load("avazu-sample", data_path=data_dir / "avazu-sample")
    assert (len(table), table.n_positive) == (9_999, 1_706)
    assert "id" not in table.frame.columns and "hour" not in table.categorical
    assert table.dense == [] and table.categorical[:2] == ["hour_of_day", "weekday"]
    assert set(table.frame["hour_of_day"].astype(int)) == {0}  # every row is 14102100
    assert set(table.frame["weekday"].astype(int)) == {1}  # 2014-10-21 was a Tuesday
    assert set(table.timestamps) == {pd.Timestamp("2014-10-21").value // 10**9}


# --------------------------------------------------------------------------- official formats (synthetic)
def test_ml10m_format_synthetic(tmp_path):
    folder = tmp_path / "ml-10M100K"
    write(folder / "ratings.dat", "1::122::5::838985046\n1::185::4.5::838983525\n"
                                  "2::122::0.5::868245777\n")
    write(folder / "movies.dat", "122::Boomerang (1992)::Comedy|Romance\n"
                                 "185::Net, The: Special (1995)::Action|Crime|Thriller\n"
                                 "999::Amélie (2001)::(no genres listed)\n")
    data = load("ml-10m", data_path=folder)
    assert (len(data), data.n_users, data.n_items, data.rating_scale) == (3, 2, 2, (0.5, 5.0))
    assert sorted(data.ratings.tolist()) == [0.5, 4.5, 5.0]
    feats = data.item_features
    assert feats.loc[int(data.item_index([185])[0]), "title"] == "Net, The: Special (1995)"
    assert feats.loc[int(data.item_index([122])[0]), "genre_Romance"] == 1
    movies = read_movies_dat(folder / "movies.dat", encoding="utf-8")
    assert movies.loc[999, "title"] == "Amélie (2001)"
    assert movies.filter(like="genre_").loc[999].sum() == 0  # "(no genres listed)" = no genre


def test_ml20m_csv_format_and_quoted_titles(tmp_path):
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n"
                                    "1,29,3.5,1112484676\n7,2,0.5,1112484819\n")
    write(tmp_path / "movies.csv", 'movieId,title,genres\n2,"Jumanji, The (1995)",Adventure|Children\n'
                                   "29,City of Lost Children (1995),Adventure|Drama\n")
    data = load_ml_csv(tmp_path, name="x")
    assert (len(data), data.n_users, data.n_items) == (3, 2, 2)
    assert data.item_features.loc[int(data.item_index([2])[0]), "title"] == "Jumanji, The (1995)"


def test_ml100k_format_synthetic(tmp_path):
    write(tmp_path / "u.data", "1\t10\t5\t881250949\n2\t10\t1\t891717742\n")
    write(tmp_path / "u.user", "1|24|M|technician|85711\n2|53|F|other|T8H1N\n")
    flags = "|".join(["0"] * 18 + ["1"])
    write(tmp_path / "u.item", f"10|Héros (1996)|01-Jan-1996||http://x|{flags}\n", encoding="latin-1")
    data = load_ml100k(tmp_path)
    assert data.item_features.loc[0, "title"] == "Héros (1996)"  # latin-1 decoded
    assert data.item_features.loc[0, "genre_Western"] == 1
    assert data.user_features.loc[1, "zip"] == "T8H1N"


def test_side_files_missing_warns_not_silent(tmp_path):
    write(tmp_path / "u.data", "1\t10\t5\t881250949\n")
    with pytest.warns(UserWarning) as record:
        data = load_ml100k(tmp_path)
    assert data.user_features is None and data.item_features is None
    messages = " ".join(str(w.message) for w in record)
    assert "u.user not found" in messages and "u.item not found" in messages


def test_netflix_multiple_files_and_blocks(tmp_path):
    write(tmp_path / "combined_data_1.txt", "1:\n10,3,2005-09-06\n11,5,2004-01-31\n2:\n10,1,1999-12-31\n")
    write(tmp_path / "combined_data_2.txt", "3:\r\n12,4,2005-01-01\r\n")  # CRLF tolerated
    data = load_netflix(tmp_path)
    frame = data.to_frame()
    assert frame[["user", "item", "rating"]].values.tolist() == [
        [10, 1, 3.0], [11, 1, 5.0], [10, 2, 1.0], [12, 3, 4.0]]
    assert frame["timestamp"].tolist()[2] == pd.Timestamp("1999-12-31").value // 10**9


def test_netflix_blocks_split_across_read_chunks(tmp_path):
    from autorec.datasets.netflix import read_netflix_file

    lines = []
    for movie in range(1, 30):
        lines.append(f"{movie}:")
        lines += [f"{u},{(u + movie) % 5 + 1},2005-0{movie % 9 + 1}-1{u % 9}" for u in range(1, 40)]
    path = write(tmp_path / "combined_data_1.txt", "\n".join(lines) + "\n")
    small, lines_small = read_netflix_file(path, block_size=97)  # many blocks, cut mid-block
    whole, lines_whole = read_netflix_file(path)
    pd.testing.assert_frame_equal(small, whole)
    assert np.array_equal(lines_small, lines_whole)
    assert len(whole) == 29 * 39 and whole["item"].nunique() == 29


def test_generic_table_csv_tsv_parquet_frame(tmp_path):
    frame = pd.DataFrame({"uid": ["a", "b", "a"], "sku": [1, 1, 2], "stars": [4.0, 2.0, 5.0],
                          "when": ["2020-01-01", "2020-01-02T10:00:00", "2020-01-03"]})
    frame.to_csv(tmp_path / "r.csv", index=False)
    frame.to_csv(tmp_path / "r.tsv", index=False, sep="\t")
    frame.to_parquet(tmp_path / "r.parquet")
    for source in (tmp_path / "r.csv", tmp_path / "r.tsv", tmp_path / "r.parquet", frame):
        data = load_table(source, user="uid", item="sku", rating="stars", timestamp="when")
        assert (len(data), data.n_users, data.n_items) == (3, 2, 2)
        assert data.timestamps.tolist()[1] == pd.Timestamp("2020-01-02T10:00:00").value // 10**9
    implicit = load_table(tmp_path / "r.csv", user="uid", item="sku")
    assert implicit.implicit and implicit.ratings.tolist() == [1.0, 1.0, 1.0]
    # a path with recognisable column names needs no column arguments
    write(tmp_path / "plain.csv", "user_id,item_id,rating\n1,2,3\n2,2,4\n")
    assert len(load(str(tmp_path / "plain.csv"))) == 2
    with pytest.raises(ConfigError, match="separator"):
        load_table(write(tmp_path / "r.dat", "a b\n"), user="a", item="b")


def test_duplicate_policies(tmp_path):
    path = write(tmp_path / "u.data", "1\t1\t5\t100\n1\t2\t3\t100\n1\t1\t2\t50\n")
    with pytest.raises(DataError) as e:
        load_ml100k(path, side_features=False)
    msg = raises_at(e, path, 3)
    assert "first seen on line 1" in msg and "duplicates=" in msg
    last = load_ml100k(path, side_features=False, duplicates="last")
    assert sorted(last.ratings.tolist()) == [3.0, 5.0]  # the later timestamp (100) wins
    mean = load_ml100k(path, side_features=False, duplicates="mean")
    assert sorted(mean.ratings.tolist()) == [3.0, 3.5]
    # count: implicit feedback, how many times; one row per pair, its latest timestamp
    clicks = load_table(write(tmp_path / "c.csv", "u,i,t\n1,7,5\n2,7,6\n1,7,9\n1,8,1\n1,7,2\n"),
                        user="u", item="i", timestamp="t", duplicates="count")
    got = {(clicks.user_ids[u], clicks.item_ids[i]): (r, t) for u, i, r, t in
           zip(clicks.users, clicks.items, clicks.ratings, clicks.timestamps)}
    assert clicks.implicit and got == {(1, 7): (3.0, 9), (2, 7): (1.0, 6), (1, 8): (1.0, 1)}
    with pytest.raises(ConfigError, match="duplicates"):
        load_ml100k(path, side_features=False, duplicates="first")


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("line3, found", [("3\t4\t5", "found 3"), ("3\t4\t5\t6\t7", "found 5"),
                                           ("3\t4\t5\t881250949\t", "found 5")])
def test_wrong_field_count_tab(tmp_path, line3, found):
    path = write(tmp_path / "u.data", f"1\t2\t3\t881250949\n2\t2\t3\t881250949\n{line3}\n")
    with pytest.raises(DataError) as e:
        load_ml100k(path, side_features=False)
    msg = raises_at(e, path, 3, line3.rstrip("\t"))
    assert "expected 4 fields" in msg and found in msg


@pytest.mark.parametrize("bad", ["5::6::4", "5::6::4::1::2", "5:6::4::3", "5::6:::4:3"])
def test_wrong_field_count_double_colon(tmp_path, bad):
    path = write(tmp_path / "ratings.dat", f"1::2::3::978300760\n{bad}\n")
    with pytest.raises(DataError) as e:
        load_ml_dat(path, integer_ratings=True, rating_scale=(1, 5), movies_encoding="latin-1",
                    side_features=False)
    raises_at(e, path, 2)


def test_misplaced_separator_double_colon(tmp_path):
    # six colons as expected, but paired wrongly: a field swallowed a ':'
    path = write(tmp_path / "ratings.dat", "1::2::3::978300760\n1:::2::3:978300760\n")
    with pytest.raises(DataError, match="misplaced separator") as e:
        load_ml_dat(path, integer_ratings=True, rating_scale=(1, 5), movies_encoding="latin-1",
                    side_features=False)
    raises_at(e, path, 2, "1:::2::3:978300760")


@pytest.mark.parametrize("text, line, column, value", [
    ("1\t2\t3\t881250949\nx7\t2\t3\t881250949\n", 2, "user", "x7"),
    ("1\t2\t3\t881250949\n1\t2.5\t3\t881250949\n", 2, "item", "2.5"),
    ("1\t2\t3\t881250949\n1\t3\tfour\t881250949\n", 2, "rating", "four"),
    ("1\t2\t3\t881250949\n1\t3\t3.5\t881250949\n", 2, "rating", "3.5"),  # 100K: integers
    ("1\t2\t3\t881250949\n1\t3\t\t881250949\n", 2, "rating", None),
    ("1\t2\t3\t881250949\n1\t3\t4\tyesterday\n", 2, "timestamp", "yesterday"),
])
def test_non_numeric_fields(tmp_path, text, line, column, value):
    path = write(tmp_path / "u.data", text)
    with pytest.raises(DataError) as e:
        load_ml100k(path, side_features=False)
    raises_at(e, path, line, value)
    assert e.value.column == column


@pytest.mark.parametrize("rating", ["6", "0", "nan", "inf", "-inf"])
def test_rating_outside_scale_or_not_finite(tmp_path, rating):
    path = write(tmp_path / "ratings.csv",
                 f"userId,movieId,rating,timestamp\n1,2,3.5,1\n1,3,{rating},2\n")
    with pytest.raises(DataError) as e:
        load_ml_csv(path, side_features=False)
    raises_at(e, path, 3, rating)  # header is line 1
    assert e.value.column == "rating"


def test_half_star_outside_scale(tmp_path):
    path = write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,2,0.25,1\n")
    with pytest.raises(DataError, match=r"scale \[0.5, 5\]") as e:
        load_ml_csv(path, side_features=False)
    raises_at(e, path, 2, "0.25")


def test_wrong_header_and_empty_files(tmp_path):
    path = write(tmp_path / "ratings.csv", "user,movie,rating,timestamp\n1,2,3,4\n")
    with pytest.raises(DataError, match="unexpected header") as e:
        load_ml_csv(path)
    raises_at(e, path, 1, "user,movie")
    empty = write(tmp_path / "u.data", "")
    with pytest.raises(DataError, match="empty") as e:
        load_ml100k(empty)
    raises_at(e, empty, None)
    header_only = write(tmp_path / "h" / "ratings.csv", "userId,movieId,rating,timestamp\n")
    with pytest.raises(DataError, match="no data rows"):
        load_ml_csv(header_only)
    with pytest.raises(DataError, match="has a header but no data rows"):
        load_table(write(tmp_path / "e.csv", "u,i\n"), user="u", item="i")


def test_blank_lines(tmp_path):
    inside = write(tmp_path / "a" / "u.data", "1\t2\t3\t4\n\n2\t2\t3\t4\n")
    with pytest.raises(DataError, match="blank line") as e:
        load_ml100k(inside, side_features=False)
    raises_at(e, inside, 2)
    trailing = write(tmp_path / "b" / "u.data", "1\t2\t3\t4\n2\t2\t3\t4\n\n\n")
    assert len(load_ml100k(trailing, side_features=False)) == 2  # an editor artefact, not data
    inside_csv = write(tmp_path / "c.csv", "u,i\n1,2\n\n3,4\n")
    with pytest.raises(DataError) as e:
        load_table(inside_csv, user="u", item="i")
    raises_at(e, inside_csv, 3)
    assert len(load_table(write(tmp_path / "d.csv", "u,i\n1,2\n3,4\n\n"), user="u", item="i")) == 2


def test_generic_field_count_and_values(tmp_path):
    few = write(tmp_path / "few.csv", 'u,i,r\n1,"a,b",3\n2,3\n')
    with pytest.raises(DataError) as e:
        load_table(few, user="u", item="i", rating="r")
    assert "expected 3 fields" in raises_at(e, few, 3, "2,3")
    many = write(tmp_path / "many.csv", "u,i,r\n1,2,3\n2,3,4,5\n")
    with pytest.raises(DataError) as e:
        load_table(many, user="u", item="i", rating="r")
    raises_at(e, many, 3, "2,3,4,5")
    # the bad value sits after pyarrow's first block, where the column type was already inferred
    late = write(tmp_path / "late.csv", "u,i,r\n" + "".join(f"{k},{k},3\n" for k in range(200_000))
                 + "9,9,x\n")
    with pytest.raises(DataError) as e:
        load_table(late, user="u", item="i", rating="r")
    raises_at(e, late, 200_002, "x")
    missing = write(tmp_path / "m.csv", "u,i\n1,2\n")
    with pytest.raises(DataError, match="missing column") as e:
        load_table(missing, user="u", item="item")
    assert "m.csv" in str(e.value) and "'item'" in str(e.value)
    ts = write(tmp_path / "ts.csv", "u,i,t\n1,2,2020-01-01\n1,3,someday\n")
    with pytest.raises(DataError) as e:
        load_table(ts, user="u", item="i", timestamp="t")
    raises_at(e, ts, 3, "someday")


@pytest.mark.parametrize("text, line, value, needle", [
    ("10,3,2005-09-06\n1:\n", 1, "10,3,2005-09-06", "before any 'MovieID:'"),
    ("1:\n10,3,2005-09-06\nx2:\n", 3, "x2:", "MovieID"),
    ("1:\n10,3,2005-09-06\n2:\n11,3\n", 4, "11,3", "expected 3 fields"),
    ("1:\n10,3,2005-09-06\n2:\n11,3,2005-01-01,7\n", 4, "11,3,2005-01-01,7", "expected 3 fields"),
    ("1:\n10,3,2005-09-06\n2:\n11,3,2005/01/01\n", 4, "11,3,2005/01/01", "YYYY-MM-DD"),
    ("1:\n10,3,2005-09-06\n2:\n11,3,2005-02-30\n", 4, "2005-02-30", "not a valid date"),
    ("1:\n10,3,2005-09-06\n2:\n1x,3,2005-02-03\n", 4, "1x", "not an integer"),
    ("1:\n10,3,2005-09-06\n2:\n3:\n11,9,2005-02-03\n", 5, "9", "outside the scale"),
    ("1:\n10,3,2005-09-06\n\n2:\n11,4,2005-02-03\n", 3, None, "blank line"),
])
def test_netflix_bad_input_line_numbers(tmp_path, text, line, value, needle):
    path = write(tmp_path / "combined_data_1.txt", text)
    with pytest.raises(DataError) as e:
        load_netflix(path)
    msg = raises_at(e, path, line, value)
    assert needle in msg


def test_netflix_duplicate_maps_rows_to_physical_lines(tmp_path):
    path = write(tmp_path / "combined_data_1.txt",
                 "1:\n10,3,2005-09-06\n2:\n10,3,2005-09-06\n1:\n10,4,2005-09-07\n")
    with pytest.raises(DataError) as e:
        load_netflix(path)
    msg = raises_at(e, path, 6)
    assert "first seen on line 2" in msg


def test_criteo_bad_input(tmp_path):
    good = "\t".join(["1"] + ["5"] * 13 + ["68fd1e64"] * 26)
    last_empty = "\t".join(["0"] + ["1"] * 13 + ["ab"] * 25 + [""])  # 40 fields, C26 missing
    short = "\t".join(["0"] + ["1"] * 13 + ["ab"] * 25)  # 39 fields: one is missing
    path = write(tmp_path / "train.txt", f"{good}\n{last_empty}\n")
    table = load_criteo(path)
    assert len(table) == 2 and pd.isna(table.frame["C26"].iloc[1])
    path = write(tmp_path / "train.txt", f"{good}\n{last_empty}\n{short}\n")
    with pytest.raises(DataError, match="expected 40 fields") as e:
        load_criteo(path)
    raises_at(e, path, 3)
    path = write(tmp_path / "train.txt", f"{good}\n2" + good[1:] + "\n")
    with pytest.raises(DataError, match="label must be 0 or 1") as e:
        load_criteo(path)
    raises_at(e, path, 2)
    path = write(tmp_path / "train.txt", good + "\n" + good.replace("\t5\t", "\tfive\t", 1) + "\n")
    with pytest.raises(DataError, match="not a number") as e:
        load_criteo(path)
    raises_at(e, path, 2, "five")
    assert e.value.column == "I1"


def test_avazu_bad_input(tmp_path):
    from autorec.datasets.ctr import AVAZU_HEADER

    row = "1000,0,14102100," + ",".join(["x"] * 21)
    path = write(tmp_path / "train.csv", ",".join(AVAZU_HEADER) + "\r\n" + row + "\r\n"
                 + row.replace("14102100", "14133100") + "\r\n")
    with pytest.raises(DataError, match="YYMMDDHH") as e:
        load_avazu(path)
    raises_at(e, path, 3, "14133100")
    path = write(tmp_path / "train.csv", ",".join(AVAZU_HEADER) + "\n" + row + ",extra\n")
    with pytest.raises(DataError, match="expected 24 fields") as e:
        load_avazu(path)
    raises_at(e, path, 2)
    path = write(tmp_path / "train.csv", ",".join(AVAZU_HEADER[::-1]) + "\n" + row + "\n")
    with pytest.raises(DataError, match="unexpected header") as e:
        load_avazu(path)
    raises_at(e, path, 1)


def test_ctr_table_generic(tmp_path):
    path = write(tmp_path / "ctr.csv", "y,price,site\n1,1.5,a\n0,,\n1,3,b\n")
    table = load_ctr_table(path, label="y", dense=["price"], categorical=["site"])
    assert (len(table), table.n_positive) == (3, 2)
    assert np.isnan(table.frame["price"].iloc[1]) and pd.isna(table.frame["site"].iloc[1])
    bad = write(tmp_path / "bad.csv", "y,price\n1,1.5\n0.5,2\n")
    with pytest.raises(DataError, match="label must be 0 or 1") as e:
        load_ctr_table(bad, label="y", dense=["price"])
    raises_at(e, bad, 3, "0.5")
    bad = write(tmp_path / "bad2.csv", "y,price\n1,1.5\n0,cheap\n")
    with pytest.raises(DataError) as e:
        load_ctr_table(bad, label="y", dense=["price"])
    raises_at(e, bad, 3, "cheap")
    assert isinstance(load(str(path), label="y", dense=["price"], categorical=["site"]), FeatureTable)


def test_unknown_loader_option_and_missing_path(tmp_path):
    write(tmp_path / "u.data", "1\t2\t3\t4\n")
    with pytest.raises(ConfigError, match="unknown option"):
        load("ml-100k", data_path=tmp_path, nrows=5)
    with pytest.raises(DataError, match="no such file"):
        load(str(tmp_path / "nope.csv"))


# --------------------------------------------------------------------------- locate / cache
def _latest_small_folder(root: Path, n_ratings: int) -> Path:
    folder = root / "ml-latest-small"
    rows = "".join(f"{u},1,4.0,{u}\n" for u in range(1, n_ratings + 1))
    write(folder / "ratings.csv", "userId,movieId,rating,timestamp\n" + rows)
    return folder


@pytest.mark.filterwarnings("ignore:.*loading without these side features")
def test_locate_resolution_order(tmp_path, monkeypatch):
    cache, data = tmp_path / "cache", tmp_path / "data"
    monkeypatch.setenv("AUTOREC_CACHE", str(cache))
    monkeypatch.setenv("AUTOREC_DATA_DIR", str(data))
    bundled = store.BUNDLED_DIR / "ml-latest-small"
    assert locate("ml-latest-small") == bundled
    _latest_small_folder(data, 2)
    assert locate("ml-latest-small") == data / "ml-latest-small"
    _latest_small_folder(cache, 3)
    assert locate("ml-latest-small") == cache / "ml-latest-small"
    assert store.is_cached("ml-latest-small")
    explicit = _latest_small_folder(tmp_path / "mine", 4)
    assert locate("ml-latest-small", data_path=explicit) == explicit
    assert len(load("ml-latest-small", data_path=explicit)) == 4
    assert len(load("ml-latest-small")) == 3
    assert store.availability("ml-latest-small") == ["cached", "$AUTOREC_DATA_DIR", "bundled"]
    with pytest.raises(DatasetNotAvailable, match="does not exist"):
        locate("ml-latest-small", data_path=tmp_path / "nowhere")
    with pytest.raises(DatasetNotAvailable, match="holds none of ratings.csv"):
        locate("ml-latest-small", data_path=tmp_path)


def test_cache_dir_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOREC_CACHE", str(tmp_path / "c"))
    assert store.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("AUTOREC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.cache_dir() == tmp_path / "xdg" / "autorec"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert store.cache_dir() == Path.home() / ".cache" / "autorec"


def test_not_available_without_network_says_what_to_do(monkeypatch, tmp_path):
    def offline(*a, **k):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(DatasetNotAvailable) as e:
        load("ml-1m")
    msg = str(e.value)
    assert "https://files.grouplens.org/datasets/movielens/ml-1m.zip" in msg
    assert "--data-path PATH" in msg and "$AUTOREC_CACHE/ml-1m" in msg
    assert "Name or service not known" in msg
    assert [p.name for p in store.cache_dir().iterdir()] == []  # no temp file left
    with pytest.raises(DatasetNotAvailable, match="kaggle.com"):
        load("netflix")  # no direct download: manual instructions
    with pytest.raises(DatasetNotAvailable, match="download disabled"):
        locate("ml-20m", download=False)


# --------------------------------------------------------------------------- download
def _zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def test_download_hash_mismatch_leaves_nothing(tmp_path):
    archive = tmp_path / "ml-100k.zip"
    archive.write_bytes(_zip_bytes({"ml-100k/u.data": "1\t2\t3\t4\n"}))
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="sha256 mismatch"):
        store.fetch("ml-100k", cache=cache, url=archive.as_uri())
    assert list(cache.iterdir()) == []


@pytest.mark.filterwarnings("ignore:.*loading without these side features")
def test_download_verified_and_atomically_in_place(tmp_path, monkeypatch):
    payload = _zip_bytes({"ml-100k/u.data": "1\t2\t3\t881250949\n2\t2\t4\t881250949\n",
                          "ml-100k/README": "x"})
    archive = tmp_path / "ml-100k.zip"
    archive.write_bytes(payload)
    spec = dataclasses.replace(get_spec("ml-100k"), sha256=hashlib.sha256(payload).hexdigest(),
                               urls=(archive.as_uri(),))
    monkeypatch.setitem(datasets.REGISTRY, "ml-100k", spec)
    seen = []
    target = store.fetch("ml-100k", progress=lambda done, total: seen.append(done))
    assert target == store.cache_dir() / "ml-100k"
    assert sorted(p.name for p in target.iterdir()) == ["README", "u.data"]
    assert [p.name for p in store.cache_dir().iterdir()] == ["ml-100k"]  # no temp leftovers
    assert seen and seen[-1] == len(payload)
    assert store.is_cached("ml-100k")
    data = load("ml-100k")  # now resolved from the cache
    assert (len(data), data.n_users) == (2, 2)


def test_download_without_known_hash_is_checked_by_structure(tmp_path):
    cache = tmp_path / "cache"
    wrong = tmp_path / "wrong.zip"
    wrong.write_bytes(_zip_bytes({"other/readme.txt": "nothing useful"}))
    with pytest.raises(DataError, match="does not contain ratings.dat"):
        store.fetch("ml-10m", cache=cache, url=wrong.as_uri())
    assert list(cache.iterdir()) == []
    not_archive = tmp_path / "page.html"
    not_archive.write_text("<html>login</html>")
    with pytest.raises(DataError, match="neither a zip nor a tar"):
        store.fetch("ml-10m", cache=cache, url=not_archive.as_uri())
    assert list(cache.iterdir()) == []
    good = tmp_path / "ml-10m.zip"
    good.write_bytes(_zip_bytes({"ml-10M100K/ratings.dat": "1::122::5::838985046\n"}))
    target = store.fetch("ml-10m", cache=cache, url=good.as_uri())
    assert target == cache / "ml-10M100K" and (target / "ratings.dat").exists()


def test_download_tar_archive_with_files_at_top(tmp_path):
    line = "\t".join(["1"] + ["5"] * 13 + ["68fd1e64"] * 26)
    archive = tmp_path / "criteo.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, text in (("train.txt", line + "\n"), ("readme.txt", "x")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    cache = tmp_path / "cache"
    target = store.fetch("criteo", cache=cache, url=archive.as_uri())
    assert target == cache / "criteo"
    assert sorted(p.name for p in cache.iterdir()) == ["criteo"]
    assert len(load_criteo(target)) == 1


def test_download_refuses_partial_existing_folder(tmp_path):
    cache = tmp_path / "cache"
    (cache / "ml-10M100K").mkdir(parents=True)
    with pytest.raises(DatasetNotAvailable, match="remove it"):
        store.fetch("ml-10m", cache=cache, url="file:///nonexistent.zip")


@pytest.mark.slow
def test_large_file_speed(tmp_path):
    """1M ratings in the ML-1M format parse well under a few seconds (vectorised path)."""
    import time

    rng = np.random.default_rng(0)
    n = 1_000_000
    frame = pd.DataFrame({"u": rng.integers(1, 6041, n), "i": np.arange(n) % 3952 + 1,
                          "r": rng.integers(1, 6, n), "t": rng.integers(9e8, 1e9, n)})
    frame = frame.drop_duplicates(["u", "i"])
    path = tmp_path / "ratings.dat"
    frame.to_csv(path, sep=":", header=False, index=False)  # single colons ...
    path.write_bytes(path.read_bytes().replace(b":", b"::"))  # ... made official
    start = time.perf_counter()
    data = load_ml_dat(path, integer_ratings=True, rating_scale=(1, 5), movies_encoding="latin-1",
                       side_features=False)
    elapsed = time.perf_counter() - start
    assert len(data) == len(frame)
    assert elapsed < 20, elapsed  # generous for 2 shared cores; ~1-2 s unloaded
