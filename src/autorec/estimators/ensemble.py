"""`Ensemble`: a weighted average of fitted models of one task (what the search's Caruana
selection returns), saved as a folder of member model folders plus ``ensemble.json``.

Predictions are ``ensemble_predict(member predictions, weights)``, the same function the
selection scored on validation, so the saved ensemble predicts exactly what was selected.
For the ranking task the members' scores live on different scales (an ItemKNN sum of
similarities, an iALS dot product), so each user's scores are standardised per member first
(:func:`standardise_rows`: mean 0, standard deviation 1 over the items), then averaged.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import ConfigError
from ..io import ENSEMBLE_FILE, model_dir, read_json, replace_folder, write_json_atomic
from .base import TopNMixin

FORMAT = "autorec-ensemble"
FORMAT_VERSION = 1


def ensemble_predict(preds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_i w_i * preds[i] / sum_i w_i`` for predictions ``n_models x n``."""
    preds = np.asarray(preds, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if preds.ndim != 2 or preds.shape[0] != weights.shape[0]:
        raise ConfigError(f"predictions of shape {preds.shape} do not match {weights.shape[0]} weights")
    if np.any(weights < 0) or weights.sum() <= 0:
        raise ConfigError("ensemble weights must be non-negative with a positive sum")
    return weights @ preds / weights.sum()


def standardise_rows(scores: np.ndarray) -> np.ndarray:
    """Each row (one user's scores of every item) to mean 0 and standard deviation 1; a
    constant row becomes 0."""
    s = np.asarray(scores, dtype=np.float64)
    mean = s.mean(axis=-1, keepdims=True)
    std = s.std(axis=-1, keepdims=True)
    return (s - mean) / np.where(std > 0, std, 1.0)


class Ensemble(TopNMixin):
    """``members``: fitted estimators of one task (all `Recommender`, or all `CTRModel`);
    ``weights``: one non-negative weight each (Caruana's pick counts); ``names``: the member
    folder names (``trial-N`` in a search)."""

    def __init__(self, members: Sequence[Any], weights: Sequence[float], names: Sequence[str] | None = None,
                 task: str | None = None) -> None:
        self.members = list(members)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.names = list(names) if names is not None else [f"member-{i}" for i in range(len(self.members))]
        self.task = task
        if not self.members:
            raise ConfigError("an ensemble needs at least one member")
        if len(self.weights) != len(self.members) or len(self.names) != len(self.members):
            raise ConfigError(f"an ensemble needs one weight and one name per member "
                              f"({len(self.members)} members, {len(self.weights)} weights, {len(self.names)} names)")
        if np.any(~np.isfinite(self.weights)) or np.any(self.weights < 0) or self.weights.sum() <= 0:
            raise ConfigError(f"ensemble weights must be finite, non-negative and not all zero, got {self.weights.tolist()}")

    def _average(self, predict: Callable[[Any], np.ndarray]) -> np.ndarray:
        return ensemble_predict(np.stack([predict(m) for m in self.members]), self.weights)

    # the faces of the members' task: rating models (original ids or indices), CTR models
    def predict(self, users=None, items=None, return_fallback: bool = False, history=None):
        """The weighted average of the members' predictions; ``return_fallback=True`` adds a
        per-row flag that is True where any member answered with its default rating.
        ``history=`` folds a new user in, in every member (``Recommender.predict``)."""
        flags = []  # each member's flag, from the same call that predicts (ids mapped once)

        def member(m):
            pred, fallback = m.predict(users, items, return_fallback=True, history=history)
            flags.append(fallback)
            return pred
        pred = self._average(member)
        return (pred, np.logical_or.reduce(flags)) if return_fallback else pred

    def fallback(self, users, items) -> np.ndarray:
        self._check_fitted()
        return np.logical_or.reduce([m.fallback(users, items) for m in self.members])

    def predict_index(self, users, items) -> np.ndarray:
        return self._average(lambda m: m.predict_index(users, items))

    def predict_proba(self, table, rows=None) -> np.ndarray:
        return self._average(lambda m: m.predict_proba(table, rows))

    # top-N for rating ensembles: members share one id space (one split's, or one pool's)
    def _check_fitted(self) -> None:
        if not hasattr(self.members[0], "item_ids_"):
            raise ConfigError("recommend needs rating models; this ensemble's members score feature rows")

    def _index(self, kind: str, query) -> np.ndarray:
        return self.members[0]._index(kind, query)

    @property
    def item_ids_(self) -> np.ndarray:
        return self.members[0].item_ids_

    @property
    def user_ids_(self) -> np.ndarray:
        return self.members[0].user_ids_

    def _scale(self, scores: np.ndarray) -> np.ndarray:
        return standardise_rows(scores) if self.task == "ranking" else scores

    def score_items(self, user_index: int) -> np.ndarray:
        return self._average(lambda m: self._scale(m.score_items(user_index)))

    def score_users(self, user_indices) -> np.ndarray:
        return self._average(lambda m: self._scale(m.score_users(user_indices)).ravel()).reshape(len(user_indices), -1)

    def _history_scores(self, history):
        seen = []

        def member(m):
            scores, member_seen = m._history_scores(history)
            seen.append(member_seen)
            return self._scale(scores)
        return self._average(member), np.unique(np.concatenate(seen))

    def _fallback_scores(self) -> np.ndarray:
        if self.task == "ranking":  # the members' own fallback: items by popularity
            return self.members[0]._fallback_scores()
        return super()._fallback_scores()

    def evaluate(self, test, k=(10, 20, 50, 100), batch_size: int | None = None, fold_in=None) -> dict[str, float]:
        """Full-ranking metrics of a ranking ensemble (as `TopNModel.evaluate`, ``fold_in``
        included)."""
        from ..metrics.ranking import ranking_metrics

        if self.task != "ranking":
            raise ConfigError("evaluate(test, k) ranks; this ensemble predicts ratings or clicks")
        first = self.members[0]
        if fold_in is None:
            seen, scores = first.seen_, self.score_users
        else:
            pairs = [m.fold_in_scorer(fold_in) for m in self.members]
            seen, scorers = pairs[0][0], [score for _, score in pairs]

            def scores(users):
                each = np.stack([standardise_rows(score(users)).ravel() for score in scorers])
                return ensemble_predict(each, self.weights).reshape(len(users), -1)
        return ranking_metrics(scores, seen, test, k=k, batch_size=batch_size,
                               relevance_threshold=None if first.positive is None else float(first.positive))

    def _known_user(self, u: int) -> bool:
        return any(bool(m.seen_users_[u]) for m in self.members)

    @property
    def default_value_(self) -> float:
        return float(ensemble_predict(np.array([[m.default_value_] for m in self.members]), self.weights)[0])

    def item_popularity(self) -> np.ndarray:
        return np.sum([m.item_popularity() for m in self.members], axis=0)

    def seen_item_indices(self, user_index: int) -> np.ndarray:
        """Every item any member trained on for this user (a bag's fold models saw different ones)."""
        return np.unique(np.concatenate([m.seen_item_indices(user_index) for m in self.members]))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Each member in its own folder beside ``ensemble.json``; written aside and moved in."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # a unique temporary folder: two writers never build into the same one
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.writing."))
        try:
            for member, name in zip(self.members, self.names):
                member.save(tmp / name)
            write_json_atomic(tmp / ENSEMBLE_FILE, {
                "format": FORMAT, "format_version": FORMAT_VERSION, "task": self.task,
                "members": self.names, "weights": self.weights.tolist()})
            replace_folder(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path, load_member: Callable[[Path], Any]) -> "Ensemble":
        """An ensemble folder; ``load_member`` loads one member folder (``autorec.load``)."""
        folder = model_dir(path)
        spec = read_json(folder / ENSEMBLE_FILE)
        version = spec.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ConfigError(f"{folder / ENSEMBLE_FILE}: written by a newer autorec (version {version!r}); upgrade")
        names, weights = spec.get("members"), spec.get("weights")
        if not isinstance(names, list) or not isinstance(weights, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{folder / ENSEMBLE_FILE}: 'members' must be a list of folder names and "
                              "'weights' a list of numbers")
        for n in names:
            if Path(n).name != n or n in ("", ".", ".."):
                raise ConfigError(f"{folder / ENSEMBLE_FILE}: member {n!r} is not a folder name inside the ensemble")
        members = [load_member(folder / n) for n in names]
        return cls(members, weights, names, task=spec.get("task"))
