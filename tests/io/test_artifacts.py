"""Model folders: artifacts written by the previous autorec still load and predict the same
numbers; one `autorec.load` reads every format; damaged folders are one clear error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import autorec
from autorec import CTRModel, Ensemble, Recommender
from autorec.data import FeatureTable
from autorec.errors import ConfigError
from autorec.io import read_model_folder, to_jsonable, write_json_atomic

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-v0.1"
EXPECTED = json.loads((LEGACY / "expected.json").read_text())


@pytest.mark.parametrize("name", ["i-autorec", "biased-mf"])
def test_a_rating_model_written_by_autorec_0_1_predicts_the_same_numbers(name):
    rec = autorec.load(LEGACY / name)
    assert isinstance(rec, Recommender) and rec.model_ == name  # "biased_mf" on disk reads as its new name
    pred = rec.predict(EXPECTED["query_users"], EXPECTED["query_items"])
    np.testing.assert_array_equal(pred, EXPECTED[name])  # the unknown user gets the default, as before
    assert rec.recommend("u1", n=5) == [tuple(x) for x in EXPECTED[f"{name}:recommend:u1"]]


def test_a_ctr_model_written_by_autorec_0_1_predicts_the_same_numbers():
    model = autorec.load(LEGACY / "deepfm")
    assert isinstance(model, CTRModel)
    rows = pd.read_csv(LEGACY / "ctr_rows.csv")
    table = FeatureTable(rows, label="label", dense=["d0"], categorical=["c0", "c1"])
    np.testing.assert_array_equal(model.predict_proba(table), EXPECTED["deepfm"])


def test_an_ensemble_folder_written_by_autorec_0_1_loads_and_averages_its_members():
    ens = autorec.load(LEGACY / "ensemble")
    assert isinstance(ens, Ensemble) and ens.names == ["trial-0", "trial-3"]
    np.testing.assert_allclose(ens.predict(EXPECTED["query_users"], EXPECTED["query_items"]),
                               EXPECTED["ensemble"], rtol=0, atol=1e-12)


def test_a_saved_ensemble_reloads_with_the_same_predictions(tmp_path):
    a, b = autorec.load(LEGACY / "i-autorec"), autorec.load(LEGACY / "biased-mf")
    ens = Ensemble([a, b], [1, 3], ["x", "y"], task="rating")
    ens.save(tmp_path / "ens")
    again = autorec.load(tmp_path / "ens")
    q = (EXPECTED["query_users"], EXPECTED["query_items"])
    np.testing.assert_array_equal(ens.predict(*q), again.predict(*q))
    spec = json.loads((tmp_path / "ens" / "ensemble.json").read_text())
    assert spec["format"] == "autorec-ensemble" and spec["weights"] == [1.0, 3.0]


def _copy(tmp_path, name="i-autorec") -> Path:
    dst = tmp_path / name
    shutil.copytree(LEGACY / name, dst)
    return dst


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "meta.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "meta.json").write_text("[1, 2]"), "expected a JSON object"),
    (lambda d: (d / "weights.safetensors").write_bytes(b"\x00" * 40), "not a readable safetensors file"),
    (lambda d: (d / "weights.safetensors").write_bytes((d / "weights.safetensors").read_bytes()[:300]),
     "not a readable safetensors file"),
    (lambda d: (d / "weights.safetensors").unlink(), "missing; the model folder is incomplete"),
    (lambda d: (d / "meta.json").unlink(), "not an autorec model folder"),
])
def test_a_damaged_folder_is_one_error_naming_the_file(tmp_path, damage, message):
    d = _copy(tmp_path)
    damage(d)
    with pytest.raises(ConfigError, match=message) as err:
        autorec.load(d)
    assert str(d) in str(err.value) and "\n" not in str(err.value)


def test_edited_metadata_is_refused_with_what_is_wrong(tmp_path):
    d = _copy(tmp_path)
    meta = json.loads((d / "meta.json").read_text())
    for edit, message in [
        ({"format_version": 99}, "written by a newer autorec"),
        ({"format": "something-else"}, "format 'something-else' is not one this autorec reads"),
    ]:
        (d / "meta.json").write_text(json.dumps({**meta, **edit}))
        with pytest.raises(ConfigError, match=message):
            autorec.load(d)
    broken = dict(meta)
    del broken["user_ids"]
    (d / "meta.json").write_text(json.dumps(broken))
    with pytest.raises(ConfigError, match="missing 'user_ids'"):
        autorec.load(d)
    (d / "meta.json").write_text(json.dumps({**meta, "shapes": {"input": [3, 3]}}))
    with pytest.raises(ConfigError, match="do not fit the recorded model"):
        autorec.load(d)


def test_a_ctr_folder_is_not_read_as_a_rating_model():
    with pytest.raises(ConfigError, match="expected 'autorec-model'"):
        Recommender.load(LEGACY / "deepfm")
    with pytest.raises(ConfigError, match="no such model folder"):
        autorec.load(LEGACY / "nowhere")


def test_json_goes_through_one_sanitiser_and_is_written_atomically(tmp_path):
    obj = {"a": np.float32(1.5), "b": np.arange(3), "c": (1, 2), "d": Path("x"), 3: np.int64(7)}
    assert to_jsonable(obj) == {"a": 1.5, "b": [0, 1, 2], "c": [1, 2], "d": "x", "3": 7}
    write_json_atomic(tmp_path / "m.json", obj)
    assert json.loads((tmp_path / "m.json").read_text())["b"] == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary file left
    with pytest.raises(TypeError):
        to_jsonable({"x": object()})


def test_model_files_are_readable_as_the_umask_allows(tmp_path):
    rec = autorec.load(LEGACY / "biased-mf")
    path = rec.save(tmp_path / "m")
    assert (path.stat().st_mode & 0o777) == (0o777 & ~_umask())
    assert ((path / "meta.json").stat().st_mode & 0o777) == (0o666 & ~_umask())
    folder = read_model_folder(path, ["autorec-model"], {"autorec-model": 1})
    assert folder.meta["model"] == "biased-mf" and "seen.users" in folder.tensors


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_ensemble_recommends_by_its_averaged_scores_without_seen_items():
    a, b = autorec.load(LEGACY / "i-autorec"), autorec.load(LEGACY / "biased-mf")
    ens = Ensemble([a, b], [2, 1], ["a", "b"], task="rating")
    top = ens.recommend("u1", n=5)
    u = int(a._index("user", ["u1"])[0])
    scores = (2 * a.score_items(u) + b.score_items(u)) / 3
    seen = set(a.seen_item_indices(u)) | set(b.seen_item_indices(u))
    expected = [j for j in np.argsort(-scores, kind="stable") if j not in seen][:5]
    assert [i for i, _ in top] == [int(a.item_ids_[j]) for j in expected]
    assert [s for _, s in top] == pytest.approx([float(scores[j]) for j in expected])
    fallback_top, fallback = ens.recommend("nobody", return_fallback=True)
    assert fallback and len(fallback_top) == 10


def _resaved(tmp_path, name="biased-mf") -> Path:
    """A legacy model saved again by this autorec: its meta.json records the weights file."""
    d = tmp_path / f"{name}-new"
    autorec.load(LEGACY / name).save(d)
    return d


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # inside the last tensor's data: safetensors still reads it
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("tamper, message", [
    (lambda d: (d / "weights.safetensors").write_bytes((d / "weights.safetensors").read_bytes()[:-8]),
     "truncated or replaced"),
    (lambda d: _flip_one_byte(d / "weights.safetensors"), "sha256 is not the one meta.json records"),
    (lambda d: shutil.copy(LEGACY / "i-autorec" / "weights.safetensors", d / "weights.safetensors"),
     "truncated or replaced|sha256"),
])
def test_a_tampered_weights_file_is_caught_before_it_predicts(tmp_path, tamper, message):
    d = _resaved(tmp_path)
    meta = json.loads((d / "meta.json").read_text())
    assert meta["weights"]["bytes"] == (d / "weights.safetensors").stat().st_size
    assert len(meta["weights"]["sha256"]) == 64 and meta["weights"]["tensors"]
    autorec.load(d)  # untouched: loads
    tamper(d)
    with pytest.raises(ConfigError, match=message) as err:
        autorec.load(d)
    assert str(d) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["weights"]["tensors"][next(iter(m["weights"]["tensors"]))].update(shape=[7, 7]), "records"),
    (lambda m: m["weights"].update(sha256=None), "must record the sha256"),
    (lambda m: m.update(user_ids={**m["user_ids"], "values": [m["user_ids"]["values"][0]] * len(m["user_ids"]["values"])}),
     "the same id twice"),
    (lambda m: m.update(item_ids={**m["item_ids"], "values": m["item_ids"]["values"][:-1]}), "item ids for a model"),
    (lambda m: m.update(rating_scale=[5, 1]), "low < high"),
    (lambda m: m.update(global_mean=None), "global_mean must be a finite number"),
    # a model that answers cold pairs with its biases must carry them
    (lambda m: m.update(default_rating="biases"), "fallback.user_bias"),
])
def test_edited_metadata_that_would_predict_wrongly_is_refused(tmp_path, edit, message):
    d = _resaved(tmp_path)
    meta = json.loads((d / "meta.json").read_text())
    edit(meta)
    (d / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match=message) as err:
        autorec.load(d)
    assert "meta.json" in str(err.value) or "weights.safetensors" in str(err.value)
