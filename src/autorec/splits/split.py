"""`Split`: train / validation / test parts of one `Interactions`, in one id space."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from ..data.interactions import Interactions
from ..errors import ConfigError


@dataclass(frozen=True, eq=False)
class Split:
    """Parts of one `Interactions`, all built with ``data.take`` so they share its id maps.

    ``*_index`` are the row positions of each part in the split `Interactions` (sorted,
    int64); the parts are disjoint and, unless the protocol says otherwise (``predefined``
    with ``allow_unassigned=True``), together cover every row.
    """

    train: Interactions
    validation: Interactions | None
    test: Interactions
    name: str = ""
    seed: int | None = None
    train_index: np.ndarray | None = field(default=None, repr=False)
    validation_index: np.ndarray | None = field(default=None, repr=False)
    test_index: np.ndarray | None = field(default=None, repr=False)
    n_unassigned: int = 0  # rows of the data in no part (only `predefined` can leave any)
    # strong generalisation (Liang et al. 2018): the validation and test users are not in train;
    # each one's history is cut into a fold-in part (what a model sees of the user at
    # evaluation) and the part in ``validation`` / ``test`` (what it must rank)
    validation_fold_in: Interactions | None = field(default=None, repr=False)
    test_fold_in: Interactions | None = field(default=None, repr=False)
    validation_fold_in_index: np.ndarray | None = field(default=None, repr=False)
    test_fold_in_index: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for part_name, part in [*self.parts(), *self.fold_in_parts()]:
            if part.n_users != self.train.n_users or part.n_items != self.train.n_items:
                raise ConfigError(
                    f"split {self.name!r}: the {part_name} part has a different id space "
                    f"({part.n_users} users x {part.n_items} items) from train "
                    f"({self.train.n_users} x {self.train.n_items}); build parts with data.take"
                )

    # ------------------------------------------------------------------ access
    def parts(self) -> Iterator[tuple[str, Interactions]]:
        """(name, part) for train, validation (when present) and test."""
        yield "train", self.train
        if self.validation is not None:
            yield "validation", self.validation
        yield "test", self.test

    def fold_in_parts(self) -> Iterator[tuple[str, Interactions]]:
        """(name, part) for the fold-in parts of a strong-generalisation split (else none)."""
        if self.validation_fold_in is not None:
            yield "validation_fold_in", self.validation_fold_in
        if self.test_fold_in is not None:
            yield "test_fold_in", self.test_fold_in

    def fold_in_of(self, part: str) -> Interactions | None:
        """The fold-in part that goes with ``part`` ("validation" | "test"), or None."""
        return {"validation": self.validation_fold_in, "test": self.test_fold_in}.get(part)

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_items(self) -> int:
        return self.train.n_items

    def train_and_validation(self) -> Interactions:
        """Train plus validation: what a final model is refit on once settings are chosen
        (with a strong-generalisation split, the validation users' fold-in parts too)."""
        if self.validation is None:
            return self.train
        out = self.train.concat(self.validation)
        return out if self.validation_fold_in is None else out.concat(self.validation_fold_in)

    # ------------------------------------------------------------------ reporting
    def summary(self) -> dict[str, Any]:
        """Sizes of each part and how much of validation/test is cold.

        A *cold* user (item) of a part has at least one rating in that part and none in
        train.  ``cold_ratings`` counts the part's ratings whose user or item is cold;
        ``cold_user_ratings`` / ``cold_item_ratings`` count them by cause.  Fractions are
        over the part's distinct users, distinct items and ratings.  All values are plain
        Python ints/floats (JSON-ready).
        """
        train_users = np.zeros(self.n_users, dtype=bool)
        train_users[self.train.users] = True
        train_items = np.zeros(self.n_items, dtype=bool)
        train_items[self.train.items] = True

        out: dict[str, Any] = {
            "name": self.name,
            "seed": self.seed,
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_ratings": sum(len(p) for _, p in [*self.parts(), *self.fold_in_parts()]) + self.n_unassigned,
            "n_unassigned": self.n_unassigned,
            "train": _sizes(self.train),
            "validation": None,
        }
        for part_name, part in self.parts():
            if part_name == "train":
                continue
            sizes = _sizes(part)
            cold_u = ~train_users[part.users]
            cold_i = ~train_items[part.items]
            sizes["cold_users"] = int(np.unique(part.users[cold_u]).size)
            sizes["cold_items"] = int(np.unique(part.items[cold_i]).size)
            sizes["cold_user_ratings"] = int(cold_u.sum())
            sizes["cold_item_ratings"] = int(cold_i.sum())
            sizes["cold_ratings"] = int((cold_u | cold_i).sum())
            sizes["cold_users_fraction"] = _frac(sizes["cold_users"], sizes["users"])
            sizes["cold_items_fraction"] = _frac(sizes["cold_items"], sizes["items"])
            sizes["cold_ratings_fraction"] = _frac(sizes["cold_ratings"], sizes["ratings"])
            out[part_name] = sizes
        for part_name, part in self.fold_in_parts():
            out[part_name] = _sizes(part)
        return out

    def describe(self) -> str:
        """One line: sizes of the parts and the cold share of test."""
        s = self.summary()
        head = self.name or "split"
        if self.seed is not None:
            head += f" (seed {self.seed})"
        val = s["validation"]["ratings"] if s["validation"] is not None else 0
        t = s["test"]
        text = (f"{head}: train {s['train']['ratings']:,} / validation {val:,} / "
                f"test {t['ratings']:,} ratings; test has {t['cold_users']:,} cold users "
                f"({t['cold_users_fraction']:.1%}), {t['cold_items']:,} cold items "
                f"({t['cold_items_fraction']:.1%}), {t['cold_ratings']:,} cold ratings "
                f"({t['cold_ratings_fraction']:.1%})")
        if self.n_unassigned:
            text += f"; {self.n_unassigned:,} ratings in no part"
        folds = [f"{name.split('_')[0]} {s[name]['users']:,} users fold in {s[name]['ratings']:,}"
                 for name, _ in self.fold_in_parts()]
        if folds:
            text += "; held-out users: " + ", ".join(folds)
        return text

    def __repr__(self) -> str:
        return f"Split({self.describe()})"


def _sizes(part: Interactions) -> dict[str, Any]:
    return {
        "ratings": len(part),
        "users": int(np.unique(part.users).size),
        "items": int(np.unique(part.items).size),
    }


def _frac(num: int, den: int) -> float:
    return float(num / den) if den else 0.0
