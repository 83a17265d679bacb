"""`autorec predict`, `autorec recommend` and `autorec evaluate` on a saved run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import autorec
from autorec.cli import main as cli_main
from autorec.errors import ConfigError, DataError
from planted import planted

runner = CliRunner()
cli_main._register()
APP = cli_main.app


def invoke(*args):
    return runner.invoke(APP, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("use")
    data = tmp / "ratings.csv"
    planted(n_users=60, n_items=40, seed=3).to_csv(data, index=False)
    out = tmp / "run"
    result = invoke("train", "--dataset", data, "--model", "biased-mf", "--set", "max_epochs=3", "--out", out)
    assert result.exit_code == 0, result.output
    return {"data": data, "out": out, "model": autorec.load(out), "tmp": tmp}


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("AUTOREC_NO_PROGRESS", "1")


def test_predict_one_users_items_as_json(run):
    rec = run["model"]
    user, items = rec.user_ids_[0], [rec.item_ids_[0], rec.item_ids_[1], "nope"]
    result = invoke("predict", "--model", run["out"], "--user", user, *sum((["--item", i] for i in items), []), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    expected, flags = rec.predict([user] * 3, items, return_fallback=True)
    np.testing.assert_allclose([r["prediction"] for r in rows], expected)
    assert [r["fallback"] for r in rows] == flags.tolist() == [False, False, True]


def test_recommend_table_and_json_and_fold_in(run):
    rec = run["model"]
    user = rec.user_ids_[2]
    result = invoke("recommend", "--model", run["out"], "--user", user, "--user", "stranger", "-k", 4, "--json")
    assert result.exit_code == 0, result.output
    known, unknown = json.loads(result.output)
    assert [x["item"] for x in known["items"]] == [i for i, _ in rec.recommend(user, k=4)]
    assert not known["fallback"] and unknown["fallback"] and len(unknown["items"]) == 4
    table = invoke("recommend", "--model", run["out"], "--user", "stranger", "-k", 2)
    assert "not in the training data" in " ".join(table.output.split())
    hist = {str(rec.item_ids_[0]): 5.0, str(rec.item_ids_[3]): 1.0}
    folded = json.loads(invoke("recommend", "--model", run["out"], "--history-json", json.dumps(hist),
                               "-k", 3, "--json").output)[0]
    assert [x["item"] for x in folded["items"]] == [i for i, _ in rec.recommend(history=hist, k=3)]
    hist_file = run["tmp"] / "history.csv"
    hist_file.write_text("item,rating\n" + "".join(f"{i},{r}\n" for i, r in hist.items()))
    again = json.loads(invoke("recommend", "--model", run["out"], "--history", hist_file, "-k", 3, "--json").output)[0]
    assert again == folded


def test_evaluate_scores_the_runs_own_test_part(run):
    result = invoke("evaluate", "--model", run["out"], "--dataset", run["data"], "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    saved = json.loads((run["out"] / "metrics.json").read_text())
    assert got["split"] == saved["split"] and got["seed"] == saved["seed"]
    assert got["metrics"]["rmse"] == pytest.approx(saved["test"]["rmse"], rel=1e-6)


@pytest.mark.parametrize("suffix_in,suffix_out", [(".csv", ".parquet"), (".parquet", ".csv"), (".csv", ".tsv")])
def test_batch_scoring_streams_chunks_and_matches_predict(run, suffix_in, suffix_out, tmp_path):
    from autorec.cli.use import score_file

    rec = run["model"]
    rng = np.random.default_rng(0)
    pairs = pd.DataFrame({"user": rng.choice(rec.user_ids_, 2500), "item": rng.choice(rec.item_ids_, 2500)})
    pairs.loc[::50, "item"] = -7  # unknown item: the default rating, flagged
    src = tmp_path / f"pairs{suffix_in}"
    pairs.to_parquet(src) if suffix_in == ".parquet" else pairs.to_csv(src, index=False)
    dst = tmp_path / f"scores{suffix_out}"
    assert score_file(rec, src, dst, chunk_rows=700) == 2500  # four chunks, the last one short
    got = pd.read_parquet(dst) if suffix_out == ".parquet" else pd.read_csv(dst, sep="\t" if suffix_out == ".tsv" else ",")
    expected, flags = rec.predict(pairs["user"], pairs["item"], return_fallback=True)
    np.testing.assert_allclose(got["prediction"], expected)
    assert got["fallback"].astype(bool).tolist() == flags.tolist()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_batch_scoring_errors_leave_nothing_behind(run, tmp_path):
    src = tmp_path / "pairs.csv"
    src.write_text("uid,iid\n1,2\n")
    result = invoke("predict", "--model", run["out"], "--input", src, "--output", tmp_path / "out.csv")
    assert isinstance(result.exception, DataError) and "--user-col" in str(result.exception)
    assert sorted(os.listdir(tmp_path)) == ["pairs.csv"]
    result = invoke("predict", "--model", run["out"], "--input", src, "--output", tmp_path / "out.xlsx")
    assert isinstance(result.exception, ConfigError) and ".parquet" in str(result.exception)
    assert isinstance(invoke("predict", "--model", run["out"], "--item", "1").exception, ConfigError)
    assert isinstance(invoke("recommend", "--model", run["out"], "-k", 0, "--user", "1").exception, ConfigError)


@pytest.mark.slow
def test_a_bad_history_is_one_line_and_exit_1(run):
    proc = subprocess.run([sys.executable, "-m", "autorec.cli.main", "recommend", "--model", str(run["out"]),
                           "--history-json", "{not json"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "--history-json: not JSON" in proc.stderr


def test_a_ctr_model_scores_a_file_of_raw_rows(tmp_path):
    from autorec.cli.use import score_file
    from planted import planted_table

    table = planted_table(n=900)
    model = autorec.CTRModel("fm", train={"max_epochs": 1}).fit(table, np.arange(700), np.arange(700, 900))
    src = tmp_path / "rows.csv"
    table.frame.drop(columns=["label"]).to_csv(src, index=False)
    dst = tmp_path / "p.parquet"
    assert score_file(model, src, dst, chunk_rows=256) == 900
    got = pd.read_parquet(dst)
    assert got["row"].tolist() == list(range(900))
    np.testing.assert_allclose(got["probability"], model.predict_proba(table), rtol=1e-5)
    bad = tmp_path / "bad.csv"
    table.frame[["d0"]].to_csv(bad, index=False)
    with pytest.raises(DataError, match="missing column"):
        score_file(model, bad, tmp_path / "q.csv")
