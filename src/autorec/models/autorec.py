"""The AutoRec family: I-/U-AutoRec (Sedhain et al. 2015), deep, denoising and hybrid variants.

One example is one ROW of a partially observed matrix: for I-AutoRec (``orientation="item"``) a
row is an item's ratings over users (``Interactions.csr_items()``), for U-AutoRec a user's ratings
over items (``Interactions.csr()``).  The reconstruction is

    h(r) = f(W g(V r + mu) + b)                      (one hidden layer: the paper)

with more hidden layers in between for a deep model (Kuchaiev & Ginsburg 2017).  The loss is the
sum of squared errors over the OBSERVED entries only; the L2 term ``lambda/2 (||W||^2 + ||V||^2)``
is exposed separately (:meth:`AutoRec.regularization`) so the trainer owns ``lambda``.

Two exact computations of the same loss and gradients:

* the sparse path (default): the first layer takes the sparse rows (SpMM) and the last layer is
  evaluated only at the observed entries (SDDMM), see :mod:`autorec.models.sparse_ops`; the
  cost is proportional to the number of ratings;
* the dense path (``dense=True``): materialise the ``B x n`` batch, dense layers, mask; the
  reference the sparse path is tested against.

Unobserved input entries take a fill (``zero``, the row's mean or the column's mean, named by
meaning: ``user_mean`` / ``item_mean``).  The sparse path stays exact with a fill:
``V (r_obs + fill_unobs) = V_obs (r - fill)_obs + V fill`` where ``V fill`` is one
matrix-vector product per batch (column fill) or a scalar times ``V.sum`` (row fill).

Denoising corrupts only the OBSERVED input entries, so both paths see the same input:
``noise="dropout"`` drops an observed entry with probability p (it then reads as unobserved,
i.e. takes the fill), optionally rescaling the kept deviations from the fill by 1/(1-p);
``noise="gaussian"`` adds N(0, sigma^2) to each observed entry (unobserved entries stay at the
fill: adding noise there too would make the input dense).  The loss is still over all observed
entries (the clean targets).  Noise and dropout use torch's global RNG (seed it with
``torch.manual_seed``) and act only in training mode.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ..hparams import Bool, Choice, Float, HParam, HyperParameters
from ..errors import ConfigError, DataError
from .sparse_ops import SparsePattern, half_squared_norm, sampled_linear, sparse_linear

__all__ = [
    "ACTIVATIONS",
    "FILLS",
    "NOISES",
    "ORIENTATIONS",
    "AutoRec",
    "AutoRecConfig",
    "RowBatch",
    "RowSource",
    "activation",
    "deep_hidden",
]

ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "tanh", "relu", "elu", "selu", "leaky_relu")
ORIENTATIONS: tuple[str, ...] = ("item", "user")
NOISES: tuple[str, ...] = ("none", "dropout", "gaussian")
FILLS: tuple[str, ...] = ("zero", "user_mean", "item_mean")

_ACTIVATION_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "elu": F.elu,
    "selu": F.selu,
    "leaky_relu": F.leaky_relu,
}


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The activation function called ``name`` (one of :data:`ACTIVATIONS`)."""
    try:
        return _ACTIVATION_FNS[name]
    except KeyError:
        raise ConfigError(f"unknown activation {name!r}; choose one of {list(ACTIVATIONS)}") from None


def deep_hidden(units: int, depth: int, shape: str = "bsb") -> tuple[int, ...]:
    """Symmetric hidden sizes: ``depth`` 1 -> ``(units,)``; 3 -> ``(u, u/2, u)`` for ``"bsb"``
    (big-small-big, the classic bottleneck) or ``(u/2, u, u/2)`` for ``"sbs"`` (Kuchaiev &
    Ginsburg's wide middle); 5 halves once more on each step towards (bsb) or away from (sbs)
    the middle."""
    if units < 1:
        raise ConfigError(f"hidden units must be >= 1, got {units}")
    if depth < 1 or depth % 2 == 0:
        raise ConfigError(f"depth must be an odd number >= 1, got {depth}")
    if shape not in ("bsb", "sbs"):
        raise ConfigError(f"deep shape must be 'bsb' or 'sbs', got {shape!r}")
    half = depth // 2
    if shape == "bsb":
        side = [max(1, units >> i) for i in range(half + 1)]  # u, u/2, ..., middle
    else:
        side = [max(1, units >> (half - i)) for i in range(half + 1)]  # ..., u/2, u (middle)
    return tuple(side + side[-2::-1])


# --------------------------------------------------------------------------------- config
@dataclass
class AutoRecConfig:
    """All hyperparameters of an AutoRec model; JSON-serialisable with :meth:`to_dict`.

    Defaults are the paper's I-AutoRec: k=500, g=sigmoid, f=identity, no noise, zero fill.
    ``hidden`` lists the hidden layer sizes; the middle one is the code (dropout acts there).
    Layer 1 uses ``encoder_activation``, layers 2.. use ``hidden_activation``, the output uses
    ``decoder_activation``.  ``noise_level`` is the drop probability for ``noise="dropout"``
    and the standard deviation (rating units) for ``noise="gaussian"``.
    """

    orientation: str = "item"
    hidden: tuple[int, ...] = (500,)
    encoder_activation: str = "sigmoid"
    decoder_activation: str = "identity"
    hidden_activation: str = "selu"
    dropout: float = 0.0
    noise: str = "none"
    noise_level: float = 0.0
    noise_rescale: bool = True
    fill: str = "zero"
    dense_refeed: bool = False
    side_dim: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.hidden, (int, np.integer)):
            self.hidden = (int(self.hidden),)
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            raise ConfigError(f"hidden must be a list of layer sizes, got {self.hidden!r}") from None
        if not hidden:
            raise ConfigError("hidden must list at least one layer size")
        for h in hidden:
            if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
                raise ConfigError(f"hidden layer sizes must be integers >= 1, got {self.hidden!r}")
        self.hidden = tuple(int(h) for h in hidden)
        _check_choice("orientation", self.orientation, ORIENTATIONS)
        for name in ("encoder_activation", "decoder_activation", "hidden_activation"):
            _check_choice(name, getattr(self, name), ACTIVATIONS)
        _check_choice("noise", self.noise, NOISES)
        _check_choice("fill", self.fill, FILLS)
        self.dropout = _check_float("dropout", self.dropout)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        self.noise_level = _check_float("noise_level", self.noise_level)
        if self.noise == "dropout" and not 0.0 <= self.noise_level < 1.0:
            raise ConfigError(f"noise_level is a drop probability for noise='dropout' and must be in [0, 1), got {self.noise_level}")
        if self.noise == "gaussian" and self.noise_level < 0.0:
            raise ConfigError(f"noise_level is a standard deviation for noise='gaussian' and must be >= 0, got {self.noise_level}")
        for name in ("noise_rescale", "dense_refeed"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
            setattr(self, name, bool(getattr(self, name)))
        if isinstance(self.side_dim, bool) or not isinstance(self.side_dim, (int, np.integer)) or self.side_dim < 0:
            raise ConfigError(f"side_dim must be an integer >= 0, got {self.side_dim!r}")
        self.side_dim = int(self.side_dim)

    @property
    def code_layer(self) -> int:
        """Index (in ``hidden``) of the code layer, where dropout acts: the middle one."""
        return len(self.hidden) // 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AutoRecConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown AutoRec setting(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(data))


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {list(choices)}")


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    try:
        num = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(num):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return num


def _fill_axis(fill: str, orientation: str) -> str:
    """'none', 'row' or 'col': which axis of the input matrix the fill's mean runs along."""
    if fill == "zero":
        return "none"
    rows_are = "item" if orientation == "item" else "user"
    return "row" if fill == f"{rows_are}_mean" else "col"


# ------------------------------------------------------------------------------ batches
@dataclass(eq=False)
class RowBatch:
    """Torch tensors for a block of rows of a :class:`RowSource`, on its device.

    ``ratings`` are the observed values (the targets) in CSR order; ``deviations`` are
    ``ratings - fill`` at the same entries (the sparse encoder input).  ``row_fill`` (one value
    per batch row) or ``col_fill`` (one per column) is the fill of the unobserved entries;
    both are None for a zero fill.
    """

    row_ids: np.ndarray
    pattern: SparsePattern
    ratings: torch.Tensor
    deviations: torch.Tensor
    row_fill: torch.Tensor | None = None
    col_fill: torch.Tensor | None = None
    side: torch.Tensor | None = None
    fill: str = "zero"  # the fill's name and the source's orientation, checked by the model
    orientation: str = "item"

    @property
    def size(self) -> int:
        return self.pattern.n_rows

    @property
    def nnz(self) -> int:
        return self.pattern.nnz

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "RowBatch":
        """A copy on ``device`` with floating tensors in ``dtype`` (e.g. float64 for gradcheck)."""

        def mv(x: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None else x.to(device=device, dtype=dtype)

        return RowBatch(
            row_ids=self.row_ids,
            pattern=self.pattern if device is None else self.pattern.to(device),
            ratings=mv(self.ratings), deviations=mv(self.deviations), row_fill=mv(self.row_fill),
            col_fill=mv(self.col_fill), side=mv(self.side), fill=self.fill, orientation=self.orientation,
        )

    def fill_at_entries(self) -> torch.Tensor | float:
        """The fill value at each observed entry (CSR order), or 0.0."""
        if self.row_fill is not None:
            return self.row_fill[self.pattern.rows]
        if self.col_fill is not None:
            return self.col_fill[self.pattern.cols]
        return 0.0

    def dense_fill(self) -> torch.Tensor | float:
        """The fill, broadcastable to ``size x n_cols``."""
        if self.row_fill is not None:
            return self.row_fill.unsqueeze(1)
        if self.col_fill is not None:
            return self.col_fill.unsqueeze(0)
        return 0.0


class RowSource:
    """The input matrix of an AutoRec model (scipy CSR, rows = examples), its fill and side
    information; makes :class:`RowBatch` es.

    ``fill`` is named by meaning and mapped with ``orientation``: for I-AutoRec (rows are
    items) ``item_mean`` is the row mean and ``user_mean`` the column mean; for U-AutoRec the
    other way round.  A row or column without any rating is filled with the global mean.
    ``side`` is a dense ``rows x side_dim`` float array of side information (hybrid model).
    """

    def __init__(
        self,
        matrix: sp.spmatrix | sp.sparray,
        side: np.ndarray | None = None,
        fill: str = "zero",
        orientation: str = "item",
        device: torch.device | str = "cpu",
    ) -> None:
        _check_choice("fill", fill, FILLS)
        _check_choice("orientation", orientation, ORIENTATIONS)
        self.matrix = _validated_csr(matrix)
        self.fill = fill
        self.orientation = orientation
        self.device = torch.device(device)
        self.side = _validated_side(side, self.matrix.shape[0])
        self.axis = _fill_axis(fill, orientation)

        m = self.matrix
        self.global_mean = float(m.data.mean(dtype=np.float64)) if m.nnz else 0.0
        self._row_fill_np: np.ndarray | None = None
        self._col_fill_t: torch.Tensor | None = None
        if self.axis == "row":
            self._row_fill_np = _axis_means(m, axis=1, default=self.global_mean)
        elif self.axis == "col":
            col = _axis_means(m, axis=0, default=self.global_mean)
            self._col_fill_t = torch.from_numpy(col).to(self.device)
        self._side_t = None if self.side is None else torch.from_numpy(self.side).to(self.device)

    @classmethod
    def from_interactions(
        cls,
        interactions: Any,
        orientation: str = "item",
        side: np.ndarray | None = None,
        fill: str = "zero",
        device: torch.device | str = "cpu",
    ) -> "RowSource":
        """The input matrix for ``orientation``: items x users (I-AutoRec) or users x items."""
        _check_choice("orientation", orientation, ORIENTATIONS)
        matrix = interactions.csr_items() if orientation == "item" else interactions.csr()
        return cls(matrix, side=side, fill=fill, orientation=orientation, device=device)

    def other_rows(self, matrix: sp.spmatrix | sp.sparray, side: np.ndarray | None = None) -> "RowSource":
        """A source for rows that are not in this matrix (a new user's history, folded in):
        same columns, fill and orientation; a column fill (a mean over rows) stays this
        matrix's, a row fill is the new rows' own."""
        other = RowSource(matrix, side=side, fill=self.fill, orientation=self.orientation, device=self.device)
        if other.n_cols != self.n_cols:
            raise ConfigError(f"the rows have {other.n_cols} columns; this input has {self.n_cols}")
        if self.axis == "col":
            other._col_fill_t = self._col_fill_t
        return other

    @property
    def n_rows(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_cols(self) -> int:
        return self.matrix.shape[1]

    @property
    def side_dim(self) -> int:
        return 0 if self.side is None else self.side.shape[1]

    @property
    def row_fill(self) -> np.ndarray | None:
        return None if self._row_fill_np is None else self._row_fill_np.copy()

    @property
    def col_fill(self) -> np.ndarray | None:
        return None if self._col_fill_t is None else self._col_fill_t.cpu().numpy().copy()

    def batch(self, row_ids: np.ndarray | list[int], transpose: bool = True) -> RowBatch:
        """The rows ``row_ids`` as a :class:`RowBatch` on the device.

        ``transpose=False`` skips the column-major index needed only for a backward pass.
        """
        ids = np.asarray(row_ids)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise ConfigError(f"row_ids must be a 1-D array of integers, got shape {ids.shape} dtype {ids.dtype}")
        ids = ids.astype(np.int64, copy=False)
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_rows):
            bad = ids[(ids < 0) | (ids >= self.n_rows)][0]
            raise ConfigError(f"row id {int(bad)} is outside 0..{self.n_rows - 1}")
        sub = self.matrix[ids]
        pattern = SparsePattern.from_csr(sub.indptr, sub.indices, self.n_cols, self.device, transpose)
        ratings = torch.from_numpy(sub.data).to(self.device)
        row_fill = None
        if self._row_fill_np is not None:
            row_fill = torch.from_numpy(self._row_fill_np[ids]).to(self.device)
        batch = RowBatch(
            row_ids=ids,
            pattern=pattern,
            ratings=ratings,
            deviations=ratings,
            row_fill=row_fill,
            col_fill=self._col_fill_t,
            side=None if self._side_t is None else self._side_t[torch.from_numpy(ids).to(self.device)],
            fill=self.fill,
            orientation=self.orientation,
        )
        if self.axis != "none":
            batch.deviations = ratings - batch.fill_at_entries()
        return batch

    def batches(self, batch_size: int, seed: int | None = None, transpose: bool = True) -> Iterator[RowBatch]:
        """All rows in batches of ``batch_size``: in order, or shuffled with ``seed``."""
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        order = np.arange(self.n_rows) if seed is None else np.random.default_rng(seed).permutation(self.n_rows)
        for start in range(0, self.n_rows, batch_size):
            yield self.batch(order[start:start + batch_size], transpose=transpose)


def _validated_csr(matrix: Any) -> sp.csr_matrix:
    if not sp.issparse(matrix):
        raise DataError(f"the AutoRec input must be a scipy sparse matrix, got {type(matrix).__name__}")
    m = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] < 1:
        raise DataError(f"the AutoRec input matrix must have at least one row and one column, got shape {m.shape}")
    m.sort_indices()
    # duplicate entries would be summed by scipy's arithmetic: a data problem, not ours to merge
    same = np.flatnonzero(m.indices[1:] == m.indices[:-1]) + 1
    if same.size:
        row_of = np.searchsorted(m.indptr, same, side="right") - 1
        in_row = same > m.indptr[row_of]  # equal neighbours across a row boundary are fine
        if in_row.any():
            pos = int(same[in_row][0])
            row = int(row_of[in_row][0])
            raise DataError(f"the AutoRec input matrix has duplicate entries at row {row}, column {int(m.indices[pos])}")
    bad = ~np.isfinite(m.data)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = int(np.searchsorted(m.indptr, pos, side="right") - 1)
        raise DataError(f"rating at matrix row {row}, column {int(m.indices[pos])} is not finite",
                        value=float(m.data[pos]))
    return m


def _validated_side(side: np.ndarray | None, n_rows: int) -> np.ndarray | None:
    if side is None:
        return None
    try:
        arr = np.asarray(side, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(f"side information must be a numeric array: {exc}") from None
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise DataError(f"side information must have shape ({n_rows}, side_dim), one row per matrix row; got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise DataError(f"side information at row {r}, feature {c} is not finite",
                        column=str(c), value=float(arr[r, c]))
    return np.ascontiguousarray(arr)


def _axis_means(m: sp.csr_matrix, axis: int, default: float) -> np.ndarray:
    sums = np.asarray(m.sum(axis=axis, dtype=np.float64)).ravel()
    counts = np.diff(m.indptr) if axis == 1 else np.bincount(m.indices, minlength=m.shape[1])
    means = np.full(sums.shape, default, dtype=np.float64)
    np.divide(sums, counts, out=means, where=counts > 0)
    return means.astype(np.float32)


# ---------------------------------------------------------------------------------- model
class AutoRec(nn.Module):
    """An AutoRec autoencoder over the rows of a matrix with ``n_inputs`` columns.

    Parameters (names are stable for safetensors): ``encoder_weight`` ``(n_inputs, h1)`` (V^T
    in the paper's notation), ``encoder_bias`` (mu), ``side_weight`` ``(side_dim, h1)`` for a
    hybrid model, ``hidden_layers.i`` (``nn.Linear``) for deep models, ``decoder_weight``
    ``(n_inputs, h_last)`` (W) and ``decoder_bias`` (b).  Weights start Glorot-uniform (the
    Keras default the deep-autoencoder study used), biases at zero, from ``seed``.
    """

    hparams: dict[str, HParam] = {
        "orientation": Choice(ORIENTATIONS, "item", help="I-AutoRec (rows are items) or U-AutoRec"),
        "hidden_units": Choice((100, 200, 300, 400, 500, 600, 800, 1000), 500,
                               help="hidden size k (the widest layer of a deep model)"),
        "depth": Choice((1, 3, 5), 1, help="number of hidden layers"),
        "deep_shape": Choice(("bsb", "sbs"), "bsb", help="deep layer sizes: big-small-big or small-big-small"),
        "encoder_activation": Choice(ACTIVATIONS, "sigmoid", help="g, first hidden layer"),
        "decoder_activation": Choice(ACTIVATIONS, "identity", help="f, output layer"),
        "hidden_activation": Choice(("selu", "elu", "sigmoid", "tanh", "relu", "leaky_relu", "identity"),
                                    "selu", help="inner layers of a deep model"),
        "dropout": Float(0.0, 0.8, 0.0, help="dropout on the code (middle) layer"),
        "noise": Choice(NOISES, "none", help="denoising corruption of the observed inputs"),
        "noise_level": Float(0.0, 0.5, 0.1, help="drop probability or gaussian sigma"),
        "fill": Choice(FILLS, "zero", help="input value of unobserved entries"),
        "dense_refeed": Bool(False, help="extra dense re-feeding step per batch (deep models)"),
    }

    def __init__(self, n_inputs: int, config: AutoRecConfig | None = None, seed: int = 0) -> None:
        super().__init__()
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
            raise ConfigError(f"n_inputs must be an integer >= 1, got {n_inputs!r}")
        self.n_inputs = int(n_inputs)
        self.config = config if config is not None else AutoRecConfig()
        if not isinstance(self.config, AutoRecConfig):
            raise ConfigError(f"config must be an AutoRecConfig, got {type(self.config).__name__}")
        cfg = self.config
        hidden = cfg.hidden
        gen = torch.Generator().manual_seed(int(seed))

        def glorot(rows: int, cols: int, fan_in: int, fan_out: int) -> nn.Parameter:
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            return nn.Parameter(torch.empty(rows, cols).uniform_(-bound, bound, generator=gen))

        in_dim = self.n_inputs + cfg.side_dim
        self.encoder_weight = glorot(self.n_inputs, hidden[0], in_dim, hidden[0])
        self.encoder_bias = nn.Parameter(torch.zeros(hidden[0]))
        self.side_weight = glorot(cfg.side_dim, hidden[0], in_dim, hidden[0]) if cfg.side_dim else None
        layers = []
        for a, b in zip(hidden[:-1], hidden[1:]):
            lin = nn.Linear(a, b)
            with torch.no_grad():
                bound = math.sqrt(6.0 / (a + b))
                lin.weight.uniform_(-bound, bound, generator=gen)
                lin.bias.zero_()
            layers.append(lin)
        self.hidden_layers = nn.ModuleList(layers)
        self.decoder_weight = glorot(self.n_inputs, hidden[-1], hidden[-1], self.n_inputs)
        self.decoder_bias = nn.Parameter(torch.zeros(self.n_inputs))

        self._g = activation(cfg.encoder_activation)
        self._h = activation(cfg.hidden_activation)
        self._f = activation(cfg.decoder_activation)

    # ----------------------------------------------------------------- hyperparameters
    @classmethod
    def config_from_hparams(
        cls,
        source: HyperParameters,
        prefix: str = "autorec",
        fixed: Mapping[str, Any] | None = None,
        side_dim: int = 0,
        defaults: Mapping[str, Any] | None = None,
    ) -> AutoRecConfig:
        """A config drawn define-by-run from ``source`` (names ``prefix/key``); keys in
        ``fixed`` are not searched, keys in ``defaults`` are searched over the same range from
        another default (a preset's own).  Conditional: ``deep_shape`` and ``hidden_activation``
        are asked only for deep models, ``noise_level`` only when there is noise."""
        fixed = dict(fixed or {})
        defaults = dict(defaults or {})
        unknown = sorted((set(fixed) | set(defaults)) - set(cls.hparams))
        if unknown:
            raise ConfigError(f"AutoRec has no hyperparameter(s) {unknown}; known: {sorted(cls.hparams)}")
        specs = {k: replace(spec, default=spec.validate(defaults[k], f"{prefix}/{k}"))
                 if k in defaults else spec for k, spec in cls.hparams.items()}

        def hp(key: str) -> Any:
            if key in fixed:
                return specs[key].validate(fixed[key], f"{prefix}/{key}")
            return source.get(f"{prefix}/{key}", specs[key])

        orientation = hp("orientation")
        units = int(hp("hidden_units"))
        depth = int(hp("depth"))
        shape = hp("deep_shape") if depth > 1 else "bsb"
        enc = hp("encoder_activation")
        dec = hp("decoder_activation")
        inner = hp("hidden_activation") if depth > 1 else "selu"
        dropout = float(hp("dropout"))
        noise = hp("noise")
        level = float(hp("noise_level")) if noise != "none" else 0.0
        fill = hp("fill")
        refeed = bool(hp("dense_refeed"))
        return AutoRecConfig(
            orientation=orientation, hidden=deep_hidden(units, depth, shape),
            encoder_activation=enc, decoder_activation=dec, hidden_activation=inner,
            dropout=dropout, noise=noise, noise_level=level, fill=fill,
            dense_refeed=refeed, side_dim=side_dim,
        )

    # ----------------------------------------------------------------------- helpers
    def weight_matrices(self) -> list[torch.Tensor]:
        """The matrices under the L2 penalty (all weights, no biases)."""
        mats = [self.encoder_weight]
        if self.side_weight is not None:
            mats.append(self.side_weight)
        mats.extend(layer.weight for layer in self.hidden_layers)
        mats.append(self.decoder_weight)
        return mats

    def regularization(self) -> torch.Tensor:
        """``0.5 * sum of squared Frobenius norms`` of the weight matrices (biases excluded);
        the paper's penalty is ``lambda * regularization()``."""
        return half_squared_norm(self.weight_matrices())

    def output_activation(self, pre: torch.Tensor) -> torch.Tensor:
        """f, the output layer's activation, of pre-activations ``pre``."""
        return self._f(pre)

    def init_output_bias(self, value: float) -> None:
        """Start every output at ``value`` (e.g. the training mean rating)."""
        with torch.no_grad():
            self.decoder_bias.fill_(float(value))

    def _check_batch(self, batch: RowBatch) -> None:
        if batch.pattern.n_cols != self.n_inputs:
            raise ConfigError(f"batch has {batch.pattern.n_cols} columns but the model expects {self.n_inputs}")
        cfg = self.config
        if batch.fill != cfg.fill or batch.orientation != cfg.orientation:
            raise ConfigError(
                f"batch comes from a RowSource with fill={batch.fill!r}, orientation={batch.orientation!r} "
                f"but the model was configured with fill={cfg.fill!r}, orientation={cfg.orientation!r}"
            )
        side_dim = 0 if batch.side is None else batch.side.shape[1]
        if side_dim != self.config.side_dim:
            raise ConfigError(f"batch has side information of width {side_dim} but the model was built with side_dim={self.config.side_dim}")

    def _corrupt(self, batch: RowBatch) -> torch.Tensor:
        """The encoder's input deviations from the fill, with training noise on observed entries."""
        dev = batch.deviations
        cfg = self.config
        if not self.training or cfg.noise == "none" or cfg.noise_level == 0.0 or batch.nnz == 0:
            return dev
        if cfg.noise == "dropout":
            keep = torch.rand(batch.nnz, device=dev.device) >= cfg.noise_level
            dev = dev * keep
            if cfg.noise_rescale:
                dev = dev / (1.0 - cfg.noise_level)
            return dev
        return dev + cfg.noise_level * torch.randn(batch.nnz, device=dev.device)

    def _after_first(self, a: torch.Tensor, side: torch.Tensor | None) -> torch.Tensor:
        """From the first layer's pre-activation (without bias) to the last hidden layer."""
        cfg = self.config
        if side is not None:
            a = a + side @ self.side_weight
        h = self._g(a + self.encoder_bias)
        if cfg.code_layer == 0 and cfg.dropout:
            h = F.dropout(h, cfg.dropout, self.training)
        for i, layer in enumerate(self.hidden_layers, start=1):
            h = self._h(layer(h))
            if i == cfg.code_layer and cfg.dropout:
                h = F.dropout(h, cfg.dropout, self.training)
        return h

    def encode(self, batch: RowBatch) -> torch.Tensor:
        """The last hidden layer for the batch's rows, ``(size, h_last)`` (sparse first layer)."""
        self._check_batch(batch)
        values = self._corrupt(batch)
        a = sparse_linear(values, self.encoder_weight, batch.pattern, batch.col_fill, batch.row_fill)
        return self._after_first(a, batch.side)

    def _dense_input(self, batch: RowBatch, values: torch.Tensor) -> torch.Tensor:
        return batch.pattern.to_dense(batch.fill_at_entries() + values, batch.dense_fill())

    def dense_forward(self, x: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
        """The full reconstruction of dense input rows ``x`` ``(B, n_inputs)``: ``(B, n_inputs)``."""
        h = self._after_first(x @ self.encoder_weight, side)
        return self._f(torch.addmm(self.decoder_bias, h, self.decoder_weight.t()))

    # ---------------------------------------------------------------------- training
    def batch_loss(self, batch: RowBatch, dense: bool = False) -> tuple[torch.Tensor, int]:
        """(sum of squared errors over the batch's observed entries, number of observed entries).

        ``dense=True`` computes the same quantity through the dense reference path.
        """
        self._check_batch(batch)
        values = self._corrupt(batch)
        if dense:
            x = self._dense_input(batch, values)
            out = self.dense_forward(x, batch.side).to(self.decoder_weight.dtype)  # not bf16 under autocast
            target = batch.pattern.to_dense(batch.ratings)
            err = torch.where(batch.pattern.dense_mask(), out - target, 0.0)
            return (err * err).sum(), batch.nnz
        a = sparse_linear(values, self.encoder_weight, batch.pattern, batch.col_fill, batch.row_fill)
        h = self._after_first(a, batch.side)
        out = self._f(sampled_linear(h, self.decoder_weight, self.decoder_bias, batch.pattern))
        err = out - batch.ratings
        return torch.dot(err, err), batch.nnz

    def refeed_loss(self, batch: RowBatch) -> tuple[torch.Tensor, int]:
        """Dense re-feeding (Kuchaiev & Ginsburg 2017), an extra optimizer step per batch:
        ``y = f(x)`` (no gradient) is a fully observed new example, fitted as ``f(y) ~ y``.

        Returns (sum of squared errors over all ``size x n_inputs`` entries, that count).  This
        step is inherently dense (y has no unobserved entries), so it costs what the dense
        path costs; input noise is not applied to y, code dropout is (training mode).
        """
        self._check_batch(batch)
        with torch.no_grad():
            y = self.dense_forward(self._dense_input(batch, self._corrupt(batch)), batch.side)
            y = y.to(self.decoder_weight.dtype)
        out = self.dense_forward(y, batch.side).to(self.decoder_weight.dtype)  # not bf16 under autocast
        err = (out - y).reshape(-1)
        return torch.dot(err, err), int(err.numel())

    # -------------------------------------------------------------------- prediction
    @torch.no_grad()
    def predict_pairs(
        self,
        rows_input: RowSource,
        rows: np.ndarray,
        cols: np.ndarray,
        chunk_rows: int = 2048,
        chunk_pairs: int = 1 << 16,
    ) -> np.ndarray:
        """Reconstruction of row ``rows[j]`` (from its input in ``rows_input``) at column
        ``cols[j]``, for all j; float32, unclipped.  Each distinct row is encoded once, then
        the decoder is evaluated only at the requested pairs.  Runs in eval mode (no noise,
        no dropout) and restores the previous mode."""
        rows = np.asarray(rows)
        cols = np.asarray(cols)
        if rows.shape != cols.shape or rows.ndim != 1:
            raise ConfigError(f"rows and cols must be 1-D arrays of the same length, got shapes {rows.shape} and {cols.shape}")
        if rows_input.n_cols != self.n_inputs:
            raise ConfigError(f"the input matrix has {rows_input.n_cols} columns but the model expects {self.n_inputs}")
        out = np.empty(len(rows), dtype=np.float32)
        if len(rows) == 0:
            return out
        for name, arr, hi in (("rows", rows, rows_input.n_rows), ("cols", cols, self.n_inputs)):
            if not np.issubdtype(arr.dtype, np.integer):
                raise ConfigError(f"{name} must be integer indices, got dtype {arr.dtype}")
            if arr.min() < 0 or arr.max() >= hi:
                raise ConfigError(f"{name} must lie in 0..{hi - 1}; got {int(arr.min())}..{int(arr.max())}")
        uniq, inv = np.unique(rows.astype(np.int64), return_inverse=True)
        order = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[order], np.arange(0, len(uniq) + chunk_rows, chunk_rows))
        was_training = self.training
        self.eval()
        try:
            dev = self.decoder_weight.device
            for c, start in enumerate(range(0, len(uniq), chunk_rows)):
                z = self.encode(rows_input.batch(uniq[start:start + chunk_rows], transpose=False))
                sel = order[bounds[c]:bounds[c + 1]]
                for p in range(0, len(sel), chunk_pairs):
                    part = sel[p:p + chunk_pairs]
                    zr = z[torch.from_numpy(inv[part] - start).to(dev)]
                    cc = torch.from_numpy(cols[part].astype(np.int64)).to(dev)
                    val = (zr * self.decoder_weight[cc]).sum(1) + self.decoder_bias[cc]
                    out[part] = self._f(val).float().cpu().numpy()
        finally:
            self.train(was_training)
        return out

    @torch.no_grad()
    def reconstruct(self, rows_input: RowSource, row_ids: np.ndarray) -> np.ndarray:
        """Dense reconstructions ``(len(row_ids), n_inputs)`` in eval mode (for ranking)."""
        was_training = self.training
        self.eval()
        try:
            z = self.encode(rows_input.batch(np.asarray(row_ids), transpose=False))
            out = self._f(torch.addmm(self.decoder_bias, z, self.decoder_weight.t()))
        finally:
            self.train(was_training)
        return out.cpu().numpy()
