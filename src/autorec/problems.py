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

import time
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
from .estimators import CTRModel, Ensemble, Recommender, TopNModel
from .families import Family, get_family, search_models
from .families.topn import TOPN_DEFAULTS, is_factored
from .hparams import HyperParameters
from .io import read_array, write_array
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
    def identity(self) -> dict: ...
    def run_info(self, estimator) -> dict: ...
    def require_validation(self) -> None: ...
    def better(self, a: float, b: float) -> bool: ...
    def sort_key(self, value: float) -> float: ...
    def keep(self, estimator, path: Path) -> Path: ...
    # the pool of non-test rows, which cross-validation (CrossValidated) splits into folds
    def pool_size(self) -> int: ...
    def pool_target(self) -> np.ndarray: ...
    def fit_on(self, model, params, train, train_idx, val_idx, on_epoch=None, deadline=None): ...
    def predict_pool(self, estimator, idx) -> np.ndarray: ...


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

    def keep(self, estimator, path: Path) -> Path:
        """Save a trial's estimator so that ``load_estimator`` gives it back (search/results.py)."""
        return estimator.save(path)

    def default_models(self) -> list[str]:
        return search_models(self.task)


def rating_histogram(ratings: np.ndarray, max_values: int = 20) -> dict[str, int]:
    """Ratings per distinct value (the report's histogram); ten equal bins when the ratings
    take more than ``max_values`` distinct values."""
    ratings = np.asarray(ratings, dtype=np.float64)
    if len(ratings) == 0:
        return {}
    values, counts = np.unique(ratings, return_counts=True)
    if len(values) <= max_values:
        return {f"{v:g}": int(c) for v, c in zip(values, counts)}
    counts, edges = np.histogram(ratings, bins=10)
    return {f"{a:.3g}..{b:.3g}": int(c) for a, b, c in zip(edges[:-1], edges[1:], counts)}


class _OnSplit(_Common):
    """What the problems on an `Interactions` split share: the data and the split, its parts
    and their ratings, the validation a search needs, and the identity a study records."""

    #: the split named in the error when a search finds no validation part
    validation_example = "random-90-10"

    def __init__(self, data: Interactions, split: Split) -> None:
        self.data, self.split = data, split
        self.name, self.split_name = data.name, split.name

    def require_validation(self) -> None:
        if self.split.validation is None or len(self.split.validation) == 0:
            raise ConfigError("the search needs a validation part: choose a split that carves one "
                              f"(e.g. {self.validation_example})")

    def _part(self, part: str) -> Interactions | None:
        if part not in PARTS:
            raise ConfigError(f"part must be one of {PARTS}, got {part!r}")
        return getattr(self.split, part)

    def target(self, part: str) -> np.ndarray:
        p = self._part(part)
        return np.zeros(0) if p is None else p.ratings

    def identity(self) -> dict:
        """What makes two problems the same: task, data (name and content), split (a search
        records it and refuses to resume on anything else, ``search/identity.py``)."""
        return {"task": self.task, "dataset": self.name, "fingerprint": self.data.fingerprint(),
                "split": self.split.name, "split_seed": self.split.seed,
                "rows": {part: len(self.target(part)) for part in PARTS}}


class RatingProblem(_OnSplit):
    """Rating prediction on an `Interactions` split: RMSE on validation, RMSE/MAE reported."""

    task = "rating"
    metric = "rmse"
    metric_names = ("rmse", "mae")
    options = ("default_rating", "clip")

    def __init__(self, data: Interactions, split: Split, default_rating: float | str = "biases") -> None:
        super().__init__(data, split)
        self.default_rating = default_rating

    def search_params(self, model: str, hp: HyperParameters) -> dict:
        return self.family(model).search_params(model, hp, self.data)

    def fit(self, model, params, train, on_epoch=None, full: bool = False, options=None,
            deadline: float | None = None) -> Recommender:
        opts = {"default_rating": self.default_rating, **dict(options or {})}
        rec = Recommender(model=model, params=params, train=train, **opts)
        if full:  # train + validation, for a refit at the end
            return rec.fit(self._pool(), None, on_epoch=on_epoch, deadline=deadline)
        return rec.fit(self.split.train, self.split.validation, on_epoch=on_epoch, deadline=deadline)

    def load_estimator(self, path: Path) -> Recommender:
        return Recommender.load(path)

    # the pool: every non-test rating (train + validation), for cross-validation
    def pool_size(self) -> int:
        return len(self.split.train) + len(self.split.validation)

    def _pool(self) -> Interactions:
        if getattr(self, "_pool_data", None) is None:
            self._pool_data = self.split.train.concat(self.split.validation)
        return self._pool_data

    def pool_target(self) -> np.ndarray:
        return self._pool().ratings

    def fit_on(self, model, params, train, train_idx, val_idx, on_epoch=None, deadline=None) -> Recommender:
        pool = self._pool()
        rec = Recommender(model=model, params=params, train=train, default_rating=self.default_rating)
        return rec.fit(pool.take(train_idx), pool.take(val_idx), on_epoch=on_epoch, deadline=deadline)

    def predict_pool(self, estimator, idx) -> np.ndarray:
        pool = self._pool()
        return estimator.predict_index(pool.users[idx], pool.items[idx])

    def predict(self, estimator, part: str) -> np.ndarray:
        p = self._part(part)
        return estimator.predict_index(p.users, p.items)

    def scores(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        return metrics.rating_scores(y, pred)

    def describe(self) -> str:
        return f"{self.data!r}  split {self.split.describe()}"

    def run_info(self, estimator) -> dict:
        return {"default_rating": estimator.default_value_, "split_summary": self.split.summary(),
                "rating_histogram": rating_histogram(self.split.train.ratings)}


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
        self.name, self.split_name, self.seed = table.name, split_name, seed
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
            return rec.fit(self.table, self._pool(), None, on_epoch=on_epoch, deadline=deadline)
        return rec.fit(self.table, self.rows["train"], self.rows["validation"], on_epoch=on_epoch, deadline=deadline)

    def load_estimator(self, path: Path) -> CTRModel:
        return CTRModel.load(path)

    # the pool: every non-test row (train + validation), for cross-validation
    def _pool(self) -> np.ndarray:
        return np.sort(np.concatenate([self.rows["train"], self.rows["validation"]]))

    def pool_size(self) -> int:
        return len(self.rows["train"]) + len(self.rows["validation"])

    def pool_target(self) -> np.ndarray:
        return self.table.labels[self._pool()].astype(np.float64)

    def fit_on(self, model, params, train, train_idx, val_idx, on_epoch=None, deadline=None) -> CTRModel:
        pool = self._pool()
        rec = CTRModel(model, params=params, train=train)
        return rec.fit(self.table, pool[np.sort(train_idx)], pool[np.sort(val_idx)], on_epoch=on_epoch,
                       deadline=deadline)

    def predict_pool(self, estimator, idx) -> np.ndarray:
        return estimator.predict_proba(self.table, self._pool()[idx])

    def target(self, part: str) -> np.ndarray:
        if part not in PARTS:
            raise ConfigError(f"part must be one of {PARTS}, got {part!r}")
        return self.table.labels[self.rows[part]].astype(np.float64)

    def predict(self, estimator, part: str) -> np.ndarray:
        return estimator.predict_proba(self.table, self.rows[part])

    def scores(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        return metrics.ctr_scores(y, pred)

    def identity(self) -> dict:
        return {"task": self.task, "dataset": self.name, "fingerprint": self.table.fingerprint(),
                "split": self.split_name, "split_seed": self.seed,
                "rows": {part: len(v) for part, v in self.rows.items()}}

    def describe(self) -> str:
        return f"{self.table!r}  rows: " + ", ".join(f"{k} {len(v):,}" for k, v in self.rows.items())

    def run_info(self, estimator) -> dict:
        return {"rows": {k: len(v) for k, v in self.rows.items()}}


class CrossValidated(_Common):
    """A problem whose configurations are scored by K-fold cross-validation on every non-test
    row (train + validation), for data whose validation part is too small to select on.

    Each fit trains K models, fold ``f``'s on the other folds with early stopping on fold ``f``
    (the first fold's curve is what the pruner sees, so every trial is compared on the same
    fold).  The configuration's score is the metric of the out-of-fold predictions, one per
    pool row; the estimator returned is the *bag* of the K fold models (an `Ensemble` with equal
    weights, as AutoGluon bags), so no model is refitted and every pool row trained K-1 of them.
    "validation" below means the out-of-fold predictions of the pool; "test" is the base
    problem's test part, untouched until the end.
    """

    def __init__(self, base, k: int = 5, seed: int = 0) -> None:
        if k < 2:
            raise ConfigError(f"cross-validation needs at least 2 folds, got {k}")
        if base.pool_size() < 2 * k:
            raise ConfigError(f"{base.pool_size()} non-test rows are too few for {k} folds")
        self.base, self.k, self.seed = base, int(k), seed
        order = np.random.default_rng([seed, 7]).permutation(base.pool_size())
        self.folds = [np.sort(f) for f in np.array_split(order, self.k)]
        for name in ("task", "metric", "direction", "metric_names", "options", "name"):
            setattr(self, name, getattr(base, name))
        self.split_name = f"{base.split_name} ({self.k}-fold cross-validation on train + validation)"

    def __getattr__(self, name):  # family, default_models, search_params, better, sort_key, describe, ...
        if name == "base":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.base, name)

    def identity(self) -> dict:
        return {**self.base.identity(), "cv_folds": self.k}

    def require_validation(self) -> None:
        pass  # the folds are the validation

    def fit(self, model, params, train, on_epoch=None, full: bool = False, options=None, deadline=None,
            on_fold=None):
        """The bag of the K fold models.  ``on_fold(f, score)`` hears fold ``f``'s metric on its
        held-out rows as each fold ends; it may raise (the search stops a trial after its first
        fold that way) and the folds left are not trained."""
        members, oof, seconds = [], np.full(self.base.pool_size(), np.nan), 0.0
        target = self.base.pool_target() if on_fold is not None else None
        start = time.monotonic()
        for f, held in enumerate(self.folds):
            rest = np.concatenate([g for i, g in enumerate(self.folds) if i != f])
            # each fold gets its share of the time left, so that a limit leaves every fold trained
            fold_deadline = None if deadline is None else start + (deadline - start) * (f + 1) / self.k
            est = self.base.fit_on(model, params, train, rest, held, on_epoch=on_epoch if f == 0 else None,
                                   deadline=fold_deadline)
            oof[held] = self.base.predict_pool(est, held)
            seconds += est.fit_seconds_
            members.append(est)
            if not est.history_.epochs:
                break  # its share ended before one epoch: the score is incomplete (complete_ is False)
            if on_fold is not None:
                on_fold(f, float(self.base.scores(target[held], oof[held])[self.metric]))
        bag = Ensemble(members, np.ones(len(members)), [f"fold-{i}" for i in range(len(members))], task=self.task)
        bag.history_ = members[0].history_  # the first fold's curve: what the pruner compared
        bag.fit_seconds_ = seconds
        return self._describe(bag, oof)

    def _describe(self, bag: Ensemble, oof: np.ndarray) -> Ensemble:
        """What the search reads off a bag, as off a single model: its first member's name,
        hyperparameters and training settings, and its out-of-fold predictions."""
        first = bag.members[0]
        bag.model_, bag.hparams_, bag.train_config_ = first.model_, first.hparams_, first.train_config_
        bag.oof_ = oof
        bag.complete_ = len(bag.members) == self.k
        return bag

    def target(self, part: str) -> np.ndarray:
        return self.base.pool_target() if part == "validation" else self.base.target(part)

    def predict(self, estimator, part: str) -> np.ndarray:
        if part == "validation":
            return estimator.oof_
        return self.base.predict(estimator, part)

    def keep(self, estimator, path: Path) -> Path:
        path = estimator.save(path)
        write_array(path / "oof.safetensors", estimator.oof_)
        return path

    def load_estimator(self, path: Path):
        bag = Ensemble.load(path, load_member=self.base.load_estimator)
        return self._describe(bag, read_array(path / "oof.safetensors"))


class RankingProblem(_OnSplit):
    """Top-N ranking on an `Interactions` split (implicit, or ratings turned positive at
    ``positive``): NDCG@20 on validation, maximised; Recall, Precision, NDCG, HR, MRR, MAP,
    coverage and popularity at 10, 20, 50 and 100 reported, by full ranking with each user's
    training items excluded.

    A ranking has no per-row prediction, so ``predict`` returns the part's metrics and
    ``scores`` passes them through: the search's finalisation then reads them where it reads a
    rating problem's.  Cross-validation and the Caruana ensemble (both per-row) do not apply
    (``pointwise = False``, ``ensembles = False``)."""

    task = "ranking"
    metric = "ndcg@20"
    metric_names = ("recall@20", "ndcg@20")
    direction = "maximize"
    options = ("positive",)
    pointwise = False
    ensembles = False  # no per-row Caruana; the ranking ensemble instead (rank_ensembles)
    rank_ensembles = True
    KS = (10, 20, 50, 100)
    validation_example = "loo, or lightgcn with a valid.txt"

    def __init__(self, data: Interactions, split: Split, positive: float | None = None) -> None:
        super().__init__(data, split)
        if positive is None and not data.implicit:
            positive = 4.0  # the usual cut on a 5-star scale; --set positive=... changes it
        self.positive = positive

    def search_params(self, model: str, hp: HyperParameters) -> dict:
        return self.family(model).search_params(model, hp, self.split.train)

    #: above this many (user, item) pairs the block models (NeuMF, ...) and I-AutoRec are left out
    #: of the default search: each validation runs a network on every pair (Gowalla: 1.2 billion)
    BLOCK_MODELS_MAX_PAIRS = 50_000_000

    def default_models(self) -> list[str]:
        """The ranking models, less EASE where its dense item x item matrix exceeds its item
        limit (every EASE trial would fail there), less the block models and I-AutoRec where
        scoring every (user, item) pair each epoch would take minutes, and on a strong-
        generalisation split less the models that cannot fold its validation users in (each of
        their trials would fail); ``--models`` still runs them."""
        from .families.multvae import ITEM_AUTOENCODERS
        from .families.ranking_blocks import BLOCK_RANKING_MODELS
        from .families.topn import folds_in_held_out_users

        models = super().default_models()
        if self.data.n_items > TOPN_DEFAULTS["ease"]["max_items"]:
            models = [m for m in models if m != "ease"]
        if self.data.n_users * self.data.n_items > self.BLOCK_MODELS_MAX_PAIRS:
            models = [m for m in models if m not in BLOCK_RANKING_MODELS + ITEM_AUTOENCODERS]
        if self.split.validation_fold_in is not None:
            models = [m for m in models if folds_in_held_out_users(m)]
        return models

    def fit(self, model, params, train, on_epoch=None, full: bool = False, options=None,
            deadline: float | None = None) -> TopNModel:
        positive = dict(options or {}).get("positive", self.positive)
        est = TopNModel(model, params=params, positive=positive, train=self._epoch_settings(model, train))
        if full:  # train + validation (and its users' fold-in parts), for a refit at the end
            return est.fit(self.split.train_and_validation(), deadline=deadline)
        return est.fit(self.split.train, self.split.validation, on_epoch=on_epoch, deadline=deadline,
                       validation_fold_in=self.split.validation_fold_in)

    @staticmethod
    def _epoch_settings(model: str, train: Mapping[str, Any] | None) -> dict:
        """The training settings a model takes: the closed forms none (the search passes its
        epochs and seed to every trial; they mean nothing to a solve, but a step setting given
        for one is a mistake worth a line)."""
        name = str(model).strip().lower()
        if is_factored(name):
            return dict(train or {})
        stepped = sorted(set(train or {}) & {"lr", "batch_size", "optimizer", "weight_decay", "l2", "precision"})
        if stepped:
            raise ConfigError(f"{name} is solved in closed form, not trained by steps: the setting(s) "
                              f"{', '.join(stepped)} do not apply to it")
        return {}

    def load_estimator(self, path: Path) -> TopNModel:
        return TopNModel.load(path)

    def predict(self, estimator, part: str) -> dict[str, float]:
        return self.evaluate(estimator, part)

    def scores(self, y, pred) -> dict[str, float]:
        return pred

    def evaluate(self, estimator, part: str) -> dict[str, float]:
        p = self._part(part)
        if p is None or len(p) == 0:
            return {}
        # every ranking metric at every K (metrics.ranking); held-out users folded in first
        return estimator.evaluate(p, k=self.KS, fold_in=self.split.fold_in_of(part))

    def identity(self) -> dict:
        return {**super().identity(), "positive": self.positive}

    # ------------------------------------------------------------------ the ranking ensemble
    def validation_sample(self, n: int, seed: int) -> np.ndarray:
        """Up to ``n`` validation users with a relevant item (sorted indices, seeded): the users
        the ensemble's weights are chosen on."""
        v = self.split.validation
        keep = np.ones(len(v), dtype=bool) if self.positive is None else v.ratings >= float(self.positive)
        users = np.unique(v.users[keep])
        if len(users) > n:
            users = np.sort(np.random.default_rng(seed).choice(users, size=n, replace=False))
        return users.astype(np.int64)

    def sample_scores(self, estimator, users: np.ndarray) -> np.ndarray:
        """A member's scores of every item for validation ``users`` (folded in first when they
        are held out)."""
        fold = self.split.validation_fold_in
        if fold is None:
            return estimator.score_users(users)
        return estimator.fold_in_scorer(fold)[1](users)

    def sample_metric(self, users: np.ndarray, block: np.ndarray) -> float:
        """Validation NDCG@20 of ``block`` (scores of ``users`` x every item)."""
        seen = self.split.train if self.split.validation_fold_in is None else self.split.validation_fold_in
        return metrics.ranking_metrics(lambda idx: block[np.searchsorted(users, idx)], seen,
                                       self.split.validation, k=(20,), users=users,
                                       relevance_threshold=self.positive)[self.metric]

    def _threshold(self) -> str:
        """'>= 4', or '> 3' for a threshold just above 3 (``--positive '>3'``)."""
        import math

        below = math.nextafter(float(self.positive), -math.inf)
        if float(repr(round(below, 6))) == below:
            return f"> {below:g}"
        return f">= {self.positive:g}"

    def describe(self) -> str:
        what = "every interaction a positive" if self.positive is None else f"positives: ratings {self._threshold()}"
        return f"{self.data!r}  split {self.split.describe()}; {what}"

    def run_info(self, estimator) -> dict:
        return {"positive": self.positive, "split_summary": self.split.summary()}


TASK_PROBLEMS = {"rating": RatingProblem, "ctr": CTRProblem, "ranking": RankingProblem}


def load_problem(dataset: str, data_path: str | Path | None, split: str, seed: int,
                 task: str | None = None, load_options: Mapping[str, Any] | None = None,
                 positive: float | None = None) -> RatingProblem | CTRProblem | RankingProblem:
    """Load a dataset, split it by the named protocol and wrap it in its task's problem.

    ``task`` (``rating`` | ``ctr`` | ``ranking``) is taken from the data when not given
    (implicit feedback: ranking), and checked against it when given.  ``positive``: the rating
    threshold of a ranking on ratings (``--positive``; default 4).  Predefined splits (``u1``...) find their files next to the dataset even when
    it was resolved from the cache or ``$AUTOREC_DATA_DIR``.
    """
    if task is not None and task not in TASK_PROBLEMS:
        raise ConfigError(f"--task must be one of {', '.join(TASK_PROBLEMS)}, got {task!r}")
    data = load_dataset(dataset, data_path=data_path, **dict(load_options or {}))
    if isinstance(data, FeatureTable):
        if positive is not None:
            raise ConfigError("--positive is for a ranking on ratings; this is CTR data (its label is the click)")
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
    if data.implicit and task == "rating":
        raise ConfigError(f"{dataset} is implicit feedback (no ratings to predict): pass --task ranking")
    if positive is not None and not (task == "ranking" or data.implicit):
        raise ConfigError("--positive says which ratings are positives for a ranking: pass --task ranking too")
    if positive is not None and data.implicit:
        raise ConfigError(f"{dataset} is implicit feedback: every interaction is a positive, so --positive "
                          "has nothing to choose")
    split_obj = make_split(data, split, seed=seed, data_path=where)
    if task == "ranking" or data.implicit:
        return RankingProblem(data, split_obj, positive=positive)
    return RatingProblem(data, split_obj)
