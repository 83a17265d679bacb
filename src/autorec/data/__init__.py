"""In-memory data types: `Interactions` (ratings/implicit feedback) and `FeatureTable` (CTR rows)."""

from .interactions import DUPLICATE_POLICIES, Interactions

__all__ = ["DUPLICATE_POLICIES", "Interactions"]
