"""Problems: one per task, the single place that knows how a task is fitted and scored.

A problem holds the data and its split, names its metric and direction, fits an estimator on
the training part (early stopping on validation), predicts any part and scores it.  Both
``autorec train`` (:mod:`autorec.runs`) and ``autorec search`` (:mod:`autorec.search`) go
through it, so a figure printed by either comes from the same code.

* :class:`RatingProblem`: rating prediction on an `Interactions` split (RMSE, minimised).
* :class:`CTRProblem`: click-through-rate prediction on `FeatureTable` rows (logloss, minimised).

A new task is one class here with the same attributes and methods (:class:`Problem`), plus
its family, splits and metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Protocol

import numpy as np

from . import metrics
from .blocks.graph import DataInfo
from .data.features import FeatureEncoder, FeatureTable
from .data.interactions import Interactions
from .datasets import load as load_dataset
from .datasets import locate
from .datasets.registry import REGISTRY
from .errors import ConfigError
from .estimators import CTRModel, Recommender
from .families import Family, get_family, search_models
from .hparams import HyperParameters
from .splits import Split, make_row_split, make_split

PARTS = ("train", "validation", "test")


class Problem(Protocol):
    """What a task supplies to training runs and to the search."""

    task: str  # "rating" | "ctr"
    metric: str  # the validation metric early stopping, selection and the ensemble use
    direction: str  # "minimize" | "maximize" (of ``metric``)
    metric_names: tuple[str, ...]  # every metric ``scores`` reports
    options: tuple[str, ...]  # estimator options a --set key may name (not model or training keys)
    name: str  # dataset name
    split_name: str

    def family(self, model: str) -> Family: ...
    def default_models(self) -> list[str]: ...
    def search_params(self, model: str, hp: HyperParameters) -> dict: ...
    def fit(self, model: str, params: Mapping[str, Any], train: Mapping[str, Any], on_epoch=None,
            full: bool = False, options: Mapping[str, Any] | None = None, deadline: float | None = None): ...
    def load_estimator(self, path: Path): ...
    def predict(self, estimator, part: str) -> np.ndarray: ...
    def target(self, part: str) -> np.ndarray: ...
    def scores(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]: ...
    def evaluate(self, estimator, part: str) -> dict[str, float]: ...
    def describe(self) -> str: ...
    def run_info(self, estimator) -> dict: ...


class _Common:
    """What both problems share: scoring through ``scores``, better-than by ``direction``."""

    direction = "minimize"

    def evaluate(self, estimator, part: str) -> dict[str, float]:
        """Every metric of ``estimator`` on ``part`` (empty when the part is empty)."""
        y = self.target(part)
        if len(y) == 0:
            return {}
        return self.scores(y, self.predict(estimator, part))

    def better(self, a: float, b: float) -> bool:
        """Whether metric value ``a`` is strictly better than ``b``."""
        return a < b if self.direction == "minimize" else a > b

    def sort_key(self, value: float) -> float:
        """Ascending order of this key is best-first."""
        return value if self.direction == "minimize" else -value

    def family(self, model: str) -> Family:
        return get_family(model, self.task)

    def default_models(self) -> list[str]:
        return search_models(self.task)


class RatingProblem(_Common):
    """Rating prediction on an `Interactions` split: RMSE on validation, RMSE/MAE reported."""

    task = "rating"
    metric = "rmse"
    metric_names = ("rmse", "mae")
    options = ("default_rating", "clip")

    def __init__(self, data: Interactions, split: Split, default_rating: float | str = "global_mean") -> None:
        self.data, self.split, self.default_rating = data, split, default_rating
        self.name, self.split_name = data.name, split.name

    def require_validation(self) -> None:
        if self.split.validation is None or len(self.split.validation) == 0:
            raise ConfigError("the search needs a validation part: choose a split that carves one "
                              "(e.g. random-90-10)")

    def search_params(self, model: str, hp: HyperParameters) -> dict:
        return self.family(model).search_params(model, hp, self.data)

    def fit(self, model, params, train, on_epoch=None, full: bool = False, options=None,
            deadline: float | None = None) -> Recommender:
        opts = {"default_rating": self.default_rating, **dict(options or {})}
        rec = Recommender(model=model, params=params, train=train, **opts)
        if full:  # train + validation, for a refit at the end
            return rec.fit(self.split.train.concat(self.split.validation), None, on_epoch=on_epoch, deadline=deadline)
        return rec.fit(self.split.train, self.split.validation, on_epoch=on_epoch, deadline=deadline)

    def load_estimator(self, path: Path) -> Recommender:
        return Recommender.load(path)

    def _part(self, part: str) -> Interactions | None:
        if part not in PARTS:
            raise ConfigError(f"part must be one of {PARTS}, got {part!r}")
        return getattr(self.split, part)

    def target(self, part: str) -> np.ndarray:
        p = self._part(part)
        return np.zeros(0) if p is None else p.ratings

    def predict(self, estimator, part: str) -> np.ndarray:
        p = self._part(part)
        return estimator.predict_index(p.users, p.items)

    def scores(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        return metrics.rating_scores(y, pred)

    def describe(self) -> str:
        return f"{self.data!r}  split {self.split.describe()}"

    def run_info(self, estimator) -> dict:
        return {"default_rating": estimator.default_value_, "split_summary": self.split.summary()}


class CTRProblem(_Common):
    """Click-through-rate prediction on rows of a `FeatureTable`: logloss on validation,
    logloss/AUC reported.  The feature encoder is fitted on the training rows of each fit."""

    task = "ctr"
    metric = "logloss"
    metric_names = ("logloss", "auc")
    options = ("min_count", "dense_transform")

    def __init__(self, table: FeatureTable, split_name: str = "random-90-10", seed: int = 0) -> None:
        self.table = table
        self.rows = make_row_split(len(table), split_name, seed=seed)
        self.name, self.split_name = table.name, split_name
        self._info: DataInfo | None = None

    def require_validation(self) -> None:
        if len(self.rows["validation"]) == 0:
            raise ConfigError("the search needs validation rows: choose a split that carves them")

    def search_params(self, model: str, hp: HyperParameters) -> dict:
        if self._info is None:  # shapes only: the encoder of the training rows with default settings
            train = self.rows["train"]
            enc = FeatureEncoder().fit(self.table, train).transform(self.table, train[:1])
            self._info = DataInfo.from_encoded(enc, task="ctr")
        return self.family(model).search_params(model, hp, self._info)

    def fit(self, model, params, train, on_epoch=None, full: bool = False, options=None,
            deadline: float | None = None) -> CTRModel:
        rec = CTRModel(model, params=params, train=train, **dict(options or {}))
        if full:
            rows = np.sort(np.concatenate([self.rows["train"], self.rows["validation"]]))
            return rec.fit(self.table, rows, None, on_epoch=on_epoch, deadline=deadline)
        return rec.fit(self.table, self.rows["train"], self.rows["validation"], on_epoch=on_epoch, deadline=deadline)

    def load_estimator(self, path: Path) -> CTRModel:
        return CTRModel.load(path)

    def target(self, part: str) -> np.ndarray:
        if part not in PARTS:
            raise ConfigError(f"part must be one of {PARTS}, got {part!r}")
        return self.table.labels[self.rows[part]].astype(np.float64)

    def predict(self, estimator, part: str) -> np.ndarray:
        return estimator.predict_proba(self.table, self.rows[part])

    def scores(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        return metrics.ctr_scores(y, pred)

    def describe(self) -> str:
        return f"{self.table!r}  rows: " + ", ".join(f"{k} {len(v):,}" for k, v in self.rows.items())

    def run_info(self, estimator) -> dict:
        return {"rows": {k: len(v) for k, v in self.rows.items()}}


TASK_PROBLEMS = {"rating": RatingProblem, "ctr": CTRProblem}


def load_problem(dataset: str, data_path: str | Path | None, split: str, seed: int,
                 task: str | None = None) -> RatingProblem | CTRProblem:
    """Load a dataset, split it by the named protocol and wrap it in its task's problem.

    ``task`` (``rating`` | ``ctr``) is taken from the data when not given, and checked against
    it when given.  Predefined splits (``u1``...) find their files next to the dataset even when
    it was resolved from the cache or ``$AUTOREC_DATA_DIR``.
    """
    if task is not None and task not in TASK_PROBLEMS:
        raise ConfigError(f"--task must be one of {', '.join(TASK_PROBLEMS)}, got {task!r}")
    data = load_dataset(dataset, data_path=data_path)
    if isinstance(data, FeatureTable):
        if task == "rating":
            raise ConfigError(f"{dataset} is CTR data (label + features): pass --task ctr")
        return CTRProblem(data, split, seed=seed)
    if task == "ctr":
        raise ConfigError(f"--task ctr needs a CTR dataset (label + features); {dataset} holds ratings")
    where = data_path
    if where is None:
        if dataset.lower() in REGISTRY:
            where = locate(dataset, None, download=False)
        elif Path(dataset).exists():
            where = Path(dataset)
    return RatingProblem(data, make_split(data, split, seed=seed, data_path=where))
