"""The native engine: Newton-Raphson on ``losses.cox_nll`` and R's robust sandwich variance.

- Coefficients: Newton-Raphson on ``cox_nll`` (float64) with its exact gradient and Hessian in
  closed form (O(n p^2); a test checks them against autograd of ``cox_nll``), and step halving
  when the likelihood does not improve, as coxph does.
- Naive variance: the inverse information at the estimate.
- Robust variance: score residuals (Efron or Breslow, counting process, strata) summed within
  each cluster, V (sum_c u_c u_c') V: the dfbeta sandwich of ``coxph(... + cluster(id))``.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from pysurvbridge.classical.design import CoxProblem
from pysurvbridge.errors import ConvergenceWarning
from pysurvbridge.losses import cox_nll, cox_risk_sets


@dataclass(frozen=True)
class NativeResult:
    beta: np.ndarray  # (p,)
    var: np.ndarray  # (p, p) naive
    robust_var: np.ndarray  # (p, p)
    loglik: float
    loglik_null: float
    iterations: int
    converged: bool


def fit_newton(problem: CoxProblem, ties: str, *, max_iter: int = 30, eps: float = 1e-12) -> NativeResult:
    """Maximise the partial likelihood of ``problem``; see the module docstring."""
    t = lambda a: None if a is None else torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    X = t(problem.X)
    stop, event, start = t(problem.stop), t(problem.event), t(problem.start)
    strata = None if problem.strata is None else torch.as_tensor(pd.factorize(problem.strata)[0])
    rs = cox_risk_sets(stop, event, start, strata)

    def loss(beta: torch.Tensor) -> torch.Tensor:
        return cox_nll(X @ beta, stop, event, start=start, strata=strata, ties=ties,
                       reduction="sum", risk_sets=rs)

    p = X.shape[1]
    beta = torch.zeros(p, dtype=torch.float64)
    current = loss(beta).item()
    null = current
    converged = False
    iterations = 0
    change = float("nan")
    reason = f"relative change in log-likelihood still above {eps:g}"
    for iterations in range(1, max_iter + 1):
        with np.errstate(all="ignore"):  # checked just below
            score, info = score_and_information(problem.X, beta.numpy(), problem.stop,
                                                problem.event, problem.start, problem.strata, ties)
        if not (np.isfinite(score).all() and np.isfinite(info).all()):
            reason = "risk scores over- or underflow: a coefficient is running off to infinity"
            break
        step = torch.as_tensor(np.linalg.solve(info, score))
        candidate = beta + step
        new = loss(candidate).item()
        halvings = 0
        while not new <= current and halvings < 30:  # also catches nan
            step = step / 2
            candidate = beta + step
            new = loss(candidate).item()
            halvings += 1
        beta = candidate
        change = abs(current - new) / max(abs(new), 1e-300)
        current = new
        if change <= eps or float(step.abs().max()) < 1e-13:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"Newton-Raphson did not converge: stopped after {iterations} iterations ({reason}; "
            f"last relative change {change:.2e}); coefficients may be infinite (monotone "
            "likelihood)",
            ConvergenceWarning, stacklevel=3,
        )
    beta_np = beta.numpy()
    def quiet():  # a diverged fit (already warned about) over/underflows: NaN SEs, no noise
        return np.errstate(all="ignore") if not converged else contextlib.nullcontext()

    with quiet():
        _, info = score_and_information(problem.X, beta_np, problem.stop, problem.event,
                                        problem.start, problem.strata, ties)
    var = np.linalg.inv(info)
    with quiet():
        resid = score_residuals(problem.X, beta_np, problem.stop, problem.event, problem.start,
                                problem.strata, ties)
    by_cluster = pd.DataFrame(resid).groupby(pd.factorize(problem.cluster)[0]).sum().to_numpy()
    robust = var @ (by_cluster.T @ by_cluster) @ var
    return NativeResult(beta_np, var, robust, -current, -null, iterations, converged)


def _keys(stop: np.ndarray, start: np.ndarray | None, strata: np.ndarray | None):
    """Exact integer keys (stratum-major, then time rank) for start and stop times."""
    n = len(stop)
    start = np.zeros(n) if start is None else start
    _, inv = np.unique(np.concatenate([start, stop]), return_inverse=True)
    width = int(inv.max()) + 2
    s = np.zeros(n, dtype=np.int64) if strata is None else pd.factorize(strata)[0].astype(np.int64)
    return s * width + inv[n:], s * width + inv[:n], width


def _risk_set_sums(values: np.ndarray, stop_key: np.ndarray, start_key: np.ndarray,
                   group_keys: np.ndarray, width: int) -> np.ndarray:
    """For each event group, the sum of ``values`` (n, ...) over rows at risk in its stratum."""
    end = (group_keys // width + 1) * width

    def tail_sums(key: np.ndarray) -> np.ndarray:
        order = np.argsort(key, kind="stable")
        v = values[order]
        tail = np.concatenate([np.cumsum(v[::-1], axis=0)[::-1], np.zeros((1,) + v.shape[1:])])
        ks = key[order]
        return tail[np.searchsorted(ks, group_keys)] - tail[np.searchsorted(ks, end)]

    return tail_sums(stop_key) - tail_sums(start_key)


def _efron_sums(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                start: np.ndarray | None, strata: np.ndarray | None, ties: str) -> dict:
    """Risk-set sums shared by the score, the information and the score residuals.

    One Efron "slot" per event row: the k-th of d tied events at t has denominator
    den = S0(t) - (k/d) S0_tied(t) and mean xbar = (S1(t) - (k/d) S1_tied(t)) / den
    (k = 0 for every slot under Breslow). ``a`` (n,) is, for each row, the sum over the slots
    it is at risk for of c/den, with c = 1 - k/d for its own tied slots and 1 otherwise.
    """
    eta = X @ beta
    r = np.exp(eta - eta.max())  # the shift cancels in every ratio below
    stop_key, start_key, width = _keys(stop, start, strata)
    ev = np.flatnonzero(event == 1)
    group_keys, grp = np.unique(stop_key[ev], return_inverse=True)
    G = len(group_keys)
    d = np.bincount(grp, minlength=G)
    rank = np.empty(len(ev), dtype=np.int64)
    order = np.argsort(grp, kind="stable")
    rank[order] = np.arange(len(ev)) - (np.cumsum(d) - d)[grp[order]]
    frac = rank / d[grp] if ties == "efron" else np.zeros(len(ev))

    rx = r[:, None] * X
    s0 = _risk_set_sums(r, stop_key, start_key, group_keys, width)
    s1 = _risk_set_sums(rx, stop_key, start_key, group_keys, width)
    s0t = np.bincount(grp, weights=r[ev], minlength=G)
    s1t = np.zeros((G, X.shape[1]))
    np.add.at(s1t, grp, rx[ev])
    den = s0[grp] - frac * s0t[grp]
    xbar = (s1[grp] - frac[:, None] * s1t[grp]) / den[:, None]

    def per_group(v: np.ndarray) -> np.ndarray:
        out = np.zeros((G,) + v.shape[1:])
        np.add.at(out, grp, v)
        return out

    A, B = per_group(1.0 / den), per_group(xbar / den[:, None])
    A2, B2 = per_group(frac / den), per_group(frac[:, None] * xbar / den[:, None])
    cA = np.concatenate([[0.0], np.cumsum(A)])
    cB = np.vstack([np.zeros((1, X.shape[1])), np.cumsum(B, axis=0)])
    hi = np.searchsorted(group_keys, stop_key, side="right")
    lo = np.searchsorted(group_keys, start_key, side="right")
    a = cA[hi] - cA[lo]
    b = cB[hi] - cB[lo]
    a[ev] -= A2[grp]
    b[ev] -= B2[grp]
    return {"r": r, "ev": ev, "grp": grp, "d": d, "xbar": xbar, "a": a, "b": b,
            "E": per_group(xbar) / d[:, None]}


def score_and_information(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                          start: np.ndarray | None = None, strata: np.ndarray | None = None,
                          ties: str = "efron") -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the log partial likelihood (p,) and the information matrix (p, p).

    score = sum over events of x_i - sum over slots of xbar_k;
    information = sum_slots (S2_k / den_k - xbar_k xbar_k') = X' diag(r a) X - sum_slots
    xbar_k xbar_k', exact for Efron and Breslow (equals the autograd Hessian of cox_nll).
    """
    s = _efron_sums(X, beta, stop, event, start, strata, ties)
    score = X[s["ev"]].sum(axis=0) - s["xbar"].sum(axis=0)
    info = (X * (s["r"] * s["a"])[:, None]).T @ X - s["xbar"].T @ s["xbar"]
    return score, info


def score_residuals(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                    start: np.ndarray | None = None, strata: np.ndarray | None = None,
                    ties: str = "efron") -> np.ndarray:
    """(n, p) score residuals, as R's ``residuals(coxph_fit, type = "score")``.

    Row i: delta_i (x_i - mean of the Efron xbar_k of its event time) minus
    r_i * sum over the slots it is at risk for of c_ik (x_i - xbar_k) / den_k (see
    ``_efron_sums``). They sum to the score.
    """
    s = _efron_sums(X, beta, stop, event, start, strata, ties)
    resid = -s["r"][:, None] * (X * s["a"][:, None] - s["b"])
    resid[s["ev"]] += X[s["ev"]] - s["E"][s["grp"]]
    return resid


def breslow_baseline(eta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                     start: np.ndarray | None = None, strata: np.ndarray | None = None) -> pd.DataFrame:
    """Breslow cumulative baseline hazard at each event time (per stratum).

    Columns stratum (None without strata), time, hazard (d / sum of exp(eta) at risk),
    cumhaz. ``eta`` is the uncentred linear predictor x'beta.
    """
    shift = eta.max()
    r = np.exp(eta - shift)
    stop_key, start_key, width = _keys(stop, start, strata)
    ev = np.flatnonzero(event == 1)
    group_keys, grp = np.unique(stop_key[ev], return_inverse=True)
    d = np.bincount(grp, minlength=len(group_keys))
    s0 = _risk_set_sums(r, stop_key, start_key, group_keys, width) * np.exp(shift)
    first = np.zeros(len(group_keys), dtype=np.int64)
    first[grp[::-1]] = ev[::-1]
    stratum = None if strata is None else np.asarray(strata)[first]
    with np.errstate(divide="ignore"):  # s0 underflows only for diverged (infinite) fits
        hazard = d / s0
    table = pd.DataFrame({"stratum": stratum, "time": np.asarray(stop)[first], "hazard": hazard})
    table["cumhaz"] = table.groupby("stratum", dropna=False)["hazard"].cumsum()
    return table
