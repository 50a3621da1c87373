"""The table's columns, as plain functions of (what a model predicted, the split): one scorer
for single-event and recurrent data, one for multi-event data, and the definitions the
reports print beside the numbers.

Single-event and recurrent data (:func:`score_single`):

- ``c_harrell``: Harrell's C of each test subject's risk on time to first event (for
  recurrent data: the risk at the subject's first interval; "cox" is the Cox model of time to
  first event, as a naive analyst would fit it).
- ``c_intervals`` (recurrent data): the counting-process C of each test interval's risk on
  Surv(start, stop, event), survival::concordance's definition; NaN for models without a
  per-interval risk.
- ``c_uno``: Uno's C on time to first event with the training data's censoring distribution.
- ``brier_<t>`` and ``ibs``: IPCW Brier score of P(no event by t) on time to first event
  (censoring weights from the training subjects; ``ibs`` over 20 times from the 5% to the 80%
  quantile of the training first-event times).
- ``ici_<t>``: the integrated calibration index at each Brier time (Austin, Harrell & van
  Klaveren 2020; :mod:`pysurvbridge.classical.calibration`), on time to first event.
- ``aic`` with ``aic_counts`` (from the run, not scored here): on the training fit; the
  likelihood differs between models, so never comparable across them.

Multi-event data (:func:`score_multi_event`, MENSA's appendix B):

- ``c_harrell_<event>``: Harrell's C of minus the predicted median time of that event.
- ``c_global``: the mean of the per-event C (eq. 10); ``c_local``: the within-subject C over
  event types (eq. 11), both on predicted median times.
- ``ibs_<event>``: integrated IPCW Brier score over 50 equally spaced times up to the 90%
  quantile of that event's training times, censoring weights from that event's *own*
  training times; ``ibs``: the mean over events.
- ``mae_margin_<event>``: MAE of the predicted median against the observed time, censored
  subjects at their margin time from that event's own training Kaplan-Meier; ``mae_margin``:
  the mean over events.
- ``dcal_p_<event>``: D-calibration p-value (10 bins); ``dcal``: the count of (seed, event)
  pairs with p > 0.05, as the paper's "17/20".
- Medians come from every model's curves on one grid (200 points to the largest training
  time) by :func:`pysurvbridge.metrics.median_time` (linear between points, linear tail).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pysurvbridge.comparison.spec import ModelRun, MultiRun
from pysurvbridge.comparison.splits import MultiSplit, Split
from pysurvbridge.data.events import SurvivalData

__all__ = ["score_single", "score_multi_event", "evaluate_single", "evaluate_multi_event", "default_times",
           "SinglePredictions", "MultiEventPredictions", "score_single_predictions", "score_multi_event_predictions",
           "subject_rows", "SINGLE_METRICS", "SINGLE_DEFINITIONS",
           "MULTI_EVENT_DEFINITIONS", "MEDIAN_GRID_POINTS", "IBS_POINTS"]

#: the metric names of ``compare(metrics=...)`` for single-event and recurrent data
SINGLE_METRICS = ("c_harrell", "c_intervals", "c_uno", "brier", "ibs", "ici", "aic")
MEDIAN_GRID_POINTS = 200
IBS_POINTS = 50
PLOT_POINTS = 100  # the multi-event report's P(event by t) curves

SINGLE_DEFINITIONS = {
    "c_harrell": "Harrell's C of each test subject's first-interval risk on time to first event",
    "c_intervals": "counting-process C of each test interval's risk on Surv(start, stop, event) "
                   "(survival::concordance)",
    "c_uno": "Uno's C on time to first event, censoring weights from the training subjects, tau = 90% "
             "quantile of training event times",
    "brier_<t>": "IPCW Brier score of P(no event by t) on time to first event (training censoring KM)",
    "ibs": "integrated IPCW Brier score over 20 times, 5% to 80% quantiles of training first-event times",
    "ici_<t>": "integrated calibration index at t (Austin, Harrell & van Klaveren 2020): mean |predicted - observed| "
               "P(event by t) on the test subjects, observed from a Cox model of the outcome on rcs(cloglog(predicted), 3)",
    "aic": "training fit: -2 log partial likelihood + 2k (k in aic_counts); not comparable across models",
}

MULTI_EVENT_DEFINITIONS = {
    "c_harrell_<event>": "Harrell's C of minus the predicted median time of the event",
    "c_global": "mean over events of the per-event Harrell's C (MENSA eq. 10)",
    "c_local": "within-subject C over event types on predicted medians (MENSA eq. 11)",
    "ibs_<event>, ibs": f"integrated IPCW Brier score, {IBS_POINTS} times up to the 90% quantile of the event's "
                        "training times, the event's own training censoring; ibs = mean over events",
    "mae_margin_<event>, mae_margin": "MAE of the predicted median, censored subjects at their margin time "
                                      "(the event's own training Kaplan-Meier); mean over events",
    "dcal_p_<event>, dcal": "D-calibration p-value (10 bins); dcal = (seed, event) pairs with p > 0.05",
    "median": f"from each model's curves on {MEDIAN_GRID_POINTS} times to the largest training time, linear "
              "between points, linear tail through (0, 1) (metrics.median_time)",
}


def default_times(first: SurvivalData) -> np.ndarray:
    """The Brier times: quartiles of the first-event times with events (6 decimals)."""
    t = first.time[first.event == 1]
    return np.unique(np.round(np.quantile(t, [0.25, 0.5, 0.75]), 6))


# ---------------------------------------------------------------------- single-event and recurrent
@dataclass(eq=False)
class SinglePredictions:
    """What scoring reads of one run, per test subject (order of ``split.test_first``):
    ``risk`` (m,), ``row_risk`` (rows of ``split.test``) or None, ``survival`` (m, len(times))
    or None, ``ibs_survival`` (m, len(ibs_grid)) or None on ``ibs_grid``; and what the report
    draws: the mean predicted curve on ``plot_grid`` and a classical fit's hazard ratios. Kept
    with each cell, so a comparison can be rescored on resampled subjects (the paired
    bootstrap), stored, and sent between processes without the fitted model."""

    risk: np.ndarray
    row_risk: np.ndarray | None
    survival: np.ndarray | None
    ibs_grid: np.ndarray
    ibs_survival: np.ndarray | None
    plot_grid: np.ndarray | None = None  # the report's survival plot: times ...
    plot_mean: np.ndarray | None = None  # ... and the mean predicted S(t) over the test subjects there
    hazard_ratios: pd.DataFrame | None = None  # classical fits: coef and robust_se by covariate
    plot_band: np.ndarray | None = None  # classical fits: (3, len(plot_grid)) S, lower, upper (95%) of
    #                                      the average test subject, survfit(fit, newdata)'s curve and band


def ibs_grid_single(split: Split) -> np.ndarray:
    """20 times from the 5% to the 80% quantile of the training first-event times, below the
    largest test time."""
    tr, te = split.train_first, split.test_first
    grid = np.unique(np.quantile(tr.time, np.linspace(0.05, 0.8, 20)))
    return grid[grid < te.time.max()]


def single_predictions(run: ModelRun, split: Split, plot_grid: np.ndarray | None = None) -> SinglePredictions:
    grid = ibs_grid_single(split)
    ibs_survival = None
    if run.survival is not None and run.survival_fn is not None and len(grid) >= 2:
        ibs_survival = np.asarray(run.survival_fn(grid), dtype=np.float64)
    row_risk = run.row_risk if split.recurrent and run.row_risk is not None else None
    plot_mean = None
    if plot_grid is not None and run.survival_fn is not None:
        try:
            plot_mean = np.asarray(run.survival_fn(plot_grid), dtype=np.float64).mean(axis=0)
        except Exception:  # a model that cannot predict on the plot's grid is left out of the plot
            plot_mean = None
    fitted = run.fitted
    hazard_ratios = (pd.DataFrame({"coef": np.asarray(fitted.coef, dtype=np.float64),
                                   "robust_se": np.asarray(fitted.robust_se, dtype=np.float64)},
                                  index=pd.Index(list(fitted.covariates), name="covariate"))
                     if hasattr(fitted, "robust_se") and hasattr(fitted, "covariates") else None)
    plot_band = _typical_band(fitted, split, plot_grid) if hazard_ratios is not None else None
    return SinglePredictions(np.asarray(run.subject_risk, dtype=np.float64),
                             None if row_risk is None else np.asarray(row_risk, dtype=np.float64),
                             None if run.survival is None else np.asarray(run.survival, dtype=np.float64),
                             grid, ibs_survival, plot_grid, plot_mean, hazard_ratios, plot_band)


def _typical_band(fitted: Any, split: Split, plot_grid: np.ndarray | None) -> np.ndarray | None:
    """A classical fit's predicted survival for the test subjects' mean covariates (first
    rows), with its 95% band (log scale, robust variance: survfit's), on ``plot_grid``."""
    if plot_grid is None or not hasattr(fitted, "predict_survival"):
        return None
    te = split.test_first
    typical = pd.DataFrame([np.asarray(te.X, dtype=np.float64).mean(axis=0)], columns=list(te.covariates))
    try:
        band = fitted.predict_survival(typical, plot_grid, conf_level=0.95)
    except Exception:  # a fit that cannot give a band (e.g. a stratified one) is left out of the plot
        return None
    return np.vstack([band.survival.to_numpy()[0], band.lower.to_numpy()[0], band.upper.to_numpy()[0]])


def subject_rows(split: Split) -> list[np.ndarray] | None:
    """For recurrent data, the rows of ``split.test`` of each test subject (order of
    ``split.test_first``); None for single-event data."""
    if not split.recurrent:
        return None
    ids = split.test.frame["id"].to_numpy()
    position = {v: i for i, v in enumerate(split.test_first.ids)}
    groups: list[list[int]] = [[] for _ in position]
    for row, v in enumerate(ids):
        groups[position[v]].append(row)
    return [np.asarray(g, dtype=np.int64) for g in groups]


def score_single(run: ModelRun, split: Split) -> dict[str, float]:
    """The single-event / recurrent columns of one (model, seed) (module docstring)."""
    return evaluate_single(run, split)[0]


def evaluate_single(run: ModelRun, split: Split, plot_grid: np.ndarray | None = None
                    ) -> tuple[dict[str, float], SinglePredictions]:
    """(the columns, the stored predictions) of one (model, seed); ``plot_grid``: the times of
    the report's survival plot."""
    pred = single_predictions(run, split, plot_grid)
    return score_single_predictions(pred, split), pred


def score_single_predictions(pred: SinglePredictions, split: Split, subjects: np.ndarray | None = None,
                             groups: list[np.ndarray] | None = None, *, calibration: bool = True) -> dict[str, float]:
    """The columns from stored predictions, on all test subjects or on ``subjects`` (positions
    in ``split.test_first``, repeats allowed: a bootstrap resample; ``groups`` from
    :func:`subject_rows` then gives their rows). Without ``calibration`` the ICI columns are
    left out."""
    from pysurvbridge import metrics  # imports torch (some metrics take tensors): not at package import

    tr, te = split.train_first, split.test_first
    take = (lambda a: a) if subjects is None else (lambda a: a[subjects])
    time, event = take(te.time), take(te.event)
    out: dict[str, float] = {}
    out["c_harrell"] = metrics.concordance_harrell(take(pred.risk), time, event)
    tau = float(np.quantile(tr.time[tr.event == 1], 0.9))
    out["c_uno"] = metrics.concordance_uno(take(pred.risk), time, event, train_time=tr.time,
                                           train_event=tr.event, tau=tau)
    if pred.row_risk is not None:
        f = split.test.frame
        rows = slice(None) if subjects is None else np.concatenate([groups[i] for i in subjects])
        out["c_intervals"] = metrics.concordance_recurrent(pred.row_risk[rows], f["start"].to_numpy()[rows],
                                                           f["stop"].to_numpy()[rows], f["event"].to_numpy()[rows])
    else:
        out["c_intervals"] = float("nan")
    kw = dict(train_time=tr.time, train_event=tr.event)
    if pred.survival is not None:
        surv = take(pred.survival)
        bs = metrics.brier_score(surv, split.times, time, event, **kw)
        out.update({f"brier_{t:g}": float(b) for t, b in zip(split.times, bs)})
        if pred.ibs_survival is not None:
            out["ibs"] = metrics.integrated_brier_score(take(pred.ibs_survival), pred.ibs_grid, time, event, **kw)
        if calibration:
            from pysurvbridge.classical.calibration import calibration_at_time

            out.update({f"ici_{t:g}": calibration_at_time(surv[:, j], time, event, t).ici
                        for j, t in enumerate(split.times)})
    return out


# ---------------------------------------------------------------------- multi-event
@dataclass(eq=False)
class MultiEventPredictions:
    """What scoring reads of one multi-event run, per test subject: ``risk`` and ``median``
    (n, K), and per event its IBS grid and the survival there (n, len(grid)); and what the
    report draws, each event's mean predicted curve on its plot grid."""

    risk: np.ndarray
    median: np.ndarray
    ibs_grids: list[np.ndarray]
    ibs_survival: list[np.ndarray]
    plot_grids: list[np.ndarray] | None = None  # the report's P(event by t) plot: each event's times ...
    plot_mean: list[np.ndarray] | None = None  # ... and the mean predicted S_k(t) over the test subjects


def _risk_from_median(median: np.ndarray) -> np.ndarray:
    """Minus the median (higher = earlier); a median of +inf ranks last (finite stand-in)."""
    return np.where(np.isinf(median), -np.finfo(np.float64).max, -median)


def multi_event_predictions(run: MultiRun, split: MultiSplit) -> MultiEventPredictions:
    from pysurvbridge import metrics

    tr, te = split.train, split.test
    K = te.n_event_types
    grid = np.linspace(0.0, float(tr.times.max()), MEDIAN_GRID_POINTS + 1)[1:]
    S_grid = run.survival_fn(grid)
    median = np.column_stack([metrics.median_time(S_grid[:, k], grid) for k in range(K)])
    risk = run.risk if run.risk is not None else _risk_from_median(median)
    grids, surv, plot_grids, plot_mean = [], [], [], []
    for k in range(K):
        horizon = min(float(np.quantile(tr.times[:, k], 0.9)), float(te.times[:, k].max()))
        ibs_grid = np.linspace(horizon / IBS_POINTS, horizon, IBS_POINTS)
        grids.append(ibs_grid)
        surv.append(np.asarray(run.survival_fn(ibs_grid)[:, k], dtype=np.float64))
        plot_grid = np.linspace(0.0, float(np.quantile(te.times[:, k], 0.95)), PLOT_POINTS)
        plot_grids.append(plot_grid)
        plot_mean.append(np.asarray(run.survival_fn(plot_grid)[:, k], dtype=np.float64).mean(axis=0))
    return MultiEventPredictions(np.asarray(risk, dtype=np.float64), median, grids, surv, plot_grids, plot_mean)


def score_multi_event(run: MultiRun, split: MultiSplit) -> dict[str, float]:
    """The multi-event columns of one (model, seed) (module docstring)."""
    return evaluate_multi_event(run, split)[0]


def evaluate_multi_event(run: MultiRun, split: MultiSplit) -> tuple[dict[str, float], MultiEventPredictions]:
    """(the columns, the stored predictions) of one (model, seed)."""
    from pysurvbridge import metrics

    pred = multi_event_predictions(run, split)
    out = score_multi_event_predictions(pred, split)
    te = split.test
    for k, name in enumerate(te.event_names):
        t_k, e_k = te.times[:, k], te.events[:, k]
        own, position = np.unique(t_k, return_inverse=True)
        s_own = run.survival_fn(own)[np.arange(len(t_k)), k, position]
        out[f"dcal_p_{name}"] = metrics.d_calibration(np.clip(s_own, 0.0, 1.0), e_k).p_value
    return _in_column_order(out, te.event_names), pred


def _in_column_order(out: dict[str, float], names) -> dict[str, float]:
    """c_global, c_local, then each event's c_harrell, ibs, mae_margin, dcal_p, then ibs and
    mae_margin (the order the results table has always had)."""
    keys = ["c_global", "c_local"]
    for name in names:
        keys += [f"c_harrell_{name}", f"ibs_{name}", f"mae_margin_{name}", f"dcal_p_{name}"]
    keys += ["ibs", "mae_margin"]
    return {k: out[k] for k in keys if k in out}


def score_multi_event_predictions(pred: MultiEventPredictions, split: MultiSplit,
                                  subjects: np.ndarray | None = None) -> dict[str, float]:
    """The multi-event columns but D-calibration from stored predictions, on all test subjects
    or on ``subjects`` (positions, repeats allowed: a bootstrap resample)."""
    from pysurvbridge import metrics

    tr, te = split.train, split.test
    take = (lambda a: a) if subjects is None else (lambda a: a[subjects])
    times, events, risk = take(te.times), take(te.events), take(pred.risk)
    K = te.n_event_types
    out: dict[str, float] = {}
    c_global, per_event = metrics.concordance_global(risk, times, events, return_per_event=True)
    out["c_global"] = c_global
    out["c_local"] = metrics.concordance_local(risk, times, events) if K > 1 else float("nan")
    ibs, mae = [], []
    for k, name in enumerate(te.event_names):
        t_k, e_k = times[:, k], events[:, k]
        kw = dict(train_time=tr.times[:, k], train_event=tr.events[:, k])
        out[f"c_harrell_{name}"] = float(per_event[k])
        out[f"ibs_{name}"] = metrics.integrated_brier_score(take(pred.ibs_survival[k]), pred.ibs_grids[k], t_k, e_k,
                                                            **kw)
        out[f"mae_margin_{name}"] = metrics.mae_margin(take(pred.median)[:, k], t_k, e_k, **kw)
        ibs.append(out[f"ibs_{name}"])
        mae.append(out[f"mae_margin_{name}"])
    out["ibs"], out["mae_margin"] = float(np.mean(ibs)), float(np.mean(mae))
    return out
