"""Classical Cox fits and the Cox loss, side by side with their peers, ratios from one run.

    .venv/bin/python benchmarks/bench_classical.py [--sizes-cox 10000,100000,1000000]
        [--sizes-big 10000000] [--repeats 3] [--limit 120]

Each (peer, size) runs in its own subprocess under a wall-clock limit, so a peer that does not
finish is recorded as "> limit" instead of stopping the run. In that process the Cox and AG
fits are timed after one warm-up fit on 1000 rows (imports, numba's compiled kernels, R's
namespace), as the median of ``--repeats`` fits; the process also reports its peak resident
memory. Prints a Markdown report (append it to benchmarks/RESULTS.md). Peers: the native
engine, R coxph (time of the call inside R, and the whole fit through the bridge), lifelines,
statsmodels PHReg; for the loss, torchsurv and pycox.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

HERE = Path(__file__).resolve().parent


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _median_fit(make, big, small, repeats: int) -> tuple[float, object, dict]:
    """One warm-up fit on ``small``, then the median time of ``repeats`` fits on ``big``;
    ``make(data)`` returns the fit closure. Also the resident memory with the data loaded and
    the process's peak (MB)."""
    import resource

    make(small)()
    fit = make(big)
    rss_data = harness.memory_mb("VmRSS")
    times, out = [], None
    for _ in range(repeats):
        sec, out = _timed(fit)
        times.append(sec)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    return sorted(times)[len(times) // 2], out, {"rss_data_mb": rss_data, "peak_mb": peak,
                                                 "times": times}


COX_TASKS = {"cox": 3, "cox_cont": None, "cox_dec2": 2}  # decimals of the event times


def cox_data(n: int, decimals: int | None, p: int = 10, seed: int = 0):
    """datasets.cox_frame with the times rounded to ``decimals`` (None: continuous times)."""
    from datasets import cox_frame

    return cox_frame(n, p, seed, decimals)


# ----------------------------------------------------------------------------- one measurement


def run_one(task: str, peer: str, n: int, repeats: int = 1) -> dict:
    """Fit and return {'seconds': median, 'coef': [...], memory} (or other figures)."""
    sys.path.insert(0, str(HERE))
    import numpy as np

    from datasets import recurrent_frame

    if task in COX_TASKS:
        df, small = cox_data(n, COX_TASKS[task]), cox_data(1000, COX_TASKS[task], seed=1)
        covs = [c for c in df.columns if c.startswith("x")]
        if peer == "native":
            from pysurvbridge.classical import fit_cox
            from pysurvbridge.data import SurvivalData

            def make(d):
                data = SurvivalData.from_frame(d, time="time", event="event", covariates=covs)
                return lambda: fit_cox(data, covs, engine="native")

            sec, fit, mem = _median_fit(make, df, small, repeats)
            return {"seconds": sec, "coef": fit.coef.tolist(), "robust_se": fit.robust_se.tolist(), **mem}
        if peer in ("r_inside", "r_inside_cluster", "r_bridge"):
            return _r_fit(df, small, covs, ["time", "event"], peer, repeats,
                          cluster=peer == "r_inside_cluster")
        if peer == "lifelines":
            from lifelines import CoxPHFitter

            sec, m, mem = _median_fit(
                lambda d: lambda: CoxPHFitter().fit(d, duration_col="time", event_col="event"),
                df, small, repeats)
            return {"seconds": sec, "coef": m.params_[covs].tolist(), **mem}
        if peer == "statsmodels":
            from statsmodels.duration.hazard_regression import PHReg

            sec, r, mem = _median_fit(
                lambda d: lambda: PHReg(d["time"], d[covs], status=d["event"], ties="efron").fit(),
                df, small, repeats)
            return {"seconds": sec, "coef": list(np.asarray(r.params)), **mem}
    if task in ("ag", "ag_rounded"):
        decimals = 2 if task == "ag_rounded" else None
        df, small = recurrent_frame(n, decimals=decimals), recurrent_frame(200, seed=1, decimals=decimals)
        covs = ["x1", "x2"]
        if peer == "native":
            from pysurvbridge.classical import fit_andersen_gill
            from pysurvbridge.data import RecurrentData

            def make(d):
                data = RecurrentData.from_frame(d, id="id", start="start", stop="stop", event="event",
                                                covariates=covs)
                return lambda: fit_andersen_gill(data, covs, engine="native")

            sec, fit, mem = _median_fit(make, df, small, repeats)
            return {"seconds": sec, "coef": fit.coef.tolist(), "robust_se": fit.robust_se.tolist(),
                    "rows": len(df), **mem}
        if peer in ("r_inside", "r_inside_nocluster"):
            return _r_fit(df, small, covs, ["start", "stop", "event"], peer, repeats,
                          cluster=peer == "r_inside")
        if peer == "lifelines":
            from lifelines import CoxTimeVaryingFitter

            sec, m, mem = _median_fit(
                lambda d: lambda: CoxTimeVaryingFitter().fit(d, id_col="id", start_col="start",
                                                             stop_col="stop", event_col="event"),
                df, small, repeats)
            return {"seconds": sec, "coef": m.params_[covs].tolist(), **mem}
        if peer == "statsmodels":
            from statsmodels.duration.hazard_regression import PHReg

            def make(d):
                model = PHReg(d["stop"], d[covs], status=d["event"], entry=d["start"], ties="efron")
                return lambda: model.fit(groups=d["id"].to_numpy())

            sec, r, mem = _median_fit(make, df, small, repeats)
            return {"seconds": sec, "coef": list(np.asarray(r.params)),
                    "robust_se": list(np.asarray(r.bse)), **mem}
    if task == "loss":
        return _loss(peer, n)
    if task == "bridge":
        return _bridge(n)
    raise SystemExit(f"unknown task/peer {task}/{peer}")


def _r_fit(df, small, covs, lhs, peer, repeats, cluster):
    import numpy as np

    from pysurvbridge import rbridge

    rbridge.start()
    rbridge.has_r_package("survival")  # load the namespace outside the timing
    if peer == "r_bridge":
        from pysurvbridge.classical import fit_cox
        from pysurvbridge.data import SurvivalData

        def make(d):
            data = SurvivalData.from_frame(d, time="time", event="event", covariates=covs)
            return lambda: fit_cox(data, covs, engine="r")

        sec, fit, mem = _median_fit(make, df, small, repeats)
        return {"seconds": sec, "coef": fit.coef.tolist(), **mem}
    specials = [("cluster", "id")] if cluster else []
    f = rbridge.formula("Surv", lhs, covs, specials=specials, namespace="survival")

    def make(d):
        if cluster and "id" not in d:
            d = d.assign(id=np.arange(len(d)))  # one subject per row: R's robust=TRUE
        rdf = rbridge.to_r(d)
        return lambda: rbridge.call("coxph", f, data=rdf, package="survival")

    sec, fit, mem = _median_fit(make, df, small, repeats)
    out = {"seconds": sec, "coef": list(rbridge.to_numpy(fit.rx2("coefficients"))), **mem}
    if cluster:
        v = np.asarray(rbridge.to_numpy(rbridge.call("diag", fit.rx2("var"), package="base")))
        out["robust_se"] = list(np.sqrt(v))
    return out


def _loss(peer: str, n: int) -> dict:
    import torch

    torch.manual_seed(0)
    time_ = torch.randint(1, 5000, (n,)).float()
    event = torch.bernoulli(torch.full((n,), 0.3))
    eta = torch.randn(n, requires_grad=True)
    if peer == "native_efron_start_strata":
        from pysurvbridge.losses import cox_nll, cox_risk_sets

        start = (time_ - torch.randint(1, 500, (n,)).float()).clamp(min=0)
        strata = torch.randint(0, 4, (n,))
        rs = cox_risk_sets(time_, event, start, strata)
        f = lambda e: cox_nll(e, time_, event, start=start, strata=strata, risk_sets=rs)  # noqa: E731
    elif peer.startswith("native"):
        from pysurvbridge.losses import cox_nll, cox_risk_sets

        ties = peer.split("_")[1]
        rs = cox_risk_sets(time_, event)
        f = lambda e: cox_nll(e, time_, event, ties=ties, risk_sets=rs)  # noqa: E731
    elif peer.startswith("torchsurv"):
        from torchsurv.loss.cox import neg_partial_log_likelihood

        ties = peer.split("_")[1]
        f = lambda e: neg_partial_log_likelihood(e, event.bool(), time_, ties_method=ties)  # noqa: E731
    elif peer == "pycox":
        from pycox.models.loss import cox_ph_loss

        f = lambda e: cox_ph_loss(e, time_, event)  # noqa: E731
    else:
        raise SystemExit(peer)
    f(eta).backward()  # warm-up
    best = float("inf")
    for _ in range(3):
        eta.grad = None
        sec, loss = _timed(lambda: f(eta))
        sec2, _ = _timed(lambda: loss.backward())
        best = min(best, sec + sec2)
    shifted = f(eta.detach() + 100.0).item()
    return {"seconds": best, "loss": f(eta.detach()).item(), "loss_shift100": shifted}


def _bridge(n: int) -> dict:
    from datasets import cox_frame

    from pysurvbridge import rbridge

    df = cox_frame(n)
    covs = [c for c in df.columns if c.startswith("x")]
    rbridge.start()
    rbridge.has_r_package("survival")
    sec_to, rdf = _timed(lambda: rbridge.to_r(df))
    f = rbridge.formula("Surv", ["time", "event"], covs, namespace="survival")
    sec_fit, fit = _timed(lambda: rbridge.call("coxph", f, data=rdf, package="survival"))
    sec_back, _ = _timed(lambda: [rbridge.to_numpy(fit.rx2(k)) for k in ("coefficients", "var", "loglik", "linear.predictors")])
    return {"seconds": sec_to + sec_back, "to_r": sec_to, "fit": sec_fit, "extract": sec_back}


# ----------------------------------------------------------------------------- driver


def measure(task: str, peer: str, n: int, limit: float, repeats: int = 1) -> dict:
    return harness.measure(__file__, [task, peer, n, repeats], limit)


def fmt(r: dict) -> str:
    return "not run" if r.get("not_run") else harness.fmt(r)


def max_diff(a: dict, b: dict, key: str = "coef") -> str:
    if key not in a or key not in b:
        return ""
    return f"{max(abs(x - y) for x, y in zip(a[key], b[key])):.1e}"


def ratio(res: dict, peer: str, base: str = "native") -> str:
    if "seconds" not in res.get(peer, {}) or "seconds" not in res.get(base, {}):
        return ""
    return f"{res[peer]['seconds'] / res[base]['seconds']:.1f}x"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", nargs="+", help="task peer n [repeats]")
    ap.add_argument("--sizes-cox", default="10000,100000,1000000")
    ap.add_argument("--sizes-big", default="10000000",
                    help="Cox sizes run for the native engine and peers that fit in --limit-big")
    ap.add_argument("--sizes-r-cluster", default="10000,100000")
    ap.add_argument("--sizes-ag", default="1000,10000,100000,1000000")
    ap.add_argument("--sizes-loss", default="10000,100000,1000000")
    ap.add_argument("--repeats", type=int, default=3, help="timed fits per measurement (median)")
    ap.add_argument("--limit", type=float, default=120)
    ap.add_argument("--limit-big", type=float, default=600)
    ap.add_argument("--only", default="cox,cox_r_cluster,ag,ag_rounded,loss,bridge",
                    help="comma-separated tables to run")
    args = ap.parse_args()
    if args.one:
        task, peer, n, *rest = args.one
        print(json.dumps(run_one(task, peer, int(n), int(rest[0]) if rest else 1)))
        return
    import os

    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{_mem_total_gb():.0f} GiB, Python {platform.python_version()}; limit {args.limit:.0f} s "
          f"per measurement ({args.limit_big:.0f} s at {args.sizes_big}); each time the median of "
          f"{args.repeats} fits after a warm-up fit.\n")
    only = set(args.only.split(","))
    if "cox" in only:
        cox_table(args)
    if "cox_r_cluster" in only:
        cox_r_cluster_table(args)
    for task in ("ag", "ag_rounded"):
        if task in only:
            ag_table(args, task)
    if "loss" in only:
        loss_table(args)
    if "bridge" in only:
        bridge_table(args)


def _mem_total_gb() -> float:
    with open("/proc/meminfo") as fh:
        return int(fh.readline().split()[1]) / 2**20


COX_LABELS = {"cox_cont": "continuous", "cox": "3 decimals", "cox_dec2": "2 decimals"}


def cox_table(args) -> None:
    print("### Cox, 10 covariates, Efron: native against its peers at three time resolutions\n")
    print("native is the whole fit_cox(engine='native'): layout, naive and robust (cluster) SE, "
          "Breslow baseline (concordance on first access); R is the coxph call inside R (data "
          "already in R, naive SE only: its robust SE is the next table); lifelines and "
          "statsmodels compute naive SE only. Exponential times, 62% events, continuous or "
          "rounded (at 1e6 rows: 617158 distinct event times; 3 decimals: 6001, up to 1833 "
          "tied events; 2 decimals: 861, up to 17065). Peak RSS: the native process's peak "
          "resident memory (in brackets: with the data loaded, before the timed fits).\n")
    peers = ["native", "r_inside", "lifelines", "statsmodels"]
    print("| times | rows | native | R coxph | lifelines | statsmodels | lifelines / native | "
          "R / native | fastest peer / native | native peak RSS | max coef diff vs native "
          "(R, lifelines, statsmodels) |")
    print("|---" * 11 + "|")
    big = [int(float(v)) for v in args.sizes_big.split(",") if v]
    for task in ("cox_cont", "cox", "cox_dec2"):
        for n in [int(float(v)) for v in args.sizes_cox.split(",")] + big:
            is_big = n in big
            limit = args.limit_big if is_big else args.limit
            res = {}
            for p in peers:
                if is_big and p != "native" and (task != "cox" or p == "statsmodels"):
                    res[p] = {"not_run": True}  # peers at the big size: 3 decimals only
                    continue
                # peers other than native get one timed fit at the big size
                res[p] = measure(task, p, n, limit, args.repeats if (p == "native" or not is_big) else 1)
            ok = [res[p]["seconds"] for p in peers[1:] if "seconds" in res[p]]
            fastest = f"{min(ok) / res['native']['seconds']:.1f}x" if ok and "seconds" in res["native"] else ""
            mem = (f"{res['native']['peak_mb']:.0f} MB ({res['native']['rss_data_mb']:.0f} MB)"
                   if "peak_mb" in res["native"] else "")
            diffs = ", ".join(max_diff(res["native"], res[p]) for p in peers[1:])
            print(f"| {COX_LABELS[task]} | {n:.0e} | " + " | ".join(fmt(res[p]) for p in peers)
                  + f" | {ratio(res, 'lifelines')} | {ratio(res, 'r_inside')} | {fastest} | {mem} | {diffs} |",
                  flush=True)


def cox_r_cluster_table(args) -> None:
    print("\n### Cox with robust SE: native against R coxph + cluster(id) and the whole "
          "fit_cox(engine='r'), 3 decimals\n")
    peers = ["native", "r_inside_cluster", "r_bridge"]
    print("| rows | native | R coxph + cluster(id) | fit_cox(engine='r') | R + cluster / native | "
          "robust SE diff vs R |")
    print("|---" * 6 + "|")
    for n in [int(float(v)) for v in args.sizes_r_cluster.split(",")]:
        res = {p: measure("cox", p, n, args.limit, args.repeats if p == "native" else 1) for p in peers}
        print(f"| {n:.0e} | " + " | ".join(fmt(res[p]) for p in peers)
              + f" | {ratio(res, 'r_inside_cluster')} | {max_diff(res['r_inside_cluster'], res['native'], 'robust_se')} |",
              flush=True)


def ag_table(args, task: str) -> None:
    times = "continuous times" if task == "ag" else "times rounded to 0.01 (about 1000 distinct)"
    print(f"\n### Andersen-Gill with cluster-robust SE, 2 covariates, about 4.5 rows per subject, {times}\n")
    peers = ["native", "r_inside", "r_inside_nocluster", "lifelines", "statsmodels"]
    print("| subjects | rows | native | R coxph + cluster(id) | R without cluster | lifelines CTV (no robust SE) | "
          "statsmodels PHReg | R / native | robust SE diff vs R (native, statsmodels) |")
    print("|---" * 9 + "|")
    for n in map(int, args.sizes_ag.split(",")):
        # peers other than native: one timed fit from 1e5 subjects on (they take minutes)
        res = {p: measure(task, p, n, args.limit, args.repeats if p == "native" or n < 100_000 else 1)
               for p in peers}
        rows = res["native"].get("rows", "")
        r_ratio = (f"{res['r_inside']['seconds'] / res['native']['seconds']:.0f}x"
                   if "seconds" in res["r_inside"] and "seconds" in res["native"] else "")
        diffs = ", ".join(max_diff(res["r_inside"], res[p], "robust_se") for p in ("native", "statsmodels"))
        print(f"| {n:.0e} | {rows} | " + " | ".join(fmt(res[p]) for p in peers) + f" | {r_ratio} | {diffs} |",
              flush=True)


def loss_table(args) -> None:
    print("\n### Cox loss forward + backward, float32 (best of 3; risk-set structure cached as "
          "in training)\n")
    peers = ["native_breslow", "native_efron", "native_efron_start_strata", "torchsurv_breslow",
             "torchsurv_efron", "pycox"]
    print("| rows | " + " | ".join(peers) + " | loss after +100 shift (native efron / torchsurv efron / pycox) |")
    print("|---" * (len(peers) + 2) + "|")
    for n in map(int, args.sizes_loss.split(",")):
        res = {p: measure("loss", p, n, args.limit) for p in peers}
        shifts = " / ".join(f"{res[p].get('loss_shift100', float('nan')):.4f} vs {res[p].get('loss', float('nan')):.4f}"
                            for p in ("native_efron", "torchsurv_efron", "pycox"))
        print(f"| {n:.0e} | " + " | ".join(fmt(res[p]) for p in peers) + f" | {shifts} |")


def bridge_table(args) -> None:
    print("\n### Bridge overhead: DataFrame to R plus extraction, against R's own coxph time\n")
    print("| rows | to R | coxph in R | extraction | overhead / fit |")
    print("|---|---|---|---|---|")
    for n in (100_000, 1_000_000):
        r = measure("bridge", "r", n, args.limit)
        if "seconds" in r:
            print(f"| {n:.0e} | {r['to_r']:.3f} s | {r['fit']:.2f} s | {r['extract']:.3f} s | "
                  f"{100 * r['seconds'] / r['fit']:.0f}% |")
        else:
            print(f"| {n:.0e} | {fmt(r)} | | | |")


if __name__ == "__main__":
    main()
