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
from pysurvbridge.losses import cox_nll


@dataclass(frozen=True)
class NativeResult:
    beta: np.ndarray  # (p,)
    var: np.ndarray  # (p, p) naive
    robust_var: np.ndarray  # (p, p)
    loglik: float
    loglik_null: float
    iterations: int
    converged: bool
    baseline: pd.DataFrame  # Breslow: stratum, time, hazard, cumhaz


def fit_newton(problem: CoxProblem, ties: str, *, max_iter: int = 30, eps: float = 1e-12) -> NativeResult:
    """Maximise the partial likelihood of ``problem``; see the module docstring."""
    keys = (problem.stop,) if problem.strata is None else (problem.stop, _codes(problem.strata))
    srt = np.lexsort(keys)  # rows in risk-set order, once
    X = np.ascontiguousarray(problem.X[srt])
    stop, event = problem.stop[srt], problem.event[srt]
    start = None if problem.start is None else problem.start[srt]
    strata = None if problem.strata is None else problem.strata[srt]
    index = RiskSetIndex(stop, event, start, strata, ties)

    p = X.shape[1]
    beta = np.zeros(p)
    sums = _efron_sums(X, beta, index)
    current = null = sums["loglik"]
    converged = False
    iterations = 0
    change = float("nan")
    reason = f"relative change in log-likelihood still above {eps:g}"
    for iterations in range(1, max_iter + 1):
        with np.errstate(all="ignore"):  # overflow is caught by the test below and warned about
            score, info = _score_info(X, index, sums)
        if not (np.isfinite(score).all() and np.isfinite(info).all()):
            reason = "risk scores over- or underflow: a coefficient is running off to infinity"
            break
        step = np.linalg.solve(info, score)
        halvings = 0
        while True:
            with np.errstate(all="ignore"):  # a diverging step is caught by the test below
                new_sums = _efron_sums(X, beta + step, index)
            new = new_sums["loglik"]
            # accept an increase, or a decrease within rounding of the sums near the optimum;
            # anything else (and nan) halves the step, as coxph does
            if new >= current - 1e-11 * abs(current) or halvings >= 30:
                break
            step = step / 2
            halvings += 1
        beta, sums = beta + step, new_sums
        change = abs(current - new) / max(abs(new), 1e-300)
        current = new
        if change <= eps or float(np.abs(step).max()) < 1e-13:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"Newton-Raphson did not converge: stopped after {iterations} iterations ({reason}; "
            f"last relative change {change:.2e}); coefficients may be infinite (monotone "
            "likelihood)",
            ConvergenceWarning, stacklevel=3,
        )

    def quiet():  # a diverged fit (already warned about) over/underflows: NaN SEs, no noise
        return np.errstate(all="ignore") if not converged else contextlib.nullcontext()

    with quiet():
        _, info = _score_info(X, index, sums)
        resid = _residuals(X, index, sums)
    var = np.linalg.inv(info)
    clusters = pd.factorize(problem.cluster[srt])[0]
    by_cluster = np.column_stack([np.bincount(clusters, weights=resid[:, j]) for j in range(p)])
    robust = var @ (by_cluster.T @ by_cluster) @ var
    loglik = -_cox_nll(problem, ties, beta)  # reported through the package's one definition
    with quiet():
        baseline = _baseline_table(index, sums, stop, strata)
    return NativeResult(beta, var, robust, loglik, null, iterations, converged, baseline)


def _baseline_table(index: "RiskSetIndex", sums: dict, stop: np.ndarray,
                    strata: np.ndarray | None) -> pd.DataFrame:
    """Breslow table: stratum, time, hazard d / S0, cumhaz (per stratum) from risk-set sums."""
    first = index.first_row
    hazard = index.d / (sums["s0"] * np.exp(sums["shift"]))
    table = pd.DataFrame({"stratum": None if strata is None else strata[first],
                          "time": stop[first], "hazard": hazard})
    table["cumhaz"] = table.groupby("stratum", dropna=False)["hazard"].cumsum()
    return table


def _cox_nll(problem: CoxProblem, ties: str, beta: np.ndarray) -> float:
    """The reported log-likelihood comes from losses.cox_nll, the package's one definition."""
    t = lambda a: None if a is None else torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    strata = None if problem.strata is None else torch.as_tensor(_codes(problem.strata))
    with torch.no_grad():
        return cox_nll(t(problem.X) @ t(beta), t(problem.stop), t(problem.event),
                       start=t(problem.start), strata=strata, ties=ties, reduction="sum").item()


def _codes(strata: np.ndarray | None) -> np.ndarray:
    return np.zeros(0, dtype=np.int64) if strata is None else pd.factorize(strata)[0]


def _keys(stop: np.ndarray, start: np.ndarray | None, strata: np.ndarray | None):
    """Exact integer keys (stratum-major, then time rank) for start and stop times."""
    n = len(stop)
    start = np.full(n, -np.inf) if start is None else start  # no start: at risk from -inf
    _, inv = np.unique(np.concatenate([start, stop]), return_inverse=True)
    width = int(inv.max()) + 2
    s = np.zeros(n, dtype=np.int64) if strata is None else pd.factorize(strata)[0].astype(np.int64)
    return s * width + inv[n:], s * width + inv[:n], width


class RiskSetIndex:
    """Everything about the risk sets that depends on the times only (built once per fit).

    For each event group (a distinct stratum and event time): the slices of rows sorted by
    stop key and by start key that are at risk; for each event row its group and Efron rank;
    for each row the range of groups it is at risk for. Rows already in stop-key order (as
    ``fit_newton`` arranges them) need no gathering, and their event groups are contiguous.
    """

    def __init__(self, stop: np.ndarray, event: np.ndarray, start: np.ndarray | None = None,
                 strata: np.ndarray | None = None, ties: str = "efron") -> None:
        stop_key, start_key, width = _keys(stop, start, strata)
        self.n = len(stop)
        self.ev = np.flatnonzero(event == 1)
        self.group_keys, self.grp = np.unique(stop_key[self.ev], return_inverse=True)
        G = len(self.group_keys)
        self.d = np.bincount(self.grp, minlength=G)
        self.group_start = np.cumsum(self.d) - self.d  # position of each group's first slot
        self.contiguous = bool(np.all(np.diff(self.grp) >= 0))
        if self.contiguous:
            rank = np.arange(len(self.ev)) - self.group_start[self.grp]
        else:
            order = np.argsort(self.grp, kind="stable")
            rank = np.empty(len(self.ev), dtype=np.int64)
            rank[order] = np.arange(len(self.ev)) - self.group_start[self.grp[order]]
        self.frac = rank / self.d[self.grp] if ties == "efron" else np.zeros(len(self.ev))
        self.first_row = np.empty(G, dtype=np.int64)  # first event row of each group
        self.first_row[self.grp[::-1]] = self.ev[::-1]
        end = (self.group_keys // width + 1) * width
        self.slices = []
        for key in (stop_key, start_key) if start is not None else (stop_key,):
            in_order = bool(np.all(np.diff(key) >= 0))
            sort = None if in_order else np.argsort(key, kind="stable")
            ks = key if in_order else key[sort]
            self.slices.append((sort, np.searchsorted(ks, self.group_keys), np.searchsorted(ks, end)))
        self.hi = np.searchsorted(self.group_keys, stop_key, side="right")
        self.lo = np.searchsorted(self.group_keys, start_key, side="right")

    def at_risk_sums(self, values: np.ndarray) -> np.ndarray:
        """(G, ...) sums of ``values`` (n, ...) over the rows at risk at each event group."""
        out = 0.0
        for sign, (sort, first, last) in zip((1.0, -1.0), self.slices):
            prefix = np.zeros((self.n + 1,) + values.shape[1:])
            np.cumsum(values if sort is None else values[sort], axis=0, out=prefix[1:])
            out = out + sign * (prefix[last] - prefix[first])
        return out

    def per_group(self, v: np.ndarray) -> np.ndarray:
        """(G, ...) sums of per-event-row values ``v`` within each group."""
        if self.contiguous and len(v):
            return np.add.reduceat(v, self.group_start, axis=0)
        if v.ndim == 1:
            return np.bincount(self.grp, weights=v, minlength=len(self.d))
        return np.column_stack([np.bincount(self.grp, weights=v[:, j], minlength=len(self.d))
                                for j in range(v.shape[1])]).reshape(len(self.d), v.shape[1])

    def over_groups(self, v: np.ndarray) -> np.ndarray:
        """(n, ...) for each row, the sum of per-group ``v`` over the groups it is at risk for."""
        c = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(v, axis=0)])
        return c[self.hi] - c[self.lo]


def _efron_sums(X: np.ndarray, beta: np.ndarray, index: RiskSetIndex) -> dict:
    """Risk-set sums shared by the log-likelihood, score, information and score residuals.

    One Efron "slot" per event row: the k-th of d tied events at t has denominator
    den = S0(t) - (k/d) S0_tied(t) and mean xbar = (S1(t) - (k/d) S1_tied(t)) / den
    (k = 0 for every slot under Breslow). ``a`` (n,) is, for each row, the sum over the slots
    it is at risk for of c/den, with c = 1 - k/d for its own tied slots and 1 otherwise (the
    residuals add the same sum of c xbar/den). loglik = sum_events eta - sum_slots log(den).
    """
    ix = index
    eta = X @ beta
    shift = eta.max()
    r = np.exp(eta - shift)  # the shift cancels in every ratio below
    ev, grp, frac = ix.ev, ix.grp, ix.frac
    rx = r[:, None] * X
    s0 = ix.at_risk_sums(r)
    s1 = ix.at_risk_sums(rx)
    s0t = ix.per_group(r[ev])
    s1t = ix.per_group(rx[ev])
    den = s0[grp] - frac * s0t[grp]
    xbar = (s1[grp] - frac[:, None] * s1t[grp]) / den[:, None]
    inv = 1.0 / den
    xbar_inv = xbar * inv[:, None]
    a = ix.over_groups(ix.per_group(inv))
    a[ev] -= ix.per_group(frac * inv)[grp]
    loglik = eta[ev].sum() - (np.log(den) + shift).sum()
    return {"r": r, "xbar": xbar, "xbar_inv": xbar_inv, "a": a, "loglik": float(loglik),
            "s0": s0, "shift": shift}


def _score_info(X: np.ndarray, index: RiskSetIndex, s: dict) -> tuple[np.ndarray, np.ndarray]:
    score = X[index.ev].sum(axis=0) - s["xbar"].sum(axis=0)
    info = (X * (s["r"] * s["a"])[:, None]).T @ X - s["xbar"].T @ s["xbar"]
    return score, info


def _residuals(X: np.ndarray, index: RiskSetIndex, s: dict) -> np.ndarray:
    b = index.over_groups(index.per_group(s["xbar_inv"]))  # (n, p): only residuals need it
    b[index.ev] -= index.per_group(index.frac[:, None] * s["xbar_inv"])[index.grp]
    resid = -s["r"][:, None] * (X * s["a"][:, None] - b)
    mean_xbar = index.per_group(s["xbar"]) / index.d[:, None]
    resid[index.ev] += X[index.ev] - mean_xbar[index.grp]
    return resid


def score_and_information(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                          start: np.ndarray | None = None, strata: np.ndarray | None = None,
                          ties: str = "efron") -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the log partial likelihood (p,) and the information matrix (p, p).

    score = sum over events of x_i - sum over slots of xbar_k;
    information = sum_slots (S2_k / den_k - xbar_k xbar_k') = X' diag(r a) X - sum_slots
    xbar_k xbar_k', exact for Efron and Breslow (equals the autograd Hessian of cox_nll).
    """
    index = RiskSetIndex(stop, event, start, strata, ties)
    return _score_info(X, index, _efron_sums(X, beta, index))


def score_residuals(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                    start: np.ndarray | None = None, strata: np.ndarray | None = None,
                    ties: str = "efron") -> np.ndarray:
    """(n, p) score residuals, as R's ``residuals(coxph_fit, type = "score")``.

    Row i: delta_i (x_i - mean of the Efron xbar_k of its event time) minus
    r_i * sum over the slots it is at risk for of c_ik (x_i - xbar_k) / den_k (see
    ``_efron_sums``). They sum to the score.
    """
    index = RiskSetIndex(stop, event, start, strata, ties)
    return _residuals(X, index, _efron_sums(X, beta, index))


def breslow_baseline(eta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                     start: np.ndarray | None = None, strata: np.ndarray | None = None) -> pd.DataFrame:
    """Breslow cumulative baseline hazard at each event time (per stratum).

    Columns stratum (None without strata), time, hazard (d / sum of exp(eta) at risk),
    cumhaz. ``eta`` is the uncentred linear predictor x'beta.
    """
    index = RiskSetIndex(stop, event, start, strata, "breslow")
    shift = eta.max()
    sums = {"s0": index.at_risk_sums(np.exp(eta - shift)), "shift": shift}
    with np.errstate(divide="ignore"):  # s0 underflows only for diverged (infinite) fits
        return _baseline_table(index, sums, np.asarray(stop),
                               None if strata is None else np.asarray(strata))
