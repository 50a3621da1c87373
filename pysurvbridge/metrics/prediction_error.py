"""Errors of predicted times and curves: MAE with margin times, and Survival-l1 to known truth."""
from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics._inputs import as_vector, increasing_times, same_length, survival_arrays, survival_matrix


def margin_time(censor_time, train_time, train_event, *,
                km_curve: Literal["linear", "step"] = "linear") -> tuple[np.ndarray, np.ndarray]:
    """Best guess of the event time of subjects censored at c, and its confidence weight.

    margin(c) = c + (integral from c to infinity of S_KM(u) du) / S_KM(c) (Haider et al. 2020,
    section 4.3), S_KM the Kaplan-Meier of the training data; weight 1 - S_KM(c). Past the
    last training time the curve follows the line from (0, 1) through the last point down to
    0. ``km_curve="linear"`` joins the KM points by straight lines for the integral (the
    paper's and SurvivalEVAL's reading); ``"step"`` integrates the step function itself.
    S_KM(c) in the denominator and in the weight is the step value. Returns (margin, weight).
    """
    if km_curve not in ("linear", "step"):
        raise InvalidParameterError(f"km_curve must be 'linear' or 'step', but was {km_curve!r}")
    c = as_vector(censor_time, "censor_time")
    t, e = survival_arrays(train_time, train_event, "train_")
    knots, inverse = np.unique(t, return_inverse=True)
    d = np.bincount(inverse, weights=e, minlength=len(knots))
    total = np.bincount(inverse, minlength=len(knots))
    at_risk = len(t) - (np.cumsum(total) - total)
    surv = np.cumprod(1.0 - d / at_risk)
    if knots[0] > 0:
        knots, surv = np.concatenate([[0.0], knots]), np.concatenate([[1.0], surv])
    t_last, s_last = knots[-1], surv[-1]
    zero = t_last / (1.0 - s_last) if s_last < 1 else np.inf
    if s_last > 0 and np.isfinite(zero):
        knots, surv = np.concatenate([knots, [zero]]), np.concatenate([surv, [0.0]])
    widths = np.diff(knots)
    pieces = widths * (surv[:-1] + surv[1:]) / 2 if km_curve == "linear" else widths * surv[:-1]
    if s_last > 0:  # the tail segment is a straight line in both readings
        pieces[-1] = widths[-1] * surv[-2] / 2
    area_after = np.concatenate([np.cumsum(pieces[::-1])[::-1], [0.0]])  # area from knot k on
    # step value at c (right-continuous), straight line past the last training time
    k = np.clip(np.searchsorted(knots, c, side="right") - 1, 0, len(knots) - 1)
    s_c = surv[k]
    tail = c > t_last
    s_c = np.where(tail, np.maximum(1.0 - c * (1.0 - s_last) / t_last, 0.0), s_c)
    nxt = np.minimum(k + 1, len(knots) - 1)
    to_next = np.maximum(knots[nxt] - c, 0.0)
    first = to_next * (s_c + surv[nxt]) / 2 if km_curve == "linear" else to_next * s_c
    first = np.where(tail, to_next * s_c / 2, first)
    area = first + np.where(nxt > k, area_after[nxt], 0.0)
    guess = c + area / np.maximum(s_c, 1e-10)
    guess = np.where(c > zero, c, guess)
    return guess, 1.0 - s_c


def mae_margin(predicted_time, time, event, *, train_time, train_event,
               km_curve: Literal["linear", "step"] = "linear") -> float:
    """Mean absolute error of predicted event times with margin times for the censored.

    ``MAE = [sum over events |T_i - pred_i| + sum over censored w_i |margin(c_i) - pred_i|]
    / [n_events + sum w_i]``
    (the L1-margin loss of Haider et al. 2020; :func:`margin_time` gives margin and w from
    the training Kaplan-Meier). ``predicted_time`` (n,) in the unit of ``time``, for example
    the median of each predicted curve.
    """
    error, weight = mae_margin_terms(predicted_time, time, event, train_time=train_time, train_event=train_event,
                                     km_curve=km_curve)
    return float(np.sum(error) / np.sum(weight))


def mae_margin_terms(predicted_time, time, event, *, train_time, train_event,
                     km_curve: Literal["linear", "step"] = "linear") -> tuple[np.ndarray, np.ndarray]:
    """(``w_i |target_i - pred_i|``, ``w_i``), each (n,): :func:`mae_margin` is the ratio of their
    sums. The margin times come from the training data, so a subject's terms do not depend on
    the others (the ratio over any resample is that resample's MAE)."""
    t, e = survival_arrays(time, event)
    pred = as_vector(predicted_time, "predicted_time")
    same_length("predicted_time", pred, len(t))
    target, weight = t.copy(), np.ones(len(t))
    censored = e == 0
    target[censored], weight[censored] = margin_time(t[censored], train_time, train_event, km_curve=km_curve)
    return weight * np.abs(target - pred), weight


def survival_l1(survival, true_survival, times) -> float:
    """Mean L1 distance between predicted and true curves, scaled by the last time.

    (1 / (n t_m)) sum_i sum_k (t_k - t_{k-1}) ``|S_hat_i(t_k) - S_i(t_k)|``, t_0 = 0: the
    Survival-l1 of MENSA (Lillelund et al. 2024) and of copula survival work (Foomani et al.
    2023). Both matrices (n, len(times)); the true curves come from a simulator
    (``SimulatedSurvival.true_survival``). 0 is perfect, 1 the largest possible.
    """
    grid = increasing_times(times)
    if grid[0] < 0:
        raise InvalidParameterError("times must be >= 0")
    n = (true_survival.shape[0] if hasattr(true_survival, "shape") else len(true_survival))
    S_hat = survival_matrix(survival, n, len(grid))
    S = survival_matrix(true_survival, n, len(grid)).to(S_hat.device)
    widths = torch.as_tensor(np.diff(np.concatenate([[0.0], grid])), device=S_hat.device)
    return float(((S_hat - S).abs() * widths).sum() / (n * grid[-1]))


def median_time(survival, times) -> np.ndarray:
    """(n,) time at which each curve falls to 0.5 (the predicted time of MENSA's appendix B).

    ``survival`` (n, m) at increasing ``times`` (m,). Between grid points the curve is joined
    linearly; a curve still above 0.5 at the last time follows the straight line from (0, 1)
    through its last point (the tail rule of :func:`margin_time` and SurvivalEVAL), so its
    median is t_m 0.5 / (1 - S(t_m)); +inf when S(t_m) = 1 (the curve never falls).
    """
    grid = increasing_times(times)
    S = survival_matrix(survival, survival.shape[0] if hasattr(survival, "shape") else len(survival),
                        len(grid)).cpu().numpy()
    t = np.concatenate([[0.0], grid]) if grid[0] > 0 else grid
    S = np.concatenate([np.ones((S.shape[0], 1)), S], axis=1) if grid[0] > 0 else S
    below = S <= 0.5
    crosses = below.any(axis=1)
    j = np.argmax(below, axis=1)  # first grid point at or below 0.5
    i = np.maximum(j - 1, 0)
    rows = np.arange(S.shape[0])
    s0, s1, t0, t1 = S[rows, i], S[rows, j], t[i], t[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(s0 > s1, t0 + (s0 - 0.5) * (t1 - t0) / (s0 - s1), t1)
        last = S[:, -1]
        tail = np.where(last < 1.0, t[-1] * 0.5 / (1.0 - last), np.inf)
    return np.where(crosses, inside, tail)
