"""Searchable building blocks (mappers, interactors, heads) and their composition.

See ``docs/blocks-and-zoo.md``.  Every block declares its hyperparameters once (a class-level
``hparams`` table); values given at construction are fixed, the rest are asked define-by-run
from a :class:`~autorec.blocks.hparams.HyperParameters` source when the block is built.
"""

from __future__ import annotations

from .graph import (
    TASKS,
    Block,
    BlockModel,
    BlockModule,
    DataInfo,
    Head,
    HeadModule,
    Interactor,
    Mapper,
    Shape,
    Tie,
)
from .heads import CTRHead, RatingHead, head_for
from ..hparams import (
    UNSET,
    Bool,
    Choice,
    DefaultHP,
    FixedHP,
    Float,
    HParam,
    HyperParameters,
    Int,
    Tunable,
    unique_names,
)
from .interactors import (
    CIN,
    FM,
    MLP,
    Concatenate,
    CrossNet,
    Elementwise,
    HyperInteraction,
    InnerProduct,
    SelfAttention,
)
from .mappers import (
    CategoricalEmbedding,
    DenseEmbedding,
    DenseInput,
    FirstOrder,
    LatentFactor,
    RatingHistory,
)

MAPPERS: tuple[type[Mapper], ...] = (
    LatentFactor, CategoricalEmbedding, DenseEmbedding, DenseInput, FirstOrder, RatingHistory,
)
INTERACTORS: tuple[type[Interactor], ...] = (
    Elementwise, InnerProduct, Concatenate, MLP, FM, CrossNet, SelfAttention, CIN, HyperInteraction,
)
HEADS: tuple[type[Head], ...] = (RatingHead, CTRHead)


def _format_range(spec: HParam) -> str:
    if spec.kind in ("choice", "bool"):
        return ", ".join(str(c) for c in spec.choices)
    if spec.kind == "int":
        text = f"{int(spec.low)} .. {int(spec.high)}"
    else:
        text = f"{spec.low:g} .. {spec.high:g}"
    return text + " (log)" if spec.log else text


def hparams_markdown() -> str:
    """The hyperparameter table of every block, generated from the declarations."""
    lines = ["| block | role | hyperparameter | kind | values | default | meaning |",
             "|---|---|---|---|---|---|---|"]
    for cls in (*MAPPERS, *INTERACTORS, *HEADS, BlockModel):
        table = cls.hparams
        if cls is HyperInteraction:
            lines.append(f"| {cls.__name__} | {cls.role} | subset | choice | non-empty subsets of "
                         "the candidates, at most max_size | the first max_size candidates | "
                         "which candidate interactors to combine |")
            continue
        if not table:
            lines.append(f"| {cls.__name__} | {cls.role} | (none) | | | | |")
            continue
        for key, spec in table.items():
            role = getattr(cls, "role", "graph")
            lines.append(f"| {cls.__name__} | {role} | {key} | {spec.kind} | "
                         f"{_format_range(spec)} | {spec.default} | {spec.help} |")
    return "\n".join(lines)


__all__ = [
    "TASKS", "Block", "BlockModel", "BlockModule", "DataInfo", "Head", "HeadModule", "Interactor",
    "Mapper", "Shape", "Tie", "CTRHead", "RatingHead", "head_for",
    "UNSET", "Bool", "Choice", "DefaultHP", "FixedHP", "Float", "HParam", "HyperParameters", "Int",
    "Tunable", "unique_names", "CIN", "FM", "MLP", "Concatenate", "CrossNet", "Elementwise",
    "HyperInteraction", "InnerProduct", "SelfAttention", "CategoricalEmbedding", "DenseEmbedding",
    "DenseInput", "FirstOrder", "LatentFactor", "RatingHistory", "MAPPERS", "INTERACTORS",
    "HEADS", "hparams_markdown",
]
