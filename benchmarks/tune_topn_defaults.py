"""How the factor top-N models' defaults were chosen (docs/topn.md, "Defaults"): a grid on data
that no reported figure is tested on.

Data: ml-latest-small with ratings >= 4 as positives, and a small sparse subsample of it (half
of the users drawn at random, then 40% of each one's ratings; seed 0).  On each, the benchmark
protocol's per-user 80/20 holdout (seed 0) is made and its test part set aside unread; the
training part is cut again per user 80/20 (seed 1), and every configuration is trained on the
inner training part and scored by NDCG@20 on the inner holdout (early stopping on it too).  A
configuration's score is its mean rank over the two datasets; the best mean rank becomes the
default.  MovieLens-100K and Gowalla, where figures are reported, are not used.

    python benchmarks/tune_topn_defaults.py [--models ials,bpr,bspm]

BSPM's grid: beta, sharpening time, solver, merge and combine, with k at its data-sized
default (the search tunes k).

Writes benchmarks/results/topn/tune_defaults_MODEL.json per model.  (A first iALS grid,
alpha0 0.001..0.1 x reg 1e-4..0.03, peaked at its upper reg edge: this grid is the one that
brackets the peak; then alpha0 became relative to the catalogue, ``unobserved``, after the
absolute optimum chosen here, alpha0 0.3, was four times too heavy on Gowalla's 41,000 items.)
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from autorec import TopNModel
from autorec.data import Interactions
from autorec.datasets import load
from autorec.splits import make_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402

GRIDS = {
    "ials": [{"dim": 64, "unobserved": a, "reg": r} for a, r in itertools.product(
        (3.0, 10.0, 30.0, 100.0, 300.0), (0.003, 0.01, 0.03, 0.1, 0.3))],
    # patience 20 throughout: BPR's validation NDCG peaks early (popularity), dips, and climbs for
    # a hundred epochs more (ml-latest-small's inner carve); patience 5 stopped every run at the
    # first peak, and the grid chose for that
    "bpr": [{"params": {"dim": d, "reg": r}, "train": {"lr": lr, "patience": 20}}
            for d, r, lr in itertools.product((64, 128, 256), (1e-5, 1e-4, 1e-3), (1e-3, 3e-3))],
    "bspm": [{"beta": b, "t_sharpen": t, "solver": s, "merge": m, "combine": c}
             for b, t, s, m, c in itertools.product((0.1, 0.2, 0.3, 0.5), (0.5, 1.2, 2.5), ("euler", "rk4"),
                                                    ("early", "late"), (False, True))],
}
TUNE_DATA = {"ials": ("ml-latest-small", "ml-latest-small-sparse"),
             "bpr": ("ml-latest-small", "ml-latest-small-sparse"),
             "bspm": ("ml-latest-small", "ml-latest-small-sparse")}


def subsample(data: Interactions, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    users = rng.permutation(data.n_users)[: data.n_users // 2]
    keep = np.isin(data.users, users) & (rng.random(len(data)) < 0.4)
    frame = pd.DataFrame({"user": data.user_ids[data.users[keep]], "item": data.item_ids[data.items[keep]],
                          "rating": data.ratings[keep]})
    return Interactions.from_frame(frame)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="ials,bpr")
    args = ap.parse_args()
    models = args.models.split(",")
    base = load("ml-latest-small")
    datasets = {"ml-latest-small": base, "ml-latest-small-sparse": subsample(base)}
    rows = []
    for dname, data in datasets.items():
        outer = make_split(data, "user-80-20", seed=0)  # its test part is never read here
        inner = make_split(outer.train, "user-80-20", seed=1)
        print(f"{dname}: {len(inner.train):,} inner-train ratings, {len(inner.test):,} inner-holdout", flush=True)
        for model in models:
            if dname not in TUNE_DATA[model]:
                continue
            for cfg in GRIDS[model]:
                params, train = (cfg["params"], cfg["train"]) if "params" in cfg else (cfg, {})
                t0 = time.perf_counter()
                m = TopNModel(model, params, positive=4, train=train).fit(inner.train, inner.test)
                ndcg = m.history_.best_value if m.history_.best_value is not None else \
                    m.evaluate(inner.test, k=(20,))["ndcg@20"]
                rows.append({"dataset": dname, "model": model, "params": params, "train": train,
                             "ndcg@20": ndcg, "best_epoch": m.history_.best_epoch,
                             "seconds": time.perf_counter() - t0})
                print(f"  {model} {params} {train}: ndcg@20 {ndcg:.4f} (epoch {m.history_.best_epoch})", flush=True)
    frame = pd.DataFrame(rows)
    frame["key"] = frame.apply(lambda r: repr((r["params"], r["train"])), axis=1)
    frame["rank"] = frame.groupby(["dataset", "model"])["ndcg@20"].rank(ascending=False)
    chosen = {}
    for model, part in frame.groupby("model"):
        mean_rank = part.groupby("key")["rank"].mean().sort_values()
        best = part[part["key"] == mean_rank.index[0]].iloc[0]
        chosen[model] = {"params": best["params"], "train": best["train"], "mean_rank": float(mean_rank.iloc[0]),
                         "ndcg@20": {r["dataset"]: r["ndcg@20"] for _, r in part[part["key"] == best["key"]].iterrows()}}
        print(f"chosen for {model}: {chosen[model]}")
    for model in chosen:
        out = Path(__file__).resolve().parent / "results" / "topn" / f"tune_defaults_{model}.json"
        part = frame[frame["model"] == model].drop(columns=["key"])
        write_json(out, {"command": f"python benchmarks/tune_topn_defaults.py --models {model}",
                         "machine": cpu_model(), "date": time.strftime("%Y-%m-%d"), "chosen": chosen[model],
                         "rows": part.to_dict(orient="records")})
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
