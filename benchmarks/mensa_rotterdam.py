"""MENSA's Rotterdam rows (Tables 4, 5 and 8 of Lillelund et al. 2025) recomputed beside the
classical models, the synthetic copula check (section 6.1) and MENSA's training speed.

    .venv/bin/python benchmarks/mensa_rotterdam.py [--seeds 10] [--only multi,competing,copula,speed,size]

Protocol (the paper's section 5.1 and appendix E): R's rotterdam (2982 patients), ten
covariates (size groups mapped to 10/35/75 mm), z-scored on the training part by each model;
70/10/20 split stratified on the observed-event pattern, seeds 0..9; MENSA with hidden [32],
dropout 0.25, 3 Weibull components, Adam lr 1e-3, weight decay 1e-3, batch 32, early stopping
with patience 10 on the validation loss (the best epoch's weights restored), at most 1000
epochs; DeepSurv per event with hidden 100, dropout 0.25, lr 1e-3, patience 10 (Table 11).
Every model is scored by ``pysurvbridge.compare`` with the same metrics (its module
docstring defines them). Tables print as Markdown, scaled as the paper's: C and IBS x 100,
margin-MAE in hundreds of days.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import markdown as md  # noqa: E402
from pysurvbridge import compare, metrics  # noqa: E402
from pysurvbridge.models import MENSA, DeepSurv  # noqa: E402
from pysurvbridge.simulate import simulate_multi_event, simulate_survival  # noqa: E402

#: Table 5 (multi-event), Table 8 (trajectory ablation), Table 4 (competing), Rotterdam, as printed
PAPER = {
    "multi": {"mensa": (69.94, 88.70, 20.36, 18.91, "17/20"),
              "deepsurv-per-event": (69.76, 81.63, 19.30, 22.92, "18/20"),
              "mensa-no-trajectory": (70.08, 88.76, 20.54, 18.93, "18/20")},
    "competing": {"mensa": (69.53, 88.68, 15.03, 49.56, "18/20"),
                  "deepsurv-per-event": (68.88, 88.32, 14.09, 118.17, "20/20")},
}


def paper_scale(table: pd.DataFrame, names, which: str) -> pd.DataFrame:
    rows = []
    for _, r in table.iterrows():
        row = {"model": r["model"], "family": r["family"]}
        for col, scale in (("c_global", 100), ("c_local", 100), ("ibs", 100), ("mae_margin", 0.01)):
            row[col] = f"{r[col] * scale:.2f} ± {r[col + '_sd'] * scale:.2f}"
        row["dcal"] = r["dcal"]
        paper = PAPER[which].get(r["model"])
        row["paper (Global C, Local C, IBS, mMAE, D-cal)"] = " / ".join(map(str, paper)) if paper else ""
        row["n_params"], row["fit s"] = r["n_params"], f"{r['fit_seconds']:.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def per_event(table: pd.DataFrame, names) -> pd.DataFrame:
    rows = []
    for _, r in table.iterrows():
        row = {"model": r["model"]}
        for n in names:
            row[f"C {n}"] = f"{100 * r[f'c_harrell_{n}']:.2f}"
            row[f"IBS {n}"] = f"{100 * r[f'ibs_{n}']:.2f}"
            row[f"mMAE {n}"] = f"{r[f'mae_margin_{n}'] / 100:.2f}"
            row[f"D-cal p {n}"] = f"{r[f'dcal_p_{n}']:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def run_rotterdam(which: str, seeds: int) -> None:
    if which == "multi":
        models = ["cox-per-event", "multistate-cox", "deepsurv-per-event", "mensa", "mensa-no-trajectory",
                  "earlier-event-first"]
        data = "rotterdam-multi"
    else:
        models = ["cox-per-event", "deepsurv-per-event", "mensa"]
        data = "rotterdam-competing"
    t0 = time.perf_counter()
    res = compare(data, models=models, seeds=seeds, verbose=False)
    print(f"\n### Rotterdam, {which}-event: {seeds} seeds, {time.perf_counter() - t0:.0f} s\n")
    print(md(paper_scale(res.table, res.event_names, which)))
    print("\nPer event (means over seeds; C and IBS x 100, mMAE in hundreds of days):\n")
    print(md(per_event(res.table, res.event_names)))
    print("\nNotes:\n" + "\n".join(f"- {n}" for n in res.notes))
    print("\nLast seed: share of test subjects whose curve is still above 0.5 at the largest training time "
          "(their median is the linear-tail extrapolation of metrics.median_time):\n")
    t_max = float(res.split.train.times.max())
    shares = {m: run.survival_fn(np.array([t_max]))[:, :, 0] for m, run in res.runs.items()}
    print(md(pd.DataFrame([{"model": m, **{n: f"{(S[:, k] > 0.5).mean():.2f}" for k, n in enumerate(res.event_names)}}
                           for m, S in shares.items()])))
    mensa = res.runs.get("mensa")
    if mensa is not None:
        h = mensa.fitted.history_
        print(f"\nMENSA (last seed): best epoch {mensa.fitted.best_epoch_} of {len(h)}, "
              f"{mensa.n_params} parameters, {mensa.flops:.0f} FLOPs per subject (fvcore convention)")


def run_copula(seeds: int, n: int) -> None:
    """Survival-l1 to the true S(t | x) of held-out subjects under dependent censoring."""
    rows = []
    t0 = time.perf_counter()
    for copula in ("clayton", "frank"):
        for tau in (0.0, 0.25, 0.5, 0.75):
            for seed in range(seeds):
                sim = simulate_survival(n, copula=None if tau == 0 else copula, kendall_tau=tau, n_features=10,
                                        event_shape=4.0, event_scale=18.0, censor_shape=5.0, censor_scale=17.0,
                                        seed=seed)
                order = np.random.default_rng(seed).permutation(n)
                te, va, tr = order[: n // 5], order[n // 5: n // 5 + n // 10], order[n // 5 + n // 10:]
                d = sim.data
                grid = np.linspace(0.0, float(d.time[tr].max()), 101)[1:]
                truth = sim.true_survival(grid)[te]
                mensa = MENSA(mode="single", n_dists=1).fit(
                    d.subset(tr), validation=d.subset(va), epochs=1000, batch_size=32, lr=1e-3, weight_decay=1e-3,
                    patience=10, seed=seed, verbose=False)
                deep = DeepSurv(hidden=(32,), dropout=0.25).fit(d.subset(tr), validation=d.subset(va), epochs=1000,
                                                                lr=1e-3, patience=10, seed=seed, verbose=False)
                s_m = mensa.predict_survival_array(d.X[te], grid)[:, 0]
                s_d = deep.predict_survival(d.X[te], grid).to_numpy()
                rows.append({"copula": copula, "tau": tau, "seed": seed,
                             "censored %": 100 * (1 - d.event.mean()),
                             "MENSA": metrics.survival_l1(s_m, truth, grid),
                             "DeepSurv": metrics.survival_l1(s_d, truth, grid)})
    df = pd.DataFrame(rows)
    summary = df.groupby(["copula", "tau"]).agg(**{
        "censored %": ("censored %", "mean"),
        "MENSA l1": ("MENSA", "mean"), "MENSA sd": ("MENSA", "std"),
        "DeepSurv l1": ("DeepSurv", "mean"), "DeepSurv sd": ("DeepSurv", "std")}).reset_index()
    print(f"\n### Synthetic copula check: n = {n}, {seeds} seeds, linear risk, 10 features, event Weibull(4, 18), "
          f"censoring Weibull(5, 17); {time.perf_counter() - t0:.0f} s\n")
    print(md(summary, 3))


def run_speed(sizes=(10_000, 100_000, 1_000_000), batch_sizes=(32, 1024)) -> None:
    """Training samples per second on this machine's CPU (one epoch per size after a warm-up)."""
    import torch

    rows = []
    for n in sizes:
        sim = simulate_multi_event(n, K=2, n_features=10, seed=0)
        for bs in batch_sizes:
            if bs == 32 and n > 100_000:
                continue  # 31 250 steps: the per-step cost is already measured at 1e5
            for dtype in ("float64", "float32"):
                MENSA(dtype=dtype, trajectories=[(0, 1)]).fit(sim.data.subset(slice(0, 2048)), epochs=1,
                                                               batch_size=bs, verbose=False)
                t0 = time.perf_counter()
                MENSA(dtype=dtype, trajectories=[(0, 1)]).fit(sim.data, epochs=1, batch_size=bs, verbose=False)
                dt = time.perf_counter() - t0
                rows.append({"subjects": n, "batch": bs, "dtype": dtype, "seconds": dt, "samples/s": n / dt})
    print(f"\n### MENSA training speed, CPU ({os.cpu_count()} cores, torch {torch.__version__}); one epoch, "
          "set-up included\n")
    print(md(pd.DataFrame(rows), 0))


def run_size() -> None:
    """Parameters and FLOPs per subject against the number of features (the paper's Fig. 12)."""
    rows = []
    for d in (10, 100, 1000):
        sim = simulate_multi_event(64, K=2, n_features=d, seed=0)
        m = MENSA(trajectories=[(0, 1)]).fit(sim.data, epochs=1, verbose=False)
        ds = [DeepSurv(hidden=(32,)).fit(sim.data.event_data(k), epochs=1, verbose=False) for k in range(2)]
        rows.append({"features": d, "MENSA params": m.n_params_, "MENSA FLOPs": m.flops_per_sample(),
                     "2 x DeepSurv(32) params": sum(sum(p.numel() for p in x.network_.parameters()) for x in ds)})
    print("\n### Model size, K = 2 (FLOPs: multiply-adds per subject, fvcore's convention)\n")
    print(md(pd.DataFrame(rows)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--copula-seeds", type=int, default=3)
    ap.add_argument("--copula-n", type=int, default=5000)
    ap.add_argument("--only", default="multi,competing,copula,speed,size")
    args = ap.parse_args()
    parts = args.only.split(",")
    if "multi" in parts:
        run_rotterdam("multi", args.seeds)
    if "competing" in parts:
        run_rotterdam("competing", args.seeds)
    if "copula" in parts:
        run_copula(args.copula_seeds, args.copula_n)
    if "size" in parts:
        run_size()
    if "speed" in parts:
        run_speed()


if __name__ == "__main__":
    main()
