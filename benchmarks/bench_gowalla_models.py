"""Gowalla (the LightGCN split): the iALS solve's speed, and each fast top-N model at its
defaults beside implicit's ALS and BPR, on the issue's protocol.

Part 1, the solve: one half-sweep of iALS (every item row given the users, then every user row
given the items) at d in {64, 128, 256, 512}, by the push-through path for rows shorter than d
(what `solve_rows` does) and, up to d = 256, by a batched d x d Cholesky of every row
(``short_rows=False``),
torch on 2 cores; also one full-ranking validation of iALS at each d.

Part 2, the models: trained on the rest of train.txt with valid.txt for early stopping where a
model has epochs, then refit on all of train.txt (the best epoch count), tested once on
test.txt; the closed forms are fit on all of train.txt directly.  Defaults only, none tuned on
Gowalla.  implicit 0.7's AlternatingLeastSquares and BayesianPersonalizedRanking at their
defaults, fit on all of train.txt (as the issue measured them).

    python benchmarks/bench_gowalla_models.py [--skip-solve] [--skip-models] [--only bspm,bspm-paper]

``bspm-paper`` is BSPM at the setting its authors published for Gowalla (chosen by them on
Gowalla's test split: a check that this implementation reproduces their 0.1920 / 0.1597, not
a default).  ``--only`` re-runs the named rows and keeps the file's others.

Writes benchmarks/results/topn/gowalla_models.json.  Needs $AUTOREC_DATA_DIR/gowalla.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from autorec import TopNModel
from autorec.families import factors
from autorec.metrics.ranking import ranking_metrics
from autorec.problems import load_problem

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402


def solve_timings(x: sp.csr_matrix, validation) -> list[dict]:
    rows = []
    values = factors.check_factor_params("ials", {})
    alpha0 = factors.ials_alpha0(values, x)
    xt = x.T.tocsr()
    for dim in (64, 128, 256, 512):
        g = torch.Generator().manual_seed(0)
        users = torch.randn(x.shape[0], dim, generator=g) * 0.1 / np.sqrt(dim)
        lam_i = factors.ials_lambdas(np.diff(xt.indptr), x.shape[0], alpha0, values["reg"], 1.0)
        lam_u = factors.ials_lambdas(np.diff(x.indptr), x.shape[1], alpha0, values["reg"], 1.0)
        row = {"dim": dim}
        # the every-row Cholesky at d = 512 would take about ten minutes: compared up to 256
        for label, short in (("push_through", True), ("cholesky_every_row", False))[: 2 if dim <= 256 else 1]:
            t0 = time.perf_counter()
            items = factors.solve_rows(xt, users, alpha0, lam_i, short_rows=short)
            solved = factors.solve_rows(x, items, alpha0, lam_u, short_rows=short)
            row[f"{label}_seconds"] = round(time.perf_counter() - t0, 2)
            if short:
                fast_items, fast_users = items, solved
            else:
                scale = float(fast_users.abs().max())
                row["max_difference_relative"] = float((fast_users - solved).abs().max()) / scale
        t0 = time.perf_counter()
        ranking_metrics(lambda u: (fast_users[torch.from_numpy(u)] @ fast_items.T).numpy(), x, validation, k=(20,))
        row["validation_seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        print(row, flush=True)
    return rows


def implicit_rows(x: sp.csr_matrix):
    import implicit
    from threadpoolctl import threadpool_limits

    for name, model in (("implicit ALS (defaults)", implicit.cpu.als.AlternatingLeastSquares(random_state=0)),
                        ("implicit BPR (defaults)", implicit.cpu.bpr.BayesianPersonalizedRanking(random_state=0))):
        with threadpool_limits(1, "blas"):
            t0 = time.perf_counter()
            model.fit(x.astype(np.float32), show_progress=False)
            seconds = time.perf_counter() - t0
        uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)
        yield name, (lambda users, uf=uf, itf=itf: uf[users] @ itf.T), seconds


#: the autorec rows: label -> (model, params); defaults unless the label says otherwise
AUTOREC_ROWS = {
    "itemknn": ("itemknn", None),
    "gf-cf": ("gf-cf", None),
    "bspm": ("bspm", None),
    "bspm-paper": ("bspm", {"k": 448, "beta": 0.2, "t_sharpen": 2.5, "sharpen_steps": 1, "solver": "rk4",
                            "merge": "early", "combine": False}),
    "ials": ("ials", None),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-solve", action="store_true")
    ap.add_argument("--skip-models", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated rows to re-run: " + ", ".join(AUTOREC_ROWS)
                    + ", implicit")
    args = ap.parse_args()
    torch.set_num_threads(2)
    problem = load_problem("gowalla", None, "lightgcn", 0)
    split = problem.split
    x = TopNModel("popularity")._positives(split.train)
    out = {"command": "python benchmarks/bench_gowalla_models.py" + "".join(
               f" --{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in vars(args).items() if v),
           "date": time.strftime("%Y-%m-%d"),
           "machine": f"{cpu_model()}, 2 cores"}
    if not args.skip_solve:
        out["solve"] = solve_timings(x, split.validation)
    if not args.skip_models:
        full = split.train_and_validation()
        only = [o for o in args.only.split(",") if o]
        unknown = sorted(set(only) - set(AUTOREC_ROWS) - {"implicit"})
        if unknown:
            raise SystemExit(f"--only: unknown rows {unknown}; known: {', '.join(AUTOREC_ROWS)}, implicit")
        rows = []
        for label, (name, params) in AUTOREC_ROWS.items():
            if only and label not in only:
                continue
            t0 = time.perf_counter()
            epochs = None
            if name == "ials":
                probe = TopNModel(name).fit(split.train, split.validation)
                epochs = probe.history_.best_epoch
                model = TopNModel(name, train={"max_epochs": epochs, "patience": 0}).fit(full)
            else:
                model = TopNModel(name, params=params).fit(full)
            fit = time.perf_counter() - t0
            t0 = time.perf_counter()
            m = model.evaluate(split.test, k=(20,))
            setting = "the paper's Gowalla setting" if label.endswith("-paper") else "defaults"
            rows.append({"model": f"autorec {name} ({setting})", "recall@20": m["recall@20"], "ndcg@20": m["ndcg@20"],
                         "fit_seconds": round(fit, 1), "eval_seconds": round(time.perf_counter() - t0, 1),
                         "epochs": epochs, "params": model.hparams_, "command": out["command"],
                         "date": out["date"]})
            print(rows[-1], flush=True)
        if not only or "implicit" in only:
            xf = TopNModel("popularity")._positives(full)
            for name, scores, seconds in implicit_rows(xf):
                m = ranking_metrics(scores, full, split.test, k=(20,))
                rows.append({"model": name, "recall@20": m["recall@20"], "ndcg@20": m["ndcg@20"],
                             "fit_seconds": round(seconds, 1), "command": out["command"], "date": out["date"]})
                print(rows[-1], flush=True)
        out["models"] = rows
    # a part not re-run this time is kept from the file (with its own command and date)
    path = Path(__file__).resolve().parent / "results" / "topn" / "gowalla_models.json"
    if path.exists():
        import json

        old = json.loads(path.read_text())
        if "models" in out and args.only:  # the rows not re-run are kept, in the file's order
            fresh = {r["model"]: r for r in out["models"]}
            kept = [fresh.pop(r["model"], r) for r in old.get("models", [])]
            out["models"] = kept + list(fresh.values())
        for part in ("solve", "models"):
            if part not in out and part in old:
                out[part] = old[part]
                out[f"{part}_from"] = {k: old.get(f"{part}_from", {}).get(k, old.get(k)) for k in ("command", "date")}
    write_json(path, out)


if __name__ == "__main__":
    main()
