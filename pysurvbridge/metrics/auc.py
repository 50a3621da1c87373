"""Cumulative/dynamic time-dependent AUC (Uno et al. 2007; Hung and Chiang 2010).

AUC(t) = sum_i sum_j w_i 1{T_i <= t, event_i} 1{T_j > t} [1{r_i > r_j} + 1/2 1{r_i = r_j}]
         / (sum_i w_i 1{T_i <= t, event_i} * #{j: T_j > t}),   w_i = 1 / G(T_i).

Cases are subjects with an event by t, controls those still event-free after t. Sorting and
batched searchsorted in torch: O(m n log n) time, O(m n) memory, on the device of ``risk``.
"""
from __future__ import annotations

import numpy as np
import torch

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics._inputs import float64_tensor, increasing_times, survival_arrays
from pysurvbridge.metrics.censoring import CensoringKaplanMeier, kaplan_meier


def cumulative_dynamic_auc(risk, times, time, event, *, train_time=None, train_event=None,
                           ) -> tuple[np.ndarray, float]:
    """AUC at each of ``times`` and its mean, as ``sksurv.metrics.cumulative_dynamic_auc``.

    ``risk``: (n,) or (n, len(times)) (a risk per time, e.g. 1 - S_i(t)); higher = earlier
    event. G is the censoring Kaplan-Meier of the training data (or of the scored data when
    ``train_time`` is None), right-continuous at T_i. The mean weights AUC(t_k) by the drop of
    the scored data's Kaplan-Meier S over (t_{k-1}, t_k], divided by 1 - S(t_last) (Lambert
    and Chevret 2014). Returns (auc (len(times),), mean_auc).
    """
    t, e = survival_arrays(time, event, need_events=True)
    grid = increasing_times(times)
    R = _risk_matrix(risk, len(t), len(grid))
    if train_time is None and train_event is None:
        G = CensoringKaplanMeier(t, e)
        g = G.at_fitted_times()
    else:
        G = CensoringKaplanMeier(train_time, train_event)
        g = G(t)
    case = (t[:, None] <= grid[None, :]) & (e[:, None] == 1)
    control = t[:, None] > grid[None, :]
    empty = ~case.any(axis=0) | ~control.any(axis=0)
    if empty.any():
        raise InvalidParameterError(
            f"AUC is undefined at times {grid[empty][:5].tolist()}: no events by then or nobody "
            f"event-free after; use times in [{t[e == 1].min():g}, {t.max():g})")
    if (case.any(axis=1) & (g <= 0)).any():
        raise InvalidParameterError(
            f"the censoring distribution G is 0 from t = {G.zero_from:g}; use times < {G.zero_from:g}")
    w = np.where(g > 0, 1.0 / np.where(g > 0, g, 1.0), 0.0)
    auc = _auc_columns(R, case, control, w)
    if len(grid) == 1:
        return auc, float(auc[0])
    s = kaplan_meier(t, e, grid)
    drop = -np.diff(np.concatenate([[1.0], s]))
    return auc, float((auc * drop).sum() / (1.0 - s[-1]))


def _risk_matrix(risk, n: int, m: int) -> torch.Tensor:
    R = float64_tensor(risk)
    if R.ndim == 1:
        R = R[:, None].expand(-1, m)
    if tuple(R.shape) != (n, m):
        raise InvalidParameterError(f"risk must have shape (n,) or (n, len(times)) = ({n}, {m}), "
                                    f"but has {tuple(R.shape)}")
    bad = ~torch.isfinite(R).all(dim=1)
    if bad.any():
        raise InvalidParameterError(f"risk has missing or infinite values in rows "
                                    f"{torch.nonzero(bad).flatten()[:5].tolist()}")
    return R


def _auc_columns(R: torch.Tensor, case: np.ndarray, control: np.ndarray, w: np.ndarray) -> np.ndarray:
    dev = R.device
    case_t = torch.as_tensor(case, device=dev).T  # (m, n)
    control_t = torch.as_tensor(control, device=dev).T
    Rt = R.T.contiguous()
    # controls' risks sorted per time; non-controls pushed to +inf, past every finite risk
    sorted_controls = torch.sort(torch.where(control_t, Rt, torch.inf), dim=1).values.contiguous()
    lower = torch.searchsorted(sorted_controls, Rt, side="left")
    lower_or_equal = torch.searchsorted(sorted_controls, Rt, side="right")
    wins = lower.to(torch.float64) + 0.5 * (lower_or_equal - lower).to(torch.float64)
    wt = torch.as_tensor(w, device=dev)[None, :] * case_t
    numerator = (wt * wins).sum(dim=1)
    denominator = wt.sum(dim=1) * control_t.sum(dim=1)
    return (numerator / denominator).cpu().numpy()
