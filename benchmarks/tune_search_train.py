"""The search's default training point for block models on ratings, checked on tuning data.

Each rating search starts every block model (BiasedMF's warm start included) at the default of
the search's training space (``search.space.TRAIN_SPACE["blocks"]``), not at ``autorec train``'s
(``families.pairs.BLOCK_TRAIN_DEFAULTS``).  This trains each block model at both points, and at
the points between, with the search's patience and epoch cap, on data no benchmark reports on
(ml-latest-small random 90/10 seed 1, and the 10,000-rating sample of ml-latest-small that
``tune_defaults.py`` draws), and scores the *validation* part only.

    python benchmarks/tune_search_train.py --out benchmarks/results/search_train_defaults.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402
from tune_defaults import tuning_sample  # noqa: E402

from autorec import Recommender  # noqa: E402
from autorec.datasets import load  # noqa: E402
from autorec.splits import make_split  # noqa: E402

POINTS = {
    "search default (lr 1e-3, weight decay 1e-5)": {"lr": 1e-3, "weight_decay": 1e-5},
    "lr 1e-3, weight decay 1e-7": {"lr": 1e-3, "weight_decay": 1e-7},
    "lr 2e-3, weight decay 1e-5": {"lr": 2e-3, "weight_decay": 1e-5},
    "lr 2e-3, weight decay 1e-7": {"lr": 2e-3, "weight_decay": 1e-7},
    "train default (lr 2e-3, no weight decay)": {"lr": 2e-3, "weight_decay": 0.0},
}
MODELS = ["biased-mf", "gmf", "mlp", "neumf", "fm", "deepfm", "dcn-v2", "dlrm"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    data = load("ml-latest-small")
    variants = {"ml-latest-small seed 1": make_split(data, "random-90-10", seed=1),
                "sparse-10k": make_split(tuning_sample(data, 0), "random-90-10", seed=0)}
    rows = []
    for variant, split in variants.items():
        for model in args.models.split(","):
            for label, point in POINTS.items():
                train = {"progress": False, "seed": 0, "batch_size": 1024, "optimizer": "adam",
                         "max_epochs": 200, "patience": 15, **point}
                t0 = time.perf_counter()
                rec = Recommender(model, train=train).fit(split.train, split.validation)
                pred = rec.predict_index(split.validation.users, split.validation.items)
                rmse = float(np.sqrt(np.mean((pred - split.validation.ratings) ** 2)))
                rows.append({"variant": variant, "model": model, "point": label, **point, "val_rmse": rmse,
                             "epochs": len(rec.history_.epochs), "best_epoch": rec.history_.best_epoch,
                             "seconds": round(time.perf_counter() - t0, 1)})
                print(f"{variant:24s} {model:10s} {label:44s} validation {rmse:.4f} "
                      f"({len(rec.history_.epochs)} epochs)", flush=True)
    write_json(args.out, {"benchmark": "search_train_defaults", "machine": cpu_model(),
                          "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          "command": " ".join(sys.argv), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
