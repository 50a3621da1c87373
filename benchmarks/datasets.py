"""Synthetic data for the benchmarks (fixed seeds)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def cox_frame(n: int, p: int = 10, seed: int = 0, decimals: int | None = 3) -> pd.DataFrame:
    """n subjects, p N(0,1) covariates, exponential times rounded to ``decimals`` (3: some
    ties; None: continuous times) plus 10^-decimals, about 50% censoring: columns x0..x{p-1},
    time, event."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = rng.normal(scale=0.3, size=p)
    t = rng.exponential(np.exp(-X @ beta))
    c = rng.exponential(np.exp(-X @ beta).mean(), n)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    time_ = np.minimum(t, c)
    df["time"] = time_ if decimals is None else np.round(time_, decimals) + 10.0 ** -decimals
    df["event"] = (t <= c).astype(np.int64)
    return df


def recurrent_frame(n_subjects: int, seed: int = 0, mean_events: float = 4.0,
                    decimals: int | None = None) -> pd.DataFrame:
    """(start, stop] rows, about mean_events + 1 rows per subject, covariates x1 ~ N(0,1) and
    x2 ~ Bernoulli(0.5); events of a Poisson process with rate exp(0.5 x1 - 0.5 x2) * base on
    [0, 10]; continuous times, or rounded to ``decimals`` (few distinct times)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n_subjects)
    x2 = rng.binomial(1, 0.5, n_subjects).astype(float)
    rate = mean_events / 10.0 * np.exp(0.5 * x1 - 0.5 * x2)
    k = rng.poisson(rate * 10.0)
    subj = np.repeat(np.arange(n_subjects), k)
    times = rng.uniform(0, 10, k.sum()) + 0.01
    if decimals is not None:
        times = np.round(times, decimals)
    order = np.lexsort((times, subj))
    subj, times = subj[order], times[order]
    keep = np.r_[True, (subj[1:] != subj[:-1]) | (times[1:] != times[:-1])]
    subj, times = subj[keep], times[keep]
    ev_df = pd.DataFrame({"id": subj, "stop": times, "event": 1})
    end = pd.DataFrame({"id": np.arange(n_subjects), "stop": 10.02, "event": 0})
    rows = pd.concat([ev_df, end]).sort_values(["id", "stop"], kind="stable").reset_index(drop=True)
    rows["start"] = rows.groupby("id")["stop"].shift(1).fillna(0.0)
    rows = rows.loc[rows["stop"] > rows["start"]].reset_index(drop=True)
    rows["x1"] = x1[rows["id"].to_numpy()]
    rows["x2"] = x2[rows["id"].to_numpy()]
    return rows[["id", "start", "stop", "event", "x1", "x2"]]
