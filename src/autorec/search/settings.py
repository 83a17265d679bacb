"""What a search is asked to do: :class:`SearchSettings`, and durations as the CLI reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import ConfigError
from ..families import canonical_name


MODEL_CHOICES = ("cost-aware", "tuner")


@dataclass
class SearchSettings:
    models: Sequence[str]
    tuner: str = "tpe"
    n_trials: int | None = 20
    time_budget: float | None = None  # seconds for the whole search (this process)
    trial_timeout: float | None = None  # seconds per trial; the run keeps its best epoch so far
    # without trial_timeout, the most of time_budget one trial may take (keeping its best epoch)
    max_trial_share: float = 0.25
    # score configurations by K-fold cross-validation on train + validation: an int K, None or
    # 0 for the plain validation part, "auto" for 5 folds when that part is small (see space.py)
    cv: int | str | None = "auto"
    pruner: str = "hyperband"
    # "cost-aware": the model of each trial is drawn by expected improvement per second, learnt
    # from the study's own trials (search/scheduling.py); "tuner": the tuner picks it as any
    # other parameter
    model_choice: str = "cost-aware"
    prune_by_model: bool = True  # prune a trial only against trials of the same model
    pruner_min_epochs: int = 5  # no trial is pruned before this many epochs: early curves mislead
    max_epochs: int = 200
    patience: int = 15
    seed: int = 0
    storage: str | None = None
    study_name: str = "autorec"
    fixed: Mapping[str, Any] = field(default_factory=dict)  # "model/param" or training key -> value
    ensemble_size: int = 5  # how many of the best trials the ensemble may draw from
    refit_full: bool = False  # refit the best on train + validation with its best epoch count
    # models whose all-defaults configuration opens a fresh study, in order, after the first
    # model's (None: the task's usual anchors among ``models``, see space.WARM_START; [] for none)
    warm_start: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.model_choice not in MODEL_CHOICES:
            raise ConfigError(f"model choice must be one of {', '.join(MODEL_CHOICES)}, got {self.model_choice!r}")
        # one spelling of every model name (hyphens; "biased_mf" is "biased-mf"), also inside
        # --set keys ("biased_mf/factors/l2") and values (model=biased_mf)
        self.models = [canonical_name(m) for m in self.models]
        if self.warm_start is not None:
            self.warm_start = [canonical_name(m) for m in self.warm_start]
        fixed = {}
        for key, value in dict(self.fixed).items():
            head, sep, rest = key.partition("/")
            key = canonical_name(head) + sep + rest if sep else key
            fixed[key] = canonical_name(value) if key == "model" and isinstance(value, str) else value
        self.fixed = fixed


def parse_duration(text: str | None) -> float | None:
    """``"30m"``, ``"2h"``, ``"90s"``, ``"45"`` (seconds) -> seconds."""
    if text is None or text == "":
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = str(text).strip().lower()
    try:
        if t[-1] in units:
            value = float(t[:-1]) * units[t[-1]]
        else:
            value = float(t)
    except (ValueError, IndexError):
        raise ConfigError(f"cannot read the duration {text!r}; use e.g. 90s, 30m, 2h") from None
    if not value > 0:
        raise ConfigError(f"a duration must be positive, got {text!r}")
    return value
