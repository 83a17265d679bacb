"""The HTTP service, for real: `autorec serve` in a subprocess on a free loopback port, spoken
to over HTTP (httpx), including the error cases and the API key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

import autorec
from autorec.data import Interactions
from planted import planted, planted_table

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, model_dir, *extra, env=None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "autorec.cli.main", "serve", "--model", str(model_dir),
                                      "--port", str(self.port), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited: {self.proc.stderr.read()}")
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the server did not become ready in 60 s")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    data = Interactions.from_frame(planted(n_users=50, n_items=30, seed=2))
    rec = autorec.Recommender("biased-mf", train={"max_epochs": 3}).fit(data)
    rec.save(tmp / "rating")
    table = planted_table(n=600)
    ctr = autorec.CTRModel("fm", train={"max_epochs": 1}).fit(table, np.arange(500), np.arange(500, 600))
    ctr.save(tmp / "ctr")
    return {"rating": tmp / "rating", "ctr": tmp / "ctr", "rec": rec, "ctr_model": ctr, "table": table}


@pytest.fixture(scope="module")
def server(models):
    srv = Server(models["rating"])
    yield srv
    srv.stop()


def test_health_ready_model_and_openapi(server, models):
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    assert httpx.get(server.url + "/ready").json()["ready"] is True
    card = httpx.get(server.url + "/model").json()
    assert card["model"] == "biased-mf" and card["users"] == 50 and card["autorec_version"] == autorec.__version__
    spec = httpx.get(server.url + "/openapi.json").json()
    assert {"/predict", "/predict/history", "/recommend/{user}", "/recommend", "/recommend/batch"} <= set(spec["paths"])
    # every request field is documented
    for name in ("PredictRequest", "RecommendHistoryRequest", "RecommendBatchRequest", "PredictHistoryRequest"):
        for field, schema in spec["components"]["schemas"][name]["properties"].items():
            assert schema.get("description"), (name, field)


def test_predict_and_recommend_answer_what_the_model_answers(server, models):
    rec = models["rec"]
    u, i = int(rec.user_ids_[0]), int(rec.item_ids_[0])
    body = {"pairs": [{"user": u, "item": i}, {"user": "stranger", "item": i}]}
    out = httpx.post(server.url + "/predict", json=body).json()["predictions"]
    expected, flags = rec.predict([u, "stranger"], [i, i], return_fallback=True)
    np.testing.assert_allclose([p["prediction"] for p in out], expected, rtol=1e-6)
    assert [p["fallback"] for p in out] == flags.tolist() == [False, True]
    top = httpx.get(server.url + f"/recommend/{u}", params={"k": 5}).json()
    assert [x["item"] for x in top["items"]] == [j for j, _ in rec.recommend(u, k=5)] and top["fallback"] is False
    assert httpx.get(server.url + "/recommend/stranger").json()["fallback"] is True
    hist = [{"item": int(rec.item_ids_[1]), "rating": 5}, {"item": int(rec.item_ids_[2]), "rating": 1.5}]
    folded = httpx.post(server.url + "/recommend", json={"history": hist, "k": 3}).json()
    assert [x["item"] for x in folded["items"]] == [j for j, _ in rec.recommend(history={1 * h["item"]: h["rating"] for h in hist}, k=3)]
    scored = httpx.post(server.url + "/predict/history", json={"history": hist, "items": [i]}).json()
    assert scored["predictions"][0]["prediction"] == pytest.approx(float(rec.predict(history={h["item"]: h["rating"] for h in hist}, items=[i])[0]))
    batch = httpx.post(server.url + "/recommend/batch", json={"users": [u, "stranger"], "k": 2}).json()
    assert [r["fallback"] for r in batch["recommendations"]] == [False, True]


@pytest.mark.parametrize("method,path,body,status,names", [
    ("post", "/predict", {"pairs": [{"user": 1, "item": 2}], "extra": 1}, 422, "extra"),
    ("post", "/predict", {"pairs": [{"user": 1.5, "item": 2}]}, 422, "user"),
    ("post", "/predict", {"pairs": [{"user": [1], "item": 2}]}, 422, "user"),
    ("post", "/predict", {"pairs": [{"user": True, "item": 2}]}, 422, "user"),
    ("post", "/predict", {"pairs": []}, 422, "pairs"),
    ("post", "/predict", {"pairs": [{"user": 1, "item": 2}] * 10_001}, 422, "pairs"),
    ("post", "/predict", "not json", 422, ""),
    ("get", "/recommend/1?k=0", None, 422, "k"),
    ("get", "/recommend/1?k=100000", None, 422, "k"),
    ("get", "/recommend/1?k=ten", None, 422, "k"),
    ("post", "/recommend", {"history": [{"item": 1, "rating": "five"}]}, 422, "rating"),
    ("post", "/recommend", {"history": [{"item": "no-such-item", "rating": 4}]}, 400, "nothing to fold in"),
    ("post", "/recommend/batch", {"users": [1], "k": -1}, 422, "k"),
    ("post", "/predict_proba", {"rows": [{"a": 1}]}, 400, "predicts ratings"),
])
def test_bad_requests_are_4xx_that_name_the_field(server, method, path, body, status, names):
    kwargs = {} if body is None else ({"content": body, "headers": {"content-type": "application/json"}}
                                      if isinstance(body, str) else {"json": body})
    r = getattr(httpx, method)(server.url + path, **kwargs)
    assert r.status_code == status, r.text
    assert names in r.text


def test_an_api_key_is_required_when_set(models):
    srv = Server(models["rating"], env={"AUTOREC_API_KEY": "s3cret"})
    try:
        assert httpx.get(srv.url + "/health").status_code == 200
        assert httpx.get(srv.url + "/model").status_code == 401
        assert httpx.get(srv.url + "/recommend/1", headers={"X-API-Key": "wrong"}).status_code == 401
        assert httpx.get(srv.url + "/model", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert httpx.get(srv.url + "/model", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    finally:
        srv.stop()


def test_binding_beyond_loopback_needs_a_key_or_insecure(models):
    proc = subprocess.run([sys.executable, "-m", "autorec.cli.main", "serve", "--model", str(models["rating"]),
                           "--host", "0.0.0.0", "--port", str(_free_port())], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "AUTOREC_API_KEY"}, timeout=60)
    assert proc.returncode == 1 and "--api-key" in proc.stderr and "Traceback" not in proc.stderr


def test_a_ctr_model_scores_raw_rows_with_two_workers(models):
    srv = Server(models["ctr"], "--workers", "2")
    try:
        rows = models["table"].frame.iloc[:4].drop(columns=["label"]).to_dict("records")
        rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in rows]
        got = httpx.post(srv.url + "/predict_proba", json={"rows": rows}).json()["probabilities"]
        np.testing.assert_allclose(got, models["ctr_model"].predict_proba(models["table"], np.arange(4)), rtol=1e-5)
        bad = httpx.post(srv.url + "/predict_proba", json={"rows": [{"nope": 1}]})
        assert bad.status_code == 422 and "nope" in bad.text
        assert httpx.post(srv.url + "/predict", json={"pairs": [{"user": 1, "item": 1}]}).status_code == 400
    finally:
        srv.stop()


def test_a_top_n_model_ranks_and_folds_in_from_items(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    u, i = np.nonzero(rng.random((40, 25)) < 0.3)
    data = Interactions.from_frame(pd.DataFrame({"user": u, "item": i}), rating_col=None)
    model = autorec.TopNModel("ease", params={"lambda": 5.0}).fit(data)
    model.save(tmp_path / "ease")
    srv = Server(tmp_path / "ease")
    try:
        assert httpx.get(srv.url + "/model").json()["task"] == "ranking"
        top = httpx.get(srv.url + "/recommend/3", params={"k": 4}).json()
        assert [x["item"] for x in top["items"]] == [j for j, _ in model.recommend(3, k=4)]
        hist = [int(data.item_ids[j]) for j in data.items[data.users == 3]]
        folded = httpx.post(srv.url + "/recommend", json={"history": [{"item": j} for j in hist], "k": 4}).json()
        assert folded["items"] == top["items"]  # the history is the user's row
        r = httpx.post(srv.url + "/predict", json={"pairs": [{"user": 3, "item": 1}]})
        assert r.status_code == 400 and "top-N model" in r.text
    finally:
        srv.stop()
