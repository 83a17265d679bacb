"""The zoo's pair models as top-N models (families/ranking_blocks.py): the losses are NeuMF's log
loss and BPR on the sampled negatives, training learns, the artifact round-trips, and fold-in
is refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autorec
from autorec import TopNModel
from autorec.errors import ConfigError
from autorec.families import ranking_blocks
from autorec.families.topn import TopNFamily
from autorec.hparams import DefaultHP
from autorec.splits import make_split

from planted import planted_clicks


@pytest.fixture(scope="module")
def split():
    return make_split(planted_clicks(120, 40), "user-80-20", seed=0)


@pytest.mark.parametrize("loss,negatives", [("bce", "uniform"), ("bpr", "uniform"), ("softmax", "uniform"),
                                            ("softmax", "popularity")])
def test_the_loss_is_the_log_loss_bpr_or_sampled_softmax_on_the_sampled_negatives(split, loss, negatives):
    x = TopNModel("gmf")._positives(split.train)
    module = ranking_blocks.new_module("gmf", {"embedding_dim": 8}, *x.shape, seed=0)
    adapter = ranking_blocks.BlockRankingAdapter(module, x, None, {"loss": loss, "n_negatives": 3,
                                                                   "negatives": negatives}, seed=0)
    index = np.arange(10)
    state = adapter.sampler.rng.bit_generator.state
    got = adapter.batch_loss(index)
    adapter.sampler.rng.bit_generator.state = state  # the same negatives again
    neg = adapter.sampler.sample(np.repeat(adapter.users[index], 3))
    with torch.no_grad():
        u = torch.from_numpy(adapter.users[index])
        pos = module({"user": u, "item": torch.from_numpy(adapter.items[index])})
        negs = module({"user": u.repeat_interleave(3), "item": torch.from_numpy(neg)}).reshape(10, 3)
    ranking_blocks._penalties(module)
    if loss == "bpr":
        want = torch.nn.functional.softplus(negs - pos[:, None]).mean()
    elif loss == "softmax":  # each logit less the log of its item's draw probability
        counts = np.asarray(x.sum(axis=0)).ravel()
        q = np.full(x.shape[1], 1.0 / x.shape[1]) if negatives == "uniform" else counts ** 0.75 / (counts ** 0.75).sum()
        log_q = torch.from_numpy(np.log(q))
        sp_ = pos.double() - log_q[adapter.items[index]]
        sn = negs.double() - log_q[neg].reshape(10, 3)
        want = (torch.logsumexp(torch.cat([sp_[:, None], sn], 1), 1) - sp_).mean()
    else:
        want = -(torch.log(torch.sigmoid(pos)).sum() + torch.log(1 - torch.sigmoid(negs)).sum()) / 40
    assert got.item() == pytest.approx(want.item() * 10 / len(adapter.users), rel=1e-5)


def test_block_models_learn_round_trip_and_refuse_fold_in(split, tmp_path):
    val = make_split(split.train, "user-80-20", seed=1)
    popularity = TopNModel("popularity").fit(val.train).evaluate(val.test)["ndcg@20"]
    model = TopNModel("gmf", {"embedding_dim": 8}, train={"max_epochs": 30, "lr": 0.01, "batch_size": 256})
    model.fit(val.train, val.test)
    assert model.history_.best_value > popularity
    assert model.evaluate(val.test, k=20)["ndcg@20"] == pytest.approx(model.history_.best_value, abs=1e-9)
    again = autorec.load(model.save(tmp_path / "gmf"))
    np.testing.assert_array_equal(again.score_users([0, 3]), model.score_users([0, 3]))
    assert again.hparams_ == model.hparams_ and again.recommend(0, k=4) == model.recommend(0, k=4)
    with pytest.raises(ConfigError, match="cannot fold in a new user's history"):
        model.recommend(history=[0, 1], k=3)
    with pytest.raises(ConfigError, match="loss must be one of bce, bpr, softmax"):
        TopNModel("neumf", {"loss": "hinge"}).fit(split.train)
    with pytest.raises(ConfigError):
        TopNModel("neumf", {"no_such_block/units": 3}).fit(split.train)


def test_the_search_draws_the_ranking_settings_and_the_blocks(split):
    family = TopNFamily()
    params = family.search_params("neumf", DefaultHP(), split.train)
    assert {"loss", "n_negatives", "negatives", "mlp/units"} <= set(params)
    assert {f"neumf/{k}" for k in params} <= family.search_names("neumf")
    assert family.train_space_for("neumf") == "topn-sgd"
