"""Interactors: how embeddings meet.

Field-wise interactors (:class:`Elementwise`, :class:`InnerProduct`, :class:`FM`,
:class:`SelfAttention`, :class:`CIN`) see their inputs as one set of ``N`` vectors of a common
width ``k`` (the fields of all inputs, stacked).  When inputs differ in width (the search
picked different embedding sizes), each odd input is linearly projected to the width of the
input contributing the most vectors -- an identity-free no-op when widths agree, so the
classical models are exact.  Flat interactors (:class:`Concatenate`, :class:`MLP`,
:class:`CrossNet`) see all inputs flattened and concatenated.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ConfigError
from ..hparams import COUNT_LIMITS, DROPOUT_LIMITS, Bool, Choice, Float, HParam, Int, PrefixedHP, unique_names
from .graph import Block, HyperParameters, Interactor, Shape
from .mappers import ACTIVATIONS


# --------------------------------------------------------------------------- input plumbing
def common_dim(shapes: Sequence[Shape]) -> int:
    """Width of the input that contributes the most vectors (the first on a tie)."""
    return max(shapes, key=lambda s: s.fields).dim


class Align(nn.Module):
    """List of ``[B, F_i, k_i]`` -> ``[B, sum F_i, k]``, projecting inputs whose ``k_i != k``."""

    def __init__(self, shapes: Sequence[Shape]) -> None:
        super().__init__()
        self.dim = common_dim(shapes)
        self.proj = nn.ModuleList(
            [nn.Identity() if s.dim == self.dim else nn.Linear(s.dim, self.dim, bias=False)
             for s in shapes]
        )
        self.fields = sum(s.fields for s in shapes)

    def forward(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        parts = [p(x) for p, x in zip(self.proj, xs)]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def flatten_cat(xs: Sequence[torch.Tensor]) -> torch.Tensor:
    flat = [x.flatten(1) for x in xs]
    return flat[0] if len(flat) == 1 else torch.cat(flat, dim=1)


def _width(shapes: Sequence[Shape]) -> int:
    return sum(s.width for s in shapes)


# --------------------------------------------------------------------------- elementwise
class _Elementwise(nn.Module):
    def __init__(self, shapes: Sequence[Shape], op: str) -> None:
        super().__init__()
        self.align = Align(shapes)
        self.op = op

    def forward(self, xs) -> torch.Tensor:
        x = self.align(xs)  # [B, N, k]
        if self.op == "sum":
            out = x.sum(1)
        elif self.op == "mean":
            out = x.mean(1)
        elif self.op == "multiply":
            out = x.prod(1)
        elif self.op == "max":
            out = x.amax(1)
        elif self.op == "min":
            out = x.amin(1)
        else:  # minus: the first vector less the others (a - b for two)
            out = x[:, 0] - x[:, 1:].sum(1)
        return out.unsqueeze(1)


class Elementwise(Interactor):
    """Reduces the input vectors elementwise to one ``[B, 1, k]`` (``multiply`` of a user and
    an item embedding is GMF).  ``minus`` is the first vector less the sum of the others."""

    hparams = {
        "op": Choice(("sum", "mean", "multiply", "max", "min", "minus"), help="the reduction"),
    }

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        op = self.hp(hp, "op")
        return _Elementwise(shapes, op), Shape(1, common_dim(shapes))


# --------------------------------------------------------------------------- inner product
class _InnerProduct(nn.Module):
    def __init__(self, shapes: Sequence[Shape]) -> None:
        super().__init__()
        self.align = Align(shapes)
        rows, cols = torch.triu_indices(self.align.fields, self.align.fields, offset=1)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)

    def forward(self, xs) -> torch.Tensor:
        x = self.align(xs)
        if x.shape[1] == 2:  # the common case (user, item): skip the N x N matrix
            return (x[:, 0] * x[:, 1]).sum(-1, keepdim=True).unsqueeze(1)
        gram = torch.bmm(x, x.transpose(1, 2))
        return gram[:, self.rows, self.cols].unsqueeze(1)


class InnerProduct(Interactor):
    """Inner products of every pair of input vectors, ``[B, 1, N(N-1)/2]``: the dot product
    of a user and an item embedding (MF), or DLRM's pairwise dot interaction."""

    hparams: dict = {}

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        n = sum(s.fields for s in shapes)
        if n < 2:
            raise ConfigError(f"{self.name} needs at least two vectors, its inputs give {n}")
        return _InnerProduct(shapes), Shape(1, n * (n - 1) // 2)


# --------------------------------------------------------------------------- concatenate
class _Concat(nn.Module):
    def forward(self, xs) -> torch.Tensor:
        return flatten_cat(xs).unsqueeze(1)


class Concatenate(Interactor):
    """All inputs flattened and concatenated, ``[B, 1, sum F_i k_i]``."""

    hparams: dict = {}

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        return _Concat(), Shape(1, _width(shapes))


# --------------------------------------------------------------------------- MLP
class _MLP(nn.Module):
    def __init__(self, in_width: int, sizes: Sequence[int], activation: str, dropout: float,
                 batch_norm: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_width
        for units in sizes:
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        self.net = nn.Sequential(*layers)

    def forward(self, xs) -> torch.Tensor:
        return self.net(flatten_cat(xs)).unsqueeze(1)


class MLP(Interactor):
    """A feed-forward network on the concatenated inputs, ``[B, 1, units of the last layer]``.

    ``shape="shrink"`` halves the width at each layer (the NCF tower: 64, 32, 16).
    """

    hparams = {
        "layers": Int(1, 4, default=2, help="number of hidden layers", limits=COUNT_LIMITS),
        "units": Choice((16, 32, 64, 128, 256, 512), default=64, help="width of the first layer"),
        "shape": Choice(("constant", "shrink"), help="equal widths, or halving at each layer"),
        "activation": Choice(("relu", "tanh", "sigmoid", "gelu", "selu"), help="nonlinearity"),
        "dropout": Float(0.0, 0.5, default=0.0, help="dropout after each layer", limits=DROPOUT_LIMITS),
        "batch_norm": Bool(False, help="batch normalisation before each activation"),
    }

    def sizes(self, hp: HyperParameters) -> list[int]:
        layers = self.hp(hp, "layers")
        units = self.hp(hp, "units")
        shape = self.hp(hp, "shape") if layers > 1 else "constant"
        if shape == "shrink":
            return [max(units >> i, 1) for i in range(layers)]
        return [units] * layers

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        sizes = self.sizes(hp)
        module = _MLP(_width(shapes), sizes, self.hp(hp, "activation"), self.hp(hp, "dropout"),
                      self.hp(hp, "batch_norm"))
        return module, Shape(1, sizes[-1])


# --------------------------------------------------------------------------- FM
class _FM(nn.Module):
    def __init__(self, shapes: Sequence[Shape], output: str) -> None:
        super().__init__()
        self.align = Align(shapes)
        self.output = output

    def forward(self, xs) -> torch.Tensor:
        x = self.align(xs)
        # sum_{i<j} <v_i, v_j> = 1/2 (|sum_i v_i|^2 - sum_i |v_i|^2), per component: O(kN)
        s = x.sum(1)
        pairwise = 0.5 * (s * s - (x * x).sum(1))
        if self.output == "scalar":
            return pairwise.sum(-1, keepdim=True).unsqueeze(1)
        return pairwise.unsqueeze(1)


class FM(Interactor):
    """Second-order factorisation machine, ``sum_{i<j} <v_i, v_j>`` in O(kN).

    ``output="scalar"`` is FM's term ``[B, 1, 1]``; ``"vector"`` keeps the ``k`` components
    ``[B, 1, k]`` (NFM's bi-interaction pooling) for a network on top.
    """

    hparams = {"output": Choice(("scalar", "vector"), help="the FM term, or its k components")}

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        output = self.hp(hp, "output")
        return _FM(shapes, output), Shape(1, 1 if output == "scalar" else common_dim(shapes))


# --------------------------------------------------------------------------- cross network
class _CrossV1(nn.Module):
    def __init__(self, width: int, layers: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(layers, width) / math.sqrt(width))
        self.b = nn.Parameter(torch.zeros(layers, width))

    def forward(self, xs) -> torch.Tensor:
        x0 = flatten_cat(xs)
        x = x0
        for w, b in zip(self.w, self.b):
            # x0 x^T w is x0 scaled by the scalar x.w: no d x d matrix needed
            x = x0 * (x @ w).unsqueeze(-1) + b + x
        return x.unsqueeze(1)


class _CrossV2(nn.Module):
    def __init__(self, width: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(layers)])

    def forward(self, xs) -> torch.Tensor:
        x0 = flatten_cat(xs)
        x = x0
        for lin in self.layers:
            x = x0 * lin(x) + x
        return x.unsqueeze(1)


class CrossNet(Interactor):
    """Deep & Cross Network's cross layers on the concatenated inputs ``x0``, ``[B, 1, d]``.

    ``v1`` (Wang et al. 2017): ``x_{l+1} = x0 x_l^T w_l + b_l + x_l``;
    ``v2`` (Wang et al. 2021): ``x_{l+1} = x0 * (W_l x_l + b_l) + x_l``.
    """

    hparams = {
        "version": Choice(("v1", "v2"), help="DCN (vector weights) or DCN-v2 (matrix weights)"),
        "layers": Int(1, 6, default=2, help="number of cross layers", limits=COUNT_LIMITS),
    }

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        version = self.hp(hp, "version")
        layers = self.hp(hp, "layers")
        width = _width(shapes)
        cls = _CrossV1 if version == "v1" else _CrossV2
        return cls(width, layers), Shape(1, width)


# --------------------------------------------------------------------------- self-attention
class _AttentionLayer(nn.Module):
    def __init__(self, in_dim: int, heads: int, att_dim: int, residual: bool) -> None:
        super().__init__()
        out = heads * att_dim
        self.heads, self.att_dim = heads, att_dim
        self.query = nn.Linear(in_dim, out, bias=False)
        self.key = nn.Linear(in_dim, out, bias=False)
        self.value = nn.Linear(in_dim, out, bias=False)
        self.res = nn.Linear(in_dim, out, bias=False) if residual else None

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.att_dim).transpose(1, 2)  # [B, H, N, d]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        att = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(d)) v
        out = att.transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
        if self.res is not None:
            out = out + self.res(x)
        return F.relu(out)


class _SelfAttention(nn.Module):
    def __init__(self, shapes: Sequence[Shape], heads: int, att_dim: int, layers: int,
                 residual: bool) -> None:
        super().__init__()
        self.align = Align(shapes)
        dims = [self.align.dim] + [heads * att_dim] * layers
        self.layers = nn.ModuleList(
            [_AttentionLayer(dims[i], heads, att_dim, residual) for i in range(layers)]
        )

    def forward(self, xs) -> torch.Tensor:
        x = self.align(xs)
        for layer in self.layers:
            x = layer(x)
        return x


class SelfAttention(Interactor):
    """AutoInt's interacting layers: multi-head self-attention over the input vectors,
    ``relu(attention + W_res x)``, ``[B, N, heads * att_dim]``.

    Scores are scaled by ``1/sqrt(att_dim)`` (AutoInt uses unscaled dot products; the scaling
    only changes the softmax temperature and keeps it stable as ``att_dim`` grows).
    """

    hparams = {
        "heads": Choice((1, 2, 4), default=2, help="attention heads"),
        "att_dim": Choice((8, 16, 32, 64), default=16, help="width of each head"),
        "layers": Int(1, 4, default=2, help="stacked interacting layers", limits=COUNT_LIMITS),
        "residual": Bool(True, help="add the projected input (W_res x) to each layer's output"),
    }

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        heads = self.hp(hp, "heads")
        att_dim = self.hp(hp, "att_dim")
        layers = self.hp(hp, "layers")
        residual = self.hp(hp, "residual")
        module = _SelfAttention(shapes, heads, att_dim, layers, residual)
        return module, Shape(module.align.fields, heads * att_dim)


# --------------------------------------------------------------------------- CIN
class _CIN(nn.Module):
    def __init__(self, shapes: Sequence[Shape], sizes: Sequence[int], split_half: bool) -> None:
        super().__init__()
        self.align = Align(shapes)
        m = self.align.fields
        self.split_half = split_half
        # W^k as a [H_k, H_{k-1} * m] matrix over the channel pairs (i, j): the authors'
        # 1x1 convolution, computed without materialising the outer product
        self.weights = nn.ParameterList()
        prev = m
        self.out_sizes: list[int] = []
        for i, h in enumerate(sizes):
            bound = 1.0 / math.sqrt(prev * m)
            self.weights.append(nn.Parameter(torch.empty(h, prev * m).uniform_(-bound, bound)))
            if split_half and i < len(sizes) - 1:
                prev = h // 2
                self.out_sizes.append(h - h // 2)
            else:
                prev = h
                self.out_sizes.append(h)

    def forward(self, xs) -> torch.Tensor:
        x0 = self.align(xs)  # [B, m, D]
        b, m, d = x0.shape
        xk = x0
        pooled = []
        last = len(self.weights) - 1
        for i, w in enumerate(self.weights):
            n_out, n_in = w.shape[0], xk.shape[1]
            # two orders of the same sum; the intermediate is [B, H_{k-1}, m, D] for the outer
            # product first and [B, D, H_k, H_{k-1}] for W x0 first: take the smaller
            # (3x faster either way on 2 fields (rating pairs) and on Criteo's 39)
            if n_out < m:
                t = (x0.transpose(1, 2) @ w.view(n_out * n_in, m).T).view(b, d, n_out, n_in)
                xn = (t * xk.transpose(1, 2).unsqueeze(2)).sum(-1).transpose(1, 2)
            else:
                z = (xk.unsqueeze(2) * x0.unsqueeze(1)).reshape(b, n_in * m, d)
                xn = (z.transpose(1, 2) @ w.T).transpose(1, 2)  # [B, H_k, D]
            if self.split_half and i < last:
                half = xn.shape[1] // 2
                xk, out = xn[:, :half], xn[:, half:]
            else:
                xk = out = xn
            pooled.append(out.sum(-1))
        return torch.cat(pooled, dim=1).unsqueeze(1)


class CIN(Interactor):
    """xDeepFM's compressed interaction network: ``X^k_h = sum_{i,j} W^{k,h}_{ij} (X^{k-1}_i o X^0_j)``,
    each layer's feature maps sum-pooled over the embedding dimension and concatenated.

    ``split_half`` (as in the authors' code) sends half of each hidden layer's maps to the
    output and half to the next layer.
    """

    hparams = {
        "layers": Int(1, 4, default=2, help="CIN layers", limits=COUNT_LIMITS),
        "units": Choice((8, 16, 32, 64, 128), default=16, help="feature maps per layer"),
        "split_half": Bool(False, help="half the maps to the output, half to the next layer"),
    }

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        layers = self.hp(hp, "layers")
        units = self.hp(hp, "units")
        split = self.hp(hp, "split_half") if layers > 1 else False
        module = _CIN(shapes, [units] * layers, split)
        return module, Shape(1, sum(module.out_sizes))


# --------------------------------------------------------------------------- HyperInteraction
def default_candidates() -> list[Interactor]:
    return [MLP(), FM(), CrossNet(), SelfAttention(), InnerProduct(), Elementwise(),
            Concatenate(), CIN()]


class _Parallel(nn.Module):
    def __init__(self, modules: Sequence[nn.Module]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(modules)

    def forward(self, xs) -> torch.Tensor:
        return flatten_cat([m(xs) for m in self.branches]).unsqueeze(1)


class HyperInteraction(Interactor):
    """Searches which interactors to apply to the inputs: a choice of a non-empty subset of
    ``candidates`` (at most ``max_size`` of them), outputs concatenated ``[B, 1, sum]``.

    The subset is one choice hyperparameter, ``subset`` (candidate names joined by ``+``);
    only the chosen candidates ask for their own hyperparameters, scoped under this block
    (``hyper_interaction/mlp/units``).
    """

    hparams: dict[str, HParam] = {}  # per instance: the subsets depend on the candidates

    def __init__(self, candidates: Sequence[Interactor] | None = None, max_size: int = 3,
                 inputs: Sequence[Block] | None = None, name: str | None = None,
                 **fixed: Any) -> None:
        cands = list(candidates) if candidates is not None else default_candidates()
        if not cands:
            raise ConfigError("HyperInteraction needs at least one candidate")
        for c in cands:
            if not isinstance(c, Interactor) or isinstance(c, HyperInteraction):
                raise ConfigError(f"candidates must be structured interactors, got {c!r}")
            if c.inputs is not None:
                raise ConfigError(f"candidate {c.name} has its own inputs; candidates read the "
                                  "HyperInteraction's inputs")
        unique_names(cands)
        if not 1 <= int(max_size):
            raise ConfigError(f"max_size must be at least 1, got {max_size}")
        names = [c.name for c in cands]
        subsets = _subsets(names, min(int(max_size), len(names)))
        self.hparams = {"subset": Choice(subsets, default="+".join(names[:max_size]),
                                         help="which candidate interactors to combine")}
        super().__init__(inputs=inputs, name=name, **fixed)
        self.candidates = cands

    def children(self) -> list[Block]:
        return list(self.candidates)

    def tunable(self) -> dict[str, HParam]:
        out = super().tunable()
        for c in self.candidates:
            out.update({f"{self.name}/{k}": v for k, v in c.tunable().items()})
        return out

    def chosen(self, hp: HyperParameters) -> list[Interactor]:
        picked = set(self.hp(hp, "subset").split("+"))
        return [c for c in self.candidates if c.name in picked]

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        scoped = PrefixedHP(hp, self.name)
        modules, width = [], 0
        for c in self.chosen(hp):
            module, shape = c.build(scoped, shapes)
            modules.append(module)
            width += shape.width
        return _Parallel(modules), Shape(1, width)


def _subsets(names: Sequence[str], max_size: int) -> list[str]:
    from itertools import combinations

    return ["+".join(c) for r in range(1, max_size + 1) for c in combinations(names, r)]
