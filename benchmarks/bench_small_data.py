"""Selection on small, sparse data: the search with plain holdout validation against the search
with K-fold cross-validation and bagging (``--cv``), and Surprise's SVD / SVD++, on identical splits.

Data: 10,000 ratings drawn uniformly at random (seeded) from a MovieLens set, which leaves about
10-16 ratings per user and most items with one or two, like a small product-review dataset.  Split
random 90/10 with 10% of the training part as validation (900 validation ratings).  The search
runs its default space and tuner for ``--budget`` per mode; the figure reported for autorec is
the test RMSE of what the search itself returns (its ensemble when it kept one, else its best
model).  Surprise trains on train + validation at its defaults.  Test rows are scored once, at
the end, and nothing here is tuned on them.

    python benchmarks/bench_small_data.py --budget 3m --out benchmarks/results/small_data.json
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
from bench_search import surprise_baselines  # noqa: E402

import autorec  # noqa: E402
from autorec import metrics  # noqa: E402
from autorec.datasets import load  # noqa: E402
from autorec.problems import RatingProblem  # noqa: E402
from autorec.search import SearchSettings, parse_duration, run_search  # noqa: E402
from autorec.splits import make_split  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def sparse_sample(name: str, n: int, seed: int):
    data = load(name)
    rng = np.random.default_rng(seed)
    return data.take(np.sort(rng.choice(len(data), size=n, replace=False)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="ml-100k,ml-latest-small")
    ap.add_argument("--ratings", type=int, default=10_000)
    ap.add_argument("--budget", default="3m")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS / "small_data.json")
    ap.add_argument("--work", type=Path, default=Path("/tmp/autorec-small-data"))
    args = ap.parse_args()
    rows = []
    for name in args.datasets.split(","):
        data = sparse_sample(name, args.ratings, args.seed)
        split = make_split(data, "random-90-10", seed=args.seed)
        print(f"{name} sample: {len(data):,} ratings; {split.describe()}", flush=True)
        entry = {"dataset": name, "ratings": len(data), "split": split.summary(), "results": {}}
        entry["results"].update(surprise_baselines(split, data.rating_scale, args.seed))
        for mode in ("none", "5"):
            out = args.work / f"{name}-cv-{mode}"
            s = SearchSettings(models=RatingProblem(data, split).default_models(), tuner="tpe", n_trials=None,
                               time_budget=parse_duration(args.budget), seed=args.seed, cv=mode)
            t0 = time.monotonic()
            res = run_search(RatingProblem(data, split), s, out, started=t0)
            wall = time.monotonic() - t0
            picked = "ensemble" if "ensemble" in res else "best"
            model = autorec.load(out / "ensemble") if picked == "ensemble" else autorec.load(out)
            test = metrics.rmse(split.test.ratings, model.predict_index(split.test.users, split.test.items))
            entry["results"][f"autorec-cv-{mode}"] = {
                "rmse": test, "picked": picked, "best_model": res["model"], "best_single_test_rmse": res["test"]["rmse"],
                "validation_rmse": res["validation"]["rmse"], "n_trials": res["n_trials"],
                "n_complete": res["n_complete"], "wall_seconds": round(wall, 1)}
            print(f"  autorec --cv {mode:4s}: test RMSE {test:.4f} ({picked}; best single {res['model']} "
                  f"{res['test']['rmse']:.4f}; {res['n_complete']} of {res['n_trials']} trials complete; "
                  f"{wall:.0f} s)", flush=True)
        rows.append(entry)
    write_json(args.out, {"benchmark": "small_data", "budget": args.budget, "seed": args.seed,
                          "machine": cpu_model(), "date": time.strftime("%Y-%m-%d"), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
