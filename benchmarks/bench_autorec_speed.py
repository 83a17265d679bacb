"""Seconds per training epoch of AutoRec's exact sparse path vs its dense reference path.

One run times both paths on the same synthetic data shaped like MovieLens-1M (6,040 users x
3,706 items, 1,000,209 ratings), I-AutoRec with k=500, the same batch size and optimizer.  An
epoch is every row once in shuffled mini-batches: batch building, forward, backward and an
optimizer step (Adam, fused kernel; the L2 penalty lambda/2 (||W||^2 + ||V||^2) enters as Adam's
coupled weight decay on the weight matrices, which is exactly its gradient).  One warm-up epoch
per path, then ``--epochs`` timed epochs per path, interleaved (sparse, dense, sparse, ...) so a
change in machine load hits both alike; the median is reported.

The ratings are synthetic (the ML-1M ratings file may not be redistributed and is not on this
machine): every user rates at least 20 items plus a log-normal share of the rest, each user's
items are drawn without replacement with Zipf-like popularity (p ~ 1/rank^0.5), ratings 1..5
come from user and item offsets plus noise, all from ``--seed``; the most-rated item, most active
user and median user come out close to ML-1M's (see ``synthesize``).  The sparse path's cost
depends on the number and spread of ratings, not on their values, so this reproduces ML-1M's
timing, not its accuracy.

    python benchmarks/bench_autorec_speed.py            # the full ML-1M-shaped run
    python benchmarks/bench_autorec_speed.py --quick    # small shapes, a smoke test
    python benchmarks/bench_autorec_speed.py --primitives   # also time the kernel alternatives
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from _machine import cpu_model
from _results import write_json

from autorec.models.autorec import AutoRec, AutoRecConfig, RowSource
from autorec.models.sparse_ops import SparsePattern, sddmm, spmm, spmm_t

ROOT = Path(__file__).resolve().parent
DEFAULT_OUT = ROOT / "results" / "autorec_speed.json"

DATA_DESCRIPTION = (
    "synthetic ratings shaped like MovieLens-1M: every user rates >= 20 items plus a log-normal "
    "(sigma=1.1) share of the rest; each user's items drawn without replacement with Zipf-like "
    "popularity p ~ 1/rank^0.5 (ranks shuffled over item ids); ratings 1..5 = round(3.6 + user "
    "offset + item offset + noise); seeded"
)


def synthesize(n_users: int, n_items: int, n_ratings: int, seed: int,
               item_exponent: float = 0.5, user_sigma: float = 1.1, min_per_user: int = 20) -> sp.csr_matrix:
    """Items x users CSR of ``n_ratings`` distinct, skewed (user, item) ratings.

    Each user rates ``min_per_user`` items plus a log-normal share of the rest (ML-1M: every
    user has >= 20 ratings); each user's items are drawn without replacement with probability
    ~ 1/rank**item_exponent (Gumbel top-k), ranks shuffled over item ids.  With the defaults on
    ML-1M's shape: most-rated item 3,587 ratings (ML-1M 3,428), most active user 2,848 (2,314),
    median user 99 (96).
    """
    if n_ratings > n_users * n_items:
        raise SystemExit(f"--ratings {n_ratings} exceeds users x items = {n_users * n_items}")
    if n_ratings < min_per_user * n_users:
        min_per_user = n_ratings // n_users
    rng = np.random.default_rng(seed)
    log_pop = np.log(rng.permutation(1.0 / np.arange(1, n_items + 1) ** item_exponent)).astype(np.float32)
    weight = rng.lognormal(0.0, user_sigma, n_users)
    counts = min_per_user + np.floor(weight / weight.sum() * (n_ratings - min_per_user * n_users)).astype(np.int64)
    counts = np.minimum(counts, n_items)
    by_weight = np.argsort(-weight)
    while counts.sum() < n_ratings:  # rounding remainder: one more rating for the most active users with room
        room = by_weight[counts[by_weight] < n_items][: n_ratings - counts.sum()]
        counts[room] += 1
    users, items = [], []
    for start in range(0, n_users, 512):
        block = np.arange(start, min(start + 512, n_users))
        keys = log_pop[None, :] + rng.gumbel(size=(len(block), n_items)).astype(np.float32)
        top = np.argsort(-keys, axis=1)
        for j, u in enumerate(block):
            items.append(top[j, :counts[u]])
            users.append(np.full(counts[u], u, dtype=np.int64))
    users_a, items_a = np.concatenate(users), np.concatenate(items).astype(np.int64)
    score = (3.6 + rng.normal(0, 0.4, n_users)[users_a] + rng.normal(0, 0.5, n_items)[items_a]
             + rng.normal(0, 0.8, n_ratings))
    ratings = np.clip(np.rint(score), 1, 5).astype(np.float32)
    m = sp.csr_matrix((ratings, (items_a, users_a)), shape=(n_items, n_users), dtype=np.float32)
    m.sort_indices()
    return m


def machine_info() -> dict:
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        # threading settings that change timings on a shared machine
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")},
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def make_optimizer(model: AutoRec, lam: float) -> torch.optim.Optimizer:
    weights = model.weight_matrices()
    ids = {id(w) for w in weights}
    others = [p for p in model.parameters() if id(p) not in ids]
    groups = [{"params": weights, "weight_decay": lam}, {"params": others, "weight_decay": 0.0}]
    # The fused kernel (CPU since torch 2.4) is one pass over the parameters; the default
    # per-tensor loop was 5x slower here and would dominate the sparse path's epoch.
    return torch.optim.Adam(groups, lr=1e-3, fused=True)


def run_epoch(model: AutoRec, opt: torch.optim.Optimizer, source: RowSource, batch_size: int,
              seed: int, dense: bool, lam_in_loss: float) -> tuple[float, float, float]:
    """One epoch; returns (wall seconds, process CPU seconds, MSE over the epoch's ratings)."""
    model.train()
    sse_total, count_total = 0.0, 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch in source.batches(batch_size, seed=seed):
        opt.zero_grad(set_to_none=True)
        sse, count = model.batch_loss(batch, dense=dense)
        loss = sse
        if lam_in_loss:
            loss = loss + lam_in_loss * model.regularization()
        loss.backward()
        opt.step()
        sse_total += float(sse.detach())  # a read-back per batch: on a GPU, also the sync point
        count_total += count
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - cpu_start, sse_total / max(count_total, 1)


# ------------------------------------------------------------------ kernel alternatives
def time_call(fn, repeats: int = 5) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def primitives(matrix: sp.csr_matrix, hidden: int, batch_size: int, seed: int) -> list[dict]:
    """Time the exact alternatives for each sparse product on one batch, scaled to an epoch,
    and check every alternative against the chosen kernel."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.permutation(matrix.shape[0])[:batch_size])
    sub = matrix[rows]
    n = matrix.shape[1]
    pat = SparsePattern.from_csr(sub.indptr, sub.indices, n)
    vals = torch.from_numpy(sub.data)
    gen = torch.Generator().manual_seed(seed)
    big = torch.randn(n, hidden, generator=gen) * 0.05
    small = torch.randn(len(rows), hidden, generator=gen)
    scale = matrix.nnz / max(sub.nnz, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        csr = torch.sparse_csr_tensor(pat.crow, pat.cols, vals, size=(len(rows), n))
        csr_t = torch.sparse_csr_tensor(pat.ccol, pat.csc_rows, vals[pat.csc_perm], size=(n, len(rows)))
    dense_x = torch.from_numpy(sub.toarray())

    def gather_dot() -> torch.Tensor:
        parts = [(small[pat.rows[i:i + 8192]] * big[pat.cols[i:i + 8192]]).sum(1)
                 for i in range(0, pat.nnz, 8192)]
        return torch.cat(parts)

    cases = {
        "encoder X@V (B x k out)": (lambda: spmm(pat, vals, big), {
            "torch.sparse.mm(CSR, V)": lambda: torch.sparse.mm(csr, big),
            "dense X@V": lambda: dense_x @ big,
        }, "F.embedding_bag(per_sample_weights) over CSR rows"),
        "X^T@G (n x k out: grad V, grad W)": (lambda: spmm_t(pat, vals, small), {
            "torch.sparse.mm(CSR.t(), G)": lambda: torch.sparse.mm(csr.t(), small),
            "torch.sparse.mm(CSR of X^T, G)": lambda: torch.sparse.mm(csr_t, small),
            "dense X^T@G": lambda: dense_x.t() @ small,
        }, "F.embedding_bag over the batch's CSC order"),
        "SDDMM z.W at observed entries": (lambda: sddmm(pat, small, big), {
            "gather-and-dot (chunks of 8192)": gather_dot,
            "dense z@W^T then gather": lambda: (small @ big.t())[pat.rows, pat.cols],
        }, "torch.sparse.sampled_addmm"),
    }
    out = []
    for name, (chosen, alts, chosen_name) in cases.items():
        ref = chosen()
        row = {"product": name, "chosen": chosen_name,
               "chosen_ms_per_epoch": round(time_call(chosen) * scale * 1e3, 2), "alternatives": {}}
        for alt_name, fn in alts.items():
            err = float((fn() - ref).abs().max())
            row["alternatives"][alt_name] = {
                "ms_per_epoch": round(time_call(fn) * scale * 1e3, 2), "max_abs_diff": err,
            }
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=6040)
    ap.add_argument("--items", type=int, default=3706)
    ap.add_argument("--ratings", type=int, default=1000209)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs per path (after one warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda: where both paths train (a device check is one command)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lam", type=float, default=1.0, help="L2 strength (Adam coupled weight decay)")
    ap.add_argument("--reg-in-loss", action="store_true",
                    help="add lam * model.regularization() to the loss instead of weight decay")
    ap.add_argument("--quick", action="store_true", help="small shapes and 1 timed epoch: a smoke test")
    ap.add_argument("--primitives", action="store_true", help="also time the kernel alternatives")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if args.quick:
        args.users, args.items, args.ratings, args.hidden, args.epochs = 600, 400, 24000, 64, 1
    if args.epochs < 1 or args.batch_size < 1:
        raise SystemExit("--epochs and --batch-size must be >= 1")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    matrix = synthesize(args.users, args.items, args.ratings, args.seed)
    synth_s = time.perf_counter() - t0
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available on this machine")
    source = RowSource(matrix, orientation="item", device=device)
    cfg = AutoRecConfig(hidden=(args.hidden,))
    models = {path: AutoRec(args.users, cfg, seed=args.seed).to(device) for path in ("sparse", "dense")}
    for m in models.values():
        m.init_output_bias(source.global_mean)
    lam_wd = 0.0 if args.reg_in_loss else args.lam
    lam_loss = args.lam if args.reg_in_loss else 0.0
    opts = {p: make_optimizer(m, lam_wd) for p, m in models.items()}
    load_before = load_average()

    times: dict[str, list[float]] = {"sparse": [], "dense": []}
    cpu: dict[str, list[float]] = {"sparse": [], "dense": []}
    mse: dict[str, list[float]] = {"sparse": [], "dense": []}
    for epoch in range(args.epochs + 1):  # epoch 0 is the warm-up
        for path in ("sparse", "dense"):
            secs, cpu_secs, err = run_epoch(models[path], opts[path], source, args.batch_size,
                                  seed=args.seed + epoch, dense=path == "dense", lam_in_loss=lam_loss)
            if epoch:
                times[path].append(secs)
                cpu[path].append(cpu_secs)
            mse[path].append(err)
            print(f"epoch {epoch}{' (warm-up)' if not epoch else ''} {path:6s} {secs:8.3f} s  train MSE {err:.4f}",
                  flush=True)
    load_after = load_average()
    med = {p: statistics.median(ts) for p, ts in times.items()}
    ratio = med["dense"] / med["sparse"]
    cpu_med = {p: statistics.median(ts) for p, ts in cpu.items()}
    # Same data, init, batches and optimizer: the two paths must train the same model
    # (up to float summation order), which the per-epoch MSEs show.
    drift = max(abs(a - b) for a, b in zip(mse["sparse"], mse["dense"]))

    result = {
        "benchmark": "autorec_speed",
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix() if argv is None else "benchmarks/bench_autorec_speed.py"]
                                        + (sys.argv[1:] if argv is None else list(argv))),
        "machine": machine_info(),
        "load_average_before_after": [load_before, load_after],
        "data": {
            "description": DATA_DESCRIPTION,
            "rows_items": args.items, "cols_users": args.users, "ratings": int(matrix.nnz),
            "density": matrix.nnz / (args.items * args.users),
            "max_ratings_per_item": int(np.diff(matrix.indptr).max()),
            "max_ratings_per_user": int(np.bincount(matrix.indices, minlength=args.users).max()),
            "median_ratings_per_user": float(np.median(np.bincount(matrix.indices, minlength=args.users))),
            "min_ratings_per_user": int(np.bincount(matrix.indices, minlength=args.users).min()),
            "synthesis_seconds": round(synth_s, 2),
        },
        "model": {"kind": "I-AutoRec", "hidden": args.hidden, "config": cfg.to_dict(),
                  "parameters": sum(p.numel() for p in models["sparse"].parameters())},
        "training": {
            "batch_size": args.batch_size, "optimizer": "Adam(lr=1e-3, fused=True)",
            "l2": ("lam * regularization() in the loss" if args.reg_in_loss
                   else "Adam coupled weight decay on weight matrices"),
            "lam": args.lam, "warmup_epochs": 1, "timed_epochs": args.epochs, "threads": args.threads,
            "device": str(device),
            "seed": args.seed,
        },
        "seconds_per_epoch": {
            "sparse": {"median": med["sparse"], "all": times["sparse"]},
            "dense": {"median": med["dense"], "all": times["dense"]},
        },
        "speedup_dense_over_sparse": ratio,
        # CPU seconds of this process (both threads): less sensitive to other jobs on a shared
        # machine than wall time, but it counts OpenMP spin-waiting too
        "cpu_seconds_per_epoch": {p: {"median": cpu_med[p], "all": cpu[p]} for p in cpu},
        "cpu_speedup_dense_over_sparse": cpu_med["dense"] / cpu_med["sparse"],
        "train_mse_per_epoch": mse,
        "max_train_mse_difference_between_paths": drift,
    }
    if args.primitives:  # a study of the CPU kernels: always on the CPU
        result["primitives"] = primitives(matrix, args.hidden, args.batch_size, args.seed)

    print()
    print(f"I-AutoRec k={args.hidden}, {args.items:,} items x {args.users:,} users, "
          f"{matrix.nnz:,} ratings, batch {args.batch_size}, {args.threads} threads, {device}, torch {torch.__version__}")
    print(f"{'path':8s} {'median s/epoch':>15s} {'CPU s/epoch':>12s}   all epochs (wall s)")
    for p in ("sparse", "dense"):
        print(f"{p:8s} {med[p]:15.3f} {cpu_med[p]:12.3f}   {', '.join(f'{t:.3f}' for t in times[p])}")
    print(f"speed-up (dense / sparse): {ratio:.1f}x   (max train-MSE difference between paths {drift:.2e})")
    print(f"load average before/after: {load_before} / {load_after}")
    if args.primitives:
        print("\nkernel alternatives (ms per epoch-equivalent):")
        for row in result["primitives"]:
            print(f"  {row['product']}: chosen {row['chosen']} {row['chosen_ms_per_epoch']:.1f}")
            for alt, v in row["alternatives"].items():
                print(f"      {alt:36s} {v['ms_per_epoch']:9.1f}  (max |diff| {v['max_abs_diff']:.1e})")
    if not args.quick or args.out != DEFAULT_OUT:
        write_json(args.out, result)
        print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
