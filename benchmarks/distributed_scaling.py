"""Several processes: training throughput under ``fit(..., distributed=True)``, and the bytes
each process sends to collectives per step.

    .venv/bin/python benchmarks/distributed_scaling.py [--subjects 20000] [--worlds 1,2] [--epochs 3]
    torchrun --nproc_per_node=2 benchmarks/distributed_scaling.py [--subjects 20000]   # one world size

Two workloads on n synthetic subjects (39 normal covariates, Weibull times, about 70% events,
continuous times):

- Nnet-survival, minibatches of 256 rows, MLP 39 -> 7 -> 19 intervals, Adam (as
  ``bench_nnet_survival.py``); each global batch of 256 is split across the processes.
- DeepSurv, full batch (every subject in every step), MLP 39 -> 32 -> 32 -> 1, Adam; each
  process holds n / world subjects, the loss is the exact partial likelihood over all of them.

Per-epoch time = (time of a fit with 1 + e epochs - time of a fit with 1 epoch) / e after a
warm-up fit, so set-up is excluded; samples/s = n / that. Rows: one process without
``distributed`` (1 and 2 torch threads), and ``distributed=True`` over 1 and 2 processes of one
thread each (gloo, this machine). Communication per step is counted from the tensor sizes:
"Cox / loop" is what ``pysurvbridge.distributed`` sends (``communication_log``: the all_reduce of
the per-event-time risk-set sums, forward and backward, the shift, and the loop's per-epoch loss
reduction, steady state); "DDP" is the gradients' byte size, which DDP all_reduces every step.
Payload per process; a ring all_reduce moves about 2 (W - 1) / W times it over the wire.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pickle
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_FEATURES = 39


def make_data(n: int, seed: int = 0):
    from pysurvbridge.data import SurvivalData

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    eta = X[:, :5] @ np.array([0.5, -0.4, 0.3, 0.2, -0.2])
    t = 365 * (rng.exponential(size=n) * np.exp(-eta)) ** (1 / 1.3)
    c = rng.exponential(900, n)
    return SurvivalData.from_arrays(np.minimum(t, c), (t <= c).astype(np.int64), X)


def workloads(data):
    from pysurvbridge.data.intervals import breaks_event_quantiles
    from pysurvbridge.models import DeepSurv, NnetSurvival

    breaks = breaks_event_quantiles(data.time, data.event, 19)
    return {"Nnet-survival (batch 256)": (lambda: NnetSurvival(breaks, hidden=(7,)), dict(batch_size=256, lr=1e-3), 256),
            "DeepSurv (full batch)": (lambda: DeepSurv(hidden=(32, 32), dropout=0.0), dict(lr=1e-3), None)}


def measure(n: int, epochs: int, distributed: bool) -> dict:
    """Both workloads in this process (inside the group when ``distributed``)."""
    from pysurvbridge import distributed as dist_helpers

    data = make_data(n)
    out = {}
    for name, (make, kw, batch) in workloads(data).items():
        steps = 1 if batch is None else int(np.ceil(n / batch))
        e = epochs if batch is not None else 10 * epochs

        def fit(k: int):
            with dist_helpers.communication_log() as comm:
                t0 = time.perf_counter()
                m = make().fit(data, epochs=k, verbose=False, distributed=distributed, **kw)
                seconds = time.perf_counter() - t0
            return seconds, sum(comm.values()), m
        fit(1)
        t1, b1, _ = fit(1)
        te, be, m = fit(1 + e)
        grads = sum(p.numel() * p.element_size() for p in m.network_.parameters())
        out[name] = {"seconds_per_epoch": (te - t1) / e, "samples_per_s": n * e / (te - t1),
                     "ours_bytes_per_step": (be - b1) / (e * steps) if distributed else 0.0,
                     "ddp_bytes_per_step": grads if distributed else 0, "steps_per_epoch": steps,
                     "n_event_times": int(len(np.unique(data.time[data.event == 1])))}
    return out


def _worker(rank: int, world: int, port: int, threads: int, n: int, epochs: int, distributed: bool, out: str) -> None:
    import torch

    torch.set_num_threads(threads)
    if distributed:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                          WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    res = measure(n, epochs, distributed)
    if distributed:
        from pysurvbridge import distributed as dist_helpers

        dist_helpers.close_process_group()
    if rank == 0:
        Path(out).write_bytes(pickle.dumps(res))


def run(world: int, threads: int, n: int, epochs: int, distributed: bool) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = os.path.join(tempfile.mkdtemp(), "rank0.pkl")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(r, world, port, threads, n, epochs, distributed, out)) for r in range(world)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs):
        raise SystemExit(f"a worker failed (world {world}); see its traceback above")
    res = pickle.loads(Path(out).read_bytes())
    os.unlink(out)
    return res


def kb(b: float) -> str:
    if not b:
        return "-"
    return f"{b:.0f} B" if b < 1024 else f"{b / 1024:,.1f} KiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=20000)
    ap.add_argument("--worlds", default="1,2")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (x10 for the full-batch DeepSurv)")
    a = ap.parse_args()
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # under torchrun: this world size only
        import torch

        torch.set_num_threads(1)
        res = measure(a.subjects, a.epochs, True)
        from pysurvbridge import distributed as dist_helpers

        rank, world = dist_helpers.rank_and_size()
        dist_helpers.close_process_group()
        if rank == 0:
            for name, r in res.items():
                print(f"{name}: {world} processes, {r['samples_per_s']:,.0f} samples/s, "
                      f"{kb(r['ours_bytes_per_step'])} + DDP {kb(r['ddp_bytes_per_step'])} per step")
        return
    import torch

    print(f"# n = {a.subjects}; torch {torch.__version__}, {os.cpu_count()} CPU cores, "
          f"{platform.processor() or platform.machine()}, gloo on one machine", flush=True)
    rows = [("1 process, no distributed", 1, 1, False), ("1 process, no distributed", 1, 2, False)]
    rows += [(f"distributed, {w} process{'es' if w > 1 else ''}", w, 1, True) for w in map(int, a.worlds.split(","))]
    results = []
    for label, world, threads, distributed in rows:
        t0 = time.perf_counter()
        results.append((label, world, threads, run(world, threads, a.subjects, a.epochs, distributed)))
        print(f"  ({label}, {threads} thread(s) each: {time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    names = list(results[0][3])
    for name in names:
        base = results[0][3][name]["samples_per_s"]
        r0 = results[0][3][name]
        print(f"\n### {name}: {r0['steps_per_epoch']} step(s) per epoch, {r0['n_event_times']} distinct event times\n")
        print("| run | processes x threads | samples/s | s / epoch | vs 1 x 1 | sent per step: Cox / loop | sent per step: DDP gradients |")
        print("|---|---|---|---|---|---|---|")
        for label, world, threads, res in results:
            r = res[name]
            print(f"| {label} | {world} x {threads} | {r['samples_per_s']:,.0f} | {r['seconds_per_epoch']:.3f} | "
                  f"{r['samples_per_s'] / base:.2f}x | {kb(r['ours_bytes_per_step'])} | {kb(r['ddp_bytes_per_step'])} |")


if __name__ == "__main__":
    main()
