"""CoxVAE's experiments (Weber et al. 2021) on two public stand-ins for its private liver CTs.

    .venv/bin/python benchmarks/coxvae_paper.py [--seeds 5] [--epochs 100] [--only tau,table,traversal,speed]

- tau study (Fig. 4) on surv-digits (all ten 8x8 digits of scikit-learn, exponential times
  whose log-hazard is 0.9 x digit + const, uniform censoring): tau = 0.01, 0.5, 0.99; the
  absolute Spearman correlation of the embedding's first principal component with the digit
  (= with the true log-hazard, a monotone function of it) and the held-out C of the Cox head;
  PCA figure benchmarks/figures/coxvae_tau.png.
- Table 1 in its form on surv-digits and on the synthetic lesion images
  (``simulate_lesion_images``, 32x32): for CoxVAE (tau 0.5), a plain VAE (tau 1) and DeepSurv
  (an MLP whose last hidden layer has 8 units, the embedding's width): C-index and IBS of the
  model itself ("base"), of a Cox model on the embedding (the classical engine) and of a random
  survival forest on the embedding (scikit-survival); held-out 30% of subjects, seeds 0..4; the
  oracle C of the true log-hazard beside them.
- Latent traversal (Fig. 3) on the lesion images: the axis with the largest |log hazard
  ratio| is varied from -3 to 3 with the others at 0; the decoded lesion area is measured with
  ``lesion_area``; figure benchmarks/figures/coxvae_traversal.png.
- Speed: training images per second for one epoch on this machine's CPU.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import markdown as md  # noqa: E402
from pysurvbridge import metrics  # noqa: E402
from pysurvbridge.classical import fit_cox  # noqa: E402
from pysurvbridge.data import SurvivalData, load_digits_survival  # noqa: E402
from pysurvbridge.errors import ConvergenceWarning  # noqa: E402
from pysurvbridge.models import CoxVAE, DeepSurv  # noqa: E402
from pysurvbridge.simulate import lesion_area, simulate_lesion_images  # noqa: E402

FIGURES = Path(__file__).parent / "figures"
PAPER = {("CoxVAE", "base"): (0.560, 0.187), ("CoxVAE", "CoxPH"): (0.546, 0.162), ("CoxVAE", "RSF"): (0.558, 0.169),
         ("VAE", "CoxPH"): (0.554, 0.158), ("VAE", "RSF"): (0.544, 0.153), ("DeepSurv", "base"): (0.548, 0.200),
         ("DeepSurv", "CoxPH"): (0.560, 0.162), ("DeepSurv", "RSF"): (0.539, 0.176)}


def surv_digits(seed: int = 0):
    d = load_digits_survival(seed=seed, digits=range(10))
    X = d.images.reshape(len(d.images), -1)
    return SurvivalData.from_arrays(d.time, d.event, X), d.log_hazard, d.digits


def lesions(seed: int = 0, n: int = 1500):
    sim = simulate_lesion_images(n, size=32, seed=seed)
    return sim.data, sim.log_hazard, sim


def split(n: int, seed: int, test: float = 0.3):
    order = np.random.default_rng(seed).permutation(n)
    k = int(round(test * n))
    return np.sort(order[k:]), np.sort(order[:k])


def pc1(Z: np.ndarray) -> np.ndarray:
    Zc = Z - Z.mean(axis=0)
    return Zc @ np.linalg.svd(Zc, full_matrices=False)[2][0]


def coxvae(tau: float, epochs: int, seed: int, data: SurvivalData) -> CoxVAE:
    return CoxVAE(tau=tau, encoder="conv", decoder="conv").fit(data, epochs=epochs, batch_size=64, seed=seed,
                                                               verbose=False)


def run_tau(seeds: int, epochs: int) -> None:
    from matplotlib.figure import Figure

    rows = []
    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    data, log_h, digit = surv_digits()
    for seed in range(seeds):
        tr, te = split(len(data), seed)
        for i, tau in enumerate((0.01, 0.5, 0.99)):
            m = coxvae(tau, epochs, seed, data.subset(tr))
            Z = m.embed(data.X[te]).to_numpy()
            rows.append({"tau": tau, "seed": seed, "|rho(PC1, digit)|": abs(spearmanr(pc1(Z), digit[te])[0]),
                         "C of the Cox head": metrics.concordance_harrell(m.predict_risk(data.X[te]), data.time[te],
                                                                          data.event[te])})
            if seed == 0:
                p = pc1(Z)
                Zc = Z - Z.mean(axis=0)
                p2 = Zc @ np.linalg.svd(Zc, full_matrices=False)[2][1]
                sc = axes[i].scatter(p, p2, c=digit[te], cmap="tab10", s=8)
                axes[i].set_title(f"tau = {tau}")
                axes[i].set_xlabel("PC 1")
    fig.colorbar(sc, ax=axes, label="digit (log-hazard rises with it)")
    fig.suptitle("CoxVAE embeddings of held-out surv-digits (seed 0), as the paper's Fig. 4")
    FIGURES.mkdir(exist_ok=True)
    fig.savefig(FIGURES / "coxvae_tau.png", dpi=110)
    df = pd.DataFrame(rows)
    summary = df.groupby("tau").agg(["mean", "std"]).drop(columns="seed")
    summary.columns = [f"{a} {b}" for a, b in summary.columns]
    oracle = np.mean([metrics.concordance_harrell(log_h[te], data.time[te], data.event[te])
                      for te in (split(len(data), s)[1] for s in range(seeds))])
    print(f"\n### tau study on surv-digits (1797 images, {seeds} seeds, {epochs} epochs; oracle C {oracle:.3f})\n")
    print(md(summary.reset_index()))


def deep_surv_embedding(m: DeepSurv, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return m.network_[:-1](m._input_tensor(X)).double().cpu().numpy()


def downstream(Z_tr, Z_te, tr: SurvivalData, te: SurvivalData, grid: np.ndarray, seed: int) -> dict:
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.util import Surv

    # latent axes the encoder does not use (posterior collapse: nearly constant means) make the
    # Cox likelihood flat in them; they are dropped for the Cox model and counted
    sd = Z_tr.std(axis=0)
    active = sd > 1e-2 * sd.max()
    names = [f"z{j}" for j in range(Z_tr.shape[1]) if active[j]]
    out = {"dropped": int((~active).sum())}
    kw = dict(train_time=tr.time, train_event=tr.event)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cox = fit_cox(SurvivalData.from_arrays(tr.time, tr.event, Z_tr[:, active], names), engine="native")
    frame = pd.DataFrame(Z_te[:, active], columns=names)
    S = cox.predict_survival(frame, grid).to_numpy()
    if np.isfinite(S).all():
        out["CoxPH"] = (metrics.concordance_harrell(cox.predict_log_risk(frame), te.time, te.event),
                        metrics.integrated_brier_score(S, grid, te.time, te.event, **kw))
    else:  # did not converge (monotone likelihood): reported as a failure, not hidden
        out["CoxPH"] = (float("nan"), float("nan"))
    rsf = RandomSurvivalForest(n_estimators=100, min_samples_leaf=15, random_state=seed, n_jobs=2)
    rsf.fit(Z_tr, Surv.from_arrays(tr.event.astype(bool), tr.time))
    S = np.vstack([f(grid) for f in rsf.predict_survival_function(Z_te)])
    out["RSF"] = (metrics.concordance_harrell(rsf.predict(Z_te), te.time, te.event),
                  metrics.integrated_brier_score(S, grid, te.time, te.event, **kw))
    return out


def run_table(seeds: int, epochs: int) -> None:
    for name, loader in (("surv-digits", surv_digits), ("lesion images 32x32", lesions)):
        data, log_h, _ = loader()
        rows, oracle = [], []
        t0 = time.perf_counter()
        for seed in range(seeds):
            tr_rows, te_rows = split(len(data), seed)
            tr, te = data.subset(tr_rows), data.subset(te_rows)
            grid = np.unique(np.quantile(tr.time, np.linspace(0.05, 0.8, 20)))
            kw = dict(train_time=tr.time, train_event=tr.event)
            oracle.append(metrics.concordance_harrell(log_h[te_rows], te.time, te.event))
            for model in ("CoxVAE", "VAE", "DeepSurv"):
                if model == "DeepSurv":
                    m = DeepSurv(hidden=(128, 8), dropout=0.1).fit(tr, epochs=epochs, lr=1e-3, batch_size=None,
                                                                   seed=seed, verbose=False)
                    Z_tr, Z_te = deep_surv_embedding(m, tr.X), deep_surv_embedding(m, te.X)
                else:
                    m = coxvae(0.5 if model == "CoxVAE" else 1.0, epochs, seed, tr)
                    Z_tr, Z_te = m.embed(tr.X).to_numpy(), m.embed(te.X).to_numpy()
                res = downstream(Z_tr, Z_te, tr, te, grid, seed)
                dropped = res.pop("dropped")
                if model != "VAE":
                    res["base"] = (metrics.concordance_harrell(m.predict_risk(te.X), te.time, te.event),
                                   metrics.integrated_brier_score(m.predict_survival(te.X, grid).to_numpy(), grid,
                                                                  te.time, te.event, **kw))
                for head, (c, ibs) in res.items():
                    rows.append({"model": model, "head": head, "seed": seed, "C": c, "IBS": ibs,
                                 "dropped": dropped if head == "CoxPH" else 0, "failed": int(np.isnan(c))})
        full = pd.DataFrame(rows)
        counts = full.groupby(["model", "head"], sort=False)[["dropped", "failed"]].sum()
        df = full.groupby(["model", "head"], sort=False)[["C", "IBS"]].agg(["mean", "std"])
        out = []
        for (model, head), r in df.iterrows():
            paper = PAPER.get((model, head))
            out.append({"model": model, "head": head, "C": f"{r[('C', 'mean')]:.3f} ± {r[('C', 'std')]:.3f}",
                        "IBS": f"{r[('IBS', 'mean')]:.3f} ± {r[('IBS', 'std')]:.3f}",
                        "paper (liver CT) C / IBS": f"{paper[0]:.3f} / {paper[1]:.3f}" if paper else "",
                        "unused axes dropped / failed fits": f"{counts.loc[(model, head), 'dropped']} / "
                                                             f"{counts.loc[(model, head), 'failed']}"})
        print(f"\n### Table 1 on {name}: {len(data)} subjects, 30% held out, {seeds} seeds, {epochs} epochs "
              f"({time.perf_counter() - t0:.0f} s); oracle C (true log-hazard) {np.mean(oracle):.3f} ± "
              f"{np.std(oracle, ddof=1):.3f}\n")
        print(md(pd.DataFrame(out)))


def run_traversal(epochs: int) -> None:
    data, log_h, sim = lesions(seed=0, n=2000)
    m = coxvae(0.5, epochs, 0, data)
    hr = m.hazard_ratios()
    axis = int(np.argmax(np.abs(np.log(hr.to_numpy()))))
    values = np.linspace(-3, 3, 7)
    decoded = m.traverse(axis, values)
    area = lesion_area(decoded)
    # decoded Bernoulli means are blurred: also the brightness above the organ's ceiling (0.63)
    soft = np.clip(decoded - 0.63, 0.0, None).sum(axis=1) / (1.0 - 0.63)
    direction = np.sign(np.log(hr.iloc[axis]))
    rho = spearmanr(values * direction, soft)[0]
    fig = m.plot_traversal(values=values)
    FIGURES.mkdir(exist_ok=True)
    fig.savefig(FIGURES / "coxvae_traversal.png", dpi=90)
    print(f"\n### Latent traversal on lesion images (2000 images 32x32, tau 0.5, {epochs} epochs)\n")
    print(f"axis with the largest |log HR|: z{axis + 1}, HR {hr.iloc[axis]:.3f} per unit; hazard ratios "
          f"{', '.join(f'{v:.2f}' for v in hr)}")
    print(md(pd.DataFrame({"z value": values, "decoded lesion area (pixels > 0.75)": area.astype(float),
                           "soft lesion area (excess brightness / 0.37)": soft}), 1))
    print(f"\nSpearman of the soft lesion area with the hazard direction (value x sign(log HR)): {rho:.3f}; "
          f"true lesion areas: mean {sim.lesion_area.mean():.1f}, sd {sim.lesion_area.std():.1f} pixels")


def run_speed() -> None:
    rows = []
    for size, n in ((8, 1797), (32, 2000), (64, 1000)):
        if size == 8:
            data = surv_digits()[0]
        else:
            data = simulate_lesion_images(n, size=size, seed=0).data
        CoxVAE(encoder="conv", decoder="conv").fit(data.subset(slice(0, 128)), epochs=1, batch_size=64, verbose=False)
        t0 = time.perf_counter()
        CoxVAE(encoder="conv", decoder="conv").fit(data, epochs=2, batch_size=64, verbose=False)
        dt = (time.perf_counter() - t0) / 2
        rows.append({"image": f"{size}x{size}", "images": len(data), "seconds per epoch": dt, "images/s": len(data) / dt})
    print(f"\n### CoxVAE training speed (conv encoder/decoder, batch 64, CPU {os.cpu_count()} cores, torch "
          f"{torch.__version__})\n")
    print(md(pd.DataFrame(rows), 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--only", default="tau,table,traversal,speed")
    args = ap.parse_args()
    parts = args.only.split(",")
    if "tau" in parts:
        run_tau(args.seeds, args.epochs)
    if "table" in parts:
        run_table(args.seeds, args.epochs)
    if "traversal" in parts:
        run_traversal(args.epochs)
    if "speed" in parts:
        run_speed()


if __name__ == "__main__":
    main()
