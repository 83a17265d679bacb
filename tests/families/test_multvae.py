"""Mult-VAE and Mult-DAE (families/multvae.py): the loss is the multinomial likelihood (plus the
annealed KL), training learns, a history folds in natively, and the models save and load."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import autorec
from autorec import TopNModel
from autorec.errors import ConfigError
from autorec.families import multvae
from autorec.splits import make_split

from planted import planted_clicks


@pytest.fixture(scope="module")
def split():
    return make_split(planted_clicks(150, 40), "user-80-20", seed=0)


def test_the_loss_is_the_multinomial_likelihood_and_the_annealed_kl():
    x = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 0]], dtype=float))
    values = multvae.check_vae_params("mult-vae", {"hidden": 5, "latent": 2, "dropout": 0.0, "anneal_steps": 4,
                                                   "beta_max": 0.3})
    module = multvae.new_module("mult-vae", values, 4, seed=0)
    adapter = multvae.MultVAEAdapter("mult-vae", module, x, None, values, seed=0)
    for step in range(3):
        g = torch.Generator().manual_seed(1)
        adapter.generator = torch.Generator().manual_seed(1)
        got = adapter.batch_loss(np.arange(3))
        # by hand: the same noise, the row normalised, then -sum x log softmax + beta KL, / users
        logits, kl = module(x, g)
        nll = -(torch.log_softmax(logits, 1) * torch.tensor(x.toarray(), dtype=torch.float32)).sum(1)
        beta = min(0.3, step / 4)
        assert got.item() == pytest.approx(((nll + beta * kl).sum() / 3).item(), rel=1e-6)


@pytest.mark.parametrize("name", ["mult-vae", "mult-dae", "cdae", "u-autorec", "i-autorec"])
def test_training_learns_folds_in_and_round_trips(split, tmp_path, name):
    val = make_split(split.train, "user-80-20", seed=1)
    popularity = TopNModel("popularity").fit(val.train).evaluate(val.test)["ndcg@20"]
    params = {"hidden": 32} if name in multvae.ROW_AUTOENCODERS else {"hidden": 32, "latent": 8}
    model = TopNModel(name, params, train={"max_epochs": 40, "lr": 3e-3}).fit(val.train, val.test)
    assert model.history_.best_value > popularity
    assert model.evaluate(val.test, k=20)["ndcg@20"] == pytest.approx(model.history_.best_value, abs=1e-9)
    # natively: a training user's own history is its row (CDAE's user node aside: a new user has none)
    user = 3
    history = list(model.item_ids_[model.seen_item_indices(user)])
    if name == "i-autorec":  # a new user would be a new input of the network: refused, with the reason
        again = autorec.load(model.save(tmp_path / name))
        np.testing.assert_array_equal(again.score_users([0, 5]), model.score_users([0, 5]))
        with pytest.raises(ConfigError, match="i-autorec cannot fold in a new user's history"):
            model.recommend(history=history[:3], k=5)
        return
    if name == "cdae":
        rows = model.history_matrix_[[user]]
        with torch.no_grad():
            no_node = model.state_.network(rows)[0].numpy()[0]
        np.testing.assert_allclose(model._history_scores(history)[0], no_node, rtol=1e-6)
        assert not np.allclose(no_node, model.score_items(user))
    else:
        np.testing.assert_allclose(model._history_scores(history)[0], model.score_items(user), rtol=1e-6)
    again = autorec.load(model.save(tmp_path / name))
    np.testing.assert_array_equal(again.score_users([0, 5]), model.score_users([0, 5]))
    assert again.recommend(history=history[:3], k=5) == model.recommend(history=history[:3], k=5)


def test_batch_size_follows_the_users_and_settings_are_checked(split):
    assert multvae.default_batch_size(sp.csr_matrix(np.ones((100, 3)))) == 32
    assert multvae.default_batch_size(sp.csr_matrix(np.ones((100_000, 3)))) == 500
    with pytest.raises(ConfigError, match="dropout must be in"):
        TopNModel("mult-vae", {"dropout": 1.0}).fit(split.train)
    with pytest.raises(ConfigError, match="mult-dae has no parameter"):
        TopNModel("mult-dae", {"beta_max": 0.2}).fit(split.train)
    with pytest.raises(ConfigError, match="cdae has no parameter"):
        TopNModel("cdae", {"latent": 8}).fit(split.train)


@pytest.mark.parametrize("name", ["cdae", "u-autorec", "i-autorec"])
def test_row_autoencoder_losses_cover_every_entry(name):
    x = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 0]], dtype=float))
    values = multvae.check_vae_params(name, {"hidden": 3, "dropout": 0.0, "reg": 0.01})
    module = multvae.new_module(name, values, 4, seed=0, n_users=3)
    adapter = multvae.MultVAEAdapter(name, module, x, None, values, seed=0)
    got = adapter.batch_loss(np.array([0, 2]))
    rows = x.T.tocsr() if name == "i-autorec" else x  # I-AutoRec encodes the items' columns
    with torch.no_grad():
        out, _ = module(rows[[0, 2]], users=np.array([0, 2]))
        t = torch.tensor(rows[[0, 2]].toarray(), dtype=torch.float32)
        if name == "cdae":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out, t, reduction="sum")
            loss = loss + 0.01 * (module.user.weight[[0, 2]] ** 2).sum()
        else:
            loss = ((out - t) ** 2).sum()
        loss = loss + 0.01 * ((module.enc.weight ** 2).sum() + (module.dec.weight ** 2).sum()) * 2
    assert got.item() == pytest.approx(loss.item() / rows.shape[0], rel=1e-5)


def test_i_autorec_scores_are_the_reconstructed_columns_and_its_table_is_bounded(split):
    model = TopNModel("i-autorec", {"hidden": 8}, train={"max_epochs": 2}).fit(split.train)
    columns = model.history_matrix_.T.tocsr()
    with torch.no_grad():
        every = model.state_.network(columns)[0].numpy()  # items x users
    np.testing.assert_allclose(model.score_users([1, 4]), every[:, [1, 4]].T, rtol=1e-6)
    n_users, n_items = model.history_matrix_.shape
    with pytest.raises(ConfigError, match="above its max_pairs"):
        TopNModel("i-autorec", {"max_pairs": n_users * n_items - 1}).fit(split.train)
