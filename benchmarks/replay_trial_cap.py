"""Replays the per-trial cap priced on a model's own trials (SearchSettings.trial_price_factor)
over the leaderboards of past single-worker searches: for each trial, the cap it would have had
(factor x the median seconds of its model's earlier finished trials, within the floor, by
default min_trial_share, and the 25% of max_trial_share; a model's first trial keeps the
probe's cap), the seconds a trial past it would have given back, and whether that trial was in
the result (best or ensemble).
A single worker runs its trials one after the other, so a lower number finished first.  Reads
only leaderboards; trains nothing.

    python benchmarks/replay_trial_cap.py 3 0.04 > benchmarks/results/trial_cap_replay_floor_0.04.txt

(factor 3, floor 0.04); the first search listed already ran under the priced cap with the 8%
floor, so for it the replay shows only what a lower floor would add.
"""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from autorec.search import SearchSettings
from autorec.search.driver import trial_share

FACTOR = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
# the floor of a later trial's cap (SearchSettings.min_trial_share); None: the settings' own
FLOOR = float(sys.argv[2]) if len(sys.argv) > 2 else None
ROOT = Path(__file__).resolve().parent / "results"
SEARCHES = {3600: ["vs_peers_1h_2026-12-07_cap/ml-100k_u1_0_search", "vs_peers_1h_2026-12-07/ml-100k_u1_0_search", "vs_peers_1h/ml-100k_u1_0_search",
                   "vs_peers_1h_diverse/ml-100k_random-90-10_0_search", "vs_peers_1h_diverse/ml-100k_u1_0_search",
                   "vs_peers_1h_refit/ml-100k_u1_0_search", "search_rating_ml-100k_1h"],
            900: ["vs_peers/ml-100k_random-90-10_1_search", "vs_peers/ml-100k_random-90-10_2_search",
                  "vs_peers/ml-100k_u1_0_search", "vs_peers/ml-latest-small_random-90-10_0_search",
                  "vs_peers_2026-12-04/ml-100k_u1_0_search", "vs_peers_2026-12-04/ml-latest-small_at_10000_search",
                  "vs_peers_refit/ml-100k_random-90-10_1_search", "vs_peers_refit/ml-100k_random-90-10_2_search",
                  "vs_peers_refit/ml-latest-small_random-90-10_0_search"]}

for budget, names in SEARCHES.items():
    for name in names:
        d = ROOT / name
        lb = pd.read_csv(d / "leaderboard.csv").sort_values("trial")
        settings = SearchSettings(models=sorted(set(lb.model)), time_budget=float(budget), trial_price_factor=FACTOR,
                                  **({} if FLOOR is None else {"min_trial_share": FLOOR}))
        m = json.loads((d / "metrics.json").read_text())
        members = set((m.get("ensemble") or {}).get("members", [])) | {m.get("best_trial")}
        finished, saved, cut = [], 0.0, []
        for _, r in lb.iterrows():
            if r.state not in ("COMPLETE", "PRUNED"):
                continue
            # a model's first trial keeps the probe's cap, which this replay leaves alone
            if any(t.user_attrs["model"] == r.model for t in finished):
                cap = trial_share(settings, r.model, finished, finished) * budget
                if r.seconds > cap:
                    saved += r.seconds - cap
                    cut.append((int(r.trial), r.model, round(r.seconds), round(cap), int(r.trial) in members))
            finished.append(SimpleNamespace(user_attrs={"model": r.model, "seconds": float(r.seconds)}))
        total = lb.seconds.sum()
        print(f"{('benchmarks/results/' + name)[-60:]:60s} trials {len(lb):3d} trial-seconds {total:6.0f} "
              f"saved {saved:5.0f} ({saved / total:.1%}) cut {cut}")
