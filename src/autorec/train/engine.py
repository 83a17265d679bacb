"""The training loop shared by every model family.

A model family supplies a :class:`TrainingAdapter`: how many examples there are, the loss of a
batch of them, and how to validate (the adapters live with their families in
:mod:`autorec.families`).  The engine owns everything else: seeding, optimizers (mini-batch
Adam/AdamW, full-batch RProp as in the AutoRec paper, L-BFGS), early stopping on the
validation metric with the best epoch's weights restored, per-epoch history, progress, and
the per-epoch hook the search uses for pruning.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Mapping, Protocol

import numpy as np
import torch

from ..errors import ConfigError
from . import interrupts
from .threads import choose_threads, training_slot

OPTIMIZERS = ("adam", "adamw", "rprop", "lbfgs")
FULL_BATCH_OPTIMIZERS = ("rprop", "lbfgs")
PRECISIONS = ("fp32", "bf16")


def effective_patience(cfg: "TrainConfig", n_examples: int, full_batch: bool = False) -> int:
    """Epochs without improvement before stopping: ``patience``, or more where that is fewer
    than ``patience_steps`` optimizer steps (0 when ``patience`` is 0: never stop early)."""
    if not cfg.patience:
        return 0
    steps_per_epoch = 1 if full_batch else max(1, math.ceil(n_examples / cfg.batch_size))
    return max(cfg.patience, math.ceil(cfg.patience_steps / steps_per_epoch))


@dataclass
class TrainConfig:
    """Training settings.  ``batch_size`` counts examples (rows for autoencoders, pairs or
    feature rows otherwise); full-batch optimizers ignore it for the step but still use it to
    bound memory while accumulating the full gradient."""

    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0  # decoupled (AdamW) or L2 (Adam) on all parameters
    l2: float = 0.0  # the model's own regulariser weight (AutoRec's lambda)
    batch_size: int = 256
    max_epochs: int = 200
    patience: int = 10  # epochs without validation improvement before stopping; 0 = never stop early
    # ...and at least this many optimizer steps: on small data an epoch of a large batch is a few
    # steps, and BPR's or LightGCN's validation sits on a popularity plateau for hundreds of them
    # before the factors take over (docs/topn.md); 0 = count epochs only
    patience_steps: int = 0
    min_delta: float = 0.0
    seed: int = 0
    device: str = "auto"
    progress: bool | None = None  # None: a bar only when stderr is a terminal
    threads: int | None = None  # torch intra-op threads; None: the free cores (train/threads.py)
    # "bf16": training forward passes under autocast, so matrix products run in bfloat16 while
    # weights, gradients, optimizer state, losses and all evaluation stay float32 (mixed
    # precision).  About twice the matrix-product rate on CPUs with AVX512-BF16 or AMX and on
    # recent GPUs; CPUs without such instructions emulate it (expect no gain there).
    precision: str = "fp32"

    def __post_init__(self) -> None:
        # types first, so that a value typed on the command line ("lr=abc", "max_epochs=1.5")
        # is one line naming the setting, not a TypeError deep in a comparison
        for name in ("lr", "weight_decay", "l2", "min_delta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
            setattr(self, name, float(value))
        for name in ("batch_size", "max_epochs", "patience", "patience_steps", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    setattr(self, name, int(value))
                    continue
                raise ConfigError(f"{name} must be a whole number, got {value!r}")
        if self.progress is not None and not isinstance(self.progress, bool):
            raise ConfigError(f"progress must be true, false or unset, got {self.progress!r}")
        if not isinstance(self.device, str):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        for name in ("lr", "batch_size", "max_epochs"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ConfigError(f"threads must be a positive integer or unset, got {self.threads!r}")
        for name in ("weight_decay", "l2", "patience", "patience_steps", "min_delta"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def keys(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    @classmethod
    def resolve(cls, train: "TrainConfig | Mapping[str, Any] | None",
                defaults: Mapping[str, Any] | None = None) -> "TrainConfig":
        """A config from a model's ``defaults`` overridden by the user's ``train`` settings
        (a ready ``TrainConfig`` is taken as it is); unknown keys are an error naming the closest."""
        if isinstance(train, TrainConfig):
            return train
        values = dict(defaults or {})
        values.update(train or {})
        unknown = sorted(set(values) - cls.keys())
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, sorted(cls.keys()), n=1)
                hints.append(repr(name) + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ConfigError(f"unknown training setting(s) {', '.join(hints)}; known: {sorted(cls.keys())}")
        return cls(**values)


class TrainingAdapter(Protocol):
    """What the engine needs from a model family to train one model.

    Two kinds: a gradient adapter gives ``n_examples`` and ``batch_loss`` and the engine steps
    its optimizer; a sweep adapter gives ``sweep()`` instead, one exact update of every weight
    per epoch (alternating least squares), returning the training objective.  Either way the
    engine validates, stops early, restores the best epoch, reports and keeps the deadline.
    An adapter may set ``direction = "maximize"`` (a ranking metric); the default is minimise.
    """

    module: torch.nn.Module
    metric: str  # name of the validation metric; lower is better unless ``direction`` says so

    def n_examples(self) -> int: ...

    def batch_loss(self, index: np.ndarray) -> torch.Tensor:
        """Loss of the examples at ``index`` scaled so that summing it over a partition of all
        examples gives the full objective (normalised).  A tensor, never a Python float: reading
        a value back per batch would wait for the GPU on every step."""

    def validate(self) -> dict[str, float] | None: ...


class StopTraining(Exception):
    """Raised by an ``on_epoch`` callback to end training now, keeping the best epoch so far
    (a per-trial time limit, say).  Unlike ``optuna.TrialPruned`` it is not a failure."""


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    seconds: float
    validation: dict[str, float] = field(default_factory=dict)


@dataclass
class History:
    metric: str
    epochs: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    stop_reason: str = ""
    seconds: float = 0.0
    threads: int | None = None  # the torch threads the run took

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        epochs = [EpochRecord(**e) for e in d.get("epochs", [])]
        return cls(**{**{k: v for k, v in d.items() if k != "epochs"}, "epochs": epochs})

    def rows(self) -> list[dict]:
        out = []
        for r in self.epochs:
            row = {"epoch": r.epoch, "train_loss": r.train_loss, "seconds": r.seconds}
            row.update({f"val_{k}": v for k, v in r.validation.items()})
            out.append(row)
        return out


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {name!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but CUDA is not available on this machine")
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer in ("adam", "adamw"):
        cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
        # one fused kernel per step: the same update (to float rounding) without the unfused
        # version's temporaries (sqrt of v, then its quotient), each as large as the parameter;
        # for a big embedding table those are fresh memory every step, and page-faulting it in
        # made the whole CPU training step up to 5x slower (benchmarks/bench_ctr_throughput.py)
        fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point and p.layout == torch.strided
                    for p in params)
        return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True if fused else None)
    if cfg.optimizer == "rprop":
        return torch.optim.Rprop(params, lr=cfg.lr)
    return torch.optim.LBFGS(params, lr=cfg.lr, max_iter=20, history_size=20,
                             line_search_fn="strong_wolfe")


def _use_progress(cfg: TrainConfig) -> bool:
    if cfg.progress is not None:
        return cfg.progress
    return sys.stderr.isatty() and not os.environ.get("AUTOREC_NO_PROGRESS")


EpochCallback = Callable[[int, dict[str, float]], None]


def check_precision(cfg: TrainConfig, device: torch.device) -> None:
    """Refuse a precision the device cannot run (once per fit, not per step)."""
    if cfg.precision == "bf16":
        if device.type not in ("cpu", "cuda"):
            raise ConfigError(f"precision 'bf16' needs a CPU or CUDA device, not {device.type!r}")
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError(f"precision 'bf16': {torch.cuda.get_device_name(device)} has no bfloat16 "
                              "support; use precision 'fp32'")


def training_precision(cfg: TrainConfig, device: torch.device):
    """A context for one training forward pass at ``cfg.precision`` (a fresh one per use);
    ``check_precision`` has accepted the device."""
    if cfg.precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def fit(task: TrainingAdapter, cfg: TrainConfig, on_epoch: EpochCallback | None = None,
        deadline: float | None = None) -> History:
    """Train ``task.module`` in place; returns the history with the best epoch restored.

    ``on_epoch(epoch, validation)`` runs after each validated epoch (the search reports to its
    pruner there; raising ``optuna.TrialPruned`` stops the run).  Without ``cfg.threads`` the
    run takes the free cores of this machine, shared with other autorec processes training
    here (:mod:`autorec.train.threads`); ``History.threads`` says how many it took.

    ``deadline`` (a ``time.monotonic()`` value) ends training when it passes, checked before
    every mini-batch: the partial epoch is dropped, the best validated epoch restored and
    ``stop_reason`` is ``"deadline"`` (no epoch at all if it passed during the first).
    """
    with training_slot():
        threads = cfg.threads or choose_threads()
        torch.set_num_threads(threads)
        with interrupts.deferred():
            hist = _fit(task, cfg, on_epoch, deadline)
    hist.threads = threads
    return hist


def _fit(task: TrainingAdapter, cfg: TrainConfig, on_epoch: EpochCallback | None,
         deadline: float | None) -> History:
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    module = task.module
    sweep = getattr(task, "sweep", None)  # exact updates per epoch: no optimizer, no batches
    maximize = getattr(task, "direction", "minimize") == "maximize"
    if sweep is None:
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise ConfigError("the model has no trainable parameters")
        opt = _make_optimizer(params, cfg)
        device = params[0].device
        check_precision(cfg, device)
        n = task.n_examples()
    full_batch = cfg.optimizer in FULL_BATCH_OPTIMIZERS
    # a sweep is one exact update per epoch
    patience = effective_patience(cfg, n, full_batch) if sweep is None else effective_patience(cfg, 1, True)
    hist = History(metric=task.metric)
    best_state = None
    bad_epochs = 0
    start = time.perf_counter()

    progress = None
    if _use_progress(cfg):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(TextColumn("[bold]training"), BarColumn(), TextColumn("{task.description}"),
                            TimeElapsedColumn(), transient=True)
        progress.start()
        bar = progress.add_task("", total=cfg.max_epochs)

    try:
        for epoch in range(1, cfg.max_epochs + 1):
            interrupts.check()
            if deadline is not None and time.monotonic() >= deadline:
                hist.stopped_early, hist.stop_reason = True, "deadline"
                break
            t0 = time.perf_counter()
            module.train()
            if sweep is not None:
                with torch.no_grad():
                    train_loss = float(sweep())
            elif full_batch:
                order = rng.permutation(n)
                chunks = [order[i:i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]

                def closure() -> torch.Tensor:
                    opt.zero_grad(set_to_none=True)
                    total = torch.zeros((), dtype=torch.float64)
                    for idx in chunks:
                        with training_precision(cfg, device):
                            loss = task.batch_loss(idx)
                        loss.backward()
                        total = total + loss.detach().double().cpu()
                    return total

                train_loss = float(opt.step(closure))
            else:
                order = rng.permutation(n)
                chunks = [order[i:i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]
                total = None  # summed on the model's device: one read-back per epoch
                out_of_time = False
                for idx in chunks:
                    interrupts.check()  # Ctrl-C / SIGTERM act within a mini-batch
                    if deadline is not None and time.monotonic() >= deadline:
                        out_of_time = True
                        break
                    opt.zero_grad(set_to_none=True)
                    with training_precision(cfg, device):
                        loss = task.batch_loss(idx)
                    loss.backward()
                    opt.step()
                    part = loss.detach().double()
                    total = part if total is None else total + part
                if out_of_time:  # the partial epoch is neither validated nor kept as best
                    hist.stopped_early, hist.stop_reason = True, "deadline"
                    break
                train_loss = float(total) if total is not None else 0.0
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"training diverged at epoch {epoch} (loss {train_loss}); lower the learning rate"
                )
            module.eval()
            with torch.no_grad():
                val = task.validate() or {}
            rec = EpochRecord(epoch, train_loss, time.perf_counter() - t0, dict(val))
            hist.epochs.append(rec)
            if progress is not None:
                shown = f"epoch {epoch} loss {train_loss:.4f}"
                if task.metric in val:
                    shown += f" val {task.metric} {val[task.metric]:.4f}"
                progress.update(bar, advance=1, description=shown)
            if task.metric in val:
                value = val[task.metric]
                if hist.best_value is None:
                    gain = math.inf
                else:
                    gain = value - hist.best_value if maximize else hist.best_value - value
                if gain > cfg.min_delta:
                    hist.best_value, hist.best_epoch = value, epoch
                    best_state = copy.deepcopy(module.state_dict())
                    bad_epochs = 0
                else:
                    bad_epochs += 1
                if patience and bad_epochs >= patience:
                    hist.stopped_early, hist.stop_reason = True, "patience"
                    break
                if on_epoch is not None:
                    try:
                        on_epoch(epoch, val)
                    except StopTraining as stop:
                        hist.stopped_early, hist.stop_reason = True, str(stop) or "stopped"
                        break
    finally:
        if progress is not None:
            progress.stop()
    if best_state is not None:
        module.load_state_dict(best_state)
    elif hist.epochs:
        hist.best_epoch = len(hist.epochs)
    hist.seconds = time.perf_counter() - start
    return hist
