"""In-memory data types: `Interactions` (ratings/implicit feedback) and `FeatureTable` (CTR rows)."""

from .features import EncodedFeatures, FeatureEncoder, FeatureTable
from .interactions import DUPLICATE_POLICIES, Interactions

__all__ = ["DUPLICATE_POLICIES", "EncodedFeatures", "FeatureEncoder", "FeatureTable", "Interactions"]
