"""Hyperparameter sources for tests (shared by the block and zoo tests)."""

from __future__ import annotations

import numpy as np


class RandomHP:
    """Samples every asked hyperparameter uniformly (a stand-in for a search trial)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.values: dict = {}

    def get(self, name, spec):
        if name not in self.values:
            if spec.kind in ("choice", "bool"):
                v = spec.choices[int(self.rng.integers(len(spec.choices)))]
            elif spec.kind == "int":
                v = int(self.rng.integers(int(spec.low), int(spec.high) + 1))
            else:
                v = float(self.rng.uniform(spec.low, spec.high))
            self.values[name] = v
        return self.values[name]
