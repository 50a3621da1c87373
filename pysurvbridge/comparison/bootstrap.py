"""Every per-split score of one model, recomputed on B resamples of the test subjects (the
paired bootstrap of :mod:`pysurvbridge.comparison.inference`, used when a comparison has one
split).

The scores that are means of per-subject terms with the training data's censoring weights
(the Brier scores, the IBS, the margin MAE) are resampled exactly and at once: a resample's
score is the mean (or ratio of sums) of its subjects' terms. The concordances and the ICI
depend on pairs or on a refit, so they are recomputed on each resample. Resamples draw whole
subjects (all their rows for recurrent data), with replacement; the same draws serve every
model of a split, which is what makes the differences paired.
"""
from __future__ import annotations

import warnings

import numpy as np

from pysurvbridge.comparison.scoring import MultiEventPredictions, SinglePredictions, subject_rows
from pysurvbridge.comparison.splits import MultiSplit, Split

__all__ = ["resampled_single", "resampled_multi_event", "draws_for"]

CHUNK = 250  # resamples per vectorised block of the linear scores (bounds memory at n x CHUNK)


def draws_for(seed: int, n_subjects: int, n_resamples: int) -> np.ndarray:
    """(B, n) subject positions, with replacement, from ``default_rng(seed)``."""
    return np.random.default_rng(seed).integers(0, n_subjects, size=(n_resamples, n_subjects))


def _resampled_means(terms: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """(B, ...) the mean over each resample's subjects of per-subject ``terms`` (n, ...)."""
    return np.concatenate([terms[draws[i:i + CHUNK]].mean(axis=1) for i in range(0, len(draws), CHUNK)])


def _each(draws: np.ndarray, fn) -> np.ndarray:
    """fn(subjects) on every resample, NaN where the score is undefined on it (e.g. no
    comparable pair, or no event)."""
    out = np.full(len(draws), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b, subjects in enumerate(draws):
            try:
                out[b] = fn(subjects)
            except (ValueError, ArithmeticError):  # a score undefined on this resample
                continue
    return out


def resampled_single(pred: SinglePredictions, split: Split, draws: np.ndarray) -> dict[str, np.ndarray]:
    """{column: (B,)} the single-event / recurrent scores of ``pred`` on each resample."""
    from pysurvbridge import metrics
    from pysurvbridge.classical.calibration import complementary_log_log, observed_at_time

    tr, te = split.train_first, split.test_first
    kw = dict(train_time=tr.time, train_event=tr.event)
    out: dict[str, np.ndarray] = {}
    out["c_harrell"] = _each(draws, lambda s: metrics.concordance_harrell(pred.risk[s], te.time[s], te.event[s]))
    tau = float(np.quantile(tr.time[tr.event == 1], 0.9))
    out["c_uno"] = _each(draws, lambda s: metrics.concordance_uno(pred.risk[s], te.time[s], te.event[s], tau=tau, **kw))
    if pred.row_risk is not None:
        groups = subject_rows(split)
        f = split.test.frame
        start, stop, event = (f[c].to_numpy() for c in ("start", "stop", "event"))

        def intervals(s):
            rows = np.concatenate([groups[i] for i in s])
            return metrics.concordance_recurrent(pred.row_risk[rows], start[rows], stop[rows], event[rows])
        out["c_intervals"] = _each(draws, intervals)
    if pred.survival is not None:
        terms = metrics.brier_terms(pred.survival, split.times, te.time, te.event, **kw)
        brier = _resampled_means(terms, draws)
        out.update({f"brier_{t:g}": brier[:, j] for j, t in enumerate(split.times)})
        if pred.ibs_survival is not None:
            grid = pred.ibs_grid
            ibs_terms = metrics.brier_terms(pred.ibs_survival, grid, te.time, te.event, **kw)
            per_subject = np.trapezoid(ibs_terms, grid, axis=1) / (grid[-1] - grid[0])
            out["ibs"] = _resampled_means(per_subject, draws)
        for j, t in enumerate(split.times):
            cll, predicted = complementary_log_log(pred.survival[:, j]), 1.0 - pred.survival[:, j]

            def ici(s, cll=cll, predicted=predicted, t=t):
                observed = observed_at_time(cll[s], te.time[s], te.event[s], t)
                return np.nan if observed is None else float(np.abs(predicted[s] - observed).mean())
            out[f"ici_{t:g}"] = _each(draws, ici)
    return out


def resampled_multi_event(pred: MultiEventPredictions, split: MultiSplit, draws: np.ndarray) -> dict[str, np.ndarray]:
    """{column: (B,)} the multi-event scores (all but D-calibration) on each resample."""
    from pysurvbridge import metrics

    tr, te = split.train, split.test
    names = list(te.event_names)
    K = len(names)
    out: dict[str, np.ndarray] = {}
    per_event = np.full((len(draws), K), np.nan)
    c_global = np.full(len(draws), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b, s in enumerate(draws):
            try:
                c_global[b], per_event[b] = metrics.concordance_global(pred.risk[s], te.times[s], te.events[s],
                                                                       return_per_event=True)
            except (ValueError, ArithmeticError):
                continue
    out["c_global"] = c_global
    if K > 1:
        out["c_local"] = _each(draws, lambda s: metrics.concordance_local(pred.risk[s], te.times[s], te.events[s]))
    ibs, mae = [], []
    for k, name in enumerate(names):
        t_k, e_k = te.times[:, k], te.events[:, k]
        kw = dict(train_time=tr.times[:, k], train_event=tr.events[:, k])
        out[f"c_harrell_{name}"] = per_event[:, k]
        grid = pred.ibs_grids[k]
        terms = metrics.brier_terms(pred.ibs_survival[k], grid, t_k, e_k, **kw)
        out[f"ibs_{name}"] = _resampled_means(np.trapezoid(terms, grid, axis=1) / (grid[-1] - grid[0]), draws)
        error, weight = metrics.mae_margin_terms(pred.median[:, k], t_k, e_k, **kw)
        out[f"mae_margin_{name}"] = _resampled_means(error, draws) / _resampled_means(weight, draws)
        ibs.append(out[f"ibs_{name}"])
        mae.append(out[f"mae_margin_{name}"])
    out["ibs"], out["mae_margin"] = np.mean(ibs, axis=0), np.mean(mae, axis=0)
    return out
