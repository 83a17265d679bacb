"""`autorec train` and `autorec demo`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=False)


def train(
    dataset: str = typer.Option("ml-latest-small", "--dataset", "-d", help="Registered dataset name or a file path."),
    data_path: Optional[Path] = typer.Option(None, "--data-path", help="Local file or folder holding the dataset."),
    model: str = typer.Option("i-autorec", "--model", "-m", help="Model name (see `autorec models`)."),
    split: str = typer.Option("random-90-10", "--split", help="Named split protocol (see `autorec splits`)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the initialisation and the batches."),
    settings: List[str] = typer.Option([], "--set", help="key=value: a model hyperparameter or a training setting; repeatable."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder for metrics.json, history.csv, curves.png, model/."),
) -> None:
    """Train one model, evaluate it once on the test part, and save it."""
    from ..models.registry import get_family
    from ..train.run import load_and_split, parse_settings, train_and_evaluate

    parsed = parse_settings(settings)
    from ..ctr import ctr_model_names

    if model not in ctr_model_names():
        get_family(model)  # an unknown model fails before any data is read
    data, sp = load_and_split(dataset, data_path, split, seed)
    if sp is None:
        from ..train.run import train_and_evaluate_ctr

        console.print(f"[bold]{data!r}[/]")
        rec, result = train_and_evaluate_ctr(data, split, model, parsed, seed=seed, out=out, dataset_name=dataset)
        _print_result(result, ("logloss", "auc"))
    else:
        console.print(f"[bold]{data!r}[/]  split {sp.describe()}")
        rec, result = train_and_evaluate(data, sp, model, parsed, seed=seed, out=out, dataset_name=dataset)
        _print_result(result)
    console.print(f"results in [bold]{out}[/] (metrics.json, history.csv, curves.png, model/)")


def _print_result(result: dict, keys: tuple[str, ...] = ("rmse", "mae")) -> None:
    table = Table(title=f"{result['model']} on {result['dataset']} ({result['split']}, seed {result['seed']})")
    table.add_column("part")
    for key in keys:
        table.add_column(key)
    for part in ("validation", "test"):
        m = result.get(part) or {}
        if m:
            table.add_row(part, *(f"{m[k]:.4f}" for k in keys))
    console.print(table)
    console.print(f"{result['epochs']} epochs (best {result['best_epoch']}), {result['train_seconds']:.1f} s")


def models() -> None:
    """List the models `autorec train --model` accepts."""
    from ..models.registry import get_family, model_names

    from ..ctr import ctr_model_names

    table = Table(title="models")
    table.add_column("name")
    table.add_column("family")
    table.add_column("tasks")
    ctr = set(ctr_model_names())
    for name in model_names():
        table.add_row(name, get_family(name).kind, "rating, ctr" if name in ctr else "rating")
    for name in ctr_model_names():
        if name not in model_names():
            table.add_row(name, "blocks", "ctr")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("models")(models)
