"""What a search is asked to do: :class:`SearchSettings`, and durations as the CLI reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..families import canonical_name


MODEL_CHOICES = ("cost-aware", "tuner")

# How many of the best trials an ensemble may draw from, per task, when --ensemble-size is not
# given.  Rating: 8, chosen by benchmarks/bench_ensemble_candidates.py on a 30-minute search of
# ml-latest-small (the tuning data): with at most two trials of one model, 8 candidates scored
# 0.8234 on held-out validation halves against 0.8236 for 5, and 10 or 12 were no better
# (docs/search.md, "Ensemble candidates").  Ranking and CTR keep 5: a ranking ensemble takes one
# trial per model anyway, and CTR models are large to keep on disk; neither was measured.
DEFAULT_ENSEMBLE_SIZE = {"rating": 8}
FALLBACK_ENSEMBLE_SIZE = 5

# Whether the result is refit on train + validation (for its best epoch counts) when
# --refit-full/--no-refit-full is not given and validation is the plain holdout part (under
# cross-validation ``cv_refit`` decides).  Rating: yes, measured by benchmarks/bench_refit_full.py
# on a 15-minute search of ml-latest-small random 90/10 seed 1 (tuning data): the refit ensemble
# scored 0.8337 test RMSE against 0.8396 for its members as the search had trained them, the best
# single model 0.8580 against 0.8615 (docs/search.md, "Refit on every non-test row").  CTR and
# ranking keep the trained models: neither was measured, and a CTR refit doubles the cost of the
# largest models.
DEFAULT_REFIT_FULL = {"rating": True}


@dataclass
class SearchSettings:
    models: Sequence[str]
    tuner: str = "tpe"
    n_trials: int | None = 20
    time_budget: float | None = None  # seconds for the whole search (this process)
    trial_timeout: float | None = None  # seconds per trial; the run keeps its best epoch so far
    # without trial_timeout, the most of time_budget one trial may take (keeping its best epoch)
    max_trial_share: float = 0.25
    # a model's first trial (its probe: what it costs and how good it is here) may take at most
    # this share: on Gowalla one Mult-VAE epoch takes a minute, and a first trial at the full
    # share spent 15 of 60 minutes before the search knew it was slow
    first_trial_share: float = 0.08
    # and the probes together this share, split among the models still untried (never below
    # min_probe_share each): on Gowalla six slow probes at 8% each took half of an hour
    probe_share: float = 0.3
    min_probe_share: float = 0.02
    # a later trial of a model the search has measured may take at most this many times the
    # model's median trial so far (the price the cost-aware draw paid for it), but never less
    # than min_trial_share and never more than max_trial_share: on ML-100K u1 one xDeepFM trial
    # of 857 s, after a probe of 130 s, took a quarter of an hour's search (docs/search.md,
    # "Per-trial cap")
    trial_price_factor: float = 3.0
    # the floor, so that a model whose first trials were quick may still try a larger
    # configuration: 4% (144 s an hour, 36 s in 15 minutes), half the probe's 8%, which decided
    # instead of the price in a one-hour u1 search (a NeuMF and an FM trial ran to 288 s, 10 and
    # 16 times their models' medians); chosen by replaying past searches' leaderboards
    # (benchmarks/replay_trial_cap.py, docs/search.md "Per-trial cap")
    min_trial_share: float = 0.04
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
    # how many of the best trials the ensemble may draw from; None: the task's own
    # (DEFAULT_ENSEMBLE_SIZE, resolved by ensemble_size_for)
    ensemble_size: int | None = None
    # of which at most this many of one model (search.results.ensemble_candidates): a long
    # search's best trials are otherwise near-copies of one model (docs/search.md)
    ensemble_per_model: int = 2
    # refit the best (and the ensemble's members) on train + validation with their best epoch
    # counts; None: the task's default (DEFAULT_REFIT_FULL, resolved by refit_full_for)
    refit_full: bool | None = None
    # under cross-validation: train the returned model (and each ensemble member) once more on
    # every non-test row for its folds' median best epoch; False returns the bags of fold models.
    # On three 10,000-rating samples of ml-latest-small (the tuning data) the refit beat the bag
    # on test in all six model x sample cases, by 0.0007-0.0036 RMSE (docs/search.md)
    cv_refit: bool = True
    # each weighted ensemble member, when it is refit (above), is trained this many times with
    # seeds seed, seed + 1, ... and the copies averaged; copies past the first are trained only
    # while the time budget has room for them.  On the tuning search (ml-latest-small random
    # 90/10 seed 1, 15 minutes) two seeds took the refit ensemble from 0.8319 to 0.8297 test
    # RMSE, where averaging the kept model with its refit gave 0.8319 (docs/search.md)
    refit_seeds: int = 2
    # under cross-validation: stop a trial after any fold but the last when its full score,
    # predicted from its folds so far, could not reach the ensemble_size best
    # (search/scheduling.fold_cut)
    fold_racing: bool = True
    # models whose all-defaults configuration opens a fresh study, in order, after the first
    # model's (None: the task's usual anchors among ``models``, see space.WARM_START; [] for none)
    warm_start: Sequence[str] | None = None
    new_study: bool = False  # delete a study already in the storage (and its results) first
    split_seed: int | None = None  # the seed the data was split with (None: ``seed``)

    def __post_init__(self) -> None:
        self._validate()
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

    def ensemble_size_for(self, task: str) -> int:
        """The ensemble's candidate count for ``task``: ``ensemble_size`` when given, else the
        task's default (``DEFAULT_ENSEMBLE_SIZE``)."""
        if self.ensemble_size is not None:
            return int(self.ensemble_size)
        return DEFAULT_ENSEMBLE_SIZE.get(task, FALLBACK_ENSEMBLE_SIZE)

    def refit_full_for(self, task: str) -> bool:
        """Whether ``task``'s result is refit on train + validation: ``refit_full`` when given,
        else the task's default (``DEFAULT_REFIT_FULL``)."""
        if self.refit_full is not None:
            return bool(self.refit_full)
        return DEFAULT_REFIT_FULL.get(task, False)

    def _validate(self) -> None:
        """Every option in range before a study or a folder exists: a bad value found inside the
        first trial would leave a failed trial behind that counts against ``--trials``."""
        from .tuners import PRUNERS, SAMPLERS  # the tuners import optuna; settings stay light

        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ConfigError(what)

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        need(self.tuner in SAMPLERS, f"--tuner must be one of {', '.join(SAMPLERS)}, got {self.tuner!r}")
        need(self.pruner in PRUNERS, f"--pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}")
        need(self.model_choice in MODEL_CHOICES,
             f"--model-choice must be one of {', '.join(MODEL_CHOICES)}, got {self.model_choice!r}")
        need(self.n_trials is None or (is_int(self.n_trials) and self.n_trials >= 1),
             f"--trials must be a whole number >= 1, got {self.n_trials!r}")
        need(is_int(self.max_epochs) and self.max_epochs >= 1,
             f"--max-epochs must be a whole number >= 1, got {self.max_epochs!r}")
        need(is_int(self.patience) and self.patience >= 0, f"patience must be a whole number >= 0, got {self.patience!r}")
        need(is_int(self.pruner_min_epochs) and self.pruner_min_epochs >= 1,
             f"pruner_min_epochs must be a whole number >= 1, got {self.pruner_min_epochs!r}")
        need(is_int(self.seed), f"--seed must be a whole number, got {self.seed!r}")
        need(self.split_seed is None or is_int(self.split_seed),
             f"--split-seed must be a whole number, got {self.split_seed!r}")
        need(self.ensemble_size is None or (is_int(self.ensemble_size) and self.ensemble_size >= 1),
             f"--ensemble-size must be a whole number >= 1 (1: no ensemble), got {self.ensemble_size!r}")
        need(is_int(self.refit_seeds) and self.refit_seeds >= 1,
             f"--refit-seeds must be a whole number >= 1, got {self.refit_seeds!r}")
        need(is_int(self.ensemble_per_model) and self.ensemble_per_model >= 1,
             f"--ensemble-per-model must be a whole number >= 1, got {self.ensemble_per_model!r}")
        for name in ("time_budget", "trial_timeout"):
            value = getattr(self, name)
            need(value is None or (isinstance(value, (int, float)) and value > 0),
                 f"--{name.replace('_', '-')} must be a positive number of seconds, got {value!r}")
        need(isinstance(self.max_trial_share, (int, float)) and 0 < self.max_trial_share <= 1,
             f"max_trial_share must be in (0, 1], got {self.max_trial_share!r}")
        need(isinstance(self.first_trial_share, (int, float)) and 0 < self.first_trial_share <= 1,
             f"first_trial_share must be in (0, 1], got {self.first_trial_share!r}")
        need(isinstance(self.probe_share, (int, float)) and 0 < self.probe_share <= 1,
             f"probe_share must be in (0, 1], got {self.probe_share!r}")
        need(isinstance(self.trial_price_factor, (int, float)) and not isinstance(self.trial_price_factor, bool)
             and self.trial_price_factor >= 1,
             f"trial_price_factor must be a number >= 1, got {self.trial_price_factor!r}")
        need(isinstance(self.min_trial_share, (int, float)) and not isinstance(self.min_trial_share, bool)
             and 0 < self.min_trial_share <= self.max_trial_share,
             f"min_trial_share must be in (0, max_trial_share], got {self.min_trial_share!r}")
        need(isinstance(self.min_probe_share, (int, float)) and 0 < self.min_probe_share <= self.first_trial_share,
             f"min_probe_share must be in (0, first_trial_share], got {self.min_probe_share!r}")
        need(len(list(self.models)) >= 1, "no models to search")
        need(isinstance(self.study_name, str) and self.study_name.strip() != "", "--study must not be empty")


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
