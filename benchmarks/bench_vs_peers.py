"""The default ``autorec search`` against classic libraries and an AutoML peer, on identical splits.

For each dataset: Surprise's SVD and SVD++ at their defaults; SVD tuned by Surprise's own
``GridSearchCV`` (3-fold, on the training part only); Auto-Surprise (the AutoML peer: all of
Surprise's algorithms, hyperopt TPE, 3-fold CV) with the same wall-clock budget as autorec; and
the default ``autorec search`` (every rating model, TPE, cost-aware model choice, Hyperband
per model, cross-validation when the validation part is small) with that budget.  The peers
train on train + validation (they do their own internal validation); autorec gets the same rows
as train and validation.  Test rows are scored once, at the end, by what each one returns; the
figure for autorec is what the search itself picks on validation (its ensemble when it kept
one, else its best model).  Nothing here is tuned on test rows.

Datasets: ``NAME:SPLIT:SEED`` (``ml-100k:random-90-10:0``, ``ml-100k:u1:0``); ``NAME@N`` is a
small, sparse sample: N ratings drawn uniformly at random (seed 0) from NAME, which leaves about
10 ratings per user and most items with one or two, then split random 90/10.

Auto-Surprise 0.1.9 pins old versions of everything; it runs here when installed beside the
project without its pins (see docs/benchmarks.md):

    pip install --target /tmp/asenv --no-deps auto-surprise==0.1.9 hyperopt==0.2.7 future py4j six "setuptools<70"
    PYTHONPATH=/tmp/asenv python benchmarks/bench_vs_peers.py --budget 15m \\
        --datasets ml-100k@10000,ml-100k:random-90-10:0
"""

from __future__ import annotations

import argparse
import os
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
from autorec.problems import RatingProblem, load_problem  # noqa: E402
from autorec.search import SearchSettings, parse_duration, run_search  # noqa: E402
from autorec.splits import make_split  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "vs_peers"
GRID = {"n_factors": [50, 100], "n_epochs": [20, 40], "lr_all": [0.005, 0.01], "reg_all": [0.02, 0.05, 0.1]}


def problem_of(spec: str) -> RatingProblem:
    if "@" in spec:
        name, n = spec.split("@")
        data = load(name)
        rng = np.random.default_rng(0)
        sample = data.take(np.sort(rng.choice(len(data), size=int(n), replace=False)))
        return RatingProblem(sample, make_split(sample, "random-90-10", seed=0))
    name, split, seed = (spec.split(":") + ["random-90-10", "0"])[:3] if ":" in spec else (spec, "random-90-10", "0")
    return load_problem(name, None, split, int(seed), task="rating")


def _trainset(split, scale):
    import pandas as pd
    from surprise import Dataset, Reader
    train = split.train.concat(split.validation) if split.validation is not None else split.train
    return Dataset.load_from_df(pd.DataFrame({"u": train.users, "i": train.items, "r": train.ratings}),
                                Reader(rating_scale=scale))


def _score(algo, split) -> dict:
    pred = np.array([algo.predict(int(u), int(i)).est for u, i in zip(split.test.users, split.test.items)])
    return {"rmse": metrics.rmse(split.test.ratings, pred), "mae": metrics.mae(split.test.ratings, pred)}


def surprise_grid(split, scale, seed: int) -> dict:
    from surprise import SVD
    from surprise.model_selection import GridSearchCV
    t0 = time.perf_counter()
    gs = GridSearchCV(SVD, {**GRID, "random_state": [seed]}, measures=["rmse"], cv=3, n_jobs=2, refit=True)
    gs.fit(_trainset(split, scale))
    out = {**_score(gs, split), "params": {k: v for k, v in gs.best_params["rmse"].items() if k != "random_state"},
           "cv_rmse": float(gs.best_score["rmse"]), "seconds": round(time.perf_counter() - t0, 1)}
    print(f"surprise-svd-gridsearch test RMSE {out['rmse']:.4f} ({out['params']})", flush=True)
    return {"surprise-svd-gridsearch": out}


def auto_surprise(split, scale, seed: int, budget: float, work: Path) -> dict:
    try:
        from auto_surprise.engine import Engine
    except ImportError as e:
        print(f"auto-surprise not importable ({e}): skipped (see the module docstring)", flush=True)
        return {"auto-surprise": {"skipped": f"not importable: {e}"}}
    import logging
    logging.getLogger("auto_surprise").setLevel(logging.CRITICAL)
    t0 = time.monotonic()
    data = _trainset(split, scale)
    # Auto-Surprise writes per-algorithm log folders under the current directory: keep them in
    # the work folder, never in the checkout
    (work / "auto-surprise").mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    os.chdir(work / "auto-surprise")
    try:
        engine = Engine(verbose=False, random_state=np.random.default_rng(seed))
        algo_name, params, cv_score, _tasks = engine.train(data=data, target_metric="test_rmse",
                                                            cpu_time_limit=int(budget), max_evals=10**6)
    finally:
        os.chdir(here)
    algo = engine.build_model(algo_name, params)
    algo.fit(data.build_full_trainset())
    out = {**_score(algo, split), "algorithm": algo_name, "params": params, "cv_rmse": cv_score,
           "wall_seconds": round(time.monotonic() - t0, 1)}
    print(f"auto-surprise ({algo_name}) test RMSE {out['rmse']:.4f}; {out['wall_seconds']:.0f} s", flush=True)
    return {"auto-surprise": out}


def autorec_search(problem: RatingProblem, budget: float, seed: int, work: Path, **options) -> dict:
    """The default search (``options``: other `SearchSettings`) in ``work/autorec``, scored on test
    by what it returns."""
    out = work / "autorec"
    settings = SearchSettings(models=problem.default_models(), n_trials=None, time_budget=budget, seed=seed,
                              **options)
    t0 = time.monotonic()
    res = run_search(problem, settings, out, started=t0)
    wall = time.monotonic() - t0
    picked = "ensemble" if "ensemble" in res else "best"
    model = autorec.load(out / "ensemble") if picked == "ensemble" else autorec.load(out)
    split = problem.split
    test = model.predict_index(split.test.users, split.test.items)
    row = {"rmse": metrics.rmse(split.test.ratings, test), "mae": metrics.mae(split.test.ratings, test),
           "picked": picked, "best_model": res["model"], "best_single_test_rmse": res["test"]["rmse"],
           "validation_rmse": res["validation"]["rmse"], "cv": res.get("cv"), "n_trials": res["n_trials"],
           "n_complete": res["n_complete"], "n_pruned": res["n_pruned"], "wall_seconds": round(wall, 1)}
    print(f"autorec ({picked}; best single {res['model']} {res['test']['rmse']:.4f}) test RMSE {row['rmse']:.4f}; "
          f"{res['n_complete']} of {res['n_trials']} trials complete; {wall:.0f} s", flush=True)
    return {"autorec": row}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="ml-100k@10000,ml-latest-small@10000,ml-100k:random-90-10:0,"
                                          "ml-100k:random-90-10:1,ml-100k:random-90-10:2,ml-100k:u1:0,"
                                          "ml-latest-small:random-90-10:0")
    ap.add_argument("--budget", default="15m")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="surprise,grid,auto-surprise,autorec")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--work", type=Path, default=Path("/tmp/autorec-vs-peers"))
    args = ap.parse_args()
    budget = parse_duration(args.budget)
    only = set(args.only.split(","))
    for spec in args.datasets.split(","):
        problem = problem_of(spec)
        split, scale = problem.split, problem.data.rating_scale
        print(f"== {spec}: {problem.describe()}", flush=True)
        entry = {"dataset": spec, "ratings": len(problem.data), "users": problem.data.n_users,
                 "items": problem.data.n_items, "split": split.summary(), "budget": args.budget,
                 "machine": cpu_model(), "date": time.strftime("%Y-%m-%d %H:%M"), "results": {}}
        work = args.work / spec.replace(":", "_").replace("@", "_at_")
        if "surprise" in only:
            entry["results"].update(surprise_baselines(split, scale, args.seed))
        if "grid" in only:
            entry["results"].update(surprise_grid(split, scale, args.seed))
        if "auto-surprise" in only:
            entry["results"].update(auto_surprise(split, scale, args.seed, budget, work))
        if "autorec" in only:
            if (work / "autorec").exists():
                import shutil
                shutil.rmtree(work / "autorec")  # a fresh study each run: the budget is the point
            entry["results"].update(autorec_search(problem, budget, args.seed, work))
        stamp = time.strftime("%Y-%m-%d %H:%M")
        for row in entry["results"].values():
            row.setdefault("date", stamp)
        path = args.results / f"{spec.replace(':', '_').replace('@', '_at_')}.json"
        if path.exists():  # --only reruns some entries: keep the others' results (each row has its date)
            import json
            old = json.loads(path.read_text()).get("results", {})
            entry["results"] = {**old, **entry["results"]}
        results = entry["results"]
        if "autorec" in results:
            peers = {k: v["rmse"] for k, v in results.items() if k != "autorec" and "rmse" in v}
            entry["autorec_margin_over_best_peer"] = (min(peers.values()) - results["autorec"]["rmse"]
                                                      if peers else None)
        write_json(path, entry)


if __name__ == "__main__":
    main()
