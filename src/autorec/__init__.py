"""autorec: an automated recommender system.

The names here are a lazy facade: ``import autorec`` stays fast (no torch) until a model is
asked for.  Everything below this package imports downward only (docs/architecture.md).
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__", "CTRModel", "Ensemble", "Recommender", "TopNModel", "load"]


def load(path):
    """Load a saved model folder (written by `autorec train`, `autorec search` or an estimator's
    ``save``): a `Recommender`, a `CTRModel` or an `Ensemble`."""
    from .api import load as _load

    return _load(path)


def __getattr__(name):
    if name in ("Recommender", "CTRModel", "Ensemble", "TopNModel"):
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'autorec' has no attribute {name!r}")
