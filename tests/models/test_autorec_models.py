"""The AutoRec family: the exact sparse path against the dense reference, the primitives'
gradients, fills, noise, prediction, config/hparams and a real-data fit (ML-100K u1)."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from autorec.hparams import DefaultHP, FixedHP
from autorec.data.interactions import Interactions
from autorec.errors import ConfigError, DataError
from autorec.models.autorec import (
    ACTIVATIONS,
    FILLS,
    AutoRec,
    AutoRecConfig,
    RowSource,
    deep_hidden,
)
from autorec.models.sparse_ops import (
    SparsePattern,
    half_squared_norm,
    sampled_linear,
    sddmm,
    sparse_linear,
    spmm,
    spmm_t,
)

ROOT = Path(__file__).resolve().parents[2]
N_ROWS, N_COLS, SIDE = 24, 31, 3


def random_matrix(n_rows=N_ROWS, n_cols=N_COLS, density=0.25, seed=0, empty_row=True) -> sp.csr_matrix:
    """Random 1..5 ratings; row 2 (and column 5) left empty to exercise empty rows/columns."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_rows, n_cols)) < density
    if empty_row:
        mask[2] = False
        mask[:, 5] = False
    dense = np.where(mask, rng.integers(1, 6, (n_rows, n_cols)), 0).astype(np.float32)
    m = sp.csr_matrix(dense)
    m.sort_indices()
    return m


def side_features(n_rows=N_ROWS, seed=0) -> np.ndarray:
    return np.random.default_rng(seed + 7).normal(size=(n_rows, SIDE)).astype(np.float32)


def losses_and_grads(model: AutoRec, batch, dense: bool, seed: int = 11):
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)  # the same noise/dropout draws for both paths
    loss, count = model.batch_loss(batch, dense=dense)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return loss.detach(), count, grads


def assert_paths_agree(model: AutoRec, batch, rtol=1e-9, atol=1e-9):
    ls, cs, gs = losses_and_grads(model, batch, dense=False)
    ld, cd, gd = losses_and_grads(model, batch, dense=True)
    assert cs == cd == batch.nnz
    torch.testing.assert_close(ls, ld, rtol=rtol, atol=atol)
    assert gs.keys() == gd.keys()
    for name in gs:
        torch.testing.assert_close(gs[name], gd[name], rtol=rtol, atol=atol, msg=f"gradient of {name}")
    # a vacuous agreement (both zero) would prove nothing
    assert float(ls) > 0
    assert any(float(g.abs().max()) > 0 for g in gs.values())


# ------------------------------------------------------------------------ primitives
def _pattern(seed=0, n_rows=6, n_cols=9, density=0.35):
    m = random_matrix(n_rows, n_cols, density, seed, empty_row=True)
    return m, SparsePattern.from_csr(m.indptr, m.indices, n_cols)


def test_pattern_transpose_matches_scipy():
    m, pat = _pattern(seed=3, n_rows=12, n_cols=17)
    t = m.T.tocsr()
    np.testing.assert_array_equal(pat.ccol.numpy(), t.indptr)
    np.testing.assert_array_equal(pat.csc_rows.numpy(), t.indices)
    vals = torch.from_numpy(m.data)
    np.testing.assert_array_equal(vals[pat.csc_perm].numpy(), t.data)
    np.testing.assert_array_equal(pat.rows.numpy(), m.tocoo().row)
    assert pat.dense_mask().sum() == m.nnz


def test_products_match_dense():
    m, pat = _pattern(seed=4, n_rows=10, n_cols=13)
    x = torch.from_numpy(m.toarray()).double()
    vals = torch.from_numpy(m.data).double()
    g = torch.Generator().manual_seed(0)
    big = torch.randn(13, 4, generator=g, dtype=torch.float64)
    small = torch.randn(10, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(spmm(pat, vals, big), x @ big)
    torch.testing.assert_close(spmm_t(pat, vals, small), x.t() @ small)
    torch.testing.assert_close(sddmm(pat, small, big), (small @ big.t())[pat.rows, pat.cols])


@pytest.mark.parametrize("fill", ["none", "col", "row"])
def test_sparse_linear_gradcheck(fill):
    m, pat = _pattern(seed=1)
    vals = torch.from_numpy(m.data).double()
    g = torch.Generator().manual_seed(1)
    w = torch.randn(m.shape[1], 3, generator=g, dtype=torch.float64, requires_grad=True)
    col = torch.randn(m.shape[1], generator=g, dtype=torch.float64) if fill == "col" else None
    row = torch.randn(m.shape[0], generator=g, dtype=torch.float64) if fill == "row" else None
    assert torch.autograd.gradcheck(lambda w: sparse_linear(vals, w, pat, col, row), (w,))
    # and the forward is (fill + X) @ W densely
    fill_dense = 0.0 if fill == "none" else (col.unsqueeze(0) if fill == "col" else row.unsqueeze(1))
    fill_at = 0.0 if fill == "none" else (col[pat.cols] if fill == "col" else row[pat.rows])
    x = pat.to_dense(vals + fill_at, fill_dense)
    torch.testing.assert_close(sparse_linear(vals - 0.0, w.detach(), pat, col, row), x @ w.detach())


@pytest.mark.parametrize("bias", [True, False])
def test_sampled_linear_gradcheck(bias):
    m, pat = _pattern(seed=2)
    g = torch.Generator().manual_seed(2)
    z = torch.randn(m.shape[0], 3, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(m.shape[1], 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(m.shape[1], generator=g, dtype=torch.float64, requires_grad=True) if bias else None
    inputs = (z, w, b) if bias else (z, w)
    fn = (lambda z, w, b: sampled_linear(z, w, b, pat)) if bias else (lambda z, w: sampled_linear(z, w, None, pat))
    assert torch.autograd.gradcheck(fn, inputs)


def test_half_squared_norm_value_and_gradcheck():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(half_squared_norm([a, b]), 0.5 * ((a ** 2).sum() + (b ** 2).sum()))
    assert torch.autograd.gradcheck(lambda a, b: half_squared_norm([a, b]), (a, b))


def test_pattern_without_transpose_refuses_backward():
    m = random_matrix(5, 7, 0.5, 0, empty_row=False)
    pat = SparsePattern.from_csr(m.indptr, m.indices, 7, transpose=False)
    w = torch.randn(7, 3, requires_grad=True)
    out = sparse_linear(torch.from_numpy(m.data), w, pat)
    with pytest.raises(RuntimeError, match="without its transpose"):
        out.sum().backward()


# ---------------------------------------------------------- sparse path == dense path
OPTION_GRID = list(itertools.product(
    ["item", "user"],  # orientation
    FILLS,  # fill
    [(6,), (7, 4, 7)],  # shallow / deep
    ["none", "dropout", "gaussian"],  # input noise
    [0, SIDE],  # side information
))


@pytest.mark.parametrize("orientation,fill,hidden,noise,side_dim", OPTION_GRID)
def test_sparse_equals_dense_every_option(orientation, fill, hidden, noise, side_dim):
    m = random_matrix(seed=OPTION_GRID.index((orientation, fill, hidden, noise, side_dim)))
    cfg = AutoRecConfig(
        orientation=orientation, hidden=hidden, fill=fill, noise=noise,
        noise_level=0.3 if noise != "none" else 0.0, dropout=0.25, side_dim=side_dim,
        encoder_activation="elu", hidden_activation="tanh", decoder_activation="sigmoid",
    )
    source = RowSource(m, side=side_features() if side_dim else None, fill=fill, orientation=orientation)
    model = AutoRec(N_COLS, cfg, seed=5).double()
    model.init_output_bias(0.5)
    batch = source.batch(np.array([7, 2, 0, 19, 23, 11])).to(dtype=torch.float64)
    assert_paths_agree(model, batch)


# every activation as the encoder's g and as the decoder's f
ACTIVATION_PAIRS = sorted({(a, a) for a in ACTIVATIONS} | {(a, "identity") for a in ACTIVATIONS})


@pytest.mark.parametrize("g,f", ACTIVATION_PAIRS)
def test_sparse_equals_dense_every_activation(g, f):
    m = random_matrix(seed=9)
    cfg = AutoRecConfig(hidden=(5,), encoder_activation=g, decoder_activation=f, fill="item_mean")
    model = AutoRec(N_COLS, cfg, seed=1).double()
    with torch.no_grad():  # push pre-activations to both sides of 0 so kinks are exercised
        model.decoder_bias.copy_(torch.linspace(-1.0, 1.0, N_COLS, dtype=torch.float64))
        model.encoder_bias.copy_(torch.linspace(-0.5, 0.5, 5, dtype=torch.float64))
    batch = RowSource(m, fill="item_mean").batch(np.arange(N_ROWS)).to(dtype=torch.float64)
    assert_paths_agree(model, batch)


def test_sparse_equals_dense_float32_paper_defaults():
    m = random_matrix(60, 80, 0.1, seed=12)
    source = RowSource(m)
    model = AutoRec(80, AutoRecConfig(hidden=(50,)), seed=0)
    model.init_output_bias(source.global_mean)
    batch = source.batch(np.arange(60))
    ls, _, gs = losses_and_grads(model, batch, dense=False)
    ld, _, gd = losses_and_grads(model, batch, dense=True)
    torch.testing.assert_close(ls, ld, rtol=1e-5, atol=1e-4)
    for name in gs:
        torch.testing.assert_close(gs[name], gd[name], rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize("hidden,side_dim,refeed", [((6,), 0, False), ((7, 4, 7), SIDE, False),
                                                     ((7, 4, 7), 0, True)])
@pytest.mark.parametrize("dense", [False, True])
def test_bf16_autocast_trains_every_path_in_float32_state(hidden, side_dim, refeed, dense):
    """Under ``precision="bf16"`` (autocast) the dense layers run in bfloat16 and feed the
    float32 sparse products; the loss and every gradient stay float32, close to fp32's."""
    from autorec.train.engine import TrainConfig, training_precision

    m = random_matrix(seed=21)
    cfg = AutoRecConfig(hidden=hidden, side_dim=side_dim, dense_refeed=refeed, fill="item_mean")
    source = RowSource(m, side=side_features() if side_dim else None, fill="item_mean")
    model = AutoRec(N_COLS, cfg, seed=3)
    model.init_output_bias(source.global_mean)
    batch = source.batch(np.arange(N_ROWS))

    def loss_and_grads(precision):
        model.zero_grad(set_to_none=True)
        with training_precision(TrainConfig(precision=precision), torch.device("cpu")):
            loss, _ = model.batch_loss(batch, dense=dense)
            assert loss.dtype == torch.float32  # the squared errors are not taken in bfloat16
            if refeed:
                extra = model.refeed_loss(batch)[0]
                assert extra.dtype == torch.float32
                loss = loss + extra
        loss.backward()
        return loss, {n: p.grad for n, p in model.named_parameters() if p.grad is not None}

    l32, g32 = loss_and_grads("fp32")
    l16, g16 = loss_and_grads("bf16")
    assert l16.dtype == torch.float32 and g16.keys() == g32.keys()
    assert all(g.dtype == torch.float32 for g in g16.values())
    torch.testing.assert_close(l16, l32, rtol=0.02, atol=0.0)
    for name in g32:  # bfloat16 keeps ~3 significant digits
        scale = float(g32[name].abs().max())
        assert float((g16[name] - g32[name]).abs().max()) <= 0.05 * scale + 1e-6, name
    if len(hidden) == 1 and not dense:
        # nothing dense to cast: the sparse path is exactly the fp32 one
        torch.testing.assert_close(l16, l32, rtol=0, atol=0)


def test_batch_with_no_ratings_and_duplicated_rows():
    m = random_matrix(seed=13)
    model = AutoRec(N_COLS, AutoRecConfig(hidden=(4,), fill="user_mean"), seed=0).double()
    source = RowSource(m, fill="user_mean")
    empty = source.batch(np.array([2])).to(dtype=torch.float64)  # row 2 has no ratings
    assert empty.nnz == 0
    loss, count = model.batch_loss(empty)
    assert count == 0 and float(loss.detach()) == 0.0
    loss.backward()  # a graph without entries still backpropagates (zero gradients)
    assert_paths_agree(model, source.batch(np.array([4, 4, 2, 9])).to(dtype=torch.float64))


# ----------------------------------------------------------------------- fills, noise
def _tiny_interactions() -> Interactions:
    frame = pd.DataFrame({
        "user": ["a", "a", "b", "c", "c", "c"],
        "item": [10, 20, 10, 10, 20, 30],
        "rating": [4.0, 2.0, 5.0, 3.0, 1.0, 5.0],
    })
    return Interactions.from_frame(frame, rating_scale=(1, 5))


@pytest.mark.parametrize("orientation", ["item", "user"])
def test_fill_names_mean_the_same_thing_in_both_orientations(orientation):
    inter = _tiny_interactions()
    frame = inter.to_frame()
    user_mean = frame.groupby("user")["rating"].mean().to_numpy()  # users a, b, c
    item_mean = frame.groupby("item")["rating"].mean().to_numpy()  # items 10, 20, 30
    for fill, expected in (("user_mean", user_mean), ("item_mean", item_mean)):
        src = RowSource.from_interactions(inter, orientation=orientation, fill=fill)
        rows_are = "item" if orientation == "item" else "user"
        got = src.row_fill if fill == f"{rows_are}_mean" else src.col_fill
        assert got is not None
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert RowSource.from_interactions(inter, orientation=orientation).row_fill is None


def test_dense_input_keeps_fill_off_the_observed_entries():
    m = random_matrix(seed=3)
    src = RowSource(m, fill="user_mean", orientation="item")  # a column fill
    model = AutoRec(N_COLS, AutoRecConfig(hidden=(4,), fill="user_mean", noise="gaussian", noise_level=0.5))
    batch = src.batch(np.arange(8))
    model.train()
    torch.manual_seed(0)
    x = model._dense_input(batch, model._corrupt(batch))
    off = ~batch.pattern.dense_mask()
    expected = torch.from_numpy(src.col_fill).unsqueeze(0).expand(8, -1)
    torch.testing.assert_close(x[off], expected[off])  # unobserved: exactly the fill, no noise
    on = batch.pattern.dense_mask()
    assert not torch.allclose(x[on], torch.from_numpy(m[:8].toarray())[on])  # observed: noisy


def test_empty_row_or_column_falls_back_to_global_mean():
    m = random_matrix(seed=4)
    src_row = RowSource(m, fill="item_mean", orientation="item")
    src_col = RowSource(m, fill="user_mean", orientation="item")
    assert src_row.row_fill[2] == pytest.approx(m.data.mean())
    assert src_col.col_fill[5] == pytest.approx(m.data.mean())


@pytest.mark.parametrize("noise", ["dropout", "gaussian"])
def test_noise_only_in_training_mode(noise):
    m = random_matrix(seed=5)
    model = AutoRec(N_COLS, AutoRecConfig(hidden=(6,), noise=noise, noise_level=0.4), seed=0)
    batch = RowSource(m).batch(np.arange(N_ROWS))
    with torch.no_grad():
        model.eval()
        clean = [float(model.batch_loss(batch)[0]) for _ in range(2)]
        assert clean[0] == clean[1]
        model.train()
        torch.manual_seed(1)
        noisy = float(model.batch_loss(batch)[0])
        assert noisy != clean[0]
        # the clean loss is what the noise-free model computes
        plain = AutoRec(N_COLS, AutoRecConfig(hidden=(6,)), seed=0)
        assert float(plain.batch_loss(batch)[0]) == pytest.approx(clean[0], rel=1e-6)


def test_dropout_noise_drops_and_rescales_observed_entries():
    m = random_matrix(60, 50, 0.3, seed=6)
    batch = RowSource(m).batch(np.arange(60))
    for rescale in (True, False):
        model = AutoRec(50, AutoRecConfig(hidden=(4,), noise="dropout", noise_level=0.5, noise_rescale=rescale))
        torch.manual_seed(0)
        dev = model._corrupt(batch)
        kept = dev != 0
        assert 0.4 < kept.float().mean() < 0.6
        factor = 2.0 if rescale else 1.0
        torch.testing.assert_close(dev[kept], batch.ratings[kept] * factor)


# --------------------------------------------------------------------- regularisation
def test_regularization_is_half_squared_weights_without_biases():
    cfg = AutoRecConfig(hidden=(6, 3, 6), side_dim=SIDE)
    model = AutoRec(N_COLS, cfg, seed=2)
    expected = 0.5 * sum(float((p.detach().double() ** 2).sum())
                         for n, p in model.named_parameters() if "bias" not in n)
    assert float(model.regularization().detach()) == pytest.approx(expected, rel=1e-5)
    model.regularization().backward()
    for n, p in model.named_parameters():
        if "bias" in n:
            assert p.grad is None
        else:
            torch.testing.assert_close(p.grad, p.detach())
    assert len(model.weight_matrices()) == 5  # V, side, two inner layers, W


# ------------------------------------------------------------------------- prediction
def test_predict_pairs_matches_dense_reconstruction():
    m = random_matrix(seed=8)
    side = side_features()
    cfg = AutoRecConfig(hidden=(7, 3, 7), fill="item_mean", side_dim=SIDE, dropout=0.5,
                        noise="dropout", noise_level=0.5)
    model = AutoRec(N_COLS, cfg, seed=3)
    model.init_output_bias(3.0)
    src = RowSource(m, side=side, fill="item_mean")
    rng = np.random.default_rng(0)
    rows = rng.integers(0, N_ROWS, 200)
    cols = rng.integers(0, N_COLS, 200)
    model.train()
    pred = model.predict_pairs(src, rows, cols, chunk_rows=5, chunk_pairs=17)
    assert model.training  # mode restored
    # the reference: dense input with the fill, dense layers, eval mode
    model.eval()
    with torch.no_grad():
        full = src.batch(np.arange(N_ROWS))
        x = full.pattern.to_dense(full.ratings, full.dense_fill())
        recon = model.dense_forward(x, full.side).numpy()
    np.testing.assert_allclose(pred, recon[rows, cols], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.reconstruct(src, np.array([3, 1])), recon[[3, 1]], rtol=1e-5, atol=1e-5)


def test_predict_pairs_validates_indices():
    m = random_matrix(seed=1)
    model = AutoRec(N_COLS, AutoRecConfig(hidden=(3,)))
    src = RowSource(m)
    with pytest.raises(ConfigError, match="cols must lie"):
        model.predict_pairs(src, np.array([0]), np.array([N_COLS]))
    with pytest.raises(ConfigError, match="same length"):
        model.predict_pairs(src, np.array([0, 1]), np.array([0]))
    assert model.predict_pairs(src, np.array([], dtype=np.int64), np.array([], dtype=np.int64)).shape == (0,)


# ------------------------------------------------------------------ re-feeding, training
def test_refeed_loss_is_dense_and_learnable():
    m = random_matrix(seed=2)
    cfg = AutoRecConfig(hidden=(8, 4, 8), encoder_activation="selu", dense_refeed=True)
    model = AutoRec(N_COLS, cfg, seed=0)
    src = RowSource(m)
    batch = src.batch(np.arange(N_ROWS))
    loss, count = model.refeed_loss(batch)
    assert count == N_ROWS * N_COLS
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = float(loss.detach())
    for _ in range(30):
        opt.zero_grad()
        loss, _ = model.refeed_loss(batch)
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first


def test_training_fits_low_rank_ratings():
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(80, 3)), rng.normal(size=(60, 3))
    full = np.clip(np.rint(3 + u @ v.T), 1, 5).astype(np.float32)
    mask = rng.random(full.shape) < 0.5
    m = sp.csr_matrix(np.where(mask, full, 0))
    torch.manual_seed(0)
    src = RowSource(m)
    model = AutoRec(60, AutoRecConfig(hidden=(40,)), seed=0)
    model.init_output_bias(src.global_mean)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    mse = []
    for epoch in range(60):
        total = 0.0
        for batch in src.batches(16, seed=epoch):
            opt.zero_grad()
            sse, count = model.batch_loss(batch)
            (sse / count).backward()
            opt.step()
            total += float(sse.detach())
        mse.append(total / m.nnz)
    baseline = float(np.var(m.data))
    assert mse[-1] < 0.25 * baseline


# ------------------------------------------------------------------ config and hparams
def test_config_json_round_trip_and_rebuild(tmp_path):
    from safetensors.torch import load_file, save_file

    cfg = AutoRecConfig(orientation="user", hidden=(9, 4, 9), fill="user_mean", noise="gaussian",
                        noise_level=0.1, dropout=0.2, side_dim=SIDE, dense_refeed=True)
    text = json.dumps(cfg.to_dict())
    assert AutoRecConfig.from_dict(json.loads(text)) == cfg
    model = AutoRec(N_COLS, cfg, seed=4)
    save_file(model.state_dict(), str(tmp_path / "w.safetensors"))
    rebuilt = AutoRec(N_COLS, AutoRecConfig.from_dict(json.loads(text)), seed=99)
    rebuilt.load_state_dict(load_file(str(tmp_path / "w.safetensors")))
    src = RowSource(random_matrix(seed=4), side=side_features(), fill="user_mean", orientation="user")
    rows, cols = np.arange(N_ROWS), np.arange(N_ROWS) % N_COLS
    np.testing.assert_array_equal(model.predict_pairs(src, rows, cols), rebuilt.predict_pairs(src, rows, cols))


@pytest.mark.parametrize("bad,match", [
    ({"orientation": "both"}, "orientation"),
    ({"hidden": ()}, "at least one"),
    ({"hidden": (10, 0)}, "integers >= 1"),
    ({"encoder_activation": "swish"}, "encoder_activation"),
    ({"dropout": 1.0}, "dropout"),
    ({"noise": "dropout", "noise_level": 1.2}, "drop probability"),
    ({"noise": "gaussian", "noise_level": -1}, "standard deviation"),
    ({"fill": "row_mean"}, "fill"),
    ({"side_dim": -1}, "side_dim"),
    ({"dense_refeed": "yes"}, "dense_refeed"),
])
def test_config_rejects_bad_values(bad, match):
    with pytest.raises(ConfigError, match=match):
        AutoRecConfig(**bad)


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="unknown AutoRec setting"):
        AutoRecConfig.from_dict({"hiden": [5]})


def test_hparams_defaults_are_the_paper():
    hp = DefaultHP()
    cfg = AutoRec.config_from_hparams(hp)
    assert cfg == AutoRecConfig()
    assert "autorec/deep_shape" not in hp.values and "autorec/noise_level" not in hp.values
    for spec in AutoRec.hparams.values():
        spec.validate(spec.default, "default")


def test_hparams_conditional_and_fixed():
    hp = FixedHP({"autorec/depth": 3, "autorec/deep_shape": "sbs", "autorec/hidden_units": 500,
                  "autorec/noise": "gaussian", "autorec/noise_level": 0.2})
    cfg = AutoRec.config_from_hparams(hp, fixed={"orientation": "user"}, side_dim=4)
    assert cfg.hidden == (250, 500, 250) and cfg.orientation == "user" and cfg.side_dim == 4
    assert cfg.noise == "gaussian" and cfg.noise_level == pytest.approx(0.2)
    assert "autorec/orientation" not in hp.values  # fixed values are never asked
    with pytest.raises(ConfigError, match="no hyperparameter"):
        AutoRec.config_from_hparams(DefaultHP(), fixed={"lambda": 1.0})


def test_deep_hidden_shapes():
    assert deep_hidden(500, 1) == (500,)
    assert deep_hidden(512, 3, "bsb") == (512, 256, 512)
    assert deep_hidden(512, 5, "bsb") == (512, 256, 128, 256, 512)
    assert deep_hidden(512, 5, "sbs") == (128, 256, 512, 256, 128)
    with pytest.raises(ConfigError):
        deep_hidden(100, 2)


# --------------------------------------------------------------------- input validation
def test_row_source_rejects_bad_input():
    m = random_matrix(seed=0)
    bad = m.copy()
    bad.data[3] = np.nan
    with pytest.raises(DataError, match="not finite"):
        RowSource(bad)
    dup = sp.csr_matrix((np.array([1.0, 2.0], np.float32), np.array([1, 1]), np.array([0, 2, 2])), shape=(2, 3))
    with pytest.raises(DataError, match="duplicate entries at row 0, column 1"):
        RowSource(dup)
    with pytest.raises(DataError, match="one row per matrix row"):
        RowSource(m, side=np.zeros((N_ROWS - 1, 2)))
    side = side_features()
    side[4, 1] = np.inf
    with pytest.raises(DataError, match="row 4, feature 1"):
        RowSource(m, side=side)
    with pytest.raises(DataError, match="scipy sparse"):
        RowSource(m.toarray())
    with pytest.raises(ConfigError, match="fill"):
        RowSource(m, fill="median")
    with pytest.raises(ConfigError, match="outside"):
        RowSource(m).batch(np.array([N_ROWS]))


def test_model_rejects_mismatched_batches():
    m = random_matrix(seed=0)
    with pytest.raises(ConfigError, match="columns"):
        AutoRec(N_COLS + 1, AutoRecConfig(hidden=(3,))).batch_loss(RowSource(m).batch(np.arange(3)))
    with pytest.raises(ConfigError, match="side_dim"):
        AutoRec(N_COLS, AutoRecConfig(hidden=(3,))).batch_loss(
            RowSource(m, side=side_features()).batch(np.arange(3)))
    with pytest.raises(ConfigError, match="n_inputs"):
        AutoRec(0)
    with pytest.raises(ConfigError, match="fill='item_mean'"):
        AutoRec(N_COLS, AutoRecConfig(hidden=(3,))).batch_loss(RowSource(m, fill="item_mean").batch(np.arange(3)))
    with pytest.raises(ConfigError, match="orientation='user'"):
        AutoRec(N_COLS, AutoRecConfig(hidden=(3,))).batch_loss(RowSource(m, orientation="user").batch(np.arange(3)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: GPU path not exercised")
def test_cuda_matches_cpu():
    m = random_matrix(seed=10)
    cfg = AutoRecConfig(hidden=(6, 3, 6), fill="user_mean")
    cpu = AutoRec(N_COLS, cfg, seed=0)
    gpu = AutoRec(N_COLS, cfg, seed=0).cuda()
    lc = cpu.batch_loss(RowSource(m, fill="user_mean").batch(np.arange(N_ROWS)))[0]
    lg = gpu.batch_loss(RowSource(m, fill="user_mean", device="cuda").batch(np.arange(N_ROWS)))[0]
    assert float(lg) == pytest.approx(float(lc), rel=1e-4)


# ----------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_i_autorec_learns_movielens_100k(data_dir):
    base = data_dir / "ml-100k"
    cols = ["user", "item", "rating", "timestamp"]
    train = pd.read_csv(base / "u1.base", sep="\t", names=cols)
    test = pd.read_csv(base / "u1.test", sep="\t", names=cols)
    inter = Interactions.from_frame(pd.concat([train, test], ignore_index=True), rating_scale=(1, 5))
    tr = inter.take(np.arange(len(train)))
    te = inter.take(np.arange(len(train), len(inter)))
    torch.manual_seed(0)
    src = RowSource.from_interactions(tr, orientation="item")
    model = AutoRec(inter.n_users, AutoRecConfig(), seed=0)  # the paper's k=500 sigmoid/identity
    model.init_output_bias(src.global_mean)
    opt = torch.optim.Adam([{"params": model.weight_matrices(), "weight_decay": 1.0},
                            {"params": [model.encoder_bias, model.decoder_bias], "weight_decay": 0.0}],
                           lr=3e-3)
    for epoch in range(5):
        for batch in src.batches(256, seed=epoch):
            opt.zero_grad()
            sse, _ = model.batch_loss(batch)
            sse.backward()
            opt.step()
    pred = np.clip(model.predict_pairs(src, te.items, te.users), 1, 5)
    rmse = float(np.sqrt(np.mean((pred - te.ratings) ** 2)))
    baseline = float(np.sqrt(np.mean((tr.ratings.mean() - te.ratings) ** 2)))  # 1.154 on u1
    assert rmse < 0.97 < baseline, (rmse, baseline)


# ---------------------------------------------------------------------------- benchmark
def test_speed_benchmark_quick_run(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_autorec_speed as bench
    finally:
        sys.path.pop(0)
    out = tmp_path / "speed.json"
    threads = torch.get_num_threads()
    try:
        result = bench.main(["--quick", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    saved = json.loads(out.read_text())
    assert saved["speedup_dense_over_sparse"] == pytest.approx(result["speedup_dense_over_sparse"])
    assert saved["data"]["ratings"] == 24000
    for path in ("sparse", "dense"):
        assert saved["seconds_per_epoch"][path]["median"] > 0
    # the two paths trained the same model: same per-epoch training error
    assert saved["max_train_mse_difference_between_paths"] < 1e-3
    assert saved["machine"]["torch_threads"] == 2
