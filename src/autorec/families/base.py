"""What a model family is: the interface every family implements, and what it hands back.

A *family* turns a model name (``"i-autorec"``, ``"biased-mf"``, ``"deepfm"``) into a trained
module: it builds the module from data and hyperparameters, supplies the training adapter the
engine runs (:class:`autorec.train.engine.TrainingAdapter`), predicts, and names the tensors an
artifact must hold beyond the module's weights.  Estimators own everything common (id maps,
encoders, defaults for unknown ids, clipping, the artifact); a new family is one module in
this package plus one line in :mod:`.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import numpy as np
import scipy.sparse as sp
import torch

from .. import metrics
from ..hparams import HyperParameters

#: the problem kinds a family can serve
TASKS = ("rating", "ctr", "ranking")


@dataclass
class FittedState:
    """A built (and, after the engine ran, trained) model: its module, every hyperparameter
    value its architecture depends on (enough to rebuild it), and family-specific state."""

    module: torch.nn.Module
    hparams: dict
    extra: dict = field(default_factory=dict)


@dataclass
class PairTargets:
    """Rating pairs in model index space, with their ratings (what validation scores)."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray


def validate_ratings(validation: PairTargets | None, predict_fn) -> dict[str, float] | None:
    """The rating metrics of ``predict_fn(users, items)`` on the validation pairs (None: none)."""
    if validation is None:
        return None
    return metrics.rating_scores(validation.ratings, predict_fn(validation.users, validation.items))


class SeenRatings:
    """For a rating family whose state keeps the training matrix as ``extra["seen"]`` (users x
    items CSR): the popularity, each user's rated items, and the matrix in the artifact."""

    def item_counts(self, state: FittedState) -> np.ndarray:
        """Training ratings per item index."""
        m = state.extra["seen"]
        return np.bincount(m.indices, minlength=m.shape[1]).astype(np.int64)

    def seen_items(self, state: FittedState, user: int) -> np.ndarray:
        m = state.extra["seen"]
        return m.indices[m.indptr[user]:m.indptr[user + 1]]

    def extra_tensors(self, state: FittedState) -> dict[str, torch.Tensor]:
        m = state.extra["seen"]
        return {"seen.indptr": torch.from_numpy(m.indptr.astype(np.int64)),
                "seen.indices": torch.from_numpy(m.indices.astype(np.int64)),
                "seen.data": torch.from_numpy(m.data.astype(np.float32))}

    @staticmethod
    def seen_from(tensors: Mapping[str, torch.Tensor], n_users: int, n_items: int) -> sp.csr_matrix:
        """The training matrix back from ``extra_tensors``' tensors."""
        return sp.csr_matrix((tensors["seen.data"].numpy(), tensors["seen.indices"].numpy(),
                              tensors["seen.indptr"].numpy()), shape=(n_users, n_items))


class Family(Protocol):
    """The interface of a model family.

    ``data`` is what the family trains on: `Interactions` for the rating families, the
    :class:`~autorec.blocks.DataInfo` of encoded feature rows for CTR models.
    """

    kind: str  # recorded in artifacts ("autorec", "blocks", "ctr")
    task: str  # the problem kind it serves, one of TASKS
    train_space: str  # which ranges of training settings the search draws for it

    def names(self) -> list[str]:
        """Canonical model names (hyphenated), in the order ``autorec models`` lists them."""

    def describe(self, name: str) -> str:
        """One line: what the model is, and its reference."""

    def train_defaults(self, name: str) -> dict[str, Any]:
        """Training settings (``TrainConfig`` keys) the model trains with unless told otherwise."""

    def search_names(self, name: str) -> set[str]:
        """Every scoped hyperparameter name (``name/...``) ``search_params`` may ask."""

    def search_params(self, name: str, hp: HyperParameters, data: Any) -> dict[str, Any]:
        """Draw the model's open hyperparameters from ``hp`` (define-by-run, scoped ``name/``)."""

    def build(self, name: str, params: Mapping[str, Any], data: Any, device: torch.device,
              seed: int = 0) -> FittedState:
        """A fresh module for ``data`` with ``params`` fixed and every other value at its default."""

    def adapter(self, state: FittedState, data: Any, validation: Any, cfg: Any,
                predict_fn: Callable[..., np.ndarray]) -> Any:
        """The engine's training adapter: batches, loss and validation for this model."""

    def predict(self, state: FittedState, *inputs: Any) -> np.ndarray:
        """Raw model output for model-space inputs (index pairs, or an encoded feature batch)."""

    def extra_tensors(self, state: FittedState) -> dict[str, torch.Tensor]:
        """Tensors an artifact needs beyond the module's weights (e.g. AutoRec's input matrix)."""

    def shapes(self, state: FittedState) -> dict[str, Any]:
        """JSON-safe sizes ``rebuild`` needs to re-create the module before loading weights."""

    def rebuild(self, name: str, hparams: Mapping[str, Any], shapes: Mapping[str, Any],
                tensors: Mapping[str, torch.Tensor], device: torch.device) -> FittedState:
        """The module of a saved model (weights not loaded yet), from what ``save`` recorded."""


class RatingFamily(Family, Protocol):
    """A family that predicts ratings of (user, item) index pairs."""

    def seen_items(self, state: FittedState, user: int) -> np.ndarray:
        """Indices of the items ``user`` rated in training (excluded from recommendations)."""

    def item_counts(self, state: FittedState) -> np.ndarray:
        """Training ratings per item index (the popularity the cold-start fallback ranks by)."""

    def fold_in(self, state: FittedState, items: np.ndarray, ratings: np.ndarray, cfg: Any
                ) -> Callable[[np.ndarray], np.ndarray]:
        """A scorer (item indices -> raw predictions) for a user outside the training data,
        from that user's history (item indices, ratings); :mod:`.fold_in` says how."""
