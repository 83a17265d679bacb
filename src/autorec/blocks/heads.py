"""Heads (the platform's "optimizers"): the prediction and its loss.

The combined interaction vector ``z [B, d]`` reaches the head; with ``d > 1`` the head
projects it to a scalar with a learned vector, with ``d == 1`` it takes ``z`` as it is (so MF
is exactly ``mean + <p_u, q_i>``, and a ``combine="sum"`` of logits is not rescaled).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ConfigError
from .graph import DataInfo, Head, HeadModule, HyperParameters, require
from ..hparams import Bool, Choice
from .mappers import L2_GRID


def _projection(width: int) -> nn.Module:
    return nn.Identity() if width == 1 else nn.Linear(width, 1, bias=False)


class _RatingHead(HeadModule):
    def __init__(self, width: int, info: DataInfo, biases: bool, l2: float = 0.0) -> None:
        super().__init__()
        self.proj = _projection(width)
        self.l2 = float(l2)
        self.penalty: torch.Tensor | None = None  # read (and cleared) by BlockModule.loss
        self.register_buffer("mean", torch.tensor(float(info.global_mean)))
        self.user_bias = self.item_bias = None
        if biases:
            self.user_bias = nn.Embedding(info.n_users, 1)
            self.item_bias = nn.Embedding(info.n_items, 1)
            nn.init.zeros_(self.user_bias.weight)
            nn.init.zeros_(self.item_bias.weight)
        scale = info.rating_scale
        self.scale = None if scale is None else (float(scale[0]), float(scale[1]))

    def forward(self, z: torch.Tensor, batch) -> torch.Tensor:
        out = self.proj(z).squeeze(-1) + self.mean
        if self.user_bias is not None:
            bu = self.user_bias(require(batch, "user")).squeeze(-1)
            bi = self.item_bias(require(batch, "item")).squeeze(-1)
            out = out + bu + bi
            if self.training and self.l2 and torch.is_grad_enabled():
                self.penalty = self.l2 * (bu.square() + bi.square()).mean()
        # clipping cuts the gradient of out-of-scale predictions, so only outside training
        if not self.training and self.scale is not None:
            out = out.clamp(*self.scale)
        return out

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target.to(output.dtype))

    def postprocess(self, output: torch.Tensor) -> torch.Tensor:
        return output if self.scale is None else output.clamp(*self.scale)


class RatingHead(Head):
    """``global mean + b_u + b_i + w^T z`` with MSE loss (``biases=False`` drops ``b_u, b_i``;
    on feature rows, which have no users and items, there are no biases).

    Predictions are clipped to the data's rating scale in eval mode and in ``predict`` only:
    during training an out-of-scale prediction keeps its gradient.
    """

    task = "rating"
    hparams = {
        "biases": Bool(True, help="learned user and item biases"),
        "l2": Choice(L2_GRID, default=0.0,
                    help="per-rating L2 on the user and item biases a rating uses"),
    }

    def tunable(self) -> dict:
        out = super().tunable()
        if self.fixed.get("biases") is False:
            out.pop(f"{self.name}/l2", None)  # the L2 of biases there are none of
        return out

    def build(self, hp: HyperParameters, width: int, info: DataInfo) -> HeadModule:
        # feature rows have no user and item to bias: the question is not asked there
        if info.pairs:
            biases = self.hp(hp, "biases")
        elif self.fixed.get("biases"):
            raise ConfigError(f"{self.name}: user and item biases need rating pairs, and the "
                              "data are feature rows; pass biases=False")
        else:
            biases = False
        return _RatingHead(width, info, biases, self.hp(hp, "l2") if biases else 0.0)


class _CTRHead(HeadModule):
    def __init__(self, width: int, info: DataInfo) -> None:
        super().__init__()
        self.proj = _projection(width)
        # start at the base rate: the first steps then learn signal, not the prior
        p = min(max(float(info.global_mean), 1e-4), 1 - 1e-4) if info.global_mean > 0 else 0.5
        self.bias = nn.Parameter(torch.tensor(math.log(p / (1 - p))))

    def forward(self, z: torch.Tensor, batch) -> torch.Tensor:
        return self.proj(z).squeeze(-1) + self.bias

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(output, target.to(output.dtype))

    def postprocess(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output)


class CTRHead(Head):
    """A logit ``b + w^T z`` (``b`` starts at the logit of the positive rate); binary
    cross-entropy with logits; ``predict`` gives probabilities."""

    task = "ctr"
    hparams: dict = {}

    def build(self, hp: HyperParameters, width: int, info: DataInfo) -> HeadModule:
        return _CTRHead(width, info)


def head_for(task: str, **fixed) -> Head:
    """The head of a task (``"rating"`` or ``"ctr"``)."""
    if task == "rating":
        return RatingHead(**fixed)
    if task == "ctr":
        return CTRHead(**fixed)
    raise ConfigError(f"task must be 'rating' or 'ctr', got {task!r}")
