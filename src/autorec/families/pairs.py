"""The block-model family on rating pairs: zoo models (MF, BiasedMF, NeuMF, the feature models
on (user, item) fields, ...) trained on (user, item, rating) mini-batches.

Hyperparameters are replayed with ``FixedHP``: a search draws them define-by-run (the build
asks only what the chosen blocks need) and records them in ``module.hp_values``; the same
values rebuild the same architecture when an artifact is loaded.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from ..blocks.graph import DataInfo
from ..hparams import DataDefaultsHP, DefaultHP, FixedHP, PrefixedHP
from ..models.zoo import (MF_DATA_DEFAULTS, RATING_PAIR_DEFAULTS, ZOO, canonical_name, list_models, make_model,
                          mf_l2_for)
from .base import FittedState, PairTargets, SeenRatings, validate_ratings
from .fold_in import cannot_fold_in, check_history, minimise

BLOCK_TRAIN_DEFAULTS = {"optimizer": "adam", "lr": 2e-3, "batch_size": 1024, "weight_decay": 0.0,
                        "max_epochs": 100, "patience": 5}
# training defaults of one rating pair model that differ from the blocks' own, for `autorec
# train` and the search's first trial of it.  FM at lr 1e-2: better than 2e-3 on each of the
# four ml-latest-small tuning variants by 0.003-0.010 validation RMSE, and the best mean of the
# lr x width grid (benchmarks/tune_defaults.py --models fm-lr; docs/training.md)
RATING_PAIR_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {"fm": {"lr": 1e-2}}


def _own_train_defaults(name: str) -> dict[str, Any]:
    return RATING_PAIR_TRAIN_DEFAULTS.get(canonical_name(name), {})


def _spec(name: str, params: Mapping[str, Any] | None = None):
    # make_model validates the keys: scoped ("deep/units") or bare ("embedding_dim": every block)
    return make_model(name, "rating", **dict(params or {}))


def data_defaults(name: str, train) -> dict[str, Any]:
    """The rating defaults that differ from the blocks' own, by block name: fixed ones
    (``models.zoo.RATING_PAIR_DEFAULTS``) and those that depend on the training data
    (``models.zoo.mf_l2_for``)."""
    name = canonical_name(name)
    out = dict(RATING_PAIR_DEFAULTS.get(name, {}))
    keys = MF_DATA_DEFAULTS.get(name, ())
    if not keys or train is None or len(train) == 0:
        return out
    per_user = len(train) / max(1, int((train.user_counts() > 0).sum()))
    l2 = mf_l2_for(per_user)
    return {**out, **{k: l2 for k in keys}}


def _l2_of(module: torch.nn.Module, key: str) -> float:
    """The per-rating L2 of the block that owns parameter ``key`` (0 when it has none)."""
    parts = key.split(".")[:-1]
    while parts:
        owner = module.get_submodule(".".join(parts))
        if hasattr(owner, "l2"):
            return float(owner.l2)
        parts.pop()
    return 0.0


def _info(train) -> DataInfo:
    return DataInfo.from_interactions(train, "rating", histories=False)


class PairTraining:
    """Training adapter: mini-batches of (user, item, rating) pairs through a block model with
    a rating head.  Each batch's mean loss is weighted by its share of the pairs, so an epoch's
    sum is the mean loss over all training pairs."""

    metric = "rmse"

    def __init__(self, module, users, items, ratings, validation: PairTargets | None, predict_fn, device):
        self.module = module
        self.device = device
        self.users = torch.as_tensor(users, dtype=torch.long, device=device)
        self.items = torch.as_tensor(items, dtype=torch.long, device=device)
        self.ratings = torch.as_tensor(ratings, dtype=torch.float32, device=device)
        self.validation = validation
        self.predict_fn = predict_fn

    def n_examples(self) -> int:
        return len(self.ratings)

    def batch_loss(self, index: np.ndarray):
        idx = torch.as_tensor(index, device=self.device)
        out = self.module({"user": self.users[idx], "item": self.items[idx]})
        loss = self.module.loss(out, self.ratings[idx])  # mean over the batch
        return loss * (len(index) / len(self.ratings))

    def validate(self):
        return validate_ratings(self.validation, self.predict_fn)


class PairBlockFamily(SeenRatings):
    kind = "blocks"
    task = "rating"
    train_space = "blocks"
    # where the search's training range (shared with CTR) starts for rating pair models: the
    # floor of its weight decay, not 1e-5.  Adam's coupled decay of 1e-5 drove BiasedMF's and
    # GMF's embeddings to zero, leaving the biases (validation 0.8937 for both on ml-latest-small
    # seed 1, against 0.8430 and 0.8617 at 1e-7; benchmarks/tune_search_train.py, docs/search.md)
    search_train_defaults = {"weight_decay": 1e-7}

    def names(self) -> list[str]:
        return list_models(task="rating")

    def describe(self, name: str) -> str:
        return f"{ZOO[name].summary} ({ZOO[name].reference})"

    def train_defaults(self, name: str) -> dict:
        return {**BLOCK_TRAIN_DEFAULTS, **_own_train_defaults(name)}

    def search_train_defaults_for(self, name: str) -> dict:
        """Where the search's shared training range starts for ``name``: the family's start,
        and the model's own training defaults where the range has them."""
        return {**self.search_train_defaults, **_own_train_defaults(name)}

    def search_names(self, name: str) -> set[str]:
        """Every hyperparameter name ``search_params`` may ask for (some only conditionally)."""
        return {f"{name}/{n}" for n in _spec(name).tunable()}

    def search_params(self, name: str, hp, data) -> dict:
        """Draw the model's hyperparameters from ``hp`` under the ``name/`` scope."""
        defaults = {f"{name}/{k}": v for k, v in data_defaults(name, data).items()}
        module = _spec(name).build(PrefixedHP(DataDefaultsHP(hp, defaults), name), _info(data))
        return dict(module.hp_values)

    def build(self, name: str, params: Mapping[str, Any], train, device, seed: int = 0) -> FittedState:
        info = _info(train)
        module = _spec(name, params).build(DataDefaultsHP(DefaultHP(), data_defaults(name, train)), info).to(device)
        # every value the architecture depends on: the fixed ones and the defaults asked for
        return FittedState(module, {**params, **module.hp_values}, {"info": info, "train": train, "device": device,
                                                             "seen": train.csr(), "name": name})

    def adapter(self, state: FittedState, train, validation, cfg, predict_fn) -> PairTraining:
        return PairTraining(state.module, train.users, train.items, train.ratings, validation, predict_fn,
                        state.extra["device"])

    def predict(self, state: FittedState, users: np.ndarray, items: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
        dev = state.extra["device"]
        out = np.empty(len(users), dtype=np.float64)
        module = state.module
        for s in range(0, len(users), chunk):
            batch = {"user": torch.as_tensor(users[s:s + chunk], device=dev),
                     "item": torch.as_tensor(items[s:s + chunk], device=dev)}
            # raw head output: the estimator applies the default for unseen ids and the clip
            out[s:s + chunk] = module(batch).detach().cpu().numpy()
        return out

    def score_all_items(self, state: FittedState, user: int) -> np.ndarray | None:
        """Every item's raw score for one user in one matrix-vector product, for MF and
        BiasedMF (``mu + b_u + b_i + Q p_u``); None for the other models, which go through the
        module on all (user, item) pairs.  Equal to that path (test_mf_fast_path_*)."""
        if state.extra["name"] not in ("mf", "biased-mf"):
            return None
        module = state.module
        factors = module.nodes["factors"].tables
        with torch.no_grad():
            out = factors[1].weight @ factors[0].weight[user] + module.head.mean
            if module.head.user_bias is not None:
                out = out + module.head.user_bias.weight[user, 0] + module.head.item_bias.weight[:, 0]
        return out.double().cpu().numpy()

    def fold_in(self, state: FittedState, items: np.ndarray, ratings: np.ndarray, cfg):
        """A scorer (item indices -> raw predictions) for a new user with this history.

        The model is rebuilt for a single user; every tensor is copied from the trained model
        except the user-indexed rows (the user's factors, embeddings and bias), which start at
        the mean trained user and are fitted to the history with everything else fixed, on the
        model's own training loss (squared error plus each block's per-rating L2, summed over
        the history).  For MF and BiasedMF that is a ridge regression."""
        items, ratings = check_history(items, ratings)
        name = state.extra["name"]
        user_keys = self._user_keys(name, state)
        one = self._rebuild_for_users(name, state, 1)
        trained = state.module.state_dict()
        new_state = {}
        for key, value in trained.items():
            new_state[key] = value.mean(0, keepdim=True) if key in user_keys else value
        one.load_state_dict(new_state)
        one = one.double()
        one.train()  # the training loss, with its per-rating L2 penalties; dropout and batch norm off:
        for m in one.modules():
            if isinstance(m, (torch.nn.Dropout, torch.nn.BatchNorm1d)):
                m.eval()
        params = dict(one.named_parameters())
        for key, p in params.items():
            p.requires_grad_(key in user_keys)
        batch = {"user": torch.zeros(len(items), dtype=torch.long), "item": torch.from_numpy(items)}
        target = torch.from_numpy(ratings)
        n = float(len(items))
        # user rows the model trained without L2 (NeuMF's embeddings, by default) were kept small
        # by early stopping alone; fitted freely to a short history they would overfit it, so
        # they get a Gaussian prior from the trained users instead: the mean trained row, each
        # coordinate's variance, weighed against the variance of the training ratings
        priors = []
        ratings_var = float(np.var(state.extra["seen"].data)) if state.extra["seen"].nnz else 1.0
        for key in user_keys:
            if _l2_of(one, key) == 0.0:
                rows = trained[key].double()
                mean, var = rows.mean(0, keepdim=True), rows.var(0, keepdim=True).clamp_min(1e-12)
                priors.append((params[key], mean, ratings_var / var))

        def objective():
            loss = one.loss(one(batch), target) * n  # the mean loss -> its sum over the history
            for p, mean, weight in priors:
                loss = loss + ((p - mean).square() * weight).sum()
            return loss

        minimise([params[k] for k in user_keys], objective)
        one.eval()

        def score(query):
            q = torch.as_tensor(np.asarray(query, dtype=np.int64))
            with torch.no_grad():
                return one({"user": torch.zeros(len(q), dtype=torch.long), "item": q}).numpy().astype(np.float64)
        return score

    def _user_keys(self, name: str, state: FittedState) -> list[str]:
        """The module's user-indexed tensors: those whose shape changes with the number of users
        (compared between builds for one and two users), found once per model."""
        if "fold_in_user_keys" not in state.extra:
            one, two = (self._rebuild_for_users(name, state, n).state_dict() for n in (1, 2))
            keys = [k for k, v in one.items() if v.shape != two[k].shape]
            trained = state.module.state_dict()
            if any(trained[k].shape[0] != state.extra["info"].n_users for k in keys):
                raise cannot_fold_in(name, "its user ids share an embedding table with other fields")
            if not keys:
                raise cannot_fold_in(name, "it has no parameters of its own per user")
            state.extra["fold_in_user_keys"] = keys
        return state.extra["fold_in_user_keys"]

    def _rebuild_for_users(self, name: str, state: FittedState, n_users: int):
        info = state.extra["info"]
        small = DataInfo(task="rating", n_users=n_users, n_items=info.n_items, rating_scale=info.rating_scale,
                         global_mean=info.global_mean)
        return _spec(name, state.hparams).build(FixedHP({}, strict=True), small)

    def shapes(self, state: FittedState) -> dict:
        info = state.extra["info"]
        return {"n_users": info.n_users, "n_items": info.n_items,
                "rating_scale": list(info.rating_scale) if info.rating_scale else None,
                "global_mean": info.global_mean}

    def rebuild(self, name: str, hparams: dict, shapes: dict, tensors: dict, device) -> FittedState:
        info = DataInfo(task="rating", n_users=shapes["n_users"], n_items=shapes["n_items"],
                        rating_scale=tuple(shapes["rating_scale"]) if shapes["rating_scale"] else None,
                        global_mean=shapes["global_mean"])
        module = _spec(name, hparams).build(FixedHP({}, strict=True), info).to(device)
        seen = self.seen_from(tensors, info.n_users, info.n_items)
        return FittedState(module, dict(hparams), {"info": info, "device": device, "seen": seen, "name": name})
