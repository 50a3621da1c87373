"""Time simulate_recurrent at 1e4..1e6 subjects (about 3 events each), on one core.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_simulate.py

Reports the draw itself and the whole call (which also validates the rows into a
RecurrentData). reda (R) is timed too when it is installed.
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from pysurvbridge import rbridge  # noqa: E402
from pysurvbridge.simulate import _covariates, _native_rows  # noqa: E402
from pysurvbridge.simulate import simulate_recurrent  # noqa: E402


def main() -> None:
    # shape 1.5, scale 10, end 22: E[N] = 2.2^1.5 * E[exp(.5 x1)] E[exp(-.5 x2)] = 3.26 * 1.133 * 0.803 = 2.97
    kw = dict(shape=1.5, scale=10.0, coefs=(0.5, -0.5), end_time=("fixed", 22.0))
    print("| subjects | rows | events per subject | draw only | whole call (with validation) | reda |")
    print("|---|---|---|---|---|---|")
    reda = rbridge.has_r_package("reda")
    for n in (10_000, 100_000, 1_000_000):
        rng = np.random.default_rng(0)
        X = _covariates(("normal", "bernoulli"), n, rng)
        t0 = time.perf_counter()
        _native_rows(X @ np.array([0.5, -0.5]), np.ones(n), np.full(n, 22.0), 1.5, 10.0, None, rng)
        draw = time.perf_counter() - t0
        t0 = time.perf_counter()
        rec = simulate_recurrent(n, seed=0, **kw)
        whole = time.perf_counter() - t0
        reda_time = "not installed"
        if reda:
            t0 = time.perf_counter()
            simulate_recurrent(n, seed=0, engine="reda", **kw)
            reda_time = f"{time.perf_counter() - t0:.2f} s"
        print(f"| {n:.0e} | {len(rec)} | {rec.n_events / n:.2f} | {draw:.2f} s | {whole:.2f} s | {reda_time} |")


if __name__ == "__main__":
    main()
