"""Training speed under contention: torch's default threads against autorec's default.

Three situations on this machine, each timing seconds per epoch of one model on the bundled
MovieLens latest-small (random 90/10, seed 0; the median of epochs 2..N, the first being
warm-up):

* ``quiet``: nothing else runs;
* ``one-core-busy``: another process spins on one core (a shared or busy machine);
* ``two-trainers``: two autorec training processes at once (two search workers on one machine),
  each timed.

For each, the run with ``threads=<all cores>`` (torch's default, one per core) and with
autorec's default (``threads`` unset: the free cores, shared among autorec trainers;
``autorec/train/threads.py``).  Time it alone: other load on the machine is what it measures.

    python benchmarks/bench_threads.py --out benchmarks/results/threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402
from _results import write_json  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

# one child process = one timed training run; prints a JSON line
CHILD = r"""
import json, sys, time
from autorec.datasets import load
from autorec.splits import make_split
from autorec import Recommender
model, threads, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = load("ml-latest-small")
split = make_split(data, "random-90-10", seed=0)
train = {"max_epochs": epochs, "patience": 0, "progress": False}
if threads != "auto":
    train["threads"] = int(threads)
params = {"hidden": [500]} if "autorec" in model else {}
print("ready", flush=True)
sys.stdin.readline()  # start together
rec = Recommender(model, params=params, train=train).fit(split.train, split.validation)
secs = [e.seconds for e in rec.history_.epochs]
print(json.dumps({"model": model, "threads_setting": threads, "threads": rec.history_.threads,
                  "epoch_seconds": secs}), flush=True)
"""

SPIN = "import os\nos.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\nwhile True: pass\n"


def run(model: str, threads: str, epochs: int, copies: int = 1) -> list[dict]:
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, model, threads, str(epochs)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "AUTOREC_NO_PROGRESS": "1"})
             for _ in range(copies)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:  # release them together
        p.stdin.write("go\n")
        p.stdin.flush()
    out = []
    for p in procs:
        line = p.stdout.readline()
        p.wait()
        res = json.loads(line)
        res["median_epoch_seconds"] = statistics.median(res["epoch_seconds"][1:])
        out.append(res)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="i-autorec,biased-mf")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--out", type=Path, default=RESULTS / "threads.json")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    rows = []
    for model in args.models.split(","):
        for situation in ("quiet", "one-core-busy", "two-trainers"):
            for threads in (str(cores), "auto"):
                spin = subprocess.Popen([sys.executable, "-c", SPIN]) if situation == "one-core-busy" else None
                try:
                    time.sleep(0.5 if spin else 0)
                    res = run(model, threads, args.epochs, copies=2 if situation == "two-trainers" else 1)
                finally:
                    if spin:
                        spin.kill()
                        spin.wait()
                for i, r in enumerate(res):
                    r.update({"situation": situation, "process": i})
                    rows.append(r)
                    print(f"{model:10s} {situation:14s} threads={threads:4s} (took {r['threads']}) "
                          f"{r['median_epoch_seconds']:.3f} s/epoch", flush=True)
    write_json(args.out, {"benchmark": "threads", "cores": cores, "machine": f"{cpu_model()}, {cores} cores",
                          "date": time.strftime("%Y-%m-%d"), "epochs": args.epochs, "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
