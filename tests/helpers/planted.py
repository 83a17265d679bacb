"""Planted data shared by tests: ratings with a known low-rank structure, clicks with a known cross."""

from __future__ import annotations

import numpy as np
import pandas as pd

from autorec.data import FeatureTable


def planted(n_users=60, n_items=40, rank=2, density=0.5, seed=0, as_strings=False):
    """A low-rank rating matrix (scale 1..5) with noise, observed at random."""
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(n_users, rank))
    q = rng.normal(size=(n_items, rank))
    full = 3 + (p @ q.T) * 0.8 + rng.normal(scale=0.1, size=(n_users, n_items))
    mask = rng.random((n_users, n_items)) < density
    u, i = np.nonzero(mask)
    r = np.clip(np.round(full[u, i] * 2) / 2, 1, 5)
    users = [f"u{x}" for x in u] if as_strings else u + 100
    frame = pd.DataFrame({"user": users, "item": i * 10, "rating": r, "timestamp": np.arange(len(u))})
    return frame


def planted_table(n=3000, seed=0):
    """Clicks from a logistic model of one planted cross (c0 x c1) plus a dense effect;
    with missing values, a constant dense column and rare categories."""
    rng = np.random.default_rng(seed)
    c0 = rng.integers(0, 8, n)
    c1 = rng.integers(0, 8, n)
    d0 = rng.exponential(3.0, n)
    logit = 2.5 * ((c0 + c1) % 2 == 0) - 1.5 + 0.2 * np.log1p(d0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"label": y, "d0": d0, "const": 7.0,
                          "c0": [f"a{v}" for v in c0], "c1": [f"b{v}" for v in c1],
                          "c2": rng.choice(["x", "y", None], n)})
    frame.loc[::17, "d0"] = np.nan
    return FeatureTable(frame, label="label", dense=["d0", "const"], categorical=["c0", "c1", "c2"], name="planted")


def planted_clicks(n_users=80, n_items=40, rank=3, threshold=1.0, seed=0):
    """Implicit feedback with a known low-rank taste: a user clicks an item where taste plus
    noise exceeds ``threshold`` (no rating column)."""
    from autorec.data import Interactions

    rng = np.random.default_rng(seed)
    taste = rng.normal(size=(n_users, rank)) @ rng.normal(size=(rank, n_items))
    u, i = np.nonzero(taste + rng.normal(scale=0.5, size=taste.shape) > threshold)
    return Interactions.from_frame(pd.DataFrame({"user": u, "item": i}), rating_col=None)
