"""Split protocols: property tests on random small data, error paths, and ML-100K checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autorec.data.interactions import Interactions
from autorec.datasets import read_ml100k_ratings
from autorec.errors import ConfigError, DataError
from autorec.splits import (
    ML100K_SPLITS,
    Split,
    kfold,
    leave_one_out,
    list_splits,
    make_split,
    predefined,
    random_holdout,
    repeated_holdout,
    split_rows,
    temporal_global,
    temporal_last_n,
    user_holdout,
)

PROPS = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------- data
@st.composite
def interactions(draw, min_rows: int = 1, max_rows: int = 120, timestamps: bool = True):
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(max(1, -(-min_rows // n_users)), 15))
    cells = n_users * n_items
    # one boolean per (user, item) cell: about half the cells rated, so sizes spread widely
    mask = draw(st.lists(st.booleans(), min_size=cells, max_size=cells))
    for c in range(cells):  # top up to min_rows deterministically
        if sum(mask) >= min_rows:
            break
        mask[c] = True
    pairs = [divmod(c, n_items) for c in range(cells) if mask[c]][:max_rows]
    n = len(pairs)
    frame = pd.DataFrame({
        # original ids that are not the indices, of mixed kinds, so index/id mix-ups show
        "user": [100 + 3 * u for u, _ in pairs],
        "item": [f"i{i:02d}" for _, i in pairs],
        "rating": draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
    })
    if timestamps:
        # few distinct values: plenty of ties to exercise the tie rules
        frame["timestamp"] = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    return Interactions.from_frame(frame, timestamp_col="timestamp" if timestamps else None,
                                   name="synthetic")


def fixed_data(n_users: int = 30, n_items: int = 40, density: float = 0.3, seed: int = 7,
               timestamps: bool = True) -> Interactions:
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    u, i = np.nonzero(mask)
    frame = pd.DataFrame({"user": u + 1, "item": i + 1,
                          "rating": rng.integers(1, 6, len(u))})
    if timestamps:
        frame["timestamp"] = rng.integers(0, 1000, len(u))
    return Interactions.from_frame(frame, timestamp_col="timestamp" if timestamps else None,
                                   name="fixed")


def keys(data: Interactions, part: Interactions | None = None) -> np.ndarray:
    p = data if part is None else part
    return np.sort(p.users * np.int64(data.n_items) + p.items)


def check_partition(data: Interactions, split: Split) -> None:
    """Parts are disjoint, cover every rating, agree with their indices, share the id space."""
    idx = [split.train_index, split.test_index]
    if split.validation is not None:
        idx.append(split.validation_index)
    folds = [(p, getattr(split, f"{name}_index")) for name, p in split.fold_in_parts()]  # strong generalisation
    idx += [i for _, i in folds]
    allidx = np.concatenate(idx)
    assert np.array_equal(np.sort(allidx), np.arange(len(data)))  # each row exactly once
    got = np.sort(np.concatenate([keys(data, p) for _, p in [*split.parts(), *split.fold_in_parts()]]))
    assert np.array_equal(got, keys(data))
    for (_, part), index in [*zip(split.parts(), [split.train_index]
                                  + ([split.validation_index] if split.validation else [])
                                  + [split.test_index]), *(((None, p), i) for p, i in folds)]:
        assert np.all(np.diff(index) > 0)
        assert np.array_equal(part.users, data.users[index])
        assert np.array_equal(part.items, data.items[index])
        assert np.array_equal(part.ratings, data.ratings[index])
        assert part.user_ids is data.user_ids and part.item_ids is data.item_ids


def half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def same_split(a: Split, b: Split) -> bool:
    va = a.validation_index if a.validation_index is not None else np.zeros(0)
    vb = b.validation_index if b.validation_index is not None else np.zeros(0)
    return (np.array_equal(a.train_index, b.train_index)
            and np.array_equal(a.test_index, b.test_index) and np.array_equal(va, vb))


fractions = st.sampled_from([0.1, 0.2, 0.25, 1 / 3, 0.5])
val_fractions = st.sampled_from([0.0, 0.1, 0.2, 1 / 9, 0.5])
seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------- random holdout
@PROPS
@given(interactions(), fractions, val_fractions, seeds)
def test_random_holdout_partitions_with_requested_sizes(data, test, validation, seed):
    n = len(data)
    n_test = half_up(test * n)
    n_val = half_up(validation * (n - n_test))
    if n_test == 0 or n - n_test - n_val == 0 or (validation > 0 and n_val == 0):
        with pytest.raises(DataError, match="empty"):
            random_holdout(data, test=test, validation=validation, seed=seed)
        return
    s = random_holdout(data, test=test, validation=validation, seed=seed)
    check_partition(data, s)
    assert len(s.test) == n_test
    assert (s.validation is None) == (validation == 0)
    assert (0 if s.validation is None else len(s.validation)) == n_val
    assert same_split(s, random_holdout(data, test=test, validation=validation, seed=seed))


def test_random_holdout_seeds_give_different_splits():
    data = fixed_data()
    tests = {tuple(random_holdout(data, seed=s).test_index) for s in range(10)}
    assert len(tests) == 10
    a, b = random_holdout(data, seed=3), random_holdout(data, seed=3)
    assert same_split(a, b)


def test_repeated_holdout_one_split_per_seed():
    data = fixed_data()
    splits = repeated_holdout(data, seeds=(4, 5, 6), test=0.2, validation=0.0)
    assert [s.seed for s in splits] == [4, 5, 6]
    for s, seed in zip(splits, (4, 5, 6)):
        assert same_split(s, random_holdout(data, test=0.2, validation=0.0, seed=seed))
    with pytest.raises(ConfigError, match="repeat"):
        repeated_holdout(data, seeds=(1, 1))


@pytest.mark.parametrize("kwargs, msg", [
    ({"test": 0.0}, "test must be a fraction"),
    ({"test": 1.0}, "test must be a fraction"),
    ({"validation": -0.1}, "validation must be a fraction"),
    ({"test": "0.1"}, "test must be a number"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"seed": 1.5}, "seed must be a non-negative integer"),
])
def test_random_holdout_rejects_bad_arguments(kwargs, msg):
    with pytest.raises(ConfigError, match=msg):
        random_holdout(fixed_data(), **kwargs)


# ---------------------------------------------------------------------------- k-fold
@PROPS
@given(interactions(min_rows=6), st.integers(2, 6), st.sampled_from([0.0, 0.2]), seeds)
def test_kfold_each_rating_in_exactly_one_test_fold(data, k, validation, seed):
    n = len(data)
    if k > n:
        with pytest.raises(ConfigError, match="folds need"):
            kfold(data, k=k, seed=seed)
        return
    try:
        splits = kfold(data, k=k, seed=seed, validation=validation)
    except DataError as exc:  # a training part too small to carve a validation part from
        assert validation > 0 and "validation" in str(exc)
        return
    assert len(splits) == k
    counts = np.zeros(n, dtype=int)
    for f, s in enumerate(splits):
        check_partition(data, s)
        counts[s.test_index] += 1
        assert s.name == f"kfold-{k}:{f}"
        if validation:
            assert len(s.validation) == half_up(validation * (n - len(s.test)))
    assert np.all(counts == 1)
    sizes = [len(s.test) for s in splits]
    assert max(sizes) - min(sizes) <= 1
    again = kfold(data, k=k, seed=seed, validation=validation)
    assert all(same_split(a, b) for a, b in zip(splits, again))


# ---------------------------------------------------------------------------- per user
@PROPS
@given(interactions(), fractions, st.sampled_from([0.0, 0.25]), st.integers(0, 2), seeds)
def test_user_holdout_splits_each_user(data, test, validation, min_train, seed):
    try:
        s = user_holdout(data, test=test, validation=validation, seed=seed,
                         min_train=min_train)
    except DataError:
        # only legitimate when some requested part comes out empty for every user
        c = data.user_counts()
        t = np.minimum(np.floor(test * c + 0.5), np.maximum(c - min_train, 0))
        v = np.minimum(np.floor(validation * (c - t) + 0.5),
                       np.maximum(c - t - min_train, 0))
        assert t.sum() == 0 or (c - t - v).sum() == 0 or (validation > 0 and v.sum() == 0)
        return
    check_partition(data, s)
    c = data.user_counts()
    tu = np.bincount(s.test.users, minlength=data.n_users)
    vu = np.bincount(s.validation.users, minlength=data.n_users) if s.validation else 0 * c
    ru = np.bincount(s.train.users, minlength=data.n_users)
    expect_t = np.minimum(np.floor(test * c + 0.5), np.maximum(c - min_train, 0))
    expect_v = np.minimum(np.floor(validation * (c - expect_t) + 0.5),
                          np.maximum(c - expect_t - min_train, 0))
    assert np.array_equal(tu, expect_t)
    assert np.array_equal(vu, expect_v)
    assert np.all(ru >= np.minimum(c, min_train))
    assert same_split(s, user_holdout(data, test=test, validation=validation, seed=seed,
                                      min_train=min_train))


def test_user_holdout_seeds_differ_and_users_keep_training_ratings():
    data = fixed_data()
    a, b = user_holdout(data, seed=0), user_holdout(data, seed=1)
    assert not same_split(a, b)
    assert a.summary()["test"]["cold_users"] == 0


# ---------------------------------------------------------------------------- temporal
@PROPS
@given(interactions(min_rows=3), fractions, st.sampled_from([0.0, 0.1, 0.25]))
def test_temporal_global_cuts_by_time(data, test, validation):
    n = len(data)
    n_test, n_val = half_up(test * n), half_up(validation * n)
    try:
        s = temporal_global(data, test=test, validation=validation)
    except (DataError, ConfigError):
        assert n_test == 0 or n_test + n_val >= n or (validation > 0 and n_val == 0)
        return
    check_partition(data, s)
    assert len(s.test) == n_test and (len(s.validation) if s.validation else 0) == n_val
    order = {"train": [], "validation": [], "test": []}
    for name, part in s.parts():
        order[name] = list(zip(part.timestamps.tolist(), part.users.tolist(),
                               part.items.tolist()))
    assert max(order["train"]) < min(order["test"])  # ties broken by (user, item)
    if s.validation is not None:
        assert max(order["train"]) < min(order["validation"])
        assert max(order["validation"]) < min(order["test"])
    assert s.train.timestamps.max() <= s.test.timestamps.min()


@PROPS
@given(interactions(min_rows=2), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2))
def test_temporal_last_n_holds_out_each_users_latest(data, n, validation_n, min_train):
    try:
        s = temporal_last_n(data, n=n, validation_n=validation_n, min_train=min_train)
    except DataError:
        c = data.user_counts()
        has_t = c >= n + min_train
        has_v = has_t & (c >= n + validation_n + min_train)
        assert not has_t.any() or (validation_n > 0 and not has_v.any())
        return
    check_partition(data, s)
    c = data.user_counts()
    for u in range(data.n_users):
        t = s.test.users == u
        has_t = c[u] >= n + min_train
        has_v = has_t and validation_n > 0 and c[u] >= n + validation_n + min_train
        assert t.sum() == (n if has_t else 0)
        v = s.validation.users == u if s.validation is not None else np.zeros(0, bool)
        assert v.sum() == (validation_n if has_v else 0)
        r = s.train.users == u
        key = lambda part, m: list(zip(part.timestamps[m].tolist(), part.items[m].tolist()))  # noqa: E731
        if t.any():
            assert max(key(s.train, r)) < min(key(s.test, t))
        if v.any():
            assert max(key(s.train, r)) < min(key(s.validation, v))
            assert max(key(s.validation, v)) < min(key(s.test, t))


def test_temporal_protocols_need_timestamps():
    data = fixed_data(timestamps=False)
    for fn in (temporal_global, temporal_last_n):
        with pytest.raises(ConfigError, match="needs timestamps"):
            fn(data)
    with pytest.raises(ConfigError, match="needs timestamps"):
        make_split(data, "temporal-90-10")


# ---------------------------------------------------------------------------- leave one out
@PROPS
@given(interactions(min_rows=2), seeds, st.booleans(), st.booleans())
def test_leave_one_out_one_item_per_user(data, seed, by_time, validation):
    try:
        s = leave_one_out(data, seed=seed, by_time=by_time, validation=validation)
    except DataError:
        c = data.user_counts()
        assert not (c >= 2).any() or (validation and not (c >= 3).any())
        return
    check_partition(data, s)
    c = data.user_counts()
    assert np.array_equal(np.bincount(s.test.users, minlength=data.n_users),
                          (c >= 2).astype(int))
    if validation:
        assert np.array_equal(np.bincount(s.validation.users, minlength=data.n_users),
                              (c >= 3).astype(int))
    else:
        assert s.validation is None
    if by_time:
        for row in range(len(s.test)):
            u = s.test.users[row]
            mine = data.users == u
            latest = max(zip(data.timestamps[mine].tolist(), data.items[mine].tolist()))
            assert (s.test.timestamps[row], s.test.items[row]) == latest
    assert same_split(s, leave_one_out(data, seed=seed, by_time=by_time,
                                       validation=validation))


def test_leave_one_out_random_without_timestamps_depends_on_seed():
    data = fixed_data(timestamps=False)
    a = leave_one_out(data, seed=0)
    assert "no timestamps" in a.name and a.seed == 0
    assert not same_split(a, leave_one_out(data, seed=1))
    timed = leave_one_out(fixed_data(), seed=0)
    assert timed.seed is None and same_split(timed, leave_one_out(fixed_data(), seed=5))


# ---------------------------------------------------------------------------- summary
@PROPS
@given(interactions(min_rows=10), seeds)
def test_summary_counts_cold_users_and_items(data, seed):
    s = random_holdout(data, test=0.3, validation=0.2, seed=seed)
    summ = s.summary()
    train_users, train_items = set(s.train.users.tolist()), set(s.train.items.tolist())
    for name, part in s.parts():
        info = summ[name]
        assert info["ratings"] == len(part)
        assert info["users"] == len(set(part.users.tolist()))
        assert info["items"] == len(set(part.items.tolist()))
        if name == "train":
            continue
        cu = {u for u in part.users.tolist() if u not in train_users}
        ci = {i for i in part.items.tolist() if i not in train_items}
        cold = sum(1 for u, i in zip(part.users.tolist(), part.items.tolist())
                   if u in cu or i in ci)
        assert info["cold_users"] == len(cu) and info["cold_items"] == len(ci)
        assert info["cold_ratings"] == cold
        assert info["cold_users_fraction"] == pytest.approx(len(cu) / info["users"])
        assert info["cold_ratings_fraction"] == pytest.approx(cold / len(part))
    assert summ["n_ratings"] == len(data)
    line = s.describe()
    assert "\n" not in line and f"test {len(s.test):,} ratings" in line


def test_split_rejects_parts_from_different_data():
    a, b = fixed_data(seed=1), fixed_data(n_users=5, seed=2)
    with pytest.raises(ConfigError, match="different id space"):
        Split(train=a, validation=None, test=b, name="bad")


def test_train_and_validation_is_the_base_part():
    data = fixed_data()
    s = random_holdout(data, seed=0)
    both = s.train_and_validation()
    assert len(both) == len(s.train) + len(s.validation)
    assert np.array_equal(np.sort(keys(data, both)),
                          np.sort(np.concatenate([keys(data, s.train),
                                                  keys(data, s.validation)])))


# ---------------------------------------------------------------------------- row splits
@PROPS
@given(st.integers(1, 500), fractions, val_fractions, seeds)
def test_split_rows_partitions_rows(n, test, validation, seed):
    tr, va, te = split_rows(n, test=test, validation=validation, seed=seed)
    for part in (tr, va, te):
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)
    assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(n))
    n_test = half_up(test * n)
    assert len(te) == n_test and len(va) == half_up(validation * (n - n_test))
    again = split_rows(n, test=test, validation=validation, seed=seed)
    assert all(np.array_equal(x, y) for x, y in zip((tr, va, te), again))


def test_split_rows_seed_matters():
    a = split_rows(1000, seed=0)[2]
    b = split_rows(1000, seed=1)[2]
    assert len(a) == len(b) == 100 and not np.array_equal(a, b)


# ---------------------------------------------------------------------------- predefined
@PROPS
@given(interactions(min_rows=4), seeds, st.sampled_from([0.0, 0.25]))
def test_predefined_reproduces_given_partition(data, seed, validation):
    rng = np.random.default_rng(seed)
    frame = data.to_frame().sample(frac=1.0, random_state=seed).reset_index(drop=True)
    is_test = rng.random(len(frame)) < 0.3
    is_test[0], is_test[1] = True, False  # both files non-empty
    base, test = frame[~is_test], frame[is_test]
    try:
        s = predefined(data, base, test, validation=validation, seed=seed)
    except DataError as exc:  # too few base rows to carve validation from
        assert "empty" in str(exc)
        return
    check_partition(data, s)
    got = set(zip(data.user_ids[s.test.users].tolist(), data.item_ids[s.test.items].tolist()))
    assert got == set(zip(test["user"].tolist(), test["item"].tolist()))
    n_val = 0 if s.validation is None else len(s.validation)
    assert n_val == half_up(validation * len(base))
    assert len(s.train) + n_val == len(base)


def _frames(data: Interactions):
    frame = data.to_frame()
    return frame.iloc[:-10].reset_index(drop=True), frame.iloc[-10:].reset_index(drop=True)


def test_predefined_errors_name_file_and_line():
    data = fixed_data()
    base, test = _frames(data)
    # a pair in both files: reported at its line in the test file
    both = pd.concat([test, base.iloc[[3]]], ignore_index=True)
    with pytest.raises(DataError) as err:
        predefined(data, base, both, base_source="x.base", test_source="x.test")
    assert err.value.path == "x.test" and err.value.line == 11 and "x.base (line 4)" in str(err.value)
    # unknown user
    bad = test.copy()
    bad.loc[2, "user"] = 9999
    with pytest.raises(DataError) as err:
        predefined(data, base, bad, test_source="x.test")
    assert err.value.line == 3 and err.value.column == "user"
    # known user and item but a pair the data does not have
    present = set(zip(data.users.tolist(), data.items.tolist()))
    u, i = next((u, i) for u in range(data.n_users) for i in range(data.n_items)
                if (u, i) not in present)
    bad = test.copy()
    bad.loc[5, ["user", "item"]] = [data.user_ids[u], data.item_ids[i]]
    with pytest.raises(DataError, match="pair is not in the data") as err:
        predefined(data, base, bad.drop(columns="rating"), test_source="x.test")
    assert err.value.line == 6
    # a pair twice in one file
    dup = pd.concat([base, base.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="repeats line 1") as err:
        predefined(data, dup, test, base_source="x.base")
    assert err.value.line == len(dup)
    # a rating that does not match the data
    bad = test.copy()
    bad.loc[0, "rating"] = 6 - bad.loc[0, "rating"] if bad.loc[0, "rating"] != 3 else 1
    with pytest.raises(DataError, match="rating differs"):
        predefined(data, base, bad)
    predefined(data, base, bad, check_ratings=False)
    # data rows in neither file
    with pytest.raises(DataError, match="in neither"):
        predefined(data, base.iloc[5:], test)
    s = predefined(data, base.iloc[5:], test, allow_unassigned=True, validation=0.0)
    assert s.n_unassigned == 5 and "5 ratings in no part" in s.describe()
    assert s.summary()["n_ratings"] == len(data)


def _write_ml100k_like(folder: Path, data: Interactions, name: str, n_test: int) -> None:
    """Synthetic data in the ML-100K file format (tab-separated, no header)."""
    frame = data.to_frame()[["user", "item", "rating", "timestamp"]]
    frame["rating"] = frame["rating"].astype(int)
    frame.iloc[:-n_test].to_csv(folder / f"{name}.base", sep="\t", header=False, index=False)
    frame.iloc[-n_test:].to_csv(folder / f"{name}.test", sep="\t", header=False, index=False)


def test_make_split_reads_ml100k_style_files(tmp_path):
    data = fixed_data()
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    _write_ml100k_like(folder, data, "u3", 50)
    (folder / "u.data").write_text("")
    # the ml-100k folder itself, a file in it, or its parent
    for path in (folder, folder / "u.data", tmp_path):
        s = make_split(data, "u3", seed=1, data_path=path)
        check_partition(data, s)
        assert len(s.test) == 50 and len(s.validation) == half_up(0.1 * (len(data) - 50))
    with pytest.raises(ConfigError, match="needs the MovieLens 100K folder"):
        make_split(data, "u4", data_path=folder)
    with pytest.raises(ConfigError, match="pass data_path"):
        make_split(data, "u3")


def test_read_ml100k_file_reports_bad_lines(tmp_path):
    path = tmp_path / "u1.base"
    path.write_text("1\t2\t3\t100\n1\t3\tx\t101\n")
    with pytest.raises(DataError) as err:
        read_ml100k_ratings(path)
    assert err.value.line == 2 and err.value.column == "rating" and err.value.value == "x"
    path.write_text("1\t2\t3\t100\n1\t3\t4\n")
    with pytest.raises(DataError) as err:
        read_ml100k_ratings(path)
    assert err.value.line == 2 and err.value.column == "timestamp"
    path.write_text("1\t2\t3\t100\n1\t3\t4\t5\t6\n")
    with pytest.raises(DataError):
        read_ml100k_ratings(path)
    path.write_text("1\t2\t3\t100\n7\t3\t4\t5\n")
    frame = read_ml100k_ratings(path)
    assert frame.to_numpy().tolist() == [[1, 2, 3, 100], [7, 3, 4, 5]]


# ---------------------------------------------------------------------------- registry
def test_every_named_split_works():
    data = fixed_data()
    # the file-based splits (ML-100K's u1.., LightGCN's) have their own tests
    names = [n for n in list_splits() if n not in ML100K_SPLITS and n != "lightgcn"]
    assert "random-90-10" in names and "kfold-5:<fold>" in names
    for name in names:
        real = {"kfold-5:<fold>": "kfold-5:3", "strong-users-<N>": "strong-users-3"}.get(name, name)
        s = make_split(data, real, seed=2)
        check_partition(data, s)
        assert s.name == real
    paper = make_split(data, "random-90-10", seed=0)
    assert same_split(paper, random_holdout(data, test=0.1, validation=0.1, seed=0))
    automl = make_split(data, "random-80-10-10", seed=0)
    n = len(data)
    assert len(automl.test) == half_up(0.1 * n)
    assert abs(len(automl.validation) - 0.1 * n) <= 1
    assert same_split(make_split(data, "kfold-5:3", seed=4),
                      kfold(data, k=5, seed=4, validation=0.1)[3])


def test_unknown_split_lists_known_names():
    data = fixed_data()
    with pytest.raises(ConfigError) as err:
        make_split(data, "random-95-5")
    for name in ("random-90-10", "loo", "u1", "kfold-5:<fold>"):
        assert name in str(err.value)
    with pytest.raises(ConfigError, match="fold < k"):
        make_split(data, "kfold-5:5")


# ---------------------------------------------------------------------------- MovieLens 100K
def _ml100k(data_dir: Path) -> Interactions:
    frame = read_ml100k_ratings(data_dir / "ml-100k" / "u.data")
    return Interactions.from_frame(frame, timestamp_col="timestamp", rating_scale=(1, 5),
                                   line_offset=1, name="ml-100k")


@pytest.mark.realdata
def test_ml100k_u1_sizes_and_cold_counts(data_dir):
    data = _ml100k(data_dir)
    s = make_split(data, "u1", seed=0, data_path=data_dir / "ml-100k")
    assert len(s.train) + len(s.validation) == 80_000 and len(s.test) == 20_000
    assert len(s.validation) == 8_000
    # cold counts relative to the whole base file, computed straight from the files
    base = pd.read_csv(data_dir / "ml-100k" / "u1.base", sep="\t", header=None)
    test = pd.read_csv(data_dir / "ml-100k" / "u1.test", sep="\t", header=None)
    cold_users = set(test[0]) - set(base[0])
    cold_items = set(test[1]) - set(base[1])
    no_val = predefined(data, read_ml100k_ratings(data_dir / "ml-100k" / "u1.base"),
                        read_ml100k_ratings(data_dir / "ml-100k" / "u1.test"), validation=0.0)
    t = no_val.summary()["test"]
    assert t["cold_users"] == len(cold_users) and t["cold_items"] == len(cold_items)
    assert t["cold_ratings"] == int((test[0].isin(cold_users) | test[1].isin(cold_items)).sum())
    print(f"\nML-100K u1: {t['cold_users']} cold test users, {t['cold_items']} cold test "
          f"items, {t['cold_ratings']} cold test ratings of 20,000")


@pytest.mark.realdata
def test_ml100k_u1_to_u5_test_folds_partition_the_data(data_dir):
    data = _ml100k(data_dir)
    counts = np.zeros(len(data), dtype=int)
    for name in ("u1", "u2", "u3", "u4", "u5"):
        s = make_split(data, name, data_path=data_dir / "ml-100k")
        check_partition(data, s)
        counts[s.test_index] += 1
    assert np.all(counts == 1)
    for name in ("ua", "ub"):  # exactly 10 test ratings per user
        s = make_split(data, name, data_path=data_dir / "ml-100k")
        assert np.all(np.bincount(s.test.users, minlength=data.n_users) == 10)


@pytest.mark.realdata
def test_ml100k_random_90_10_sizes(data_dir):
    data = _ml100k(data_dir)
    s = make_split(data, "random-90-10", seed=0)
    assert len(s.test) == 10_000
    assert len(s.train) + len(s.validation) == 90_000 and len(s.validation) == 9_000
    check_partition(data, s)


# ---------------------------------------------------------------------------- strong generalisation
@PROPS
@given(interactions(), st.sampled_from([0.1, 0.25]), st.sampled_from([0.5, 0.8]), seeds)
def test_strong_generalization_holds_out_users(data, share, fold_in, seed):
    from autorec.splits.protocols import strong_generalization

    try:
        s = strong_generalization(data, validation=share, test=share, fold_in=fold_in, seed=seed)
    except DataError as exc:
        assert "too few to hold out" in str(exc)
        return
    # every row in exactly one of the five parts
    idx = np.concatenate([s.train_index, s.validation_index, s.test_index, s.validation_fold_in_index,
                          s.test_fold_in_index])
    assert np.array_equal(np.sort(idx), np.arange(len(data)))
    train_users = set(s.train.users.tolist())
    for part, fold in ((s.validation, s.validation_fold_in), (s.test, s.test_fold_in)):
        held = set(part.users.tolist())
        assert held and not held & train_users  # held-out users never train
        assert held == set(fold.users.tolist())  # each has a fold-in part and an evaluation part
        c = data.user_counts()
        for u in held:
            assert (fold.users == u).sum() == np.clip(half_up(fold_in * c[u]), 1, max(c[u] - 1, 1))
    assert not set(s.validation.users.tolist()) & set(s.test.users.tolist())
    again = strong_generalization(data, validation=share, test=share, fold_in=fold_in, seed=seed)
    assert np.array_equal(again.test_fold_in_index, s.test_fold_in_index) and same_split(s, again)
    # a refit on train + validation takes the validation users whole
    assert len(s.train_and_validation()) == len(s.train) + len(s.validation) + len(s.validation_fold_in)
