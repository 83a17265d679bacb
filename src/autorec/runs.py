"""One training run end to end: problem -> fit -> evaluate -> the run folder.

Shared by ``autorec train``, the search's final model and the benchmarks, so every figure
they print comes from the same code path (:mod:`autorec.problems` does the fitting and the
scoring for each task).
"""

from __future__ import annotations

import csv
import difflib
import json
from pathlib import Path
from typing import Any, Mapping

from .io import folder_lock, require_kind, write_json_atomic
from .errors import ConfigError
from .plots import plot_history
from .problems import Problem
from .train.engine import TrainConfig


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings -> dict; values are JSON when they parse (numbers, booleans,
    lists), plain strings otherwise.  ``hidden=500,250,500`` becomes a list of ints."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        key, raw = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            if "," in raw:
                parts = raw.split(",")
                try:
                    value = [int(p) for p in parts]
                except ValueError:
                    value = parts
            else:
                value = raw
        out[key] = value
    return out


def split_settings(settings: Mapping[str, Any], options: tuple[str, ...] = ("default_rating", "clip")
                   ) -> tuple[dict, dict, dict]:
    """Separate --set values into (model params, training settings, estimator ``options``)."""
    params, train, opts = {}, {}, {}
    for k, v in settings.items():
        if k in TrainConfig.keys():
            train[k] = v
        elif k in options:
            opts[k] = v
        else:
            # a near-miss of a training setting or option ("lrr") would otherwise reach the model
            # and be refused there with a list of model parameters that does not include "lr"
            close = difflib.get_close_matches(k, sorted(TrainConfig.keys() | set(options)), n=1, cutoff=0.75)
            if close and "/" not in k:
                raise ConfigError(f"--set {k}=...: not a setting; did you mean {close[0]!r}? (training settings: "
                                  f"{', '.join(sorted(TrainConfig.keys()))}; options: {', '.join(options)})")
            params[k] = v
    return params, train, opts


def train_and_evaluate(problem: Problem, model: str, settings: Mapping[str, Any] | None = None,
                       seed: int = 0, out: Path | None = None, dataset_name: str = ""):
    """Fit ``model`` on the problem's training part (early stopping on validation), evaluate
    on validation and, once, on test; write the run folder when ``out`` is given.  Returns
    ``(estimator, metrics_dict)``."""
    params, train, options = split_settings(settings or {}, problem.options)
    train.setdefault("seed", seed)
    if out is None:
        return _train_and_evaluate(problem, model, params, train, options, seed, None, dataset_name)
    # one writer per folder, held from before training until the run is written
    with folder_lock(out, command=f"autorec train --model {model}"):
        require_kind(out, "train", "train")
        return _train_and_evaluate(problem, model, params, train, options, seed, out, dataset_name)


def _train_and_evaluate(problem, model, params, train, options, seed, out, dataset_name):
    est = problem.fit(model, params, train, options=options)
    result = {
        "task": problem.task,
        "model": est.model_,
        "dataset": dataset_name or problem.name,
        "split": problem.split_name,
        "seed": seed,
        "params": est.hparams_,
        "train_settings": est.train_config_.to_dict(),
        **problem.run_info(est),
        "validation": problem.evaluate(est, "validation"),
        "test": problem.evaluate(est, "test"),
        "train_seconds": round(est.fit_seconds_, 3),
        "epochs": len(est.history_.epochs),
        "best_epoch": est.history_.best_epoch,
        "threads": est.history_.threads,
    }
    if out is not None:
        write_run(out, est, result)
    return est, result


def write_run(out: Path, est, result: dict) -> Path:
    """A run folder: ``history.csv`` and ``curves.png`` (when the model trained by epochs),
    ``model/`` and ``metrics.json`` (written last: its presence means the run is complete)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = est.history_.rows()
    if rows:
        tmp = out / ".history.csv.tmp"
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(out / "history.csv")
        plot_history(rows, out / "curves.png", metric=est.history_.metric,
                     title=f"{result['model']} on {result['dataset']}")
    est.save(out / "model")
    write_json_atomic(out / "metrics.json", result)
    return out
