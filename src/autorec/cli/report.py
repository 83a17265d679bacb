"""`autorec report DIR`: a train or search folder as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def report(
    folder: Path = typer.Argument(..., help="A folder `autorec train` or `autorec search` wrote."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where the page goes (default: FOLDER/report.html)."),
) -> None:
    """Write the folder's HTML report: metrics, data, curves, search history, leaderboard, ensemble."""
    from ..report import write_report

    typer.echo(f"report in {write_report(folder, out)}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
