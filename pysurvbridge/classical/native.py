"""The native engine: Newton-Raphson on ``losses.cox_nll`` and R's robust sandwich variance.

- Coefficients: Newton-Raphson with the exact Hessian (autograd of the exact partial
  likelihood, float64) and step halving when the likelihood does not improve, as coxph does.
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
    for iterations in range(1, max_iter + 1):
        b = beta.clone().requires_grad_(True)
        grad = torch.autograd.grad(loss(b), b)[0]
        hess = torch.autograd.functional.hessian(loss, beta)
        step = torch.linalg.solve(hess, grad)
        candidate = beta - step
        new = loss(candidate).item()
        halvings = 0
        while not new <= current and halvings < 30:  # also catches nan
            step = step / 2
            candidate = beta - step
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
            f"Newton-Raphson did not converge in {iterations} iterations (relative change in "
            f"log-likelihood {change:.2e}); coefficients may be infinite (monotone likelihood)",
            ConvergenceWarning, stacklevel=3,
        )
    info = torch.autograd.functional.hessian(loss, beta).numpy()
    var = np.linalg.inv(info)
    beta_np = beta.numpy()
    # a diverged fit (already warned about) under- and overflows here: NaN SEs, no more noise
    quiet = np.errstate(all="ignore") if not converged else contextlib.nullcontext()
    with quiet:
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


def score_residuals(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                    start: np.ndarray | None = None, strata: np.ndarray | None = None,
                    ties: str = "efron") -> np.ndarray:
    """(n, p) score residuals, as R's ``residuals(coxph_fit, type = "score")``.

    Row i: delta_i (x_i - mean of the Efron xbar_k of its event time) minus
    r_i * sum over event times t in (start_i, stop_i] of sum_k c_ik (x_i - xbar_k) / den_k,
    with c_ik = 1 - k/d for the d tied events at t (Efron) and 1 otherwise. They sum to the score.
    """
    eta = X @ beta
    r = np.exp(eta - eta.max())
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

    den = s0[grp] - frac * s0t[grp]  # one Efron slot per event row
    xbar = (s1[grp] - frac[:, None] * s1t[grp]) / den[:, None]

    def per_group(v: np.ndarray) -> np.ndarray:
        out = np.zeros((G,) + v.shape[1:])
        np.add.at(out, grp, v)
        return out

    A, B = per_group(1.0 / den), per_group(xbar / den[:, None])
    A2, B2 = per_group(frac / den), per_group(frac[:, None] * xbar / den[:, None])
    E = per_group(xbar) / d[:, None]

    cA = np.concatenate([[0.0], np.cumsum(A)])
    cB = np.vstack([np.zeros((1, X.shape[1])), np.cumsum(B, axis=0)])
    hi = np.searchsorted(group_keys, stop_key, side="right")
    lo = np.searchsorted(group_keys, start_key, side="right")
    sum_a = cA[hi] - cA[lo]
    sum_b = cB[hi] - cB[lo]
    resid = -r[:, None] * (X * sum_a[:, None] - sum_b)
    g = grp
    resid[ev] += (X[ev] - E[g]) + r[ev, None] * (X[ev] * A2[g][:, None] - B2[g])
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
