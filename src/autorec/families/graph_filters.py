"""Graph-filter top-N models: closed-form filters of the degree-normalised item graph.

With ``X`` the users x items 0/1 matrix, ``R = D_U^-1/2 X D_I^-1/2`` and ``P = R^T R`` (the
normalised item-item graph, eigenvalues in [0, 1]), ``V`` the top ``k`` right singular vectors
of ``R`` and ``L = D_I^-1/2 V^T V D_I^1/2`` (the ideal low-pass filter):

* ``gf-cf`` (Shen et al. 2021): ``score(x) = x P + alpha x L``.
* ``bspm`` (Choi et al. 2023, "Blurring-sharpening process models for collaborative
  filtering"): the history is blurred by the heat equation ``dx/dt = -x (I - P)`` for unit
  time in one Euler step (which is ``x P``), then sharpened by the reverse process
  ``dx/dt = -x P`` for ``t_sharpen`` in ``sharpen_steps`` steps of Euler or 4th-order
  Runge-Kutta.  ``merge="early"`` adds ``beta x L`` before sharpening, ``"late"`` after;
  ``combine`` averages the blurred and every sharpened time point instead of taking the last.
  With ``t_sharpen = 0`` and an early merge BSPM is GF-CF with ``alpha = beta`` (a test).

Neither forms ``P`` for the sharpening (Gowalla's has 35 million entries): each ``y P`` is
``(y R^T) R``, two sparse-times-dense products (torch CSR, all cores), 20 times fewer
operations than multiplying by ``P``.  The truncated SVD is the expensive part of a fit; a
small cache keyed by the matrix's content and ``k`` lets a search's later trials with the
same ``k`` skip it (ARPACK started from a seeded vector gives the same vectors either way).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError
from . import factors

GRAPH_FILTERS = ("gf-cf", "bspm")

SOLVERS = ("euler", "rk4")
MERGES = ("early", "late")

#: k None: 256 (GF-CF's setting), or one less than the smaller side of a smaller matrix.
#: BSPM's beta 0.1, RK4 for t_sharpen 2.5 in one step, early merge, time points combined: the
#: best mean rank of a 96-point grid on ml-latest-small and a sparse subsample of it
#: (benchmarks/tune_topn_defaults.py --models bspm; no reported figure is tested there).  One
#: step is the authors' choice on two of their three datasets.
DEFAULTS = {
    "gf-cf": {"k": None, "alpha": 0.3},
    "bspm": {"k": None, "beta": 0.1, "t_sharpen": 2.5, "sharpen_steps": 1, "solver": "rk4", "merge": "early",
             "combine": True},
}

_SVD_CACHE: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_SVD_CACHE_SIZE = 3  # Gowalla at k 512: 170 MB each


def check_params(name: str, values: dict) -> dict:
    if values["k"] is not None:
        values["k"] = factors.whole_number(name, "k", values["k"])
    if name == "gf-cf":
        values["alpha"] = factors.non_negative(name, "alpha", values["alpha"])
        return values
    values["beta"] = factors.non_negative(name, "beta", values["beta"])
    values["t_sharpen"] = factors.non_negative(name, "t_sharpen", values["t_sharpen"])
    values["sharpen_steps"] = factors.whole_number(name, "sharpen_steps", values["sharpen_steps"])
    for key, allowed in (("solver", SOLVERS), ("merge", MERGES)):
        if values[key] not in allowed:
            raise ConfigError(f"{name}: {key} must be one of {', '.join(allowed)}, got {values[key]!r}")
    if not isinstance(values["combine"], (bool, np.bool_)):
        raise ConfigError(f"{name}: combine must be true or false, got {values['combine']!r}")
    values["combine"] = bool(values["combine"])
    return values


def fit(name: str, values: dict, x: sp.csr_matrix, popularity: np.ndarray) -> dict:
    """The fitted parts of a graph filter on the 0/1 matrix ``x``: the state's ``params``,
    ``norm`` (R) and the ideal filter's two thin factors."""
    if values["k"] is None:
        values = {**values, "k": int(min(256, min(x.shape) - 1))}
    k = values["k"]
    if k < 1 or k >= min(x.shape):
        raise ConfigError(f"{name}: k={k} singular vectors need more than {k} users and items; this data has "
                          f"{x.shape[0]:,} x {x.shape[1]:,} (lower k)")
    user_deg = np.asarray(x.sum(axis=1)).ravel()
    item_deg = popularity
    inv_u = 1.0 / np.sqrt(np.maximum(user_deg, 1.0))
    inv_i = np.where(item_deg > 0, 1.0 / np.sqrt(np.maximum(item_deg, 1.0)), 0.0)
    norm = sp.csr_matrix(sp.diags(inv_u) @ x @ sp.diags(inv_i))
    vt = right_singular_vectors(norm, k)
    return {"params": values, "norm": norm, "lowpass_in": np.ascontiguousarray(inv_i[:, None] * vt.T),
            "lowpass_out": np.ascontiguousarray(vt * np.sqrt(item_deg)[None, :])}


def right_singular_vectors(norm: sp.csr_matrix, k: int) -> np.ndarray:
    """The top ``k`` right singular vectors of ``norm`` (k x items), from ARPACK started at a
    seeded vector, remembered for the last few (matrix, k)."""
    from scipy.sparse.linalg import svds

    digest = hashlib.blake2b(digest_size=16)
    for part in (np.asarray(norm.shape, dtype=np.int64), norm.indptr, norm.indices, norm.data):
        digest.update(np.ascontiguousarray(part).tobytes())
    key = (digest.hexdigest(), k)
    if key in _SVD_CACHE:
        _SVD_CACHE.move_to_end(key)
        return _SVD_CACHE[key]
    v0 = np.random.default_rng(0).random(min(norm.shape))
    _, _, vt = svds(norm, k=k, v0=v0)
    vt.setflags(write=False)  # shared by every state fitted from the cache
    _SVD_CACHE[key] = vt
    while len(_SVD_CACHE) > _SVD_CACHE_SIZE:
        _SVD_CACHE.popitem(last=False)
    return vt


def clear_cache() -> None:
    _SVD_CACHE.clear()


class Propagator:
    """``y -> y P`` for dense blocks of rows, as two torch CSR products in float32 (the
    layout is transposed, items x rows, so both products are sparse-times-dense); and the
    ideal filter's wide factor in float32 (in float64 it took a quarter of Gowalla's scoring)."""

    def __init__(self, norm: sp.csr_matrix, lowpass_out: np.ndarray) -> None:
        import warnings

        import torch

        def csr(m: sp.csr_matrix):
            m = sp.csr_matrix(m, dtype=np.float32)
            return torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)),
                                           torch.from_numpy(m.indices.astype(np.int64)),
                                           torch.from_numpy(m.data), size=m.shape, check_invariants=False)

        with warnings.catch_warnings():  # torch's note that CSR tensors are in beta
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            self.r = csr(norm)
            self.rt = csr(norm.T.tocsr())
        self.lowpass_out_t = torch.from_numpy(np.ascontiguousarray(lowpass_out.T, dtype=np.float32))

    def __call__(self, yt):
        """``P yt`` for ``yt`` items x rows (P is symmetric)."""
        return self.rt @ (self.r @ yt)


def scores(state, history: sp.csr_matrix) -> np.ndarray:
    """The filter's scores of every item for each row of the 0/1 matrix ``history``
    (``state``: a fitted `TopNState`, whose ``gram()`` / ``propagator()`` are made once)."""
    p = state.params
    h = sp.csr_matrix(history, dtype=np.float64)
    weight = float(p["alpha"] if state.name == "gf-cf" else p["beta"])
    if state.name == "gf-cf":
        return (h @ state.gram()).toarray() + weight * ((h @ state.lowpass_in) @ state.lowpass_out)
    import torch

    propagate = state.propagator()
    with torch.no_grad():
        yt = torch.from_numpy(np.ascontiguousarray(h.toarray().T, dtype=np.float32))
        ideal_t = propagate.lowpass_out_t @ torch.from_numpy(
            np.ascontiguousarray((h @ state.lowpass_in).T, dtype=np.float32))
        blurred = propagate(yt)  # one Euler step of dx/dt = -x (I - P) for unit time: x P
        y = blurred + weight * ideal_t if p["merge"] == "early" else blurred
        points = [blurred]
        step = float(p["t_sharpen"]) / int(p["sharpen_steps"])
        for _ in range(int(p["sharpen_steps"])):
            y = _sharpen_step(propagate, y, step, p["solver"])
            points.append(y)
        out = torch.stack(points).mean(dim=0) if p["combine"] else y
        if p["merge"] == "late":
            out = out + weight * ideal_t
        return out.T.numpy().astype(np.float64)


def _sharpen_step(propagate, y, h: float, solver: str):
    """One step of ``dx/dt = -x P`` (transposed: ``-P y``)."""
    if solver == "euler":
        return y - h * propagate(y)
    k1 = -propagate(y)
    k2 = -propagate(y + (h / 2) * k1)
    k3 = -propagate(y + (h / 2) * k2)
    k4 = -propagate(y + h * k3)
    return y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
