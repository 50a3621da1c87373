"""Paired differences from a reference model, with intervals that respect how the splits were
made.

Every model is scored on the same test subjects of each split, so the comparison is paired:
d_j = score(model, split j) - score(reference, split j). Random subject splits overlap in
their training subjects, so the d_j are correlated and the naive t interval is too narrow.
The **corrected resampled t** of Nadeau & Bengio (2003, Machine Learning 52:239-281) inflates
the variance: with J splits, test share n_test and training share n_train,

    se = sqrt( s_d^2 (1/J + n_test/n_train) ),   t = mean(d) / se,   J - 1 degrees of freedom,

where s_d^2 is the sample variance of the d_j. With one split there is no spread across
splits, so the difference is bootstrapped over test subjects instead: B resamples of the test
subjects (whole subjects, all their rows for recurrent data), both models rescored on each,
the 2.5% and 97.5% percentiles of the differences as the interval.

p-values are adjusted across the models compared with the reference, per metric, by Holm's
step-down method. A model is "better" only when the 95% interval excludes 0 in its favour.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "direction", "corrected_t", "bootstrap_difference", "holm", "verdict_of", "paired_differences",
           "difference_metrics", "METHOD_T", "METHOD_BOOTSTRAP", "BOOTSTRAP_RESAMPLES"]

COLUMNS = ["model", "reference", "metric", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "n_splits",
           "method", "better"]
METHOD_T = "corrected resampled t"
METHOD_BOOTSTRAP = "paired bootstrap over test subjects"
BOOTSTRAP_RESAMPLES = 2000
LEVEL = 0.95
#: metric-name prefixes where lower is better; every other per-split score (C, AUC) is better higher
LOWER_IS_BETTER = ("brier_", "ibs", "mae_margin", "ici_")
#: per-split score columns that take part (AIC, fit time and D-calibration p-values do not)
SCORE_PREFIXES = ("c_", "brier_", "ibs", "mae_margin", "ici_")


def direction(metric: str) -> int:
    """+1 when a higher value of ``metric`` is better, -1 when lower is."""
    return -1 if metric.startswith(LOWER_IS_BETTER) else 1


def difference_metrics(columns: Sequence[str]) -> list[str]:
    """The per-split score columns of a results table, in its order (not AIC, fit time or
    D-calibration p-values)."""
    return [c for c in columns if c.startswith(SCORE_PREFIXES) and not c.endswith("_sd") and not c.startswith("dcal")]


def corrected_t(d: np.ndarray, n_train: float, n_test: float, level: float = LEVEL) -> tuple[float, float, float, float]:
    """(mean difference, lower, upper, two-sided p) of the corrected resampled t (module
    docstring) for J >= 2 per-split differences ``d``."""
    from scipy import stats  # not at package import

    d = np.asarray(d, dtype=np.float64)
    J = len(d)
    if J < 2:
        raise ValueError(f"the corrected t needs at least 2 splits, got {J}")
    estimate = float(d.mean())
    se = float(np.sqrt(d.var(ddof=1) * (1.0 / J + n_test / n_train)))
    if se == 0.0:  # identical differences on every split: no spread to measure
        return estimate, estimate, estimate, (1.0 if estimate == 0.0 else 0.0)
    q = stats.t.ppf(0.5 + level / 2, J - 1)
    p = float(2 * stats.t.sf(abs(estimate / se), J - 1))
    return estimate, estimate - q * se, estimate + q * se, p


def bootstrap_difference(estimate: float, resampled: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """(lower, upper, two-sided p) from the bootstrap differences ``resampled`` (B,): the
    percentile interval, and p = 2 min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1), at most 1
    (the smallest level at which the percentile interval would exclude 0). NaN resamples (a
    metric undefined on that resample) are dropped."""
    r = np.asarray(resampled, dtype=np.float64)
    r = r[np.isfinite(r)]
    if not len(r) or not np.isfinite(estimate):
        return np.nan, np.nan, np.nan
    lo, hi = np.quantile(r, [0.5 - level / 2, 0.5 + level / 2])
    p = min(1.0, 2 * (min((r <= 0).sum(), (r >= 0).sum()) + 1) / (len(r) + 1))
    return float(lo), float(hi), float(p)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def verdict_of(metric: str, low: float, high: float) -> str:
    """"model", "reference" or "neither": which side the 95% interval of model - reference
    favours, given the metric's direction; "neither" when it contains 0 or is undefined."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0.0 <= high:
        return "neither"
    favours_model = (low > 0) == (direction(metric) > 0)
    return "model" if favours_model else "reference"


#: (model name, metrics) -> {metric: (B,) bootstrap differences model - reference} on their one split
Bootstrap = Callable[[str, list[str]], dict[str, np.ndarray]]


def paired_differences(results: pd.DataFrame, reference: str, metrics: Sequence[str], *, n_train: float,
                       n_test: float, bootstrap: Bootstrap | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per (model other than ``reference``, metric) with :data:`COLUMNS`, and notes.

    ``results`` has one row per (model, seed) with the metric columns (and ``error`` where a
    fit failed); differences use the seeds where both ran. ``bootstrap(model, metrics)``
    returns, for their one shared split, {metric: (B,) resampled differences}; it is used
    when exactly one split is shared (the estimate is then that split's difference).
    """
    ok = results[results["error"].isna()] if "error" in results else results
    wide = ok.set_index(["model", "seed"])
    ref = wide.loc[reference] if reference in wide.index.get_level_values(0) else None
    rows, notes = [], []
    models = [m for m in dict.fromkeys(results["model"]) if m != reference]
    for model in models:
        mine = wide.loc[model] if model in wide.index.get_level_values(0) else None
        seeds = [] if mine is None or ref is None else sorted(set(mine.index) & set(ref.index))
        all_seeds = sorted(set(results.loc[results["model"] == model, "seed"]))
        if len(seeds) < len(all_seeds):
            notes.append(f"differences {model} vs {reference}: over the {len(seeds)} of {len(all_seeds)} splits where "
                         "both ran")
        boot = bootstrap(model, list(metrics)) if len(seeds) == 1 and bootstrap is not None else {}
        for metric in metrics:
            row = dict(model=model, reference=reference, metric=metric, estimate=np.nan, ci_low=np.nan, ci_high=np.nan,
                       p_value=np.nan, n_splits=len(seeds), method="")
            if seeds and metric in mine.columns and metric in ref.columns:
                d = (pd.to_numeric(mine.loc[seeds, metric], errors="coerce")
                     - pd.to_numeric(ref.loc[seeds, metric], errors="coerce")).to_numpy(dtype=np.float64)
                d = d[np.isfinite(d)]
                row["n_splits"] = len(d)
                if len(d) >= 2:
                    est, lo, hi, p = corrected_t(d, n_train, n_test)
                    row.update(estimate=est, ci_low=lo, ci_high=hi, p_value=p, method=f"{METHOD_T} ({len(d)} splits)")
                elif len(d) == 1 and metric in boot:
                    resampled = boot[metric]
                    lo, hi, p = bootstrap_difference(float(d[0]), resampled)
                    row.update(estimate=float(d[0]), ci_low=lo, ci_high=hi, p_value=p,
                               method=f"{METHOD_BOOTSTRAP} (B = {len(resampled)}, 1 split)")
                elif len(d) == 1:
                    row.update(estimate=float(d[0]), method="one split, no interval")
            rows.append(row)
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_adjusted", "better")])
    out["p_adjusted"] = np.nan
    for metric, part in out.groupby("metric", sort=False):
        out.loc[part.index, "p_adjusted"] = holm(part["p_value"].to_numpy())
    out["better"] = [verdict_of(m, lo, hi) for m, lo, hi in zip(out["metric"], out["ci_low"], out["ci_high"])]
    return out[COLUMNS].reset_index(drop=True), notes
