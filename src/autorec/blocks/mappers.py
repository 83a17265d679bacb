"""Mappers: raw batch inputs -> embeddings ``[B, F, k]``.

* :class:`LatentFactor` -- user and/or item id embeddings (rating pairs).
* :class:`CategoricalEmbedding` -- one embedding per categorical field, from one table per
  field or one hashed table shared by all fields (a searchable choice).
* :class:`DenseEmbedding` -- each numeric field ``x_j`` as ``x_j * v_j`` (AutoInt, FM).
* :class:`DenseInput` -- the raw dense vector as one field (the input of DLRM's bottom MLP).
* :class:`FirstOrder` -- the linear part ``sum_f w[f, code_f] + sum_j w_j x_j`` of FM-style models.
* :class:`RatingHistory` -- a user's or item's training ratings through one layer: AutoRec's
  encoder, computed sparsely with ``embedding_bag(per_sample_weights=...)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ConfigError
from .graph import DataInfo, Mapper, Shape, categorical_view, require
from ..hparams import COUNT_LIMITS, Choice, HyperParameters, Int

EMBED_STD = 0.05  # small, so the many pairwise products of FM-style models start near zero

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "selu": nn.SELU,
    "identity": nn.Identity,
}


# per-rating L2 strengths a search may pick (0 = off); a grid, not a log-scale float, so that
# "off" is one of the values
L2_GRID = (0.0, 1e-3, 3e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _embedding(rows: int, dim: int, std: float = EMBED_STD) -> nn.Embedding:
    emb = nn.Embedding(max(rows, 1), dim)
    nn.init.normal_(emb.weight, std=std)
    return emb


class _GatherRows(torch.autograd.Function):
    """``weight[index]``, its gradient summed into the table by one ``index_add_``.

    On CPU, ``nn.Embedding``'s backward adds each looked-up row with its own tensor op (26K
    ops for a Criteo batch of 1024); ``index_add_`` adds the same rows in the same order in one
    op, so the gradient is bit-for-bit the same, in a third of the time.
    """

    @staticmethod
    def forward(ctx, weight: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.rows = weight.shape[0]
        return F.embedding(index, weight)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        flat = grad.reshape(-1, grad.shape[-1])
        return flat.new_zeros(ctx.rows, flat.shape[1]).index_add_(0, index.reshape(-1), flat), None


def _lookup(table: nn.Embedding, index: torch.Tensor) -> torch.Tensor:
    # CUDA keeps nn.Embedding: its backward is deterministic there, index_add_ is atomic
    if table.weight.device.type == "cpu" and table.weight.requires_grad and torch.is_grad_enabled():
        return _GatherRows.apply(table.weight, index)
    return table(index)


class _Empty(nn.Module):
    """A mapper with nothing to map on this data (no dense features): ``[B, 0, k]``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, batch) -> torch.Tensor:
        ref = next(iter(batch.values()))
        return torch.zeros(ref.shape[0], 0, self.dim, device=ref.device)


# --------------------------------------------------------------------------- ids
class _IdEmbedding(nn.Module):
    def __init__(self, fields: Sequence[str], sizes: Sequence[int], dim: int, l2: float = 0.0) -> None:
        super().__init__()
        self.fields = list(fields)
        self.tables = nn.ModuleList([_embedding(n, dim) for n in sizes])
        self.l2 = float(l2)
        self.penalty: torch.Tensor | None = None  # read (and cleared) by BlockModule.loss

    def forward(self, batch) -> torch.Tensor:
        out = torch.stack([t(require(batch, f)) for f, t in zip(self.fields, self.tables)], 1)
        if self.training and self.l2 and torch.is_grad_enabled():
            # Koren's regulariser: each rating's loss term gets l2 (|p_u|^2 + |q_i|^2) for the
            # factors it used, so a rarely seen user is pulled towards 0 as often as it is seen
            # (weight decay, by contrast, shrinks every row on every step)
            self.penalty = self.l2 * out.square().sum() / out.shape[0]
        return out


class LatentFactor(Mapper):
    """Id embeddings of ``fields`` (``"user"``, ``"item"`` or both): ``[B, len(fields), k]``.

    Both fields share one ``embedding_dim``, so inner products are defined.
    """

    hparams = {
        "embedding_dim": Choice((8, 16, 32, 64, 128), default=32, help="width of each id embedding"),
        "l2": Choice(L2_GRID, default=0.0,
                    help="per-rating L2 on the factors a rating uses (Koren's regulariser)"),
    }

    def __init__(self, fields: str | Sequence[str] = ("user", "item"), name: str | None = None,
                 **fixed: Any) -> None:
        super().__init__(name=name, **fixed)
        fields = (fields,) if isinstance(fields, str) else tuple(fields)
        bad = [f for f in fields if f not in ("user", "item")]
        if bad or not fields or len(set(fields)) != len(fields):
            raise ConfigError(f"{self.name}: fields must be 'user' and/or 'item', got {list(fields)}")
        self.fields = fields

    def build(self, hp: HyperParameters, info: DataInfo) -> tuple[nn.Module, Shape]:
        if not info.pairs:
            raise ConfigError(f"{self.name} embeds user/item ids, and the data has no users and "
                              "items (use CategoricalEmbedding for feature rows)")
        dim = self.hp(hp, "embedding_dim")
        sizes = [info.n_users if f == "user" else info.n_items for f in self.fields]
        return _IdEmbedding(self.fields, sizes, dim, self.hp(hp, "l2")), Shape(len(self.fields), dim)


# --------------------------------------------------------------------------- categorical fields
class _Codes(nn.Module):
    """Selects the categorical codes of some fields from a batch."""

    def __init__(self, info: DataInfo, fields: list[int]) -> None:
        super().__init__()
        self.pairs = info.pairs
        self.register_buffer("field_index", torch.tensor(fields, dtype=torch.long), persistent=False)

    def codes(self, batch) -> torch.Tensor:
        return categorical_view(batch, self.pairs)[:, self.field_index]


class _FieldTables(_Codes):
    """One table per field, stored as one ``nn.Embedding`` with per-field row offsets."""

    def __init__(self, info: DataInfo, fields: list[int], dim: int, std: float = EMBED_STD) -> None:
        super().__init__(info, fields)
        sizes = [info.categorical_sizes[f] for f in fields]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.from_numpy(offsets), persistent=False)
        self.table = _embedding(int(sum(sizes)), dim, std)

    def forward(self, batch) -> torch.Tensor:
        return _lookup(self.table, self.codes(batch) + self.offsets)


class _HashedTable(_Codes):
    """All fields share one table of ``buckets`` rows; a field-salted hash picks the row."""

    # odd 32-bit multipliers (Knuth's golden-ratio constant and MurmurHash3's c2)
    _MUL, _SALT = 2654435761, 2246822519

    def __init__(self, info: DataInfo, fields: list[int], dim: int, buckets: int) -> None:
        super().__init__(info, fields)
        salt = (torch.arange(1, len(fields) + 1, dtype=torch.long) * self._SALT) % buckets
        self.register_buffer("salt", salt, persistent=False)
        self.buckets = buckets
        self.table = _embedding(buckets, dim)

    def forward(self, batch) -> torch.Tensor:
        # codes < 2**31, so codes * _MUL stays well inside int64
        idx = (self.codes(batch) * self._MUL + self.salt) % self.buckets
        return self.table(idx)


def _select_fields(name: str, fields, info: DataInfo) -> list[int]:
    names = info.categorical_names
    if fields is None:
        return list(range(len(names)))
    out = []
    for f in fields:
        if isinstance(f, str):
            if f not in names:
                raise ConfigError(f"{name}: no categorical field {f!r}; fields: {list(names)}")
            out.append(names.index(f))
        else:
            if not 0 <= int(f) < len(names):
                raise ConfigError(f"{name}: field index {f} outside 0..{len(names) - 1}")
            out.append(int(f))
    return out


class CategoricalEmbedding(Mapper):
    """An embedding per categorical field ``[B, F, k]`` (for rating pairs: user and item).

    ``table="per_field"`` gives each field its own rows; ``"hashed"`` shares one table of
    ``hash_buckets`` rows among all fields (fewer parameters; collisions are the price).
    ``fields`` selects fields by name or index (default: all).
    """

    hparams = {
        "embedding_dim": Choice((4, 8, 16, 32, 64), default=16, help="width of each field embedding"),
        "table": Choice(("per_field", "hashed"), help="one table per field, or one shared hashed table"),
        "hash_buckets": Int(1 << 10, 1 << 20, default=1 << 16, log=True, limits=COUNT_LIMITS,
                            help="rows of the shared table (asked only when table=hashed)"),
    }

    def __init__(self, fields: Sequence[int | str] | None = None, name: str | None = None,
                 **fixed: Any) -> None:
        super().__init__(name=name, **fixed)
        self.fields = None if fields is None else list(fields)

    def build(self, hp: HyperParameters, info: DataInfo) -> tuple[nn.Module, Shape]:
        dim = self.hp(hp, "embedding_dim")
        fields = _select_fields(self.name, self.fields, info)
        if not fields:
            return _Empty(dim), Shape(0, dim)
        if self.hp(hp, "table") == "hashed":
            return _HashedTable(info, fields, dim, self.hp(hp, "hash_buckets")), Shape(len(fields), dim)
        return _FieldTables(info, fields, dim), Shape(len(fields), dim)


# --------------------------------------------------------------------------- dense fields
class _DenseEmbed(nn.Module):
    def __init__(self, n: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n, dim) * EMBED_STD)

    def forward(self, batch) -> torch.Tensor:
        return require(batch, "dense").unsqueeze(-1) * self.weight


class DenseEmbedding(Mapper):
    """Each dense field ``x_j`` as the vector ``x_j * v_j``: ``[B, n_dense, k]``."""

    hparams = {
        "embedding_dim": Choice((4, 8, 16, 32, 64), default=16, help="width of each field embedding"),
    }

    def build(self, hp: HyperParameters, info: DataInfo) -> tuple[nn.Module, Shape]:
        dim = self.hp(hp, "embedding_dim")
        if info.n_dense == 0:
            return _Empty(dim), Shape(0, dim)
        return _DenseEmbed(info.n_dense, dim), Shape(info.n_dense, dim)


class _DenseRaw(nn.Module):
    def forward(self, batch) -> torch.Tensor:
        return require(batch, "dense").unsqueeze(1)


class DenseInput(Mapper):
    """The dense features as they are, one field ``[B, 1, n_dense]`` (no parameters)."""

    hparams: dict = {}

    def build(self, hp: HyperParameters, info: DataInfo) -> tuple[nn.Module, Shape]:
        if info.n_dense == 0:
            return _Empty(0), Shape(0, 0)
        return _DenseRaw(), Shape(1, info.n_dense)


# --------------------------------------------------------------------------- first order
class _FirstOrder(nn.Module):
    def __init__(self, info: DataInfo) -> None:
        super().__init__()
        n_fields = len(info.categorical_sizes)
        self.cat = _FieldTables(info, list(range(n_fields)), 1) if n_fields else None
        if self.cat is not None:
            nn.init.zeros_(self.cat.table.weight)
        self.dense = nn.Linear(info.n_dense, 1, bias=False) if info.n_dense else None
        if self.dense is not None:
            nn.init.zeros_(self.dense.weight)

    def forward(self, batch) -> torch.Tensor:
        parts = []
        if self.cat is not None:
            parts.append(self.cat(batch).sum(dim=(1, 2)))
        if self.dense is not None:
            parts.append(self.dense(require(batch, "dense")).squeeze(-1))
        return torch.stack(parts, 0).sum(0).view(-1, 1, 1)


class FirstOrder(Mapper):
    """The linear part of FM-style models: one weight per categorical value (a one-hot linear
    model) plus one per dense field, summed to ``[B, 1, 1]``.  Starts at zero."""

    hparams: dict = {}

    def build(self, hp: HyperParameters, info: DataInfo) -> tuple[nn.Module, Shape]:
        if not info.categorical_sizes and info.n_dense == 0:
            return _Empty(1), Shape(0, 1)
        return _FirstOrder(info), Shape(1, 1)


# --------------------------------------------------------------------------- rating history
class _HistoryEncoder(nn.Module):
    """``act(W r + b)`` for the sparse rating vector ``r`` of each id in the batch."""

    def __init__(self, side: str, matrix, units: int, activation: str) -> None:
        super().__init__()
        self.side = side
        self.register_buffer("indptr", torch.from_numpy(matrix.indptr.astype(np.int64)), persistent=False)
        self.register_buffer("indices", torch.from_numpy(matrix.indices.astype(np.int64)), persistent=False)
        self.register_buffer("data", torch.from_numpy(matrix.data.astype(np.float32)), persistent=False)
        n_in = matrix.shape[1]
        # the same init as nn.Linear(n_in, units): this is that layer, applied sparsely
        bound = 1.0 / max(n_in, 1) ** 0.5
        self.weight = nn.Parameter(torch.empty(n_in, units).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(units).uniform_(-bound, bound))
        self.act = ACTIVATIONS[activation]()

    def gather(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Column indices, values and bag offsets of the CSR rows ``ids``."""
        starts = self.indptr[ids]
        lengths = self.indptr[ids + 1] - starts
        offsets = torch.cumsum(lengths, 0) - lengths
        total = int(lengths.sum())
        pos = torch.repeat_interleave(starts - offsets, lengths, output_size=total)
        pos = pos + torch.arange(total, device=ids.device)
        return self.indices[pos], self.data[pos], offsets

    def forward(self, batch) -> torch.Tensor:
        cols, vals, offsets = self.gather(require(batch, self.side))
        h = F.embedding_bag(cols, self.weight, offsets, mode="sum", per_sample_weights=vals)
        return self.act(h + self.bias).unsqueeze(1)


class RatingHistory(Mapper):
    """A user's (``side="user"``) or item's (``side="item"``) training ratings through one
    layer, ``act(W r + b)``: ``[B, 1, units]``.  The encoder of AutoRec.

    With ``side="item"``, a :class:`LatentFactor` ``("user",)`` tied to ``units``, an
    :class:`~autorec.blocks.interactors.InnerProduct` and a rating head with biases, the
    model is I-AutoRec: ``r_ui = <V_u, sigmoid(W r_i + b)> + b_u (+ b_i + mean)``.
    The training rating of the pair being predicted is part of ``r_i``, exactly as in
    AutoRec's reconstruction objective.
    """

    hparams = {
        "units": Choice((16, 32, 64, 128, 256, 500), default=64, help="width of the code"),
        "activation": Choice(("sigmoid", "relu", "tanh", "selu", "identity"), help="encoder nonlinearity"),
    }

    def __init__(self, side: str = "item", name: str | None = None, **fixed: Any) -> None:
        super().__init__(name=name, **fixed)
        if side not in ("user", "item"):
            raise ConfigError(f"{self.name}: side must be 'user' or 'item', got {side!r}")
        self.side = side

    def build(self, hp: HyperParameters, info: DataInfo) -> tuple[nn.Module, Shape]:
        matrix = info.item_history if self.side == "item" else info.user_history
        if matrix is None:
            raise ConfigError(f"{self.name} needs the {self.side}s' rating histories: build DataInfo "
                              "with DataInfo.from_interactions(train)")
        units = self.hp(hp, "units")
        act = self.hp(hp, "activation")
        return _HistoryEncoder(self.side, matrix, units, act), Shape(1, units)
