"""What ``fit(X, y)`` adds to ``fit(SurvivalData)`` (issue: under 5% at 1e5 rows).

The same model, data and seed are fitted both ways, alternating, 5 times each; the table gives
the medians, the ratio, and the conversion alone (``training_data(X, y)``: y read as
scikit-survival's structured array, X checked, a validated SurvivalData built). Models:
Nnet-survival (minibatch 512, 5 epochs) and DeepSurv (full batch, 20 epochs), both on 1e5
rows x 10 covariates from a Weibull proportional-hazards model. CPU, torch threads as set.

    .venv/bin/python benchmarks/sklearn_overhead.py [--rows 100000]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd
from sksurv.util import Surv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import markdown  # noqa: E402
from pysurvbridge.data import SurvivalData  # noqa: E402
from pysurvbridge.estimator import training_data  # noqa: E402
from pysurvbridge.models import DeepSurv, NnetSurvival  # noqa: E402

REPEATS = 5


def simulate(n: int, p: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.linspace(-0.5, 0.5, p)
    t = 365 * (rng.exponential(size=n) * np.exp(-X @ beta)) ** (1 / 1.5)
    c = rng.uniform(0, 3 * 365, n)
    time_, event = np.minimum(t, c), t <= c
    return X, Surv.from_arrays(event, time_), SurvivalData.from_arrays(time_, event.astype(int), X)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    X, y, data = simulate(args.rows)
    models = {
        "NnetSurvival (batch 512, 5 epochs)": lambda: NnetSurvival(breaks=10, hidden=(32,), epochs=5, batch_size=512,
                                                                   verbose=False),
        "DeepSurv (full batch, 20 epochs)": lambda: DeepSurv(hidden=(32,), epochs=20, verbose=False),
    }
    convert = [timed(lambda: training_data(X, y)) for _ in range(REPEATS)]
    rows = []
    for name, make in models.items():
        make().fit(data, epochs=1)  # warm-up: the first fit in a process pays for lazy initialisation
        container, xy = [], []
        for _ in range(REPEATS):
            container.append(timed(lambda: make().fit(data)))
            xy.append(timed(lambda: make().fit(X, y)))
        a, b = statistics.median(container), statistics.median(xy)
        rows.append({"model": name, "rows": args.rows, "fit(SurvivalData) s": a, "fit(X, y) s": b,
                     "ratio": b / a, "conversion s": statistics.median(convert),
                     "conversion / fit": statistics.median(convert) / a})
    print(markdown(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
