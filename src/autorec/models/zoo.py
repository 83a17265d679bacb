"""The model zoo: classical recommenders as block graphs.

Each entry builds a :class:`~autorec.blocks.BlockModel` spec.  Built with ``DefaultHP`` it
is the fixed model with its usual defaults; hyperparameters left open are what a search
tunes; ``make_model(name, task, **fixed)`` fixes any of them (never searched afterwards).

Models that read user/item ids (``reads="pairs"``) need rating pairs.  Feature models read
categorical fields and dense features; on rating pairs the categorical fields are
(user, item), so they run on both kinds of data.  Both tasks (``"rating"``, ``"ctr"``) use the
same graph with a different head.
"""

from __future__ import annotations

import math

import difflib
from dataclasses import dataclass
from typing import Any, Callable

from ..blocks import (
    CIN,
    FM,
    MLP,
    BlockModel,
    CategoricalEmbedding,
    CrossNet,
    DenseEmbedding,
    DenseInput,
    Elementwise,
    FirstOrder,
    InnerProduct,
    LatentFactor,
    RatingHead,
    SelfAttention,
    Tie,
    head_for,
)
from ..blocks.graph import Head, walk
from ..errors import ConfigError

BOTH = ("rating", "ctr")


@dataclass(frozen=True)
class ZooModel:
    name: str
    tasks: tuple[str, ...]  # the first is the default
    reads: str  # "pairs" (user/item ids) or "features" (categorical fields + dense)
    builder: Callable[[str], BlockModel]
    summary: str
    reference: str


def _head(task: str, has_linear: bool = False) -> Head:
    # with a first-order part, its user and item weights already are the rating biases
    if task == "rating" and has_linear:
        return RatingHead(biases=False)
    return head_for(task)


# --------------------------------------------------------------------------- pair models
# Koren's per-rating L2 on the factors (and biases): tuned on ML-100K validation splits
# (0.1 there; Surprise's SGD default is 0.02 at a different step rule); still searchable
_MF_L2 = {"l2": 0.1}

# ... and scaled with the data where users have few ratings: the per-rating L2 that validation
# preferred grew as ratings per user fell (ml-latest-small, docs/benchmarks.md section 7: 0.1 at
# 134 ratings per user, the grid's top 0.5 at 13).  The rule, 0.1 x 80 / (ratings per user)
# kept within [0.1, 1.0] and snapped to the searched grid, gives 0.1 on MovieLens-100K (86 per
# user), where 0.1 was tuned, 0.5 at 13 and 1.0 below 10.
MF_L2_REFERENCE_RATINGS_PER_USER = 80.0


def mf_l2_for(ratings_per_user: float) -> float:
    """The data-aware default per-rating L2 of MF and BiasedMF (see above)."""
    from ..blocks.mappers import L2_GRID

    target = min(1.0, max(0.1, 0.1 * MF_L2_REFERENCE_RATINGS_PER_USER / max(ratings_per_user, 1e-9)))
    grid = [v for v in L2_GRID if v >= 0.1]
    return min(grid, key=lambda v: abs(math.log(v) - math.log(target)))


# the blocks whose L2 default mf_l2_for sets, by model: the factors only.  The biases (one number
# per user or item) keep 0.1: on the 10,000-rating ML-100K sample's validation part, L2 1.0 on
# the factors alone gave 1.0029, on factors and biases 1.0128 (0.1 on both: 1.0595)
MF_DATA_DEFAULTS = {"mf": ("factors/l2",), "biased-mf": ("factors/l2",)}

# Defaults of pair models on ratings (the pairs family applies them, as it applies the MF L2
# above; CTR and the top-N family keep the blocks' own).  Chosen by validation grids on
# ml-latest-small, half its users and 10,000 of its ratings (benchmarks/tune_defaults.py
# --models gmf,dlrm; docs/training.md), after GMF and DLRM were 0.019 and 0.036 behind their
# tuned figures on ML-100K:
# - GMF: per-rating L2 0.1 on the factors and on the head's biases.  Without it GMF overfit in
#   under ten epochs; L2 0.05-0.1 beat 0 on all three variants (by 0.027, 0.038 and 0.013) and
#   0.1 was best on average.  Fixed, not scaled with the data as MF's: the grid stopped at 0.1.
# - DLRM: embeddings of width 4, which beat 8 and 16 on all three variants.
RATING_PAIR_DEFAULTS = {"gmf": {"factors/l2": 0.1, "rating_head/l2": 0.1},
                        "dlrm": {"embedding/embedding_dim": 4}}


def _mf(task: str, biases: bool = False) -> BlockModel:
    factors = LatentFactor(("user", "item"), name="factors", defaults=_MF_L2)
    head = RatingHead(biases=biases, defaults=_MF_L2 if biases else None)
    return BlockModel([factors], [InnerProduct(name="dot")], head, combine="concat")


def _gmf(task: str) -> BlockModel:
    factors = LatentFactor(("user", "item"), name="factors")
    return BlockModel([factors], [Elementwise(op="multiply", name="gmf")], _head(task),
                      combine="concat")


_TOWER = {"layers": 3, "shape": "shrink"}  # NCF's tower: each layer half the previous


def _mlp(task: str) -> BlockModel:
    factors = LatentFactor(("user", "item"), name="factors")
    return BlockModel([factors], [MLP(name="mlp", defaults=_TOWER)], _head(task), combine="concat")


def _neumf(task: str) -> BlockModel:
    gmf_emb = LatentFactor(("user", "item"), name="gmf_embedding")
    mlp_emb = LatentFactor(("user", "item"), name="mlp_embedding")
    gmf = Elementwise(inputs=[gmf_emb], op="multiply", name="gmf")
    mlp = MLP(inputs=[mlp_emb], name="mlp", defaults=_TOWER)
    # the NeuMF layer: h^T [phi_GMF, phi_MLP], the head's projection of the concatenation
    return BlockModel([gmf_emb, mlp_emb], [gmf, mlp], _head(task), combine="concat")


# --------------------------------------------------------------------------- feature models
def _embeddings() -> tuple[CategoricalEmbedding, DenseEmbedding]:
    emb = CategoricalEmbedding(name="embedding")
    # dense fields as vectors of the same width, so FM/attention/CIN see one set of vectors
    return emb, DenseEmbedding(name="dense_embedding", embedding_dim=Tie(emb))


def _fm(task: str) -> BlockModel:
    emb, demb = _embeddings()
    linear = FirstOrder(name="linear")
    fm = FM(inputs=[emb, demb], output="scalar", name="fm")
    return BlockModel([linear, emb, demb], [fm], _head(task, True), combine="sum",
                      outputs=[linear, fm])


def _deepfm(task: str) -> BlockModel:
    # The categorical embeddings are shared by the FM and the deep part, as in DeepFM.  Dense
    # fields go to the linear part and, as raw values, to the MLP (the layout of DeepCTR and
    # most implementations): embedding them as x_j v_j for the FM as well was measured slower
    # (MLP input 39k instead of 26k + 13 on Criteo) and no better on the Criteo sample.
    emb = CategoricalEmbedding(name="embedding")
    dense = DenseInput(name="dense")
    linear = FirstOrder(name="linear")
    fm = FM(inputs=[emb], output="scalar", name="fm")
    deep = MLP(inputs=[emb, dense], name="deep")
    return BlockModel([linear, emb, dense], [fm, deep], _head(task, True), combine="sum",
                      outputs=[linear, fm, deep])


def _wide_deep(task: str) -> BlockModel:
    wide = FirstOrder(name="wide")
    emb = CategoricalEmbedding(name="embedding")
    dense = DenseInput(name="dense")
    deep = MLP(inputs=[emb, dense], name="deep")
    return BlockModel([wide, emb, dense], [deep], _head(task, True), combine="sum",
                      outputs=[wide, deep])


def _dcn(task: str, version: str = "v1") -> BlockModel:
    emb = CategoricalEmbedding(name="embedding")
    dense = DenseInput(name="dense")
    cross = CrossNet(inputs=[emb, dense], version=version, name="cross")
    deep = MLP(inputs=[emb, dense], name="deep")
    # the combination layer: a logit from [x_L, h_L]
    return BlockModel([emb, dense], [cross, deep], _head(task), combine="concat")


def _autoint(task: str) -> BlockModel:
    emb, demb = _embeddings()
    att = SelfAttention(inputs=[emb, demb], name="attention")
    return BlockModel([emb, demb], [att], _head(task), combine="concat")


def _dlrm(task: str) -> BlockModel:
    emb = CategoricalEmbedding(name="embedding")
    dense = DenseInput(name="dense")
    bottom = MLP(inputs=[dense], name="bottom_mlp")
    # pairwise dots among the dense vector and the embeddings (the bottom MLP's output is
    # projected to the embedding width when the two differ)
    dots = InnerProduct(inputs=[bottom, emb], name="interaction")
    top = MLP(inputs=[bottom, dots], name="top_mlp")
    return BlockModel([emb, dense], [bottom, dots, top], _head(task), combine="concat")


def _xdeepfm(task: str) -> BlockModel:
    emb, demb = _embeddings()
    linear = FirstOrder(name="linear")
    cin = CIN(inputs=[emb, demb], name="cin")
    deep = MLP(inputs=[emb, demb], name="deep")
    return BlockModel([linear, emb, demb], [cin, deep], _head(task, True), combine="sum",
                      outputs=[linear, cin, deep])


ZOO: dict[str, ZooModel] = {m.name: m for m in [
    ZooModel("mf", ("rating",), "pairs", _mf,
             "mean + <p_u, q_i>", "Koren et al. 2009"),
    ZooModel("biased-mf", ("rating",), "pairs", lambda task: _mf(task, biases=True),
             "mean + b_u + b_i + <p_u, q_i>", "Koren et al. 2009"),
    ZooModel("gmf", BOTH, "pairs", _gmf,
             "h^T (p_u * q_i)", "He et al. 2017 (NCF)"),
    ZooModel("mlp", BOTH, "pairs", _mlp,
             "MLP tower on [p_u, q_i]", "He et al. 2017 (NCF)"),
    ZooModel("neumf", BOTH, "pairs", _neumf,
             "GMF and MLP towers with separate embeddings, concatenated into the head",
             "He et al. 2017 (NCF)"),
    ZooModel("fm", BOTH, "features", _fm,
             "first-order + second-order factorisation machine", "Rendle 2010"),
    ZooModel("deepfm", BOTH, "features", _deepfm,
             "linear + FM on shared field embeddings + MLP on [embeddings, dense], summed", "Guo et al. 2017"),
    ZooModel("wide-deep", BOTH, "features", _wide_deep,
             "linear on raw features + MLP on embeddings and dense, summed", "Cheng et al. 2016"),
    ZooModel("dcn", BOTH, "features", _dcn,
             "cross network (v1) and MLP in parallel", "Wang et al. 2017"),
    ZooModel("dcn-v2", BOTH, "features", lambda task: _dcn(task, "v2"),
             "cross network (v2, matrix weights) and MLP in parallel", "Wang et al. 2021"),
    ZooModel("autoint", BOTH, "features", _autoint,
             "multi-head self-attention over field embeddings", "Song et al. 2019"),
    ZooModel("dlrm", BOTH, "features", _dlrm,
             "bottom MLP on dense, pairwise dots with embeddings, top MLP", "Naumov et al. 2019"),
    ZooModel("xdeepfm", BOTH, "features", _xdeepfm,
             "linear + CIN + MLP, summed", "Lian et al. 2018"),
]}


def canonical_name(name: str) -> str:
    """The zoo's own spelling of a model name: hyphens, with ``_`` accepted for ``-``
    (``biased_mf`` is ``biased-mf``).  Unknown names come back unchanged."""
    if name in ZOO:
        return name
    hyphenated = str(name).replace("_", "-")
    return hyphenated if hyphenated in ZOO else name


def list_models(task: str | None = None, reads: str | None = None) -> list[str]:
    """Zoo model names, optionally those for a task and/or kind of data."""
    return [n for n, m in ZOO.items()
            if (task is None or task in m.tasks) and (reads is None or m.reads == reads)]


def make_model(name: str, task: str | None = None, **fixed: Any) -> BlockModel:
    """The spec of zoo model ``name`` for ``task`` (default: the model's first task).

    ``fixed`` fixes hyperparameters: a scoped key (``**{"deep/units": 64}``) fixes one block's,
    a bare key (``embedding_dim=16``) fixes it in every block that declares it, and
    ``combine`` the graph's.  Everything not fixed stays open for the search.
    """
    name = canonical_name(name)
    if name not in ZOO:
        close = difflib.get_close_matches(name, list(ZOO), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown zoo model {name!r}{hint}; known: {', '.join(ZOO)}")
    entry = ZOO[name]
    task = task or entry.tasks[0]
    if task not in entry.tasks:
        raise ConfigError(f"{name} is for the task(s) {list(entry.tasks)}, not {task!r}")
    model = entry.builder(task)
    blocks = walk(model.blocks())
    for key, value in fixed.items():
        if "/" in key:
            block_name, param = key.rsplit("/", 1)
            if block_name == model.name:
                model.fix(param, value)
            else:
                model.find(block_name).fix(param, value)
            continue
        targets = [b for _, b in blocks if key in b.hparams]
        if key in model.hparams:
            model.fix(key, value)
        elif not targets:
            known = sorted({k for _, b in blocks for k in b.hparams} | set(model.hparams))
            raise ConfigError(f"{name} has no hyperparameter {key!r}; known: {known} "
                              f"(or scoped: {sorted(model.tunable())})")
        for b in targets:
            b.fix(key, value)
    return model


def zoo_markdown() -> str:
    """A table of the zoo (generated for the docs): tasks, data, composition, open names."""
    lines = ["| model | tasks | reads | reference | composition (rating task) | searchable |",
             "|---|---|---|---|---|---|"]
    for name, m in ZOO.items():
        spec = make_model(name, m.tasks[0])
        comp = "<br>".join(spec.describe().splitlines())
        open_names = ", ".join(sorted(spec.tunable()))
        lines.append(f"| {name} | {', '.join(m.tasks)} | {m.reads} | {m.reference} | {comp} | "
                     f"{open_names} |")
    return "\n".join(lines)
