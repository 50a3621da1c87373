"""Out-of-core training: Nnet-survival on n subjects streamed from parquet shards, with the peak
memory of the training process measured.

    .venv/bin/python benchmarks/out_of_core.py [--sizes 1e6,1e7] [--epochs 1] [--shard-rows 500000]

For each n, in a fresh process: write n subjects as parquet shards, one shard generated at a
time (10 normal covariates, exponential event times with log-hazard x'beta, uniform censoring;
seed 0), so the writer never holds more than one shard; then, in another fresh process, train
``NnetSurvival(breaks, head="proportional", hidden=(16,))`` on
``ParquetMinibatches(shards, batch_size=1024)`` for ``--epochs`` epochs and read the process's
peak resident memory (VmHWM in /proc/self/status) before the data are touched and after
training. Memory per 1e6 subjects = (peak after - peak before) / (n / 1e6); bounded memory means
the peak does not grow with n. Prints a Markdown table; benchmarks/RESULTS.md records it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

P = 10
BETA = [0.5, -0.4, 0.3, -0.2, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0]


def peak_mb() -> float:
    """This process's peak resident set size (VmHWM), MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("VmHWM not found in /proc/self/status")


def write_shards(directory: str, n: int, shard_rows: int) -> dict:
    import numpy as np
    import pandas as pd

    from pysurvbridge.data.streaming import write_parquet_chunks

    rng = np.random.default_rng(0)
    beta = np.asarray(BETA)

    def frames():
        left = n
        while left > 0:
            m = min(shard_rows, left)
            X = rng.normal(size=(m, P))
            t = rng.exponential(np.exp(-(X @ beta)))
            c = rng.uniform(0, 3, size=m)
            frame = pd.DataFrame(X.astype(np.float32), columns=[f"x{j + 1}" for j in range(P)])
            frame["time"], frame["event"] = np.minimum(t, c), (t <= c).astype(np.float64)
            left -= m
            yield frame
    t0 = time.perf_counter()
    paths = write_parquet_chunks(directory, frames())
    size = sum(p.stat().st_size for p in paths)
    return {"write_seconds": time.perf_counter() - t0, "shards": len(paths), "bytes": size, "writer_peak_mb": peak_mb()}


def train(directory: str, epochs: int) -> dict:
    import numpy as np
    import torch

    before = peak_mb()
    from pysurvbridge.data.streaming import ParquetMinibatches
    from pysurvbridge.models import NnetSurvival

    torch.set_num_threads(1)  # a 10-16-1 network on 1024-row batches: a second thread only adds OpenMP barriers
    imported = peak_mb()
    source = ParquetMinibatches(directory, time="time", event="event", covariates=[f"x{j + 1}" for j in range(P)],
                                batch_size=1024)
    breaks = np.linspace(0.0, 3.0, 11)
    t0 = time.perf_counter()
    model = NnetSurvival(breaks, head="proportional", hidden=(16,)).fit(source, epochs=epochs, lr=1e-3, seed=0,
                                                                        verbose=False)
    seconds = time.perf_counter() - t0
    return {"before_mb": before, "after_import_mb": imported, "peak_mb": peak_mb(), "train_seconds": seconds,
            "final_loss": float(model.history_["train_loss"].iloc[-1])}


def child(args: argparse.Namespace) -> None:
    out = write_shards(args.dir, args.n, args.shard_rows) if args.child == "write" else train(args.dir, args.epochs)
    print("RESULT " + json.dumps(out))


def run_child(kind: str, directory: str, n: int, epochs: int, shard_rows: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--dir", directory, "--n", str(n), "--epochs", str(epochs),
           "--shard-rows", str(shard_rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--shard-rows", type=int, default=500_000)
    ap.add_argument("--child", choices=["write", "train"])
    ap.add_argument("--dir")
    ap.add_argument("--n", type=int)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    import torch

    print(f"# out-of-core Nnet-survival: {os.cpu_count()} cores, torch {torch.__version__}, batch 1024, "
          f"{args.epochs} epoch(s), shards of {args.shard_rows:,} rows")
    rows = []
    for n in (int(float(s)) for s in args.sizes.split(",")):
        tmp = tempfile.mkdtemp(prefix="pysurvbridge-ooc-")
        try:
            w = run_child("write", tmp, n, args.epochs, args.shard_rows)
            t = run_child("train", tmp, n, args.epochs, args.shard_rows)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        data_mb = t["peak_mb"] - t["after_import_mb"]
        rows.append({"n": n, **w, **t, "per_1e6_mb": data_mb / (n / 1e6),
                     "samples_per_s": n * args.epochs / t["train_seconds"]})
    print("\n| subjects | shards (MB on disk) | write (s) | writer peak RSS (MB) | train (s) | samples/s | "
          "trainer peak RSS (MB) | of which after imports (MB) | MB per 1e6 subjects |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:.0e} | {r['shards']} ({r['bytes'] / 2**20:.0f}) | {r['write_seconds']:.1f} | "
              f"{r['writer_peak_mb']:.0f} | {r['train_seconds']:.1f} | {r['samples_per_s']:,.0f} | {r['peak_mb']:.0f} | "
              f"{r['peak_mb'] - r['after_import_mb']:.0f} | {r['per_1e6_mb']:.1f} |")


if __name__ == "__main__":
    main()
