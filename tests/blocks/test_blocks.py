"""Blocks: each interactor against a direct computation, mappers and heads against their
definitions, the fixed-is-never-searched rule, scoped names, and the graph's checks."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from autorec.blocks import (
    CIN,
    FM,
    MLP,
    UNSET,
    BlockModel,
    CategoricalEmbedding,
    Concatenate,
    CrossNet,
    CTRHead,
    DataInfo,
    DefaultHP,
    DenseEmbedding,
    DenseInput,
    Elementwise,
    FirstOrder,
    FixedHP,
    HyperInteraction,
    InnerProduct,
    LatentFactor,
    RatingHead,
    RatingHistory,
    SelfAttention,
    Shape,
    Tie,
    hparams_markdown,
)
from autorec.errors import ConfigError, DataError
from hp_sources import RandomHP

torch.manual_seed(0)


class Asked(DefaultHP):
    """Defaults, remembering the order of the questions."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []

    def get(self, name, spec):
        self.order.append(name)
        return super().get(name, spec)


def run(interactor, hp, *xs):
    shapes = [Shape(x.shape[1], x.shape[2]) for x in xs]
    module, shape = interactor.build(hp, shapes)
    out = module(list(xs))
    assert out.shape[1:] == (shape.fields, shape.dim)
    return module, out


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # tiny tensors: on a shared 2-core machine, intra-op threads only contend
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --------------------------------------------------------------------------- the hp rules
def test_fixed_values_are_never_asked_including_falsy():
    mlp = MLP(layers=1, dropout=0, batch_norm=False, units=16)
    asked = Asked()
    module, _ = mlp.build(asked, [Shape(2, 4)])
    assert set(asked.order) == {"mlp/activation"}  # shape is not asked for one layer
    assert set(mlp.tunable()) == {"mlp/shape", "mlp/activation"}
    assert mlp.fixed == {"layers": 1, "dropout": 0.0, "batch_norm": False, "units": 16}
    assert not any(isinstance(m, (torch.nn.Dropout, torch.nn.BatchNorm1d)) for m in module.modules())
    # UNSET is "not given": the value stays open
    assert "mlp/dropout" in MLP(dropout=UNSET).tunable()
    assert "rating_head/biases" not in RatingHead(biases=False).tunable()
    # a fixed falsy value wins over what the search would pick
    never = FixedHP({"rating_head/biases": True, "elementwise/op": "max"})
    info = DataInfo(task="rating", n_users=3, n_items=4)
    head = RatingHead(biases=False).build(never, 1, info)
    assert head.user_bias is None
    _, out = run(Elementwise(op="min"), never, torch.tensor([[[1.0, 5.0], [2.0, 3.0]]]))
    assert out.tolist() == [[[1.0, 3.0]]]


def test_bad_fixed_values_and_names_are_config_errors():
    with pytest.raises(ConfigError, match="mlp/units=17"):
        MLP(units=17)
    with pytest.raises(ConfigError, match="no hyperparameter"):
        MLP(width=3)
    with pytest.raises(ConfigError, match="not an integer"):
        CrossNet(layers=1.5)
    with pytest.raises(ConfigError, match="no hyperparameter"):
        MLP(defaults={"width": 3})
    with pytest.raises(ConfigError, match="outside the search range"):
        MLP(defaults={"layers": 99})


def test_scoped_names_do_not_collide():
    ids = LatentFactor()
    a, b = MLP(inputs=[ids]), MLP(inputs=[ids])
    model = BlockModel([ids], [a, b], RatingHead())
    assert (a.name, b.name) == ("mlp", "mlp_2")
    names = model.tunable()
    assert {"mlp/units", "mlp_2/units", "latent_factor/embedding_dim", "graph/combine"} <= set(names)
    info = DataInfo(task="rating", n_users=5, n_items=6)
    built = model.build(FixedHP({"mlp/units": 16, "mlp_2/units": 32, "mlp/layers": 1,
                                 "mlp_2/layers": 1}), info)
    widths = [built.nodes[k].net[0].out_features for k in ("mlp", "mlp_2")]
    assert widths == [16, 32]
    assert built.hp_values["mlp/units"] == 16 and built.hp_values["mlp_2/units"] == 32


def test_tie_shares_a_value_and_defaults_stay_searchable():
    users = LatentFactor("user")
    hist = RatingHistory("item", units=Tie(users, "embedding_dim"))
    assert "rating_history/units" not in hist.tunable()
    info = _pairs_info()
    hp = FixedHP({"latent_factor/embedding_dim": 16})
    module, shape = hist.build(hp, info)
    assert shape == Shape(1, 16)
    assert "rating_history/units" not in hp.values  # asked under the tied name only
    with pytest.raises(ConfigError, match="tied"):
        RatingHistory(units=Tie(users, "nope"))
    deep = MLP(defaults={"layers": 3, "shape": "shrink"})
    assert "mlp/layers" in deep.tunable()
    module, shape = deep.build(DefaultHP(), [Shape(1, 8)])
    assert [m.out_features for m in module.net if isinstance(m, torch.nn.Linear)] == [64, 32, 16]
    assert MLP.hparams["layers"].default == 2  # the class table is untouched


# --------------------------------------------------------------------------- interactors
def test_fm_equals_the_explicit_pairwise_sum():
    x = torch.randn(5, 6, 4)
    _, out = run(FM(output="scalar"), DefaultHP(), x)
    explicit = sum((x[:, i] * x[:, j]).sum(-1) for i, j in itertools.combinations(range(6), 2))
    torch.testing.assert_close(out[:, 0, 0], explicit)
    _, vec = run(FM(output="vector"), DefaultHP(), x[:, :3], x[:, 3:])  # two inputs, one set
    explicit_vec = sum(x[:, i] * x[:, j] for i, j in itertools.combinations(range(6), 2))
    torch.testing.assert_close(vec[:, 0], explicit_vec)


def test_cross_layers_match_their_formulas():
    torch.manual_seed(1)
    x0 = torch.randn(4, 2, 3)
    flat = x0.flatten(1)
    module, out = run(CrossNet(version="v1", layers=2), DefaultHP(), x0)
    x = flat
    for w, b in zip(module.w, module.b):
        outer = torch.einsum("bi,bj->bij", flat, x)  # x0 x_l^T
        x = (outer @ w) + b + x
    torch.testing.assert_close(out[:, 0], x)
    module, out = run(CrossNet(version="v2", layers=3), DefaultHP(), x0)
    x = flat
    for lin in module.layers:
        x = flat * (x @ lin.weight.T + lin.bias) + x
    torch.testing.assert_close(out[:, 0], x)
    assert out.shape == (4, 1, 6)


def test_elementwise_ops_match_torch_reductions():
    a, b, c = torch.randn(3, 7, 1, 5).unbind(0)
    stack = torch.stack([a[:, 0], b[:, 0], c[:, 0]], 1)
    expect = {"sum": stack.sum(1), "mean": stack.mean(1), "multiply": a[:, 0] * b[:, 0] * c[:, 0],
              "max": stack.max(1).values, "min": stack.min(1).values,
              "minus": a[:, 0] - b[:, 0] - c[:, 0]}
    for op, want in expect.items():
        _, out = run(Elementwise(op=op), DefaultHP(), a, b, c)
        torch.testing.assert_close(out[:, 0], want, msg=op)
    _, out = run(Elementwise(op="minus"), DefaultHP(), a, b)
    torch.testing.assert_close(out[:, 0], a[:, 0] - b[:, 0])


def test_inner_product_pairs_and_projection_of_odd_widths():
    x = torch.randn(4, 5, 3)
    _, out = run(InnerProduct(), DefaultHP(), x)
    loop = torch.stack([(x[:, i] * x[:, j]).sum(-1) for i, j in itertools.combinations(range(5), 2)], 1)
    torch.testing.assert_close(out[:, 0], loop)
    u, v = torch.randn(2, 8, 1, 4).unbind(0)
    _, out = run(InnerProduct(), DefaultHP(), u, v)
    torch.testing.assert_close(out[:, 0, 0], (u[:, 0] * v[:, 0]).sum(-1))
    # a one-field input of another width is projected to the width of the 5-field input
    w = torch.randn(4, 1, 7)
    module, out = run(InnerProduct(), DefaultHP(), w, x)
    assert out.shape == (4, 1, 15)
    wp = w @ module.align.proj[0].weight.T
    allv = torch.cat([wp, x], 1)
    loop = torch.stack([(allv[:, i] * allv[:, j]).sum(-1) for i, j in itertools.combinations(range(6), 2)], 1)
    torch.testing.assert_close(out[:, 0], loop)
    with pytest.raises(ConfigError, match="at least two"):
        InnerProduct().build(DefaultHP(), [Shape(1, 4)])


def test_concatenate_and_mlp_layers_follow_the_hp_values():
    x, y = torch.randn(3, 2, 4), torch.randn(3, 1, 5)
    _, out = run(Concatenate(), DefaultHP(), x, y)
    torch.testing.assert_close(out[:, 0], torch.cat([x.flatten(1), y.flatten(1)], 1))
    hp = FixedHP({"mlp/layers": 3, "mlp/units": 32, "mlp/shape": "shrink", "mlp/dropout": 0.25,
                  "mlp/batch_norm": True, "mlp/activation": "tanh"})
    module, out = run(MLP(), hp, x, y)
    linears = [m for m in module.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(13, 32), (32, 16), (16, 8)]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in module.net) == 3
    assert sum(isinstance(m, torch.nn.Dropout) and m.p == 0.25 for m in module.net) == 3
    assert sum(isinstance(m, torch.nn.Tanh) for m in module.net) == 3
    assert out.shape == (3, 1, 8)
    module, out = run(MLP(), FixedHP({"mlp/layers": 2, "mlp/units": 16}), x)
    assert [m.out_features for m in module.net if isinstance(m, torch.nn.Linear)] == [16, 16]


def _attention_reference(layer, x):
    b, n, _ = x.shape
    h, d = layer.heads, layer.att_dim
    q = (x @ layer.query.weight.T).view(b, n, h, d).transpose(1, 2)
    k = (x @ layer.key.weight.T).view(b, n, h, d).transpose(1, 2)
    v = (x @ layer.value.weight.T).view(b, n, h, d).transpose(1, 2)
    att = torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5, dim=-1) @ v
    out = att.transpose(1, 2).reshape(b, n, h * d)
    if layer.res is not None:
        out = out + x @ layer.res.weight.T
    return torch.relu(out)


def test_self_attention_matches_softmax_attention_and_residual():
    torch.manual_seed(2)
    x = torch.randn(3, 5, 6)
    module, out = run(SelfAttention(heads=2, att_dim=8, layers=2, residual=True), DefaultHP(), x)
    assert out.shape == (3, 5, 16)
    ref = x
    for layer in module.layers:
        ref = _attention_reference(layer, ref)
    torch.testing.assert_close(out, ref)
    # with the value projection zeroed, attention contributes nothing: relu(W_res x) remains
    module, out = run(SelfAttention(heads=2, att_dim=8, layers=1, residual=True), DefaultHP(), x)
    with torch.no_grad():
        module.layers[0].value.weight.zero_()
        out = module([x])
    torch.testing.assert_close(out, torch.relu(x @ module.layers[0].res.weight.T))
    assert (out > 0).any()
    module, _ = run(SelfAttention(heads=1, att_dim=8, layers=1, residual=False), DefaultHP(), x)
    with torch.no_grad():
        module.layers[0].value.weight.zero_()
        assert torch.count_nonzero(module([x])) == 0


def _cin_loop(module, x0):
    """The CIN recurrence written out with explicit sums over (h, i, j)."""
    b, m, d = x0.shape
    xk, pooled = x0, []
    for li, weight in enumerate(module.weights):
        n_out = weight.shape[0]
        w = weight.view(n_out, xk.shape[1], m)
        nxt = torch.zeros(b, n_out, d)
        for h in range(n_out):
            for i in range(xk.shape[1]):
                for j in range(m):
                    nxt[:, h] += w[h, i, j] * xk[:, i] * x0[:, j]
        if module.split_half and li < len(module.weights) - 1:
            half = n_out // 2
            xk, out = nxt[:, :half], nxt[:, half:]
        else:
            xk = out = nxt
        pooled.append(out.sum(-1))
    return torch.cat(pooled, 1)


@pytest.mark.parametrize("split_half", [False, True])
@pytest.mark.parametrize("fields", [3, 10])  # fewer / more fields than maps: both orders
def test_cin_matches_a_loop_implementation(split_half, fields):
    torch.manual_seed(3)
    x0 = torch.randn(2, fields, 4)
    module, out = run(CIN(layers=3, units=8, split_half=split_half), DefaultHP(), x0)
    torch.testing.assert_close(out[:, 0], _cin_loop(module, x0))
    assert out.shape[-1] == (4 + 4 + 8 if split_half else 24)


def test_hyper_interaction_asks_only_for_chosen_candidates():
    hi = HyperInteraction([MLP(), FM(), CrossNet(), Elementwise()], max_size=2)
    choices = hi.hparams["subset"].choices
    assert len(choices) == 4 + 6 and "mlp+fm" in choices and "fm+cross_net" in choices
    assert {"hyper_interaction/subset", "hyper_interaction/mlp/units",
            "hyper_interaction/cross_net/version"} <= set(hi.tunable())
    x = torch.randn(4, 3, 5)
    asked = Asked()
    _, out = run(hi, asked, x)
    # the default subset is the first max_size candidates
    assert "hyper_interaction/mlp/units" in asked.order and "hyper_interaction/fm/output" in asked.order
    assert not any("cross_net" in n or "elementwise" in n for n in asked.order)
    assert out.shape == (4, 1, 64 + 1)
    asked = Asked()
    hp = FixedHP({"hyper_interaction/subset": "cross_net+elementwise"})
    _, out = run(hi, hp, x)
    assert set(hp.values) == {"hyper_interaction/subset", "hyper_interaction/cross_net/version",
                              "hyper_interaction/cross_net/layers", "hyper_interaction/elementwise/op"}
    assert out.shape == (4, 1, 15 + 5)
    with pytest.raises(ConfigError, match="subset"):
        HyperInteraction([MLP(), FM()], subset="mlp+cin")


# --------------------------------------------------------------------------- mappers
def _pairs_info(n_users=6, n_items=5, seed=0):
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < 0.5) * rng.integers(1, 6, (n_users, n_items))
    mat = sp.csr_matrix(dense.astype(np.float32))
    return DataInfo(task="rating", n_users=n_users, n_items=n_items, rating_scale=(1.0, 5.0),
                    global_mean=3.0, user_history=mat, item_history=mat.T.tocsr())


def test_categorical_embedding_per_field_and_hashed():
    info = DataInfo.for_features([3, 4, 2], n_dense=0)
    codes = torch.tensor([[0, 0, 0], [2, 3, 1]])
    module, shape = CategoricalEmbedding(embedding_dim=4).build(DefaultHP(), info)
    assert shape == Shape(3, 4) and module.table.weight.shape == (9, 4)
    out = module({"categorical": codes})
    w = module.table.weight
    torch.testing.assert_close(out[1], torch.stack([w[2], w[3 + 3], w[7 + 1]]))
    assert not torch.equal(out[0, 0], out[0, 1])  # code 0 of two fields: different rows
    module, shape = CategoricalEmbedding(embedding_dim=4, table="hashed", hash_buckets=1024) \
        .build(DefaultHP(), info)
    assert module.table.weight.shape == (1024, 4)
    out = module({"categorical": codes})
    rows = (codes * module._MUL + module.salt) % 1024
    torch.testing.assert_close(out, module.table.weight[rows])
    assert len(set(rows[0].tolist())) == 3
    # the hash bucket count is asked only when the table is hashed
    asked = Asked()
    CategoricalEmbedding().build(asked, info)
    assert "categorical_embedding/hash_buckets" not in asked.order
    # rating pairs are the two fields (user, item)
    module, shape = CategoricalEmbedding(fields=["item"]).build(DefaultHP(), _pairs_info())
    out = module({"user": torch.tensor([1]), "item": torch.tensor([4])})
    torch.testing.assert_close(out[0, 0], module.table.weight[4])
    with pytest.raises(ConfigError, match="no categorical field"):
        CategoricalEmbedding(fields=["age"]).build(DefaultHP(), _pairs_info())


def test_dense_mappers_and_first_order():
    info = DataInfo.for_features([3, 4], n_dense=2)
    x = torch.tensor([[1.5, -2.0], [0.0, 3.0]])
    codes = torch.tensor([[1, 2], [0, 3]])
    module, shape = DenseEmbedding(embedding_dim=4).build(DefaultHP(), info)
    out = module({"dense": x})
    assert shape == Shape(2, 4)
    torch.testing.assert_close(out[0, 1], -2.0 * module.weight[1])
    module, shape = DenseInput().build(DefaultHP(), info)
    torch.testing.assert_close(module({"dense": x})[:, 0], x)
    module, shape = FirstOrder().build(DefaultHP(), info)
    with torch.no_grad():
        module.cat.table.weight.copy_(torch.arange(7, dtype=torch.float32).view(7, 1))
        module.dense.weight.copy_(torch.tensor([[10.0, 100.0]]))
    out = module({"categorical": codes, "dense": x})
    assert shape == Shape(1, 1)
    torch.testing.assert_close(out.view(-1), torch.tensor([1 + 5 + 15 - 200.0, 0 + 6 + 300.0]))
    # no dense features: the dense mappers are empty, not an error
    empty = DataInfo.for_features([3], n_dense=0)
    assert DenseEmbedding().build(DefaultHP(), empty)[1].width == 0
    assert DenseInput().build(DefaultHP(), empty)[1].width == 0


def test_rating_history_is_the_dense_encoder_computed_sparsely():
    info = _pairs_info()
    dense_items = torch.from_numpy(info.item_history.toarray())
    module, shape = RatingHistory("item", units=16, activation="sigmoid").build(DefaultHP(), info)
    ids = torch.tensor([4, 0, 4, 2])
    out = module({"item": ids})
    ref = torch.sigmoid(dense_items[ids] @ module.weight + module.bias)
    torch.testing.assert_close(out[:, 0], ref)
    # and so is the gradient
    out.sum().backward()
    g_sparse = module.weight.grad.clone()
    module.weight.grad = None
    torch.sigmoid(dense_items[ids] @ module.weight + module.bias).sum().backward()
    torch.testing.assert_close(g_sparse, module.weight.grad)
    with pytest.raises(ConfigError, match="rating histories"):
        RatingHistory().build(DefaultHP(), DataInfo(task="rating", n_users=2, n_items=2))


def test_i_autorec_as_a_block_graph_equals_its_formula():
    info = _pairs_info()
    users = LatentFactor("user", embedding_dim=16)
    items = RatingHistory("item", units=Tie(users, "embedding_dim"))
    model = BlockModel([users, items], [InnerProduct()], RatingHead(biases=True))
    module = model.build(DefaultHP(), info)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_()
    u, i = torch.tensor([0, 3, 5]), torch.tensor([1, 1, 4])
    enc = module.nodes["rating_history"]
    r_i = torch.from_numpy(info.item_history.toarray())[i]
    code = torch.sigmoid(r_i @ enc.weight + enc.bias)
    v_u = module.nodes["latent_factor"].tables[0].weight[u]
    head = module.head
    want = (v_u * code).sum(-1) + head.user_bias.weight[u, 0] + head.item_bias.weight[i, 0] + 3.0
    module.train()
    torch.testing.assert_close(module({"user": u, "item": i}), want)


# --------------------------------------------------------------------------- heads
def test_rating_head_clips_only_outside_training():
    info = DataInfo(task="rating", n_users=2, n_items=2, rating_scale=(1.0, 5.0), global_mean=3.0)
    head = RatingHead(biases=False).build(DefaultHP(), 1, info)
    z = torch.tensor([[4.0], [-5.0]], requires_grad=True)
    head.train()
    out = head(z, {})
    torch.testing.assert_close(out.detach(), torch.tensor([7.0, -2.0]))
    head.loss(out, torch.tensor([5.0, 1.0])).backward()
    assert (z.grad != 0).all()  # out-of-scale predictions still learn
    head.eval()
    torch.testing.assert_close(head(z, {}).detach(), torch.tensor([5.0, 1.0]))
    torch.testing.assert_close(head.loss(torch.tensor([2.0, 4.0]), torch.tensor([1.0, 1.0])),
                               torch.tensor(5.0))


def test_per_rating_l2_is_added_to_the_loss_in_training_only():
    # Koren's objective: mean squared error + l2 * mean(|p_u|^2 + |q_i|^2) + l2_b * mean(b_u^2 + b_i^2)
    info = DataInfo(task="rating", n_users=4, n_items=5, rating_scale=(1.0, 5.0), global_mean=3.0)
    spec = BlockModel([LatentFactor(name="factors", l2=0.1, embedding_dim=8)], [InnerProduct(name="dot")],
                      RatingHead(biases=True, l2=0.05), combine="concat")
    torch.manual_seed(0)
    module = spec.build(DefaultHP(), info)
    with torch.no_grad():
        module.head.user_bias.weight.normal_()
        module.head.item_bias.weight.normal_()
    u, i = torch.tensor([0, 1, 1, 3]), torch.tensor([4, 0, 2, 2])
    y = torch.tensor([4.0, 2.0, 5.0, 1.0])
    emb = module.nodes["factors"]
    p_u, q_i = emb.tables[0].weight[u], emb.tables[1].weight[i]
    b_u, b_i = module.head.user_bias.weight[u, 0], module.head.item_bias.weight[i, 0]
    module.train()
    out = module({"user": u, "item": i})
    want = (F.mse_loss(out, y) + 0.1 * (p_u.square().sum(1) + q_i.square().sum(1)).mean()
            + 0.05 * (b_u.square() + b_i.square()).mean())
    torch.testing.assert_close(module.loss(out, y), want)
    # the penalty belongs to one forward pass: a second loss call on it sees none
    torch.testing.assert_close(module.loss(out, y), F.mse_loss(out, y))
    module.eval()
    out = module({"user": u, "item": i})
    torch.testing.assert_close(module.loss(out, y), F.mse_loss(out, y))
    # 0 is a value, not "unset": fixed at 0 there is no penalty in training either
    plain = BlockModel([LatentFactor(name="factors", l2=0.0)], [InnerProduct(name="dot")],
                       RatingHead(biases=True, l2=0.0), combine="concat").build(DefaultHP(), info)
    plain.train()
    out = plain({"user": u, "item": i})
    torch.testing.assert_close(plain.loss(out, y), F.mse_loss(out, y))


def test_ctr_head_starts_at_the_base_rate():
    info = DataInfo.for_features([3], global_mean=0.2)
    head = CTRHead().build(DefaultHP(), 5, info)
    z = torch.zeros(4, 5)
    torch.testing.assert_close(torch.sigmoid(head(z, {})), torch.full((4,), 0.2))
    y = torch.tensor([1.0, 0.0, 0.0, 1.0])
    out = torch.tensor([0.3, -1.0, 2.0, 0.0])
    torch.testing.assert_close(head.loss(out, y), F.binary_cross_entropy(torch.sigmoid(out), y))
    with pytest.raises(ConfigError, match="biases need rating pairs"):
        BlockModel([CategoricalEmbedding()], [FM()], RatingHead(biases=True)).build(
            DefaultHP(), DataInfo.for_features([3, 3], task="rating"))


# --------------------------------------------------------------------------- the graph
def test_graph_wiring_errors():
    emb = CategoricalEmbedding()
    stray = CategoricalEmbedding()
    with pytest.raises(ConfigError, match="not a block of this model"):
        BlockModel([emb], [MLP(inputs=[stray])], CTRHead())
    a = MLP()
    b = MLP(inputs=[a])
    a.inputs = [b]
    with pytest.raises(ConfigError, match="cycle"):
        BlockModel([emb], [a, b], CTRHead())
    with pytest.raises(ConfigError, match="head must be"):
        BlockModel([emb], [FM()], MLP())
    with pytest.raises(ConfigError, match="ctr task"):
        BlockModel([emb], [FM()], CTRHead()).build(DefaultHP(), _pairs_info())
    with pytest.raises(ConfigError, match="empty"):
        BlockModel([DenseInput()], [MLP()], CTRHead()).build(DefaultHP(), DataInfo.for_features([3]))


def test_graph_checks_the_batch():
    info = DataInfo.for_features([3, 4], n_dense=2, field_names=["site", "app"])
    model = BlockModel([CategoricalEmbedding(), DenseEmbedding()], [FM()], CTRHead()).build(
        DefaultHP(), info)
    ok = {"categorical": torch.tensor([[0, 3], [2, 1]]), "dense": torch.zeros(2, 2)}
    assert model(ok).shape == (2,)
    with pytest.raises(DataError, match="'app'.*outside 0..3") as err:
        model({**ok, "categorical": torch.tensor([[0, 4], [2, 1]])})
    assert err.value.value == 4
    with pytest.raises(DataError, match="not finite"):
        model({**ok, "dense": torch.tensor([[0.0, float("nan")], [0.0, 0.0]])})
    with pytest.raises(DataError, match="shape"):
        model({**ok, "dense": torch.zeros(2, 3)})
    pairs = BlockModel([LatentFactor()], [InnerProduct()], RatingHead()).build(DefaultHP(), _pairs_info())
    with pytest.raises(DataError, match="user index outside 0..5"):
        pairs({"user": torch.tensor([6]), "item": torch.tensor([0])})
    with pytest.raises(DataError, match="no 'item'"):
        pairs({"user": torch.tensor([1])})


def test_empty_mappers_drop_out_and_sum_combines_logits():
    emb, dense = CategoricalEmbedding(embedding_dim=4), DenseInput()
    bottom = MLP(inputs=[dense], units=16, layers=1)
    dots = InnerProduct(inputs=[bottom, emb])
    top = MLP(inputs=[bottom, dots], units=16, layers=1)
    model = BlockModel([emb, dense], [bottom, dots, top], CTRHead())
    no_dense = model.build(DefaultHP(), DataInfo.for_features([3, 3, 3]))
    assert "mlp" not in no_dense.nodes and no_dense.nodes["inner_product"].align.fields == 3
    out = no_dense({"categorical": torch.zeros(2, 3, dtype=torch.long), "dense": torch.zeros(2, 0)})
    assert out.shape == (2,)
    with_dense = model.build(DefaultHP(), DataInfo.for_features([3, 3, 3], n_dense=2))
    assert with_dense.nodes["inner_product"].align.fields == 4
    # combine="sum": each output becomes one scalar and the head adds its bias
    lin, emb2 = FirstOrder(), CategoricalEmbedding(embedding_dim=4)
    summed = BlockModel([lin, emb2], [FM(inputs=[emb2]), MLP(inputs=[emb2], units=16, layers=1)],
                        CTRHead(), combine="sum", outputs=None).build(DefaultHP(), DataInfo.for_features([3, 3]))
    codes = torch.tensor([[1, 2]])
    with torch.no_grad():
        parts = [summed.nodes["fm"]([summed.nodes["categorical_embedding"]({"categorical": codes})])]
        mlp_out = summed.nodes["mlp"]([summed.nodes["categorical_embedding"]({"categorical": codes})])
        want = parts[0].flatten() + summed.projections[1](mlp_out.flatten(1)).flatten() + summed.head.bias
        torch.testing.assert_close(summed({"categorical": codes}), want)


def test_rebuild_from_recorded_values_is_exact():
    info = DataInfo.for_features([5, 6, 7], n_dense=3)
    batch = {"categorical": torch.tensor([[1, 2, 3], [4, 5, 6]]), "dense": torch.randn(2, 3)}
    for seed in range(4):
        emb = CategoricalEmbedding()
        spec = BlockModel([emb, DenseEmbedding(embedding_dim=Tie(emb))],
                          [HyperInteraction(max_size=3)], CTRHead())
        torch.manual_seed(seed)
        first = spec.build(RandomHP(seed), info)
        again = spec.build(FixedHP(first.hp_values, strict=True), info)
        again.load_state_dict(first.state_dict())
        first.eval(), again.eval()
        torch.testing.assert_close(first(batch), again(batch))
        assert set(first.hp_values) <= set(spec.tunable())


def test_build_seed_fixes_the_initial_weights():
    info = DataInfo.for_features([5, 6], n_dense=1)

    def weights(seed):
        emb = CategoricalEmbedding()
        spec = BlockModel([emb, DenseEmbedding(embedding_dim=Tie(emb))], [FM(), MLP()], CTRHead())
        return spec.build(DefaultHP(), info, seed=seed).state_dict()

    before = torch.random.get_rng_state()
    a, b, c = weights(1), weights(1), weights(2)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["nodes.mlp.net.0.weight"], c["nodes.mlp.net.0.weight"])


def test_docs_table_is_generated_from_the_declarations():
    docs = Path(__file__).resolve().parents[2] / "docs" / "blocks-and-zoo.md"
    assert hparams_markdown() in docs.read_text(), "regenerate the table: see docs/blocks-and-zoo.md"


def test_fixed_values_may_leave_the_search_range_but_not_the_valid_one():
    # the search range bounds sampling only: six layers or dropout 0.7 are a user's right
    mlp = MLP(layers=6, dropout=0.7)
    assert mlp.fixed == {"layers": 6, "dropout": 0.7}
    # values the model cannot take are a ConfigError naming the hyperparameter, not a torch error
    with pytest.raises(ConfigError, match=r"mlp/dropout=1\.5 is outside .*\[0, 0\.99\]"):
        MLP(dropout=1.5)
    with pytest.raises(ConfigError, match=r"cross/layers=0 is outside"):
        CrossNet(name="cross", layers=0)
    with pytest.raises(ConfigError, match=r"mlp/layers=2\.5 is not an integer"):
        MLP(layers=2.5)
