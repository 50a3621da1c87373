"""Classical Cox fits and the Cox loss, side by side with their peers, ratios from one run.

    .venv/bin/python benchmarks/bench_classical.py [--sizes-cox 1e4,1e5,1e6] [--limit 120]

Each (peer, size) runs in its own subprocess under a wall-clock limit, so a peer that does not
finish is recorded as "> limit" instead of stopping the run. Prints a Markdown report (append
it to benchmarks/RESULTS.md). Peers: the native engine, R coxph (time of the call inside R,
and the whole fit through the bridge), lifelines, statsmodels PHReg; for the loss, torchsurv
and pycox.
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


# ----------------------------------------------------------------------------- one measurement


def run_one(task: str, peer: str, n: int) -> dict:
    """Fit once and return {'seconds': ..., 'coef': [...]} (or other figures)."""
    sys.path.insert(0, str(HERE))
    import numpy as np

    from datasets import cox_frame, recurrent_frame

    if task == "cox":
        df = cox_frame(n)
        covs = [c for c in df.columns if c.startswith("x")]
        if peer == "native":
            from pysurvbridge.classical import fit_cox
            from pysurvbridge.data import SurvivalData

            data = SurvivalData.from_frame(df, time="time", event="event", covariates=covs)
            sec, fit = _timed(lambda: fit_cox(data, covs, engine="native"))
            return {"seconds": sec, "coef": fit.coef.tolist()}
        if peer in ("r_inside", "r_inside_cluster", "r_bridge"):
            return _r_fit(df, covs, ["time", "event"], n, peer, cluster=peer == "r_inside_cluster")
        if peer == "lifelines":
            from lifelines import CoxPHFitter

            sec, m = _timed(lambda: CoxPHFitter().fit(df, duration_col="time", event_col="event"))
            return {"seconds": sec, "coef": m.params_[covs].tolist()}
        if peer == "statsmodels":
            from statsmodels.duration.hazard_regression import PHReg

            sec, r = _timed(lambda: PHReg(df["time"], df[covs], status=df["event"], ties="efron").fit())
            return {"seconds": sec, "coef": list(np.asarray(r.params))}
    if task in ("ag", "ag_rounded"):
        df = recurrent_frame(n, decimals=2 if task == "ag_rounded" else None)
        covs = ["x1", "x2"]
        if peer == "native":
            from pysurvbridge.classical import fit_andersen_gill
            from pysurvbridge.data import RecurrentData

            data = RecurrentData.from_frame(df, id="id", start="start", stop="stop", event="event",
                                            covariates=covs)
            sec, fit = _timed(lambda: fit_andersen_gill(data, covs, engine="native"))
            return {"seconds": sec, "coef": fit.coef.tolist(), "robust_se": fit.robust_se.tolist(),
                    "rows": len(df)}
        if peer in ("r_inside", "r_inside_nocluster"):
            return _r_fit(df, covs, ["start", "stop", "event"], n, peer,
                          cluster=peer == "r_inside")
        if peer == "lifelines":
            from lifelines import CoxTimeVaryingFitter

            sec, m = _timed(lambda: CoxTimeVaryingFitter().fit(df, id_col="id", start_col="start",
                                                               stop_col="stop", event_col="event"))
            return {"seconds": sec, "coef": m.params_[covs].tolist()}
        if peer == "statsmodels":
            from statsmodels.duration.hazard_regression import PHReg

            def fit():
                model = PHReg(df["stop"], df[covs], status=df["event"], entry=df["start"], ties="efron")
                return model.fit(groups=df["id"].to_numpy())

            sec, r = _timed(fit)
            return {"seconds": sec, "coef": list(np.asarray(r.params)), "robust_se": list(np.asarray(r.bse))}
    if task == "loss":
        return _loss(peer, n)
    if task == "bridge":
        return _bridge(n)
    raise SystemExit(f"unknown task/peer {task}/{peer}")


def _r_fit(df, covs, lhs, n, peer, cluster):
    import numpy as np

    from pysurvbridge import rbridge

    rbridge.start()
    rbridge.has_r_package("survival")  # load the namespace outside the timing
    if peer == "r_bridge":
        from pysurvbridge.classical import fit_cox
        from pysurvbridge.data import SurvivalData

        data = SurvivalData.from_frame(df, time="time", event="event", covariates=covs)
        sec, fit = _timed(lambda: fit_cox(data, covs, engine="r"))
        return {"seconds": sec, "coef": fit.coef.tolist()}
    specials = [("cluster", "id")] if cluster else []
    if cluster and "id" not in df:
        df = df.assign(id=np.arange(len(df)))  # one subject per row: R's robust=TRUE
    f = rbridge.formula("Surv", lhs, covs, specials=specials, namespace="survival")
    rdf = rbridge.to_r(df)
    sec, fit = _timed(lambda: rbridge.call("coxph", f, data=rdf, package="survival"))
    out = {"seconds": sec, "coef": list(rbridge.to_numpy(fit.rx2("coefficients")))}
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


def measure(task: str, peer: str, n: int, limit: float) -> dict:
    return harness.measure(__file__, [task, peer, n], limit)


fmt = harness.fmt


def max_diff(a: dict, b: dict, key: str = "coef") -> str:
    if key not in a or key not in b:
        return ""
    return f"{max(abs(x - y) for x, y in zip(a[key], b[key])):.1e}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", nargs=3)
    ap.add_argument("--sizes-cox", default="10000,100000,1000000")
    ap.add_argument("--sizes-ag", default="1000,10000,100000,1000000")
    ap.add_argument("--sizes-loss", default="10000,100000,1000000")
    ap.add_argument("--limit", type=float, default=120)
    ap.add_argument("--only", default="cox,ag,ag_rounded,loss,bridge",
                    help="comma-separated tables to run")
    args = ap.parse_args()
    if args.one:
        task, peer, n = args.one
        print(json.dumps(run_one(task, peer, int(n))))
        return
    import os

    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; limit {args.limit:.0f} s per measurement.\n")
    only = set(args.only.split(","))
    if "cox" in only:
        cox_table(args)
    for task in ("ag", "ag_rounded"):
        if task in only:
            ag_table(args, task)
    if "loss" in only:
        loss_table(args)
    if "bridge" in only:
        bridge_table(args)


def cox_table(args) -> None:
    print("### Cox, 10 covariates, Efron (coefficient difference against the native engine)\n")
    print("native computes naive and robust SE and the Breslow baseline (its concordance is "
          "computed on first access); r_bridge is the whole fit_cox(engine='r'): coxph with "
          "cluster(id) plus conversions; r_inside is the coxph call alone, r_inside_cluster adds "
          "+ cluster(id); lifelines and statsmodels compute naive SE only.\n")
    peers = ["native", "r_inside", "r_inside_cluster", "r_bridge", "lifelines", "statsmodels"]
    print("| rows | " + " | ".join(peers) + " | fastest peer / native | max coef diff (R, lifelines, statsmodels) |")
    print("|---" * (len(peers) + 3) + "|")
    for n in map(int, args.sizes_cox.split(",")):
        res = {p: measure("cox", p, n, args.limit) for p in peers}
        ok = [res[p]["seconds"] for p in peers[1:] if "seconds" in res[p]]
        ratio = f"{min(ok) / res['native']['seconds']:.1f}x" if ok and "seconds" in res["native"] else ""
        diffs = ", ".join(max_diff(res["native"], res[p]) for p in ("r_inside", "lifelines", "statsmodels"))
        print(f"| {n:.0e} | " + " | ".join(fmt(res[p]) for p in peers) + f" | {ratio} | {diffs} |")


def ag_table(args, task: str) -> None:
    times = "continuous times" if task == "ag" else "times rounded to 0.01 (about 1000 distinct)"
    print(f"\n### Andersen-Gill with cluster-robust SE, 2 covariates, about 4.5 rows per subject, {times}\n")
    peers = ["native", "r_inside", "r_inside_nocluster", "lifelines", "statsmodels"]
    print("| subjects | rows | native | R coxph + cluster(id) | R without cluster | lifelines CTV (no robust SE) | "
          "statsmodels PHReg | R / native | robust SE diff vs R (native, statsmodels) |")
    print("|---" * 9 + "|")
    for n in map(int, args.sizes_ag.split(",")):
        res = {p: measure(task, p, n, args.limit) for p in peers}
        rows = res["native"].get("rows", "")
        ratio = (f"{res['r_inside']['seconds'] / res['native']['seconds']:.0f}x"
                 if "seconds" in res["r_inside"] and "seconds" in res["native"] else "")
        diffs = ", ".join(max_diff(res["r_inside"], res[p], "robust_se") for p in ("native", "statsmodels"))
        print(f"| {n:.0e} | {rows} | " + " | ".join(fmt(res[p]) for p in peers) + f" | {ratio} | {diffs} |")


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
