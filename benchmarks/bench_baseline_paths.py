"""Why the ml-latest-small 10,000-rating sample's gap to Auto-Surprise was not chased: the
biases-only model fitted three ways, scored by 5-fold cross-validation on the sample's
non-test rows (train + validation; the test rows are never read).

* autorec's ``baseline``: the exact ridge solution (coordinate sweeps to convergence), at each
  point of a small grid of its two shrinkages, best epoch per fold;
* a damped sweep: each epoch moves every bias a fraction ``1 - (1 - step)^n`` of the way to its
  exact coordinate solution (``n`` its ratings), what ``n`` sequential SGD updates at rate
  ``step`` do to one bias, early-stopped per fold: the SGD path, vectorised;
* Surprise's ``BaselineOnly`` by SGD, at Auto-Surprise's winning settings on that sample
  (learning rate 0.0093, reg 0.00036, 20 epochs) and at Surprise's defaults.

    AUTOREC_DATA_DIR=../shared/data python benchmarks/bench_baseline_paths.py \\
        --out benchmarks/results/baseline_paths.json
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
from bench_vs_peers import problem_of  # noqa: E402

from autorec.families.baselines import solve_biases  # noqa: E402
from autorec.metrics import rmse  # noqa: E402


def ridge(tr, va, n_users, n_items, reg_user, reg_item, sweeps=50):
    u, i, r = tr
    mu = r.mean()
    bu = np.zeros(n_users)
    curve = []
    for _ in range(sweeps):
        bu, bi = solve_biases(u, i, r - mu, bu, n_items, reg_user, reg_item)
        curve.append(rmse(va[2], mu + bu[va[0]] + bi[va[1]]))
    return min(curve)


def damped(tr, va, n_users, n_items, step, reg_user, reg_item, epochs=300):
    u, i, r = tr
    mu = r.mean()
    res = r - mu
    nu, ni = np.bincount(u, minlength=n_users), np.bincount(i, minlength=n_items)
    au, ai = 1 - (1 - step) ** nu, 1 - (1 - step) ** ni
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    curve = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(epochs):
            bi = bi + ai * (np.nan_to_num(np.bincount(i, res - bu[u], n_items) / (reg_item + ni)) - bi)
            bu = bu + au * (np.nan_to_num(np.bincount(u, res - bi[i], n_users) / (reg_user + nu)) - bu)
            curve.append(rmse(va[2], mu + bu[va[0]] + bi[va[1]]))
    return min(curve)


def surprise_sgd(tr, va, scale, lr, reg, epochs):
    import pandas as pd
    from surprise import BaselineOnly, Dataset, Reader
    data = Dataset.load_from_df(pd.DataFrame({"u": tr[0], "i": tr[1], "r": tr[2]}), Reader(rating_scale=scale))
    algo = BaselineOnly(bsl_options={"method": "sgd", "learning_rate": lr, "reg": reg, "n_epochs": epochs},
                        verbose=False).fit(data.build_full_trainset())
    return rmse(va[2], [algo.predict(int(a), int(b)).est for a, b in zip(va[0], va[1])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="ml-latest-small@10000")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "baseline_paths.json")
    args = ap.parse_args()
    problem = problem_of(args.dataset)
    pool = problem.split.train.concat(problem.split.validation)  # never the test rows
    u, i = np.asarray(pool.users, dtype=np.int64), np.asarray(pool.items, dtype=np.int64)
    r = np.asarray(pool.ratings, dtype=np.float64)
    folds = np.array_split(np.random.default_rng(1).permutation(len(r)), 5)

    def cv(fit) -> float:
        scores = []
        for held in folds:
            mask = np.ones(len(r), bool)
            mask[held] = False
            scores.append(fit((u[mask], i[mask], r[mask]), (u[~mask], i[~mask], r[~mask])))
        return round(float(np.mean(scores)), 4)

    rows = []
    for reg_user in (1.0, 3.0, 10.0, 30.0):
        for reg_item in (1.0, 3.0, 10.0, 30.0):
            rows.append({"method": "ridge", "reg_user": reg_user, "reg_item": reg_item,
                         "cv_rmse": cv(lambda a, b: ridge(a, b, pool.n_users, pool.n_items, reg_user, reg_item))})
    for step in (0.1, 0.03, 0.01, 0.005):
        for reg_user, reg_item in ((0.0, 0.0), (1.0, 1.0), (3.0, 3.0)):
            rows.append({"method": "damped", "step": step, "reg_user": reg_user, "reg_item": reg_item,
                         "cv_rmse": cv(lambda a, b: damped(a, b, pool.n_users, pool.n_items, step, reg_user,
                                                           reg_item))})
    scale = problem.data.rating_scale
    for name, lr, reg in (("auto-surprise's settings", 0.009335521538071658, 0.0003597876980744922),
                          ("surprise defaults", 0.005, 0.02)):
        rows.append({"method": f"surprise sgd ({name})", "lr": lr, "reg": reg, "epochs": 20,
                     "cv_rmse": cv(lambda a, b: surprise_sgd(a, b, scale, lr, reg, 20))})
    for method in ("ridge", "damped"):
        best = min((x for x in rows if x["method"] == method), key=lambda x: x["cv_rmse"])
        print(f"{method:8s} best 5-fold RMSE {best['cv_rmse']:.4f}: {best}", flush=True)
    for x in rows:
        if x["method"].startswith("surprise"):
            print(f"{x['method']}: {x['cv_rmse']:.4f}", flush=True)
    write_json(args.out, {"benchmark": "baseline_paths", "dataset": args.dataset, "folds": 5,
                          "pool_rows": len(r), "machine": cpu_model(),
                          "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          "command": " ".join(sys.argv), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
