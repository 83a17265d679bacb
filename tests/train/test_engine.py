"""The training engine on a small least-squares task whose optimum is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autorec.errors import ConfigError
from autorec.train.engine import TrainConfig, fit


class LinearTask:
    """y = X w* + noise; validation RMSE on a held-out part; scaled loss like the real tasks."""

    metric = "rmse"

    def __init__(self, seed=0, n=400, d=5, noise=0.1):
        g = torch.Generator().manual_seed(seed)
        self.w_true = torch.randn(d, generator=g)
        self.X = torch.randn(n, d, generator=g)
        self.y = self.X @ self.w_true + noise * torch.randn(n, generator=g)
        self.Xv = torch.randn(100, d, generator=g)
        self.yv = self.Xv @ self.w_true
        self.module = torch.nn.Linear(d, 1, bias=False)
        self.validations = []

    def n_examples(self):
        return len(self.y)

    def batch_loss(self, index):
        idx = torch.as_tensor(index)
        err = self.module(self.X[idx]).squeeze(-1) - self.y[idx]
        sse = (err**2).sum()
        return sse / len(self.y)

    def validate(self):
        with torch.no_grad():
            r = float(((self.module(self.Xv).squeeze(-1) - self.yv) ** 2).mean().sqrt())
        self.validations.append(r)
        return {"rmse": r}


@pytest.mark.parametrize("optimizer,lr", [("adam", 0.05), ("adamw", 0.05), ("rprop", 0.01), ("lbfgs", 1.0)])
def test_each_optimizer_reaches_the_least_squares_solution(optimizer, lr):
    task = LinearTask()
    hist = fit(task, TrainConfig(optimizer=optimizer, lr=lr, batch_size=64, max_epochs=150, patience=0, progress=False))
    w = task.module.weight.detach().squeeze(0)
    w_ls = torch.linalg.lstsq(task.X, task.y.unsqueeze(-1)).solution.squeeze(-1)
    assert torch.allclose(w, w_ls, atol=2e-2), (optimizer, w, w_ls)
    assert hist.best_value < 0.1


def test_best_epoch_weights_are_restored_and_early_stopping_triggers():
    task = LinearTask()
    # a learning rate that overshoots after a few epochs makes validation worsen later
    hist = fit(task, TrainConfig(optimizer="adam", lr=0.5, batch_size=8, max_epochs=200, patience=5, progress=False))
    best = min(task.validations)
    assert hist.best_value == pytest.approx(best)
    assert task.validations[hist.best_epoch - 1] == pytest.approx(best)
    # the restored module scores exactly the best validation value
    assert task.validate()["rmse"] == pytest.approx(best, rel=1e-6)
    if hist.stopped_early:
        assert len(hist.epochs) == hist.best_epoch + 5


def test_same_seed_same_numbers_different_seed_different_numbers():
    runs = []
    for seed in (1, 1, 2):
        task = LinearTask()
        torch.nn.init.zeros_(task.module.weight)
        fit(task, TrainConfig(lr=0.01, batch_size=16, max_epochs=3, patience=0, seed=seed, progress=False))
        runs.append(task.validations)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_history_rows_and_on_epoch_callback():
    task = LinearTask()
    seen = []
    hist = fit(task, TrainConfig(lr=0.05, max_epochs=4, patience=0, progress=False),
               on_epoch=lambda e, v: seen.append((e, v["rmse"])))
    rows = hist.rows()
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert set(rows[0]) == {"epoch", "train_loss", "seconds", "val_rmse"}
    assert [e for e, _ in seen] == [1, 2, 3, 4]


def test_divergence_is_reported_not_hidden():
    task = LinearTask()
    with torch.no_grad():
        task.X[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="diverged"):
        fit(task, TrainConfig(lr=0.05, max_epochs=2, progress=False))


def test_patience_counts_at_least_patience_steps_optimizer_steps():
    from autorec.train.engine import effective_patience

    cfg = TrainConfig(batch_size=100, patience=5, patience_steps=60)
    assert effective_patience(cfg, 400) == 15  # 4 steps an epoch: 15 epochs make 60 steps
    assert effective_patience(cfg, 40_000) == 5  # 400 steps an epoch: the epochs' patience
    assert effective_patience(TrainConfig(patience=0, patience_steps=60), 400) == 0  # never stop early
    assert effective_patience(cfg, 400, full_batch=True) == 60

    class Plateau(LinearTask):  # validation stuck for 12 epochs, then improving
        metric, direction = "ndcg", "maximize"

        def validate(self):
            self.validations.append(1.0 if len(self.validations) < 13 else 1.0 + len(self.validations))
            return {"ndcg": self.validations[-1]}

    short = fit(Plateau(), TrainConfig(batch_size=100, max_epochs=30, patience=5, progress=False))
    assert short.stopped_early and short.best_epoch == 1
    long = fit(Plateau(), TrainConfig(batch_size=100, max_epochs=30, patience=5, patience_steps=60, progress=False))
    assert long.best_epoch == 30


@pytest.mark.parametrize("optimizer,lr", [("adam", 0.05), ("rprop", 0.01)])
def test_bf16_precision_runs_forward_passes_under_autocast_only(optimizer, lr):
    seen = {"train": [], "validate": []}

    class Watched(LinearTask):
        def batch_loss(self, index):
            seen["train"].append(torch.is_autocast_enabled("cpu"))
            return super().batch_loss(index).float()

        def validate(self):
            seen["validate"].append(torch.is_autocast_enabled("cpu"))
            return super().validate()

    task = Watched()
    fit(task, TrainConfig(optimizer=optimizer, lr=lr, batch_size=64, max_epochs=60, patience=0,
                          precision="bf16", progress=False))
    assert len(seen["train"]) >= 60 and all(seen["train"])
    assert len(seen["validate"]) == 60 and not any(seen["validate"])  # evaluation at full precision
    assert task.module.weight.dtype == torch.float32  # master weights stay float32
    w = task.module.weight.detach().squeeze(0)
    w_ls = torch.linalg.lstsq(task.X, task.y.unsqueeze(-1)).solution.squeeze(-1)
    assert torch.allclose(w, w_ls, atol=5e-2), (w, w_ls)  # bfloat16 products, ~3 digits


@pytest.mark.parametrize("bad", [{"optimizer": "sgdx"}, {"lr": 0}, {"batch_size": -1}, {"l2": -1.0},
                                 {"precision": "fp16"}])
def test_bad_settings_name_the_setting(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        TrainConfig(**bad)


def test_the_run_records_the_threads_it_took():
    import torch

    hist = fit(LinearTask(), TrainConfig(lr=0.05, max_epochs=1, patience=0, progress=False, threads=1))
    assert hist.threads == 1 and torch.get_num_threads() == 1
    hist = fit(LinearTask(), TrainConfig(lr=0.05, max_epochs=1, patience=0, progress=False))
    assert 1 <= hist.threads <= torch.get_num_threads() <= max(1, len(__import__("os").sched_getaffinity(0)))


def test_a_deadline_stops_training_before_the_next_batch_keeping_the_best_epoch():
    import time

    task = LinearTask()
    cfg = TrainConfig(lr=0.05, max_epochs=10_000, patience=0, progress=False, batch_size=4)
    t0 = time.monotonic()
    hist = fit(task, cfg, deadline=t0 + 0.5)
    assert time.monotonic() - t0 < 1.5
    assert hist.stop_reason == "deadline" and hist.stopped_early
    assert 1 <= len(hist.epochs) < 10_000 and hist.best_epoch is not None
    past = fit(LinearTask(), cfg, deadline=time.monotonic() - 1)
    assert past.epochs == [] and past.stop_reason == "deadline" and past.best_epoch is None


@pytest.mark.parametrize("bad, message", [
    ({"lr": "abc"}, "lr must be a finite number, got 'abc'"),
    ({"lr": float("nan")}, "lr must be a finite number"),
    ({"l2": True}, "l2 must be a finite number"),
    ({"max_epochs": 1.5}, "max_epochs must be a whole number, got 1.5"),
    ({"batch_size": "64"}, "batch_size must be a whole number"),
    ({"seed": None}, "seed must be a whole number"),
    ({"progress": "yes"}, "progress must be true, false or unset"),
])
def test_values_of_the_wrong_type_are_one_line_errors(bad, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        TrainConfig(**bad)
    assert TrainConfig(max_epochs=3.0).max_epochs == 3 and TrainConfig(lr=1).lr == 1.0
