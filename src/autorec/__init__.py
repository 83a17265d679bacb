"""autorec: an automated recommender system."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "Recommender", "load"]


def load(path):
    """Load a saved model folder (written by `autorec train`, `autorec search` or `Recommender.save`)."""
    from .artifact import load as _load

    return _load(path)


def __getattr__(name):
    # heavy imports (torch) only when asked for
    if name == "Recommender":
        from .estimator import Recommender

        return Recommender
    raise AttributeError(f"module 'autorec' has no attribute {name!r}")
