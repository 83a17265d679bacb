"""`autorec train`, `autorec models` and `autorec splits`.

Imports of the package's heavy modules (torch) happen inside the commands, so that
``autorec --help`` and the listing of commands stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from .data_options import (DUPLICATES, ENCODING, ITEM_COL, POSITIVE, RATING_COL, SEP, TIME_COL, USER_COL,
                           parse_positive, table_options)

console = Console(stderr=False)


def train(
    dataset: str = typer.Option("ml-latest-small", "--dataset", "-d", help="Registered dataset name or a file path."),
    data_path: Optional[Path] = typer.Option(None, "--data-path", help="Local file or folder holding the dataset."),
    model: str = typer.Option("i-autorec", "--model", "-m", help="Model name (see `autorec models`)."),
    split: str = typer.Option("random-90-10", "--split", help="Named split protocol (see `autorec splits`)."),
    task: Optional[str] = typer.Option(None, "--task", help="rating | ctr | ranking (default: from the data)"),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the initialisation and the batches."),
    settings: List[str] = typer.Option([], "--set", help="key=value: a model hyperparameter or a training setting; repeatable."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder for metrics.json, history.csv, curves.png, model/."),
    user_col: Optional[str] = USER_COL,
    item_col: Optional[str] = ITEM_COL,
    rating_col: Optional[str] = RATING_COL,
    time_col: Optional[str] = TIME_COL,
    sep: Optional[str] = SEP,
    encoding: Optional[str] = ENCODING,
    duplicates: Optional[str] = DUPLICATES,
    positive: Optional[str] = POSITIVE,
) -> None:
    """Train one model, evaluate it once on the test part, and save it."""
    from ..families import get_family, tasks_of
    from ..problems import load_problem
    from ..runs import parse_settings, train_and_evaluate

    parsed = parse_settings(settings)
    if not tasks_of(model):
        get_family(model)  # an unknown model fails before any data is read, naming the closest
    problem = load_problem(dataset, data_path, split, seed, task=task,
                           load_options=table_options(user_col, item_col, rating_col, time_col, sep, encoding, duplicates),
                           positive=parse_positive(positive))
    console.print(f"[bold]{problem.describe()}[/]")
    _, result = train_and_evaluate(problem, model, parsed, seed=seed, out=out, dataset_name=dataset)
    _print_result(result, problem.metric_names)
    console.print(f"results in [bold]{out}[/] (metrics.json, history.csv, curves.png, model/)")
    from .search import finish_folder

    finish_folder(out, "train")


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
    if result["epochs"]:
        console.print(f"{result['epochs']} epochs (best {result['best_epoch']}), {result['train_seconds']:.1f} s")
    else:
        console.print(f"solved in closed form, {result['train_seconds']:.1f} s")


def models() -> None:
    """List the models `autorec train --model` and `autorec search --models` accept."""
    from ..families import aliases, all_model_names, get_family, tasks_of

    table = Table(title="models")
    for col in ("name", "also accepted", "family", "tasks", "what it is"):
        table.add_column(col, overflow="fold")
    for name in all_model_names():
        tasks = tasks_of(name)
        family = get_family(name, tasks[0])
        table.add_row(name, ", ".join(aliases(name)), family.kind, ", ".join(tasks), family.describe(name))
    console.print(table)


def splits() -> None:
    """List the named split protocols `--split` accepts."""
    from ..splits import CTR_SPLITS, list_splits

    table = Table(title="splits")
    for col in ("name", "what it does", "CTR rows too"):
        table.add_column(col, overflow="fold")
    for name, text in list_splits().items():
        table.add_row(name, text, "yes" if name in CTR_SPLITS else "")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("models")(models)
    app.command("splits")(splits)
