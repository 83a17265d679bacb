"""Hyperparameter declarations, shared by blocks, models and the search.

A block declares each tunable hyperparameter once, as a class-level table of :class:`HParam`
(name, type, range, default).  Values passed at construction are *fixed* and never searched,
including falsy ones such as ``0`` or ``False`` (``UNSET`` marks "not given", not ``None``/0).

Values are drawn through a :class:`HyperParameters` source (define-by-run, like Optuna and
KerasTuner): ``DefaultHP`` gives each default, ``FixedHP`` replays recorded values (rebuilding a
saved model), and the search's Optuna adapter samples from a trial.  Because a block asks for a
value only when it needs it, conditional spaces (a HyperInteraction choosing which interactors
to use) come for free: unchosen branches never ask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol, Sequence

from ..errors import ConfigError


class _Unset:
    _instance = None

    def __new__(cls):  # a singleton, so `x is UNSET` works across pickling/copies
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


@dataclass(frozen=True)
class HParam:
    """One tunable hyperparameter.

    kind: ``"choice"`` (``choices``), ``"int"`` or ``"float"`` (``low``..``high`` inclusive,
    ``log`` for a log-uniform scale), ``"bool"`` (a choice of False/True).
    """

    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    step: int | None = None
    help: str = ""
    # Hard limits (inclusive, None = open) for a numeric value fixed by the user.  ``low``/``high``
    # bound the search only: a user may fix a value outside them (six MLP layers, dropout 0.7),
    # but not one the model cannot take (no layers, dropout 1).
    limits: tuple[float | None, float | None] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("choice", "int", "float", "bool"):
            raise ConfigError(f"unknown hyperparameter kind {self.kind!r}")
        if self.kind == "bool":
            object.__setattr__(self, "choices", (False, True))
        if self.kind in ("choice", "bool"):
            if not self.choices:
                raise ConfigError("a choice hyperparameter needs at least one choice")
        else:
            if self.low is None or self.high is None or self.low > self.high:
                raise ConfigError(f"bad range [{self.low}, {self.high}] for a {self.kind} hyperparameter")
            if self.log and self.low <= 0:
                raise ConfigError("a log-scale range must be positive")
        self.validate(self.default, "default")

    def validate(self, value: Any, name: str) -> Any:
        """Check (and normalise) a value for this hyperparameter; ConfigError names it."""
        if self.kind in ("choice", "bool"):
            if value not in self.choices:
                raise ConfigError(f"{name}={value!r} is not one of {list(self.choices)}")
            return value
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}={value!r} is not a number") from None
        if not math.isfinite(num):
            raise ConfigError(f"{name}={value!r} is not finite")
        if self.kind == "int" and num != int(num):
            raise ConfigError(f"{name}={value!r} is not an integer")
        if self.limits is not None:
            lo, hi = self.limits
            if (lo is not None and num < lo) or (hi is not None and num > hi):
                span = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
                raise ConfigError(f"{name}={value!r} is outside the values this hyperparameter can take, {span}")
        return int(num) if self.kind == "int" else num


# short constructors that read well in a block's table
def Choice(choices: Sequence, default: Any = UNSET, help: str = "") -> HParam:
    choices = tuple(choices)
    return HParam("choice", choices[0] if default is UNSET else default, choices=choices, help=help)


def Bool(default: bool = False, help: str = "") -> HParam:
    return HParam("bool", default, help=help)


def Int(low: int, high: int, default: int, log: bool = False, step: int | None = None, help: str = "",
        limits: tuple[float | None, float | None] | None = None) -> HParam:
    return HParam("int", default, low=low, high=high, log=log, step=step, help=help, limits=limits)


def Float(low: float, high: float, default: float, log: bool = False, help: str = "",
          limits: tuple[float | None, float | None] | None = None) -> HParam:
    return HParam("float", default, low=low, high=high, log=log, help=help, limits=limits)


#: a dropout probability: any value a user fixes must leave something to keep
DROPOUT_LIMITS = (0.0, 0.99)
#: a count of layers, buckets, ...: at least one
COUNT_LIMITS = (1, None)


class HyperParameters(Protocol):
    """A source of hyperparameter values, asked define-by-run with a fully scoped name."""

    def get(self, name: str, spec: HParam) -> Any: ...


class DefaultHP:
    """Every hyperparameter takes its declared default; records what was asked."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, name: str, spec: HParam) -> Any:
        self.values[name] = spec.default
        return spec.default


class FixedHP:
    """Replays recorded values (e.g. a saved model's); names not recorded fall back to defaults
    unless ``strict``, in which case an unknown name is an error (a spec/artifact mismatch)."""

    def __init__(self, values: Mapping[str, Any], strict: bool = False) -> None:
        self.recorded = dict(values)
        self.strict = strict
        self.values: dict[str, Any] = {}

    def get(self, name: str, spec: HParam) -> Any:
        if name in self.recorded:
            value = spec.validate(self.recorded[name], name)
        elif self.strict:
            raise ConfigError(f"no recorded value for hyperparameter {name!r}")
        else:
            value = spec.default
        self.values[name] = value
        return value


class Tunable:
    """Mixin for anything that declares hyperparameters (blocks, models, training settings).

    Subclasses set ``hparams: dict[str, HParam]``.  ``__init__`` takes the fixed values as
    keyword arguments; anything not passed (``UNSET``) is tunable.  ``name`` scopes the names,
    so two MLPs in one model are ``mlp/units`` and ``mlp_2/units``.
    """

    hparams: dict[str, HParam] = {}

    def __init__(self, name: str | None = None, **fixed: Any) -> None:
        unknown = sorted(set(fixed) - set(self.hparams))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__} has no hyperparameter(s) {unknown}; "
                f"known: {sorted(self.hparams)}"
            )
        self.name = name or _default_name(type(self).__name__)
        self.fixed = {
            k: self.hparams[k].validate(v, f"{self.name}/{k}")
            for k, v in fixed.items()
            if v is not UNSET
        }

    def hp(self, source: HyperParameters, key: str) -> Any:
        """The value of one hyperparameter: fixed if given at construction, else from ``source``."""
        if key in self.fixed:
            return self.fixed[key]
        return source.get(f"{self.name}/{key}", self.hparams[key])

    def resolve(self, source: HyperParameters, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """Values for ``keys`` (default: all declared), asked in declaration order."""
        return {k: self.hp(source, k) for k in (keys if keys is not None else self.hparams)}

    def tunable(self) -> dict[str, HParam]:
        """The scoped hyperparameters this object leaves open to search."""
        return {f"{self.name}/{k}": v for k, v in self.hparams.items() if k not in self.fixed}


def _default_name(cls_name: str) -> str:
    out = []
    for i, ch in enumerate(cls_name):
        if ch.isupper() and i and not cls_name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def unique_names(blocks: Sequence[Tunable]) -> None:
    """Rename blocks in place so scoped names never collide (``mlp``, ``mlp_2``, ...)."""
    seen: dict[str, int] = {}
    for b in blocks:
        base = b.name
        if base in seen:
            seen[base] += 1
            b.name = f"{base}_{seen[base]}"
        else:
            seen[base] = 1
