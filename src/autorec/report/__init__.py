"""Tables and plots of what happened (learning curves, search history, leaderboards)."""

from .plots import plot_history

__all__ = ["plot_history"]
