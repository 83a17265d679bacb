"""Every rating model at its defaults against the same model tuned, on one split.

For each model of the default rating search space: ``autorec train`` at its defaults (train on
the training part, early stopping on the validation part, scored once on test), and, where a
search's leaderboard holds a complete trial of that model, the model's best configuration there
(chosen on validation by the search, trained again with the same protocol and scored on test).
That is the "tuned figure" a default is held to: it was picked without looking at test rows.

    AUTOREC_DATA_DIR=../shared/data python benchmarks/bench_defaults.py \\
        --leaderboard benchmarks/results/search_rating_ml-100k_1h/leaderboard.csv \\
        --out benchmarks/results/defaults_per_model_ml-100k.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402

from autorec import Recommender  # noqa: E402
from autorec.families import canonical_name, search_models  # noqa: E402
from autorec.problems import load_problem  # noqa: E402
from autorec.train.engine import TrainConfig  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def scores(rec: Recommender, part) -> dict[str, float]:
    pred = rec.predict_index(part.users, part.items)
    return {"rmse": float(np.sqrt(np.mean((pred - part.ratings) ** 2))),
            "mae": float(np.mean(np.abs(pred - part.ratings)))}


def best_configs(path: Path | None) -> dict[str, tuple[dict, dict, float, int]]:
    """Per model, the search's best complete trial: (model params, training settings,
    validation RMSE, trial number).  The leaderboard's params column holds both; training
    settings are the ``TrainConfig`` keys."""
    if path is None:
        return {}
    board = pd.read_csv(path)
    board = board[board["state"] == "COMPLETE"].sort_values("val_rmse")
    out = {}
    for _, row in board.iterrows():
        model = canonical_name(row["model"], "rating")
        if model in out:
            continue
        values = json.loads(row["params"])
        train = {k: v for k, v in values.items() if k in TrainConfig.keys()}
        params = {k: v for k, v in values.items() if k not in TrainConfig.keys()}
        out[model] = (params, train, float(row["val_rmse"]), int(row["trial"]))
    return out


def fit_and_score(model, params, train, split) -> dict:
    t0 = time.perf_counter()
    rec = Recommender(model, params=params, train={**train, "progress": False}).fit(split.train, split.validation)
    return {"validation": scores(rec, split.validation), "test": scores(rec, split.test),
            "epochs": len(rec.history_.epochs), "best_epoch": rec.history_.best_epoch,
            "seconds": round(time.perf_counter() - t0, 1), "hparams": rec.state_.hparams,
            "train": {k: v for k, v in vars(rec.train_config_).items() if k != "progress"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--split", default="random-90-10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default=None, help="comma-separated (default: the rating search space)")
    ap.add_argument("--leaderboard", type=Path, default=None,
                    help="a search's leaderboard.csv on the same split: each model's best trial is the tuned figure")
    ap.add_argument("--out", type=Path, default=RESULTS / "defaults_per_model_ml-100k.json")
    args = ap.parse_args()
    problem = load_problem(args.dataset, None, args.split, args.seed, task="rating")
    split = problem.split
    models = args.models.split(",") if args.models else search_models("rating")
    tuned = best_configs(args.leaderboard)
    rows = []
    for model in models:
        row = {"model": model, "defaults": fit_and_score(model, {}, {"seed": args.seed}, split)}
        if model in tuned:
            params, train, val, trial = tuned[model]
            row["tuned"] = {**fit_and_score(model, params, train, split), "search_trial": trial,
                            "search_val_rmse": val}
        rows.append(row)
        d = row["defaults"]
        line = (f"{model:14s} defaults: val {d['validation']['rmse']:.4f} test {d['test']['rmse']:.4f} "
                f"({d['epochs']} epochs, {d['seconds']:.0f}s)")
        if "tuned" in row:
            t = row["tuned"]
            line += (f" | tuned (trial {t['search_trial']}): val {t['validation']['rmse']:.4f} "
                     f"test {t['test']['rmse']:.4f}; defaults - tuned {d['test']['rmse'] - t['test']['rmse']:+.4f}")
        print(line, flush=True)
        write(args, rows)  # after every model: a cut-short run keeps what it measured
    print(f"wrote {args.out}")


def write(args, rows) -> None:
    write_json(args.out, {"benchmark": "defaults_per_model", "dataset": args.dataset, "split": args.split,
                          "seed": args.seed, "leaderboard": str(args.leaderboard) if args.leaderboard else None,
                          "machine": cpu_model(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          "command": " ".join(sys.argv), "rows": rows})


if __name__ == "__main__":
    main()
