"""Gowalla (the LightGCN split): the data path and the full-ranking evaluation, checked
against a published-by-measurement figure and timed.

Popularity (items by their number of interactions in all of train.txt) is ranked for every test
user over all 40,981 items, each user's train.txt items excluded, and scored by Recall, NDCG,
HR, MRR and Precision at 10, 20, 50 and 100.  Issue 14 reports popularity at Recall@20 0.0416 and
NDCG@20 0.0317 on this split (measured with implicit's tooling); matching it checks the loader,
the split and the metrics at once.  The evaluation is run at three batch sizes, which must give
identical results, and timed.

    python benchmarks/bench_gowalla_eval.py [--data-path ../shared/data/gowalla]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from autorec.datasets import load
from autorec.metrics.ranking import ranking_metrics
from autorec.splits import make_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402



def main() -> None:
    ap = argparse.ArgumentParser()
    default = Path(os.environ.get("AUTOREC_DATA_DIR", "../shared/data")) / "gowalla"
    ap.add_argument("--data-path", type=Path, default=default)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/topn/gowalla_eval.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    data = load("gowalla", data_path=args.data_path)
    split = make_split(data, "lightgcn", data_path=args.data_path)
    load_seconds = time.perf_counter() - t0
    train = split.train.concat(split.validation)  # all of train.txt: the refit's training data
    popularity = np.bincount(train.items, minlength=data.n_items).astype(np.float64)
    scores = lambda users: np.broadcast_to(popularity, (len(users), data.n_items))  # noqa: E731
    runs = []
    for batch in (512, 2048, None):
        t = time.perf_counter()
        m = ranking_metrics(scores, train, split.test, k=(10, 20, 50, 100), batch_size=batch)
        runs.append({"batch_size": batch or "default", "seconds": round(time.perf_counter() - t, 2), "metrics": m})
        print(json.dumps({"batch_size": batch, "seconds": runs[-1]["seconds"], "recall@20": m["recall@20"],
                          "ndcg@20": m["ndcg@20"]}), flush=True)
    identical = all(r["metrics"] == runs[0]["metrics"] for r in runs)
    out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{cpu_model()}, {os.cpu_count()} cores",
           "data": f"gowalla lightgcn split: train {len(split.train):,}, validation {len(split.validation):,}, "
                   f"test {len(split.test):,}; {data.n_users:,} users x {data.n_items:,} items",
           "load_and_split_seconds": round(load_seconds, 2), "model": "popularity over all of train.txt",
           "reference": {"recall@20": 0.0416, "ndcg@20": 0.0317, "source": "issue 14 (implicit's tooling)"},
           "identical_across_batch_sizes": identical, "runs": runs,
           "command": "python benchmarks/bench_gowalla_eval.py"}
    write_json(args.out, out)
    print(f"identical across batch sizes: {identical}; written {args.out}")


if __name__ == "__main__":
    main()
