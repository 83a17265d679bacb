"""The AutoML search, measured: best model and ensemble on the test part, beside baselines
run on the identical split.

Rating (MovieLens-100K, the paper's random 90/10 protocol; Surprise SVD and SVD++ beside it):

    python benchmarks/bench_search.py rating --dataset ml-100k --data-path $AUTOREC_DATA_DIR/ml-100k \
        --tuner tpe --time-budget 1h --out runs/search-ml100k

The AutoRec AutoML platform's Table 2 protocol (8:1:1 split, 10 trials, test MSE), for anyone
with MovieLens-1M's ratings.dat (its published best: 0.7494):

    python benchmarks/bench_search.py rating --dataset ml-1m --data-path /path/to/ml-1m \
        --split random-80-10-10 --trials 10 --max-epochs 10 --out runs/table2

CTR (the Criteo / Avazu samples; the fixed DeepFM with default settings beside it):

    python benchmarks/bench_search.py ctr --dataset criteo-sample --data-path $AUTOREC_DATA_DIR/criteo-sample \
        --trials 20 --out runs/search-criteo

Re-running with the same ``--out`` resumes the study (finished trials are kept), so a search
run earlier with ``autorec search`` can be measured by pointing ``--out`` at its folder with a
``--trials`` no larger than what it ran.  Writes ``benchmarks/results/search_<task>_<dataset>.json``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _machine import cpu_model
from _results import write_json

from autorec import metrics
from autorec.datasets import load
from autorec.estimators import CTRModel
from autorec.families import search_models
from autorec.problems import CTRProblem, RatingProblem
from autorec.search import SearchSettings, parse_duration, run_search
from autorec.splits import make_split

RESULTS = Path(__file__).resolve().parent / "results"


def surprise_baselines(split, rating_scale, seed: int) -> dict:
    try:
        import pandas as pd
        from surprise import SVD, Dataset, Reader, SVDpp
    except ImportError:
        print("surprise not installed (pip install -c constraints.txt -e '.[bench]'): baselines skipped")
        return {}
    # Surprise does not use a validation part: it trains on train + validation (all 90%)
    train = split.train.concat(split.validation) if split.validation is not None else split.train
    ts = Dataset.load_from_df(pd.DataFrame({"u": train.users, "i": train.items, "r": train.ratings}),
                              Reader(rating_scale=rating_scale)).build_full_trainset()
    out = {}
    for name, algo in (("surprise-svd", SVD(random_state=seed)),
                       ("surprise-svd-k100", SVD(n_factors=100, n_epochs=40, lr_all=0.007, reg_all=0.05,
                                                 random_state=seed)),
                       ("surprise-svdpp", SVDpp(random_state=seed))):
        t0 = time.perf_counter()
        algo.fit(ts)
        pred = np.array([algo.predict(int(u), int(i)).est for u, i in zip(split.test.users, split.test.items)])
        out[name] = {"rmse": metrics.rmse(split.test.ratings, pred), "mae": metrics.mae(split.test.ratings, pred),
                     "seconds": round(time.perf_counter() - t0, 1)}
        print(f"{name:20s} test RMSE {out[name]['rmse']:.4f}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task", choices=["rating", "ctr"])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--data-path", default=None)
    ap.add_argument("--split", default=None, help="rating: a named split; ctr: random-90-10 or random-80-10-10")
    ap.add_argument("--tuner", default="tpe")
    ap.add_argument("--trials", type=int, default=None)
    ap.add_argument("--time-budget", default=None)
    ap.add_argument("--models", default=None)
    ap.add_argument("--max-epochs", type=int, default=200)
    ap.add_argument("--refit-full", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", required=True, help="the search's run folder (an existing one resumes its study)")
    ap.add_argument("--results", type=Path, default=None,
                    help="the results JSON (default: benchmarks/results/search_<task>_<dataset>.json, "
                         "the committed figures; give another path for a trial run)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.trials is None and args.time_budget is None:
        ap.error("give --trials and/or --time-budget")

    data = load(args.dataset, data_path=args.data_path)
    models = args.models.split(",") if args.models else search_models(args.task)
    settings = SearchSettings(models=models, tuner=args.tuner, n_trials=args.trials,
                              time_budget=parse_duration(args.time_budget), max_epochs=args.max_epochs,
                              seed=args.seed, refit_full=args.refit_full)
    baselines: dict = {}
    if args.task == "rating":
        split = make_split(data, args.split or "random-90-10", seed=args.seed, data_path=args.data_path)
        problem = RatingProblem(data, split)
        print(split.describe(), flush=True)
    else:
        problem = CTRProblem(data, args.split or "random-90-10", seed=args.seed)
    t0 = time.perf_counter()
    result = run_search(problem, settings, Path(args.out))
    wall = time.perf_counter() - t0
    print(f"search: {result['n_trials']} trials ({result['n_complete']} complete, {result['n_pruned']} pruned, "
          f"{result['n_failed']} failed); best trial {result['best_trial']} ({result['model']})", flush=True)

    if args.task == "rating":
        baselines = surprise_baselines(split, data.rating_scale, args.seed)
        print(f"{'autorec best':20s} test RMSE {result['test']['rmse']:.4f} (MSE {result['test']['rmse'] ** 2:.4f})")
    else:
        fixed = CTRModel("deepfm", train={"seed": args.seed, "progress": False, "max_epochs": args.max_epochs})
        fixed.fit(problem.table, problem.rows["train"], problem.rows["validation"])
        baselines["deepfm-fixed"] = fixed.evaluate(problem.table, problem.rows["test"])
        print(f"{'deepfm (fixed)':20s} test logloss {baselines['deepfm-fixed']['logloss']:.4f} "
              f"AUC {baselines['deepfm-fixed']['auc']:.4f}")
        print(f"{'autorec best':20s} test logloss {result['test']['logloss']:.4f} AUC {result['test']['auc']:.4f}")
    if "ensemble" in result:
        print(f"{'autorec ensemble':20s} test {result['ensemble']['test']}")

    out = args.results or RESULTS / f"search_{args.task}_{args.dataset}.json"
    payload = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix()] + (argv if argv is not None else sys.argv[1:])),
        "machine": {"cpu": cpu_model(), "threads": torch.get_num_threads(), "torch": torch.__version__,
                    "python": platform.python_version()},
        "wall_seconds": round(wall, 1),
        "search": result,
        "baselines": baselines,
    }
    write_json(out, payload)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
