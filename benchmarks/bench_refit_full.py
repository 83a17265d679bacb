"""Does refitting on train + validation pay?  Replays a finished rating search that used the
plain validation part (no cross-validation): the best trial and the members of its ensemble are
taken as the search kept them (trained on the train part) and refit on train + validation for
their best epoch counts (``search.results.refit_full``, what ``--refit-full`` does), and both are
scored on test with the ensemble's own weights.  Two more ways are scored beside them: ``mix``,
each member's kept model and its refit averaged (no extra training: a bag of two models whose
training rows differ), and with ``--second-seed``, ``refit2``, two refits with different seeds
averaged (one more training per member).

This reads test rows: run it on tuning data to choose a default (docs/search.md says which), and
elsewhere only to measure.

    AUTOREC_DATA_DIR=../shared/data python benchmarks/bench_refit_full.py \\
        --run /tmp/tune15/ml-latest-small_random-90-10_1/autorec --problem ml-latest-small:random-90-10:1 \\
        --out benchmarks/results/refit_full/ml-latest-small_random-90-10_1_15m.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402
from bench_vs_peers import problem_of  # noqa: E402

from autorec.search.results import KeptModels, refit_full, trained  # noqa: E402


def rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a finished search folder (study.db, trials/, metrics.json)")
    ap.add_argument("--problem", required=True, help="the search's data, as bench_vs_peers.py names it")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--second-seed", action="store_true", help="also refit each member with seed + 1 (refit2)")
    args = ap.parse_args()
    problem = problem_of(args.problem)
    result = json.loads((args.run / "metrics.json").read_text())
    if "cv" in result:
        raise SystemExit(f"{args.run}: a cross-validated search refits already (cv_refit); nothing to replay")
    storage = f"sqlite:///{args.run / 'study.db'}"
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    trials = {t.number: t for t in study.trials}
    ens = result.get("ensemble") or result.get("ensemble_considered")
    if ens is None:
        numbers, weights = [result["best_trial"]], [1.0]
    else:
        numbers, weights = ens["members"], ens["weights"]
    kept = KeptModels(args.run / "trials", 0, problem)
    y = np.asarray(problem.target("test"), dtype=np.float64)
    rows = []
    for number, weight in zip(numbers, weights):
        if weight <= 0 and number != result["best_trial"]:
            continue
        t = trials[number]
        est, _ = trained(problem, t, kept)
        t0 = time.perf_counter()
        full = refit_full(problem, t)
        seconds = time.perf_counter() - t0
        preds = {"kept": problem.predict(est, "test"), "refit": problem.predict(full, "test")}
        preds["mix"] = (preds["kept"] + preds["refit"]) / 2
        if args.second_seed:
            preds["refit2"] = (preds["refit"] + problem.predict(refit_full(problem, t, 1), "test")) / 2
        row = {"trial": number, "model": t.user_attrs["model"], "weight": float(weight),
               "best_epoch": t.user_attrs.get("best_epoch"), "refit_seconds": round(seconds, 2),
               **{f"test_{k}": rmse(v, y) for k, v in preds.items()}, **{f"_{k}": v for k, v in preds.items()}}
        rows.append(row)
        print(f"trial {number:4d} {row['model']:18s} w={weight:.0f} "
              + " ".join(f"{k} {row['test_' + k]:.4f}" for k in preds) + f" ({seconds:.0f} s)", flush=True)
    out = {"benchmark": "refit_full", "run": str(args.run), "problem": args.problem,
           "machine": cpu_model(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "command": " ".join(sys.argv)}
    best = next(r for r in rows if r["trial"] == result["best_trial"])
    kinds = [k[5:] for k in best if k.startswith("test_")]
    out["best_single"] = {"trial": best["trial"], "model": best["model"],
                          **{k: best[f"test_{k}"] for k in kinds}}
    weighted = [r for r in rows if r["weight"] > 0]
    if len(weighted) > 1:
        w = np.array([r["weight"] for r in weighted])
        out["ensemble"] = {k: rmse(sum(wi * r[f"_{k}"] for wi, r in zip(w, weighted)) / w.sum(), y)
                           for k in kinds}
    out["members"] = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    print(json.dumps({k: out[k] for k in ("best_single", "ensemble") if k in out}, indent=1))
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
