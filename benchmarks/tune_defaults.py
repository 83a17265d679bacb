"""How the regularisation defaults are chosen: a validation sweep on data that no benchmark
reports on (the bundled MovieLens latest-small and subsamples of it), never on test rows.

For each model and each data variant, every value of the grid is trained with the model's
other defaults on the training part of a random 90/10 split (81/9/10) and scored on the
*validation* part; the test part is never scored.  Variants (all seeded):

* ``full``: ml-latest-small (100,836 ratings, 610 users, 9,724 items);
* ``users-50``: half of the users, with all their ratings;
* ``sparse-10k``: 10,000 ratings drawn uniformly at random (about 16 per user, most items
  with one or two): the small, sparse regime;
* ``items-10`` (only with ``--variants``): the items with at least 10 ratings, with all their
  ratings (81,116 ratings, 610 users, 2,269 items, 5.9% dense): the denser regime of curated
  datasets, which the three variants above, with 8 or fewer ratings per item, do not cover.

The script prints the best value per variant and writes every score to
``benchmarks/results/defaults_sweep.json``; docs/training.md says which default was taken.

    python benchmarks/tune_defaults.py --out benchmarks/results/defaults_sweep.json
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

from autorec import Recommender  # noqa: E402
from autorec.data import Interactions  # noqa: E402
from autorec.datasets import load  # noqa: E402
from autorec.splits import make_split  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

GRIDS = {
    # AutoRec's lambda on the paper's scale (SSE + lambda/2 ||W||^2)
    "i-autorec": ("l2", [300.0, 600.0, 1000.0, 2000.0]),
    # Koren's per-rating L2 on the factors and biases a rating uses
    "biased-mf": (("factors/l2", "rating_head/l2"), [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]),
    # the baseline predictor's shrinkage, in pseudo-ratings, on items and users (a full grid)
    "baseline": ((), [{"reg_item": a, "reg_user": b} for a in (1.0, 3.0, 10.0, 25.0, 50.0, 100.0)
                      for b in (1.0, 3.0, 10.0, 25.0, 50.0, 100.0)]),
    # Deep AutoRec's architecture: Kuchaiev & Ginsburg's SELU code with dropout 0.3 (the preset
    # before), without the dropout, and with the sigmoid code of I-AutoRec (the search's default)
    "deep-autorec": ((), [{"encoder_activation": act, "dropout": p} for act in ("selu", "sigmoid")
                          for p in (0.3, 0.0)]),
    # DeepFM on (user, item) fields: the deep part's dropout and Adam's weight decay (its
    # defaults had neither, and were the one rating model more than 0.01 from its tuned figure)
    "deepfm": ((), [{"deep/dropout": p, "train.weight_decay": wd} for p in (0.0, 0.3, 0.5)
                    for wd in (0.0, 1e-5, 1e-4)]),
    # then, at the weight decay that grid chose (1e-5), the learning rate and embedding width
    "deepfm-lr": ((), [{"train.lr": lr, "embedding/embedding_dim": d, "train.weight_decay": 1e-5}
                       for lr in (2e-3, 5e-3, 1e-2) for d in (16, 32)]),
    # the pair models that were more than 0.01 behind their tuned figures after the one-hour
    # ML-100K search (docs/benchmarks.md, section 7): each overfits in a few epochs at its
    # defaults (no regulariser at all), and its tuned trials used narrower embeddings, per-rating
    # L2 or a little weight decay
    "gmf": ((), [{"factors/embedding_dim": d, "factors/l2": l2, "rating_head/l2": l2}
                 for d in (16, 32) for l2 in (0.0, 0.02, 0.05, 0.1)]),
    "fm": ((), [{"embedding/embedding_dim": d, "train.weight_decay": wd}
                for d in (4, 8, 16) for wd in (0.0, 1e-5)]),
    "dlrm": ((), [{"embedding/embedding_dim": d, "train.weight_decay": wd}
                  for d in (4, 8, 16) for wd in (0.0, 1e-5)]),
    "dcn-v2": ((), [{"embedding/embedding_dim": d, "deep/dropout": p}
                    for d in (8, 16, 32) for p in (0.0, 0.3)]),
    # I-AutoRec's width with its lambda: the one-hour ML-100K searches' best I-AutoRec and
    # denoising trials were 100-200 units wide with lambda 40-125, against the paper's 500 and
    # the default 300 (docs/benchmarks.md, section 7); is that a property of the data's density?
    "i-autorec-shape": ((), [{"hidden": (h,), "l2": lam} for h in (100, 200, 500)
                             for lam in (30.0, 100.0, 300.0, 600.0)]),
    # the same, cut to what two widths need (the full grid's points take about a minute each
    # on the full variant)
    "i-autorec-width": ((), [{"hidden": (h,), "l2": lam} for h in (100, 500) for lam in (30.0, 100.0, 300.0)]),
    "denoising-autorec": ((), [{"hidden": (h,), "noise_level": q, "l2": lam} for h in (100, 500)
                               for q in (0.2, 0.45) for lam in (50.0, 300.0)]),
    # the width alone at the default noise and lambda (the grid above, cut to what one width
    # check needs)
    "denoising-width": ((), [{"hidden": (h,)} for h in (100, 500)]),
    # I-AutoRec's dropout on the code with its lambda, at its width of 100: the one-hour ML-100K
    # searches' best I-AutoRecs dropped 2-20% of the code with lambda 40-130, and dropping 45% of
    # the inputs moved denoising AutoRec's best lambda from 300 to 50 on every tuning variant
    "i-autorec-dropout": ((), [{"dropout": p, "l2": lam} for p in (0.0, 0.2) for lam in (50.0, 100.0, 300.0)]),
    # FM's learning rate with its width: its best one-hour ML-100K trial ran at lr 0.022 with
    # width 4, against the block models' lr 2e-3 and FM's width 16
    "fm-lr": ((), [{"train.lr": lr, "embedding/embedding_dim": d} for lr in (2e-3, 1e-2, 2e-2)
                   for d in (4, 16)]),
}
# grids whose name is not their model's
MODEL_OF = {"deepfm-lr": "deepfm", "i-autorec-shape": "i-autorec", "i-autorec-width": "i-autorec",
            "i-autorec-dropout": "i-autorec",
            "denoising-width": "denoising-autorec", "fm-lr": "fm"}


def _draws(data, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``users-50`` variant's users and the ``sparse-10k`` variant's rows, in that order from
    one seeded generator."""
    rng = np.random.default_rng(seed)
    users = rng.choice(data.n_users, size=data.n_users // 2, replace=False)
    return users, np.sort(rng.choice(len(data), size=10_000, replace=False))


def tuning_sample(data, seed: int):
    """The ``sparse-10k`` variant drawn with ``seed``: the other benchmarks' tuning samples."""
    return data.take(_draws(data, seed)[1])


VARIANTS = ("full", "users-50", "sparse-10k", "items-10")


def variants(seed: int, names=VARIANTS[:3]):
    data = load("ml-latest-small")
    users, rows = _draws(data, seed)
    counts = np.bincount(data.items, minlength=data.n_items)
    made = {"full": lambda: data,
            "users-50": lambda: data.take(np.flatnonzero(np.isin(data.users, users))),
            "sparse-10k": lambda: data.take(rows),
            # re-indexed, so that the dropped items leave no empty rows or embeddings behind
            "items-10": lambda: Interactions.from_frame(
                data.take(np.flatnonzero(counts[data.items] >= 10)).to_frame(),
                rating_scale=data.rating_scale, name=f"{data.name} items-10")}
    for name in names:
        yield name, made[name]()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(GRIDS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default=",".join(VARIANTS[:3]), help=f"any of {','.join(VARIANTS)}")
    ap.add_argument("--out", type=Path, default=RESULTS / "defaults_sweep.json")
    args = ap.parse_args()
    rows = []
    names = args.variants.split(",")
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    for name, data in variants(args.seed, names):
        split = make_split(data, "random-90-10", seed=args.seed)
        print(f"{name}: {len(data):,} ratings, {data.n_users} users, {data.n_items} items "
              f"(train {len(split.train):,}, validation {len(split.validation):,})", flush=True)
        for model in args.models.split(","):
            keys, grid = GRIDS[model]
            keys = (keys,) if isinstance(keys, str) else keys
            scores = []
            for value in grid:
                settings = dict(value) if isinstance(value, dict) else {k: value for k in keys}
                train = {"progress": False, "seed": args.seed}
                if "l2" in settings:
                    train["l2"] = settings.pop("l2")
                for key in [k for k in settings if k.startswith("train.")]:
                    train[key[len("train."):]] = settings.pop(key)
                t0 = time.perf_counter()
                rec = Recommender(MODEL_OF.get(model, model), params=settings, train=train).fit(split.train, split.validation)
                pred = rec.predict_index(split.validation.users, split.validation.items)
                rmse = float(np.sqrt(np.mean((pred - split.validation.ratings) ** 2)))
                scores.append(rmse)
                rows.append({"variant": name, "model": model, "value": value, "val_rmse": rmse,
                             "epochs": len(rec.history_.epochs), "best_epoch": rec.history_.best_epoch,
                             "n_ratings": len(data), "n_train": len(split.train),
                             "seconds": round(time.perf_counter() - t0, 1)})
                shown = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else f"{value:<8g}"
                print(f"  {model:10s} {shown} validation RMSE {rmse:.4f} ({len(rec.history_.epochs)} epochs)",
                      flush=True)
            print(f"  {model}: best {grid[int(np.argmin(scores))]}", flush=True)
    write_json(args.out, {"benchmark": "defaults_sweep", "seed": args.seed, "variants": names, "machine": cpu_model(),
                          "date": time.strftime("%Y-%m-%d"), "grids": {m: g for m, (_, g) in GRIDS.items()},
                          "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
