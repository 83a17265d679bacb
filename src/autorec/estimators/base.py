"""What every estimator shares: the scikit-learn parameter contract.

``__init__`` only stores its arguments (validation happens in ``fit``), ``get_params`` returns
exactly those arguments and ``set_params`` sets them, so ``sklearn.base.clone`` and grid tools
work on any autorec estimator without scikit-learn being a dependency.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..errors import ConfigError


class ParamsMixin:
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as given (``deep`` is accepted for scikit-learn; autorec
        estimators hold no nested estimators among their arguments)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "ParamsMixin":
        known = self._param_names()
        for key, value in params.items():
            if key not in known:
                raise ConfigError(f"{type(self).__name__} has no parameter {key!r}; known: {', '.join(known)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class FittedModelMixin:
    """What a fitted single-model estimator exposes: ``state_`` (the family's FittedState)."""

    @property
    def hparams_(self) -> dict:
        """Every hyperparameter value the fitted architecture depends on."""
        self._check_fitted()
        return self.state_.hparams

    def _check_fitted(self) -> None:
        if not hasattr(self, "state_"):
            name = type(self).__name__
            raise ConfigError(f"this {name} is not fitted yet: call fit() or {name}.load()")


class TopNMixin:
    """``recommend`` for rating models, from what a model of original ids provides: ``_index``
    (original ids -> indices), ``score_items`` (every item's score for a user index),
    ``seen_item_indices`` and ``item_ids_``."""

    def recommend(self, user, n: int = 10, exclude=None) -> list[tuple[Any, float]]:
        """Top-``n`` (item id, predicted rating) for one ORIGINAL user id, best first, excluding
        the user's training items (stored in the model) and any ``exclude`` item ids."""
        self._check_fitted()
        u = int(self._index("user", [user])[0])
        if u < 0:
            raise ConfigError(f"user {user!r} is not in this model's training data ({len(self.user_ids_):,} "
                              "users known), so it has no history to rank from; pass a known user id")
        scores = np.array(self.score_items(u), dtype=np.float64)
        scores[self.seen_item_indices(u)] = -np.inf
        if exclude is not None:
            ex = self._index("item", exclude)
            scores[ex[ex >= 0]] = -np.inf
        n = min(n, int(np.isfinite(scores).sum()))
        top = np.argsort(-scores, kind="stable")[:n]
        ids = self.item_ids_
        return [(ids[j].item() if hasattr(ids[j], "item") else ids[j], float(scores[j])) for j in top]
