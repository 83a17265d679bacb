"""Concrete models: the AutoRec family and the block-model zoo."""

from .zoo import ZOO, ZooModel, list_models, make_model

__all__ = ["ZOO", "ZooModel", "list_models", "make_model"]
