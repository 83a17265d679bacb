"""`autorec predict`, `autorec recommend` and `autorec evaluate`: put a saved model to work.

``--model`` takes any folder `autorec train` or `autorec search` wrote (the run folder, its
``model/``, a search's ``ensemble/`` or one of its ``trials/trial-N``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..errors import ConfigError, DataError

console = Console(stderr=False)
status = Console(stderr=True)

MODEL = typer.Option(..., "--model", "-m", help="A model folder: a train or search run folder, its model/, "
                                                 "a search's ensemble/.")
CHUNK_ROWS = 100_000


def _load(path: Path):
    from ..api import load

    return load(path)


def _is_ctr(model) -> bool:
    return hasattr(model, "feature_columns_") or (hasattr(model, "members") and hasattr(model.members[0], "feature_columns_"))


def _history(path: Optional[Path], text: Optional[str]) -> Optional[dict]:
    """A fold-in history from ``--history FILE`` (CSV/TSV: item,rating) or ``--history-json``."""
    if path is None and text is None:
        return None
    if path is not None and text is not None:
        raise ConfigError("pass --history or --history-json, not both")
    if text is not None:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--history-json: not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise ConfigError('--history-json must be an object {"item": rating, ...}')
        return obj
    import pandas as pd

    frame = pd.read_csv(path, sep=None, engine="python", dtype=str)
    cols = [c.lower() for c in frame.columns]
    if "item" not in cols or "rating" not in cols:
        raise DataError(f"a history file needs the columns item and rating; it has {list(frame.columns)}", path=str(path))
    frame.columns = cols
    out = {}
    for line, (item, rating) in enumerate(zip(frame["item"], frame["rating"]), start=2):
        try:
            out[item] = float(rating)
        except (TypeError, ValueError):
            raise DataError("rating is not a number", path=str(path), line=line, column="rating", value=rating) from None
    return out


def predict(
    model: Path = MODEL,
    user: Optional[str] = typer.Option(None, "--user", "-u", help="One user id (with --item)."),
    item: List[str] = typer.Option([], "--item", "-i", help="Item id(s) to score; repeatable."),
    input: Optional[Path] = typer.Option(None, "--input", help="A CSV/TSV or Parquet file of pairs (user,item) "
                                                               "or, for a CTR model, of feature rows."),
    output: Optional[Path] = typer.Option(None, "--output", help="Where batch scores go (.csv, .tsv or .parquet)."),
    user_col: str = typer.Option("user", "--user-col", help="Column of user ids in --input."),
    item_col: str = typer.Option("item", "--item-col", help="Column of item ids in --input."),
    history: Optional[Path] = typer.Option(None, "--history", help="Fold in a new user: a CSV of item,rating."),
    history_json: Optional[str] = typer.Option(None, "--history-json", help='Fold in a new user: {"item": rating}.'),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score (user, item) pairs with a saved model: one user's items, a folded-in history, or
    a whole file streamed in chunks (--input ... --output ...)."""
    if input is not None:
        if output is None:
            raise ConfigError("--input needs --output (a .csv, .tsv or .parquet file)")
        n = score_file(_load(model), input, output, user_col, item_col)
        status.print(f"{n:,} rows scored into {output}")
        return
    hist = _history(history, history_json)
    if not item:
        raise ConfigError("pass --item (repeatable), or --input and --output for a file")
    if hist is None and user is None:
        raise ConfigError("pass --user, or --history/--history-json for a user outside the training data")
    rec = _load(model)
    if _is_ctr(rec):
        raise ConfigError("a CTR model scores feature rows: use --input rows.csv --output scores.csv")
    if hist is not None:
        pred, fallback = rec.predict(history=hist, items=item, return_fallback=True)
        users = ["(history)"] * len(item)
    else:
        users = [user] * len(item)
        pred, fallback = rec.predict(users, item, return_fallback=True)
    rows = [{"user": u, "item": i, "prediction": float(p), "fallback": bool(f)}
            for u, i, p, f in zip(users, item, pred, fallback)]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table()
    for col in ("user", "item", "prediction", "fallback"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["user"]), str(r["item"]), f"{r['prediction']:.4f}",
                      "yes (default rating)" if r["fallback"] else "")
    console.print(table)


def recommend(
    model: Path = MODEL,
    user: List[str] = typer.Option([], "--user", "-u", help="User id(s); repeatable."),
    k: int = typer.Option(10, "-k", "--k", help="How many items per user."),
    include_seen: bool = typer.Option(False, "--include-seen", help="Keep the user's training items in the list."),
    history: Optional[Path] = typer.Option(None, "--history", help="Fold in a new user: a CSV of item,rating."),
    history_json: Optional[str] = typer.Option(None, "--history-json", help='Fold in a new user: {"item": rating}.'),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Top-k items for users of the training data, or for a new user folded in from a history."""
    from ..estimators.base import check_k

    check_k(k)
    hist = _history(history, history_json)
    if hist is None and not user:
        raise ConfigError("pass --user (repeatable), or --history/--history-json for a new user")
    if hist is not None and user:
        raise ConfigError("pass --user or a history, not both")
    rec = _load(model)
    if _is_ctr(rec) or not hasattr(rec, "recommend"):
        raise ConfigError("a CTR model scores feature rows and does not rank items; use `autorec predict --input`")
    if hist is not None:
        results = [("(history)", *rec.recommend(history=hist, k=k, exclude_seen=not include_seen,
                                                return_fallback=True))]
    else:
        lists, flags = rec.recommend_batch(user, k=k, exclude_seen=not include_seen, return_fallback=True)
        results = list(zip(user, lists, flags))
    if as_json:
        typer.echo(json.dumps([{"user": u, "fallback": bool(f),
                                "items": [{"item": i, "score": s} for i, s in top]} for u, top, f in results]))
        return
    for u, top, fallback in results:
        table = Table(title=f"user {u}", caption="not in the training data: the most rated items" if fallback else None)
        for col in ("rank", "item", "score" if hasattr(rec, "history_matrix_") else "predicted rating"):
            table.add_column(col)
        for rank, (i, s) in enumerate(top, start=1):
            table.add_row(str(rank), str(i), f"{s:.4f}")
        console.print(table)


def evaluate(
    model: Path = MODEL,
    dataset: str = typer.Option(..., "--dataset", "-d", help="Registered dataset name or a file path."),
    data_path: Optional[Path] = typer.Option(None, "--data-path", help="Local file or folder holding the dataset."),
    split: Optional[str] = typer.Option(None, "--split", help="Split protocol (default: the run's own, else random-90-10)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Split seed (default: the run's own, else 0)."),
    part: str = typer.Option("test", "--part", help="Which part to score: test, validation, train or all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score a saved model on a dataset's part, split as the run was (or as told)."""
    from ..problems import load_problem

    parts = ("test", "validation", "train", "all")
    if part not in parts:
        raise ConfigError(f"--part must be one of {', '.join(parts)}, got {part!r}")
    from ..io import run_record

    run = run_record(model)
    split = split or run.get("split") or "random-90-10"
    seed = seed if seed is not None else int(run.get("split_seed", run.get("seed", 0)) or 0)
    rec = _load(model)
    problem = load_problem(dataset, data_path, split, seed)
    result = evaluate_on(rec, problem, part)
    result.update({"dataset": dataset, "split": split, "seed": seed, "part": part})
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"{model} on {dataset} ({split}, seed {seed}, {part})")
    table.add_column("metric")
    table.add_column("value")
    for key, value in result["metrics"].items():
        table.add_row(key, f"{value:.4f}")
    table.add_row("rows", f"{result['rows']:,}")
    if "fallback_rows" in result:
        table.add_row("answered by the fallback", f"{result['fallback_rows']:,}")
    console.print(table)



def evaluate_on(rec, problem, part: str) -> dict:
    """Metrics of a loaded model on a problem's part, predicting by ORIGINAL ids (the data need
    not be the one the model was trained on)."""
    import numpy as np

    from .. import metrics

    if problem.task == "ctr":
        if not _is_ctr(rec):
            raise ConfigError("the dataset is CTR data, and the model predicts ratings")
        rows = (np.arange(len(problem.table)) if part == "all" else problem.rows[part])
        y = problem.table.labels[rows].astype(np.float64)
        if len(y) == 0:
            raise ConfigError(f"the {part} part of this split is empty")
        return {"metrics": metrics.ctr_scores(y, rec.predict_proba(problem.table, rows)), "rows": int(len(y))}
    if _is_ctr(rec):
        raise ConfigError("the dataset holds ratings, and the model is a CTR model")
    data = problem.data if part == "all" else getattr(problem.split, part)
    if data is None or len(data) == 0:
        raise ConfigError(f"the {part} part of this split is empty")
    pred, fallback = rec.predict(data.user_ids[data.users], data.item_ids[data.items], return_fallback=True)
    return {"metrics": metrics.rating_scores(data.ratings, pred), "rows": int(len(data)),
            "fallback_rows": int(fallback.sum())}


# ------------------------------------------------------------------ batch scoring
def _reader(path: Path, chunk_rows: int, categorical: list[str] | None = None):
    """(chunks of a CSV/TSV/Parquet file as DataFrames, total rows or None).  Ids are read as
    text, kept exactly ("NA" is an id); a CTR model's ``categorical`` columns as text with empty
    cells missing, its other columns as numbers."""
    import pandas as pd

    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise DataError(f"not a readable Parquet file ({str(exc).splitlines()[0]})", path=str(path)) from None
        return (b.to_pandas() for b in pf.iter_batches(batch_size=chunk_rows)), pf.metadata.num_rows
    sep = "\t" if suffix in (".tsv", ".tab") else ","
    if categorical is not None:
        return pd.read_csv(path, sep=sep, chunksize=chunk_rows, dtype={c: str for c in categorical}), None
    return pd.read_csv(path, sep=sep, chunksize=chunk_rows, dtype=str, keep_default_na=False), None


class _Writer:
    """Scores written under a temporary name beside ``path`` and renamed into place at the end,
    so an interrupted run leaves no half-written output."""

    def __init__(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".tsv", ".parquet", ".pq"):
            raise ConfigError(f"--output must end in .csv, .tsv or .parquet, got {path.name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.parquet = suffix in (".parquet", ".pq")
        self.sep = "\t" if suffix == ".tsv" else ","
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        self.tmp = Path(tmp)
        self._pq = None
        self._first = True

    def write(self, frame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.tmp, table.schema)
            self._pq.write_table(table)
        else:
            frame.to_csv(self.tmp, sep=self.sep, index=False, header=self._first, mode="w" if self._first else "a")
        self._first = False

    def commit(self) -> None:
        if self._pq is not None:
            self._pq.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self._pq is not None:
            self._pq.close()
        self.tmp.unlink(missing_ok=True)


def score_file(rec, input: Path, output: Path, user_col: str = "user", item_col: str = "item",
               chunk_rows: int = CHUNK_ROWS) -> int:
    """Stream ``input`` through the model in chunks of ``chunk_rows`` rows into ``output``
    (bounded memory whatever the file's size); returns the number of rows scored."""
    import numpy as np
    import pandas as pd
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if Path(input).resolve() == Path(output).resolve():
        raise ConfigError("--output must not be the --input file")
    ctr = _is_ctr(rec)
    single = rec.members[0] if hasattr(rec, "members") else rec
    chunks, total = _reader(Path(input), chunk_rows, single.encoder_.categorical if ctr else None)
    writer = _Writer(Path(output))
    done = 0
    quiet = bool(os.environ.get("AUTOREC_NO_PROGRESS"))
    try:
        with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=status, disable=quiet, transient=True) as bar:
            task = bar.add_task("rows", total=total)
            for frame in chunks:
                if ctr:
                    need = single.feature_columns_
                    missing = [c for c in need if c not in frame.columns]
                    if missing:
                        raise DataError(f"missing column(s) {missing}; the model scores rows with {need}", path=str(input))
                    out = pd.DataFrame({"row": np.arange(done, done + len(frame)),
                                        "probability": rec.predict_proba(frame)})
                else:
                    missing = [c for c in (user_col, item_col) if c not in frame.columns]
                    if missing:
                        raise DataError(f"missing column(s) {missing}; the file has {list(frame.columns)} "
                                        "(name them with --user-col and --item-col)", path=str(input))
                    users, items = frame[user_col].to_numpy(), frame[item_col].to_numpy()
                    pred, fallback = rec.predict(users, items, return_fallback=True)
                    out = pd.DataFrame({"user": users, "item": items, "prediction": pred, "fallback": fallback})
                writer.write(out)
                done += len(frame)
                bar.update(task, advance=len(frame))
        if done == 0:
            writer.write(pd.DataFrame(columns=["row", "probability"] if ctr else ["user", "item", "prediction", "fallback"]))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return done


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)
    app.command("recommend")(recommend)
    app.command("evaluate")(evaluate)
