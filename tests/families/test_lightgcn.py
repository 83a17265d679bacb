"""LightGCN (families/lightgcn.py): the graph is the normalised bipartite adjacency, the final
embeddings are the mean of the propagated layers, the loss is BPR plus the layer-0 L2, training
learns, the artifact round-trips, and fold-in is refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import autorec
from autorec import TopNModel
from autorec.errors import ConfigError
from autorec.families import lightgcn
from autorec.splits import make_split

from planted import planted_clicks


@pytest.fixture(scope="module")
def split():
    return make_split(planted_clicks(120, 40), "user-80-20", seed=0)


def test_propagation_is_the_mean_of_the_normalised_layers():
    x = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0], [1, 1, 0]], dtype=float))
    graph = lightgcn.normalised_graph(x)
    adj = np.block([[np.zeros((4, 4)), x.toarray()], [x.toarray().T, np.zeros((3, 3))]])
    deg = adj.sum(1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.maximum(deg, 1)), 0)
    want = inv[:, None] * adj * inv[None, :]
    np.testing.assert_allclose(graph.to_dense().numpy(), want, rtol=1e-6)
    module = lightgcn.LightGCN(graph, 4, dim=5, layers=2, init_std=0.1, seed=0)
    e0 = module.embedding.detach().numpy().astype(np.float64)
    mean = (e0 + want @ e0 + want @ want @ e0) / 3
    users, items = module.propagate()
    np.testing.assert_allclose(users.detach().numpy(), mean[:4], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(items.detach().numpy(), mean[4:], rtol=1e-5, atol=1e-7)


def test_the_loss_is_bpr_plus_the_layer0_l2(split):
    x = TopNModel("lightgcn")._positives(split.train)
    values = lightgcn.check_params({"dim": 4, "layers": 2, "reg": 0.1})
    module = lightgcn.LightGCN(lightgcn.normalised_graph(x), x.shape[0], 4, 2, 0.1, seed=0)
    adapter = lightgcn.LightGCNAdapter(module, x, None, values, seed=0)
    index = np.arange(16)
    state = adapter.sampler.rng.bit_generator.state
    got = adapter.batch_loss(index).item()
    adapter.sampler.rng.bit_generator.state = state
    j = adapter.sampler.sample(adapter.users[index])
    with torch.no_grad():
        users, items = module.propagate()
        u, i = adapter.users[index], adapter.items[index]
        margin = (users[u] * (items[i] - items[j])).sum(1)
        e = module.embedding
        reg = 0.5 * ((e[u] ** 2).sum() + (e[x.shape[0] + i] ** 2).sum() + (e[x.shape[0] + j] ** 2).sum()) / 16
        want = (torch.nn.functional.softplus(-margin).mean() + 0.1 * reg).item() * 16 / len(adapter.users)
    assert got == pytest.approx(want, rel=1e-5)


def test_lightgcn_learns_round_trips_and_refuses_fold_in(split, tmp_path):
    val = make_split(split.train, "user-80-20", seed=1)
    popularity = TopNModel("popularity").fit(val.train).evaluate(val.test)["ndcg@20"]
    model = TopNModel("lightgcn", {"dim": 16, "layers": 2}, train={"max_epochs": 40, "lr": 0.01, "batch_size": 256})
    model.fit(val.train, val.test)
    assert model.history_.best_value > popularity
    assert model.evaluate(val.test, k=20)["ndcg@20"] == pytest.approx(model.history_.best_value, abs=1e-9)
    again = autorec.load(model.save(tmp_path / "lightgcn"))
    np.testing.assert_array_equal(again.score_users([0, 2]), model.score_users([0, 2]))
    with pytest.raises(ConfigError, match="lightgcn cannot fold in"):
        again.recommend(history=[0, 1], k=3)
    with pytest.raises(ConfigError, match="layers must be a whole number >= 0"):
        TopNModel("lightgcn", {"layers": -1}).fit(split.train)
