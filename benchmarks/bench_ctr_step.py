"""Where a CTR training step's time goes, in fp32 and in bf16 mixed precision.

Run (from the repository root)::

    AUTOREC_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_ctr_step.py

Two measurements, each at every ``--threads`` and ``--precision``:

* **matrix products alone**: the MLP's forward products of the model (``batch x in`` by
  ``in x out`` for each layer; the backward products have the same sizes), timed with
  ``torch.nn.functional.linear`` on random inputs in float32 and in bfloat16, as multiply-adds
  per second.  This is the arithmetic rate a precision gives this CPU.
* **one training step**: the zoo model on the benchmark's synthetic Criteo-schema rows
  (``bench_ctr_throughput.synthesize``), the engine's own task, optimizer and precision
  context; the median over ``--steps`` steps (after as many warm-up steps) of the forward pass,
  the backward pass and the optimizer step, each timed separately.

Results are printed and written to ``benchmarks/results/ctr_step.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _machine import bf16_cpu_flags, cpu_model
from _results import write_json
from bench_ctr_throughput import DNN_UNITS, MODELS, autorec_model, criteo_sample, synthesize

from autorec.blocks.graph import DataInfo
from autorec.data.features import FeatureEncoder
from autorec.families.ctr import CTRTraining
from autorec.hparams import DefaultHP
from autorec.models.zoo import make_model
from autorec.train.engine import TrainConfig, _make_optimizer, training_precision

ROOT = Path(__file__).resolve().parents[1]
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def mlp_shapes(model: str, enc, dim: int) -> list[tuple[int, int]]:
    """(in, out) of each MLP layer: input = the categorical embeddings and the raw dense values."""
    width = len(enc.vocab_sizes) * dim + enc.dense.shape[1]
    units = DNN_UNITS[model]
    return list(zip([width, *units[:-1]], units))


def time_products(shapes, batch: int, precision: str, repeats: int) -> list[dict[str, float]]:
    out = []
    for fan_in, fan_out in shapes:
        x = torch.randn(batch, fan_in).to(DTYPES[precision])
        w = torch.randn(fan_out, fan_in).to(DTYPES[precision])
        for _ in range(10):
            torch.nn.functional.linear(x, w)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            torch.nn.functional.linear(x, w)
            times.append(time.perf_counter() - t)
        sec = statistics.median(times)
        out.append({"shape": [batch, fan_in, fan_out], "ms": sec * 1e3,
                    "gmacs_per_second": batch * fan_in * fan_out / sec / 1e9})
    return out


def time_step(model: str, enc, batch: int, precision: str, steps: int, dim: int) -> dict[str, float]:
    m = autorec_model(model, dim, batch, 1, 1e-3, 0, torch.get_num_threads(), precision)
    module = make_model(m.model, "ctr", **dict(m.params or {})).build(DefaultHP(), DataInfo.from_encoded(enc, task="ctr"))
    task = CTRTraining(module, enc, None, None, torch.device("cpu"))
    cfg = TrainConfig(precision=precision)
    opt = _make_optimizer([p for p in module.parameters() if p.requires_grad], cfg)
    order = np.random.default_rng(0).permutation(len(enc.label))
    chunks = [order[i:i + batch] for i in range(0, len(order) - batch + 1, batch)]
    parts: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": []}
    module.train()
    for i in range(2 * steps):
        idx = chunks[i % len(chunks)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with training_precision(cfg, torch.device("cpu")):
            loss = task.batch_loss(idx)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i >= steps:  # the first half warms up
            parts["forward"].append(t1 - t0)
            parts["backward"].append(t2 - t1)
            parts["optimizer"].append(t3 - t2)
    res = {k: statistics.median(v) * 1e3 for k, v in parts.items()}
    res["total"] = sum(res.values())
    res["rows_per_second"] = batch / res["total"] * 1e3
    return res


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, default="deepfm")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--embedding-dim", type=int, default=16)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--precision", nargs="+", choices=list(DTYPES), default=list(DTYPES))
    p.add_argument("--steps", type=int, default=150, help="timed steps (after as many warm-up steps)")
    p.add_argument("--repeats", type=int, default=200, help="timed repeats of each matrix product")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", help="folder holding criteo-sample/ (default: $AUTOREC_DATA_DIR)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ctr_step.json")
    args = p.parse_args(argv)
    enc = FeatureEncoder().fit_transform(synthesize(criteo_sample(args.data_dir), args.rows, args.seed))
    shapes = mlp_shapes(args.model, enc, args.embedding_dim)
    runs = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for precision in args.precision:
            products = time_products(shapes, args.batch_size, precision, args.repeats)
            step = time_step(args.model, enc, args.batch_size, precision, args.steps, args.embedding_dim)
            runs.append({"threads": threads, "precision": precision, "products": products, "step": step})
            rates = ", ".join(f"{x['gmacs_per_second']:.0f}" for x in products)
            print(f"{threads} thread(s) {precision}: products {rates} G multiply-adds/s; step: forward "
                  f"{step['forward']:.2f} ms, backward {step['backward']:.2f} ms, optimizer "
                  f"{step['optimizer']:.2f} ms, total {step['total']:.2f} ms "
                  f"({step['rows_per_second']:,.0f} rows/s)", flush=True)
    result = {
        "benchmark": "ctr_step",
        "command": " ".join(["python", *(shlex.quote(a) for a in sys.argv)]),
        "machine": {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "bf16_cpu_flags": bf16_cpu_flags(),
                    "platform": platform.platform()},
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "mlp_shapes": shapes, "runs": runs,
    }
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
