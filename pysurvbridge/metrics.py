"""Metrics that know nothing about which model made a prediction.

Concordance (coxph's (start, stop] version, Harrell, Uno) on one O(n log^2 n) pair counter,
the censoring Kaplan-Meier, and the IPCW Brier score with the conventions peers differ on.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pysurvbridge.errors import InvalidParameterError

__all__ = ["concordance_counting", "concordance_harrell", "concordance_uno", "CensoringKaplanMeier",
           "brier_score", "integrated_brier_score",
           "prefix_rank_counts"]


def prefix_rank_counts(values: np.ndarray, prefix: np.ndarray, query: np.ndarray,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """For each query q: how many of ``values[:prefix[q]]`` are < ``query[q]``, and how many ==.

    A merge-sort tree built level by level in numpy: the prefix [0, L) splits into the aligned
    blocks of the binary digits of L; each level's blocks are sorted once and answered with
    one vectorised searchsorted. O((n + q) log^2 n) time, O(n + q) memory per level.
    """
    n = len(values)
    _, ranks = np.unique(np.concatenate([values, query]), return_inverse=True)
    v_rank, q_rank = ranks[:n].astype(np.int64), ranks[n:].astype(np.int64)
    width = int(ranks.max()) + 2 if len(ranks) else 2
    # queries in prefix order: the needles of every searchsorted below then move through the
    # sorted keys almost monotonically (cache-friendly; 10x faster at 1e6 rows)
    q_order = np.lexsort((q_rank, np.asarray(prefix, dtype=np.int64)))
    prefix = np.asarray(prefix, dtype=np.int64)[q_order]
    q_rank = q_rank[q_order]
    less = np.zeros(len(query), dtype=np.int64)
    equal = np.zeros(len(query), dtype=np.int64)
    positions = np.arange(n, dtype=np.int64)
    level = 0
    within = v_rank.copy()  # ranks sorted within each block of the current level
    while (1 << level) <= max(n, 1):
        size = 1 << level
        # blocks of this level are two sorted runs of the previous one: a stable (tim)sort
        # merges them in linear time
        keys = np.sort((positions >> level) * width + within, kind="stable")
        within = keys - (positions >> level) * width
        use = (prefix >> level) & 1 == 1
        if use.any():
            # the block of this level inside [0, L): starts at (L >> (level+1)) << (level+1)
            q_block = ((prefix[use] >> (level + 1)) << 1)
            base = q_block * width
            lo = q_block * size  # every block but the last holds exactly `size` rows
            lt = np.searchsorted(keys, base + q_rank[use], side="left")
            le = np.searchsorted(keys, base + q_rank[use], side="right")
            less[use] += lt - lo
            equal[use] += le - lt
        level += 1
        if size >= n:
            break
    out_less, out_equal = np.empty_like(less), np.empty_like(equal)
    out_less[q_order], out_equal[q_order] = less, equal
    return out_less, out_equal


def _at_least(values: np.ndarray, risk: np.ndarray, thresholds: np.ndarray, query_risk: np.ndarray):
    """Counts of rows with values >= threshold and risk < / == query_risk, and in all."""
    order = np.argsort(-values, kind="stable")
    sorted_desc = -values[order]
    prefix = np.searchsorted(sorted_desc, -thresholds, side="right")
    less, equal = prefix_rank_counts(risk[order], prefix, query_risk)
    return less, equal, prefix


def _event_pair_counts(risk, stop, event, start=None, strata=None):
    """Per event row: comparable rows with lower risk, equal risk, and in all (see
    :func:`concordance_counting` for which rows are comparable). Returns (rows, less, equal, total)."""
    risk = np.asarray(risk, dtype=np.float64)
    stop = np.asarray(stop, dtype=np.float64)
    event = np.asarray(event)
    has_start = start is not None
    start = np.full(len(stop), -np.inf) if start is None else np.asarray(start, dtype=np.float64)
    codes = np.zeros(len(stop), dtype=np.int64) if strata is None else pd.factorize(np.asarray(strata))[0]
    rows_out, less_out, equal_out, total_out = [], [], [], []
    for s in np.unique(codes):
        idx = np.flatnonzero(codes == s)
        r, t0, t1, e = risk[idx], start[idx], stop[idx], event[idx] == 1
        if not e.any():
            continue
        t, q = t1[e], r[e]
        # at risk at t: stop >= t minus start >= t; then drop rows with an event at t
        a_less, a_eq, a_all = _at_least(t1, r, t, q)
        if has_start:
            b_less, b_eq, b_all = _at_least(t0, r, t, q)
        else:  # nobody enters late
            b_less = b_eq = b_all = 0
        c_less, c_eq, c_all = _tied_events(t, q)
        rows_out.append(idx[e])
        less_out.append(a_less - b_less - c_less)
        equal_out.append(a_eq - b_eq - c_eq)
        total_out.append(a_all - b_all - c_all)
    if not rows_out:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    return tuple(np.concatenate(x) for x in (rows_out, less_out, equal_out, total_out))


def concordance_counting(
    risk: np.ndarray,
    stop: np.ndarray,
    event: np.ndarray,
    start: np.ndarray | None = None,
    strata: np.ndarray | None = None,
) -> tuple[float, dict[str, float]]:
    """Harrell's C for (start, stop] data, as ``survival::concordance`` on a coxph fit.

    For each event time t (within a stratum), each row with an event at t is compared with
    every row at risk at t (start < t <= stop) that has no event at t: concordant when its
    ``risk`` is higher, discordant when lower, tied (counted 1/2) when equal. Pairs tied on
    the event time are not compared. Returns (C, counts) with counts concordant, discordant,
    tied_risk. Higher ``risk`` means earlier events. O(n log^2 n) time.
    """
    _, less, equal, total = _event_pair_counts(risk, stop, event, start, strata)
    conc, tied = float(less.sum()), float(equal.sum())
    disc = float(total.sum()) - conc - tied
    n = conc + disc + tied
    c = (conc + tied / 2) / n if n else float("nan")
    return float(c), {"concordant": conc, "discordant": disc, "tied_risk": tied}


def _tied_events(t: np.ndarray, q: np.ndarray):
    """For each event: events at the same time with lower / equal risk (itself included), all."""
    _, t_rank = np.unique(t, return_inverse=True)
    _, q_rank = np.unique(q, return_inverse=True)
    width = int(q_rank.max()) + 2
    keys = np.sort(t_rank * width + q_rank)
    base = t_rank * width
    lo = np.searchsorted(keys, base, side="left")
    hi = np.searchsorted(keys, base + width, side="left")
    lt = np.searchsorted(keys, base + q_rank, side="left")
    le = np.searchsorted(keys, base + q_rank, side="right")
    return lt - lo, le - lt, hi - lo


# ---------------------------------------------------------------- right-censored C-indices


def _as_array(x, name: str, dtype=np.float64) -> np.ndarray:
    """numpy view of an array-like or torch tensor (moved to the CPU), 1-D, finite."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim != 1:
        raise InvalidParameterError(f"{name} must be 1-D, but has shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InvalidParameterError(f"{name} has missing or infinite values at positions "
                                    f"{np.flatnonzero(bad)[:5].tolist()}")
    return arr


def _survival_arrays(time, event, what: str = "") -> tuple[np.ndarray, np.ndarray]:
    t = _as_array(time, f"{what}time")
    e = _as_array(event, f"{what}event")
    if len(t) != len(e):
        raise InvalidParameterError(f"{what}time and {what}event differ in length: {len(t)} and {len(e)}")
    if (t < 0).any():
        raise InvalidParameterError(f"{what}time has negative values at positions "
                                    f"{np.flatnonzero(t < 0)[:5].tolist()}")
    if not np.isin(e, (0, 1)).all():
        raise InvalidParameterError(f"{what}event must be 0/1, found {sorted(set(e[~np.isin(e, (0, 1))]))[:5]}")
    return t, e.astype(np.int64)


class CensoringKaplanMeier:
    """Kaplan-Meier estimate G of the censoring distribution (the "reverse" KM).

    At a time with both events and censorings the events leave the risk set first, so the
    censoring hazard is n_censored / (n_at_risk - n_events): scikit-survival's and prodlim's
    convention. ``G(t)`` is right-continuous; ``G(t, left=True)`` is the left limit G(t-).
    """

    def __init__(self, time, event) -> None:
        t, e = _survival_arrays(time, event, "train_")
        self.times, inverse = np.unique(t, return_inverse=True)
        n_events = np.bincount(inverse, weights=e, minlength=len(self.times))
        n_total = np.bincount(inverse, minlength=len(self.times))
        n_censored = n_total - n_events
        at_risk = len(t) - (np.cumsum(n_total) - n_total)
        denominator = at_risk - n_events
        hazard = np.divide(n_censored, denominator, out=np.zeros(len(self.times)),
                           where=denominator > 0)
        self.values = np.cumprod(1.0 - hazard)

    def __call__(self, t, left: bool = False) -> np.ndarray:
        idx = np.searchsorted(self.times, np.asarray(t, dtype=np.float64),
                              side="left" if left else "right")
        return np.concatenate([[1.0], self.values])[idx]


def concordance_harrell(risk, time, event, *, return_pairs: bool = False):
    """Harrell's C: higher ``risk`` should mean an earlier event.

    A pair (i, j) is comparable when i has an event and T_i < T_j, or T_i = T_j with j
    censored (survival::concordance and scikit-survival agree on this); ties in risk count 1/2.
    Returns C, or (C, number of comparable pairs) with ``return_pairs=True``. O(n log^2 n).
    """
    r = _as_array(risk, "risk")
    t, e = _survival_arrays(time, event)
    if len(r) != len(t):
        raise InvalidParameterError(f"risk has {len(r)} values but time has {len(t)}")
    c, counts = concordance_counting(r, t, e)
    pairs = int(counts["concordant"] + counts["discordant"] + counts["tied_risk"])
    return (c, pairs) if return_pairs else c


def concordance_uno(risk, time, event, *, train_time, train_event, tau: float | None = None,
                    return_pairs: bool = False):
    """Uno's C: Harrell's comparable pairs weighted by 1 / G(T_i)^2, only T_i < ``tau``.

    G is the censoring Kaplan-Meier of the training data (:class:`CensoringKaplanMeier`,
    right-continuous at T_i), as ``sksurv.metrics.concordance_index_ipcw``; Uno et al. (2011).
    """
    r = _as_array(risk, "risk")
    t, e = _survival_arrays(time, event)
    if len(r) != len(t):
        raise InvalidParameterError(f"risk has {len(r)} values but time has {len(t)}")
    G = CensoringKaplanMeier(train_time, train_event)
    rows, less, equal, total = _event_pair_counts(r, t, e)
    use = t[rows] < (np.inf if tau is None else tau)
    g = G(t[rows])
    if (g[use] <= 0).any():
        raise InvalidParameterError(
            "the censoring distribution is 0 at some test event times before tau; choose a "
            "smaller tau"
        )
    w = np.where(use, 1.0 / np.where(g > 0, g, 1.0) ** 2, 0.0)
    denominator = (w * total).sum()
    c = float((w * (less + 0.5 * equal)).sum() / denominator) if denominator else float("nan")
    return (c, int(total[use].sum())) if return_pairs else c


# ---------------------------------------------------------------- Brier score (Graf et al. 1999)


def _survival_matrix(survival, n: int, m: int) -> np.ndarray:
    if hasattr(survival, "detach"):
        survival = survival.detach().cpu().numpy()
    S = np.asarray(survival, dtype=np.float64)
    if S.shape != (n, m):
        raise InvalidParameterError(f"survival must have shape (n subjects, len(times)) = {(n, m)}, "
                                    f"but has {S.shape}")
    if not np.isfinite(S).all() or (S < 0).any() or (S > 1).any():
        raise InvalidParameterError("survival must hold probabilities in [0, 1] (no NaN)")
    return S


def brier_score(survival, times, time, event, *, train_time=None, train_event=None,
                censoring_weight_at: str = "t") -> np.ndarray:
    """IPCW Brier score at each of ``times`` (Graf et al. 1999). Returns an array (len(times),).

    BS(t) = mean_i [ 1{T_i <= t, event_i} S_i(t)^2 / G(T_i) + 1{T_i > t} (1 - S_i(t))^2 / G(t) ]

    ``survival`` (n, len(times)) holds the predicted S_i(t). G is the censoring Kaplan-Meier of
    ``train_time``/``train_event`` (scikit-survival's convention) or, when they are None, of the
    test data itself (ipred::sbrier's). ``censoring_weight_at="t-"`` weights cases by the left
    limit G(T_i-) (pec and riskRegression) instead of G(T_i). A zero weight denominator is an
    error (scikit-survival silently drops those terms).
    """
    if censoring_weight_at not in ("t", "t-"):
        raise InvalidParameterError(f"censoring_weight_at must be 't' or 't-', but was {censoring_weight_at!r}")
    t, e = _survival_arrays(time, event)
    grid = _as_array(times, "times")
    S = _survival_matrix(survival, len(t), len(grid))
    if train_time is None:
        G = CensoringKaplanMeier(t, e)
    else:
        G = CensoringKaplanMeier(train_time, train_event)
    g_case = G(t, left=censoring_weight_at == "t-")
    g_t = G(grid)
    case = (t[:, None] <= grid[None, :]) & (e[:, None] == 1)
    control = t[:, None] > grid[None, :]
    if (case & (g_case[:, None] <= 0)).any() or (control.any(axis=0) & (g_t <= 0)).any():
        raise InvalidParameterError(
            "the censoring distribution is 0 where a weight is needed (times beyond the last "
            "censoring time of the data G is estimated from); use earlier times"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(case, S**2 / g_case[:, None], 0.0) + \
            np.where(control, (1.0 - S) ** 2 / g_t[None, :], 0.0)
    return terms.mean(axis=0)


def integrated_brier_score(survival, times, time, event, **kwargs) -> float:
    """Brier score integrated over ``times`` by the trapezoid rule, divided by their span."""
    grid = _as_array(times, "times")
    if len(grid) < 2 or np.any(np.diff(grid) <= 0):
        raise InvalidParameterError("times must hold at least two increasing values")
    bs = brier_score(survival, grid, time, event, **kwargs)
    return float(np.trapezoid(bs, grid) / (grid[-1] - grid[0]))
