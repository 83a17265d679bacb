"""Plots written as PNG files (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path



def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (never needs a display), imported on
    first use: it costs about half a second, and every CLI command would pay it at start-up."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    """Save under a temporary name in the same folder and rename into place: a kill while
    matplotlib writes never leaves a half-written PNG where a finished one is expected."""
    import os
    import tempfile

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def plot_history(rows: list[dict], path: Path, metric: str = "rmse", title: str = "") -> Path:
    """Learning curves: the training objective and the validation metric per epoch, each on
    its own panel (one x axis; twin y axes would draw one curve over the other), whole-number
    epoch ticks, the best epoch marked and named in the legend, clear of the axis labels."""
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in rows]
    key = f"val_{metric}"
    has_val = bool(rows) and key in rows[0] and any(r.get(key) is not None for r in rows)
    plt = pyplot()
    fig, axes = plt.subplots(2 if has_val else 1, 1, sharex=True, squeeze=False,
                             figsize=(7, 5.6 if has_val else 3.6), dpi=110)
    ax1 = axes[0][0]
    ax1.plot(epochs, [r["train_loss"] for r in rows], color="tab:blue", marker="." if len(rows) < 30 else None)
    ax1.set_ylabel("training objective")
    ax1.grid(alpha=0.3)
    if has_val:
        ax2 = axes[1][0]
        pts = [(e, r.get(key)) for e, r in zip(epochs, rows) if r.get(key) is not None]
        xs, vals = [p[0] for p in pts], [p[1] for p in pts]
        best = min(range(len(vals)), key=lambda i: vals[i])
        ax2.plot(xs, vals, color="tab:orange", marker="." if len(pts) < 30 else None, label=f"validation {metric}")
        ax2.axvline(xs[best], color="grey", linestyle=":", linewidth=1,
                    label=f"best {vals[best]:.4f} at epoch {xs[best]}")
        ax1.axvline(xs[best], color="grey", linestyle=":", linewidth=1)
        ax2.set_ylabel(f"validation {metric}")
        ax2.legend(loc="best", fontsize=8, framealpha=0.9)
        ax2.grid(alpha=0.3)
    bottom = axes[-1][0]
    bottom.set_xlabel("epoch")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_title(title or "learning curves")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)
    plt.close(fig)
    return path
