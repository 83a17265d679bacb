"""One-line-per-user implicit data (`user item item ...`), the `gowalla` registry entry and the
`lightgcn` split along its files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from autorec.datasets import load, read_user_lines
from autorec.errors import DataError
from autorec.splits import make_split


def _write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("".join(" ".join(map(str, line)) + "\n" for line in lines))
    return folder


def test_a_folder_loads_as_implicit_data_and_splits_along_its_files(tmp_path):
    folder = _write(tmp_path / "g", {"train.txt": [[0, 1, 2, 3], [1, 0, 4], [2, 5]],
                                     "test.txt": [[0, 4], [1, 2], [2]],
                                     "valid.txt": [[0, 2], [1, 4]]})
    data = load(str(folder))
    assert data.implicit and len(data) == 8 and data.n_users == 3
    split = make_split(data, "lightgcn", data_path=folder)

    def pairs(part):
        return sorted(zip(part.user_ids[part.users].tolist(), part.item_ids[part.items].tolist()))

    assert pairs(split.test) == [(0, 4), (1, 2)]
    assert pairs(split.validation) == [(0, 2), (1, 4)]
    assert pairs(split.train) == [(0, 1), (0, 3), (1, 0), (2, 5)]


@pytest.mark.parametrize("files,match", [
    ({"train.txt": [[0, 1, "x"]], "test.txt": [[0, 2]]}, r"line 1.*token 3.*'x'|token 3.*line 1"),
    ({"train.txt": [[0, 1, 1]], "test.txt": [[0, 2]]}, "item listed twice"),
    ({"train.txt": [[0, 1]], "test.txt": [[0, 1]]}, r"is in train.txt \(line 1\) and in test.txt"),
    ({"train.txt": [[0, -1]], "test.txt": [[0, 2]]}, ">= 0"),
])
def test_bad_files_are_one_error_naming_the_place(tmp_path, files, match):
    folder = _write(tmp_path / "bad", files)
    with pytest.raises(DataError, match=match):
        load(str(folder))


def test_a_validation_pair_missing_from_train_is_an_error(tmp_path):
    folder = _write(tmp_path / "v", {"train.txt": [[0, 1, 2]], "test.txt": [[0, 3]], "valid.txt": [[0, 3]]})
    with pytest.raises(DataError, match="valid.txt is not in train.txt"):
        make_split(load(str(folder)), "lightgcn", data_path=folder)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sets(st.integers(0, 30), min_size=2, max_size=12), min_size=1, max_size=15), st.integers(0, 10**6))
def test_the_split_partitions_the_data_and_keeps_the_files_sets(tmp_path_factory, rows, seed):
    rng = np.random.default_rng(seed)
    train, test, valid = [], [], []
    for u, items in enumerate(rows):
        items = sorted(items)
        rng.shuffle(items)
        cut = max(1, len(items) // 3)
        test.append([u, *items[:cut]])
        rest = items[cut:]
        train.append([u, *rest])
        valid.append([u, *rest[: len(rest) // 2]])
    folder = _write(tmp_path_factory.mktemp("p"), {"train.txt": train, "test.txt": test, "valid.txt": valid})
    data = load(str(folder))
    split = make_split(data, "lightgcn", data_path=folder)
    parts = [split.train_index, split.test_index] + ([split.validation_index] if split.validation is not None else [])
    idx = np.concatenate(parts)
    assert sorted(idx.tolist()) == list(range(len(data)))  # every interaction in exactly one part
    assert len(split.test) == sum(len(r) - 1 for r in test)
    assert (len(split.validation) if split.validation is not None else 0) == sum(len(r) - 1 for r in valid)


def test_read_user_lines_keeps_line_numbers(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("3 1 2\n\n4\n5 9\n")
    frame = read_user_lines(f)
    assert frame.to_dict("list") == {"user": [3, 3, 5], "item": [1, 2, 9], "line": [1, 1, 4]}


def test_gowalla_is_the_lightgcn_split(data_dir):
    folder = data_dir / "gowalla"
    if not (folder / "train.txt").exists():
        pytest.skip(f"{folder} has no Gowalla files")
    data = load("gowalla", data_path=folder)
    assert (len(data), data.n_users, data.n_items) == (1_027_370, 29_858, 40_981) and data.implicit
    split = make_split(data, "lightgcn", data_path=folder)
    assert (len(split.train), len(split.validation), len(split.test)) == (810_128 - 91_047, 91_047, 217_242)
