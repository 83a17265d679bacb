"""Plots written as PNG files (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never needs a display
import matplotlib.pyplot as plt  # noqa: E402


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
    """Learning curves: training loss and the validation metric per epoch, best epoch marked."""
    epochs = [r["epoch"] for r in rows]
    fig, ax1 = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax1.plot(epochs, [r["train_loss"] for r in rows], color="tab:blue", label="training objective")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training objective", color="tab:blue")
    key = f"val_{metric}"
    if rows and key in rows[0]:
        ax2 = ax1.twinx()
        vals = [r.get(key) for r in rows]
        ax2.plot(epochs, vals, color="tab:orange", label=f"validation {metric}")
        ax2.set_ylabel(f"validation {metric}", color="tab:orange")
        best = min(range(len(vals)), key=lambda i: vals[i])
        ax2.axvline(epochs[best], color="grey", linestyle=":", linewidth=1)
        ax2.annotate(f"best {vals[best]:.4f} @ {epochs[best]}", (epochs[best], vals[best]),
                     textcoords="offset points", xytext=(6, 8), fontsize=8)
    ax1.set_title(title or "learning curves")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)
    plt.close(fig)
    return path
