"""Under cross-validation, which model to return: the bag of the K fold models, or one model
refit on every non-test row for the folds' median best epoch?  Measured on data no benchmark
reports on: 10,000-rating samples of ml-latest-small drawn as ``tune_defaults.py`` draws its
``sparse-10k`` variant (seeds 0, 1, 2), split random 90/10; each sample's own test part scores
the two.  This is what chose ``SearchSettings.cv_refit``'s default.

    AUTOREC_DATA_DIR=../shared/data python benchmarks/bench_cv_refit.py --out benchmarks/results/cv_refit.json
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

from autorec.datasets import load  # noqa: E402
from autorec.problems import CrossValidated, RatingProblem  # noqa: E402
from autorec.splits import make_split  # noqa: E402

MODELS = (("baseline", {"reg_user": 7.0, "reg_item": 5.0}), ("biased-mf", {}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "cv_refit.json")
    args = ap.parse_args()
    data = load("ml-latest-small")
    rows = []
    for seed in map(int, args.seeds.split(",")):
        sample = tuning_sample(data, seed)
        base = RatingProblem(sample, make_split(sample, "random-90-10", seed=0))
        cv = CrossValidated(base, args.folds, seed=0)
        for model, params in MODELS:
            bag = cv.fit(model, params, {"progress": False})
            epochs = int(np.median([m.history_.best_epoch or len(m.history_.epochs) for m in bag.members]))
            refit = base.fit(model, params, {"progress": False, "max_epochs": epochs, "patience": 0}, full=True)
            row = {"sample_seed": seed, "model": model, "params": params, "epochs": epochs,
                   "oof_rmse": cv.evaluate(bag, "validation")["rmse"],
                   "bag_test_rmse": base.evaluate(bag, "test")["rmse"],
                   "refit_test_rmse": base.evaluate(refit, "test")["rmse"]}
            rows.append(row)
            print(f"sample {seed} {model:10s} out-of-fold {row['oof_rmse']:.4f}  test: bag {row['bag_test_rmse']:.4f}"
                  f"  refit {row['refit_test_rmse']:.4f} ({epochs} epochs)", flush=True)
    write_json(args.out, {"benchmark": "cv_refit", "folds": args.folds, "machine": cpu_model(),
                          "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          "command": " ".join(sys.argv), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
