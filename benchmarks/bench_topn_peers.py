"""Top-N: autorec's models beside the same models from Cornac and implicit, on identical splits
and one evaluation.

Protocol (issue 14): ratings >= 4 are the positives; per-user 80/20 random holdout
(`user-80-20`, seed 0) or leave-one-out (`loo`: each user's last rating) of all ratings;
training items (all of a user's training ratings) are excluded from the ranking; every item is
ranked; Recall@20 and NDCG@20 over test positives.  Every library's model is scored by
autorec's `ranking_metrics` on the same matrices, so only the models differ.

Models at their defaults, none tuned on these splits: autorec EASE lambda 500, ItemKNN 100
neighbours shrink 10, GF-CF k 256 alpha 0.3 (the paper's), Mult-VAE and Mult-DAE at the
paper's settings, iALS and BPR at the defaults of benchmarks/tune_topn_defaults.py (chosen
on ml-latest-small's inner validation carve and a sparse subsample of it: the ml-latest-small
rows here are therefore not untouched data for iALS and BPR; ML-100K is).  The epoch-trained
models stop early on a per-user 80/20 carve of the training part (seed 1) and are then refit on
the whole training part for their best epoch count, as `autorec search --refit-full` does.
Cornac: MostPop, ItemKNN (k 20, cosine), EASE (lamb 500, posB), BPR (k 10, 100 epochs),
VAECF (its Mult-VAE: k 10, one hidden layer of 20, beta 1, 100 epochs), its defaults.
implicit 0.7: AlternatingLeastSquares (100 factors, reg 0.01, alpha 1, 15 epochs) and
BayesianPersonalizedRanking (100 factors, lr 0.01, reg 0.01, 100 epochs), its defaults.
LensKit 2025.8: PopScorer, ItemKNNScorer (20 neighbours, implicit feedback), EASEScorer (its
default reg 1, and reg 500), ImplicitMFScorer (50 factors, weight 40, 10 epochs), FlexMF's BPR
and LightGCN presets (64 factors, 10 epochs), its defaults.  LensKit pins pandas < 3, so this
script runs in a bench environment of its own (docs/benchmarks.md, "Peers"):

    python -m venv .venv-bench
    .venv-bench/bin/pip install -c constraints.txt -c benchmarks/constraints-lenskit.txt -e '.[bench,lenskit]'

The search row: `autorec search` (the default ranking models, TPE, --refit-full) for
``--search-minutes`` on 2 cores, selecting on the same carve of the training part (user-80-20)
or on the split's own validation item (loo), refit on the training part, tested once.

    python benchmarks/bench_topn_peers.py [--datasets ml-100k,ml-latest-small] [--splits user-80-20,loo]
                                          [--search-minutes 4]
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



def split_fingerprint(split) -> str:
    """A hash of the split's three parts, so that runs in two environments can be shown to
    have scored the same rows."""
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for part in (split.train, split.validation, split.test):
        if part is not None:
            for a in (part.users, part.items, part.ratings):
                h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


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
                        ("Cornac EASE (lamb 500)", cornac.models.EASE(verbose=False, seed=0)),
                        ("Cornac BPR (k 10)", cornac.models.BPR(verbose=False, seed=0)),
                        ("Cornac VAECF (k 10, [20])", cornac.models.VAECF(verbose=False, seed=0))):
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


def implicit_rows(split, positive: float):
    """implicit's ALS and BPR at their defaults on the training positives (same index space)."""
    import implicit
    import scipy.sparse as sp
    from threadpoolctl import threadpool_limits

    tr = split.train
    keep = tr.ratings >= positive
    x = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (tr.users[keep], tr.items[keep])),
                      shape=(tr.n_users, tr.n_items))
    for name, model in (("implicit ALS (100 factors)", implicit.cpu.als.AlternatingLeastSquares(random_state=0)),
                        ("implicit BPR (100 factors)", implicit.cpu.bpr.BayesianPersonalizedRanking(random_state=0))):
        with threadpool_limits(1, "blas"):  # implicit's advice: its own threads, one BLAS thread
            t0 = time.perf_counter()
            model.fit(x, show_progress=False)
            seconds = time.perf_counter() - t0
        uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)

        def scores(users, uf=uf, itf=itf):
            return uf[users] @ itf.T

        yield name, scores, seconds


def lenskit_rows(split, positive: float):
    """LensKit 2025's PopScorer, ItemKNNScorer (implicit feedback), EASEScorer, ImplicitMFScorer
    and FlexMF's BPR and LightGCN presets at their defaults (EASE also at Steck's lambda 500, the
    value autorec's EASE uses), on the training positives in autorec's index space; each user
    scored through the scorer's own query call with the user's training history.  Items LensKit
    does not know (no training positive) score -inf, as for Cornac."""
    import inspect

    import pandas as pd
    from lenskit.als import ImplicitMFScorer
    from lenskit.basic import PopScorer
    from lenskit.data import ItemList, RecQuery, from_interactions_df
    from lenskit.flexmf import FlexMFImplicitScorer
    from lenskit.knn import EASEScorer, ItemKNNScorer
    from lenskit.training import TrainingOptions

    tr = split.train
    keep = tr.ratings >= positive
    frame = pd.DataFrame({"user_id": tr.users[keep].astype(np.int64), "item_id": tr.items[keep].astype(np.int64)})
    ds = from_interactions_df(frame.drop_duplicates())
    known_ids = np.asarray(ds.items.ids(), dtype=np.int64)
    candidates = ItemList(item_ids=known_ids)
    users_known = set(np.asarray(ds.users.ids(), dtype=np.int64).tolist())
    for name, scorer in (("LensKit Pop", PopScorer()),
                         ("LensKit ItemKNN (20 neighbours, implicit)", ItemKNNScorer(feedback="implicit")),
                         ("LensKit EASE (reg 1, its default)", EASEScorer()),
                         ("LensKit EASE (reg 500)", EASEScorer(regularization=500.0)),
                         ("LensKit ImplicitMF (50 factors)", ImplicitMFScorer()),
                         ("LensKit FlexMF BPR (64 factors)", FlexMFImplicitScorer(preset="bpr")),
                         ("LensKit FlexMF LightGCN (64, 3 layers)", FlexMFImplicitScorer(preset="lightgcn"))):
        t0 = time.perf_counter()
        scorer.train(ds, TrainingOptions(rng=0))
        seconds = time.perf_counter() - t0

        # PopScorer takes the items alone; every personal scorer takes the query too
        personal = "query" in inspect.signature(scorer.__call__).parameters

        def scores(users, scorer=scorer, personal=personal):
            out = np.full((len(users), tr.n_items), -np.inf)
            for r, u in enumerate(np.asarray(users, dtype=np.int64)):
                if not personal:
                    got = scorer(items=candidates)
                else:
                    history = (ds.user_row(int(u)) if int(u) in users_known
                               else ItemList(item_ids=np.array([], np.int64)))
                    got = scorer(query=RecQuery(user_id=int(u), user_items=history), items=candidates)
                s = np.asarray(got.scores(), dtype=np.float64)
                out[r, known_ids] = np.where(np.isfinite(s), s, -1e30)  # LensKit's "cannot score": last
            return out

        yield name, scores, seconds


def autorec_search(data, split, minutes: float, out: Path) -> dict:
    """The default ranking search on ``split``: its validation is the carve of the training
    part that the epoch-trained models stop on (or the split's own validation, loo)."""
    import shutil

    from autorec.problems import RankingProblem
    from autorec.search import SearchSettings, run_search
    from autorec.splits import Split

    if split.validation is None:
        inner = make_split(split.train, "user-80-20", seed=1)
        split = Split(train=inner.train, validation=inner.test, test=split.test, name=split.name, seed=split.seed)
    problem = RankingProblem(data, split, positive=4.0)
    shutil.rmtree(out, ignore_errors=True)
    settings = SearchSettings(models=problem.default_models(), time_budget=minutes * 60, n_trials=None,
                              refit_full=True, seed=0)
    t0 = time.perf_counter()
    result = run_search(problem, settings, out)
    result["wall_seconds"] = time.perf_counter() - t0
    return result


def autorec_epoch_model(model: str, split):
    """Early stopping on a carve of the training part, then a refit on all of it for the best
    epoch count (the search's --refit-full)."""
    inner = make_split(split.train, "user-80-20", seed=1)
    probe = TopNModel(model, positive=4).fit(inner.train, inner.test)
    epochs = probe.history_.best_epoch
    t0 = time.perf_counter()
    est = TopNModel(model, positive=4, train={"max_epochs": epochs, "patience": 0}).fit(split.train)
    return est, time.perf_counter() - t0, epochs


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("autorec", "numpy", "pandas", "scipy", "torch", "cornac", "implicit", "lenskit"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="ml-100k,ml-latest-small")
    ap.add_argument("--splits", default="user-80-20,loo")
    ap.add_argument("--search-minutes", type=float, default=4.0, help="0: no search row")
    ap.add_argument("--search-splits", default="user-80-20", help="the splits that get a search row")
    ap.add_argument("--libraries", default="autorec,Cornac,implicit,LensKit", help="the rows to run")
    ap.add_argument("--autorec-models", default="popularity,itemknn,ease,gf-cf,ials,bpr,mult-vae,mult-dae,lightgcn",
                    help="autorec's single-model rows ('none': the search row alone)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/topn/peers.json"))
    args = ap.parse_args()
    rows, fingerprints = [], {}
    libraries = args.libraries.split(",")
    for name in args.datasets.split(","):
        data = load(name)
        for protocol in args.splits.split(","):
            split = make_split(data, protocol, seed=0)
            print(f"{name}: {data!r}; {split.describe()}; fingerprint {split_fingerprint(split)}", flush=True)
            fingerprints[f"{name}/{protocol}"] = split_fingerprint(split)

            def row(label, recall, ndcg, seconds, users, **extra):
                rows.append({"dataset": name, "split": protocol, "model": label, "recall@20": recall,
                             "ndcg@20": ndcg, "train_seconds": round(seconds, 3), "users": users, **extra})
                print(json.dumps(rows[-1]), flush=True)

            autorec_rows = "autorec" in libraries
            singles = [] if args.autorec_models == "none" else args.autorec_models.split(",")
            for model in [m for m in ("popularity", "itemknn", "ease", "gf-cf") if m in singles] if autorec_rows else ():
                est = TopNModel(model, positive=4).fit(split.train)
                m = est.evaluate(split.test, k=(20,))
                row(f"autorec {model}", m["recall@20"], m["ndcg@20"], est.fit_seconds_, m["n_users"])
            for model in [m for m in ("ials", "bpr", "mult-vae", "mult-dae", "lightgcn") if m in singles] if autorec_rows else ():
                est, seconds, epochs = autorec_epoch_model(model, split)
                m = est.evaluate(split.test, k=(20,))
                row(f"autorec {model}", m["recall@20"], m["ndcg@20"], seconds, m["n_users"], epochs=epochs)
            if autorec_rows and args.search_minutes > 0 and protocol in args.search_splits.split(","):
                folder = Path("/tmp/bench_topn_search") / name / protocol
                res = autorec_search(data, split, args.search_minutes, folder)
                # the search's own metrics.json (validation, the ensemble's weights and checks), kept
                kept = args.out.parent / f"{args.out.stem}_search" / f"{name}_{protocol}.json"
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text((folder / "metrics.json").read_text())
                chosen = res.get("ensemble", {}).get("test") if "ensemble" in res else res["test"]
                row(f"autorec search ({args.search_minutes:g} min; chose "
                    f"{'the ensemble' if 'ensemble' in res else res['model']})", chosen["recall@20"],
                    chosen["ndcg@20"], res["wall_seconds"], chosen["n_users"], trials=res["n_trials"])
            for library, rows_of in (("Cornac", cornac_rows), ("implicit", implicit_rows), ("LensKit", lenskit_rows)):
                if library not in libraries:
                    continue
                try:
                    for label, scores, seconds in rows_of(split, 4.0):
                        m = ranking_metrics(scores, split.train, split.test, k=(20,), relevance_threshold=4.0)
                        row(label, m["recall@20"], m["ndcg@20"], seconds, m["n_users"])
                except ImportError as exc:
                    print(f"{library} not installed ({exc}); its rows are left out", flush=True)
    out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{cpu_model()}, {os.cpu_count()} cores",
           "protocol": "positives: rating >= 4; user-80-20 / loo seed 0; training items excluded; full ranking",
           "command": f"python benchmarks/bench_topn_peers.py --datasets {args.datasets} --splits {args.splits} "
                      f"--search-minutes {args.search_minutes:g} --search-splits {args.search_splits} "
                      f"--libraries {args.libraries} --autorec-models {args.autorec_models} --out {args.out}",
           "split_fingerprints": fingerprints, "versions": library_versions(), "rows": rows}
    write_json(args.out, out)


if __name__ == "__main__":
    main()
