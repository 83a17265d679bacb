"""`load(DIR)`: any folder autorec writes, whatever it holds.

The one place that knows every estimator: it reads the format recorded in the folder
(``meta.json``'s ``format``, or ``ensemble.json`` for an ensemble) and hands the folder to
that estimator's own ``load``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError
from .estimators import ctr, ensemble, rating, topn
from .io import folder_format, model_dir

LOADERS = {
    rating.FORMAT: rating.Recommender.load,
    ctr.FORMAT: ctr.CTRModel.load,
    topn.FORMAT: topn.TopNModel.load,
    ensemble.FORMAT: lambda path: ensemble.Ensemble.load(path, load_member=load),
}


def load(path: str | Path) -> Any:
    """Load a saved model folder (written by ``autorec train``, ``autorec search`` or an
    estimator's ``save``): a `Recommender`, a `CTRModel` or an `Ensemble`.  ``path`` may be the
    model folder, a run folder holding ``model/``, or an ensemble folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such model folder")
    fmt = folder_format(path)
    if fmt not in LOADERS:
        raise ConfigError(f"{model_dir(path)}: format {fmt!r} is not one this autorec reads "
                          f"(known: {', '.join(LOADERS)}); is it from a newer autorec?")
    return LOADERS[fmt](model_dir(path))
