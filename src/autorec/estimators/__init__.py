"""Estimators: trainable models with a scikit-learn face that save and load themselves.

* :class:`~.rating.Recommender`: rating prediction on `Interactions` (any rating family).
* :class:`~.ctr.CTRModel`: click-through-rate prediction on `FeatureTable` rows.
* :class:`~.topn.TopNModel`: top-N ranking from implicit feedback (popularity, ItemKNN, EASE).
* :class:`~.ensemble.Ensemble`: a weighted average of fitted models of one task.

`autorec.api.load` reads any of their folders.
"""

from .base import ParamsMixin
from .ctr import CTRModel, ctr_model_names
from .ensemble import Ensemble, ensemble_predict
from .rating import Recommender
from .topn import TopNModel

__all__ = ["CTRModel", "Ensemble", "ParamsMixin", "Recommender", "TopNModel", "ctr_model_names", "ensemble_predict"]
