"""Racing cross-validated trials over their folds (``SearchSettings.fold_racing``): the default
search with and without it, at the same budget, on data no benchmark reports on.

The data are 10,000-rating samples of ml-latest-small drawn as ``bench_cv_refit.py`` draws them
(``tune_defaults.py``'s ``sparse-10k`` variant; seeds 1 and 2 by default), split random 90/10, so
``--cv auto`` selects by 5-fold cross-validation.  Each search is the CLI's default (every rating
model, TPE, cost-aware model choice, Hyperband per model) with ``--time-budget``; the figure is
the test RMSE of what the search itself returns (its ensemble when it kept one), with the trial
counts.  This is what chose ``fold_racing``'s default.

    AUTOREC_DATA_DIR=../shared/data python benchmarks/bench_fold_racing.py --budget 3m \\
        --out benchmarks/results/fold_racing.json
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402

import autorec  # noqa: E402
from autorec import metrics  # noqa: E402
from autorec.datasets import load  # noqa: E402
from autorec.problems import RatingProblem  # noqa: E402
from autorec.search import SearchSettings, parse_duration, run_search  # noqa: E402
from autorec.splits import make_split  # noqa: E402


def sample_problem(data, seed: int) -> RatingProblem:
    rng = np.random.default_rng(seed)
    rng.choice(data.n_users, size=data.n_users // 2, replace=False)  # tune_defaults' users-50 draw first
    sample = data.take(np.sort(rng.choice(len(data), size=10_000, replace=False)))
    return RatingProblem(sample, make_split(sample, "random-90-10", seed=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--budget", default="3m")
    ap.add_argument("--work", type=Path, default=Path("/tmp/autorec-fold-racing"))
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "fold_racing.json")
    args = ap.parse_args()
    budget = parse_duration(args.budget)
    data = load("ml-latest-small")
    rows = []
    for seed in map(int, args.seeds.split(",")):
        problem = sample_problem(data, seed)
        for racing in (False, True):
            out = args.work / f"sample{seed}_{'racing' if racing else 'all-folds'}"
            shutil.rmtree(out, ignore_errors=True)
            settings = SearchSettings(models=problem.default_models(), n_trials=None, time_budget=budget,
                                      seed=0, fold_racing=racing)
            t0 = time.monotonic()
            res = run_search(problem, settings, out, started=t0)
            wall = time.monotonic() - t0
            picked = "ensemble" if "ensemble" in res else "best"
            model = autorec.load(out / "ensemble") if picked == "ensemble" else autorec.load(out)
            test = problem.split.test
            row = {"sample_seed": seed, "fold_racing": racing, "picked": picked,
                   "test_rmse": metrics.rmse(test.ratings, model.predict_index(test.users, test.items)),
                   "best_model": res["model"], "best_single_test_rmse": res["test"]["rmse"],
                   "validation_rmse": res["validation"]["rmse"], "n_trials": res["n_trials"],
                   "n_complete": res["n_complete"], "n_pruned": res["n_pruned"],
                   "raced_out": res["cv"]["raced_out"], "wall_seconds": round(wall, 1)}
            rows.append(row)
            print(f"sample {seed} racing={racing!s:5s} test {row['test_rmse']:.4f} ({picked}; best "
                  f"{row['best_model']} {row['best_single_test_rmse']:.4f}); {row['n_complete']} complete, "
                  f"{row['raced_out']} raced out of {row['n_trials']}; {wall:.0f} s", flush=True)
            write_json(args.out, {"benchmark": "fold_racing", "budget": args.budget, "machine": cpu_model(),
                                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                  "command": " ".join(sys.argv), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
