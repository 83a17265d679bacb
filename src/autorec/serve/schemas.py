"""Request and response bodies of the HTTP service.

Every request model forbids unknown fields and types its ids strictly (a whole number or a
string; a float, a boolean or a list is refused), so a malformed request is a 422 that names
the field, never a 500.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

#: the most pairs, users, items or rows one request may carry
MAX_BATCH = 10_000
MAX_K = 1_000

Id = Annotated[Union[StrictInt, StrictStr], Field(description="An original user or item id, as in the training data.")]
Rating = Annotated[Union[StrictFloat, StrictInt], Field(description="A rating on the training data's scale.")]
K = Annotated[int, Field(ge=1, le=MAX_K, description=f"How many items to return (1..{MAX_K}).")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pair(Strict):
    user: Id
    item: Id


class PredictRequest(Strict):
    pairs: list[Pair] = Field(..., min_length=1, max_length=MAX_BATCH,
                              description=f"(user, item) pairs to score, 1..{MAX_BATCH}.")


class Prediction(BaseModel):
    user: Any = Field(description="The user id, or null for a folded-in history.")
    item: Any
    prediction: float = Field(description="The predicted rating.")
    fallback: bool = Field(description="True when the default rating answered: the user or the item is unknown.")


class PredictResponse(BaseModel):
    predictions: list[Prediction]


class HistoryEntry(Strict):
    item: Id
    rating: Optional[Rating] = Field(None, description="The rating; rating models need it, top-N models "
                                                       "take the item alone as a positive.")


History = Annotated[list[HistoryEntry], Field(min_length=1, max_length=MAX_BATCH,
                                              description="The new user's ratings, one entry per item.")]


class PredictHistoryRequest(Strict):
    history: History
    items: list[Id] = Field(..., min_length=1, max_length=MAX_BATCH, description="Items to score for that user.")


class RecommendHistoryRequest(Strict):
    history: History
    k: K = 10
    exclude_seen: bool = Field(True, description="Leave the history's items out of the list.")


class RecommendBatchRequest(Strict):
    users: list[Id] = Field(..., min_length=1, max_length=MAX_BATCH, description="Users to rank for.")
    k: K = 10
    exclude_seen: bool = Field(True, description="Leave each user's training items out of the list.")


class ScoredItem(BaseModel):
    item: Any
    score: float = Field(description="The predicted rating (what /predict gives for the pair); for a top-N "
                                     "model, its ranking score.")


class Recommendation(BaseModel):
    user: Any = Field(description="The user id, or null for a folded-in history.")
    fallback: bool = Field(description="True when the user is unknown and the list is the most rated items.")
    items: list[ScoredItem]


class RecommendBatchResponse(BaseModel):
    recommendations: list[Recommendation]


class ProbaRequest(Strict):
    rows: list[dict[str, Union[StrictFloat, StrictInt, StrictStr, None]]] = Field(
        ..., min_length=1, max_length=MAX_BATCH,
        description="Raw feature rows {column: value}; a missing column is a missing value.")


class ProbaResponse(BaseModel):
    probabilities: list[float]
