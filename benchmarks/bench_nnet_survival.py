"""Nnet-survival training speed against pycox's LogisticHazard with the same network.

    .venv/bin/python benchmarks/bench_nnet_survival.py [--sizes 1e4,1e5,1e6] [--batch 256]
        [--device cpu] [--limit 600]

Both train an MLP 39 inputs -> 7 hidden (ReLU) -> 19 interval hazards with Adam (lr 1e-3),
minibatches of ``--batch`` rows, on n synthetic subjects (normal covariates, Weibull times,
about 70% events, breaks at event-time quantiles). pycox: ``LogisticHazard(MLPVanilla(39, [7],
19, batch_norm=False, dropout=None), tt.optim.Adam)`` on its ``label_transform`` targets. Each
(peer, n) runs in its own subprocess. Per-epoch time = (time of a fit with 1 + e epochs - time
of a fit with 1 epoch) / e, so set-up (our discretisation and standardisation, moving data to
the device) counts for neither peer; a warm-up fit comes first. The figure is samples per
second per epoch (higher is better) and the ratio to pycox. "ours" trains with the
hand-written step of ``models/fused_step.py`` (the default for this network); "ours, autograd
step" is the same model with ``fused_step=False``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

N_FEATURES, HIDDEN, N_INTERVALS = 39, 7, 19


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    eta = X[:, :5] @ np.array([0.5, -0.4, 0.3, 0.2, -0.2])
    t = 365 * (rng.exponential(size=n) * np.exp(-eta)) ** (1 / 1.3)
    c = rng.exponential(900, n)
    return X, np.minimum(t, c), (t <= c).astype(np.int64)


def epochs_for(n: int) -> int:
    return 10 if n <= 10_000 else 4 if n <= 100_000 else 2


def run_ours(n: int, batch: int, device: str, fused_step: bool = True) -> dict:
    from pysurvbridge.data import SurvivalData
    from pysurvbridge.data.intervals import breaks_event_quantiles
    from pysurvbridge.models import NnetSurvival

    X, time_, event = make_data(n)
    data = SurvivalData.from_arrays(time_, event, X)
    breaks = breaks_event_quantiles(time_, event, N_INTERVALS)
    kw = dict(batch_size=batch, lr=1e-3, verbose=False, device=device)

    def fit(epochs: int) -> float:
        t0 = time.perf_counter()
        NnetSurvival(breaks, hidden=(HIDDEN,), fused_step=fused_step).fit(data, epochs=epochs, **kw)
        return time.perf_counter() - t0
    return per_epoch(fit, epochs_for(n))


def per_epoch(fit, e: int) -> dict:
    """(time of 1 + e epochs - time of 1 epoch) / e, after a warm-up fit."""
    fit(1)
    one = fit(1)
    return {"seconds_per_epoch": (fit(1 + e) - one) / e}


def run_pycox(n: int, batch: int, device: str) -> dict:
    import torchtuples as tt
    from pycox.models import LogisticHazard

    X, time_, event = make_data(n)
    labtrans = LogisticHazard.label_transform(N_INTERVALS, scheme="quantiles")
    y = labtrans.fit_transform(time_.astype(np.float32), event.astype(np.float32))

    def fit(epochs: int) -> float:
        net = tt.practical.MLPVanilla(N_FEATURES, [HIDDEN], labtrans.out_features, batch_norm=False, dropout=None)
        model = LogisticHazard(net, tt.optim.Adam(1e-3), duration_index=labtrans.cuts, device=device)
        t0 = time.perf_counter()
        model.fit(X, y, batch_size=batch, epochs=epochs, verbose=False)
        return time.perf_counter() - t0
    return per_epoch(fit, epochs_for(n))


def median_run(n: int, peer: str, a) -> dict:
    """The run with the median seconds per epoch of ``a.repeats`` subprocess runs (one stray
    slow run, e.g. from background load on a 2-core machine, does not set the figure)."""
    runs = [harness.measure(__file__, [peer, n, a.batch, a.device], a.limit) for _ in range(a.repeats)]
    good = sorted((r for r in runs if "seconds_per_epoch" in r), key=lambda r: r["seconds_per_epoch"])
    return good[len(good) // 2] if good else runs[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e4,1e5,1e6")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--limit", type=float, default=600)
    ap.add_argument("--repeats", type=int, default=3, help="subprocess runs per (peer, n); the median is shown")
    ap.add_argument("--one", nargs=4, metavar=("PEER", "N", "BATCH", "DEVICE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        peer, n, batch, device = a.one
        if peer == "pycox":
            out = run_pycox(int(float(n)), int(batch), device)
        else:  # "ours" (hand-written step, the default) or "ours_autograd" (fused_step=False)
            out = run_ours(int(float(n)), int(batch), device, fused_step=peer == "ours")
        print(json.dumps(out))
        return
    import torch

    print(f"# Nnet-survival vs pycox LogisticHazard: MLP {N_FEATURES}-{HIDDEN}-{N_INTERVALS}, batch {a.batch}, "
          f"median of {a.repeats} runs, "
          f"device {a.device}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}")
    print("\n| n | ours (samples/s) | ours, autograd step (samples/s) | pycox (samples/s) | ours / pycox | "
          "autograd step / pycox |\n|---|---|---|---|---|---|")
    for n in (int(float(s)) for s in a.sizes.split(",")):
        res = {p: median_run(n, p, a) for p in ("ours", "ours_autograd", "pycox")}
        rate = {p: (n / r["seconds_per_epoch"] if "seconds_per_epoch" in r else None) for p, r in res.items()}
        show = {p: (f"{rate[p]:,.0f}" if rate[p] else harness.fmt(res[p])) for p in res}
        ratio = {p: f"{rate[p] / rate['pycox']:.1f}x" if rate[p] and rate["pycox"] else "-"
                 for p in ("ours", "ours_autograd")}
        print(f"| {n:.0e} | {show['ours']} | {show['ours_autograd']} | {show['pycox']} | {ratio['ours']} | "
              f"{ratio['ours_autograd']} |", flush=True)


if __name__ == "__main__":
    main()
