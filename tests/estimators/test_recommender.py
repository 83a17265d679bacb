"""Recommender: fit / predict with original ids / save-load round trip / CLI train."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autorec import Recommender, load
from autorec.data import Interactions
from autorec.errors import ConfigError
from autorec.splits import make_split

from planted import planted


@pytest.fixture(scope="module")
def data():
    return Interactions.from_frame(planted(), timestamp_col="timestamp", rating_scale=(1, 5), name="planted")


FAST = {"max_epochs": 40, "patience": 0, "progress": False, "lr": 5e-3, "batch_size": 8}


@pytest.mark.parametrize("model,params", [
    ("i-autorec", {"hidden": [32]}),
    ("u-autorec", {"hidden": [32]}),
    ("deep-autorec", {"hidden": [32, 16, 32], "dropout": 0.0}),
    # its default drop rate (0.45) is for real ratings; 40 epochs on the planted ones need less
    ("denoising-autorec", {"hidden": [32], "noise_level": 0.2}),
    # the data-aware default L2 (0.5 at these 16 ratings per user) is for noisy real ratings;
    # the planted ones are almost noise-free, so the MovieLens-100K value is given
    ("biased-mf", {"factors/l2": 0.1}),
])
def test_each_model_learns_the_planted_ratings(data, model, params):
    split = make_split(data, "random-90-10", seed=0)
    train = dict(FAST, l2=0.01) if "autorec" in model else dict(FAST, batch_size=64, lr=1e-2)
    rec = Recommender(model, params=params, train=train).fit(split.train, split.validation)
    mean_only = np.sqrt(np.mean((split.test.ratings - split.train.ratings.mean()) ** 2))
    pred = rec.predict_index(split.test.users, split.test.items)
    rmse = float(np.sqrt(np.mean((split.test.ratings - pred) ** 2)))
    assert rmse < 0.8 * mean_only, (model, rmse, mean_only)
    assert pred.min() >= 1 and pred.max() <= 5


def test_predict_takes_original_ids_and_unknowns_get_the_default(data):
    rec = Recommender("i-autorec", params={"hidden": [16]}, train=dict(FAST, max_epochs=3),
                      default_rating=3.0).fit(data)
    frame = data.to_frame()
    by_ids = rec.predict(frame["user"][:20], frame["item"][:20])
    by_index = rec.predict_index(data.users[:20], data.items[:20])
    np.testing.assert_allclose(by_ids, by_index)
    unknown = rec.predict(["nobody", frame["user"][0]], [frame["item"][0], 99999])
    assert unknown.tolist() == [3.0, 3.0]


def test_save_load_round_trip_gives_identical_predictions_and_reads_no_pickle(data, tmp_path):
    split = make_split(data, "random-90-10", seed=1)
    for model in ("i-autorec", "biased-mf"):
        rec = Recommender(model, train=dict(FAST, max_epochs=3)).fit(split.train, split.validation)
        path = rec.save(tmp_path / model)
        assert sorted(p.name for p in path.iterdir()) == ["meta.json", "weights.safetensors"]
        again = load(path)
        np.testing.assert_array_equal(rec.predict_index(split.test.users, split.test.items),
                                      again.predict_index(split.test.users, split.test.items))
        user = data.user_ids[0]
        assert rec.recommend(user, n=5) == again.recommend(user, n=5)
        meta = json.loads((path / "meta.json").read_text())
        assert meta["model"] == model and meta["rating_scale"] == [1.0, 5.0]


def test_recommend_excludes_training_items(data):
    rec = Recommender("biased-mf", train=dict(FAST, max_epochs=2, batch_size=64)).fit(data)
    user = data.user_ids[3]
    seen = set(data.item_ids[data.items[data.users == 3]].tolist())
    top = rec.recommend(user, n=10)
    assert len(top) == 10 and not seen & {item for item, _ in top}
    scores = [s for _, s in top]
    assert scores == sorted(scores, reverse=True)


def test_same_seed_same_predictions(data):
    preds = []
    for _ in range(2):
        rec = Recommender("i-autorec", params={"hidden": [16]}, train=dict(FAST, max_epochs=3, seed=7)).fit(data)
        preds.append(rec.predict_index(data.users, data.items))
    np.testing.assert_array_equal(preds[0], preds[1])


def test_bad_arguments_are_named():
    with pytest.raises(ConfigError, match="unknown model 'i-autorek'.*did you mean 'i-autorec'"):
        Recommender("i-autorek").fit(Interactions.from_frame(planted(10, 10), rating_scale=(1, 5)))
    with pytest.raises(ConfigError, match="lr"):
        Recommender("i-autorec", train={"lr": -1}).fit(
            Interactions.from_frame(planted(10, 10), rating_scale=(1, 5)))
    with pytest.raises(ConfigError, match="not fitted"):
        Recommender("i-autorec").predict([1], [1])


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autorec.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, env={"AUTOREC_NO_PROGRESS": "1", "PATH": "/usr/bin:/bin"})


@pytest.mark.slow
def test_cli_train_writes_the_run_folder(tmp_path):
    csv = tmp_path / "ratings.csv"
    planted().to_csv(csv, index=False)
    out = tmp_path / "run"
    res = _cli("train", "--dataset", str(csv), "--model", "i-autorec", "--seed", "3",
               "--set", "hidden=16", "--set", "max_epochs=4", "--set", "lr=0.005", "--out", str(out))
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "i-autorec" and m["split"] == "random-90-10" and m["seed"] == 3
    assert m["params"]["hidden"] == [16] and m["epochs"] == 4
    assert set(m["test"]) == {"rmse", "mae"} and "rmse" in m["validation"] and m["train_seconds"] > 0
    hist = pd.read_csv(out / "history.csv")
    assert list(hist["epoch"]) == [1, 2, 3, 4] and "val_rmse" in hist
    assert (out / "curves.png").stat().st_size > 1000
    rec = load(out)
    assert rec.predict([100], [0]).shape == (1,)


@pytest.mark.slow
def test_cli_errors_are_one_line_and_non_zero(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\n1,2,4\n1,3,abc\n")
    # each command, and what its one line must name besides (the bad file's line and value)
    for args, names in ((["train", "--dataset", "no-such-dataset", "--out", str(tmp_path / "x")], ()),
                        (["train", "--dataset", str(bad), "--out", str(tmp_path / "y")], ("line 3", "abc")),
                        (["train", "--dataset", str(bad), "--model", "nope", "--out", str(tmp_path / "z")], ())):
        res = _cli(*args)
        assert res.returncode != 0
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("autorec: error:"), res.stderr
        assert "Traceback" not in res.stderr
        assert all(name in res.stderr for name in names), res.stderr


@pytest.mark.parametrize("optimizer,lr", [("rprop", 1e-2), ("lbfgs", 0.5)])
def test_full_batch_optimizers_train_autorec(data, optimizer, lr):
    # the paper trains with full-batch RProp (and compares L-BFGS): the objective must fall
    rec = Recommender("i-autorec", params={"hidden": [16]},
                      train={"optimizer": optimizer, "lr": lr, "max_epochs": 8, "patience": 0,
                             "progress": False, "l2": 0.01, "batch_size": 16}).fit(data, data)
    losses = [e.train_loss for e in rec.history_.epochs]
    assert losses[-1] < 0.7 * losses[0], losses
