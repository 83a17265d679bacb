"""Mult-VAE and Mult-DAE (Liang et al. 2018, "Variational autoencoders for collaborative
filtering"): autoencoders of a user's whole 0/1 row with a multinomial likelihood over items.

* Input: the row, L2-normalised, with dropout (keep 0.5 in the paper) while training.
* Encoder ``n_items -> hidden -> latent`` (tanh); Mult-VAE's last encoder layer gives the
  mean and log-variance of q(z | x), Mult-DAE's gives z itself.  Decoder ``latent -> hidden ->
  n_items`` (tanh between), logits over items.
* Loss per user: ``-sum_i x_i log softmax(logits)_i`` (the multinomial log-likelihood), plus for
  the VAE ``beta * KL(q(z|x) || N(0, I))`` with beta annealed linearly from 0 by
  ``1 / anneal_steps`` per training batch up to ``beta_max`` (the paper's partially
  regularised objective, beta_max 0.2, 200,000 steps), plus for the DAE an L2 ``reg`` on the
  weights.  Mean over the users of the batch.
* Scores: the logits of the row (the VAE at the mean of z, no dropout), so a new user folds in
  natively: the history is the row.

The first layer reads the row as a sparse matrix (its cost is the row's entries, not the
catalogue), the decoder's output layer is dense over items (the softmax needs every logit).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch

from ..errors import ConfigError
from .factors import RankingAdapter, RankingValidation, merged_params, non_negative, whole_number

VAE_DESCRIPTIONS = {
    "mult-vae": "Mult-VAE: variational autoencoder of the 0/1 row, multinomial likelihood (Liang et al. 2018)",
    "mult-dae": "Mult-DAE: denoising autoencoder of the 0/1 row, multinomial likelihood (Liang et al. 2018)",
    "cdae": "CDAE: denoising autoencoder of the 0/1 row with a user node, logistic loss (Wu et al. 2016)",
    "u-autorec": "U-AutoRec on the 0/1 matrix: AutoRec's autoencoder of the user row, squared loss on every entry",
    "i-autorec": "I-AutoRec on the 0/1 matrix: AutoRec's autoencoder of the item column, squared loss on every entry",
}

#: the paper's architecture and settings (600-200-600, dropout 0.5, beta_max 0.2 annealed over
#: 200,000 steps, batch 500, Adam 1e-3); docs/topn.md says which were checked here
VAE_DEFAULTS: dict[str, dict[str, Any]] = {
    "mult-vae": {"hidden": 600, "latent": 200, "dropout": 0.5, "beta_max": 0.2, "anneal_steps": 200_000},
    "mult-dae": {"hidden": 600, "latent": 200, "dropout": 0.5, "reg": 0.005},  # the paper's 0.01 on |W|^2 / 2
    # CDAE: the paper's 50 hidden units and sigmoid; corruption 0.2 from its tuned range
    "cdae": {"hidden": 50, "dropout": 0.2, "reg": 0.001},
    # U-AutoRec: the AutoRec paper's 500 sigmoid units and identity output; on a 0/1 matrix the
    # loss covers every entry (on the observed ones alone, all ones, it would learn nothing)
    "u-autorec": {"hidden": 500, "dropout": 0.0, "reg": 0.001},
    # I-AutoRec: the same network over the item's column of users (the paper's better variant on
    # ratings); ``max_pairs`` bounds the users x items score table its scoring builds
    "i-autorec": {"hidden": 500, "dropout": 0.0, "reg": 0.001, "max_pairs": 100_000_000},
}
ROW_AUTOENCODERS = ("cdae", "u-autorec", "i-autorec")  # one hidden layer, no latent code
ITEM_AUTOENCODERS = ("i-autorec",)  # the rows they encode are the items' columns
VAE_TRAIN_DEFAULTS: dict[str, Any] = {"optimizer": "adam", "lr": 1e-3, "batch_size": 500, "max_epochs": 200,
                                      "patience": 10}


def default_batch_size(x: sp.csr_matrix) -> int:
    """The paper's 500 users per batch where there are enough users for 50 steps an epoch,
    fewer (down to 32) below that: on ml-latest-small's 608 users a batch of 500 is one step
    an epoch, and 30 epochs reached validation NDCG@20 0.126 against 0.171 at 32 (docs/topn.md)."""
    users = int((np.diff(x.tocsr().indptr) > 0).sum())
    return int(np.clip(users // 50, 32, 500))


def check_vae_params(name: str, params: Mapping[str, Any] | None) -> dict:
    values = merged_params(name, VAE_DEFAULTS[name], params)
    ints = ("hidden",) if name in ROW_AUTOENCODERS else ("hidden", "latent")
    ints += ("max_pairs",) if name in ITEM_AUTOENCODERS else ()
    for key in ints + (("anneal_steps",) if name == "mult-vae" else ()):
        values[key] = whole_number(name, key, values[key])
    if not isinstance(values["dropout"], (int, float)) or not 0 <= values["dropout"] < 1:
        raise ConfigError(f"{name}: dropout must be in [0, 1), got {values['dropout']!r}")
    for key in ("beta_max",) if name == "mult-vae" else ("reg",):
        values[key] = non_negative(name, key, values[key])
    values["dropout"] = float(values["dropout"])
    return values


class MultVAE(torch.nn.Module):
    def __init__(self, n_items: int, hidden: int, latent: int, dropout: float, variational: bool,
                 seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.variational = variational
        self.dropout = dropout
        self.enc1 = torch.nn.Linear(n_items, hidden)
        self.enc2 = torch.nn.Linear(hidden, 2 * latent if variational else latent)
        self.dec1 = torch.nn.Linear(latent, hidden)
        self.dec2 = torch.nn.Linear(hidden, n_items)
        for layer in (self.enc1, self.enc2, self.dec1, self.dec2):  # Xavier, biases N(0, 0.001) as in the paper
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.normal_(layer.bias, std=0.001)
        self.latent = latent

    def forward(self, rows: sp.csr_matrix, generator: torch.Generator | None = None, users=None):
        """Logits for each row, and the KL term of each (zero for the DAE); ``users`` unused."""
        rows = rows.tocsr().astype(np.float32)
        if self.training and self.dropout > 0:
            keep = torch.rand(rows.nnz, generator=generator) >= self.dropout
            data = torch.from_numpy(rows.data) * keep / (1 - self.dropout)
        else:
            data = torch.from_numpy(rows.data)
        # L2 normalisation of the row (after dropout, as in the paper's code)
        row_of = torch.from_numpy(np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)))
        norm = torch.zeros(rows.shape[0]).index_add_(0, row_of, data ** 2).sqrt().clamp_min(1e-12)
        data = data / norm[row_of]
        at = torch.from_numpy(np.vstack([np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)),
                                         rows.indices]).astype(np.int64))
        x = torch.sparse_coo_tensor(at, data, size=rows.shape, is_coalesced=True, check_invariants=False)
        h = torch.tanh(torch.sparse.mm(x, self.enc1.weight.T) + self.enc1.bias)
        h = self.enc2(h)
        if self.variational:
            mu, logvar = h[:, :self.latent], h[:, self.latent:]
            if self.training:
                eps = torch.randn(mu.shape, generator=generator)
                z = mu + eps * torch.exp(0.5 * logvar)
            else:
                z = mu
            kl = 0.5 * (torch.exp(logvar) + mu ** 2 - 1.0 - logvar).sum(dim=1)
        else:
            z = torch.tanh(h)
            kl = torch.zeros(rows.shape[0])
        return self.dec2(torch.tanh(self.dec1(z))), kl


class RowAutoencoder(torch.nn.Module):
    """CDAE (``user_node``) and U-AutoRec on the 0/1 row: ``h = sigmoid(W x~ + V_u + b)``, scores
    ``W' h + b'`` (raw: the logits for CDAE's logistic loss, AutoRec's identity output).  The
    input is corrupted by dropout while training (CDAE), not normalised."""

    def __init__(self, n_items: int, n_users: int, hidden: int, dropout: float, user_node: bool, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.dropout = dropout
        self.enc = torch.nn.Linear(n_items, hidden)
        self.dec = torch.nn.Linear(hidden, n_items)
        self.user = torch.nn.Embedding(n_users, hidden) if user_node else None
        for layer in (self.enc, self.dec):
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        if self.user is not None:
            torch.nn.init.normal_(self.user.weight, std=0.01)

    def forward(self, rows: sp.csr_matrix, generator: torch.Generator | None = None, users=None):
        rows = rows.tocsr().astype(np.float32)
        data = torch.from_numpy(rows.data)
        if self.training and self.dropout > 0:
            keep = torch.rand(rows.nnz, generator=generator) >= self.dropout
            data = data * keep / (1 - self.dropout)
        at = torch.from_numpy(np.vstack([np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)),
                                         rows.indices]).astype(np.int64))
        x = torch.sparse_coo_tensor(at, data, size=rows.shape, is_coalesced=True, check_invariants=False)
        pre = torch.sparse.mm(x, self.enc.weight.T) + self.enc.bias
        if self.user is not None and users is not None:  # a folded-in user has no node: V_u = 0
            pre = pre + self.user(torch.as_tensor(np.asarray(users, dtype=np.int64)))
        return self.dec(torch.sigmoid(pre)), torch.zeros(rows.shape[0])


def new_module(name: str, values: Mapping[str, Any], n_items: int, seed: int, n_users: int = 0):
    if name in ITEM_AUTOENCODERS:  # input and output: the item's column over the users
        return RowAutoencoder(max(1, n_users), 1, values["hidden"], values["dropout"], False, seed)
    if name in ROW_AUTOENCODERS:
        return RowAutoencoder(n_items, max(1, n_users), values["hidden"], values["dropout"], name == "cdae", seed)
    return MultVAE(n_items, values["hidden"], values["latent"], values["dropout"], name == "mult-vae", seed)


def check_item_table(name: str, values: Mapping[str, Any], n_users: int, n_items: int) -> None:
    """I-AutoRec scores a user from every item's reconstructed column: a users x items table."""
    if name in ITEM_AUTOENCODERS and n_users * n_items > values["max_pairs"]:
        raise ConfigError(f"{name} scores users from a {n_users:,} x {n_items:,} table of every item's reconstructed "
                          f"column ({n_users * n_items * 4 / 2**30:.1f} GiB), above its max_pairs "
                          f"{values['max_pairs']:,}; raise max_pairs if the memory is there, or use u-autorec")


def item_autoencoder_scores(module: "RowAutoencoder", columns: sp.csr_matrix, chunk: int = 4096) -> np.ndarray:
    """Every user's scores of I-AutoRec (users x items): every item's column (``columns``: items
    x users) through the network, in chunks of items."""
    out = np.empty((columns.shape[1], columns.shape[0]), dtype=np.float32)
    with torch.no_grad():
        for s in range(0, columns.shape[0], chunk):
            out[:, s:s + chunk] = module(columns[s:s + chunk])[0].numpy().T
    return out


class MultVAEAdapter(RankingAdapter):
    """The engine's gradient adapter: the examples are the users with a positive."""

    def __init__(self, name: str, module: MultVAE, x: sp.csr_matrix, validation: sp.csr_matrix | None,
                 values: Mapping[str, Any], seed: int, fold_in=None) -> None:
        self.module, self.values, self.name = module, values, name
        # I-AutoRec's examples are the items, their columns its rows
        self.x = x.T.tocsr() if name in ITEM_AUTOENCODERS else x.tocsr()
        self.rows = np.flatnonzero(np.diff(self.x.indptr) > 0)
        self.generator = torch.Generator().manual_seed(seed + 104729)
        self.steps = 0
        self._table = (-1, None)  # I-AutoRec: (steps, every user's scores) for one validation
        if name in ITEM_AUTOENCODERS:
            check_item_table(name, values, *x.shape)
            if fold_in is not None:
                raise ConfigError("i-autorec cannot fold in held-out users (a new user is a new input of its "
                                  "network); use a split whose validation users are in train, or u-autorec")
        if fold_in is None:
            self._validation = RankingValidation(self.scores, x.tocsr(), validation)
        else:  # held-out validation users (strong generalisation): their rows are the input
            history, seen = fold_in
            self._validation = RankingValidation(lambda users: self.module(history[users])[0].numpy(), seen,
                                                 validation)

    def n_examples(self) -> int:
        return len(self.rows)

    def scores(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.int64)
        if self.name in ITEM_AUTOENCODERS:  # every column once per validation, then sliced
            if self._table[0] != self.steps:
                self._table = (self.steps, item_autoencoder_scores(self.module, self.x))
            return self._table[1][users]
        return self.module(self.x[users], users=users)[0].numpy()

    def batch_loss(self, index: np.ndarray) -> torch.Tensor:
        users = self.rows[index]
        batch = self.x[users]
        logits, kl = self.module(batch, self.generator, users=users)
        target = torch.from_numpy(batch.toarray().astype(np.float32))
        if self.name in ROW_AUTOENCODERS:
            # every entry of the row: CDAE's logistic loss, AutoRec's squared error
            if self.name == "cdae":
                per_user = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(1)
            else:
                per_user = ((logits - target) ** 2).sum(1)
            # objective: mean over users of (loss_u + reg |V_u|^2) + reg (|W|^2 + |W'|^2); each
            # batch carries its users' terms and its share of the weights' L2
            m = self.module
            own = per_user.sum()
            if m.user is not None:
                own = own + self.values["reg"] * (m.user.weight[torch.from_numpy(users)] ** 2).sum()
            shared = self.values["reg"] * ((m.enc.weight ** 2).sum() + (m.dec.weight ** 2).sum()) * len(index)
            self.steps += 1
            return (own + shared) / len(self.rows)
        nll = -(torch.log_softmax(logits, dim=1) * target).sum(dim=1)
        if self.name == "mult-vae":
            beta = min(self.values["beta_max"], self.steps / self.values["anneal_steps"])
            loss = (nll + beta * kl).sum()
        else:
            w = self.module
            # the weights' L2 counted once per epoch: each batch carries its share of it
            loss = nll.sum() + self.values["reg"] * len(index) * sum(
                (p ** 2).sum() for p in (w.enc1.weight, w.enc2.weight, w.dec1.weight, w.dec2.weight))
        self.steps += 1
        return loss / len(self.rows)
