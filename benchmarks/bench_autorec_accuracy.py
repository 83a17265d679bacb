"""AutoRec accuracy on the paper's protocol, with Surprise's SVD on the identical splits.

Protocol (Sedhain et al. 2015): random 90/10 train/test split; 10% of the training part held out
as validation (early stopping and the lambda sweep use it, never the test part); default rating
3 for test users/items with no training rating; predictions clipped to the scale; repeated over
seeds, mean and 95% t-interval reported.  Predefined splits (``--split u1``) run once per seed
of the validation carve.

    python benchmarks/bench_autorec_accuracy.py --dataset ml-100k --data-path $AUTOREC_DATA_DIR/ml-100k
    python benchmarks/bench_autorec_accuracy.py --dataset ml-100k --data-path ... --split u1 --seeds 0
    python benchmarks/bench_autorec_accuracy.py --dataset ml-1m --data-path /path/to/ml-1m      # Table 1

Writes ``benchmarks/results/autorec_accuracy_<dataset>_<split>.json`` and prints a table.
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
from autorec.splits import make_split
from autorec.problems import RatingProblem
from autorec.runs import train_and_evaluate

RESULTS = Path(__file__).resolve().parent / "results"

# Per-model settings: the paper's I-AutoRec (k=500, sigmoid encoder, identity decoder) and the
# descendants; lambda is swept on validation.
MODELS = {
    "i-autorec": {"optimizer": "adam", "lr": 1e-3, "batch_size": 32},
    "u-autorec": {"optimizer": "adam", "lr": 1e-3, "batch_size": 32},
    "deep-autorec": {"optimizer": "adam", "lr": 1e-3, "batch_size": 32},
    # the zoo's BiasedMF (issue 4: at or below Surprise's SVD on the identical splits)
    "biased-mf": {"optimizer": "adam", "lr": 2e-3, "batch_size": 1024, "embedding_dim": 32},
}
# lambda grids (the model's own scale: the deep model has more weights to regularise;
# BiasedMF's is Koren's per-rating L2 on the factors and biases)
LAMBDAS = {"deep-autorec": [300.0, 500.0, 1000.0, 2000.0], "biased-mf": [0.02, 0.05, 0.1, 0.2]}
# which settings a lambda sets (AutoRec: the l2 of lambda/2 (|W|^2 + |V|^2))
LAMBDA_KEYS = {"biased-mf": ("factors/l2", "rating_head/l2")}
AUTOREC_MODELS = ("i-autorec", "u-autorec", "deep-autorec", "denoising-autorec", "hybrid-autorec")


def t_interval(values: list[float]) -> tuple[float, float]:
    from scipy import stats

    arr = np.asarray(values, dtype=np.float64)
    if len(arr) < 2:
        return float(arr.mean()), float("nan")
    half = stats.t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / np.sqrt(len(arr))
    return float(arr.mean()), float(half)


def surprise_svd(split, seed: int, rating_scale, **kw) -> float | None:
    try:
        import pandas as pd
        from surprise import SVD, Dataset, Reader
    except ImportError:
        return None
    # Surprise has no validation use: it trains on train + validation (the whole 90%), which is
    # at least as much data as AutoRec sees, so the comparison does not favour autorec.
    train = split.train if split.validation is None else split.train.concat(split.validation)
    df = pd.DataFrame({"u": train.users, "i": train.items, "r": train.ratings})
    ts = Dataset.load_from_df(df, Reader(rating_scale=rating_scale)).build_full_trainset()
    algo = SVD(random_state=seed, **kw)
    algo.fit(ts)
    pred = np.array([algo.predict(int(u), int(i)).est for u, i in zip(split.test.users, split.test.items)])
    return metrics.rmse(split.test.ratings, pred)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--data-path", default=None)
    ap.add_argument("--split", default="random-90-10")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--models", default="i-autorec,u-autorec,deep-autorec")
    ap.add_argument("--lambdas", default="100,200,300,500",
                    help="l2 (lambda) values swept on validation (deep-autorec: 300,500,1000,2000 unless given)")
    ap.add_argument("--no-refit", action="store_true",
                    help="skip the refit on train+validation (with the chosen lambda and epoch count)")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--max-epochs", type=int, default=500)
    ap.add_argument("--patience", type=int, default=25)
    ap.add_argument("--default-rating", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-surprise", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    data = load(args.dataset, data_path=args.data_path)
    seeds = [int(s) for s in args.seeds.split(",")]
    lambdas = [float(x) for x in args.lambdas.split(",")]
    custom_lambdas = "--lambdas" in (argv if argv is not None else sys.argv[1:])
    models = args.models.split(",")
    grids = {m: (lambdas if custom_lambdas else LAMBDAS.get(m, lambdas)) for m in models}
    print(f"{data!r}; split {args.split}; seeds {seeds}; lambda sweep {grids}", flush=True)

    runs: list[dict] = []
    for seed in seeds:
        split = make_split(data, args.split, seed=seed, data_path=args.data_path)
        print(f"seed {seed}: {split.describe()}", flush=True)
        for model in models:
            best = None
            for lam in grids[model]:
                settings = dict(MODELS.get(model, {}))
                settings.update({key: lam for key in LAMBDA_KEYS.get(model, ("l2",))})
                settings.update({"max_epochs": args.max_epochs, "patience": args.patience,
                                 "default_rating": args.default_rating, "progress": False})
                if model in AUTOREC_MODELS and model != "deep-autorec":
                    settings["hidden"] = [args.hidden]
                t0 = time.perf_counter()
                _, res = train_and_evaluate(RatingProblem(data, split), model, settings, seed=seed)
                res["wall_seconds"] = time.perf_counter() - t0
                print(f"  {model:14s} lambda={lam:<7g} val {res['validation']['rmse']:.4f} "
                      f"test {res['test']['rmse']:.4f}  ({res['epochs']} ep, {res['wall_seconds']:.0f}s)", flush=True)
                if best is None or res["validation"]["rmse"] < best["validation"]["rmse"]:
                    best = res
            lam_key = LAMBDA_KEYS.get(model, ("l2",))[0]
            chosen = best["params"][lam_key] if lam_key in best["params"] else best["train_settings"][lam_key]
            runs.append({"seed": seed, "model": model, "lambda": chosen,
                         "validation_rmse": best["validation"]["rmse"], "test_rmse": best["test"]["rmse"],
                         "test_mae": best["test"]["mae"], "epochs": best["epochs"],
                         "best_epoch": best["best_epoch"], "train_seconds": best["train_seconds"]})
            if not args.no_refit:
                # the tuned configuration (lambda, epoch count) refitted on all training data
                # (train + validation = the paper's 90%), evaluated once on test
                from autorec import Recommender

                cfg = dict(best["train_settings"])
                cfg.update({"max_epochs": int(best["best_epoch"]), "patience": 0})
                rec = Recommender(model, params=best["params"], train=cfg, default_rating=args.default_rating)
                rec.fit(split.train.concat(split.validation))
                pred = rec.predict_index(split.test.users, split.test.items)
                r = metrics.rmse(split.test.ratings, pred)
                runs.append({"seed": seed, "model": f"{model} (refit on 90%)", "lambda": chosen,
                             "test_rmse": r, "test_mae": metrics.mae(split.test.ratings, pred),
                             "epochs": cfg["max_epochs"]})
                print(f"  {model:14s} refit on train+validation ({cfg['max_epochs']} ep): test {r:.4f}", flush=True)
        if not args.no_surprise:
            for label, kw in (("surprise-svd", {}),
                              ("surprise-svd-k100", {"n_factors": 100, "n_epochs": 40, "lr_all": 0.007, "reg_all": 0.05})):
                r = surprise_svd(split, seed, data.rating_scale, **kw)
                if r is None:
                    print("  surprise not installed (pip install -c constraints.txt -e '.[bench]'): skipped")
                    break
                runs.append({"seed": seed, "model": label, "test_rmse": r})
                print(f"  {label:14s} test {r:.4f}", flush=True)

    summary = {}
    for model in dict.fromkeys(r["model"] for r in runs):
        vals = [r["test_rmse"] for r in runs if r["model"] == model]
        mean, half = t_interval(vals)
        summary[model] = {"test_rmse_mean": mean, "ci95": half, "n": len(vals), "values": vals}
    print(f"\n{'model':20s} test RMSE (mean ± 95% CI over {len(seeds)} split(s))")
    for model, s in summary.items():
        print(f"{model:20s} {s['test_rmse_mean']:.4f} ± {s['ci95']:.4f}")

    out = Path(args.out) if args.out else RESULTS / f"autorec_accuracy_{args.dataset}_{args.split}.json"
    result = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix()] + (argv if argv is not None else sys.argv[1:])),
        "machine": {"cpu": cpu_model(), "threads": args.threads, "python": platform.python_version(),
                    "torch": torch.__version__},
        "dataset": args.dataset, "split": args.split, "seeds": seeds, "lambdas": lambdas,
        "default_rating": args.default_rating, "summary": summary, "runs": runs,
    }
    write_json(out, result)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
