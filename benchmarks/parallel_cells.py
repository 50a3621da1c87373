"""Where a comparison's cells run: serial, ``n_jobs=2`` (cells in children forked from a
preloaded server, the default), ``n_jobs=2, isolate="none"`` (joblib's loky workers), a Dask
``LocalCluster(n_workers=2, threads_per_worker=1)``; and what the result store costs.

Every mode runs in a fresh interpreter (a subprocess of this script) that times the
``compare()`` call twice: **cold** is the first comparison of a session (worker start-up
included: the fork server imports torch and the package, loads the numba kernels and starts
R, or the loky/Dask workers do), **warm** the same comparison again in that interpreter (the
workers are up). Workloads:

- ``demo``: ``make demo``'s bladder1 comparison (cox, ag, wlw, pwp-total, lstm-cox,
  lstm-cox-paper; 3 seeds; the engines' agreement check on);
- ``tuned``: the same models with ``tune="default"`` (5 trials x 3 inner folds per deep cell).

Store: serial with a fresh store folder against serial without, warm, alternating, median of
3 (the writes: one JSON record per cell, fsynced, and the last seed's saved models).

    .venv/bin/python benchmarks/parallel_cells.py [--workloads demo,tuned] [--store-only]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import markdown  # noqa: E402

MODELS = ["cox", "ag", "wlw", "pwp-total", "lstm-cox", "lstm-cox-paper"]
WORKLOADS = {
    "demo": dict(models=MODELS, seeds=3),
    "tuned": dict(models=MODELS, seeds=3, tune="default", tune_trials=5, tune_folds=3),
}
MODES = {
    "serial": {},
    "n_jobs=2": dict(n_jobs=2),
    "n_jobs=2, loky": dict(n_jobs=2, isolate="none"),
    "dask, 2 workers": dict(backend="dask"),
}


def child(mode: str, workload: str) -> None:
    """Time one mode on one workload (cold, then warm) and print JSON."""
    from pysurvbridge.comparison import compare

    kwargs = {**WORKLOADS[workload], **MODES[mode]}

    def timed() -> float:
        t0 = time.perf_counter()
        compare("bladder1", verbose=False, **kwargs)
        return time.perf_counter() - t0
    if mode.startswith("dask"):
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster):
            cold, warm = timed(), timed()
    else:
        cold, warm = timed(), timed()
    print(json.dumps({"cold": cold, "warm": warm}))


def store_child(workload: str) -> None:
    """Serial with and without a (fresh) store, warm, alternating; medians as JSON."""
    from pysurvbridge.comparison import compare

    kwargs = WORKLOADS[workload]
    compare("bladder1", verbose=False, **kwargs)  # warm up
    plain, stored, reread = [], [], []
    for _ in range(3):
        t0 = time.perf_counter()
        compare("bladder1", verbose=False, **kwargs)
        plain.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            compare("bladder1", verbose=False, store=folder, **kwargs)
            stored.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            compare("bladder1", verbose=False, store=folder, **kwargs)
            reread.append(time.perf_counter() - t0)
    print(json.dumps({"plain": statistics.median(plain), "stored": statistics.median(stored),
                      "reread": statistics.median(reread)}))


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="demo,tuned")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--store-child", help=argparse.SUPPRESS)
    parser.add_argument("--store-only", action="store_true", help="measure only the store's overhead")
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    if args.store_child:
        return store_child(args.store_child)
    rows = []
    for workload in ([] if args.store_only else args.workloads.split(",")):
        times = {mode: run_child("--child", mode, workload) for mode in MODES}
        for mode, t in times.items():
            rows.append({"workload": workload, "mode": mode, "cold s": round(t["cold"], 2),
                         "speed-up cold": round(times["serial"]["cold"] / t["cold"], 2),
                         "warm s": round(t["warm"], 2),
                         "speed-up warm": round(times["serial"]["warm"] / t["warm"], 2)})
        print(markdown(pd.DataFrame(rows[-len(MODES):])), flush=True)
    if rows:
        print(markdown(pd.DataFrame(rows)))
    store_rows = []
    for workload in args.workloads.split(","):
        s = run_child("--store-child", workload)
        store_rows.append({"workload": workload, "serial s": round(s["plain"], 3),
                           "serial + store s": round(s["stored"], 3),
                           "overhead": f"{100 * (s['stored'] / s['plain'] - 1):.1f}%",
                           "rerun from the store s": round(s["reread"], 3)})
    print(markdown(pd.DataFrame(store_rows)))


if __name__ == "__main__":
    main()
