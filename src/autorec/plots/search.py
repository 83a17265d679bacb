"""Plots of a search: optimisation history, parameter importances, the leaderboard."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import optuna

from .curves import plt, save_figure


def plot_optimization_history(study: optuna.Study, path: Path, metric: str = "rmse", direction: str = "minimize") -> Path:
    done = [t for t in study.trials if t.value is not None and t.state == optuna.trial.TrialState.COMPLETE]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if done:
        xs = [t.number for t in done]
        ys = [t.value for t in done]
        ax.scatter(xs, ys, s=14, label=f"trial (validation {metric})")
        best = np.minimum if direction == "minimize" else np.maximum
        ax.step(xs, best.accumulate(ys), where="post", color="tab:red", label="best so far")
        ax.legend()
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("optimisation history")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def plot_importances(study: optuna.Study, path: Path) -> Path:
    """fANOVA importances over the completed trials (Optuna's evaluator); a note when too few."""
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    try:
        with warnings.catch_warnings():  # few trials per value: the plot says what it can
            warnings.simplefilter("ignore")
            imp = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ZeroDivisionError) as exc:
        imp = {}
        ax.text(0.5, 0.5, f"importances unavailable: {exc}", ha="center", va="center", wrap=True)
    if imp:
        names = list(imp)[:15][::-1]
        ax.barh(names, [imp[n] for n in names])
        ax.set_xlabel("importance (fANOVA)")
    ax.set_title("hyperparameter importances")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def plot_leaderboard(board, path: Path, metric: str = "rmse", top: int = 15) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.6), dpi=110)
    ok = board[board["state"] == "COMPLETE"].head(top)
    if len(ok):
        labels = [f"#{t} {m}" for t, m in zip(ok["trial"], ok["model"])][::-1]
        col = f"val_{metric}"
        ax.barh(labels, ok[col].tolist()[::-1])
        ax.set_xlim(float(ok[col].min()) * 0.98, float(ok[col].max()) * 1.01)
        ax.set_xlabel(f"validation {metric}")
    ax.set_title("leaderboard (best trials)")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path
