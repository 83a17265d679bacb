"""Load benchmark of `autorec serve`, beside Cornac's own serving app on a comparable model.

On loopback only, bounded in requests and time.  For each server and each number of concurrent
clients (1, 16, 64), a fixed number of requests is sent (or as many as fit in the time limit),
and requests per second, p50/p99 latency and errors are recorded.

* autorec: BiasedMF on ml-latest-small (random-90-10, seed 0), `autorec serve` with 1 and 2
  workers; `GET /recommend/{user}?k=10` (seen items left out) and `POST /predict` with 10 pairs.
* Cornac 3 (`cornac.serving.app`, Flask, as its docs run it): its MF with biases on the same
  training part, `GET /recommend?uid=U&k=10&remove_seen=true`.  Cornac has no pair-scoring
  endpoint, so /predict has no peer row.

The load generator runs on the same machine as the servers, so on 2 cores it takes CPU from
them: figures are for the pair, comparable between servers, not absolutes.  It is wrk (C) where
installed (Debian's package), else httpx on asyncio, which itself saturates a core at 64 clients.

    python benchmarks/bench_serve.py [--seconds 15] [--requests 2000 (httpx only)] [--out benchmarks/results/serve]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited; see its log in the work folder")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} not ready in {timeout} s")


async def load(make_request, clients: int, requests: int, seconds: float) -> dict:
    import httpx

    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        async def worker(seed: int) -> None:
            nonlocal errors, sent
            rng = np.random.default_rng(seed)
            while sent < requests and time.monotonic() < deadline:
                sent += 1
                t0 = time.perf_counter()
                try:
                    r = await make_request(client, rng)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        wall = time.perf_counter() - t0
    lat = np.array(latencies) * 1000
    return {"clients": clients, "requests": len(latencies), "errors": errors, "seconds": round(wall, 3),
            "rps": round(len(latencies) / wall, 1), "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2)}


WRK_SCRIPT = """
math.randomseed(%(seed)d)
local users = {%(users)s}
local items = {%(items)s}
local mode = "%(mode)s"
request = function()
  local u = users[math.random(#users)]
  if mode == "predict" then
    local pairs = {}
    for i = 1, 10 do
      pairs[i] = string.format('{"user": %%s, "item": %%s}', users[math.random(#users)], items[math.random(#items)])
    end
    return wrk.format("POST", "/predict", {["Content-Type"] = "application/json"},
                      '{"pairs": [' .. table.concat(pairs, ",") .. ']}')
  elseif mode == "cornac" then
    return wrk.format("GET", "/recommend?uid=" .. u .. "&k=10&remove_seen=true")
  end
  return wrk.format("GET", "/recommend/" .. u .. "?k=10")
end
"""


def wrk_load(url: str, mode: str, clients: int, seconds: float, users, items, work: Path) -> dict:
    """wrk (C, one thread) as the load generator: far less CPU than a Python client, so more of
    the 2 cores go to the server under test.  Latency percentiles from --latency."""
    import re

    script = work / f"{mode}.lua"
    script.write_text(WRK_SCRIPT % {"seed": clients, "mode": mode, "users": ",".join(map(str, users[:2000])),
                                    "items": ",".join(map(str, items[:2000]))})
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{int(seconds)}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout

    def ms(label):
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return None
        value, unit = float(m.group(1)), m.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    return {"clients": clients, "requests": total, "errors": errors, "seconds": seconds,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": ms("50"),
            "p99_ms": ms("99"), "generator": "wrk"}



def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", default="1,16,64")
    ap.add_argument("--python-client", action="store_true", help="load with httpx even where wrk is installed")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/serve"))
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    import autorec
    from autorec.datasets import load as load_data
    from autorec.splits import make_split

    data = load_data("ml-latest-small")
    split = make_split(data, "random-90-10", seed=0)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    rec = autorec.Recommender("biased-mf", train={"max_epochs": 20}).fit(split.train, split.validation)
    rec.save(work / "autorec")
    train = split.train
    users = train.user_ids[np.unique(train.users)].tolist()
    items = train.item_ids[np.unique(train.items)].tolist()

    results: dict = {"date": time.strftime("%Y-%m-%d"), "machine": f"{cpu_model()}, {os.cpu_count()} cores", "python": platform.python_version(),
                     "autorec": autorec.__version__, "model": "biased-mf (autorec) / MF with biases (Cornac)",
                     "data": "ml-latest-small random-90-10 seed 0 (train part)", "requests_per_level": args.requests,
                     "seconds_limit_per_level": args.seconds, "rows": []}

    import shutil

    use_wrk = shutil.which("wrk") is not None and not args.python_client
    results["generator"] = "wrk (one thread, --latency)" if use_wrk else "httpx asyncio (Python)"

    def run_levels(server: str, endpoint: str, make_request, url: str = "", mode: str = "") -> None:
        for c in clients:
            if use_wrk:
                row = wrk_load(url, mode, c, args.seconds, users, items, work)
            else:
                row = asyncio.run(load(make_request, c, args.requests, args.seconds))
            row.update({"server": server, "endpoint": endpoint})
            print(json.dumps(row), flush=True)
            results["rows"].append(row)

    env = {**os.environ, "AUTOREC_NO_PROGRESS": "1"}
    for workers in (1, 2):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "autorec.cli.main", "serve", "--model", str(work / "autorec"),
                                 "--port", str(port), "--workers", str(workers)],
                                stdout=subprocess.DEVNULL, stderr=open(work / f"autorec-{workers}.log", "w"),
                                text=True, env=env)
        try:
            wait_ready(url + "/ready", proc)

            async def rec_req(client, rng, url=url):
                return await client.get(f"{url}/recommend/{users[rng.integers(len(users))]}", params={"k": 10})

            async def pred_req(client, rng, url=url):
                pairs = [{"user": users[rng.integers(len(users))], "item": items[rng.integers(len(items))]}
                         for _ in range(10)]
                return await client.post(f"{url}/predict", json={"pairs": pairs})

            name = f"autorec serve, {workers} worker{'s' if workers > 1 else ''}"
            run_levels(name, "/recommend", rec_req, url, "recommend")
            run_levels(name, "/predict (10 pairs)", pred_req, url, "predict")
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    try:
        import cornac
        from cornac.data import Dataset

        triples = list(zip(train.user_ids[train.users].astype(str), train.item_ids[train.items].astype(str),
                           train.ratings.astype(float)))
        ds = Dataset.from_uir(triples, seed=0)
        mf = cornac.models.MF(k=32, max_iter=20, learning_rate=0.01, lambda_reg=0.02, use_bias=True, seed=0)
        mf.fit(ds)
        saved = mf.save(str(work / "cornac"), save_trainset=True)
        results["cornac"] = cornac.__version__
    except Exception as exc:  # the peer is optional: say why it is missing
        results["cornac_skipped"] = f"{type(exc).__name__}: {exc}"
        saved = None
    if saved:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cenv = {**env, "MODEL_PATH": str(saved), "MODEL_CLASS": "cornac.models.MF", "FLASK_APP": "cornac.serving.app"}
        # Flask logs every request on stderr: to a file, since an unread pipe fills and stalls the server
        log = open(work / "cornac-server.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "flask", "run", "--port", str(port)], cwd=work,
                                stdout=subprocess.DEVNULL, stderr=log, text=True, env=cenv)
        try:
            wait_ready(url + "/recommend?uid=1&k=1", proc)
            str_users = [str(u) for u in users]

            async def cornac_req(client, rng, url=url):
                return await client.get(f"{url}/recommend", params={"uid": str_users[rng.integers(len(str_users))],
                                                                     "k": 10, "remove_seen": "true"})

            run_levels("Cornac serving (Flask)", "/recommend", cornac_req, url, "cornac")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    write_json(args.out / "serve_load.json", results)
    print(f"written {args.out / 'serve_load.json'}")


if __name__ == "__main__":
    main()
