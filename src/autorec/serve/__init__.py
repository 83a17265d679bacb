"""The HTTP service of a saved model (`autorec serve`): FastAPI, validated by pydantic."""

from .app import create_app

__all__ = ["create_app"]
