"""Options that say how to read a user's own table, shared by the commands that load data."""

from __future__ import annotations

from typing import Any, Optional

import typer

USER_COL = typer.Option(None, "--user-col", help="Column of user ids in your own table (default: guessed by name).")
ITEM_COL = typer.Option(None, "--item-col", help="Column of item ids in your own table (default: guessed by name).")
RATING_COL = typer.Option(None, "--rating-col", help="Column of ratings in your own table (default: guessed by name).")
TIME_COL = typer.Option(None, "--time-col", help="Column of timestamps (seconds or ISO 8601) in your own table.")
SEP = typer.Option(None, "--sep", help="Field separator of your own table (default: from the extension).")
ENCODING = typer.Option(None, "--encoding", help="Text encoding of your own table (default: utf-8, strict).")


def table_options(user_col: Optional[str], item_col: Optional[str], rating_col: Optional[str],
                  time_col: Optional[str], sep: Optional[str], encoding: Optional[str]) -> dict[str, Any]:
    """The loader options the user gave (only those: a registered dataset takes none of them)."""
    given = {"user": user_col, "item": item_col, "rating": rating_col, "timestamp": time_col,
             "sep": None if sep is None else sep.encode().decode("unicode_escape"), "encoding": encoding}
    return {k: v for k, v in given.items() if v is not None}
