"""PNG plots of what happened (matplotlib, headless): learning curves of a run, and the
optimisation history, parameter importances and leaderboard of a search.  Plots take rows,
studies and tables, never live models."""

from .curves import plot_history
from .search import plot_importances, plot_leaderboard, plot_optimization_history

__all__ = ["plot_history", "plot_importances", "plot_leaderboard", "plot_optimization_history"]
