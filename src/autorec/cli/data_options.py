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
DUPLICATES = typer.Option(None, "--duplicates", help="A repeated (user, item) pair: error (default), last "
                          "(the latest by timestamp), mean (of its ratings) or count (how many times: plays, check-ins).")
POSITIVE = typer.Option(None, "--positive", help="Ranking on ratings: which count as positives, '>=4' (the "
                        "default), '>3.5' or '4' (meaning >= 4). Implicit data: every row is one.")


def table_options(user_col: Optional[str], item_col: Optional[str], rating_col: Optional[str],
                  time_col: Optional[str], sep: Optional[str], encoding: Optional[str],
                  duplicates: Optional[str] = None) -> dict[str, Any]:
    """The loader options the user gave (only those: a registered dataset takes none of them,
    but ``duplicates``, which the MovieLens loaders take too; a loader that does not says so)."""
    given = {"user": user_col, "item": item_col, "rating": rating_col, "timestamp": time_col,
             "sep": None if sep is None else sep.encode().decode("unicode_escape"), "encoding": encoding,
             "duplicates": duplicates}
    return {k: v for k, v in given.items() if v is not None}


def parse_positive(text: Optional[str]) -> Optional[float]:
    """``--positive``: '>=4' or '4' is the threshold 4; '>3.5' the next float above 3.5."""
    import math

    from ..errors import ConfigError

    if text is None:
        return None
    raw = text.strip().replace(" ", "")
    strict = raw.startswith(">") and not raw.startswith(">=")
    number = raw[2:] if raw.startswith(">=") else raw[1:] if strict else raw
    try:
        value = float(number)
    except ValueError:
        raise ConfigError(f"--positive must be '>=X', '>X' or a number X, got {text!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"--positive must be a finite threshold, got {text!r}")
    return math.nextafter(value, math.inf) if strict else value
