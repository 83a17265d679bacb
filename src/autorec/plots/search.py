"""Plots of a search: optimisation history, parameter importances, the leaderboard."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import optuna

from .curves import pyplot, save_figure

#: below this many completed trials, importances are drawn with a caveat on the plot
FEW_TRIALS = 20


def plot_optimization_history(study: optuna.Study, path: Path, metric: str = "rmse", direction: str = "minimize") -> Path:
    """Every trial: completed ones by their value, pruned ones at their last reported value
    (hollow), failed ones counted in the legend; the best-so-far line over completed trials."""
    states = optuna.trial.TrialState
    done = [t for t in study.trials if t.value is not None and t.state == states.COMPLETE]
    pruned = [t for t in study.trials if t.state == states.PRUNED and t.intermediate_values]
    failed = [t for t in study.trials if t.state == states.FAIL]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if done:
        xs = [t.number for t in done]
        ys = [t.value for t in done]
        ax.scatter(xs, ys, s=16, label=f"completed ({len(done)})")
        best = np.minimum if direction == "minimize" else np.maximum
        ax.step(xs, best.accumulate(ys), where="post", color="tab:red", label="best so far")
    if pruned:
        ax.scatter([t.number for t in pruned], [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
                   s=16, facecolors="none", edgecolors="tab:grey", label=f"pruned, last value ({len(pruned)})")
    if failed:
        ax.plot([], [], " ", label=f"failed: {len(failed)} (trials {', '.join(str(t.number) for t in failed[:8])}"
                                   f"{', ...' if len(failed) > 8 else ''})")
    if done or pruned or failed:
        ax.legend(fontsize=8, framealpha=0.9)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    ax.grid(alpha=0.3)
    ax.set_title("optimisation history")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def plot_importances(study: optuna.Study, path: Path) -> Path:
    """fANOVA importances over the completed trials (Optuna's evaluator); a caveat when they
    rest on few trials, a note when there are too few to compute."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    n = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    try:
        with warnings.catch_warnings():  # few trials per value: the plot says what it can
            warnings.simplefilter("ignore")
            imp = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ZeroDivisionError) as exc:
        imp = {}
        ax.text(0.5, 0.5, f"importances unavailable: {exc}", ha="center", va="center", wrap=True)
    title = f"hyperparameter importances ({n} completed trials)"
    if imp:
        names = list(imp)[:15][::-1]
        ax.barh(names, [imp[n] for n in names])
        ax.set_xlabel("importance (fANOVA)")
        if n < FEW_TRIALS:
            title += f"\nfewer than {FEW_TRIALS} trials: indicative only"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def plot_leaderboard(board, path: Path, metric: str = "rmse", top: int = 15) -> Path:
    """The best completed trials as dots on the metric's own scale (bars cut off above zero
    would exaggerate the differences), each labelled with its value."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.6), dpi=110)
    ok = board[board["state"] == "COMPLETE"].head(top)
    if len(ok):
        labels = [f"#{t} {m}" for t, m in zip(ok["trial"], ok["model"])][::-1]
        col = f"val_{metric}"
        vals = ok[col].tolist()[::-1]
        ax.scatter(vals, range(len(vals)), s=28, zorder=3)
        ax.set_yticks(range(len(vals)), labels)
        for y, v in enumerate(vals):
            ax.annotate(f"{v:.4f}", (v, y), textcoords="offset points", xytext=(6, -3), fontsize=8)
        span = (max(vals) - min(vals)) or abs(max(vals)) * 0.01 or 0.01
        ax.set_xlim(min(vals) - 0.1 * span, max(vals) + 0.35 * span)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel(f"validation {metric} (axis does not start at 0)")
    ax.set_title("leaderboard (best trials)")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path
