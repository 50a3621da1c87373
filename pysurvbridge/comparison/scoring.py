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

import numpy as np

from pysurvbridge.comparison.spec import ModelRun, MultiRun
from pysurvbridge.comparison.splits import MultiSplit, Split
from pysurvbridge.data.events import SurvivalData

__all__ = ["score_single", "score_multi_event", "default_times", "SINGLE_METRICS", "SINGLE_DEFINITIONS",
           "MULTI_EVENT_DEFINITIONS", "MEDIAN_GRID_POINTS", "IBS_POINTS"]

#: the metric names of ``compare(metrics=...)`` for single-event and recurrent data
SINGLE_METRICS = ("c_harrell", "c_intervals", "c_uno", "brier", "ibs", "aic")
MEDIAN_GRID_POINTS = 200
IBS_POINTS = 50

SINGLE_DEFINITIONS = {
    "c_harrell": "Harrell's C of each test subject's first-interval risk on time to first event",
    "c_intervals": "counting-process C of each test interval's risk on Surv(start, stop, event) "
                   "(survival::concordance)",
    "c_uno": "Uno's C on time to first event, censoring weights from the training subjects, tau = 90% "
             "quantile of training event times",
    "brier_<t>": "IPCW Brier score of P(no event by t) on time to first event (training censoring KM)",
    "ibs": "integrated IPCW Brier score over 20 times, 5% to 80% quantiles of training first-event times",
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


def score_single(run: ModelRun, split: Split) -> dict[str, float]:
    """The single-event / recurrent columns of one (model, seed) (module docstring)."""
    from pysurvbridge import metrics  # imports torch (some metrics take tensors): not at package import

    tr, te = split.train_first, split.test_first
    out: dict[str, float] = {}
    out["c_harrell"] = metrics.concordance_harrell(run.subject_risk, te.time, te.event)
    tau = float(np.quantile(tr.time[tr.event == 1], 0.9))
    out["c_uno"] = metrics.concordance_uno(run.subject_risk, te.time, te.event, train_time=tr.time,
                                           train_event=tr.event, tau=tau)
    if split.recurrent and run.row_risk is not None:
        f = split.test.frame
        out["c_intervals"] = metrics.concordance_recurrent(run.row_risk, f["start"], f["stop"], f["event"])
    else:
        out["c_intervals"] = float("nan")
    kw = dict(train_time=tr.time, train_event=tr.event)
    if run.survival is not None:
        bs = metrics.brier_score(run.survival, split.times, te.time, te.event, **kw)
        out.update({f"brier_{t:g}": float(b) for t, b in zip(split.times, bs)})
        grid = np.unique(np.quantile(tr.time, np.linspace(0.05, 0.8, 20)))
        grid = grid[grid < te.time.max()]
        if run.survival_fn is not None and len(grid) >= 2:
            out["ibs"] = metrics.integrated_brier_score(run.survival_fn(grid), grid, te.time, te.event, **kw)
    return out


def _risk_from_median(median: np.ndarray) -> np.ndarray:
    """Minus the median (higher = earlier); a median of +inf ranks last (finite stand-in)."""
    return np.where(np.isinf(median), -np.finfo(np.float64).max, -median)


def score_multi_event(run: MultiRun, split: MultiSplit) -> dict[str, float]:
    """The multi-event columns of one (model, seed) (module docstring)."""
    from pysurvbridge import metrics

    tr, te = split.train, split.test
    names = te.event_names
    K = te.n_event_types
    grid = np.linspace(0.0, float(tr.times.max()), MEDIAN_GRID_POINTS + 1)[1:]
    S_grid = run.survival_fn(grid)
    median = np.column_stack([metrics.median_time(S_grid[:, k], grid) for k in range(K)])
    risk = run.risk if run.risk is not None else _risk_from_median(median)
    out: dict[str, float] = {}
    c_global, per_event = metrics.concordance_global(risk, te.times, te.events, return_per_event=True)
    out["c_global"] = c_global
    out["c_local"] = metrics.concordance_local(risk, te.times, te.events) if K > 1 else float("nan")
    ibs, mae = [], []
    for k, name in enumerate(names):
        t_k, e_k = te.times[:, k], te.events[:, k]
        kw = dict(train_time=tr.times[:, k], train_event=tr.events[:, k])
        out[f"c_harrell_{name}"] = float(per_event[k])
        horizon = min(float(np.quantile(tr.times[:, k], 0.9)), float(t_k.max()))
        ibs_grid = np.linspace(horizon / IBS_POINTS, horizon, IBS_POINTS)
        out[f"ibs_{name}"] = metrics.integrated_brier_score(run.survival_fn(ibs_grid)[:, k], ibs_grid, t_k, e_k, **kw)
        out[f"mae_margin_{name}"] = metrics.mae_margin(median[:, k], t_k, e_k, **kw)
        own, position = np.unique(t_k, return_inverse=True)
        s_own = run.survival_fn(own)[np.arange(len(t_k)), k, position]
        out[f"dcal_p_{name}"] = metrics.d_calibration(np.clip(s_own, 0.0, 1.0), e_k).p_value
        ibs.append(out[f"ibs_{name}"])
        mae.append(out[f"mae_margin_{name}"])
    out["ibs"], out["mae_margin"] = float(np.mean(ibs)), float(np.mean(mae))
    return out
