"""Nnet-survival's SUPPORT study (Gensheimer & Narasimhan 2019, Table 1, Figs. 6-7) recomputed.

    .venv/bin/python benchmarks/nnet_survival_support.py [--splits 5] [--only table,speed]

Table 1: 70/30 splits of the 9105 SUPPORT patients (the paper's one split is split 0; splits
1..4 go beyond it); the preprocessing (columns missing for more than 43.9% of the training
patients dropped, labs imputed with the recommended normal values, other values with the
training median, categoricals one-hot) fitted on the training part of each split only. Four
models, each MLP with one hidden layer of 7 units (the paper's choice): Nnet-survival
(flexible head, 19 intervals to 6 years widening later, RMSprop), Cox-nnet (tanh hidden layer,
Cox loss, exact full-batch risk sets), DeepSurv (ReLU hidden layer, Cox loss) and the Cox model
(native engine). The L2 strength of the three networks is chosen by 10-fold cross-validation
of the validation log-likelihood on split 0's training part (as the paper) and reused for the
other splits. Harrell's C (Nnet-survival ranked by predicted 1-year survival, as the paper);
Graf's Brier score at 6 months, 1 and 3 years in ipred's convention (``brier_score`` with the
scored data's own censoring and weights at t; cross-checked with ``engine="r"``, ipred::sbrier,
on the same predictions). Fig. 6: decile calibration at the three times (split 0),
figures/support_calibration.png. Fig. 7 (``--only speed``): seconds per training epoch on
1e3..1e6 patients resampled from SUPPORT with replacement, one CPU core, each in its own
process under a time limit: our Nnet-survival (batch 256), our exact full-batch Cox loss
(Cox-nnet / DeepSurv), pycox LogisticHazard and pycox CoxPH (batch 256).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import markdown as md  # noqa: E402
from harness import fmt, measure  # noqa: E402

FIGURES = Path(__file__).parent / "figures"
DAYS = {"6 months": 182.625, "1 year": 365.25, "3 years": 1095.75}
PAPER = {"Nnet-survival": (0.732, 0.181, 0.184, 0.177), "Cox-nnet": (0.735, 0.183, 0.185, 0.177),
         "DeepSurv": (0.730, 0.184, 0.187, 0.179), "Cox PH": (0.734, 0.183, 0.186, 0.178)}
L2_GRID = (0.0, 1e-3, 1e-2, 3e-2, 1e-1)
BREAKS_HALF_LIFE = 2191.5 * np.log(2) / np.log(20)  # 19 intervals of 5% each, the last ending at 6 years


def split_frames(seed: int):
    from pysurvbridge.data.datasets import load_support
    from pysurvbridge.data.preprocessing import support_preprocessor

    raw = load_support()
    order = np.random.default_rng(seed).permutation(len(raw))
    n_test = int(round(0.3 * len(raw)))
    tr, te = raw.iloc[np.sort(order[n_test:])], raw.iloc[np.sort(order[:n_test])]
    prep = support_preprocessor().fit(tr)
    return prep.to_survival_data(tr), prep.to_survival_data(te)


def network(name: str, l2: float):
    from pysurvbridge.data.intervals import breaks_half_life
    from pysurvbridge.models import DeepSurv, NnetSurvival

    if name == "Nnet-survival":
        model = NnetSurvival(breaks_half_life(19, half_life=BREAKS_HALF_LIFE), head="flexible", hidden=(7,))
        return model, dict(epochs=100, batch_size=256, lr=1e-3, optimizer="rmsprop", weight_decay=l2)
    activation = "tanh" if name == "Cox-nnet" else "relu"
    model = DeepSurv(hidden=(7,), dropout=0.0, activation=activation)
    return model, dict(epochs=300, lr=1e-2, weight_decay=l2)


def choose_l2(name: str, train, folds: int = 10) -> tuple[float, dict]:
    """10-fold CV of the validation loss (the model's negative log-likelihood) over L2_GRID."""
    order = np.random.default_rng(123).permutation(len(train))
    parts = np.array_split(order, folds)
    scores = {}
    for l2 in L2_GRID:
        losses = []
        for k in range(folds):
            val = np.sort(parts[k])
            fit = np.sort(np.concatenate([parts[j] for j in range(folds) if j != k]))
            model, kw = network(name, l2)
            model.fit(train.subset(fit), validation=train.subset(val), seed=k, verbose=False, **kw)
            losses.append(float(model.history_["val_loss"].iloc[-1]))
        scores[l2] = float(np.mean(losses))
    return min(scores, key=scores.get), scores


def evaluate(name: str, l2: float, tr, te) -> dict:
    from pysurvbridge import metrics
    from pysurvbridge.classical import fit_cox

    times = np.array(list(DAYS.values()))
    if name == "Cox PH":
        fit = fit_cox(tr, engine="native")
        risk = fit.predict_log_risk(te.X)
        S = fit.predict_survival(te.X, times).to_numpy()
    else:
        model, kw = network(name, l2)
        model.fit(tr, seed=0, verbose=False, **kw)
        S = model.predict_survival(te.X, times).to_numpy()
        risk = -S[:, 1] if name == "Nnet-survival" else model.predict_risk(te.X)  # 1-year survival ranks Nnet
    out = {"C": metrics.concordance_harrell(risk, te.time, te.event)}
    ours = metrics.brier_score(S, times, te.time, te.event, censoring_weight_at="t")
    out.update({f"Brier {k}": float(b) for k, b in zip(DAYS, ours)})
    try:
        r = metrics.brier_score(S, times, te.time, te.event, censoring_weight_at="t", engine="r")
        out["max abs(ours - ipred)"] = float(np.max(np.abs(np.asarray(r) - ours)))
    except Exception as exc:  # R or ipred missing: said, not hidden
        out["max abs(ours - ipred)"] = f"n/a ({type(exc).__name__})"
    out["S"] = S
    return out


def run_table(splits: int) -> None:
    from matplotlib.figure import Figure

    from pysurvbridge.metrics import calibration_in_the_large, decile_calibration

    t0 = time.perf_counter()
    tr0, te0 = split_frames(0)
    chosen = {}
    for name in ("Nnet-survival", "Cox-nnet", "DeepSurv"):
        chosen[name], scores = choose_l2(name, tr0)
        print(f"{name}: 10-fold CV loss by L2 {', '.join(f'{k:g}: {v:.4f}' for k, v in scores.items())} "
              f"-> {chosen[name]:g}")
    rows, cal_rows = [], []
    fig = Figure(figsize=(13, 4.2))
    axes = fig.subplots(1, 3)
    for seed in range(splits):
        tr, te = (tr0, te0) if seed == 0 else split_frames(seed)
        for name in ("Nnet-survival", "Cox-nnet", "DeepSurv", "Cox PH"):
            res = evaluate(name, chosen.get(name, 0.0), tr, te)
            S = res.pop("S")
            rows.append({"model": name, "split": seed, **res})
            for j, (label, t) in enumerate(DAYS.items()):
                cal_rows.append({"model": name, "split": seed, "time": label,
                                 "calibration in the large": calibration_in_the_large(S[:, j], te.time, te.event, t)})
                if seed == 0:
                    table = decile_calibration(S[:, j], te.time, te.event, t)
                    axes[j].plot(table["predicted"], table["kaplan_meier"], "o-", ms=3, label=name)
                    axes[j].set_title(label)
    for ax in axes:
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set_xlabel("mean predicted survival (decile)")
        ax.set_ylabel("Kaplan-Meier")
    axes[0].legend(fontsize="small")
    fig.suptitle("SUPPORT test set (split 0): calibration by decile of predicted survival, as the paper's Fig. 6")
    FIGURES.mkdir(exist_ok=True)
    fig.savefig(FIGURES / "support_calibration.png", dpi=110)
    df = pd.DataFrame(rows)
    one = df[df["split"] == 0].drop(columns="split")
    one.insert(1, "paper (C, Brier 6 mo, 1 y, 3 y)", [" / ".join(f"{v:.3f}" for v in PAPER[m]) for m in one["model"]])
    print(f"\n### Table 1, split 0 (the paper's design: 6373 training / 2732 test patients; {time.perf_counter() - t0:.0f} s "
          "so far)\n")
    print(md(one))
    metric_cols = ["C"] + [f"Brier {k}" for k in DAYS]
    agg = df.groupby("model", sort=False)[metric_cols].agg(["mean", "std"])
    out = pd.DataFrame({"model": agg.index, **{c: [f"{m:.3f} ± {s:.3f}" for m, s in zip(agg[(c, "mean")], agg[(c, "std")])]
                                                 for c in metric_cols}})
    print(f"\n### Table 1 over {splits} splits (mean ± sd)\n")
    print(md(out))
    cal = pd.DataFrame(cal_rows).groupby(["model", "time"], sort=False)["calibration in the large"].mean().unstack()
    print("\n### Calibration in the large (mean predicted S(t) minus Kaplan-Meier), mean over splits\n")
    print(md(cal.reset_index()))
    print(f"\n({time.perf_counter() - t0:.0f} s in all; L2 chosen on split 0: {json.dumps(chosen)})")


# ---------------------------------------------------------------------- Fig. 7
def one_epoch(model: str, n: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from pysurvbridge.data.datasets import load_support
    from pysurvbridge.data.preprocessing import support_preprocessor

    raw = load_support()
    data = support_preprocessor().fit(raw).to_survival_data(raw)
    rows = np.random.default_rng(0).integers(0, len(raw), n)
    X, t, e = data.X[rows].astype(np.float32), data.time[rows], data.event[rows]
    if model in ("nnet-survival", "cox-full-batch"):
        from pysurvbridge.data import SurvivalData
        from pysurvbridge.data.intervals import breaks_half_life
        from pysurvbridge.models import DeepSurv, NnetSurvival

        d = SurvivalData.from_arrays(t, e, X)
        if model == "nnet-survival":
            m, kw = NnetSurvival(breaks_half_life(19, half_life=BREAKS_HALF_LIFE), hidden=(7,)), dict(batch_size=256)
        else:
            m, kw = DeepSurv(hidden=(7,), dropout=0.0, activation="tanh"), {}
        m.fit(d, epochs=1, verbose=False, **kw)  # warm-up and set-up
        start = time.perf_counter()
        m.fit(d, epochs=3, verbose=False, **kw)
        return {"seconds": (time.perf_counter() - start) / 3}
    import torchtuples as tt
    from pycox.models import CoxPH, LogisticHazard

    net = tt.practical.MLPVanilla(X.shape[1], [7], 1 if model == "pycox-coxph" else 19, batch_norm=False, dropout=None)
    if model == "pycox-coxph":
        m, y = CoxPH(net, tt.optim.Adam(1e-3)), (t.astype(np.float32), e.astype(np.float32))
    else:
        m = LogisticHazard(net, tt.optim.Adam(1e-3), duration_index=np.arange(20, dtype=np.float32))
        y = (np.minimum((t / 120).astype(np.int64), 19), e.astype(np.float32))
    m.fit(X, y, batch_size=256, epochs=1, verbose=False)
    start = time.perf_counter()
    m.fit(X, y, batch_size=256, epochs=3, verbose=False)
    return {"seconds": (time.perf_counter() - start) / 3}


def run_speed(limit: float) -> None:
    models = ("nnet-survival", "cox-full-batch", "pycox-logistic-hazard", "pycox-coxph")
    rows = []
    for n in (1_000, 10_000, 100_000, 1_000_000):
        row = {"patients": n}
        for model in models:
            r = measure(__file__, [model, n], limit)
            row[model] = fmt(r)
        rows.append(row)
        print(md(pd.DataFrame(rows)), flush=True)
    print("\n(seconds per training epoch, one CPU core, mean of 3 epochs after one warm-up epoch)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(one_epoch(sys.argv[2], int(sys.argv[3]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--limit", type=float, default=300.0, help="seconds per speed measurement")
    ap.add_argument("--only", default="table,speed")
    args = ap.parse_args()
    if "table" in args.only:
        run_table(args.splits)
    if "speed" in args.only:
        run_speed(args.limit)


if __name__ == "__main__":
    main()
