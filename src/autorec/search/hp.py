"""The Optuna-backed hyperparameter source, and the encoding of values into Optuna's params.

``OptunaHP(trial)`` implements the ``HyperParameters`` protocol of :mod:`autorec.blocks.hparams`:
each ``get(name, spec)`` becomes one ``trial.suggest_*`` call under the same scoped name, so a
model built from an ``OptunaHP`` is searched define-by-run (branches that are not taken never
ask, and so are not in the trial's params).

Optuna's categorical choices must be ``None``/bool/int/float/str.  A choice list holding
anything else (tuples of layer sizes, say) is stored as the ``repr`` of each choice and decoded
by looking the key up in the same spec, never by parsing; :func:`encode_value` and
:func:`decode_value` are the two directions, and ``trial.params`` holds encoded values while
``OptunaHP.values`` holds decoded ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import optuna

from ..errors import ConfigError

if TYPE_CHECKING:  # only for hints: importing autorec.blocks pulls in torch, which this module does not need
    from ..blocks.hparams import HParam

_PRIMITIVE = (type(None), bool, int, float, str)

__all__ = ["OptunaHP", "space_defaults", "encode_value", "decode_value", "decode_params", "to_distribution"]


def _needs_encoding(spec: HParam) -> bool:
    return any(type(c) not in _PRIMITIVE for c in spec.choices)


def _choice_keys(name: str, spec: HParam) -> list[str]:
    keys = [repr(c) for c in spec.choices]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"hyperparameter {name!r}: choices {list(spec.choices)} have clashing repr() keys")
    return keys


def _optuna_choices(name: str, spec: HParam) -> tuple:
    return tuple(_choice_keys(name, spec)) if _needs_encoding(spec) else tuple(spec.choices)


def to_distribution(name: str, spec: HParam) -> optuna.distributions.BaseDistribution:
    """The Optuna distribution a spec is suggested from (encoded choices for non-primitives)."""
    if spec.kind in ("choice", "bool"):
        return optuna.distributions.CategoricalDistribution(_optuna_choices(name, spec))
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
    """The inverse of :func:`encode_value`: an Optuna param back to the spec's own value."""
    if spec.kind in ("choice", "bool") and _needs_encoding(spec):
        keys = _choice_keys(name, spec)
        if value not in keys:
            raise ConfigError(f"hyperparameter {name!r}: {value!r} is not one of the encoded choices {keys}")
        return spec.choices[keys.index(value)]
    return spec.validate(value, name)


def decode_params(params: Mapping[str, Any], specs: Mapping[str, HParam]) -> dict[str, Any]:
    """Decode a trial's ``params`` with the specs by scoped name (e.g. to replay with ``FixedHP``).

    A param with no spec is an error rather than passed through, since it means the search
    space the trial ran with is not the one given here.
    """
    unknown = sorted(set(params) - set(specs))
    if unknown:
        raise ConfigError(f"trial params {unknown} have no hyperparameter declaration; known: {sorted(specs)}")
    return {k: decode_value(k, specs[k], v) for k, v in params.items()}


def space_defaults(specs: Mapping[str, HParam]) -> dict[str, Any]:
    """Every spec's default, encoded as Optuna params: ``study.enqueue_trial(space_defaults(...))``
    makes the first trial the all-defaults configuration (names that trial never asks for are
    simply unused)."""
    return {name: encode_value(name, spec, spec.default) for name, spec in specs.items()}


class OptunaHP:
    """A ``HyperParameters`` source that suggests each value from an Optuna trial.

    ``values`` records the decoded value of every name asked, in asking order.  Asking the same
    name twice with the same spec returns the same value (Optuna's own rule).
    """

    def __init__(self, trial: optuna.trial.BaseTrial) -> None:
        self.trial = trial
        self.values: dict[str, Any] = {}

    def get(self, name: str, spec: HParam) -> Any:
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
