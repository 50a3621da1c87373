"""IPCW Brier score and its integral (Graf et al. 1999), with the conventions peers differ on.

The (n, len(times)) work runs in torch on the device of ``survival`` (GPU for CUDA tensors);
the censoring Kaplan-Meier and the weights are O(n) and computed once on the CPU.
``engine="r"`` asks R instead: riskRegression::Score (or pec) for cases weighted at G(T_i-),
ipred::sbrier for G(T_i); both estimate G from the data being scored.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import torch

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics._inputs import case_weights, increasing_times, survival_arrays, survival_matrix
from pysurvbridge.metrics.censoring import CensoringKaplanMeier

WeightAt = Literal["t", "t-"]


def brier_score(survival, times, time, event, *, train_time=None, train_event=None,
                censoring_weight_at: WeightAt = "t",
                engine: Literal["python", "r"] = "python",
                weights=None, train_weights=None) -> np.ndarray:
    """IPCW Brier score at each of ``times`` (Graf et al. 1999). Returns an array (len(times),).

    BS(t) = mean_i [ 1{T_i <= t, event_i} S_i(t)^2 / G(T_i) + 1{T_i > t} (1 - S_i(t))^2 / G(t) ]

    ``survival`` (n, len(times)): predicted S_i(t), rows subjects, columns the increasing
    ``times`` (same unit as ``time``). G is the censoring Kaplan-Meier of ``train_time`` /
    ``train_event`` (scikit-survival's convention) or, when they are None, of the scored data
    (pec's, riskRegression's and ipred's). ``censoring_weight_at="t-"`` weights cases by the
    left limit G(T_i-) (pec, riskRegression) instead of G(T_i) (scikit-survival, ipred).
    Times past the scored follow-up, or where G is 0 but a weight is needed, are errors
    naming the limit (scikit-survival silently drops such terms).

    Case weights: ``weights`` (n,), one per scored subject, positive and finite (no unit, only
    their ratios matter). The score becomes the weighted mean of the same terms,

        BS_w(t) = sum_i w_i term_i(t) / sum_i w_i,

    and, when G is estimated from the scored data, G is the weighted Kaplan-Meier of their
    censoring times (:class:`CensoringKaplanMeier` with ``weights``: every count of the
    reverse Kaplan-Meier a sum of weights). With ``train_time`` / ``train_event``, G comes from
    the training subjects and ``train_weights`` (n_train,) weights them the same way (None:
    unweighted). Integer weights k equal repeating a subject k times, in the mean and in G.
    No R package scores case-weighted Brier (riskRegression::Score, pec and ipred have no
    weights argument), so ``engine="r"`` refuses them; the tests check the definition against
    R's weighted ``survfit`` for G, a term-by-term computation and replicated rows.
    """
    if censoring_weight_at not in ("t", "t-"):
        raise InvalidParameterError(f"censoring_weight_at must be 't' or 't-', but was {censoring_weight_at!r}")
    if engine not in ("python", "r"):
        raise InvalidParameterError(f"engine must be 'python' or 'r', but was {engine!r}")
    t, e = survival_arrays(time, event, need_events=True)
    grid = increasing_times(times)
    S = survival_matrix(survival, len(t), len(grid))
    if grid[-1] > t.max():
        raise InvalidParameterError(
            f"times reach {grid[-1]:g}, beyond the follow-up of the scored data (its largest "
            f"time is {t.max():g}); use times <= {t.max():g}")
    from_training = train_time is not None or train_event is not None
    if from_training and (train_time is None or train_event is None):
        raise InvalidParameterError("give both train_time and train_event, or neither")
    if train_weights is not None and not from_training:
        raise InvalidParameterError(
            "train_weights weight the training subjects' censoring distribution: give "
            "train_time and train_event with them (the scored subjects' weights are `weights`)")
    w = None if weights is None else case_weights(weights, len(t))
    if engine == "r":
        if from_training:
            raise InvalidParameterError(
                "engine='r': pec, riskRegression and ipred estimate G from the scored data; "
                "leave train_time/train_event as None, or use engine='python'")
        if w is not None:
            raise InvalidParameterError(
                "engine='r': riskRegression::Score, pec and ipred::sbrier take no case weights; "
                "use engine='python' for weights")
        return _brier_r(S.cpu().numpy(), grid, t, e, censoring_weight_at)
    left = censoring_weight_at == "t-"
    if from_training:
        G = CensoringKaplanMeier(train_time, train_event, weights=train_weights)
        g_case = G(t, left=left)
    else:
        G = CensoringKaplanMeier(t, e, weights=w)
        g_case = G.at_fitted_times(left=left)
    g_t = G(grid)
    # a weight is needed for cases (event by t) with G(T_i) = 0, and for controls (T_i > t)
    zero_case = (e == 1) & (g_case <= 0)
    first_bad_case = t[zero_case].min() if zero_case.any() else np.inf
    undefined = (grid >= first_bad_case) | ((g_t <= 0) & (grid < t.max()))
    if undefined.any():
        source = "training" if from_training else "scored"
        raise InvalidParameterError(
            f"the censoring distribution G (Kaplan-Meier of the {source} data) is 0 from "
            f"t = {G.zero_from:g} (its last censoring), so the weight 1/G is undefined at times "
            f"{grid[undefined][:5].tolist()}; use times < {G.zero_from:g}")
    terms = _weighted_squares(S, grid, t, e, g_case, g_t)
    if w is None:
        return terms.mean(dim=0).cpu().numpy()
    w_dev = torch.as_tensor(w, device=terms.device)
    return ((w_dev[:, None] * terms).sum(dim=0) / w_dev.sum()).cpu().numpy()


def brier_terms(survival, times, time, event, *, train_time, train_event,
                censoring_weight_at: WeightAt = "t", train_weights=None) -> np.ndarray:
    """(n, len(times)) each subject's IPCW term of :func:`brier_score` (their mean over
    subjects is the score), with G from the training data, so a term does not depend on which
    other subjects are scored: the mean over any resample of the subjects is the Brier score
    of that resample (what a bootstrap over test subjects needs). Same checks as
    :func:`brier_score` on the subjects given. ``train_weights``: case weights of the
    training subjects in G; the case-weighted score is sum_i w_i terms_i / sum_i w_i."""
    S = survival_matrix(survival, len(np.asarray(time)), len(increasing_times(times)))
    brier_score(survival, times, time, event, train_time=train_time, train_event=train_event,
                censoring_weight_at=censoring_weight_at,
                train_weights=train_weights)  # the checks, once, on all subjects
    t, e = survival_arrays(time, event, need_events=True)
    grid = increasing_times(times)
    G = CensoringKaplanMeier(train_time, train_event, weights=train_weights)
    return _weighted_squares(S, grid, t, e, G(t, left=censoring_weight_at == "t-"), G(grid)).cpu().numpy()


def _weighted_squares(S: torch.Tensor, grid, t, e, g_case, g_t) -> torch.Tensor:
    """The IPCW terms (n, len(grid)), on S's device."""
    dev = S.device
    tt = torch.as_tensor(t, device=dev)[:, None]
    gg = torch.as_tensor(grid, device=dev)[None, :]
    case = (tt <= gg) & torch.as_tensor(e == 1, device=dev)[:, None]
    control = tt > gg
    inv_case = torch.as_tensor(np.where(g_case > 0, 1.0 / np.where(g_case > 0, g_case, 1.0), 0.0),
                               device=dev)[:, None]
    inv_t = torch.as_tensor(np.where(g_t > 0, 1.0 / np.where(g_t > 0, g_t, 1.0), 0.0), device=dev)[None, :]
    return torch.where(case, S.square() * inv_case, 0.0) + torch.where(control, (1.0 - S).square() * inv_t, 0.0)


def integrated_brier_score(survival, times, time, event, **kwargs) -> float:
    """Brier score integrated over ``times`` by the trapezoid rule, divided by their span.

    Same arguments as :func:`brier_score` (``weights`` / ``train_weights`` included: the
    integral of the case-weighted score); ``times`` needs at least two values.
    """
    grid = increasing_times(times)
    if len(grid) < 2:
        raise InvalidParameterError("times must hold at least two increasing values")
    bs = brier_score(survival, grid, time, event, **kwargs)
    return float(np.trapezoid(bs, grid) / (grid[-1] - grid[0]))


# ---------------------------------------------------------------- R engine


def _brier_r(S: np.ndarray, grid: np.ndarray, t: np.ndarray, e: np.ndarray,
             weight_at: WeightAt) -> np.ndarray:
    """The same score computed by R: riskRegression::Score (or pec) for "t-", ipred for "t"."""
    from pysurvbridge import rbridge

    df = rbridge.to_r(pd.DataFrame({"time": t, "status": e}))
    if weight_at == "t-":
        if rbridge.has_r_package("riskRegression"):
            f = rbridge.formula("Surv", ["time", "status"], [], namespace="survival")
            res = rbridge.call("Score", {"m": 1.0 - S}, formula=f, data=df, times=grid,
                               metrics="brier", package="riskRegression",
                               **{"cens.model": "km", "null.model": False, "se.fit": False})
            table = rbridge.to_pandas(rbridge.element(res, "Brier", "score"))
            return table["Brier"].to_numpy(dtype=np.float64)
        _require(rbridge, "pec", "riskRegression or pec")
        f = rbridge.formula("Surv", ["time", "status"], [], namespace="pec")
        # pec prepends time 0 to `times`, hence the leading column of ones
        res = rbridge.call("pec", {"m": np.hstack([np.ones((len(t), 1)), S])}, formula=f, data=df,
                           times=grid, exact=False, reference=False, verbose=False, package="pec",
                           **{"cens.model": "marginal"})
        return np.asarray(rbridge.to_numpy(rbridge.element(res, "AppErr", "m")), dtype=np.float64)[1:]
    _require(rbridge, "ipred", "ipred")
    surv = rbridge.call("Surv", t, e, package="survival")
    # sbrier reads a length-2 btime as a range, so ask one time at a time
    return np.array([float(rbridge.to_numpy(rbridge.call("sbrier", surv, S[:, j], btime=float(x),
                                                         package="ipred"))[0])
                     for j, x in enumerate(grid)])


def _require(rbridge, package: str, what: str) -> None:
    if not rbridge.has_r_package(package):
        from pysurvbridge.errors import RUnavailableError

        raise RUnavailableError(f"engine='r' needs the R package {what}: {rbridge.R_INSTALL_COMMAND}")
