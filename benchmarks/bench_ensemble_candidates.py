"""Which trials should a rating ensemble draw on?  Replays a finished search: its trials are
refit (fits are seeded, so each is its trial's model again), and each candidate rule's Caruana
ensemble is judged on validation ratings its weights were not chosen on.  The validation rows
are cut in two seeded halves; weights chosen on one half are scored on the other, both ways.
No test row is read.

A rule is ``top:N`` (the N best trials, the rule before 2026-12-03) or ``per-model:K:N`` (best
first, at most K trials of one model, N in all: ``search.results.ensemble_candidates``).

    AUTOREC_DATA_DIR=../shared/data python benchmarks/bench_ensemble_candidates.py \\
        --run /tmp/tune30/ml-latest-small_random-90-10_1/autorec --problem ml-latest-small:random-90-10:1 \\
        --out benchmarks/results/ensemble_candidates/ml-latest-small_random-90-10_1_30m.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402
from bench_vs_peers import problem_of  # noqa: E402

from autorec.search.ensemble import caruana_ensemble  # noqa: E402
from autorec.search.results import KeptModels, completed, ensemble_candidates, trained  # noqa: E402

RULES = "top:5,per-model:1:5,per-model:2:5,per-model:3:5,per-model:2:8,per-model:3:10"


def candidates(rule: str, ranked: list) -> list:
    kind, *numbers = rule.split(":")
    if kind == "top":
        return ranked[: int(numbers[0])]
    per_model, size = map(int, numbers)
    return ensemble_candidates(ranked, size, per_model)


def rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def judged(preds: np.ndarray, y: np.ndarray, halves: list[np.ndarray]) -> dict:
    """Weights on one half, scored on the other (both ways, averaged), against the best single
    trial (``preds[0]``) on the same rows; and the in-sample figure a search reports."""
    out = {"in_sample": float(caruana_ensemble(preds, y, metric="rmse", max_size=20).score),
           "best_single": rmse(preds[0], y), "held_out": [], "held_out_single": []}
    for fit, judge in ((0, 1), (1, 0)):
        a, b = halves[fit], halves[judge]
        w = np.asarray(caruana_ensemble(preds[:, a], y[a], metric="rmse", max_size=20).weights, dtype=np.float64)
        out["held_out"].append(rmse(w @ preds[:, b] / w.sum(), y[b]))
        out["held_out_single"].append(rmse(preds[0, b], y[b]))
    out["held_out_gain"] = float(np.mean(out["held_out"]) - np.mean(out["held_out_single"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a finished search folder (with study.db)")
    ap.add_argument("--problem", required=True, help="the search's data, as bench_vs_peers.py names it")
    ap.add_argument("--rules", default=RULES)
    ap.add_argument("--seed", type=int, default=0, help="seeds the validation halves")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    problem = problem_of(args.problem)
    storage = f"sqlite:///{args.run / 'study.db'}"
    name = optuna.get_all_study_names(storage)[0]
    study = optuna.load_study(study_name=name, storage=storage)
    ranked = [t for t in completed(study, problem) if t.user_attrs.get("duplicate_of") is None]
    rules = args.rules.split(",")
    picks = {rule: candidates(rule, ranked) for rule in rules}
    kept = KeptModels(args.run / "trials", 0, problem)
    preds: dict[int, np.ndarray] = {}
    for t in sorted({t.number: t for ts in picks.values() for t in ts}.values(), key=lambda t: t.number):
        _, val = trained(problem, t, kept)
        preds[t.number] = np.asarray(val, dtype=np.float64)
        again = rmse(preds[t.number], problem.target("validation"))
        print(f"trial {t.number:4d} {t.user_attrs['model']:18s} recorded {t.value:.4f} refit {again:.4f}", flush=True)
    y = np.asarray(problem.target("validation"), dtype=np.float64)
    order = np.random.default_rng(args.seed).permutation(len(y))
    halves = [np.sort(order[: len(y) // 2]), np.sort(order[len(y) // 2:])]
    rows = []
    for rule in rules:
        members = picks[rule]
        row = {"rule": rule, "members": [t.number for t in members],
               "models": [t.user_attrs["model"] for t in members],
               **judged(np.stack([preds[t.number] for t in members]), y, halves)}
        rows.append(row)
        print(f"{rule:16s} in-sample {row['in_sample']:.4f}  held-out {np.mean(row['held_out']):.4f} "
              f"(gain over the best single {row['held_out_gain']:+.4f})  {row['models']}", flush=True)
    write_json(args.out, {"benchmark": "ensemble_candidates", "run": str(args.run), "problem": args.problem,
                          "n_complete": len(ranked), "machine": cpu_model(),
                          "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          "command": " ".join(sys.argv), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
