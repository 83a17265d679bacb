"""CTRModel: fit on FeatureTable rows, predict new rows, save/load, `autorec train` on CTR data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from autorec import load
from autorec.estimators import CTRModel
from autorec.data import FeatureTable
from autorec.errors import ConfigError
from autorec.splits import split_rows

from planted import planted_table

FAST = {"max_epochs": 4, "patience": 0, "progress": False, "lr": 3e-3, "batch_size": 256}


def test_learns_a_planted_cross_beyond_the_base_rate():
    table = planted_table()
    tr, va, te = split_rows(len(table), seed=0)
    m = CTRModel("deepfm", params={"embedding_dim": 8}, train=dict(FAST, max_epochs=15)).fit(table, tr, va)
    y = table.labels[te]
    p0 = y.mean()
    base = -np.mean(y * np.log(p0) + (1 - y) * np.log(1 - p0))
    res = m.evaluate(table, te)
    assert res["logloss"] < 0.85 * base and res["auc"] > 0.75, (res, base)


def test_unseen_categories_and_missing_values_score_without_error(tmp_path):
    table = planted_table()
    tr, va, _ = split_rows(len(table), seed=1)
    m = CTRModel("dcn", train=FAST).fit(table, tr, va)
    new = planted_table(50, seed=9).frame.copy()
    new["c0"] = "never-seen"
    new.loc[:10, "c1"] = None
    new.loc[:10, "d0"] = np.inf
    p = m.predict_proba(FeatureTable(new, label="label", dense=["d0", "const"], categorical=["c0", "c1", "c2"]))
    assert p.shape == (50,) and np.isfinite(p).all() and ((p > 0) & (p < 1)).all()


def test_save_load_round_trip(tmp_path):
    table = planted_table(800)
    tr, va, te = split_rows(len(table), seed=2)
    m = CTRModel("fm", train=dict(FAST, max_epochs=2)).fit(table, tr, va)
    path = m.save(tmp_path / "ctr")
    again = load(path)
    assert isinstance(again, CTRModel)
    np.testing.assert_array_equal(m.predict_proba(table, te), again.predict_proba(table, te))


def test_unknown_model_is_named():
    # scikit-learn's contract: the constructor only stores its arguments; fit validates them
    with pytest.raises(ConfigError, match="unknown CTR model 'deepfn'.*deepfm"):
        CTRModel("deepfn").fit(planted_table(50))


@pytest.mark.slow
@pytest.mark.realdata
def test_cli_train_on_the_criteo_sample(data_dir, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "autorec.cli.main", "train", "--dataset", "criteo-sample",
                          "--data-path", str(data_dir / "criteo-sample"), "--model", "dcn",
                          "--set", "max_epochs=2", "--out", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "ctr" and set(m["test"]) == {"logloss", "auc"}
    assert m["rows"] == {"train": 8100, "validation": 900, "test": 1000}


def test_predict_proba_scores_raw_rows_through_the_saved_encoder(tmp_path) -> None:
    from planted import planted_table

    table = planted_table()
    model = CTRModel("fm", train={"max_epochs": 1}).fit(table, np.arange(2000), np.arange(2000, 3000))
    again = CTRModel.load(model.save(tmp_path / "m"))
    records = table.frame.iloc[:7].drop(columns=["label"]).to_dict("records")
    expected = model.predict_proba(table, np.arange(7))
    np.testing.assert_allclose(again.predict_proba(records), expected, rtol=1e-6)
    np.testing.assert_allclose(again.predict_proba(table.frame.iloc[:7]), expected, rtol=1e-6)
    unseen = again.predict_proba([{"d0": 1.0, "c0": "never-seen"}])  # missing fields and an unseen category
    assert unseen.shape == (1,) and 0 < unseen[0] < 1
    assert again.feature_columns_ == ["d0", "const", "c0", "c1", "c2"]
    with pytest.raises(ConfigError, match="FeatureTable, a DataFrame or a list"):
        again.predict_proba("rows")
