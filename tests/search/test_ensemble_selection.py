"""Caruana greedy ensemble selection."""

from __future__ import annotations

import numpy as np
import pytest

from autorec.errors import ConfigError, DataError
from autorec.search.ensemble import caruana_ensemble, ensemble_predict


def _rmse(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((p - y) ** 2)))


def _logloss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_complementary_models_average_beats_both() -> None:
    # two models with opposite biases: each alone is off by 0.5, their average is exact;
    # a noisy model and a badly biased one are there to be left out
    rng = np.random.default_rng(0)
    y = rng.uniform(1, 5, size=200)
    preds = np.stack([y + 0.5, y - 0.5, y + rng.normal(0, 0.8, size=200), y + 1.5])
    result = caruana_ensemble(preds, y, metric="rmse", max_size=10)
    singles = [_rmse(p, y) for p in preds]
    assert result.picks[0] == int(np.argmin(singles)) == 0  # the best single model (ties: lowest index)
    assert result.weights.tolist() == [1, 1, 0, 0]
    assert result.score == pytest.approx(0.0, abs=1e-12) and min(singles) == pytest.approx(0.5)
    assert result.score == pytest.approx(_rmse(result.predict(preds), y))


@pytest.mark.parametrize("metric", ["rmse", "mae", "logloss"])
@pytest.mark.parametrize("with_replacement", [True, False])
def test_never_worse_than_the_best_single_model(metric: str, with_replacement: bool) -> None:
    rng = np.random.default_rng(1)
    for trial in range(20):
        n_models, n = int(rng.integers(1, 8)), int(rng.integers(5, 60))
        if metric == "logloss":
            y = rng.integers(0, 2, size=n).astype(float)
            preds = rng.uniform(0.01, 0.99, size=(n_models, n))
        else:
            y = rng.normal(size=n)
            preds = y + rng.normal(0, rng.uniform(0.1, 2, size=(n_models, 1)), size=(n_models, n))
        result = caruana_ensemble(preds, y, metric=metric, max_size=15, with_replacement=with_replacement)
        score = {"rmse": _rmse, "logloss": _logloss, "mae": lambda p, t: float(np.mean(np.abs(p - t)))}[metric]
        singles = [score(p, y) for p in preds]
        assert result.picks[0] == int(np.argmin(singles))
        assert result.score <= min(singles) + 1e-12
        assert result.score == pytest.approx(score(result.predict(preds), y))
        # the bag is the best prefix of the pick path
        assert result.weights.sum() == result.best_size
        assert result.score == min(result.scores)
        assert np.array_equal(result.weights, np.bincount(result.picks[: result.best_size], minlength=n_models))
        if not with_replacement:
            assert result.weights.max() == 1 and len(result.picks) == len(set(result.picks)) <= n_models


def test_weights_sum_to_the_picks_and_repeats_express_weights() -> None:
    # the target is 3/4 of the way from model 0 to model 1: weights 3:1 are exact
    y = np.linspace(0, 1, 50)
    preds = np.stack([y - 1.0, y + 3.0])
    result = caruana_ensemble(preds, y, max_size=20)
    assert result.weights.tolist() == [3, 1]
    assert result.score == pytest.approx(0.0, abs=1e-12)
    assert result.best_size == 4 and len(result.scores) == 20
    # without replacement only the plain average of a subset is reachable
    no_rep = caruana_ensemble(preds, y, max_size=20, with_replacement=False)
    assert no_rep.weights.tolist() == [1, 0] and no_rep.score == pytest.approx(1.0)


def test_init_best_starts_with_the_top_models() -> None:
    y = np.zeros(10)
    preds = np.stack([np.full(10, 3.0), np.full(10, 0.5), np.full(10, -1.0), np.full(10, 2.0)])
    result = caruana_ensemble(preds, y, init_best=3, max_size=3)
    assert result.picks == [1, 2, 3]
    # bags {0.5}, {0.5, -1}, {0.5, -1, 2}: averages 0.5, -0.25, 0.5; the best prefix has two
    assert result.scores == pytest.approx([0.5, 0.25, 0.5])
    assert result.weights.tolist() == [0, 1, 1, 0]


def test_ensemble_predict_is_the_weighted_average() -> None:
    preds = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert ensemble_predict(preds, np.array([3, 1])).tolist() == [1.5, 3.0]
    with pytest.raises(ConfigError):
        ensemble_predict(preds, np.array([0, 0]))
    with pytest.raises(ConfigError):
        ensemble_predict(preds, np.array([1, 1, 1]))


def test_bad_inputs_are_rejected_with_where() -> None:
    y = np.array([0.0, 1.0, 1.0])
    good = np.array([[0.2, 0.7, 0.9]])
    with pytest.raises(ConfigError, match="unknown ensemble metric"):
        caruana_ensemble(good, y, metric="auc")
    with pytest.raises(ConfigError, match="2-D"):
        caruana_ensemble(good[0], y)
    with pytest.raises(ConfigError, match="rows"):
        caruana_ensemble(good, y[:2])
    with pytest.raises(ConfigError, match="init_best"):
        caruana_ensemble(good, y, init_best=2)
    with pytest.raises(ConfigError, match="max_size"):
        caruana_ensemble(np.vstack([good, good]), y, init_best=2, max_size=1)
    with pytest.raises(DataError, match="row 1 is not") as e:
        caruana_ensemble(np.array([[0.2, 0.7, 0.9], [0.1, np.nan, 0.3]]), y)
    assert e.value.column == "model 1"
    with pytest.raises(DataError, match="probabilities"):
        caruana_ensemble(np.array([[0.2, 1.7, 0.9]]), y, metric="logloss")
    with pytest.raises(DataError, match="0/1 targets"):
        caruana_ensemble(good, np.array([0.0, 2.0, 1.0]), metric="logloss")
