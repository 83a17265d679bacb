"""Hyperparameters: their declarations and every source of their values, in one place.

A block, a model or the search declares each tunable hyperparameter once, as an
:class:`HParam` (kind, range, default).  Values passed at construction are *fixed* and never
searched, including falsy ones such as ``0`` or ``False`` (``UNSET`` marks "not given").

Values are asked define-by-run (as in Optuna and KerasTuner) from a :class:`HyperParameters`
source with a fully scoped name (``"deep/units"``).  Because a block asks only when it needs a
value, conditional spaces (a HyperInteraction choosing its interactors) come for free.  The
sources, all here:

=================  ==========================================================================
``DefaultHP``      every declared default (a model "at its defaults")
``FixedHP``        replays recorded values (rebuilding a saved model); ``strict`` refuses others
``PrefixedHP``     asks another source under ``prefix/``: nests a block's names in a scope
``RecordingHP``    passes questions on and records every answer and its declaration
``OverridesHP``    answers the user's fixed values (``--set``) itself, asks the rest elsewhere
``OptunaHP``       suggests each value from an Optuna trial (the search)
=================  ==========================================================================

This module is pure Python: reading a search space needs neither torch nor (until an
``OptunaHP`` or a distribution is made) Optuna.
"""

from __future__ import annotations

import dataclasses

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol, Sequence

from .errors import ConfigError

if TYPE_CHECKING:  # hints only: Optuna is imported where a trial is asked, not to read a space
    import optuna


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


class PrefixedHP:
    """Asks ``source`` for ``prefix/name``: nests a block's names inside another's scope."""

    def __init__(self, source: HyperParameters, prefix: str) -> None:
        self.source = source
        self.prefix = prefix

    def get(self, name: str, spec: HParam) -> Any:
        return self.source.get(f"{self.prefix}/{name}", spec)


class RecordingHP:
    """Passes questions to ``source`` and records every answer (``values``) and declaration
    (``specs``), in the order asked.

    A model built from any source can be rebuilt exactly with ``FixedHP(recorder.values)``;
    ``specs`` lets the answers be encoded for Optuna (``encode_value``).
    """

    def __init__(self, source: HyperParameters | None = None) -> None:
        self.source = source if source is not None else DefaultHP()
        self.values: dict[str, Any] = {}
        self.specs: dict[str, HParam] = {}

    def get(self, name: str, spec: HParam) -> Any:
        value = self.source.get(name, spec)
        if name in self.values and self.values[name] != value:
            raise ConfigError(f"hyperparameter {name!r} answered {self.values[name]!r} then {value!r}")
        self.values[name] = value
        self.specs[name] = spec
        return value


class DataDefaultsHP:
    """Asks ``source`` with the declared default of each name in ``defaults`` replaced: a
    default that depends on the data (BiasedMF's L2 by ratings per user) without fixing the
    value, so a search still searches it and its warm start begins there."""

    def __init__(self, source: HyperParameters, defaults: Mapping[str, Any]) -> None:
        self.source = source
        self.defaults = dict(defaults)

    def get(self, name: str, spec: HParam) -> Any:
        if name in self.defaults:
            spec = dataclasses.replace(spec, default=spec.validate(self.defaults[name], name))
        return self.source.get(name, spec)


class OverridesHP:
    """Answers the names in ``overrides`` itself (validated against the declaration) and asks
    ``source`` for the rest: how the user's ``--set`` values reach a search trial without
    becoming Optuna parameters.  ``values`` records every answer."""

    def __init__(self, source: HyperParameters, overrides: Mapping[str, Any]) -> None:
        self.source = source
        self.overrides = overrides
        self.values: dict[str, Any] = {}

    def get(self, name: str, spec: HParam) -> Any:
        if name in self.overrides:
            value = spec.validate(self.overrides[name], name)
        else:
            value = self.source.get(name, spec)
        self.values[name] = value
        return value


# ---------------------------------------------------------------- Optuna: distributions, values
# Optuna's categorical choices must be None/bool/int/float/str.  A choice list holding anything
# else (tuples of layer sizes, say) is stored as the repr() of each choice and decoded by looking
# the key up in the same declaration, never by parsing: encode_value and decode_value are the two
# directions; trial.params holds encoded values, OptunaHP.values decoded ones.
_PRIMITIVE = (type(None), bool, int, float, str)


def _needs_encoding(spec: HParam) -> bool:
    return any(type(c) not in _PRIMITIVE for c in spec.choices)


def _choice_keys(name: str, spec: HParam) -> list[str]:
    keys = [repr(c) for c in spec.choices]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"hyperparameter {name!r}: choices {list(spec.choices)} have clashing repr() keys")
    return keys


def to_distribution(name: str, spec: HParam) -> "optuna.distributions.BaseDistribution":
    """The Optuna distribution a declaration is suggested from (encoded choices for non-primitives)."""
    import optuna  # here, not at the top: declaring and reading a space needs no Optuna

    if spec.kind in ("choice", "bool"):
        choices = tuple(_choice_keys(name, spec)) if _needs_encoding(spec) else tuple(spec.choices)
        return optuna.distributions.CategoricalDistribution(choices)
    if spec.kind == "int":
        step = 1 if spec.step is None else int(spec.step)
        if spec.log and step != 1:
            raise ConfigError(f"hyperparameter {name!r}: a log-scale int range cannot have step={step}")
        low, high = int(spec.low), int(spec.high)  # type: ignore[arg-type]
        # Optuna requires high - low to be a multiple of step; an explicit error beats a silent shrink
        if (high - low) % step:
            raise ConfigError(f"hyperparameter {name!r}: range [{low}, {high}] is not a multiple of step {step}")
        return optuna.distributions.IntDistribution(low, high, log=spec.log, step=step)
    return optuna.distributions.FloatDistribution(float(spec.low), float(spec.high), log=spec.log)  # type: ignore[arg-type]


def encode_value(name: str, spec: HParam, value: Any) -> Any:
    """A hyperparameter value as Optuna stores it in ``trial.params`` (validated first)."""
    value = spec.validate(value, name)
    if spec.kind in ("choice", "bool") and _needs_encoding(spec):
        return _choice_keys(name, spec)[spec.choices.index(value)]
    return value


def decode_value(name: str, spec: HParam, value: Any) -> Any:
    """The inverse of :func:`encode_value`: an Optuna param back to the declaration's own value."""
    if spec.kind in ("choice", "bool") and _needs_encoding(spec):
        keys = _choice_keys(name, spec)
        if value not in keys:
            raise ConfigError(f"hyperparameter {name!r}: {value!r} is not one of the encoded choices {keys}")
        return spec.choices[keys.index(value)]
    return spec.validate(value, name)


def decode_params(params: Mapping[str, Any], specs: Mapping[str, HParam]) -> dict[str, Any]:
    """Decode a trial's ``params`` with the declarations by scoped name (e.g. to replay with
    ``FixedHP``).  A param with no declaration is an error rather than passed through: it means
    the space the trial ran with is not the one given here."""
    unknown = sorted(set(params) - set(specs))
    if unknown:
        raise ConfigError(f"trial params {unknown} have no hyperparameter declaration; known: {sorted(specs)}")
    return {k: decode_value(k, specs[k], v) for k, v in params.items()}


def space_defaults(specs: Mapping[str, HParam]) -> dict[str, Any]:
    """Every declaration's default, encoded as Optuna params: ``study.enqueue_trial(space_defaults(...))``
    makes the first trial the all-defaults configuration (names that trial never asks are unused)."""
    return {name: encode_value(name, spec, spec.default) for name, spec in specs.items()}


class OptunaHP:
    """Suggests each value from an Optuna trial: each ``get(name, spec)`` is one
    ``trial.suggest_*`` call under the same scoped name, so a model built from an ``OptunaHP``
    is searched define-by-run (branches not taken never ask, and are not in the trial's params).

    ``values`` records the decoded value of every name asked, in asking order.  Asking the same
    name twice with the same declaration returns the same value (Optuna's own rule).
    """

    def __init__(self, trial: "optuna.trial.BaseTrial") -> None:
        self.trial = trial
        self.values: dict[str, Any] = {}

    def get(self, name: str, spec: HParam) -> Any:
        import optuna

        dist = to_distribution(name, spec)
        asked = self.trial.distributions.get(name)
        if asked is not None and asked != dist:
            # Optuna would only warn and return the first value: two declarations share a name
            raise ConfigError(f"hyperparameter {name!r} was asked as {asked} and again as {dist} in one trial")
        try:
            if isinstance(dist, optuna.distributions.CategoricalDistribution):
                raw = self.trial.suggest_categorical(name, dist.choices)
            elif isinstance(dist, optuna.distributions.IntDistribution):
                raw = self.trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
            else:
                raw = self.trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        except ValueError as e:
            # e.g. the same name was a float in this trial and is now asked as a categorical
            raise ConfigError(f"hyperparameter {name!r}: {e}") from e
        value = decode_value(name, spec, raw)
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
