"""FeatureTable and FeatureEncoder: train-only fitting, OOV, missing values, dense transforms,
JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autorec.data.features import MISSING, EncodedFeatures, FeatureEncoder, FeatureTable
from autorec.errors import ConfigError, DataError


def table(**cols) -> FeatureTable:
    frame = pd.DataFrame(cols)
    dense = [c for c in cols if c.startswith("d")]
    cat = [c for c in cols if c.startswith("c")]
    return FeatureTable(frame, "y", dense, cat, name="t")


def test_feature_table_validation_and_take():
    t = table(y=[1, 0, 1], d1=[1.0, 2.0, 3.0], c1=pd.Categorical(["a", "b", "a"]))
    assert (len(t), t.n_positive) == (3, 2)
    assert t.labels.dtype == np.float32
    sub = t.take([2, 0])
    assert sub.frame["d1"].tolist() == [3.0, 1.0]
    assert list(sub.frame["c1"].cat.categories) == ["a", "b"]  # categories kept
    with pytest.raises(DataError, match="missing column"):
        FeatureTable(pd.DataFrame({"y": [1]}), "y", ["d1"], [])
    with pytest.raises(ConfigError, match="more than once"):
        FeatureTable(pd.DataFrame({"y": [1], "a": [1]}), "y", ["a"], ["a"])
    with pytest.raises(ConfigError, match="at least one"):
        FeatureTable(pd.DataFrame({"y": [1]}), "y", [], [])


def test_vocabulary_from_training_rows_only():
    t = table(y=[1, 0, 1, 0, 1, 0],
              c1=["a", "a", "b", "a", "zz", "b"])
    train = np.array([0, 1, 2, 3])  # "zz" appears only outside the training rows
    enc = FeatureEncoder().fit(t, train)
    assert enc.vocab["c1"] == ["a", "b"]  # by training frequency: a (3), b (1)
    out = enc.transform(t)
    assert out.categorical[:, 0].tolist() == [1, 1, 2, 1, 0, 2]  # zz -> OOV 0
    assert out.vocab_sizes == [3]  # a, b + the OOV slot
    assert out.field_names == ["c1"]
    assert out.categorical.dtype == np.int64 and out.label.dtype == np.float32
    assert out.label.tolist() == [1, 0, 1, 0, 1, 0]


def test_min_count_and_missing_category():
    t = table(y=[0] * 7, c1=["a", "a", "a", None, None, "b", None])
    enc = FeatureEncoder(min_count=3).fit(t)
    assert enc.vocab["c1"] == ["<missing>", "a"]  # both seen 3 times; ties by value
    idx = enc.transform(t).categorical[:, 0]
    assert idx.tolist() == [2, 2, 2, 1, 1, 0, 1]  # b (seen once) is OOV
    rare = FeatureEncoder(min_count=4).fit(t)  # missing seen 3 < 4 times: OOV too
    assert rare.vocab["c1"] == [] and rare.transform(t).categorical.max() == 0
    assert MISSING == "<missing>"


def test_category_values_compared_by_string_form():
    train = table(y=[0, 1, 0], c1=[5, 7, 5])
    enc = FeatureEncoder().fit(train)
    serve = table(y=[0, 0, 0, 0], c1=["5", "7", "8", np.nan])
    idx = enc.transform(serve).categorical[:, 0].tolist()
    assert idx == [1, 2, 0, 0]
    floats = table(y=[0, 0], c1=[5.0, np.nan])  # an int column with a gap becomes float
    assert enc.transform(floats).categorical[:, 0].tolist() == [1, 0]


def test_dense_log_transform_negative_missing_inf():
    t = table(y=[0, 1, 0, 1, 0], d1=[0.0, 9.0, -3.0, np.nan, np.inf])
    out = FeatureEncoder(dense_transform="log").fit(t).transform(t)
    expected = [0.0, np.log1p(9.0), -np.log1p(3.0), 0.0, 0.0]
    np.testing.assert_allclose(out.dense[:, 0], expected, rtol=1e-6)
    assert out.dense.dtype == np.float32 and np.isfinite(out.dense).all()


def test_dense_standard_uses_training_statistics_and_constant_columns():
    t = table(y=[0] * 6, d1=[1.0, 3.0, np.nan, 5.0, 100.0, -np.inf], d2=[7.0] * 6)
    enc = FeatureEncoder(dense_transform="standard").fit(t, [0, 1, 2])
    assert enc.mean[0] == pytest.approx(2.0) and enc.std[0] == pytest.approx(1.0)
    assert enc.std[1] == 1.0  # constant column: std 0 would divide by zero
    out = enc.transform(t).dense
    np.testing.assert_allclose(out[:, 0], [-1.0, 1.0, 0.0, 3.0, 98.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], 0.0)
    none = FeatureEncoder(dense_transform="none").fit(t).transform(t).dense
    np.testing.assert_allclose(none[:, 0], [1.0, 3.0, 0.0, 5.0, 100.0, 0.0])


def test_json_round_trip_and_serving_without_label():
    t = table(y=[1, 0, 1, 0], d1=[1.0, 2.0, np.nan, 4.0], c1=["x", "y", None, "x"],
              c2=pd.Categorical(["p", "p", "q", "r"]))
    enc = FeatureEncoder(min_count=1, dense_transform="standard").fit(t, [0, 1, 2])
    text = json.dumps(enc.to_dict())
    back = FeatureEncoder.from_dict(json.loads(text))
    a, b = enc.transform(t), back.transform(t)
    np.testing.assert_array_equal(a.categorical, b.categorical)
    np.testing.assert_allclose(a.dense, b.dense)
    assert a.vocab_sizes == b.vocab_sizes
    rows = pd.DataFrame({"d1": [2.0], "c1": ["y"], "c2": ["q"]})  # new rows, no label
    served = back.transform(FeatureTable(rows.assign(y=0), "y", ["d1"], ["c1", "c2"]))
    assert served.categorical.tolist() == [[a.categorical[1, 0], a.categorical[2, 1]]]
    with pytest.raises(ConfigError, match="not a serialised"):
        FeatureEncoder.from_dict({"format": "other"})


def test_errors():
    t = table(y=[1, 0], c1=["a", "b"])
    with pytest.raises(ConfigError, match="before fit"):
        FeatureEncoder().transform(t)
    with pytest.raises(ConfigError, match="min_count"):
        FeatureEncoder(min_count=0)
    with pytest.raises(ConfigError, match="dense_transform"):
        FeatureEncoder(dense_transform="sqrt")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unfitted"):
        FeatureEncoder().to_dict()
    enc = FeatureEncoder().fit(t)
    with pytest.raises(DataError, match="lack column"):
        enc.transform(FeatureTable(pd.DataFrame({"y": [1], "c9": ["a"]}), "y", [], ["c9"]))
    with pytest.raises(DataError, match="zero rows"):
        FeatureEncoder().fit(t, [])
    bad = FeatureTable(pd.DataFrame({"y": [0, 1], "d1": ["1.5", "abc"]}), "y", ["d1"], [])
    with pytest.raises(DataError, match="not a number") as e:
        FeatureEncoder().fit(bad)
    assert "'abc'" in str(e.value) and "d1" in str(e.value)


@settings(max_examples=40, deadline=None)
@given(train=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=30),
       test=st.lists(st.sampled_from(["a", "b", "c", "d", None]), min_size=1, max_size=30),
       min_count=st.integers(1, 4))
def test_indices_in_range_and_oov_exactly_for_rare(train, test, min_count):
    frame = pd.DataFrame({"y": 0, "c1": train + test})
    t = FeatureTable(frame, "y", [], ["c1"])
    rows = np.arange(len(train))
    enc = FeatureEncoder(min_count=min_count).fit(t, rows)
    out = enc.transform(t)
    assert ((out.categorical >= 0) & (out.categorical < out.vocab_sizes[0])).all()
    counts = pd.Series([MISSING if v is None else v for v in train]).value_counts()
    for value, index in zip(train + test, out.categorical[:, 0]):
        key = MISSING if value is None else value
        assert (index == 0) == (counts.get(key, 0) < min_count)


@pytest.mark.realdata
def test_criteo_sample_encoding(data_dir):
    from autorec.datasets import load

    t = load("criteo-sample", data_path=data_dir / "criteo-sample")
    enc = FeatureEncoder(min_count=2, dense_transform="log").fit(t, np.arange(8_000))
    out = enc.transform(t)
    assert isinstance(out, EncodedFeatures) and len(out) == 10_000
    assert out.dense.shape == (10_000, 13) and out.categorical.shape == (10_000, 26)
    assert np.isfinite(out.dense).all()
    assert (out.categorical < np.asarray(out.vocab_sizes)).all()
    # rows after the training part see categories absent from training: they must be OOV
    seen = set(t.frame["C3"].iloc[:8_000].dropna().astype(str))
    later = t.frame["C3"].iloc[8_000:].astype(object)
    unseen = np.array([v is not None and v == v and str(v) not in seen for v in later])
    assert unseen.any() and (out.categorical[8_000:, 2][unseen] == 0).all()
    assert out.label.sum() == 2_182
    # I2 holds negative counts: log keeps the sign
    i2 = t.frame["I2"].to_numpy()
    neg = np.flatnonzero(i2 < 0)
    assert neg.size and (out.dense[neg, 1] < 0).all()
