"""Top-N: autorec's closed-form models beside Cornac's versions of them, on identical splits and
one evaluation.

Protocol (issue 14): ratings >= 4 are the positives; per-user 80/20 random holdout
(`user-80-20`, seed 0) of all ratings; training items (all of a user's training ratings) are
excluded from the ranking; every item is ranked; Recall@20 and NDCG@20 over test positives.
Both libraries' models are scored by autorec's `ranking_metrics` on the same matrices, so only
the models differ.  Models at their defaults (none tuned here): autorec EASE lambda 500,
ItemKNN 100 neighbours shrink 10; Cornac EASE lamb 500 (posB on, its default), ItemKNN k 20
cosine (its defaults), MostPop.

    python benchmarks/bench_topn_peers.py [--datasets ml-100k,ml-latest-small]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from autorec import TopNModel
from autorec.datasets import load
from autorec.metrics.ranking import ranking_metrics
from autorec.splits import make_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402



def cornac_rows(split, positive: float):
    """Cornac's MostPop, ItemKNN and EASE on the training positives; scores mapped back to
    autorec's item indices (items without a training positive score -inf: Cornac does not know them)."""
    import cornac
    from cornac.data import Dataset

    tr = split.train
    keep = tr.ratings >= positive
    triples = list(zip(tr.users[keep].astype(str), tr.items[keep].astype(str), np.ones(int(keep.sum()))))
    ds = Dataset.from_uir(triples, seed=0)
    n_items = tr.n_items
    item_map = np.full(n_items, -1)
    for raw, idx in ds.iid_map.items():
        item_map[int(raw)] = idx
    known = item_map >= 0
    for name, model in (("Cornac MostPop", cornac.models.MostPop()),
                        ("Cornac ItemKNN (k 20, cosine)", cornac.models.ItemKNN(verbose=False, seed=0)),
                        ("Cornac EASE (lamb 500)", cornac.models.EASE(verbose=False, seed=0))):
        t0 = time.perf_counter()
        model.fit(ds)
        seconds = time.perf_counter() - t0

        def scores(users, model=model):
            out = np.full((len(users), n_items), -np.inf)
            for r, u in enumerate(users):
                cu = ds.uid_map.get(str(int(u)))
                if cu is None:
                    s = model.score(0) if name.endswith("MostPop") else None
                    if s is None:
                        out[r, known] = 0.0
                        continue
                else:
                    s = model.score(cu)
                out[r, known] = np.asarray(s).ravel()[item_map[known]]
            return out

        yield name, scores, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="ml-100k,ml-latest-small")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/topn/peers.json"))
    args = ap.parse_args()
    rows = []
    for name in args.datasets.split(","):
        data = load(name)
        split = make_split(data, "user-80-20", seed=0)
        print(f"{name}: {data!r}; {split.describe()}", flush=True)
        for model, params in (("popularity", None), ("itemknn", None), ("ease", None)):
            est = TopNModel(model, params=params, positive=4).fit(split.train)
            m = est.evaluate(split.test, k=(20,))
            rows.append({"dataset": name, "model": f"autorec {model}", "recall@20": m["recall@20"],
                         "ndcg@20": m["ndcg@20"], "train_seconds": round(est.fit_seconds_, 3), "users": m["n_users"]})
            print(json.dumps(rows[-1]), flush=True)
        try:
            for label, scores, seconds in cornac_rows(split, 4.0):
                m = ranking_metrics(scores, split.train, split.test, k=(20,), relevance_threshold=4.0)
                rows.append({"dataset": name, "model": label, "recall@20": m["recall@20"], "ndcg@20": m["ndcg@20"],
                             "train_seconds": round(seconds, 3), "users": m["n_users"]})
                print(json.dumps(rows[-1]), flush=True)
        except ImportError as exc:
            print(f"Cornac not installed ({exc}); its rows are left out", flush=True)
    out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{cpu_model()}, {os.cpu_count()} cores",
           "protocol": "positives: rating >= 4; user-80-20 seed 0; training items excluded; full ranking",
           "command": f"python benchmarks/bench_topn_peers.py --datasets {args.datasets}", "rows": rows}
    write_json(args.out, out)


if __name__ == "__main__":
    main()
