"""CTR training throughput and logloss: autorec's DeepFM and DCN against DeepCTR-Torch's.

Run (from the repository root)::

    AUTOREC_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_ctr_throughput.py

Both libraries get the same encoded arrays (autorec's ``FeatureEncoder`` fitted on the
training rows: categorical codes with 0 = unseen, dense ``sign(x) log1p(|x|)``), the same
embedding size, hidden layers, cross layers, optimizer (Adam, same learning rate), batch size,
epochs and thread count, and no L2 regularisation on either side.

* **Throughput** (rows/s of training: forward, backward and optimizer step over every
  training row, shuffled each epoch) is measured on rows *synthesised in the Criteo schema*
  (only 10,000 real rows are available): see :func:`synthesize`.  Each run trains one
  warm-up epoch and then ``--epochs`` timed epochs without validation; the libraries (each
  autorec precision counts as one) take turns run by run, the first place rotating (A, B, C;
  B, C, A; ...), so that load from other processes hits all alike, and the median over ``--repeats`` runs is reported, per wall second and per CPU second of
  the process (with one thread, CPU time is immune to other processes sharing the cores).
* **Precision**: autorec runs once per ``--precision``: ``fp32`` (row ``autorec``) and ``bf16``
  (row ``autorec_bf16``: its mixed-precision setting, matrix products in bfloat16 under
  autocast with float32 weights, gradients, Adam state and loss).  DeepCTR-Torch has no such
  setting and runs in float32.  Each autorec row is also scored for quality.
* **Quality** is measured on the real 10,000-row Criteo sample (80/10/10 row split): both
  libraries train ``--quality-epochs`` epochs, keep the epoch with the best validation
  logloss, and are scored on the test rows with the same metric code, over several seeds.

Results are printed as a table and written to ``benchmarks/results/ctr_throughput.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from _machine import bf16_cpu_flags, cpu_model
from _results import write_json

from autorec import __version__ as autorec_version
from autorec import metrics
from autorec.blocks.graph import DataInfo
from autorec.data.features import EncodedFeatures, FeatureEncoder, FeatureTable
from autorec.datasets import load
from autorec.estimators import CTRModel
from autorec.families.ctr import CTR_TRAIN_DEFAULTS, CTRTraining
from autorec.hparams import DefaultHP
from autorec.models.zoo import make_model
from autorec.splits import split_rows
from autorec.train.engine import TrainConfig, seed_everything
from autorec.train.engine import fit as engine_fit

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("deepfm", "dcn")
# DeepCTR-Torch's own defaults, which our side is fixed to match
DNN_UNITS = {"deepfm": (256, 128), "dcn": (128, 128)}
DEEPCTR_MODEL = {"deepfm": "deepfm", "dcn": "dcn"}
CROSS_LAYERS = 2
# autorec's precisions, each its own row of the results ("autorec" is fp32, as before)
PRECISION_LIB = {"fp32": "autorec", "bf16": "autorec_bf16"}
LIB_PRECISION = {lib: p for p, lib in PRECISION_LIB.items()}
# Good-Turing: the share of a field's rows holding a value seen once estimates how often a
# new row brings a value never seen before; those new values follow a Zipf law of this exponent
TAIL_EXPONENT = 1.2


# --------------------------------------------------------------------------- data
def synthesize(sample: FeatureTable, n: int, seed: int) -> FeatureTable:
    """``n`` rows in the schema of ``sample`` (Criteo: label, I1..I13, C1..C26).

    * categorical field: with probability ``1 - p_new`` a value of the sample, drawn with its
      sample frequency (missing counts as a value); with probability ``p_new`` (the fraction
      of the sample's rows whose value occurs exactly once there, Good-Turing's estimate of
      the unseen mass) a *new* value, whose rank is drawn from a Zipf law with exponent
      ``TAIL_EXPONENT`` -- so the vocabulary keeps growing with ``n``, with a long tail;
    * dense column: the sample's values of that column (missing included) resampled with
      replacement, independently of the other columns;
    * label: Bernoulli at the sample's positive rate (labels do not change the cost of a step).
    """
    rng = np.random.default_rng(seed)
    frame = sample.frame
    out: dict[str, Any] = {}
    p_pos = float(sample.labels.mean())
    out[sample.label] = (rng.random(n) < p_pos).astype(np.int8)
    for col in sample.dense:
        values = frame[col].to_numpy(dtype=np.float32)
        out[col] = values[rng.integers(0, len(values), n)]
    for col in sample.categorical:
        counts = frame[col].astype(object).fillna("<na>").value_counts()
        seen = counts.index.to_numpy(dtype=object)
        p_new = float((counts == 1).sum()) / len(frame)
        codes = rng.choice(len(seen), size=n, p=(counts / counts.sum()).to_numpy())
        new = rng.random(n) < p_new
        ranks = rng.zipf(TAIL_EXPONENT, int(new.sum())) - 1  # 0, 1, 2, ... most frequent first
        uniq, inverse = np.unique(ranks, return_inverse=True)
        # new values get codes after the sample's; names cannot collide with 8-hex-digit hashes
        categories = np.concatenate([seen, np.array([f"new{col}_{r}" for r in uniq], dtype=object)])
        codes[new] = len(seen) + inverse
        values = pd.Categorical.from_codes(codes, categories=pd.Index(categories))
        missing = categories == "<na>"
        if missing.any():  # back to a real missing value, as the loader gives it
            values = values.remove_categories(categories[missing].tolist())
        out[col] = values
    return FeatureTable(pd.DataFrame(out), label=sample.label, dense=sample.dense,
                        categorical=sample.categorical, name=f"criteo-synthetic-{n}")


def criteo_sample(data_dir: str | None) -> FeatureTable:
    root = data_dir or os.environ.get("AUTOREC_DATA_DIR")
    if not root:
        sys.exit("set AUTOREC_DATA_DIR (or --data-dir) to the folder holding criteo-sample/")
    return load("criteo-sample", data_path=Path(root) / "criteo-sample", download=False)


# --------------------------------------------------------------------------- the two libraries
def autorec_params(model: str, dim: int) -> dict[str, Any]:
    units = DNN_UNITS[model]
    params: dict[str, Any] = {
        "embedding_dim": dim, "embedding/table": "per_field",
        "deep/layers": len(units), "deep/units": units[0],
        "deep/shape": "shrink" if units[-1] < units[0] else "constant",
        "deep/activation": "relu", "deep/dropout": 0.0, "deep/batch_norm": False,
    }
    if model == "dcn":
        params["cross/layers"] = CROSS_LAYERS
    return params


def autorec_model(model: str, dim: int, batch_size: int, epochs: int, lr: float, seed: int,
                  threads: int, precision: str = "fp32") -> CTRModel:
    train = {"optimizer": "adam", "lr": lr, "batch_size": batch_size, "max_epochs": epochs,
             "patience": 0, "weight_decay": 0.0, "seed": seed, "progress": False,
             "threads": threads, "device": "cpu", "precision": precision}
    return CTRModel(model, params=autorec_params(model, dim), train=train)


def autorec_libs(args) -> list[str]:
    return [PRECISION_LIB[p] for p in args.precision]


DEEPCTR_FUSED = "deepctr_torch_fused_adam"
DEEPCTR_LIB = {"default": "deepctr_torch", "fused": DEEPCTR_FUSED}


def deepctr_libs(args) -> list[str]:
    return [DEEPCTR_LIB[o] for o in args.deepctr_adam]


def _quiet():
    # DeepCTR-Torch prints the device and a summary line on every fit()
    return contextlib.redirect_stdout(io.StringIO())


def deepctr_columns(enc: EncodedFeatures, dim: int):
    from deepctr_torch.inputs import DenseFeat, SparseFeat

    sparse = [SparseFeat(name, vocabulary_size=int(v), embedding_dim=dim)
              for name, v in zip(enc.field_names, enc.vocab_sizes)]
    dense = [DenseFeat(name, 1) for name in enc.dense_names]
    return sparse + dense


def deepctr_inputs(enc: EncodedFeatures) -> dict[str, np.ndarray]:
    x = {name: enc.categorical[:, j] for j, name in enumerate(enc.field_names)}
    x.update({name: enc.dense[:, j] for j, name in enumerate(enc.dense_names)})
    return x


def deepctr_model(model: str, columns, dim: int, lr: float, seed: int, fused: bool = False):
    from deepctr_torch.models import DCN, DeepFM

    common = dict(dnn_hidden_units=DNN_UNITS[model], l2_reg_linear=0.0, l2_reg_embedding=0.0,
                  l2_reg_dnn=0.0, seed=seed, device="cpu")
    if DEEPCTR_MODEL[model] == "deepfm":
        net = DeepFM(columns, columns, **common)
    else:
        net = DCN(columns, columns, cross_num=CROSS_LAYERS, cross_parameterization="vector",
                  l2_reg_cross=0.0, **common)
    # fused: the same single-kernel Adam autorec steps with (DeepCTR-Torch accepts an optimizer
    # instance), so that a speed-up is not just the kernel
    net.compile(torch.optim.Adam(net.parameters(), lr=lr, fused=fused), "binary_crossentropy")
    return net


def _clock() -> tuple[float, float]:
    # wall seconds, and this process's CPU seconds: with one thread, CPU time is the work
    # itself, unaffected by other processes taking turns on the cores
    return time.perf_counter(), time.process_time()


def _intervals(marks: list[tuple[float, float]]) -> list[dict[str, float]]:
    return [{"wall": b[0] - a[0], "cpu": b[1] - a[1]} for a, b in zip(marks, marks[1:])]


class _EpochTimer:
    """A DeepCTR-Torch callback: the clock at the end of every epoch's training steps."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, float]] = []

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params) -> None:
        pass

    def on_train_begin(self, logs=None) -> None:
        pass

    def on_train_end(self, logs=None) -> None:
        pass

    def on_epoch_begin(self, epoch, logs=None) -> None:
        pass

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.marks.append(_clock())


class _TimedCTRTraining(CTRTraining):
    """autorec's CTR training task, also noting the clock when an epoch's steps are done (the
    engine validates right after the last step of every epoch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.marks: list[tuple[float, float]] = []

    def validate(self):
        self.marks.append(_clock())
        return super().validate()


# --------------------------------------------------------------------------- throughput
def time_autorec(model: str, enc: EncodedFeatures, batch_size: int, args, seed: int,
                 precision: str = "fp32") -> list[dict[str, float]]:
    """What ``CTRModel.fit(table, rows)`` does once the rows are encoded (the encoder is the
    one whose arrays DeepCTR-Torch gets), with the timed task; no validation rows."""
    m = autorec_model(model, args.embedding_dim, batch_size, 1 + args.epochs, args.lr, seed, args.threads,
                      precision)
    cfg = TrainConfig.resolve(m.train, CTR_TRAIN_DEFAULTS)
    seed_everything(cfg.seed)
    module = make_model(m.model, "ctr", **dict(m.params or {})).build(DefaultHP(), DataInfo.from_encoded(enc, task="ctr"))
    task = _TimedCTRTraining(module, enc, None, None, torch.device("cpu"))
    engine_fit(task, cfg)
    # epoch k's steps run between the marks of epochs k-1 and k: the warm-up epoch drops out
    return _intervals(task.marks)


def time_deepctr(model: str, enc: EncodedFeatures, batch_size: int, args, seed: int,
                 fused: bool = False) -> list[dict[str, float]]:
    torch.set_num_threads(args.threads)
    net = deepctr_model(model, deepctr_columns(enc, args.embedding_dim), args.embedding_dim, args.lr, seed,
                        fused=fused)
    timer = _EpochTimer()
    with _quiet():
        net.fit(deepctr_inputs(enc), enc.label, batch_size=batch_size, epochs=1 + args.epochs,
                verbose=0, callbacks=[timer])
    return _intervals(timer.marks)


def _rate(rows: int, epochs: list[dict[str, float]], clock: str) -> float:
    """Rows per second of the run's median timed epoch."""
    return rows / statistics.median(e[clock] for e in epochs)


def throughput(args, sample: FeatureTable) -> dict[str, Any]:
    t0 = time.perf_counter()
    table = synthesize(sample, args.rows, args.seed)
    enc = FeatureEncoder().fit_transform(table)  # CTRModel's defaults: min_count=1, dense "log"
    print(f"synthesised {len(table):,} Criteo-schema rows in {time.perf_counter() - t0:.1f}s; "
          f"vocabulary {sum(enc.vocab_sizes):,} values over {len(enc.vocab_sizes)} fields",
          flush=True)
    out: dict[str, Any] = {"rows": len(table), "vocab_sizes": list(enc.vocab_sizes),
                           "total_vocab": int(sum(enc.vocab_sizes)), "by_batch_size": {}}
    for bs in args.batch_size:
        per_model: dict[str, Any] = {}
        for model in args.models:
            libs = [*autorec_libs(args), *deepctr_libs(args)]
            runs: dict[str, list[list[dict[str, float]]]] = {lib: [] for lib in libs}
            for r in range(args.repeats):
                # rotate which library goes first, so none always meets the same load
                order = libs[r % len(libs):] + libs[:r % len(libs)]
                for lib in order:
                    if lib.startswith("deepctr_torch"):
                        epochs = time_deepctr(model, enc, bs, args, args.seed + r, fused=lib == DEEPCTR_FUSED)
                    else:
                        epochs = time_autorec(model, enc, bs, args, args.seed + r, LIB_PRECISION[lib])
                    runs[lib].append(epochs)
                    walls = ", ".join(f"{e['wall']:.2f}s" for e in epochs)
                    print(f"  batch {bs:5d} {model:22s} {lib:14s} run {r + 1}: "
                          f"{_rate(len(table), epochs, 'wall'):9,.0f} rows/s, "
                          f"{_rate(len(table), epochs, 'cpu'):9,.0f} rows/CPU-s (timed epochs {walls})",
                          flush=True)
            entry: dict[str, Any] = {}
            for lib, lib_runs in runs.items():
                wall = [_rate(len(table), e, "wall") for e in lib_runs]
                cpu = [_rate(len(table), e, "cpu") for e in lib_runs]
                entry[lib] = {"rows_per_second": statistics.median(wall),
                              "rows_per_cpu_second": statistics.median(cpu),
                              "runs_rows_per_second": wall, "runs_rows_per_cpu_second": cpu,
                              "epoch_seconds": lib_runs}
            base = entry[deepctr_libs(args)[0]]
            for lib in autorec_libs(args):
                suffix = "" if lib == "autorec" else lib[len("autorec"):]
                entry[f"speedup{suffix}"] = entry[lib]["rows_per_second"] / base["rows_per_second"]
                entry[f"speedup_cpu{suffix}"] = entry[lib]["rows_per_cpu_second"] / base["rows_per_cpu_second"]
                if DEEPCTR_FUSED in entry:  # against DeepCTR-Torch on the same fused Adam
                    fused = entry[DEEPCTR_FUSED]
                    entry[f"speedup_vs_fused{suffix}"] = entry[lib]["rows_per_second"] / fused["rows_per_second"]
                    entry[f"speedup_cpu_vs_fused{suffix}"] = (entry[lib]["rows_per_cpu_second"]
                                                              / fused["rows_per_cpu_second"])
            per_model[model] = entry
        out["by_batch_size"][str(bs)] = per_model
    return out


# --------------------------------------------------------------------------- quality
def quality_autorec(model: str, table: FeatureTable, split, args, seed: int, precision: str = "fp32"):
    tr, va, te = split
    m = autorec_model(model, args.embedding_dim, args.quality_batch_size, args.quality_epochs,
                      args.lr, seed, args.threads, precision)
    m.fit(table, tr, va)
    res = m.evaluate(table, te)
    return res, m.history_.best_epoch, m.encoder_


def quality_deepctr(model: str, encoder: FeatureEncoder, table: FeatureTable, split, args, seed: int):
    tr, va, te = split
    torch.set_num_threads(args.threads)
    enc_tr, enc_va, enc_te = (encoder.transform(table, r) for r in (tr, va, te))
    net = deepctr_model(model, deepctr_columns(enc_tr, args.embedding_dim), args.embedding_dim,
                        args.lr, seed)
    x_tr, x_va, x_te = (deepctr_inputs(e) for e in (enc_tr, enc_va, enc_te))
    best, best_epoch, best_state = np.inf, 0, None
    # one epoch per fit() call (the optimizer lives on the model, so this is one long fit),
    # to keep the best validation epoch exactly as autorec's engine does
    for epoch in range(1, args.quality_epochs + 1):
        with _quiet():
            net.fit(x_tr, enc_tr.label, batch_size=args.quality_batch_size, epochs=1, verbose=0)
        val = metrics.logloss(enc_va.label, net.predict(x_va, 4096).ravel())
        if val < best:
            best, best_epoch, best_state = val, epoch, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    p = net.predict(x_te, 4096).ravel()
    return {"logloss": metrics.logloss(enc_te.label, p), "auc": metrics.auc(enc_te.label, p)}, best_epoch


def quality(args, sample: FeatureTable) -> dict[str, Any]:
    split = split_rows(len(sample), test=0.1, validation=0.1, seed=args.seed)
    out: dict[str, Any] = {"rows": {"train": len(split[0]), "validation": len(split[1]),
                                    "test": len(split[2])}, "models": {}}
    for model in args.models:
        libs = [*autorec_libs(args), "deepctr_torch"]
        res: dict[str, list] = {lib: [] for lib in libs}
        for s in range(args.quality_seeds):
            seed = args.seed + s
            line = []
            for lib in autorec_libs(args):
                a, a_epoch, encoder = quality_autorec(model, sample, split, args, seed, LIB_PRECISION[lib])
                res[lib].append({**a, "best_epoch": a_epoch, "seed": seed})
                line.append(f"{lib} logloss {a['logloss']:.4f} auc {a['auc']:.4f} (epoch {a_epoch})")
            d, d_epoch = quality_deepctr(model, encoder, sample, split, args, seed)
            res["deepctr_torch"].append({**d, "best_epoch": d_epoch, "seed": seed})
            line.append(f"deepctr-torch logloss {d['logloss']:.4f} auc {d['auc']:.4f} (epoch {d_epoch})")
            print(f"  {model:22s} seed {seed}: " + " | ".join(line), flush=True)
        summary = {}
        for lib, runs in res.items():
            ll = [r["logloss"] for r in runs]
            au = [r["auc"] for r in runs]
            summary[lib] = {"logloss_mean": float(np.mean(ll)), "logloss_std": float(np.std(ll)),
                            "auc_mean": float(np.mean(au)), "auc_std": float(np.std(au)), "runs": runs}
        out["models"][model] = summary
    return out


# --------------------------------------------------------------------------- report
def machine(threads: int) -> dict[str, Any]:
    cpu = cpu_model()
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "torch_threads": threads,
            "bf16_cpu_flags": bf16_cpu_flags(),
            "load_average_1min_at_start": load1, "platform": platform.platform()}


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version(), "autorec": autorec_version, "torch": torch.__version__,
           "numpy": np.__version__, "pandas": pd.__version__}
    with contextlib.suppress(Exception):
        out["deepctr_torch"] = version("deepctr-torch")
    return out


def autorec_adam_fused() -> bool:
    """Whether autorec's engine steps Adam with PyTorch's fused kernel (the update is the same
    either way; the unfused one is much slower on large embedding tables)."""
    from autorec.train.engine import _make_optimizer

    opt = _make_optimizer([torch.nn.Parameter(torch.zeros(1))], TrainConfig(optimizer="adam"))
    return bool(opt.defaults.get("fused"))


def print_table(result: dict[str, Any]) -> None:
    tp, q = result.get("throughput"), result.get("quality")
    s = result["settings"]
    print(f"\nembedding {s['embedding_dim']}, {s['threads']} threads, Adam lr {s['lr']}")
    if tp:
        print(f"training throughput on {tp['rows']:,} synthetic Criteo-schema rows "
              f"(median over runs; rows per wall second, and per CPU second of the process)")
        print(f"{'batch':>6s} {'model':8s} {'library':14s} {'rows/s':>10s} {'speedup':>8s}"
              f" {'rows/CPU-s':>11s} {'speedup':>8s}")
        for bs, per_model in tp["by_batch_size"].items():
            for model, t in per_model.items():
                for lib in [k for k in t if isinstance(t[k], dict)]:
                    x = t[lib]
                    suffix = lib[len("autorec"):] if lib.startswith("autorec") else None
                    sp = f"{t[f'speedup{suffix}']:7.2f}x" if suffix is not None else f"{'':8s}"
                    spc = f"{t[f'speedup_cpu{suffix}']:7.2f}x" if suffix is not None else f"{'':8s}"
                    vs = t.get(f"speedup_vs_fused{suffix}") if suffix is not None else None
                    fused = f" ({vs:.2f}x against DeepCTR-Torch on fused Adam)" if vs is not None else ""
                    print(f"{bs:>6s} {model:8s} {lib:26s} {x['rows_per_second']:10,.0f} {sp} "
                          f"{x['rows_per_cpu_second']:11,.0f} {spc}{fused}")
    if q:
        n = q["rows"]
        print(f"\nquality on the real Criteo sample (train {n['train']:,} / validation {n['validation']:,} / "
              f"test {n['test']:,} rows), test mean ± std over {s['quality_seeds']} seeds")
        print(f"{'model':22s} {'library':14s} {'logloss':>16s} {'AUC':>16s}")
        for model, per_lib in q["models"].items():
            for lib, m in per_lib.items():
                print(f"{model:22s} {lib:14s} {m['logloss_mean']:9.4f}±{m['logloss_std']:.4f} "
                      f"{m['auc_mean']:9.4f}±{m['auc_std']:.4f}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=200_000, help="synthetic rows for the throughput runs")
    p.add_argument("--batch-size", type=int, nargs="+", default=[1024, 256],
                   help="batch size(s) of the throughput runs")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per throughput run (after one warm-up)")
    p.add_argument("--repeats", type=int, default=3, help="throughput runs per library and model")
    p.add_argument("--embedding-dim", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (DeepCTR-Torch's default)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads for both libraries")
    p.add_argument("--quality-epochs", type=int, default=10,
                   help="epochs of each quality run (the best validation epoch is kept)")
    p.add_argument("--quality-batch-size", type=int, default=256)
    p.add_argument("--quality-seeds", type=int, default=3)
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--precision", nargs="+", choices=list(PRECISION_LIB), default=list(PRECISION_LIB),
                   help="autorec's training precision(s), each timed and scored as its own row "
                        "(bf16: matrix products in bfloat16 under autocast, float32 weights and optimizer)")
    p.add_argument("--deepctr-adam", nargs="+", choices=list(DEEPCTR_LIB), default=["default", "fused"],
                   help="DeepCTR-Torch's Adam, each timed as its own row: torch's default (what DeepCTR-Torch "
                        "builds itself) and the fused kernel autorec uses")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 20,000 rows, 1 timed epoch, 1 repeat, 2 quality epochs, 1 seed")
    p.add_argument("--data-dir", help="folder holding criteo-sample/ (default: $AUTOREC_DATA_DIR)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ctr_throughput.json")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.epochs, args.repeats = min(args.rows, 20_000), 1, 1
        args.batch_size = args.batch_size[:1]
        args.quality_epochs, args.quality_seeds = 2, 1
    torch.set_num_threads(args.threads)
    sample = criteo_sample(args.data_dir)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    settings.update({
        "optimizer": "adam", "l2_regularisation": 0.0, "autorec_adam_fused": autorec_adam_fused(),
        "dnn_hidden_units": {m: list(DNN_UNITS[m]) for m in args.models},
        "cross_layers_dcn": CROSS_LAYERS,
        "encoding": "autorec FeatureEncoder(min_count=1, dense_transform='log') fitted on the training rows; "
                    "the same arrays go to both libraries",
        "synthesis": ("categorical: sample values at their sample frequency (missing included), a new value "
                      "with the field's Good-Turing unseen mass (share of rows with a once-seen value), new "
                      f"values' ranks Zipf(a={TAIL_EXPONENT}); dense: each column resampled independently "
                      "from the sample; label: Bernoulli(sample positive rate)"),
        "timing": "per run: rows / median timed epoch (one warm-up epoch first, no validation in the timed "
                  "fit), in wall seconds and in CPU seconds of the process; reported: the median over runs; "
                  "libraries interleaved run by run, rotating which goes first",
        "quality_rule": "train quality_epochs epochs on the real sample's train rows, keep the epoch with the "
                        "best validation logloss, score the test rows; split_rows(10000, test=0.1, "
                        "validation=0.1, seed)",
    })
    result: dict[str, Any] = {
        "benchmark": "ctr_throughput",
        "command": " ".join(["python", *(shlex.quote(a) for a in sys.argv)]),
        "machine": machine(args.threads), "versions": versions(), "settings": settings,
    }
    t0 = time.perf_counter()
    if not args.skip_throughput:
        print("throughput (synthetic Criteo-schema rows):", flush=True)
        result["throughput"] = throughput(args, sample)
    if not args.skip_quality:
        print("quality (real Criteo sample):", flush=True)
        result["quality"] = quality(args, sample)
    result["seconds"] = time.perf_counter() - t0
    result["machine"]["load_average_1min_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print_table(result)
    write_json(args.out, result)
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
