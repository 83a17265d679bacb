"""What every estimator shares: the scikit-learn parameter contract.

``__init__`` only stores its arguments (validation happens in ``fit``), ``get_params`` returns
exactly those arguments and ``set_params`` sets them, so ``sklearn.base.clone`` and grid tools
work on any autorec estimator without scikit-learn being a dependency.
"""

from __future__ import annotations

import inspect
from typing import Any

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
