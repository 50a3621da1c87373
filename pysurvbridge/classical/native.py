"""The native engine: Newton-Raphson on the Cox partial likelihood and R's robust sandwich.

- Once per fit (``RiskSets``, ``_Model``): the rows sorted by (stratum, stop), the
  event groups (distinct stratum and event time) with their tie counts, for each row the range
  of groups it is at risk for ((start, stop] rows: entries by stop time, exits by start time),
  and the design sorted and centred (as coxph centres it).
- Each Newton iteration (``_sweeps``, compiled by numba or its numpy twin): one O(n p) sweep
  down in time gives the risk-set sums S0, S1 and tied-event sums at every group, hence the
  log-likelihood (exp(eta) scaled by its maximum), the score and the group part of the
  information, sum_slots xbar xbar' (aggregated per event time); one O(n p^2) pass adds the
  row part X' diag(r a) X. Efron and Breslow, strata, (start, stop] data. Nothing of size
  n x p x p is ever formed; the working memory is one sorted copy of X plus O(n) vectors.
- Step halving when the likelihood does not improve, as coxph does; naive variance = inverse
  information at the estimate; the log-likelihood reported is the last sweep's.
- Robust variance: score residuals (Efron or Breslow, counting process, strata) summed within
  each cluster, V (sum_c u_c u_c') V: the dfbeta sandwich of ``coxph(... + cluster(id))``.
- The Breslow baseline hazard d / S0 from the same sums.
- Case weights (``weights``, coxph's ``weights =``): every sum is weighted (see ``_sweeps``),
  the log-likelihood is sum over events of w_i (eta_i - log den), and the robust variance is
  the sandwich of the weighted score residuals, as R's ``residuals(fit, "dfbeta",
  weighted = TRUE)``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pysurvbridge.classical._sweeps import group_residual_sums, kernels
from pysurvbridge.classical.design import CoxProblem
from pysurvbridge.classical.newton import newton_maximise, warn_if_infinite
from pysurvbridge.errors import InvalidParameterError


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


def fit_newton(problem: CoxProblem, ties: str, *, max_iter: int = 30, eps: float = 1e-12,
               _force_numpy: bool = False) -> NativeResult:
    """Maximise the partial likelihood of ``problem``; see the module docstring."""
    rs = RiskSets(problem.stop, problem.event, problem.start, problem.strata,
                  weights=problem.weights, force_numpy=_force_numpy)
    model = _Model(problem.X, rs, ties, _force_numpy)
    fit = newton_maximise(model.sweep, lambda st: st.loglik, model.derivatives, model.X.shape[1],
                          max_iter=max_iter, eps=eps, stacklevel=4)
    beta, state, converged = fit.beta, fit.state, fit.converged

    # a diverged fit (already warned about) over/underflows: NaN SEs, no noise
    with np.errstate(all="ignore") if not converged else contextlib.nullcontext():
        _, info = model.derivatives(state)
        var = np.linalg.inv(info)
        meat = model.cluster_meat(state, problem.cluster)
        baseline = model.baseline(state, problem.strata)
    robust = var @ meat @ var
    if converged:
        warn_if_infinite(beta, state.score @ var, problem.covariates, stacklevel=4)
    return NativeResult(beta, var, robust, state.loglik, fit.loglik_null, fit.iterations, converged, baseline)


def fit_point(X: np.ndarray, time: np.ndarray, event: np.ndarray, ties: str = "breslow", *, max_iter: int = 30,
              eps: float = 1e-12, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(beta (p,), distinct event times (G,), Breslow cumulative baseline hazard there (G,))
    of a (0, time] Cox model on arrays: the same Newton steps as :func:`fit_newton`, without
    the variances, the layout or any table, for callers that fit thousands of small models
    (the calibration curve inside a bootstrap). The baseline is for uncentred x."""
    rs = RiskSets(np.asarray(time, dtype=np.float64), np.asarray(event, dtype=np.float64), weights=weights)
    model = _Model(np.asarray(X, dtype=np.float64), rs, ties)
    fit = newton_maximise(model.sweep, lambda st: st.loglik, model.derivatives, model.X.shape[1],
                          max_iter=max_iter, eps=eps, stacklevel=3)
    st = fit.state
    with np.errstate(all="ignore"):
        hazard = rs.wd / (st.s0 * np.exp(st.shift + model.mean @ st.beta))
    return fit.beta, rs.times, np.cumsum(hazard)


def check_ties(ties: str) -> None:
    if ties not in ("efron", "breslow"):
        raise InvalidParameterError(f"ties must be 'efron' or 'breslow' (coxph's 'exact' is not implemented), "
                                    f"but was {ties!r}")


class RiskSets:
    """Everything about the risk sets that depends on the times only (built once per fit).

    ``order`` sorts the rows by (stratum, stop); in that order ``s`` is each row's stratum
    code, groups are the distinct (stratum, event time) pairs (``d`` events each, stratum
    ``gstr``, first row ``group_rows``; stratum st owns groups ``gs_start[st]:gs_start[st+1]``)
    and row i is at risk for groups ``lo[i] <= g < hi[i]``: hi counts the groups at or before
    its stop time, lo those at or before its start time (the stratum's first group without
    start times); ``exits`` lists, by lo, the rows that leave the risk set above their
    stratum's first group, and ``exit_group`` is lo - 1 for each. With case weights, ``w`` is
    them in this order and ``wd`` each group's sum of event weights (else ``w`` is None and
    ``wd`` is d as floats). Sorting: one quicksort of
    the stop times (plus a stable radix pass on the stratum codes), one more of the start
    times for (start, stop] data; the rest is linear.
    """

    def __init__(self, stop: np.ndarray, event: np.ndarray, start: np.ndarray | None = None,
                 strata: np.ndarray | None = None, *, weights: np.ndarray | None = None,
                 force_numpy: bool = False) -> None:
        stop = np.asarray(stop, dtype=np.float64)
        n = self.n = len(stop)
        codes, self.n_strata = _strata_codes(strata, n)
        self.order = order = _sort(stop, codes, self.n_strata)
        stop_s = stop[order]
        self.event = np.asarray(event)[order] == 1
        s = codes[order] if self.n_strata > 1 else codes
        hi, self.group_rows, self.d = kernels(force_numpy)["ties"](stop_s, s, self.event)
        self.n_groups = len(self.d)
        self.gstr = s[self.group_rows]
        self.times = stop_s[self.group_rows]
        self.gs_start = np.searchsorted(self.gstr, np.arange(self.n_strata + 1))
        itype = np.int32 if n + self.n_strata < 2**31 - 2 else np.int64
        if start is None:
            lo = self.gs_start[s]
            self.exits = np.zeros(0, dtype=itype)
        else:  # rows by (stratum, start): merged with the groups, then those that ever leave
            start_s = np.asarray(start, dtype=np.float64)[order]
            q = _sort(start_s, s, self.n_strata)
            lo = np.empty(n, dtype=np.int64)
            lo[q] = kernels(force_numpy)["count_before"](s[q], start_s[q], self.gstr, self.times)
            self.exits = q[(lo[q] > self.gs_start[s[q]]) & (hi[q] > lo[q])].astype(itype)
        self.hi, self.lo, self.s = hi.astype(itype), lo.astype(itype), s.astype(itype)
        self.exit_group = self.lo[self.exits] - 1  # the last group each leaving row is out of
        self.gstr = self.gstr.astype(itype)
        self.n_events = int(self.event.sum())
        self.has_exits = len(self.exits) > 0
        if weights is None:
            self.w = None
            self.wd = self.d.astype(np.float64)
            self.event_weight = float(self.n_events)
        else:
            self.w = np.asarray(weights, dtype=np.float64)[order]
            self.wd = np.bincount(hi[self.event] - 1, weights=self.w[self.event], minlength=self.n_groups)
            self.event_weight = float(self.w[self.event].sum())

    def strata_values(self, strata: np.ndarray | None):
        """The stratum label of each group (None without strata)."""
        return None if strata is None else np.asarray(strata)[self.order[self.group_rows]]


def _strata_codes(strata, n: int) -> tuple[np.ndarray, int]:
    if strata is None:
        return np.zeros(n, dtype=np.int32), 1
    codes, uniques = pd.factorize(np.asarray(strata), use_na_sentinel=False)
    return codes.astype(np.int64), max(len(uniques), 1)


def _sort(key: np.ndarray, codes: np.ndarray, n_strata: int) -> np.ndarray:
    """Rows sorted by (stratum code, key): a quicksort of the key, then a stable radix sort of
    the small integer codes."""
    order = np.argsort(key)
    if n_strata > 1:
        small = codes[order].astype(np.int16 if n_strata < 2**15 else np.int64)
        order = order[np.argsort(small, kind="stable")]
    return order


@dataclass
class _State:
    """The partial likelihood at one beta, with the per-group sums its derivatives need."""

    beta: np.ndarray
    shift: float
    r: np.ndarray  # exp(eta - shift), rows in risk-set order
    s0: np.ndarray  # (G,) risk-set sums of r
    A: np.ndarray  # (G,) sum over the group's slots of 1/den
    B: np.ndarray  # (G,) ... of (k/d)/den
    loglik: float
    score: np.ndarray
    group_info: np.ndarray  # sum over slots of xbar xbar'


class _Model:
    """The sorted, centred design of one problem with its risk sets; evaluates the partial
    likelihood and its derivatives at any beta."""

    def __init__(self, X: np.ndarray, rs: RiskSets, ties: str, force_numpy: bool = False) -> None:
        check_ties(ties)
        self.rs = rs
        self.k = kernels(force_numpy)
        self.efron = ties == "efron" and bool((rs.d > 1).any())
        # sorted (one row gather) and centred, as coxph centres: the sums below stay well scaled
        self.X = np.take(np.asarray(X, dtype=np.float64), rs.order, axis=0)
        self.mean, self.x_events = self.k["centre"](self.X, rs.event)
        if rs.w is not None:  # sum over events of w_i x_i (centred)
            self.x_events = self.X[rs.event].T @ rs.w[rs.event]
        self.logw = np.zeros(0) if rs.w is None else np.log(rs.w)
        self.wt = np.zeros(0) if rs.w is None else rs.w
        self.X_exit = np.take(self.X, rs.exits, axis=0)  # the leaving rows, read in order
        tied = np.flatnonzero(rs.d > 1) if self.efron else np.zeros(0, dtype=np.int64)
        self.tied_idx = np.full(rs.n_groups, -1, dtype=rs.hi.dtype)  # compact index of tied groups
        self.tied_idx[tied] = np.arange(len(tied))

    def sweep(self, beta: np.ndarray, derivs: bool = True, store: _State | None = None) -> _State:
        """Log partial likelihood at beta (and, with ``derivs``, the score and the group part
        of the information): one O(n p) pass. ``store`` (the state at beta) reuses its risk
        scores and returns the residuals' group sums too: the mean xbar of every group (G, p)
        and, for the tied groups only, sum_k xbar_k / den_k and sum_k f_k xbar_k / den_k."""
        rs = self.rs
        G, p = rs.n_groups, self.X.shape[1]
        r, shift = (np.empty(rs.n), 0.0) if store is None else (store.r, store.shift)
        s0, A, B = np.empty(G), np.empty(G), np.empty(G)
        m, t = (0, 0) if store is None else (G, int((self.tied_idx >= 0).sum()))
        xmean, Abt, Bbt = np.empty((m, p)), np.empty((t, p)), np.empty((t, p))
        shift, logden, score, group_info = self.k["sweep"](
            self.X, beta, rs.hi, rs.lo, rs.s, rs.event, rs.gs_start, rs.d, rs.wd, self.logw, self.efron,
            rs.exits, rs.exit_group, self.X_exit, derivs, store is None, shift, r, s0, A, B, xmean,
            self.tied_idx, Abt, Bbt)
        loglik = float(self.x_events @ beta) - logden - rs.event_weight * shift
        st = _State(beta, shift, r, s0, A, B, loglik, score + self.x_events, group_info)
        return st if store is None else (st, xmean, Abt, Bbt)

    def _Apad(self, st: _State) -> np.ndarray:
        return self.k["padded_prefix"](st.A.reshape(-1, 1), self.rs.gstr, self.rs.n_strata).ravel()

    def derivatives(self, st: _State) -> tuple[np.ndarray, np.ndarray]:
        """Score (p,) and information (p, p); see :func:`score_and_information`."""
        rs = self.rs
        rows = self.k["row_information"](self.X, st.r, rs.hi, rs.lo, rs.s, rs.event,
                                         self._Apad(st), st.B)
        return st.score, rows - st.group_info

    def residual_meat(self, st: _State, codes: np.ndarray, U: np.ndarray) -> np.ndarray:
        """Score residuals at ``st`` summed into U[codes] (rows in risk-set order), and
        sum_c U_c U_c'; with an empty U, the sum of the rows' outer products (one row per
        cluster)."""
        rs = self.rs
        st, xmean, Abt, Bbt = self.sweep(st.beta, derivs=False, store=st)
        if rs.has_exits:  # prefix sums over the groups, read at lo and hi
            Ab = group_residual_sums(st.A, xmean, self.tied_idx, Abt, Bbt)[0]
            Apad, Cb = self._Apad(st), self.k["padded_prefix"](Ab, rs.gstr, rs.n_strata)
        else:  # running sums inside the kernel
            Apad, Cb = np.zeros(0), np.zeros((0, xmean.shape[1]))
        return self.k["residual_meat"](self.X, st.r, self.wt, rs.hi, rs.lo, rs.s, rs.event, rs.gs_start,
                                       rs.has_exits, st.A, st.B, xmean, self.tied_idx, Abt, Bbt,
                                       Apad, Cb, codes, U)

    def cluster_meat(self, st: _State, cluster: np.ndarray) -> np.ndarray:
        """sum over clusters of u_c u_c', u_c the score residuals summed within cluster c."""
        p = self.X.shape[1]
        codes, n_codes, one_row_each = _cluster_codes(np.take(np.asarray(cluster), self.rs.order))
        if one_row_each:
            return self.residual_meat(st, codes, np.zeros((0, p)))
        return self.residual_meat(st, codes, np.zeros((n_codes, p)))

    def baseline(self, st: _State, strata: np.ndarray | None) -> pd.DataFrame:
        """Breslow table: stratum, time, hazard d / S0 (uncentred x), cumhaz per stratum."""
        hazard = self.rs.wd / (st.s0 * np.exp(st.shift + self.mean @ st.beta))
        return _baseline_table(self.rs, hazard, strata)


def _baseline_table(rs: RiskSets, hazard: np.ndarray, strata: np.ndarray | None) -> pd.DataFrame:
    table = pd.DataFrame({"stratum": rs.strata_values(strata), "time": rs.times, "hazard": hazard})
    if rs.n_strata > 1:
        table["cumhaz"] = table.groupby(rs.gstr)["hazard"].cumsum().to_numpy()
    else:
        table["cumhaz"] = np.cumsum(hazard)
    return table


def _cluster_codes(cluster: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """Integer codes of the clusters, their range, and whether every cluster has one row.
    Integer ids in a compact range are their own codes (no hashing; ``cluster`` is a fresh
    array, shifted in place)."""
    n = len(cluster)
    if n and np.issubdtype(cluster.dtype, np.integer):
        low, high = int(cluster.min()), int(cluster.max())
        if high - low < 4 * n + 16:
            codes = cluster.astype(np.int64, copy=False)  # the caller's own gathered copy
            codes -= low
            one_row_each = bool(np.bincount(codes, minlength=high - low + 1).max() <= 1)
            return codes, high - low + 1, one_row_each
    codes, uniques = pd.factorize(cluster, use_na_sentinel=False)
    return codes.astype(np.int64), len(uniques), len(uniques) == n


# ----------------------------------------------------------------------------- public helpers


def score_and_information(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                          start: np.ndarray | None = None, strata: np.ndarray | None = None,
                          ties: str = "efron", *, weights: np.ndarray | None = None,
                          _force_numpy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the log partial likelihood (p,) and the information matrix (p, p).

    score = sum over events of x_i - sum over slots of xbar_k;
    information = sum_slots (S2_k / den_k - xbar_k xbar_k') = X' diag(r a) X - sum_slots
    xbar_k xbar_k', exact for Efron and Breslow (equals the autograd Hessian of cox_nll):
    a_i sums c/den over the slots row i is at risk for (c = 1 - k/d in its own tied slots
    under Efron, else 1), and with xbar_k = (S1 - f_k T1) / den_k (f_k = k/d, T1 the tied
    events' sum) the second term is, per event time, al S1 S1' - be (S1 T1' + T1 S1') +
    ga T1 T1' (al, be, ga: sums of 1, f, f^2 over den_k^2). Neither needs S2.
    """
    rs = RiskSets(stop, event, start, strata, weights=weights, force_numpy=_force_numpy)
    model = _Model(X, rs, ties, _force_numpy)
    return model.derivatives(model.sweep(np.asarray(beta, dtype=np.float64)))


def score_residuals(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                    start: np.ndarray | None = None, strata: np.ndarray | None = None,
                    ties: str = "efron", *, weights: np.ndarray | None = None,
                    _force_numpy: bool = False) -> np.ndarray:
    """(n, p) score residuals in the rows' order, as R's ``residuals(coxph_fit, type = "score")``.

    Row i: delta_i (x_i - mean of the Efron xbar_k of its event time) minus
    r_i * sum over the slots it is at risk for of c_ik (x_i - xbar_k) / den_k (c_ik = 1 - k/d
    in its own tied slots under Efron, else 1). They sum to the score. With case ``weights``
    (n,), the sums are weighted and the residuals are R's default, unweighted ones: the score is
    then sum_i w_i u_i.
    """
    rs = RiskSets(stop, event, start, strata, weights=weights, force_numpy=_force_numpy)
    model = _Model(X, rs, ties, _force_numpy)
    out = np.zeros_like(model.X)
    st = model.sweep(np.asarray(beta, dtype=np.float64), derivs=False)
    model.residual_meat(st, rs.order, out)  # row i of out: its own (weighted) residual
    return out if weights is None else out / np.asarray(weights, dtype=np.float64)[:, None]


def breslow_baseline(eta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                     start: np.ndarray | None = None, strata: np.ndarray | None = None, *,
                     weights: np.ndarray | None = None, _force_numpy: bool = False) -> pd.DataFrame:
    """Breslow cumulative baseline hazard at each event time (per stratum).

    Columns stratum (None without strata), time, hazard (d / sum of exp(eta) at risk),
    cumhaz. ``eta`` is the uncentred linear predictor x'beta.
    """
    rs = RiskSets(stop, event, start, strata, weights=weights, force_numpy=_force_numpy)
    model = _Model(np.asarray(eta, dtype=np.float64).reshape(-1, 1), rs, "breslow", _force_numpy)
    with np.errstate(divide="ignore", over="ignore"):  # only diverged (infinite) fits over/underflow
        return model.baseline(model.sweep(np.ones(1), derivs=False), strata)
