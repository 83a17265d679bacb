"""iALS and BPR-MF (families/factors.py): iALS's solves are the normal equations, its sweeps
never raise the objective, a training user folds back in to its own row; BPR learns and its
fold-in is a minimum of its objective; both save, load and stop on validation NDCG."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import autorec
from autorec import TopNModel
from autorec.errors import ConfigError
from autorec.families import factors
from autorec.splits import make_split

from planted import planted_clicks


@pytest.fixture(scope="module")
def split():
    return make_split(planted_clicks(80, 50), "user-80-20", seed=0)


def _normal_equations(x, fixed, alpha0, lambdas):
    x = x.toarray()
    out = np.zeros((x.shape[0], fixed.shape[1]))
    gram = alpha0 * fixed.T @ fixed
    for r in range(x.shape[0]):
        f = fixed[x[r] > 0]
        if len(f):
            out[r] = np.linalg.solve(f.T @ f + gram + lambdas[r] * np.eye(fixed.shape[1]), f.sum(0))
    return out


@pytest.mark.parametrize("bucket", [1 << 23, 300])  # one batched solve, or one per few rows
def test_ials_solves_are_the_normal_equations(monkeypatch, bucket):
    monkeypatch.setattr(factors, "_BUCKET_FLOATS", bucket)
    rng = np.random.default_rng(1)
    dense = (rng.random((40, 25)) < 0.2).astype(float)
    dense[3] = 0  # an empty row
    dense[5, :12] = 1  # rows longer than d = 6 take the d x d solve, the others the short one
    assert (dense.sum(1) >= 6).sum() >= 2 and ((dense.sum(1) < 6) & (dense.sum(1) > 0)).sum() >= 10
    x = sp.csr_matrix(dense)
    fixed = rng.normal(size=(25, 6))
    lam = factors.ials_lambdas(np.diff(x.indptr), 25, 0.1, 0.05, 1.0)
    got = factors.solve_rows(x, torch.from_numpy(fixed), 0.1, lam).numpy()
    np.testing.assert_allclose(got, _normal_equations(x, fixed, 0.1, lam), rtol=1e-9, atol=1e-10)
    assert not got[3].any()
    every_row_by_cholesky = factors.solve_rows(x, torch.from_numpy(fixed), 0.1, lam, short_rows=False).numpy()
    np.testing.assert_allclose(every_row_by_cholesky, got, rtol=1e-9, atol=1e-10)


def test_ials_float32_falls_back_to_float64_where_it_cannot_factor():
    # a tiny L2 beside large factors: float32 rounding makes the system indefinite
    rng = np.random.default_rng(2)
    # rows of 160 entries take the 128 x 128 solve, rows of 60 the short one
    x = sp.csr_matrix((rng.random((30, 200)) < np.where(np.arange(30) < 15, 0.8, 0.3)[:, None]).astype(float))
    fixed = rng.normal(size=(200, 128)) * 100
    lam = np.full(30, 1e-6)
    got = factors.solve_rows(x, torch.from_numpy(fixed.astype(np.float32)), 1e-4, lam).numpy()
    want = _normal_equations(x, fixed.astype(np.float32).astype(np.float64), 1e-4, lam)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got @ fixed.T, want @ fixed.T, atol=0.05)


def test_ials_sweeps_never_raise_the_objective(split):
    model = TopNModel("ials", {"dim": 8, "alpha0": 0.05, "reg": 0.01}, train={"max_epochs": 8, "patience": 0})
    model.fit(split.train)
    losses = [e.train_loss for e in model.history_.epochs]
    assert len(losses) == 8
    assert all(b <= a * (1 + 1e-5) for a, b in zip(losses, losses[1:])), losses


def test_ials_fold_in_gives_a_training_user_its_own_row(split):
    model = TopNModel("ials", {"dim": 8}, train={"max_epochs": 5, "patience": 0}).fit(split.train)
    for user in (0, 7, 33):
        idx = model.seen_item_indices(user)
        history = list(model.item_ids_[idx])
        scores, _ = model._history_scores(history)
        np.testing.assert_allclose(scores, model.score_items(user), rtol=1e-4, atol=1e-5)
        assert ([i for i, _ in model.recommend(history=history, k=5)]
                == [i for i, _ in model.recommend(model.user_ids_[user], k=5)])


def test_factor_models_learn_and_stop_on_validation(split):
    popularity = TopNModel("popularity").fit(split.train).evaluate(split.test)["ndcg@20"]
    for name, train in (("ials", {"max_epochs": 15, "min_delta": 0.0}), ("bpr", {"max_epochs": 60, "lr": 0.01, "batch_size": 256})):
        val = make_split(split.train, "user-80-20", seed=1)
        model = TopNModel(name, {"dim": 16}, train=train).fit(val.train, val.test)
        h = model.history_
        best = max(e.validation["ndcg@20"] for e in h.epochs)
        assert h.best_value == pytest.approx(best)  # maximised, not minimised
        assert h.epochs[h.best_epoch - 1].validation["ndcg@20"] == best
        # the best epoch's factors are the ones kept
        got = model.evaluate(val.test, k=20)["ndcg@20"]
        assert got == pytest.approx(best, abs=1e-9)
        full = TopNModel(name, {"dim": 16}, train={**train, "max_epochs": h.best_epoch, "patience": 0}).fit(split.train)
        assert full.evaluate(split.test)["ndcg@20"] > popularity, name


@pytest.mark.parametrize("bias", [False, True])
def test_bpr_fold_in_is_a_minimum_of_its_objective(split, bias):
    model = TopNModel("bpr", {"dim": 6, "reg": 1e-3, "bias": bias}, train={"max_epochs": 5}).fit(split.train)
    h = model.state_.item.astype(np.float64)
    assert h.shape[1] == 6 + bias  # the item bias is the table's last column
    items = np.array([1, 4, 9, 20])
    w = factors.fold_in_user("bpr", model.state_.params, h, items)
    if bias:  # the user's column against the bias is fixed at 1, never fitted
        assert w[-1] == 1.0 and np.abs(model.state_.user[:, -1] - 1).max() == 0
    neg = np.setdiff1d(np.arange(h.shape[0]), items)
    free = slice(0, 6)

    def grad(w):  # d/dw of sum_i mean_j softplus(w.(h_j - h_i)) + reg n |w|^2 over the fitted part, by hand
        d = h[neg][None, :, :] - h[items][:, None, :]
        s = 1 / (1 + np.exp(-(d @ w)))
        return (s[..., None] * d[..., free]).mean(axis=1).sum(axis=0) + 2 * 1e-3 * len(items) * w[free]

    assert np.abs(grad(w)).max() < 1e-6
    w2 = w.copy()
    w2[free] *= 1.1
    assert np.abs(grad(w2)).max() > 1e-4  # a test that can fail


@pytest.mark.parametrize("name", ["ials", "bpr"])
def test_factor_models_save_and_load(split, tmp_path, name):
    model = TopNModel(name, {"dim": 8}, train={"max_epochs": 3}).fit(split.train, split.validation)
    again = autorec.load(model.save(tmp_path / name))
    assert isinstance(again, TopNModel) and again.hparams_ == model.hparams_
    np.testing.assert_array_equal(again.score_users([0, 1, 2]), model.score_users([0, 1, 2]))
    assert again.recommend(history=[0, 3, 5], k=4) == model.recommend(history=[0, 3, 5], k=4)
    assert again.history_.best_epoch == model.history_.best_epoch


def test_fits_are_seeded(split):
    for name in ("ials", "bpr"):
        a = TopNModel(name, {"dim": 4}, train={"max_epochs": 3, "seed": 5}).fit(split.train)
        b = TopNModel(name, {"dim": 4}, train={"max_epochs": 3, "seed": 5}).fit(split.train)
        np.testing.assert_array_equal(a.state_.item, b.state_.item)


def test_bad_parameters_say_what_is_wrong(split):
    with pytest.raises(ConfigError, match="ials: reg must be > 0"):
        TopNModel("ials", {"reg": 0.0}).fit(split.train)
    with pytest.raises(ConfigError, match="bpr: negatives must be one of uniform, popularity"):
        TopNModel("bpr", {"negatives": "hard"}).fit(split.train)
    with pytest.raises(ConfigError, match="has no parameter"):
        TopNModel("ials", {"lambda": 3}).fit(split.train)
    with pytest.raises(ConfigError, match="unknown training setting"):
        TopNModel("bpr", train={"learning_rate": 0.1}).fit(split.train)


def test_ials_unobserved_weight_is_relative_to_the_catalogue(split):
    # alpha0 * n_items = unobserved * positives per user; an explicit alpha0 is used as it is
    model = TopNModel("ials", {"dim": 4, "unobserved": 20.0}, train={"max_epochs": 1}).fit(split.train)
    x = model.history_matrix_
    per_user = x.nnz / (np.diff(x.indptr) > 0).sum()
    assert model.hparams_["alpha0"] == pytest.approx(20.0 * per_user / x.shape[1])
    fixed = TopNModel("ials", {"dim": 4, "alpha0": 0.05}, train={"max_epochs": 1}).fit(split.train)
    assert fixed.hparams_["alpha0"] == 0.05
    again = TopNModel("ials", model.hparams_, train={"max_epochs": 1}).fit(split.train)
    np.testing.assert_array_equal(again.state_.item, model.state_.item)
