"""Calibration of predicted survival at one time: the smooth calibration curve and the
integrated calibration index (ICI) of Austin, Harrell & van Klaveren (2020), "Graphical
calibration curves and the integrated calibration index (ICI) for survival models", Stat Med
39:2714-2742.

At time t0, each subject's predicted probability of the event by t0 is P = 1 - S(t0 | x). A
Cox model of the observed outcome on a restricted cubic spline of cll = log(-log(1 - P)) with
three knots (Harrell's ``rcs(cll, 3)``) is fitted to the same subjects; its predicted
1 - S_cal(t0 | P) is the observed probability that matches P. Then ICI = mean ``|P - P_obs|``,
E50 = its median, E90 = its 90th percentile. The calibration model uses Breslow ties and the
Breslow baseline (R: ``rms::cph(Surv(time, event) ~ rcs(cll, 3), method = "breslow")`` then
``survest(fit, times = t0)``), which tests/classical/test_calibration.py reproduces.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from pysurvbridge.errors import InvalidParameterError

__all__ = ["CalibrationAtTime", "calibration_at_time", "observed_at_time", "complementary_log_log", "rcs_knots",
           "rcs_basis"]


@dataclass(frozen=True)
class CalibrationAtTime:
    """``ici``, ``e50``, ``e90`` (probabilities); ``predicted`` and ``observed`` (n,) P(event by
    t0), the calibration curve evaluated at each subject; ``time`` t0."""

    time: float
    ici: float
    e50: float
    e90: float
    predicted: np.ndarray
    observed: np.ndarray


def rcs_knots(x: np.ndarray, n_knots: int = 3) -> np.ndarray:
    """Harrell's default knots (Hmisc::rcspline.eval): for 3 knots the 10%, 50% and 90%
    quantiles (R's type 7); with fewer than 100 values the outer knots are the 5th smallest
    and 5th largest values instead."""
    if n_knots != 3:
        raise InvalidParameterError(f"only 3 knots are implemented (Austin et al.'s choice), not {n_knots}")
    xs = np.sort(np.asarray(x, dtype=np.float64))
    knots = np.quantile(xs, [0.10, 0.50, 0.90])
    if len(xs) < 100:
        knots[0], knots[-1] = xs[4], xs[len(xs) - 5]
    return knots


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """(n, k - 1) restricted cubic spline basis: x, then the k - 2 nonlinear terms, each
    scaled by (t_k - t_1)^2 (Hmisc::rcspline.eval with inclx = TRUE, norm = 2)."""
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(knots, dtype=np.float64)
    k = len(t)
    cube = lambda v: np.maximum(v, 0.0) ** 3  # noqa: E731
    cols = [x]
    for j in range(k - 2):
        term = (cube(x - t[j]) - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
                + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2]))
        cols.append(term / (t[k - 1] - t[0]) ** 2)
    return np.column_stack(cols)


def calibration_at_time(survival_at_t: np.ndarray, time: np.ndarray, event: np.ndarray, t0: float
                        ) -> CalibrationAtTime:
    """The calibration of predicted S(t0 | x) (``survival_at_t``, (n,)) against the observed
    (time, event) of the same subjects (module docstring). NaN figures when the predictions
    cannot be calibrated: fewer than 10 subjects, no event, or predictions too close to one
    another for three distinct knots."""
    from pysurvbridge.errors import SurvBridgeWarning

    s = np.asarray(survival_at_t, dtype=np.float64)
    time, event = np.asarray(time, dtype=np.float64), np.asarray(event)
    if s.shape != time.shape:
        raise InvalidParameterError(f"survival_at_t has shape {s.shape}, time {time.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurvBridgeWarning)  # a flat curve may not converge: its ICI still stands
        observed = observed_at_time(complementary_log_log(s), time, event, t0)
    predicted = 1.0 - s
    if observed is None:
        return CalibrationAtTime(float(t0), np.nan, np.nan, np.nan, predicted, np.full_like(predicted, np.nan))
    gap = np.abs(predicted - observed)
    return CalibrationAtTime(float(t0), float(gap.mean()), float(np.median(gap)), float(np.quantile(gap, 0.9)),
                             predicted, observed)


def complementary_log_log(survival: np.ndarray) -> np.ndarray:
    """cll = log(-log S) = log(-log(1 - P)), S kept inside (1e-12, 1 - 1e-12)."""
    eps = 1e-12
    return np.log(-np.log(np.clip(survival, eps, 1.0 - eps)))


def observed_at_time(cll: np.ndarray, time: np.ndarray, event: np.ndarray, t0: float) -> np.ndarray | None:
    """(n,) the calibration curve's P(event by t0) at each subject's ``cll`` (a Breslow Cox
    model of (time, event) on rcs(cll, 3)); None when it cannot be fitted (fewer than 10
    subjects, no event, fewer than three distinct knots). Warnings of the fit pass through:
    the bootstrap silences them once for all resamples."""
    from pysurvbridge.classical.native import fit_point
    from pysurvbridge.classical.results import linear_predictor

    if len(cll) < 10 or not np.any(event):
        return None
    knots = rcs_knots(cll)
    if np.unique(np.round(knots, 12)).size < 3:
        return None
    basis = rcs_basis(cll, knots)
    beta, times, cumhaz = fit_point(basis, time, event, ties="breslow")
    h0 = np.concatenate([[0.0], cumhaz])[np.searchsorted(times, float(t0), side="right")]
    return 1.0 - np.exp(-h0 * np.exp(linear_predictor(basis, beta)))
