"""A corpus of bad input files, one per case, generated here: each gives one line on stderr
naming the file and where in it, exit code 1, no traceback, and nothing written to --out."""

from __future__ import annotations

import gzip

import pytest

from autorec.cli.main import main

GOOD = "user,item,rating\n" + "".join(f"u{u},i{i},{1 + (u * i) % 5}\n" for u in range(12) for i in range(10))
LINES = GOOD.splitlines(keepends=True)

# name -> (file name, bytes, what the message must contain besides the file name)
CASES = {
    "truncated": ("ratings.csv", (GOOD + "u99,i3").encode()[:-4], "line 122"),
    "wrong separator": ("ratings.csv", GOOD.replace(",", ";").encode(), "user"),
    "not utf-8": ("ratings.csv", (LINES[0] + "".join(LINES[1:40]) + "u\xe9t\xe9,i1,4\n").encode("latin-1")
                  + "".join(LINES[40:]).encode(), "line 41"),
    "binary": ("ratings.csv", b"\x00\x01\x02garbage\x00" * 100, "binary"),
    "gzip named .csv": ("ratings.csv", gzip.compress(GOOD.encode()), "gzip"),
    "oversized field": ("ratings.csv", (GOOD + "u1," + "i" * 200_000 + ",x\n").encode(), "line 122"),
    "empty": ("ratings.csv", b"", "empty"),
    "header only": ("ratings.csv", b"user,item,rating\n", "no data rows"),
    "not a number": ("ratings.csv", (GOOD + "u1,i1,four\n").encode(), "line 122"),
    "nan rating": ("ratings.csv", (GOOD + "u1,i99,nan\n").encode(), "line 122"),
    "duplicates": ("ratings.csv", (GOOD + "u0,i0,3\n").encode(), "line"),
    "missing columns": ("ratings.csv", b"customer,thing\n" + b"a,b\n" * 5, "--user-col"),
    "blank line inside": ("ratings.csv", "".join(LINES[:30] + ["\n"] + LINES[30:]).encode(), "line 31"),
}


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return 0 if exc.code is None else int(exc.code)
    return 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_line(tmp_path, capsys, case) -> None:
    name, content, must = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out"
    code = run(["train", "--dataset", str(path), "--model", "biased-mf", "--set", "max_epochs=1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("autorec: error: ") and str(path) in lines[0], lines[0]
    assert must in lines[0], lines[0]
    assert len(lines[0]) < 600, f"message too long ({len(lines[0])} characters)"
    assert not out.exists()


def test_a_declared_encoding_reads_what_strict_utf8_refuses(tmp_path, capsys) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes((GOOD + "u\xe9t\xe9,i1,4\n").encode("latin-1"))
    assert run(["datasets", "info", str(path), "--encoding", "latin-1"]) == 0
    assert "121" in capsys.readouterr().out  # 120 good rows and the latin-1 one


def test_columns_can_be_named_when_they_cannot_be_guessed(tmp_path, capsys) -> None:
    path = tmp_path / "ratings.tsv"
    path.write_text("who\twhat\tstars\n" + "".join(f"u{u}\ti{i}\t{1 + (u + i) % 5}\n" for u in range(9) for i in range(7)))
    assert run(["datasets", "info", str(path), "--user-col", "who", "--item-col", "what", "--rating-col", "stars"]) == 0
    shown = capsys.readouterr().out
    assert "63" in shown and "users" in shown


def test_out_of_scale_in_a_declared_scale_format(tmp_path, capsys) -> None:
    # MovieLens-100K's u.data declares the 1-5 scale: a 6 is named with its line and column
    path = tmp_path / "u.data"
    path.write_text("".join(f"{u}\t{i}\t{1 + (u + i) % 5}\t88125{u}{i}\n" for u in range(1, 9) for i in range(1, 9))
                    + "3\t4\t6\t881250949\n")
    out = tmp_path / "out"
    assert run(["train", "--dataset", str(path), "--model", "biased-mf", "--out", str(out)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("autorec: error:")]
    assert len(errors) == 1 and "line 65" in errors[0] and "column 'rating'" in errors[0], errors
    assert "value: 6.0" in errors[0] and not out.exists()  # a plain number, not np.float32(6.0)


@pytest.mark.parametrize("setting, named", [("hidden=abc", "hidden must be layer sizes"), ("hidden=0", "at least 1 unit"),
                                            ("threads=abc", "threads"), ("lr=abc", "lr"), ("max_epochs=1.5", "max_epochs"),
                                            ("lrr=0.1", "did you mean 'lr'")])
def test_bad_set_values_are_one_line_before_any_training(tmp_path, capsys, setting, named) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text(GOOD)
    out = tmp_path / "out"
    assert run(["train", "--dataset", str(path), "--model", "i-autorec", "--set", setting, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("autorec: error:") and named in err and "\n" not in err and not out.exists(), err


def test_a_worker_with_another_seed_splits_as_its_study_does(tmp_path, capsys) -> None:
    from planted import planted

    csv = tmp_path / "ratings.csv"
    planted(40, 25, seed=5).to_csv(csv, index=False)
    out = tmp_path / "s"
    base = ["search", "--dataset", str(csv), "--models", "biased-mf", "--tuner", "random", "--max-epochs", "2",
            "--pruner", "none", "--cv", "none", "--out", str(out)]
    assert run(base + ["--trials", "1", "--seed", "0"]) == 0
    capsys.readouterr()
    assert run(base + ["--trials", "2", "--seed", "7"]) == 0
    assert "split seed 0 (the study's)" in capsys.readouterr().out
    assert run(base + ["--trials", "3", "--seed", "7", "--split-seed", "3"]) == 1
    assert "split_seed: the study has 0, this run 3" in capsys.readouterr().err
