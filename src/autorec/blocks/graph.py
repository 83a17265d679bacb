"""Blocks and their composition into a model.

A *block* is a spec, not a module: it declares hyperparameters (see :mod:`autorec.hparams`) and,
given a :class:`~autorec.hparams.HyperParameters` source and the shapes of its inputs,
builds a ``torch.nn.Module``.  Three roles, as in the AutoRec platform (Wang et al.):

* a :class:`Mapper` turns raw inputs of a batch (ids, categorical codes, dense values, rating
  histories) into embeddings;
* an :class:`Interactor` combines the outputs of mappers or of other interactors;
* a :class:`Head` turns the combined result into a prediction and owns the loss.

Every tensor passed between blocks is ``[B, F, k]``: ``F`` vectors ("fields") of width ``k``.
A flat vector is one field (``F == 1``).  Field-wise interactors (FM, attention, CIN, ...)
see the ``F`` vectors; flat interactors (MLP, concatenate, cross network) see ``F * k`` values.

:class:`BlockModel` wires blocks into a graph and builds a :class:`BlockModule` that takes a
batch dict -- rating pairs ``{"user", "item"}`` or CTR rows ``{"dense", "categorical"}`` -- and
returns the head's output, one value per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..errors import ConfigError, DataError
from ..hparams import UNSET, Choice, HParam, HyperParameters, RecordingHP, Tunable, unique_names

TASKS: tuple[str, ...] = ("rating", "ctr")


# --------------------------------------------------------------------------- shapes and data
@dataclass(frozen=True)
class Shape:
    """The shape of a block's output, ``[B, fields, dim]`` (batch dimension left out)."""

    fields: int
    dim: int

    @property
    def width(self) -> int:
        return self.fields * self.dim


@dataclass(frozen=True, eq=False)
class DataInfo:
    """What a build needs to know about the data.

    Rating pairs set ``n_users``/``n_items`` (their categorical view is the two fields
    ``user`` and ``item``); CTR rows set ``vocab_sizes`` (one per categorical field, counting
    code 0, the out-of-vocabulary bucket) and ``n_dense``.  ``global_mean`` is the mean rating
    for the rating task and the positive rate for the CTR task.  ``user_history`` (users x
    items) and ``item_history`` (items x users) are training ratings, used by
    :class:`~autorec.blocks.mappers.RatingHistory`.
    """

    task: str
    n_users: int = 0
    n_items: int = 0
    vocab_sizes: tuple[int, ...] = ()
    field_names: tuple[str, ...] = ()
    n_dense: int = 0
    dense_names: tuple[str, ...] = ()
    rating_scale: tuple[float, float] | None = None
    global_mean: float = 0.0
    user_history: sp.csr_matrix | None = field(default=None, repr=False)
    item_history: sp.csr_matrix | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {TASKS}, got {self.task!r}")
        for name in ("n_users", "n_items", "n_dense"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"DataInfo.{name} must not be negative, got {getattr(self, name)}")
        sizes = tuple(int(v) for v in self.vocab_sizes)
        for i, v in enumerate(sizes):
            if v < 1:
                raise ConfigError(f"DataInfo.vocab_sizes[{i}] must be at least 1, got {v}")
        object.__setattr__(self, "vocab_sizes", sizes)
        if (self.n_users > 0) != (self.n_items > 0):
            raise ConfigError("DataInfo needs both n_users and n_items for rating pairs, or neither")
        names = tuple(self.field_names) or tuple(f"c{i}" for i in range(len(sizes)))
        if len(names) != len(sizes):
            raise ConfigError(f"{len(names)} field_names for {len(sizes)} vocab_sizes")
        object.__setattr__(self, "field_names", names)
        dnames = tuple(self.dense_names) or tuple(f"d{i}" for i in range(self.n_dense))
        if len(dnames) != self.n_dense:
            raise ConfigError(f"{len(dnames)} dense_names for n_dense={self.n_dense}")
        object.__setattr__(self, "dense_names", dnames)
        if self.rating_scale is not None:
            lo, hi = (float(v) for v in self.rating_scale)
            if not lo <= hi:
                raise ConfigError(f"rating_scale {self.rating_scale} has min > max")
            object.__setattr__(self, "rating_scale", (lo, hi))
        for name, expect in (("user_history", (self.n_users, self.n_items)),
                             ("item_history", (self.n_items, self.n_users))):
            mat = getattr(self, name)
            if mat is None:
                continue
            mat = sp.csr_matrix(mat, dtype=np.float32)
            if mat.shape != expect:
                raise ConfigError(f"DataInfo.{name} has shape {mat.shape}, expected {expect}")
            mat.sort_indices()
            object.__setattr__(self, name, mat)

    @property
    def pairs(self) -> bool:
        """True for rating-pair data (batches carry ``user`` and ``item`` indices)."""
        return self.n_users > 0

    @property
    def categorical_sizes(self) -> tuple[int, ...]:
        """Vocabulary size of each categorical field; rating pairs are the fields (user, item)."""
        if self.vocab_sizes:
            return self.vocab_sizes
        return (self.n_users, self.n_items) if self.pairs else ()

    @property
    def categorical_names(self) -> tuple[str, ...]:
        if self.vocab_sizes:
            return self.field_names
        return ("user", "item") if self.pairs else ()

    @classmethod
    def from_interactions(cls, train, task: str = "rating", histories: bool = True) -> "DataInfo":
        """Shapes of an :class:`~autorec.data.interactions.Interactions` training set.

        For ``task="ctr"`` the ratings are taken as 0/1 labels and ``global_mean`` is the
        positive rate (0 -- "unknown" -- unless both labels occur).
        """
        user_hist = train.csr() if histories else None
        mean = train.global_mean if len(train) else 0.0
        if task == "ctr":
            labels = np.unique(train.ratings)
            # only 0/1 labels give a positive rate; implicit positives (negatives sampled
            # later by the training loop) leave the head at p = 0.5
            mean = mean if set(labels.tolist()) == {0.0, 1.0} else 0.0
        return cls(
            task=task,
            n_users=train.n_users,
            n_items=train.n_items,
            rating_scale=train.rating_scale if task == "rating" else None,
            global_mean=mean,
            user_history=user_hist,
            item_history=None if user_hist is None else user_hist.T.tocsr(),
        )

    @classmethod
    def from_encoded(cls, encoded, task: str = "ctr") -> "DataInfo":
        """Shapes of encoded training rows (``autorec.data.features.EncodedFeatures``: ``label``,
        ``dense``, ``categorical``, ``vocab_sizes``, ``field_names``, ``dense_names``)."""
        label = np.asarray(encoded.label, dtype=np.float64)
        return cls.for_features(
            encoded.vocab_sizes, np.asarray(encoded.dense).shape[1], task=task,
            global_mean=float(label.mean()) if len(label) else 0.0,
            field_names=tuple(encoded.field_names), dense_names=tuple(encoded.dense_names or ()),
        )

    @classmethod
    def for_features(
        cls,
        vocab_sizes: Sequence[int],
        n_dense: int = 0,
        *,
        task: str = "ctr",
        global_mean: float = 0.0,
        field_names: Sequence[str] = (),
        dense_names: Sequence[str] = (),
        rating_scale: tuple[float, float] | None = None,
    ) -> "DataInfo":
        """Shapes of encoded feature rows (categorical codes with 0 = unseen, dense floats)."""
        return cls(task=task, vocab_sizes=tuple(vocab_sizes), n_dense=int(n_dense),
                   field_names=tuple(field_names), dense_names=tuple(dense_names),
                   global_mean=float(global_mean), rating_scale=rating_scale)


def categorical_view(batch: Mapping[str, torch.Tensor], pairs: bool) -> torch.Tensor:
    """The batch's categorical codes ``[B, F]``; for rating pairs, the columns (user, item)."""
    if "categorical" in batch:
        return batch["categorical"]
    if pairs:
        return torch.stack([require(batch, "user"), require(batch, "item")], dim=1)
    raise DataError("the batch has no 'categorical' codes")


def require(batch: Mapping[str, torch.Tensor], key: str) -> torch.Tensor:
    if key not in batch:
        raise DataError(f"the batch has no {key!r} tensor (it has {sorted(batch)})")
    return batch[key]


# --------------------------------------------------------------------------- hp sources
# --------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Tie:
    """Pass as a hyperparameter value to share it with ``block``'s ``key`` (default: the same key).

    ``RatingHistory("item", units=Tie(user_factors, "embedding_dim"))`` makes the encoder as
    wide as the user embedding, whatever value the search picks for it.
    """

    block: "Block"
    key: str | None = None


class Block(Tunable):
    """A searchable building block.  Subclasses set ``hparams`` and implement ``build``.

    Keyword arguments named in ``hparams`` are fixed values (never searched); a :class:`Tie`
    shares another block's value; ``defaults`` changes the default of hyperparameters that
    stay searchable.
    """

    role: ClassVar[str] = "block"

    def __init__(self, name: str | None = None, defaults: Mapping[str, Any] | None = None,
                 **fixed: Any) -> None:
        if defaults:
            # a model's own defaults (NCF's halving tower) for hyperparameters left searchable
            unknown = sorted(set(defaults) - set(self.hparams))
            if unknown:
                raise ConfigError(f"{type(self).__name__} has no hyperparameter(s) {unknown} to "
                                  f"give a default; known: {sorted(self.hparams)}")
            table = dict(self.hparams)
            for k, v in defaults.items():
                spec = table[k]
                value = spec.validate(v, f"default of {k}")
                if spec.low is not None and not spec.low <= value <= spec.high:
                    raise ConfigError(f"default {k}={v!r} is outside the search range "
                                      f"[{spec.low:g}, {spec.high:g}]")
                table[k] = replace(spec, default=value)
            self.hparams = table
        ties = {k: v for k, v in fixed.items() if isinstance(v, Tie)}
        super().__init__(name=name, **{k: v for k, v in fixed.items() if k not in ties})
        self.ties: dict[str, tuple[Block, str]] = {}
        for key, tie in ties.items():
            other_key = tie.key or key
            if not isinstance(tie.block, Block) or other_key not in tie.block.hparams:
                raise ConfigError(f"{self.name}/{key} is tied to {tie.block!r}, which has no "
                                  f"hyperparameter {other_key!r}")
            self.ties[key] = (tie.block, other_key)

    def hp(self, source: HyperParameters, key: str) -> Any:
        if key in self.ties:
            other, other_key = self.ties[key]
            return other.hp(source, other_key)
        return super().hp(source, key)

    def tunable(self) -> dict[str, HParam]:
        return {f"{self.name}/{k}": v for k, v in self.hparams.items()
                if k not in self.fixed and k not in self.ties}

    def fix(self, key: str, value: Any) -> None:
        """Fix one hyperparameter after construction (used by the zoo's ``make_model``)."""
        if key not in self.hparams:
            raise ConfigError(f"{self.name} has no hyperparameter {key!r}; known: {sorted(self.hparams)}")
        self.fixed[key] = self.hparams[key].validate(value, f"{self.name}/{key}")
        self.ties.pop(key, None)

    def children(self) -> list["Block"]:
        """Blocks nested inside this one (a HyperInteraction's candidates)."""
        return []

    def __repr__(self) -> str:
        fixed = ", ".join(f"{k}={v!r}" for k, v in self.fixed.items())
        return f"{type(self).__name__}({self.name!r}{', ' if fixed else ''}{fixed})"


class Mapper(Block):
    """Maps raw inputs of a batch to embeddings ``[B, F, k]``."""

    role = "mapper"

    def build(self, hp: HyperParameters, info: DataInfo) -> tuple[nn.Module, Shape]:
        raise NotImplementedError


class Interactor(Block):
    """Combines the outputs of ``inputs`` (mappers or interactors; ``None``: every mapper)."""

    role = "interactor"

    def __init__(self, inputs: Sequence[Block] | None = None, name: str | None = None,
                 **fixed: Any) -> None:
        super().__init__(name=name, **fixed)
        if inputs is not None:
            inputs = list(inputs)
            for b in inputs:
                if not isinstance(b, (Mapper, Interactor)):
                    raise ConfigError(f"{self.name}: inputs must be mappers or interactors, got {b!r}")
            if not inputs:
                raise ConfigError(f"{self.name}: inputs is empty (pass None to use every mapper)")
        self.inputs: list[Block] | None = inputs

    def build(self, hp: HyperParameters, shapes: Sequence[Shape]) -> tuple[nn.Module, Shape]:
        """A module taking a list of ``[B, F_i, k_i]`` tensors, and its output shape."""
        raise NotImplementedError


class HeadModule(nn.Module):
    """A built head: ``forward(z [B, d], batch) -> [B]``, ``loss``, ``postprocess``."""

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def postprocess(self, output: torch.Tensor) -> torch.Tensor:
        """Turn forward's output into the user-facing prediction (rating or probability)."""
        return output


class Head(Block):
    """Turns the combined interaction vector into a prediction; owns the loss."""

    role = "head"
    task: ClassVar[str] = ""

    def build(self, hp: HyperParameters, width: int, info: DataInfo) -> HeadModule:
        raise NotImplementedError


def walk(blocks: Iterable[Block], prefix: str = "") -> list[tuple[str, Block]]:
    """``(scoped name, block)`` for blocks and their nested children, depth first."""
    out: list[tuple[str, Block]] = []
    for b in blocks:
        scoped = f"{prefix}{b.name}"
        out.append((scoped, b))
        out.extend(walk(b.children(), scoped + "/"))
    return out


# --------------------------------------------------------------------------- the graph
class BlockModel(Tunable):
    """A model as a graph of blocks (the platform's ``Search(model=...)`` argument).

    ``mappers`` read the batch; each interactor reads its ``inputs`` (default: every mapper);
    ``outputs`` (default: interactors no other interactor reads, or the mappers when there
    are no interactors) reach the head.  ``combine`` says how: ``"concat"`` flattens and
    concatenates them (the head then projects to a scalar), ``"sum"`` projects each to a scalar
    and adds them (DeepFM's ``y_FM + y_DNN``).  A block whose output is empty for the data
    (dense features on data that has none) is left out of its readers; an interactor left
    with no inputs is itself empty.
    """

    hparams = {"combine": Choice(("concat", "sum"), help="how outputs reach the head")}

    def __init__(
        self,
        mappers: Sequence[Mapper],
        interactors: Sequence[Interactor] = (),
        head: Head | None = None,
        combine: str = UNSET,
        outputs: Sequence[Block] | None = None,
        name: str = "graph",
    ) -> None:
        super().__init__(name=name, combine=combine)
        self.mappers = list(mappers)
        self.interactors = list(interactors)
        if not self.mappers:
            raise ConfigError("a BlockModel needs at least one mapper")
        for m in self.mappers:
            if not isinstance(m, Mapper):
                raise ConfigError(f"mappers must be Mapper blocks, got {m!r}")
        for i in self.interactors:
            if not isinstance(i, Interactor):
                raise ConfigError(f"interactors must be Interactor blocks, got {i!r}")
        if not isinstance(head, Head):
            raise ConfigError(f"head must be a Head block (RatingHead or CTRHead), got {head!r}")
        self.head = head
        members = self.mappers + self.interactors
        if len({id(b) for b in members + [head]}) != len(members) + 1:
            raise ConfigError("a block appears twice in the model; build a second instance instead")
        unique_names([self, *members, head])
        member_ids = {id(b) for b in members}
        self.wiring: dict[int, list[Block]] = {}
        for it in self.interactors:
            ins = it.inputs if it.inputs is not None else self.mappers
            for b in ins:
                if id(b) not in member_ids:
                    raise ConfigError(f"{it.name} reads {b.name!r}, which is not a block of this model")
                if b is it:
                    raise ConfigError(f"{it.name} reads its own output")
            self.wiring[id(it)] = list(ins)
        self.order = self._topological()
        if outputs is None:
            read = {id(b) for ins in self.wiring.values() for b in ins}
            outs = [i for i in self.interactors if id(i) not in read] or list(self.mappers)
        else:
            outs = list(outputs)
            for b in outs:
                if id(b) not in member_ids:
                    raise ConfigError(f"output {b!r} is not a block of this model")
        if not outs:
            raise ConfigError("the model has no outputs for the head")
        self.outputs = outs

    def _topological(self) -> list[Interactor]:
        pending = list(self.interactors)
        done: set[int] = {id(m) for m in self.mappers}
        order: list[Interactor] = []
        while pending:
            ready = [i for i in pending if all(id(b) in done for b in self.wiring[id(i)])]
            if not ready:
                names = ", ".join(i.name for i in pending)
                raise ConfigError(f"the interactors {names} read each other in a cycle")
            for i in ready:
                order.append(i)
                done.add(id(i))
                pending.remove(i)
        return order

    def blocks(self) -> list[Block]:
        return [*self.mappers, *self.interactors, self.head]

    def fix(self, key: str, value: Any) -> None:
        if key not in self.hparams:
            raise ConfigError(f"{self.name} has no hyperparameter {key!r}; known: {sorted(self.hparams)}")
        self.fixed[key] = self.hparams[key].validate(value, f"{self.name}/{key}")

    def tunable(self) -> dict[str, HParam]:
        out = super().tunable()
        for b in self.blocks():  # a block lists its own children's names, scoped
            out.update(b.tunable())
        return out

    def find(self, name: str) -> Block:
        """The block with this scoped name (``mlp_2``, ``hyper_interaction/fm``)."""
        found = dict(walk(self.blocks()))
        if name not in found:
            raise ConfigError(f"no block named {name!r}; blocks: {sorted(found)}")
        return found[name]

    def describe(self) -> str:
        """One line per block: what reads what (used in the docs)."""
        lines = []
        for m in self.mappers:
            lines.append(f"{m.name}: {type(m).__name__}{_fixed_text(m)}")
        for it in self.order:
            ins = ", ".join(b.name for b in self.wiring[id(it)])
            lines.append(f"{it.name}: {type(it).__name__}{_fixed_text(it)} <- [{ins}]")
        outs = ", ".join(b.name for b in self.outputs)
        combine = self.fixed.get("combine", "combine?")
        lines.append(f"{self.head.name}: {type(self.head).__name__}{_fixed_text(self.head)} "
                     f"<- {combine}[{outs}]")
        return "\n".join(lines)

    def build(self, hp: HyperParameters, info: DataInfo, seed: int | None = None) -> "BlockModule":
        """The ``nn.Module`` for ``info``'s data, with hyperparameters asked from ``hp``.

        Weights are initialised from torch's global generator, or, with ``seed``, from a
        generator seeded with it (the global state is left as it was).
        """
        if seed is None:
            return self._build(hp, info)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self._build(hp, info)

    def _build(self, hp: HyperParameters, info: DataInfo) -> "BlockModule":
        if info.task != self.head.task:
            raise ConfigError(f"the head {self.head.name} ({type(self.head).__name__}) is for the "
                              f"{self.head.task} task, the data is for {info.task}")
        rec = RecordingHP(hp)
        modules: dict[str, nn.Module] = {}
        shapes: dict[int, Shape] = {}
        keys: dict[int, str] = {}
        steps: list[tuple[str, list[str]]] = []
        for m in self.mappers:
            module, shape = m.build(rec, info)
            key = _module_key(m.name)
            keys[id(m)], shapes[id(m)] = key, shape
            if shape.width > 0:
                modules[key] = module
                steps.append((key, []))
        for it in self.order:
            ins = [b for b in self.wiring[id(it)] if shapes[id(b)].width > 0]
            key = _module_key(it.name)
            keys[id(it)] = key
            if not ins:
                shapes[id(it)] = Shape(0, 0)
                continue
            module, shape = it.build(rec, [shapes[id(b)] for b in ins])
            shapes[id(it)] = shape
            if shape.width > 0:
                modules[key] = module
                steps.append((key, [keys[id(b)] for b in ins]))
        outs = [b for b in self.outputs if shapes[id(b)].width > 0]
        if not outs:
            raise ConfigError(f"every output of the model ({[b.name for b in self.outputs]}) is "
                              "empty for this data")
        combine = self.hp(rec, "combine")
        widths = [shapes[id(b)].width for b in outs]
        head = self.head.build(rec, 1 if combine == "sum" else sum(widths), info)
        return BlockModule(modules, steps, [keys[id(b)] for b in outs], widths, combine, head,
                           info, rec.values)


def _fixed_text(block: Block) -> str:
    parts = [f"{k}={v!r}" for k, v in block.fixed.items()]
    parts += [f"{k}=tie({o.name}/{ok})" for k, (o, ok) in block.ties.items()]
    return f"({', '.join(parts)})" if parts else ""


def _module_key(name: str) -> str:
    # ModuleDict keys may not contain dots
    return name.replace(".", "_")


class BlockModule(nn.Module):
    """A built :class:`BlockModel`: ``forward(batch) -> [B]`` (a rating, or a CTR logit).

    ``loss(output, target)`` is the head's; ``predict(batch)`` gives clipped ratings or
    probabilities.  ``hp_values`` are the hyperparameter values the build asked for:
    ``spec.build(FixedHP(module.hp_values), info)`` rebuilds the same architecture.
    """

    def __init__(self, modules: dict[str, nn.Module], steps: list[tuple[str, list[str]]],
                 outputs: list[str], widths: list[int], combine: str, head: HeadModule,
                 info: DataInfo, hp_values: dict[str, Any]) -> None:
        super().__init__()
        self.nodes = nn.ModuleDict(modules)
        self.steps = steps
        self.output_keys = outputs
        self.combine = combine
        self.head = head
        # "sum" projects each wide output to a scalar logit/rating contribution
        self.projections = nn.ModuleList(
            [nn.Linear(w, 1, bias=False) if (combine == "sum" and w > 1) else nn.Identity()
             for w in widths]
        )
        self.hp_values = dict(hp_values)
        self.task = info.task
        self.validate_inputs = True
        self._n_users = info.n_users
        self._n_items = info.n_items
        self._n_dense = info.n_dense
        self._field_names = info.categorical_names if info.vocab_sizes else ()
        self.register_buffer("_vocab", torch.tensor(info.vocab_sizes, dtype=torch.long),
                             persistent=False)
        # blocks whose forward pass leaves a regularisation term for the loss
        self._penalized = [m for m in self.modules() if hasattr(m, "penalty")]

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if self.validate_inputs:
            self._check(batch)
        values: dict[str, torch.Tensor] = {}
        for key, ins in self.steps:
            node = self.nodes[key]
            values[key] = node(batch) if not ins else node([values[k] for k in ins])
        flat = [p(values[k].flatten(1)) for p, k in zip(self.projections, self.output_keys)]
        if self.combine == "sum":
            z = torch.stack(flat, 0).sum(0)
        else:
            z = flat[0] if len(flat) == 1 else torch.cat(flat, dim=1)
        return self.head(z, batch)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The head's loss on the batch plus the penalties its forward pass left (per-example
        L2 of the looked-up factors and biases), each then cleared."""
        # in float32 even when the forward pass ran under bf16 autocast (float64 stays float64)
        if output.dtype in (torch.float16, torch.bfloat16):
            output = output.float()
        loss = self.head.loss(output, target)
        for m in self._penalized:
            if m.penalty is not None:
                loss = loss + m.penalty
                m.penalty = None
        return loss

    @torch.no_grad()
    def predict(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Predictions in eval mode (ratings clipped to the scale, CTR as probabilities)."""
        was = self.training
        self.eval()
        try:
            return self.head.postprocess(self(batch))
        finally:
            self.train(was)

    def _check(self, batch: Mapping[str, torch.Tensor]) -> None:
        for key, n in (("user", self._n_users), ("item", self._n_items)):
            if key in batch:
                ids = batch[key]
                if ids.dtype not in (torch.int64, torch.int32):
                    raise DataError(f"{key} indices must be integers, got {ids.dtype}", column=key)
                if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= n):
                    bad = ids[(ids < 0) | (ids >= n)][0].item()
                    raise DataError(f"{key} index outside 0..{n - 1} (the model was built for "
                                    f"{n} {key}s; unknown ids must be handled before predicting)",
                                    column=key, value=bad)
        if "categorical" in batch:
            codes = batch["categorical"]
            nf = int(self._vocab.numel())
            if codes.dim() != 2 or codes.shape[1] != nf:
                raise DataError(f"categorical codes have shape {tuple(codes.shape)}, expected "
                                f"[batch, {nf}]", column="categorical")
            if codes.numel():
                bad = (codes < 0) | (codes >= self._vocab)
                if bool(bad.any()):
                    row, col = (int(v) for v in bad.nonzero()[0])
                    raise DataError(
                        f"categorical code outside 0..{int(self._vocab[col]) - 1} "
                        f"(row {row} of the batch; 0 is the unseen-category bucket)",
                        column=self._field_names[col], value=int(codes[row, col]))
        if "dense" in batch:
            dense = batch["dense"]
            if dense.dim() != 2 or dense.shape[1] != self._n_dense:
                raise DataError(f"dense features have shape {tuple(dense.shape)}, expected "
                                f"[batch, {self._n_dense}]", column="dense")
            if dense.numel() and not bool(torch.isfinite(dense).all()):
                row, col = (int(v) for v in (~torch.isfinite(dense)).nonzero()[0])
                raise DataError(f"dense feature is not finite (row {row} of the batch): impute "
                                "missing values before training", column=f"dense[{col}]",
                                value=float(dense[row, col]))
