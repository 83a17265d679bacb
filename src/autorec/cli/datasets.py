"""`autorec datasets list | info NAME | download NAME`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ..errors import DatasetNotAvailable
from .data_options import ENCODING, ITEM_COL, RATING_COL, SEP, TIME_COL, USER_COL, table_options

app = typer.Typer(help="List and inspect datasets.", no_args_is_help=True)
console = Console()


def _where(spec) -> str:
    from ..datasets import availability

    found = availability(spec.name)
    if found:
        return ", ".join(found)
    return "download" if spec.downloadable else "manual download"


@app.command("list")
def list_cmd() -> None:
    """Every registered dataset: task, size, licence, and where it is available."""
    from ..datasets import list_datasets

    table = Table(title="datasets")
    for col in ("name", "task", "size", "licence", "available"):
        table.add_column(col, overflow="fold")
    for spec in list_datasets():
        licence = "may redistribute" if spec.redistributable else "no redistribution"
        table.add_row(spec.name, spec.task, spec.size, licence, _where(spec))
    console.print(table)


@app.command("info")
def info_cmd(
    name: str = typer.Argument(..., help="Registered dataset name, or the path of your own file or folder."),
    data_path: Optional[Path] = typer.Option(None, "--data-path", help="Local file or folder holding the dataset."),
    user_col: Optional[str] = USER_COL,
    item_col: Optional[str] = ITEM_COL,
    rating_col: Optional[str] = RATING_COL,
    time_col: Optional[str] = TIME_COL,
    sep: Optional[str] = SEP,
    encoding: Optional[str] = ENCODING,
) -> None:
    """Details of NAME; if it is available locally (or is a path), load it and show the real counts."""
    from ..datasets import REGISTRY, get_spec, load, locate

    options = table_options(user_col, item_col, rating_col, time_col, sep, encoding)
    table = Table(title=name, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    if name.strip().lower() not in REGISTRY and Path(name).expanduser().exists():
        path = Path(name).expanduser()
        table.add_row("location", str(path.resolve()))
        _add_counts(table, load(path, **options))
        console.print(table)
        return
    spec = get_spec(name)
    table.title = spec.name
    rows = [
        ("name", spec.name), ("task", spec.task), ("description", spec.description),
        ("documented size", spec.size), ("licence", spec.licence),
        ("folder", spec.folder), ("files", ", ".join(spec.required)),
        ("download", ", ".join(spec.urls) or spec.manual or "-"),
        ("sha256", spec.sha256 or ("unknown: checked by archive structure" if spec.urls else "-")),
        ("homepage", spec.homepage or "-"),
    ]
    try:
        located = locate(spec.name, data_path, download=False)
    except DatasetNotAvailable as exc:
        located = None
        rows.append(("available", f"no: {exc}"))
    for k, v in rows:
        table.add_row(k, v)
    if located is not None:
        table.add_row("location", str(located))
        _add_counts(table, load(spec.name, data_path=data_path, download=False, **options))
    console.print(table)


def _add_counts(table: Table, data) -> None:
    from ..data.features import FeatureTable

    if isinstance(data, FeatureTable):
        table.add_row("rows", f"{len(data):,}")
        table.add_row("positives", f"{data.n_positive:,} ({data.n_positive / len(data):.2%})")
        table.add_row("fields", f"{len(data.dense)} dense, {len(data.categorical)} categorical")
        card = [int(data.frame[c].nunique()) for c in data.categorical]
        if card:
            table.add_row("categories", f"{sum(card):,} distinct values in all fields "
                                        f"(largest field {max(card):,})")
        return
    density = len(data) / (data.n_users * data.n_items)
    table.add_row("ratings", f"{len(data):,}")
    table.add_row("users", f"{data.n_users:,}")
    table.add_row("items", f"{data.n_items:,}")
    table.add_row("density", f"{density:.4%}")
    if data.rating_scale is not None:
        lo, hi = data.rating_scale
        table.add_row("rating scale", f"{lo:g} .. {hi:g} (mean {data.global_mean:.3f})")
        values, counts = np.unique(data.ratings, return_counts=True)
        if len(values) <= 12:
            table.add_row("rating counts", ", ".join(f"{v:g}: {c:,}" for v, c in zip(values, counts)))
    if data.timestamps is not None:
        lo_t, hi_t = (np.datetime64(int(t), "s") for t in (data.timestamps.min(), data.timestamps.max()))
        table.add_row("time range", f"{lo_t} .. {hi_t} (UTC)")
    for label, feats in (("user features", data.user_features), ("item features", data.item_features)):
        if feats is not None:
            table.add_row(label, ", ".join(map(str, feats.columns[:8]))
                          + (f", ... ({feats.shape[1]} columns)" if feats.shape[1] > 8 else ""))


@app.command("download")
def download_cmd(name: str = typer.Argument(..., help="Registered dataset name.")) -> None:
    """Download NAME into the cache ($AUTOREC_CACHE), verified and unpacked."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from ..datasets import fetch, get_spec, locate

    spec = get_spec(name)
    try:
        where = locate(spec.name, download=False)
        console.print(f"{spec.name} is already available at {where}")
        return
    except DatasetNotAvailable:
        pass  # not local: download it
    if not spec.downloadable:
        fetch(spec.name)  # raises DatasetNotAvailable saying how to get it by hand
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console) as bar:
        task = bar.add_task(f"{spec.name}", total=None)

        def report(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        path = fetch(spec.name, progress=report)
    console.print(f"{spec.name} is in {path}")
