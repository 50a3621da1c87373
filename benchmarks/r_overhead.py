"""The plain-Python side of ``benchmarks/r_overhead.R``: the same Nnet-survival fit and
survival prediction as ``sb_fit()`` / ``predict()`` from R, on the very same arrays.

    .venv/bin/python benchmarks/r_overhead.py PREFIX EPOCHS REPEATS T1,T2,...

``r_overhead.R`` writes the design matrix that R's model.matrix built (``PREFIX.X``,
float64, column-major, n x p), the times (``PREFIX.time``) and the 0/1 events
(``PREFIX.event``); this script reads them (not timed), fits ``NnetSurvival()`` (the defaults
``sb_fit("nnet-survival", ...)`` uses) with ``epochs=EPOCHS, batch_size=1024, seed=1`` and
predicts survival at the given times (3 times per fit), after a warm-up fit on 2000 rows
(torch's lazy imports are paid there, as in the R run). Each fit step is timed ``REPEATS``
times; the medians are printed as ``key=seconds`` lines (the last lines of the output), which
the R script reads.

Imported as a module (``r_overhead.R`` does, through reticulate), it gives the R script the
Python pieces of ``rhost.fit_model`` to time one by one: :func:`design_arrays`,
:func:`make_data`, :func:`fit`.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time

import numpy as np


def design_arrays(X, R):
    """What ``rhost._training_data`` takes from the decoded frames for a single-event model."""
    from pysurvbridge import rhost

    return (R["time"].to_numpy(dtype=np.float64), R["event"].to_numpy(dtype=np.float64),
            rhost._numeric_design(X), [str(c) for c in X.columns])


def make_data(arrays):
    from pysurvbridge.data import SurvivalData

    return SurvivalData.from_arrays(*arrays)


def fit(data, epochs):
    """``rhost.fit_model``'s call for ``sb_fit("nnet-survival", ..., epochs, batch_size = 1024,
    seed = 1)``: ``NnetSurvival(**{}).fit(data, seed=1, epochs=..., batch_size=1024, verbose=False)``."""
    from pysurvbridge.models import NnetSurvival

    return NnetSurvival().fit(data, seed=1, epochs=int(epochs), batch_size=1024, verbose=False)


def final_loss(model) -> float:
    return float(model.history_["train_loss"].iloc[-1])


def facts() -> str:
    import pandas
    import torch

    return (f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pandas.__version__}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")


def main() -> None:
    prefix, epochs, repeats, times = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    grid = np.array([float(t) for t in times.split(",")])
    time_ = np.fromfile(prefix + ".time", dtype=np.float64)
    event = np.fromfile(prefix + ".event", dtype=np.float64)
    n = len(time_)
    X = np.fromfile(prefix + ".X", dtype=np.float64)
    X = np.ascontiguousarray(X.reshape(-1, n).T)  # R writes column-major; a Python user holds C order
    names = open(prefix + ".names").read().splitlines()

    import torch

    from pysurvbridge.data import SurvivalData
    from pysurvbridge.models import NnetSurvival

    def fit(rows: slice, e: int):
        t0 = time.perf_counter()
        data = SurvivalData.from_arrays(time_[rows], event[rows], X[rows], names)
        t1 = time.perf_counter()
        model = NnetSurvival().fit(data, epochs=e, batch_size=1024, seed=1, verbose=False)
        t2 = time.perf_counter()
        return model, t1 - t0, t2 - t1

    warm, _, _ = fit(slice(0, 2000), 1)  # warm-up: torch's lazy imports, first allocations
    warm.predict_survival(X[:2000], grid)

    runs = {"py_from_arrays": [], "py_fit": [], "py_predict_survival": []}
    for _ in range(repeats):
        model, t_data, t_fit = fit(slice(None), epochs)
        for _ in range(3):  # as often as the R script predicts, at least
            t0 = time.perf_counter()
            model.predict_survival(X, grid)
            runs["py_predict_survival"].append(time.perf_counter() - t0)
        runs["py_from_arrays"].append(t_data)
        runs["py_fit"].append(t_fit)
    print(f"# plain Python: {facts()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    for key, values in runs.items():
        print(f"{key}={statistics.median(values):.6f}")
    print(f"py_loss={final_loss(model):.6f}")


if __name__ == "__main__":
    main()
