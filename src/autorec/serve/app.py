"""`create_app(model_dir)`: a FastAPI application that serves one saved model.

Endpoints: ``GET /health`` (the process answers), ``GET /ready`` (the model is loaded),
``GET /model`` (what the model is: spec, metrics, dataset, training time, package version),
``POST /predict`` (pairs), ``POST /predict/history`` (a new user folded in), ``GET
/recommend/{user}``, ``POST /recommend`` (fold-in), ``POST /recommend/batch`` and, for CTR
models, ``POST /predict_proba`` (raw feature rows).

With an API key, every endpoint but ``/health``, ``/ready`` and the OpenAPI pages needs it,
in the ``X-API-Key`` header or as ``Authorization: Bearer <key>``; a request without it gets 401.
The model is read with `autorec.load` (safetensors + JSON, no pickle).
"""

from __future__ import annotations

import functools
import hmac
import os
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
import torch
from fastapi import Depends, FastAPI, HTTPException, Path as PathParam, Query, Request
from fastapi.responses import JSONResponse

from .._version import __version__
from ..api import load
from ..errors import AutorecError
from ..io import run_record
from . import schemas as s

#: environment variables `autorec serve --workers N` hands to each worker process
ENV_MODEL, ENV_KEY, ENV_THREADS = "AUTOREC_SERVE_MODEL", "AUTOREC_API_KEY", "AUTOREC_SERVE_THREADS"


def model_card(path: Path, model: Any) -> dict:
    """What ``GET /model`` answers: the saved model's kind and spec, and the run's record
    (metrics, dataset, split, training time) when the folder has its ``metrics.json``."""
    members = getattr(model, "members", None)
    single = members[0] if members else model
    task = ("ctr" if hasattr(single, "feature_columns_") else "ranking" if hasattr(single, "history_matrix_")
            else "rating")
    card: dict[str, Any] = {
        "path": str(path),
        "autorec_version": __version__,
        "kind": ("ensemble" if members else "model"),
        "task": task,
    }
    if members:
        card["members"] = [{"name": n, "model": m.model_, "weight": float(w)}
                           for n, m, w in zip(model.names, members, model.weights)]
    else:
        card["model"] = model.model_
        card["hparams"] = model.hparams_
        card["trained_with"] = single.meta_.get("autorec_version") if hasattr(single, "meta_") else None
    if task in ("rating", "ranking"):
        card["users"], card["items"] = int(len(single.user_ids_)), int(len(single.item_ids_))
    if task == "rating":
        card["rating_scale"] = list(single.rating_scale_) if single.rating_scale_ else None
        card["default_rating"] = float(model.default_value_)
    elif task == "ctr":
        card["feature_columns"] = single.feature_columns_
    run = run_record(path)
    if run:
        card["run"] = {k: run[k] for k in ("dataset", "split", "seed", "model", "validation", "test",
                                           "train_seconds", "epochs", "best_epoch") if k in run}
    return card


def create_app(model_dir: str | Path, api_key: str | None = None, threads: int | None = None) -> FastAPI:
    """The service of the model in ``model_dir`` (loaded now, so a bad folder fails at start).
    ``threads``: torch threads of this process (None: torch's default)."""
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))
    path = Path(model_dir)
    model = load(path)
    card = model_card(path, model)
    is_ctr = card["task"] == "ctr"
    key = api_key.encode() if api_key else None

    # model calls run in worker threads, at most one per core at a time and first come first
    # served; left to the default pool of 40 threads, 64 concurrent clients made them fight
    # over the cores and the p99 latency grew tenfold
    limiter = anyio.CapacityLimiter(max(1, threads or torch.get_num_threads()))

    async def call(fn, *args, **kwargs):
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter)

    app = FastAPI(title="autorec", version=__version__,
                  description=f"Predictions and top-N lists of the autorec model in `{path}`.")
    app.state.model = model

    def authorised(request: Request) -> None:
        if key is None:
            return
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if given is None or not hmac.compare_digest(given.encode(), key):
            raise HTTPException(status_code=401, detail="a valid API key is required (X-API-Key header)",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(AutorecError)
    async def _user_error(request: Request, exc: AutorecError):  # the request's fault: 400, one line
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    is_ranking = card["task"] == "ranking"

    def ranking_or_rating_model():
        if is_ctr:
            raise HTTPException(status_code=400, detail="this is a CTR model: POST /predict_proba with feature rows")
        return model

    def rating_model():
        if is_ranking:
            raise HTTPException(status_code=400, detail="this is a top-N model: it ranks, it does not predict "
                                                        "ratings; use /recommend")
        return ranking_or_rating_model()

    def history_of(entries):
        # a top-N model takes the items (ratings, when given, against its positive threshold)
        if is_ranking and all(h.rating is None for h in entries):
            return [h.item for h in entries]
        return [(h.item, h.rating) for h in entries]

    @app.get("/health", summary="The process answers")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready", summary="The model is loaded and answers")
    def ready() -> dict:
        return {"ready": True, "task": card["task"]}

    @app.get("/model", summary="What the model is", dependencies=[Depends(authorised)])
    def describe() -> dict:
        return card

    @app.post("/predict", response_model=s.PredictResponse, dependencies=[Depends(authorised)],
              summary="Predicted ratings of (user, item) pairs")
    async def predict(body: s.PredictRequest) -> dict:
        rec = rating_model()
        users = [p.user for p in body.pairs]
        items = [p.item for p in body.pairs]
        pred, fallback = await call(rec.predict, users, items, return_fallback=True)
        return {"predictions": [{"user": u, "item": i, "prediction": float(p), "fallback": bool(f)}
                                for u, i, p, f in zip(users, items, pred, fallback)]}

    @app.post("/predict/history", response_model=s.PredictResponse, dependencies=[Depends(authorised)],
              summary="Predicted ratings for a new user, folded in from a history")
    async def predict_history(body: s.PredictHistoryRequest) -> dict:
        rec = rating_model()
        pred, fallback = await call(rec.predict, history=[(h.item, h.rating) for h in body.history], items=body.items,
                                     return_fallback=True)
        return {"predictions": [{"user": None, "item": i, "prediction": float(p), "fallback": bool(f)}
                                for i, p, f in zip(body.items, pred, fallback)]}

    def _listing(user, top, fallback) -> dict:
        return {"user": user, "fallback": bool(fallback),
                "items": [{"item": i, "score": float(v)} for i, v in top]}

    @app.get("/recommend/{user}", response_model=s.Recommendation, dependencies=[Depends(authorised)],
             summary="Top-k items for a user of the training data")
    async def recommend_user(user: str = PathParam(..., description="An original user id."),
                             k: int = Query(10, ge=1, le=s.MAX_K, description=f"How many items (1..{s.MAX_K})."),
                             exclude_seen: bool = Query(True, description="Leave the user's training items out.")
                             ) -> dict:
        rec = ranking_or_rating_model()
        top, fallback = await call(rec.recommend, user, k=k, exclude_seen=exclude_seen, return_fallback=True)
        return _listing(user, top, fallback)

    @app.post("/recommend", response_model=s.Recommendation, dependencies=[Depends(authorised)],
              summary="Top-k items for a new user, folded in from a history")
    async def recommend_history(body: s.RecommendHistoryRequest) -> dict:
        rec = ranking_or_rating_model()
        top, fallback = await call(rec.recommend, history=history_of(body.history), k=body.k,
                                      exclude_seen=body.exclude_seen, return_fallback=True)
        return _listing(None, top, fallback)

    @app.post("/recommend/batch", response_model=s.RecommendBatchResponse, dependencies=[Depends(authorised)],
              summary="Top-k items for many users")
    async def recommend_batch(body: s.RecommendBatchRequest) -> dict:
        rec = ranking_or_rating_model()
        lists, flags = await call(rec.recommend_batch, body.users, k=body.k, exclude_seen=body.exclude_seen,
                                           return_fallback=True)
        return {"recommendations": [_listing(u, top, f) for u, top, f in zip(body.users, lists, flags)]}

    @app.post("/predict_proba", response_model=s.ProbaResponse, dependencies=[Depends(authorised)],
              summary="Click probabilities of raw feature rows (CTR models)")
    async def predict_proba(body: s.ProbaRequest) -> dict:
        if not is_ctr:
            raise HTTPException(status_code=400, detail="this model predicts ratings: POST /predict with pairs")
        columns = card["feature_columns"]
        unknown = sorted({c for row in body.rows for c in row} - set(columns))
        if unknown:
            raise HTTPException(status_code=422, detail=f"unknown column(s) {unknown}; the model reads {columns}")
        return {"probabilities": np.asarray(await call(model.predict_proba, body.rows), dtype=float).tolist()}

    return app


def app_from_env() -> FastAPI:
    """The app factory each worker of ``autorec serve --workers N`` calls (uvicorn imports it by
    name in every worker process): the model and key come from the environment."""
    threads = os.environ.get(ENV_THREADS)
    return create_app(os.environ[ENV_MODEL], os.environ.get(ENV_KEY) or None, int(threads) if threads else None)
