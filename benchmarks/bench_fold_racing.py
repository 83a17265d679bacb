"""Racing cross-validated trials over their folds (``SearchSettings.fold_racing``): the default
search with and without it, at the same budget, on data no benchmark reports on.

The data are 10,000-rating samples of ml-latest-small, ``tune_defaults.tuning_sample`` (its
``sparse-10k`` variant, as ``bench_cv_refit.py`` draws them; seeds 1 and 2 by default), split random 90/10, so
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402
from bench_vs_peers import autorec_search  # noqa: E402
from tune_defaults import tuning_sample  # noqa: E402

from autorec.datasets import load  # noqa: E402
from autorec.problems import RatingProblem  # noqa: E402
from autorec.search import parse_duration  # noqa: E402
from autorec.splits import make_split  # noqa: E402


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
        sample = tuning_sample(data, seed)
        problem = RatingProblem(sample, make_split(sample, "random-90-10", seed=0))
        for racing in (False, True):
            work = args.work / f"sample{seed}_{'racing' if racing else 'all-folds'}"
            shutil.rmtree(work, ignore_errors=True)
            row = {"sample_seed": seed, "fold_racing": racing,
                   **autorec_search(problem, budget, 0, work, fold_racing=racing)["autorec"]}
            rows.append(row)
            print(f"  ({row['cv']['raced_out']} of {row['n_trials']} trials raced out)", flush=True)
            write_json(args.out, {"benchmark": "fold_racing", "budget": args.budget, "machine": cpu_model(),
                                  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                  "command": " ".join(sys.argv), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
