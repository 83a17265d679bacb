"""One training run end to end: data -> split -> fit -> evaluate -> write the run folder.

Shared by ``autorec train``, ``autorec demo`` and the benchmarks, so every figure they
print comes from the same code path.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import metrics
from ..artifact import write_json_atomic
from ..errors import ConfigError
from .engine import TrainConfig


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


TRAIN_KEYS = set(TrainConfig.__dataclass_fields__)


def split_settings(settings: Mapping[str, Any]) -> tuple[dict, dict, dict]:
    """Separate --set values into (model params, training settings, estimator options)."""
    params, train, options = {}, {}, {}
    for k, v in settings.items():
        if k in TRAIN_KEYS:
            train[k] = v
        elif k in ("default_rating", "clip"):
            options[k] = v
        else:
            params[k] = v
    return params, train, options


def evaluate_rating(rec, part) -> dict[str, float]:
    pred = rec.predict_index(part.users, part.items)
    return {"rmse": metrics.rmse(part.ratings, pred), "mae": metrics.mae(part.ratings, pred)}


def train_and_evaluate(
    data,
    split,
    model: str,
    settings: Mapping[str, Any] | None = None,
    seed: int = 0,
    out: Path | None = None,
    dataset_name: str = "",
):
    """Fit ``model`` on ``split.train`` (early stopping on ``split.validation``), evaluate on
    ``split.test`` once, and (when ``out`` is given) write the run folder.  Returns
    ``(recommender, metrics_dict)``."""
    from ..estimator import Recommender

    params, train, options = split_settings(settings or {})
    train.setdefault("seed", seed)
    rec = Recommender(model=model, params=params, train=train, **options)
    rec.fit(split.train, split.validation)
    result = {
        "model": model,
        "dataset": dataset_name or data.name,
        "split": split.name,
        "seed": seed,
        "params": rec.state_.hparams,
        "train_settings": rec.train_config_.to_dict(),
        "default_rating": rec.default_value_,
        "validation": evaluate_rating(rec, split.validation) if split.validation is not None and len(split.validation) else {},
        "test": evaluate_rating(rec, split.test),
        "train_seconds": round(rec.fit_seconds_, 3),
        "epochs": len(rec.history_.epochs),
        "best_epoch": rec.history_.best_epoch,
        "split_summary": split.summary(),
    }
    if out is not None:
        write_run(out, rec, result)
    return rec, result


def write_run(out: Path, rec, result: dict) -> None:
    from ..report import plot_history

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = rec.history_.rows()
    if rows:
        tmp = out / ".history.csv.tmp"
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(out / "history.csv")
        plot_history(rows, out / "curves.png", metric=rec.history_.metric,
                     title=f"{result['model']} on {result['dataset']}")
    rec.save(out / "model")
    write_json_atomic(out / "metrics.json", _clean(result))
    return out


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def load_and_split(dataset: str, data_path, split: str, seed: int):
    """-> (data, split); for a CTR dataset (a FeatureTable) the split is left to the CTR path
    and ``None`` is returned in its place."""
    """Load a dataset and make a named split; predefined splits (``u1``...) find their files
    next to the dataset even when it was resolved from the cache or ``$AUTOREC_DATA_DIR``."""
    from pathlib import Path

    from ..datasets import load, locate
    from ..datasets.registry import REGISTRY
    from ..splits import make_split

    data = load(dataset, data_path=data_path)
    if not hasattr(data, "csr"):  # a FeatureTable: rows are split by train_and_evaluate_ctr
        return data, None
    where = data_path
    if where is None:
        if dataset.lower() in REGISTRY:
            where = locate(dataset, None, download=False)
        elif Path(dataset).exists():
            where = Path(dataset)
    return data, make_split(data, split, seed=seed, data_path=where)


# Row splits of a CTR table by protocol name: (test fraction, validation fraction of the rest)
CTR_SPLITS = {"random-90-10": (0.1, 0.1), "random-80-10-10": (0.1, 1 / 9)}


def train_and_evaluate_ctr(table, split: str, model: str, settings: Mapping[str, Any] | None = None,
                           seed: int = 0, out: Path | None = None, dataset_name: str = ""):
    """The CTR counterpart of :func:`train_and_evaluate`: a seeded row split, the encoder fitted
    on the training rows only, early stopping on validation logloss, test evaluated once."""
    from ..ctr import CTRModel
    from ..splits import split_rows

    if split not in CTR_SPLITS:
        raise ConfigError(f"split {split!r} does not apply to CTR rows; use one of {sorted(CTR_SPLITS)}")
    test_frac, val_frac = CTR_SPLITS[split]
    tr, va, te = split_rows(len(table), test=test_frac, validation=val_frac, seed=seed)
    settings = dict(settings or {})
    options = {k: settings.pop(k) for k in ("min_count", "dense_transform") if k in settings}
    params, train, _ = split_settings(settings)
    train.setdefault("seed", seed)
    rec = CTRModel(model, params=params, train=train, **options)
    rec.fit(table, tr, va)
    result = {
        "model": model, "dataset": dataset_name or table.name, "split": split, "seed": seed,
        "task": "ctr", "params": rec.hparams_, "train_settings": rec.train_config_.to_dict(),
        "rows": {"train": len(tr), "validation": len(va), "test": len(te)},
        "validation": rec.evaluate(table, va), "test": rec.evaluate(table, te),
        "train_seconds": round(rec.fit_seconds_, 3), "epochs": len(rec.history_.epochs),
        "best_epoch": rec.history_.best_epoch,
    }
    if out is not None:
        write_run(out, rec, result)
    return rec, result
