"""How closely fold-in gives back a training user's predictions, and what it costs.

For each model, trained on ml-latest-small (random-90-10, seed 0) for a fixed number of epochs
with no validation part (so no early stopping), the first 20 training users are folded in from their own training
history; the mean absolute gap between the fold-in's and the trained model's predictions on
200 items is recorded, with the seconds per fold-in.  The gap is zero for a model whose
training converged (see docs/using-models.md); it measures how far training is from it.

    python benchmarks/bench_fold_in.py biased-mf:60 biased-mf:200 i-autorec:60 u-autorec:20 neumf:20
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import autorec
from autorec.datasets import load
from autorec.splits import make_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402



def main(specs: list[str], out: Path = Path("benchmarks/results/fold_in.json")) -> None:
    data = load("ml-latest-small")
    split = make_split(data, "random-90-10", seed=0)
    tr = split.train
    rows = []
    for spec in specs:
        model, epochs = spec.split(":")
        rec = autorec.Recommender(model, train={"max_epochs": int(epochs), "patience": int(epochs)})
        rec.fit(tr)  # no validation part: all epochs run, no early stop restores an earlier one
        gaps, seconds = [], []
        for u in np.unique(tr.users)[:20]:
            mask = tr.users == u
            hist = dict(zip(tr.item_ids[tr.items[mask]].tolist(), tr.ratings[mask].tolist()))
            items = tr.item_ids[:200]
            trained = rec.predict([tr.user_ids[u]] * len(items), items)
            t0 = time.perf_counter()
            folded = rec.predict(history=hist, items=items)
            seconds.append(time.perf_counter() - t0)
            gaps.append(float(np.abs(trained - folded).mean()))
        row = {"model": model, "epochs": int(epochs), "mean_abs_gap": round(float(np.mean(gaps)), 5),
               "worst_user_gap": round(float(np.max(gaps)), 5), "seconds_per_fold_in": round(float(np.mean(seconds)), 4)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    write_json(out, {"date": time.strftime("%Y-%m-%d"), "machine": f"{cpu_model()}, {os.cpu_count()} cores",
                     "data": "ml-latest-small random-90-10 seed 0, first 20 training users, 200 items",
                     "command": "python benchmarks/bench_fold_in.py " + " ".join(specs), "rows": rows})


if __name__ == "__main__":
    main(sys.argv[1:] or ["biased-mf:60", "biased-mf:200", "i-autorec:60", "u-autorec:20", "neumf:20"])
