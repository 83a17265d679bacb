"""Sparse primitives behind AutoRec's exact fast path.

An AutoRec batch is a set of partially observed rows: a ``B x n`` matrix of which only ``nnz``
entries exist.  The masked loss touches only those entries, so the whole forward and backward pass
can be written with three products whose cost is proportional to ``nnz * k`` instead of
``B * n * k``:

* :func:`sparse_linear` -- the first (encoder) layer on a sparse input, ``X @ V`` (SpMM);
  backward ``grad_V = X^T @ grad``.
* :func:`sampled_linear` -- the last (decoder) layer evaluated only at the observed entries,
  ``out[e] = z[row_e] . W[col_e] + b[col_e]`` (SDDMM); backward ``grad_z = G @ W`` and
  ``grad_W = G^T @ z`` with ``G`` the sparse gradient at the observed entries (two SpMMs).

Which torch kernels (measured on CPU, 2 threads, MovieLens-1M shaped data, k=500; the
benchmark ``benchmarks/bench_autorec_speed.py --primitives`` repeats the comparison):

* SpMM: ``F.embedding_bag(mode="sum", per_sample_weights=values)`` is a row gather-and-sum
  (fbgemm on CPU) and was 2.3x faster than ``torch.sparse.mm`` with a CSR tensor (MKL), and 3x
  faster than ``torch.sparse.mm`` with a transposed CSR for ``X^T @ G``.  The transposed
  products use the batch's CSC order (a counting sort done once per batch on the host) so
  they are embedding bags too, gathering from the small ``B x k`` matrix.
* SDDMM: ``torch.sparse.sampled_addmm`` (a vectorised dot per observed entry) beat gathering
  ``W[cols]`` and ``z[rows]`` (materialises two ``nnz x k`` tensors: 36x slower) and a dense
  ``z @ W^T`` followed by a gather (5x slower: the dense cost we want to avoid).

All functions here are exact (no sampling, no approximation): they compute the same numbers
as the dense masked formulation up to float summation order.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

__all__ = [
    "SparsePattern",
    "sparse_linear",
    "sampled_linear",
    "spmm",
    "spmm_t",
    "sddmm",
    "half_squared_norm",
]


@dataclass(frozen=True, eq=False)
class SparsePattern:
    """Where the observed entries of a ``n_rows x n_cols`` batch are.

    Entries are in CSR order (row-major, columns sorted within a row): entry ``e`` sits at
    ``(rows[e], cols[e])``.  The ``csc_*`` fields give the same entries in column-major order
    (``csc_perm[j]`` is the CSR position of the j-th CSC entry); they are needed only for the
    backward products and are ``None`` for a prediction-only pattern.
    """

    n_rows: int
    n_cols: int
    crow: torch.Tensor  # (n_rows + 1,) int64 CSR row pointers
    cols: torch.Tensor  # (nnz,) int64
    rows: torch.Tensor  # (nnz,) int64
    ccol: torch.Tensor | None = None  # (n_cols + 1,) int64 CSC column pointers
    csc_rows: torch.Tensor | None = None  # (nnz,) int64 row of each entry in CSC order
    csc_perm: torch.Tensor | None = None  # (nnz,) int64

    @property
    def nnz(self) -> int:
        return int(self.cols.shape[0])

    @property
    def device(self) -> torch.device:
        return self.cols.device

    @property
    def has_transpose(self) -> bool:
        return self.csc_perm is not None

    @classmethod
    def from_csr(
        cls,
        indptr: np.ndarray,
        indices: np.ndarray,
        n_cols: int,
        device: torch.device | str = "cpu",
        transpose: bool = True,
    ) -> "SparsePattern":
        """Build from a scipy-style CSR structure (sorted, duplicate-free columns per row)."""
        indptr = np.asarray(indptr, dtype=np.int64)
        indices = np.asarray(indices, dtype=np.int64)
        n_rows = len(indptr) - 1
        nnz = int(indptr[-1])
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
        ccol = csc_rows = csc_perm = None
        if transpose:
            # A counting sort by column in C (scipy's csr -> csc), carrying each entry's CSR
            # position as its value: O(nnz + n), much cheaper than an argsort per batch.
            pos = sp.csr_matrix(
                (np.arange(1, nnz + 1, dtype=np.int64), indices, indptr), shape=(n_rows, n_cols)
            ).tocsc()
            ccol = pos.indptr.astype(np.int64)
            csc_rows = pos.indices.astype(np.int64)
            csc_perm = pos.data.astype(np.int64) - 1  # 1-based above so no entry is a stored 0
        dev = torch.device(device)

        def t(a: np.ndarray | None) -> torch.Tensor | None:
            return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(dev)

        return cls(n_rows, int(n_cols), t(indptr), t(indices), t(rows), t(ccol), t(csc_rows), t(csc_perm))

    def to(self, device: torch.device | str) -> "SparsePattern":
        dev = torch.device(device)

        def mv(x: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None else x.to(dev)

        return SparsePattern(self.n_rows, self.n_cols, mv(self.crow), mv(self.cols), mv(self.rows),
                             mv(self.ccol), mv(self.csc_rows), mv(self.csc_perm))

    def csr_tensor(self, values: torch.Tensor) -> torch.Tensor:
        """A torch sparse CSR tensor with this pattern and ``values``."""
        with warnings.catch_warnings():
            # torch warns that CSR support is "beta" on every construction
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(
                self.crow, self.cols, values, size=(self.n_rows, self.n_cols),
                check_invariants=False,
            )

    def dense_mask(self) -> torch.Tensor:
        """Boolean ``n_rows x n_cols`` mask of the observed entries (for the dense reference)."""
        mask = torch.zeros(self.n_rows, self.n_cols, dtype=torch.bool, device=self.device)
        mask[self.rows, self.cols] = True
        return mask

    def to_dense(self, values: torch.Tensor, fill: torch.Tensor | float = 0.0) -> torch.Tensor:
        """Dense ``n_rows x n_cols`` matrix: ``values`` at the pattern, ``fill`` elsewhere
        (a scalar, a ``(n_rows, 1)`` column or a ``(1, n_cols)`` row, broadcast)."""
        out = torch.zeros(self.n_rows, self.n_cols, dtype=values.dtype, device=values.device)
        out = out + fill
        out[self.rows, self.cols] = values
        return out

    def _need_transpose(self) -> None:
        if not self.has_transpose:
            raise RuntimeError(
                "this SparsePattern was built without its transpose (transpose=False), "
                "so it cannot be used for a backward pass"
            )


# ---------------------------------------------------------------------------------- products
def spmm(pattern: SparsePattern, values: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``X @ dense`` for the sparse ``X`` (pattern, values): ``(n_rows, k)``."""
    # detached: these products are only differentiated by the autograd Functions below,
    # and a table that requires grad sends embedding_bag down its slower training kernel
    # (which also builds offset2bag and bag sizes for a backward we never run)
    return F.embedding_bag(
        pattern.cols, dense.detach().contiguous(), pattern.crow[:-1], mode="sum",
        per_sample_weights=values.detach(),
    )


def spmm_t(pattern: SparsePattern, values: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``X^T @ dense`` for the sparse ``X`` (pattern, values in CSR order): ``(n_cols, k)``."""
    pattern._need_transpose()
    return F.embedding_bag(
        pattern.csc_rows, dense.detach().contiguous(), pattern.ccol[:-1], mode="sum",
        per_sample_weights=values.detach()[pattern.csc_perm],
    )


def sddmm(pattern: SparsePattern, a: torch.Tensor, b: torch.Tensor,
          init: torch.Tensor | None = None) -> torch.Tensor:
    """``(a @ b^T)`` at the pattern's entries only, in CSR order: ``out[e] = a[row_e] . b[col_e]``
    (plus ``init[e]`` when given: the bias rides along in the same kernel)."""
    if pattern.nnz == 0:
        return a.new_zeros(0)
    if init is None:
        init = torch.zeros(pattern.nnz, dtype=a.dtype, device=a.device)
        beta = 0.0
    else:
        beta = 1.0
    out = torch.sparse.sampled_addmm(pattern.csr_tensor(init), a, b.t(), beta=beta)
    return out.values()


# ---------------------------------------------------------------------------- autograd ops
class _SparseLinear(torch.autograd.Function):
    """``X @ V + fill term``: the encoder's first layer on a sparse input row block.

    The input is ``fill + X`` where ``X`` holds the deviations from the fill at the observed
    entries; by linearity ``(fill + X) @ V = X @ V + fill @ V`` and the fill term is a cheap
    matrix-vector product, so no dense input is formed:

    * column fill ``c`` (one value per input column, shared by all rows): ``+ (c @ V)`` on each row;
    * row fill ``s`` (one value per row): ``+ s[:, None] * V.sum(0)``.
    """

    @staticmethod
    def forward(ctx, weight, values, pattern, col_fill, row_fill):  # type: ignore[override]
        out = spmm(pattern, values, weight)
        if col_fill is not None:
            out = out + (col_fill @ weight).unsqueeze(0)
        if row_fill is not None:
            out = out + row_fill.unsqueeze(1) * weight.sum(0).unsqueeze(0)
        ctx.pattern = pattern
        ctx.save_for_backward(values, col_fill, row_fill)
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        values, col_fill, row_fill = ctx.saved_tensors
        grad_weight = None
        if ctx.needs_input_grad[0]:
            grad = grad.contiguous()
            grad_weight = spmm_t(ctx.pattern, values, grad)
            # rank-1 corrections for the fill terms, in place: no second n x k temporary
            if col_fill is not None:
                grad_weight.addr_(col_fill, grad.sum(0))
            if row_fill is not None:
                grad_weight.add_((row_fill @ grad).unsqueeze(0))
        # the input values are data (ratings, possibly corrupted), never differentiated
        return grad_weight, None, None, None, None


def sparse_linear(
    values: torch.Tensor,
    weight: torch.Tensor,
    pattern: SparsePattern,
    col_fill: torch.Tensor | None = None,
    row_fill: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(fill + X) @ weight`` for a sparse ``X`` given as (pattern, values); ``(n_rows, k)``.

    ``weight`` is ``(n_cols, k)``.  Gradients flow to ``weight`` (and through it to anything
    it was computed from); the input ``values`` are data, not parameters, and get no gradient.
    """
    if values.requires_grad:
        raise ValueError("sparse_linear does not differentiate with respect to its input values")
    return _SparseLinear.apply(weight, values, pattern, col_fill, row_fill)


class _SampledLinear(torch.autograd.Function):
    """``out[e] = z[row_e] . W[col_e] + b[col_e]`` at the observed entries (SDDMM)."""

    @staticmethod
    def forward(ctx, z, weight, bias, pattern):  # type: ignore[override]
        out = sddmm(pattern, z, weight, None if bias is None else bias[pattern.cols])
        ctx.pattern = pattern
        ctx.has_bias = bias is not None
        ctx.save_for_backward(z, weight)
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        z, weight = ctx.saved_tensors
        pattern: SparsePattern = ctx.pattern
        grad = grad.contiguous()
        grad_z = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_z = spmm(pattern, grad, weight)  # G @ W
        if ctx.needs_input_grad[1]:
            grad_w = spmm_t(pattern, grad, z)  # G^T @ z
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = torch.zeros(pattern.n_cols, dtype=grad.dtype, device=grad.device)
            grad_b.index_add_(0, pattern.cols, grad)
        return grad_z, grad_w, grad_b, None


def sampled_linear(
    z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, pattern: SparsePattern
) -> torch.Tensor:
    """The linear layer ``z @ weight^T + bias`` evaluated only at ``pattern``'s entries.

    ``z`` is ``(n_rows, k)``, ``weight`` is ``(n_cols, k)``, ``bias`` is ``(n_cols,)`` or None.
    Returns ``(nnz,)`` in CSR order.
    """
    if z.dtype != weight.dtype:
        # a bf16 code from dense layers under autocast: the sparse products stay in the
        # weights' float32 (they are gathers, bound by memory traffic, not by arithmetic)
        z = z.to(weight.dtype)
    return _SampledLinear.apply(z, weight, bias, pattern)


# ----------------------------------------------------------------------------- regulariser
class _HalfSquaredNorm(torch.autograd.Function):
    """``0.5 * sum_i ||w_i||_F^2`` with one read pass forward and one pass backward.

    The autograd of ``0.5 * (w * w).sum()`` materialises ``w * w`` and a gradient temporary per
    matrix: on a 6,040 x 500 pair this was 2x slower, and it runs on every training step.
    """

    @staticmethod
    def forward(ctx, *weights):  # type: ignore[override]
        ctx.save_for_backward(*weights)
        total = weights[0].new_zeros(())
        for w in weights:
            flat = w.reshape(-1)
            total = total + torch.dot(flat, flat)
        return 0.5 * total

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return tuple(w * grad if need else None
                     for w, need in zip(ctx.saved_tensors, ctx.needs_input_grad))


def half_squared_norm(weights: list[torch.Tensor]) -> torch.Tensor:
    """``0.5 * sum of squared Frobenius norms`` of ``weights`` (differentiable)."""
    if not weights:
        raise ValueError("half_squared_norm needs at least one tensor")
    return _HalfSquaredNorm.apply(*weights)
