"""Out-of-core training: Nnet-survival, CoxVAE and MENSA on n subjects streamed from parquet
shards, with the peak memory of the training process measured.

    .venv/bin/python benchmarks/out_of_core.py [--sizes 1e6,1e7] [--models nnet-survival,coxvae,mensa]
        [--epochs 1] [--shard-rows 500000] [--time-decimals D]

For each n, in a fresh process: write n subjects as parquet shards, one shard generated at a
time (10 normal covariates; event 1 exponential with log-hazard x'beta, event 2 exponential with
log-hazard x'beta2, one uniform(0, 3) censoring time for both; seed 0), so the writer never
holds more than one shard. Then, for each model, in another fresh process: train it on
``ParquetMinibatches(shards, batch_size=1024)`` for ``--epochs`` epochs and read the process's
peak resident memory (VmHWM in /proc/self/status) before the data are touched and after
training (the model's extra passes included):

- nnet-survival: ``NnetSurvival(np.linspace(0, 3, 11), head="proportional", hidden=(16,))`` on
  event 1 (plus the standardisation pass);
- coxvae: ``CoxVAE(latent_dim=4, hidden=(16,), reconstruction="gaussian")`` on event 1 (plus
  the standardisation pass and the Breslow baseline pass after training, whose memory grows
  with the number of distinct event times: 24 bytes each);
- mensa: ``MENSA()`` (multi-event, 3 Weibulls per state, hidden (32,)) on both events (plus
  its pass for the time unit and checks, and the standardisation pass).

``--time-decimals D`` rounds the written times up to D decimals (data recorded at a
resolution: fewer distinct event times); without it times are continuous (every event time
distinct). Memory per 1e6 subjects = (peak after - peak after imports) / (n / 1e6); bounded
memory means the peak does not grow with n. Prints a Markdown table; benchmarks/RESULTS.md
records it.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

P = 10
BETA = [0.5, -0.4, 0.3, -0.2, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0]
BETA2 = [-0.3, 0.0, 0.4, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, 0.0]
MODELS = ("nnet-survival", "coxvae", "mensa")
COVARIATES = [f"x{j + 1}" for j in range(P)]


def peak_mb() -> float:
    """This process's peak resident set size (VmHWM), MB."""
    return harness.memory_mb("VmHWM")


def write_shards(directory: str, n: int, shard_rows: int, decimals: int | None) -> dict:
    import numpy as np
    import pandas as pd

    from pysurvbridge.data.streaming import write_parquet_chunks

    rng = np.random.default_rng(0)
    beta, beta2 = np.asarray(BETA), np.asarray(BETA2)
    scale = None if decimals is None else 10.0 ** decimals

    def frames():
        left = n
        while left > 0:
            m = min(shard_rows, left)
            X = rng.normal(size=(m, P))
            t = rng.exponential(np.exp(-(X @ beta)))
            t2 = rng.exponential(np.exp(-(X @ beta2)))
            c = rng.uniform(0, 3, size=m)
            frame = pd.DataFrame(X.astype(np.float32), columns=COVARIATES)
            for name, ev in (("", t), ("2", t2)):
                obs = np.minimum(ev, c)
                if scale is not None:
                    obs = np.ceil(obs * scale) / scale
                frame["time" + name], frame["event" + name] = obs, (ev <= c).astype(np.float64)
            left -= m
            yield frame
    t0 = time.perf_counter()
    paths = write_parquet_chunks(directory, frames())
    size = sum(p.stat().st_size for p in paths)
    return {"write_seconds": time.perf_counter() - t0, "shards": len(paths), "bytes": size, "writer_peak_mb": peak_mb()}


def train(directory: str, epochs: int, model_name: str) -> dict:
    import numpy as np
    import torch

    before = peak_mb()
    from pysurvbridge.data.streaming import ParquetMinibatches
    from pysurvbridge.models import MENSA, CoxVAE, NnetSurvival

    torch.set_num_threads(1)  # small networks on 1024-row batches: a second thread only adds OpenMP barriers
    imported = peak_mb()
    extra = {}
    kw = dict(epochs=epochs, seed=0, verbose=False)
    t0 = time.perf_counter()
    if model_name == "mensa":
        source = ParquetMinibatches(directory, time=["time", "time2"], event=["event", "event2"],
                                    covariates=COVARIATES, batch_size=1024)
        model = MENSA().fit(source, lr=1e-3, **kw)
    else:
        source = ParquetMinibatches(directory, time="time", event="event", covariates=COVARIATES, batch_size=1024)
        if model_name == "coxvae":
            model = CoxVAE(latent_dim=4, hidden=(16,), reconstruction="gaussian").fit(source, **kw)
            extra["distinct_event_times"] = int(model.baseline_.times.size)
        else:
            model = NnetSurvival(np.linspace(0.0, 3.0, 11), head="proportional", hidden=(16,)).fit(source, lr=1e-3, **kw)
    seconds = time.perf_counter() - t0
    return {"before_mb": before, "after_import_mb": imported, "peak_mb": peak_mb(), "train_seconds": seconds,
            "final_loss": float(model.history_["train_loss"].iloc[-1]), **extra}


def child(args: argparse.Namespace) -> None:
    if args.child == "write":
        out = write_shards(args.dir, args.n, args.shard_rows, args.time_decimals)
    else:
        out = train(args.dir, args.epochs, args.model)
    print("RESULT " + json.dumps(out))


def run_child(kind: str, directory: str, args: argparse.Namespace, n: int, model: str = "") -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--dir", directory, "--n", str(n), "--epochs", str(args.epochs),
           "--shard-rows", str(args.shard_rows), "--model", model or MODELS[0]]
    if args.time_decimals is not None:
        cmd += ["--time-decimals", str(args.time_decimals)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the {kind} child ({model or 'writer'}, n = {n}) failed:\n{proc.stderr[-3000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--shard-rows", type=int, default=500_000)
    ap.add_argument("--time-decimals", type=int, default=None,
                    help="round written times up to this many decimals (default: continuous times)")
    ap.add_argument("--child", choices=["write", "train"])
    ap.add_argument("--dir")
    ap.add_argument("--n", type=int)
    ap.add_argument("--model", choices=MODELS, default=MODELS[0])
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        ap.error(f"--models must name some of {', '.join(MODELS)}; unknown: {unknown}")
    import torch

    resolution = "continuous times" if args.time_decimals is None else f"times rounded up to {args.time_decimals} decimals"
    print(f"# out-of-core training: {os.cpu_count()} cores, torch {torch.__version__}, batch 1024, "
          f"{args.epochs} epoch(s), shards of {args.shard_rows:,} rows, {resolution}")
    rows = []
    for n in (int(float(s)) for s in args.sizes.split(",")):
        tmp = tempfile.mkdtemp(prefix="pysurvbridge-ooc-")
        try:
            w = run_child("write", tmp, args, n)
            for model in models:
                t = run_child("train", tmp, args, n, model)
                data_mb = t["peak_mb"] - t["after_import_mb"]
                rows.append({"model": model, "n": n, **w, **t, "per_1e6_mb": data_mb / (n / 1e6),
                             "samples_per_s": n * args.epochs / t["train_seconds"]})
                print(f"#   {model} n={n:.0e}: {t['train_seconds']:.1f} s, peak {t['peak_mb']:.0f} MB", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n| model | subjects | shards (MB on disk) | write (s) | writer peak RSS (MB) | train, all passes (s) | "
          "samples/s | trainer peak RSS (MB) | of which after imports (MB) | MB per 1e6 subjects | distinct event times |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        distinct = f"{r['distinct_event_times']:,}" if "distinct_event_times" in r else ""
        print(f"| {r['model']} | {r['n']:.0e} | {r['shards']} ({r['bytes'] / 2**20:.0f}) | {r['write_seconds']:.1f} | "
              f"{r['writer_peak_mb']:.0f} | {r['train_seconds']:.1f} | {r['samples_per_s']:,.0f} | {r['peak_mb']:.0f} | "
              f"{r['peak_mb'] - r['after_import_mb']:.0f} | {r['per_1e6_mb']:.1f} | {distinct} |")


if __name__ == "__main__":
    main()
