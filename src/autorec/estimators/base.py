"""What every estimator shares: the scikit-learn parameter contract.

``__init__`` only stores its arguments (validation happens in ``fit``), ``get_params`` returns
exactly those arguments and ``set_params`` sets them, so ``sklearn.base.clone`` and grid tools
work on any autorec estimator without scikit-learn being a dependency.
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping

import numpy as np

from ..data.interactions import id_lookup, map_ids
from ..errors import ConfigError
from ..metrics.ranking import top_k


class ParamsMixin:
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as given (``deep`` is accepted for scikit-learn; autorec
        estimators hold no nested estimators among their arguments)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "ParamsMixin":
        known = self._param_names()
        for key, value in params.items():
            if key not in known:
                raise ConfigError(f"{type(self).__name__} has no parameter {key!r}; known: {', '.join(known)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class IdMapMixin:
    """``_index``: original user or item ids -> indices of the model's id space (-1 where
    unknown), from ``user_ids_`` / ``item_ids_``; each id -> index dict is built once."""

    def _index(self, kind: str, query) -> np.ndarray:
        cache = self.__dict__.setdefault("_id_maps", {})
        if kind not in cache:
            cache[kind] = id_lookup(self.user_ids_ if kind == "user" else self.item_ids_)
        return map_ids(cache[kind], query)


class FittedModelMixin:
    """What a fitted single-model estimator exposes: ``state_`` (the family's FittedState)."""

    @property
    def hparams_(self) -> dict:
        """Every hyperparameter value the fitted architecture depends on."""
        self._check_fitted()
        return self.state_.hparams

    def _check_fitted(self) -> None:
        if not hasattr(self, "state_"):
            name = type(self).__name__
            raise ConfigError(f"this {name} is not fitted yet: call fit() or {name}.load()")


def history_pairs(history) -> tuple[list, np.ndarray]:
    """A user's history as (original item ids, ratings): a mapping ``{item: rating}`` or a
    sequence of ``(item, rating)`` pairs."""
    if isinstance(history, Mapping):
        items, ratings = list(history.keys()), list(history.values())
    else:
        try:
            pairs = [tuple(p) for p in history]
        except TypeError:
            raise ConfigError("a history must be {item: rating, ...} or a list of (item, rating) pairs") from None
        if any(len(p) != 2 for p in pairs):
            raise ConfigError("a history must be {item: rating, ...} or a list of (item, rating) pairs; "
                              "a rating model needs a rating for every item")
        items, ratings = [p[0] for p in pairs], [p[1] for p in pairs]
    try:
        values = np.asarray(ratings, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("every rating in a history must be a number") from None
    if values.ndim != 1:
        raise ConfigError("every rating in a history must be a number")
    return items, values


def check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a whole number >= 1, got {k!r}")
    return int(k)


class TopNMixin:
    """Top-N lists for rating models, from what a model of original ids provides: ``_index``
    (original ids -> indices), ``score_items`` (every item's score for a user index),
    ``seen_item_indices``, ``item_popularity``, ``_history_scores`` (fold-in) and
    ``item_ids_``.

    A list's scores are what ``predict`` gives for the same pairs.  A user the model does not
    know gets the fallback: items by popularity (training ratings), each scored with the default
    rating, flagged as a fallback."""

    def recommend(self, user=None, k: int = 10, exclude_seen: bool = True, exclude=None, history=None,
                  return_fallback: bool = False, n: int | None = None):
        """Top-``k`` ``(item id, predicted rating)`` for one ORIGINAL user id, best first.

        ``exclude_seen`` leaves out the user's training items (or the ``history``'s items);
        ``exclude`` lists more item ids to leave out.  ``history={item: rating, ...}`` ranks for
        a user who is not in the training data, folded in from that history (``user`` then
        stays None).  ``return_fallback=True`` returns ``(list, fallback)``, ``fallback`` being
        True when the list is the popularity fallback for an unknown user.  ``n`` is the older
        name of ``k``."""
        self._check_fitted()
        k = check_k(n if n is not None else k)
        fallback = False
        if history is not None:
            if user is not None:
                raise ConfigError("pass a user id or a history, not both")
            scores, seen = self._history_scores(history)
        else:
            if user is None:
                raise ConfigError("pass a user id, or a history to fold in")
            u = int(self._index("user", [user])[0])
            if u < 0 or not self._known_user(u):
                fallback = True
                scores, seen = self._fallback_scores(), np.empty(0, dtype=np.int64)
            else:
                scores = np.array(self.score_items(u), dtype=np.float64)
                seen = self.seen_item_indices(u)
        top = self._top(scores, seen if exclude_seen else None, exclude, k, tie_break=fallback)
        return (top, fallback) if return_fallback else top

    def recommend_batch(self, users, k: int = 10, exclude_seen: bool = True, return_fallback: bool = False):
        """``recommend`` for many ORIGINAL user ids: one list per user, in order (and, with
        ``return_fallback=True``, a boolean array that flags the fallback lists)."""
        self._check_fitted()
        k = check_k(k)
        users = list(users)
        idx = self._index("user", users)
        known = np.array([u >= 0 and self._known_user(int(u)) for u in idx], dtype=bool)
        lists: list = [None] * len(users)
        rows = np.flatnonzero(known)
        for start in range(0, len(rows), 256):
            part = rows[start:start + 256]
            block = self.score_users(idx[part])
            for r, scores in zip(part, block):
                seen = self.seen_item_indices(int(idx[r])) if exclude_seen else None
                lists[r] = self._top(scores, seen, None, k)
        if not known.all():
            fallback_list = self._top(self._fallback_scores(), None, None, k, tie_break=True)
            for r in np.flatnonzero(~known):
                lists[r] = list(fallback_list)
        return (lists, ~known) if return_fallback else lists

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """Every item's score for each user index, ``len(user_indices) x n_items``."""
        return np.stack([np.asarray(self.score_items(int(u)), dtype=np.float64) for u in user_indices])

    def _known_user(self, u: int) -> bool:
        return bool(self.seen_users_[u])

    def _fallback_scores(self) -> np.ndarray:
        """The default rating for every item, ordered (by ``_top``'s tie break) by popularity."""
        return np.full(len(self.item_ids_), float(self.default_value_), dtype=np.float64)

    def _top(self, scores: np.ndarray, seen, exclude, k: int, tie_break: bool = False) -> list[tuple[Any, float]]:
        scores = np.array(scores, dtype=np.float64)
        if seen is not None and len(seen):
            scores[np.asarray(seen, dtype=np.int64)] = -np.inf
        if exclude is not None:
            ex = self._index("item", exclude)
            scores[ex[ex >= 0]] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        if tie_break:  # equal scores (the fallback's): the most rated items first
            order = np.lexsort((-self.item_popularity(), -scores))[:k]
        else:
            order = top_k(scores[None, :], k)[0]  # stable: equal scores by lower index
        ids = self.item_ids_
        return [(ids[j].item() if hasattr(ids[j], "item") else ids[j], float(scores[j])) for j in order]
