"""Metrics side by side with their peers: seconds per call and the largest difference from ours.

    .venv/bin/python benchmarks/bench_metrics.py [--sizes 1e4,1e5,1e6] [--limit 120]

Each (metric, peer, size) runs in its own subprocess under a wall-clock limit ("> N s": did not
finish; "memory": it failed to allocate). Data: n subjects, exponential event and censoring
times (continuous, about 60% events), a normal risk score, 5 evaluation times at quantiles of
the observed times. Each timed call follows one warm-up call on 1000 subjects (numba's compiled
code is loaded once per process, about 0.25 s; the first compilation on a fresh install takes
about 2 s). R peers are timed around the R call alone, data already in R.
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

METRICS = {
    "harrell": ["ours", "r_concordance", "sksurv", "lifelines", "pycox"],
    "uno": ["ours", "sksurv"],
    "brier": ["ours", "r_riskRegression", "r_pec", "r_ipred", "sksurv", "pycox"],
    "auc": ["ours", "sksurv"],
}


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    T = rng.exponential(1.0 / (0.1 * np.exp(risk)))
    C = rng.exponential(15.0, n)
    time, event = np.minimum(T, C), (T <= C).astype(np.int64)
    times = np.quantile(time, [0.1, 0.3, 0.5, 0.7, 0.9])
    S = np.exp(-np.outer(0.1 * np.exp(risk), times))
    return risk, time, event, times, S


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def ours(metric, risk, t, e, times, S):
    from pysurvbridge import metrics as m

    if metric == "harrell":
        return m.concordance_harrell(risk, t, e)
    if metric == "uno":
        return m.concordance_uno(risk, t, e, train_time=t, train_event=e)
    if metric == "brier":
        return m.brier_score(S, times, t, e, censoring_weight_at="t")
    return m.cumulative_dynamic_auc(risk, times, t, e, train_time=t, train_event=e)[0]


def peer_call(metric, peer, risk, t, e, times, S):
    """A zero-argument callable doing the peer's work (data prepared outside the timing)."""
    if peer == "ours":
        return lambda: ours(metric, risk, t, e, times, S)
    if peer == "sksurv":
        from sksurv import metrics as sk
        from sksurv.util import Surv

        y = Surv.from_arrays(e.astype(bool), t)
        return {
            "harrell": lambda: sk.concordance_index_censored(e.astype(bool), t, risk)[0],
            "uno": lambda: sk.concordance_index_ipcw(y, y, risk)[0],
            "brier": lambda: sk.brier_score(y, y, S, times)[1],
            "auc": lambda: sk.cumulative_dynamic_auc(y, y, risk, times)[0],
        }[metric]
    if peer == "lifelines":
        from lifelines.utils import concordance_index

        return lambda: concordance_index(t, -risk, e)
    if peer == "pycox":
        import pandas as pd
        from pycox.evaluation import EvalSurv

        if metric == "harrell":  # Antolini's C needs each subject's curve at every observed time
            grid = np.sort(t)
            surv = pd.DataFrame(np.exp(-np.outer(0.1 * np.exp(risk), grid)).T, index=grid)
            return lambda: EvalSurv(surv, t, e, censor_surv="km").concordance_td("antolini")
        surv = pd.DataFrame(S.T, index=times)
        return lambda: EvalSurv(surv, t, e, censor_surv="km").brier_score(times).to_numpy()
    return r_call(metric, peer, risk, t, e, times, S)


def r_call(metric, peer, risk, t, e, times, S):
    import pandas as pd

    from pysurvbridge import rbridge

    df = rbridge.to_r(pd.DataFrame({"time": t, "status": e, "risk": risk}))
    if peer == "r_concordance":
        f = rbridge.formula("Surv", ["time", "status"], ["risk"], namespace="survival")
        return lambda: float(rbridge.to_numpy(rbridge.call("concordance", f, data=df, reverse=True,
                                                           package="survival").rx2("concordance"))[0])
    if peer == "r_riskRegression":
        f = rbridge.formula("Surv", ["time", "status"], [], namespace="survival")
        pred = rbridge.to_r({"m": 1 - S})
        return lambda: rbridge.to_pandas(rbridge.call(
            "Score", pred, formula=f, data=df, times=times, metrics="brier", package="riskRegression",
            **{"cens.model": "km", "null.model": False, "se.fit": False}).rx2("Brier").rx2("score"))["Brier"].to_numpy()
    if peer == "r_pec":
        f = rbridge.formula("Surv", ["time", "status"], [], namespace="pec")
        pred = rbridge.to_r({"m": np.hstack([np.ones((len(t), 1)), S])})
        return lambda: np.asarray(rbridge.to_numpy(rbridge.call(
            "pec", pred, formula=f, data=df, times=times, exact=False, reference=False, verbose=False,
            package="pec", **{"cens.model": "marginal"}).rx2("AppErr").rx2("m")))[1:]
    if peer == "r_ipred":
        surv = rbridge.call("Surv", t, e, package="survival")
        cols = [rbridge.to_r(S[:, j].copy()) for j in range(len(times))]
        return lambda: np.array([float(rbridge.to_numpy(rbridge.call("sbrier", surv, cols[j], btime=float(x),
                                                                     package="ipred"))[0])
                                 for j, x in enumerate(times)])
    raise ValueError(peer)


def run_one(metric: str, peer: str, n: int) -> dict:
    import warnings

    warnings.simplefilter("ignore")
    # the weight conventions differ only at tied times; these times are continuous, so every
    # peer computes the same quantity (pec/riskRegression use G(T-), equal to G(T) here)
    warm = make_data(1000, seed=1)
    peer_call(metric, peer, *warm)()
    data = make_data(n)
    fn = peer_call(metric, peer, *data)
    sec, value = timed(fn)
    reference = ours(metric, *data)
    diff = float(np.max(np.abs(np.asarray(value, dtype=float) - np.asarray(reference, dtype=float))))
    return {"seconds": sec, "diff": diff}


def measure(metric: str, peer: str, n: int, limit: float) -> dict:
    return harness.measure(__file__, [metric, peer, n], limit)


fmt = harness.fmt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", nargs=3)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--limit", type=float, default=120)
    ap.add_argument("--only", default=",".join(METRICS))
    args = ap.parse_args()
    if args.one:
        metric, peer, n = args.one
        print(json.dumps(run_one(metric, peer, int(float(n)))))
        return
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"limit {args.limit:.0f} s per measurement.\n")
    for metric in args.only.split(","):
        peers = METRICS[metric]
        print(f"\n### {metric}\n")
        print("| n | " + " | ".join(peers) + " | fastest peer / ours | max diff from ours |")
        print("|---" * (len(peers) + 3) + "|")
        for n in (int(float(s)) for s in args.sizes.split(",")):
            res = {p: measure(metric, p, n, args.limit) for p in peers}
            ok = [res[p]["seconds"] for p in peers[1:] if "seconds" in res[p]]
            ratio = f"{min(ok) / res['ours']['seconds']:.1f}x" if ok and "seconds" in res["ours"] else ""
            diffs = ", ".join(f"{p} {res[p]['diff']:.1e}" for p in peers[1:] if "diff" in res[p])
            print(f"| {n:.0e} | " + " | ".join(fmt(res[p]) for p in peers) + f" | {ratio} | {diffs} |", flush=True)


if __name__ == "__main__":
    main()
