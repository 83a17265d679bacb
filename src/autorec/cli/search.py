"""`autorec search` and `autorec demo`.

Imports of the package's heavy modules (torch) happen inside the commands, so that
``autorec --help`` stays fast.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..errors import ConfigError
from .data_options import (DUPLICATES, ENCODING, ITEM_COL, POSITIVE, RATING_COL, SEP, TIME_COL, USER_COL,
                           parse_positive, table_options)

console = Console()


def _progress_callback(total: int | None):
    from rich.progress import Progress, TextColumn, BarColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]search"), BarColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=console, transient=False, disable=not console.is_terminal)
    task = progress.add_task("", total=total)

    def on_trial(study, trial) -> None:
        done = len([t for t in study.trials if t.state.is_finished()])
        try:
            best = f"best {study.best_value:.4f} (trial {study.best_trial.number})"
        except ValueError:
            best = "no complete trial yet"
        line = f"trial {done}" + (f" of {total}" if total else "") + f", {trial.state.name.lower()}; {best}"
        progress.update(task, completed=done, description=line)
        if not console.is_terminal:
            console.print(line)

    return progress, on_trial


def search(
    dataset: str = typer.Option("ml-latest-small", "--dataset", "-d"),
    data_path: Optional[Path] = typer.Option(None, "--data-path"),
    task: Optional[str] = typer.Option(None, "--task", help="rating | ctr | ranking (default: from the data: "
                                                             "CTR rows, implicit feedback, or ratings)"),
    split: str = typer.Option("random-90-10", "--split", help="Named split protocol (see `autorec splits`)."),
    tuner: str = typer.Option("tpe", "--tuner", help="random | greedy | bayesian | tpe"),
    trials: Optional[int] = typer.Option(
        None, "--trials",
        help="Total trials of the study (resumes count); default 20, or as many as fit with --time-budget."),
    time_budget: Optional[str] = typer.Option(
        None, "--time-budget", help="Wall time for the whole command, results included, e.g. 30m, 2h."),
    trial_timeout: Optional[str] = typer.Option(None, "--trial-timeout", help="Per-trial limit, e.g. 5m."),
    models: Optional[str] = typer.Option(None, "--models", help="Comma-separated model names (default: all for the task)."),
    pruner: str = typer.Option("hyperband", "--pruner", help="none | median | successive-halving | hyperband"),
    model_choice: str = typer.Option(
        "cost-aware", "--model-choice",
        help="cost-aware: each trial's model drawn by expected improvement per second, learnt from the "
             "study's trials (tpe and bayesian tuners); tuner: the tuner picks it like any parameter."),
    max_epochs: int = typer.Option(200, "--max-epochs"),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (default: SQLite in --out)."),
    study: str = typer.Option("autorec", "--study", help="Study name (shared by workers)."),
    settings: List[str] = typer.Option([], "--set", help="Fix a hyperparameter: model/param=value or a training key."),
    refit_full: Optional[bool] = typer.Option(
        None, "--refit-full/--no-refit-full",
        help="Refit the best and the ensemble's members on train+validation for their best epoch counts "
             "(default: on for ratings, off for CTR and rankings; under --cv, see --cv-bag)."),
    refit_seeds: int = typer.Option(
        2, "--refit-seeds",
        help="Train each refit ensemble member this many times with different seeds and average them "
             "(copies past the first only while --time-budget has room; 1: one refit each)."),
    cv_bag: bool = typer.Option(False, "--cv-bag", help="Under --cv, return the bag of fold models instead of "
                                                       "refitting on train+validation."),
    fold_racing: bool = typer.Option(
        True, "--fold-racing/--no-fold-racing",
        help="Under --cv, stop a trial after any fold but the last when the score predicted from its folds "
             "so far cannot reach the best trials kept for the ensemble."),
    ensemble_size: Optional[int] = typer.Option(
        None, "--ensemble-size", help="How many of the best trials the ensemble may draw from (1: no ensemble; "
                                      "default 8 for ratings, 5 for CTR and rankings)."),
    ensemble_per_model: int = typer.Option(
        2, "--ensemble-per-model",
        help="Of those, at most this many of one model (the best of the rest fill up when the models run out)."),
    cv: str = typer.Option(
        "auto", "--cv",
        help="Score configurations by K-fold cross-validation on train+validation, then refit the result on "
             "train+validation (see --cv-bag): a number of folds, 'none', or 'auto' (5 folds when the "
             "validation part has fewer than 5,000 rows)."),
    warm_start: Optional[str] = typer.Option(
        None, "--warm-start",
        help="Models whose defaults open a fresh study, comma-separated, or 'none' "
             "(default: i-autorec,baseline,biased-mf,deep-autorec for rating; deepfm,dcn,fm for ctr)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the sampler and the trials' training (and, for a new "
                                                "study, the split)."),
    split_seed: Optional[int] = typer.Option(
        None, "--split-seed", help="Seed of the split (default: the study's when resuming, else --seed)."),
    new_study: bool = typer.Option(
        False, "--new-study", help="Delete the study already in --out / --storage (and its results) and start afresh."),
    out: Path = typer.Option(..., "--out", "-o"),
    user_col: Optional[str] = USER_COL,
    item_col: Optional[str] = ITEM_COL,
    rating_col: Optional[str] = RATING_COL,
    time_col: Optional[str] = TIME_COL,
    sep: Optional[str] = SEP,
    encoding: Optional[str] = ENCODING,
    duplicates: Optional[str] = DUPLICATES,
    positive: Optional[str] = POSITIVE,
) -> None:
    """Search models and hyperparameters; write the leaderboard, the best model, the ensemble and plots."""
    started = time.monotonic()  # --time-budget counts from here: loading the data is part of the command
    from ..families import canonical_name, model_names
    from ..problems import load_problem
    from ..runs import parse_settings
    from ..search import SearchSettings, parse_duration, run_search
    from ..search.identity import stored_split_seed
    from ..search.space import CV_BELOW_ROWS, resolve_cv

    if trials is None and time_budget is None:
        trials = 20  # its range is checked by SearchSettings, with every other option
    def check_models(task: str) -> list[str] | None:
        known = model_names(task)  # also checks --task
        named = [canonical_name(m.strip(), task) for m in models.split(",")] if models else None
        unknown = [m for m in named or [] if m not in known]
        if unknown:
            raise ConfigError(f"unknown {task} model(s) {unknown}; known: {', '.join(sorted(known))}")
        return named

    problem_models = check_models(task) if task is not None else None  # before any data is read
    # the study's split seed wins over --seed, so that every worker and re-run splits alike
    stored = None if new_study else stored_split_seed(storage, study, out)
    if split_seed is None:
        split_seed = stored if stored is not None else seed
        if stored is not None and stored != seed:
            console.print(f"split seed {stored} (the study's); --seed {seed} seeds the sampler and the training")
    problem = load_problem(dataset, data_path, split, split_seed, task=task,
                           load_options=table_options(user_col, item_col, rating_col, time_col, sep, encoding, duplicates),
                           positive=parse_positive(positive))
    if task is None:
        problem_models = check_models(problem.task)
    chosen = problem_models or problem.default_models()
    console.print(f"[bold]{problem.describe()}[/]")
    folds = resolve_cv(cv.strip().lower(), problem)
    n_val = len(problem.target("validation"))
    if folds is not None:
        why = (f"the validation part has {n_val:,} rows, fewer than {CV_BELOW_ROWS:,}: too few to select on"
               if cv.strip().lower() == "auto" else "as asked")
        console.print(f"selection by {folds}-fold cross-validation on train + validation ({why}); "
                      + ("the final model bags the fold models" if cv_bag else
                         "the final model is refit on train + validation")
                      + ("; a trial whose folds so far rule it out stops there" if fold_racing else ""))
    console.print(f"models: {', '.join(chosen)}; tuner {tuner}"
                  + (", models drawn by expected improvement per second" if model_choice == "cost-aware"
                     and tuner in ("tpe", "bayesian") and len(chosen) > 1 else "")
                  + f"; pruner {pruner}" + (", each model against its own trials" if pruner != "none" else ""))
    cfg = SearchSettings(models=chosen, tuner=tuner, n_trials=trials, time_budget=parse_duration(time_budget),
                         trial_timeout=parse_duration(trial_timeout), pruner=pruner, max_epochs=max_epochs,
                         seed=seed, storage=storage, study_name=study, fixed=parse_settings(settings),
                         refit_full=refit_full, cv_refit=not cv_bag, fold_racing=fold_racing,
                         refit_seeds=refit_seeds,
                         ensemble_size=ensemble_size, ensemble_per_model=ensemble_per_model,
                         cv=cv.strip().lower(), model_choice=model_choice.strip().lower(),
                         warm_start=None if warm_start is None else
                         [] if warm_start.strip().lower() == "none" else
                         [m.strip() for m in warm_start.split(",") if m.strip()],
                         split_seed=split_seed, new_study=new_study)
    if folds is None and cfg.refit_full_for(problem.task):
        console.print("at the end, the best model and the ensemble's members are refit on train + validation"
                      + (f", each member with {refit_seeds} seeds while the budget has room" if refit_seeds > 1 else "")
                      + (" (--no-refit-full keeps them as trained)" if refit_full is None else ""))
    progress, on_trial = _progress_callback(trials)
    try:
        with progress:
            result = run_search(problem, cfg, out, on_trial=on_trial, started=started)
    except KeyboardInterrupt:
        if (out / "leaderboard.csv").exists():
            console.print(f"interrupted: the finished trials are kept in {out} (leaderboard.csv); the same "
                          "command again resumes the study, redoing the trial that was cut short")
        raise
    _print_summary(out, result)
    finish_folder(out, "search")


def finish_folder(out: Path, kind: str) -> None:
    """The command that made the folder (command.txt) and its HTML report, written under the
    folder's lock like everything else in it."""
    import shlex
    import sys

    from ..io import folder_lock, write_text_atomic
    from ..report import write_report

    with folder_lock(out, command=f"autorec {kind} (report)"):
        write_text_atomic(out / "command.txt", shlex.join(["autorec", *sys.argv[1:]]) + "\n")
        console.print(f"report in [bold]{write_report(out)}[/]")


def _print_summary(out: Path, result: dict) -> None:
    import pandas as pd

    board = pd.read_csv(out / "leaderboard.csv")
    metric = {"ctr": "logloss", "ranking": "ndcg@20"}.get(result.get("task"), "rmse")
    col = f"val_{metric}"
    table = Table(title=f"leaderboard (validation {metric})")
    for name in ("trial", "model", col, "epochs", "seconds", "state"):
        table.add_column(name)
    for _, r in board.head(10).iterrows():
        table.add_row(str(r["trial"]), str(r["model"]), f"{r[col]:.4f}", str(r["epochs"]),
                      f"{r['seconds']:.1f}", str(r["state"]))
    console.print(table)
    console.print(f"best: trial {result['best_trial']} ({result['model']}): validation {metric} "
                  f"{result['validation'][metric]:.4f}, test {metric} {result['test'][metric]:.4f}")
    if "ensemble" in result:
        e = result["ensemble"]
        console.print(f"ensemble of trials {e['members']}: validation {metric} {e['validation'][metric]:.4f}, "
                      f"test {metric} {e['test'][metric]:.4f}")
    console.print(f"results in [bold]{out}[/] (leaderboard.csv, metrics.json, model/, curves and search plots)")


def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", "-o"),
    trials: int = typer.Option(6, "--trials"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """A short search on the bundled MovieLens latest-small, with simple baselines beside it."""
    import numpy as np

    from .. import metrics
    from ..datasets import load
    from ..problems import RatingProblem
    from ..search import SearchSettings, run_search
    from ..splits import make_split

    data = load("ml-latest-small")
    sp = make_split(data, "random-90-10", seed=seed)
    console.print(f"[bold]{data!r}[/]  split {sp.describe()}")
    mean = float(sp.train.ratings.mean())
    base = metrics.rmse(sp.test.ratings, np.full(len(sp.test), mean))
    console.print(f"baseline, global mean {mean:.3f}: test RMSE {base:.4f}")
    cfg = SearchSettings(models=["i-autorec", "biased-mf"], tuner="tpe", n_trials=trials, pruner="hyperband",
                         max_epochs=60, patience=8, seed=seed, time_budget=240)
    progress, on_trial = _progress_callback(trials)
    with progress:
        result = run_search(RatingProblem(data, sp), cfg, out, on_trial=on_trial)
    _print_summary(out, result)
    finish_folder(out, "demo")


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("demo")(demo)
