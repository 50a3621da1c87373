"""Nnet-survival's published checks at full size (Gensheimer & Narasimhan 2019, PeerJ 7:e6257).

    .venv/bin/python benchmarks/nnet_survival_paper.py [--out benchmarks/figures]

1. One binary predictor, 5000 subjects, exponential survival (medians 200 / 400 days),
   exponential censoring (median 400), 39 intervals to 1779 days, no hidden layer: the largest
   |mean predicted survival - Kaplan-Meier| per group over the breaks (goal < 0.03), both heads;
   calibration plot -> nnet_check1_calibration.png.
2. Interval-width robustness on Weibull PH data (20 000 train / 10 000 test): test C-index of
   1 - S(1 year) with yearly, monthly, weekly and half-life breaks (goal: spread < 0.01), for
   the flexible and proportional heads without hidden layer and the flexible head on an MLP(8).
3. surv-digits (load_digits_survival): a small CNN's test C-index against the oracle that uses
   the true digit, over 5 splits (goal: gap < 0.07; paper, MNIST: 0.713 vs 0.770); calibration
   per digit -> nnet_check3_digits_calibration.png.
The figures printed here are copied into benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from models._data import WEIBULL_BETA, exponential_two_groups, weibull_ph  # noqa: E402

from pysurvbridge import metrics  # noqa: E402
from pysurvbridge.data import SurvivalData, load_digits_survival  # noqa: E402
from pysurvbridge.data.intervals import breaks_equal_width, breaks_half_life  # noqa: E402
from pysurvbridge.models import NnetSurvival, small_cnn  # noqa: E402


def check1(out: Path) -> None:
    import matplotlib.pyplot as plt

    data = exponential_two_groups(5000, seed=0)
    breaks = breaks_equal_width(5 * 365, width=365 / 8)
    print("## Check 1: mean predicted survival vs Kaplan-Meier (5000 subjects, 39 intervals)\n")
    print("| head | epochs (batch 256) | max abs difference over 2 groups x 40 breaks | fit seconds |\n|---|---|---|---|")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, head in zip(axes, ("flexible", "proportional")):
        t0 = time.perf_counter()
        m = NnetSurvival(breaks, head=head, standardize=False).fit(data, epochs=40, batch_size=256, lr=0.02, verbose=False)
        secs = time.perf_counter() - t0
        cal = metrics.group_calibration(m.predict_survival(data.X, breaks).to_numpy(), breaks, data.time,
                                        data.event, np.where(data.X[:, 0] == 1, "median 400", "median 200"))
        print(f"| {head} | 40 | {cal.max_abs_difference:.4f} | {secs:.1f} |")
        cal.plot(ax)
        ax.set_title(f"{head} head: max |diff| {cal.max_abs_difference:.3f}")
    fig.tight_layout()
    fig.savefig(out / "nnet_check1_calibration.png", dpi=110)
    print(f"\nPlot: {out / 'nnet_check1_calibration.png'}\n")


def check2() -> None:
    train, test = weibull_ph(20000, seed=0), weibull_ph(10000, seed=1)
    days = 5 * 365
    sets = {"yearly": np.arange(0, days + 1, 365.0), "monthly": np.arange(0, days + 1, 365 / 12),
            "weekly": np.arange(0, days + 7, 7.0), "half-life": np.append(breaks_half_life(19), days)}
    oracle = metrics.concordance_harrell(test.X @ WEIBULL_BETA, test.time, test.event)
    print("## Check 2: interval-width robustness (Weibull PH, 20 000 train / 10 000 test)\n")
    print(f"Oracle C-index (true linear predictor): {oracle:.4f}\n")
    print("| model | " + " | ".join(f"{k} ({len(v) - 1})" for k, v in sets.items()) + " | spread |")
    print("|---" * (len(sets) + 2) + "|")
    for label, kw in [("flexible, no hidden layer", dict(head="flexible")),
                      ("proportional, no hidden layer", dict(head="proportional")),
                      ("flexible, MLP(8)", dict(head="flexible", hidden=(8,)))]:
        c = []
        for b in sets.values():
            m = NnetSurvival(b, horizon=365, **kw).fit(train, epochs=300, batch_size=256, lr=1e-2, validation=0.2,
                                                      patience=10, verbose=False)
            c.append(metrics.concordance_harrell(m.predict_risk(test.X), test.time, test.event))
        print(f"| {label} | " + " | ".join(f"{v:.4f}" for v in c) + f" | {max(c) - min(c):.4f} |")
    print()


def check3(out: Path, seeds: int = 5) -> None:
    import matplotlib.pyplot as plt

    ds = load_digits_survival(seed=0)
    n = len(ds.time)
    data = SurvivalData.from_arrays(ds.time, ds.event, ds.images.reshape(n, -1))
    b = breaks_half_life(19)
    print(f"## Check 3: surv-digits, small CNN ({n} images of digits 0-4, 70/30 splits)\n")
    print("| split | CNN test C | oracle C (true digit) | gap | max abs (mean predicted - test KM) per digit "
          "| max abs (mean predicted - true S) per digit | max abs (test KM - true S) |\n|---|---|---|---|---|---|---|")
    gaps = []
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(n)
        tr, te = order[: int(0.7 * n)], order[int(0.7 * n):]
        m = NnetSurvival(b, network=small_cnn((8, 8)), standardize=False, horizon=365).fit(
            data.subset(tr), epochs=60, batch_size=32, lr=1e-3, seed=seed, verbose=False)
        test = data.subset(te)
        c = metrics.concordance_harrell(m.predict_risk(test.X), test.time, test.event)
        oracle = metrics.concordance_harrell(ds.digits[te].astype(float), test.time, test.event)
        times = b[1:12]
        cal = metrics.group_calibration(m.predict_survival(test.X, times).to_numpy(), times, test.time,
                                        test.event, ds.digits[te])
        gaps.append(oracle - c)
        truth = np.exp(-np.outer(np.log(2) / (365 * np.exp(-0.9 * cal.table["group"].to_numpy(float))), [1.0]).ravel()
                       * cal.table["time"].to_numpy())
        vs_truth = np.abs(cal.table["predicted"] - truth).max()
        km_vs_truth = np.abs(cal.table["kaplan_meier"] - truth).max()
        print(f"| {seed} | {c:.4f} | {oracle:.4f} | {oracle - c:.4f} | {cal.max_abs_difference:.3f} | "
              f"{vs_truth:.3f} | {km_vs_truth:.3f} |")
        if seed == 0:
            fig, axes = plt.subplots(1, 5, figsize=(18, 3.6), sharey=True)
            for d, ax in enumerate(axes):
                part = cal.table[cal.table["group"] == d]
                ax.plot(part["time"], part["kaplan_meier"], "x-", ms=4, label="Kaplan-Meier (test)")
                ax.plot(part["time"], part["predicted"], "o--", ms=3, label="mean predicted")
                truth = np.exp(-times * np.log(2) / (365 * np.exp(-0.9 * d)))
                ax.plot(times, truth, ":", color="grey", label="true S(t | digit)")
                ax.set_title(f"digit {d}")
                ax.set_xlabel("days")
            axes[0].legend(fontsize="small")
            fig.tight_layout()
            fig.savefig(out / "nnet_check3_digits_calibration.png", dpi=100)
    print(f"\nMean gap over {seeds} splits: {np.mean(gaps):.4f} (max {np.max(gaps):.4f}); "
          f"plot: {out / 'nnet_check3_digits_calibration.png'}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    check1(out)
    check2()
    check3(out)


if __name__ == "__main__":
    main()
