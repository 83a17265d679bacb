"""The time budget of a whole search command: trials, the final refit, the ensemble, the plots.

``--time-budget`` is a deadline for everything, counted from the start of the command.  Trials
run until the *trials' deadline*, which leaves a reserve for what comes after them: the
results step (loading the kept models, the ensemble selection, the files and plots: 2% of the
budget, at least 5 s) and, with ``--refit-full``, the retraining of the best configuration on
train + validation (its trial's time, plus a quarter for the validation rows and headroom).
A trial still training at the trials' deadline is stopped before its next mini-batch, keeping
its best epoch so far; the study starts no trial after it.
"""

from __future__ import annotations

import time

RESERVE_FRACTION = 0.02
RESERVE_MIN_SECONDS = 5.0
REFIT_FULL_FACTOR = 1.25
# The most of the budget the reserve holds for refitting one rating-ensemble member.  On a
# 10-minute ml-latest-small search one AutoInt candidate (a 150 s trial) held 188 s of it, and
# with seven other candidates the trials stopped at 351 s; a slower member is refit at the end
# only if time is left, and otherwise stays as trained
RESERVED_MEMBER_SHARE = 0.05


def refit_estimate(trial) -> float:
    """What refitting ``trial`` for its best epoch count costs: its seconds up to that epoch.
    A trial's seconds run on past its best epoch until patience or its time share ends: on
    ml-latest-small an AutoInt trial ran 225 s to its 15th epoch and was best at the 3rd, and
    counting all of it for eight candidates stopped a 15-minute search at 495 s."""
    seconds = float(trial.user_attrs.get("seconds", 0.0))
    epochs, best = trial.user_attrs.get("epochs"), trial.user_attrs.get("best_epoch")
    if epochs and best:
        return seconds * min(1.0, float(best) / float(epochs))
    return seconds


class Budget:
    def __init__(self, seconds: float | None, started: float | None = None) -> None:
        self.seconds = seconds
        self.started = time.monotonic() if started is None else started

    @property
    def deadline(self) -> float | None:
        return None if self.seconds is None else self.started + self.seconds

    def reserve(self, refit_seconds: float = 0.0) -> float:
        if self.seconds is None:
            return 0.0
        return max(RESERVE_MIN_SECONDS, RESERVE_FRACTION * self.seconds) + REFIT_FULL_FACTOR * refit_seconds

    def trials_deadline(self, refit_seconds: float = 0.0) -> float | None:
        """When trials must stop, leaving the reserve (``refit_seconds``: the best trial's time
        when a full refit follows, else 0)."""
        return None if self.seconds is None else self.started + self.seconds - self.reserve(refit_seconds)

    def spent(self) -> bool:
        """Whether the deadline has passed (never, without a budget)."""
        return self.seconds is not None and time.monotonic() >= self.deadline

    def left(self) -> float | None:
        return None if self.seconds is None else self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started
