"""Concordance: coxph's (start, stop] version, Harrell's C and Uno's C on one pair counter.

The counter answers "how many comparable rows have lower / equal risk" for every event row in
O(n log^2 n) time and O(n) memory per level (a merge-sort tree in numpy), so no n x n matrix
is ever built.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics._fenwick import compiled_counts, compiled_weighted_sums
from pysurvbridge.metrics._inputs import as_vector, case_weights, same_length, survival_arrays
from pysurvbridge.metrics.censoring import CensoringKaplanMeier


def prefix_rank_counts(values: np.ndarray, prefix: np.ndarray, query: np.ndarray,
                       weights: np.ndarray | None = None, *,
                       _force_numpy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """For each query q: how many of ``values[:prefix[q]]`` are < ``query[q]``, and how many ==.

    With numba installed: a compiled Fenwick-tree sweep, O((n + q) log n). Otherwise a merge-sort tree built level by level in numpy: the prefix [0, L) splits into the aligned
    blocks of the binary digits of L; each level's blocks are sorted once and answered with
    one vectorised searchsorted. O((n + q) log^2 n) time, O(n + q) memory per level.
    With ``weights`` (n,) (one per value): sums of the weights of those values instead of
    counts (float64), by the same two methods.
    """
    n = len(values)
    _, ranks = np.unique(np.concatenate([values, query]), return_inverse=True)
    v_rank, q_rank = ranks[:n].astype(np.int64), ranks[n:].astype(np.int64)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if compiled_weighted_sums is not None and not _force_numpy:
            prefix = np.minimum(np.asarray(prefix, dtype=np.int64), n)
            return compiled_weighted_sums(v_rank, weights, prefix, q_rank,
                                          int(ranks.max()) + 1 if len(ranks) else 1)
        return _prefix_weight_sums_numpy(v_rank, weights, np.asarray(prefix, dtype=np.int64), q_rank,
                                         int(ranks.max()) + 2 if len(ranks) else 2)
    if compiled_counts is not None and not _force_numpy:
        prefix = np.minimum(np.asarray(prefix, dtype=np.int64), n)
        return compiled_counts(v_rank, prefix, q_rank, int(ranks.max()) + 1 if len(ranks) else 1)
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


def _prefix_weight_sums_numpy(v_rank, weights, prefix, q_rank, width):
    """The merge-sort tree of :func:`prefix_rank_counts` carrying weights: each level's blocks
    are sorted with their weights, and a level-wide cumulative sum answers a block's range."""
    n = len(v_rank)
    less = np.zeros(len(q_rank), dtype=np.float64)
    equal = np.zeros(len(q_rank), dtype=np.float64)
    positions = np.arange(n, dtype=np.int64)
    within, w = v_rank.copy(), weights.copy()
    level = 0
    while (1 << level) <= max(n, 1):
        size = 1 << level
        key = (positions >> level) * width + within
        perm = np.argsort(key, kind="stable")
        keys, w = key[perm], w[perm]
        within = keys - (positions >> level) * width
        use = (prefix >> level) & 1 == 1
        if use.any():
            cum = np.concatenate([[0.0], np.cumsum(w)])
            q_block = ((prefix[use] >> (level + 1)) << 1)
            lo = q_block * size
            lt = np.searchsorted(keys, q_block * width + q_rank[use], side="left")
            le = np.searchsorted(keys, q_block * width + q_rank[use], side="right")
            less[use] += cum[lt] - cum[lo]
            equal[use] += cum[le] - cum[lt]
        level += 1
        if size >= n:
            break
    return less, equal


def _at_least(values: np.ndarray, risk: np.ndarray, thresholds: np.ndarray, query_risk: np.ndarray,
              weights: np.ndarray | None = None):
    """Counts of rows with values >= threshold and risk < / == query_risk, and in all (with
    ``weights``: sums of the rows' weights)."""
    order = np.argsort(-values, kind="stable")
    sorted_desc = -values[order]
    prefix = np.searchsorted(sorted_desc, -thresholds, side="right")
    if weights is None:
        less, equal = prefix_rank_counts(risk[order], prefix, query_risk)
        return less, equal, prefix
    w = weights[order]
    less, equal = prefix_rank_counts(risk[order], prefix, query_risk, w)
    return less, equal, np.concatenate([[0.0], np.cumsum(w)])[prefix]


def _event_pair_counts(risk, stop, event, start=None, strata=None, weights=None):
    """Per event row: comparable rows with lower risk, equal risk, and in all (see
    :func:`concordance_counting` for which rows are comparable). Returns (rows, less, equal, total).

    With ``weights`` (n,): each comparable row j of event row i counts w_i * w_j (float64),
    as survival::concordance weights a pair.
    """
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
        w = None if weights is None else weights[idx]
        # at risk at t: stop >= t minus start >= t; then drop rows with an event at t
        a_less, a_eq, a_all = _at_least(t1, r, t, q, w)
        if has_start:
            b_less, b_eq, b_all = _at_least(t0, r, t, q, w)
        else:  # nobody enters late
            b_less = b_eq = b_all = 0
        c_less, c_eq, c_all = _tied_events(t, q, None if w is None else w[e])
        less, equal, total = a_less - b_less - c_less, a_eq - b_eq - c_eq, a_all - b_all - c_all
        if w is not None:  # times the event row's own weight
            less, equal, total = w[e] * less, w[e] * equal, w[e] * total
        rows_out.append(idx[e])
        less_out.append(less)
        equal_out.append(equal)
        total_out.append(total)
    if not rows_out:
        empty = np.zeros(0, dtype=np.int64 if weights is None else np.float64)
        return np.zeros(0, dtype=np.int64), empty, empty, empty
    return tuple(np.concatenate(x) for x in (rows_out, less_out, equal_out, total_out))


def concordance_counting(
    risk: np.ndarray,
    stop: np.ndarray,
    event: np.ndarray,
    start: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    *,
    weights=None,
) -> tuple[float, dict[str, float]]:
    """Harrell's C for (start, stop] data, as ``survival::concordance`` on a coxph fit.

    For each event time t (within a stratum), each row with an event at t is compared with
    every row at risk at t (start < t <= stop) that has no event at t: concordant when its
    ``risk`` is higher, discordant when lower, tied (counted 1/2) when equal. Pairs tied on
    the event time are not compared. Returns (C, counts) with counts concordant, discordant,
    tied_risk. Higher ``risk`` means earlier events. O(n log^2 n) time.

    ``weights`` (n,): case weights, positive and finite, one per row. A pair (event row i,
    comparable row j) then counts w_i * w_j, as ``survival::concordance(Surv(start, stop,
    event) ~ risk + strata(s), weights = w, reverse = TRUE)`` weights it; the counts are these
    weighted sums (R's ``$count``), C = (concordant + tied / 2) / (their total). Integer
    weights k equal repeating a row k times. None: every pair counts 1 (integer counts).
    """
    w = None if weights is None else case_weights(weights, len(np.asarray(stop)))
    _, less, equal, total = _event_pair_counts(risk, stop, event, start, strata, w)
    conc, tied = float(less.sum()), float(equal.sum())
    disc = float(total.sum()) - conc - tied
    n = conc + disc + tied
    c = (conc + tied / 2) / n if n else float("nan")
    return float(c), {"concordant": conc, "discordant": disc, "tied_risk": tied}


def _tied_events(t: np.ndarray, q: np.ndarray, w: np.ndarray | None = None):
    """For each event: events at the same time with lower / equal risk (itself included), all
    (with ``w``, the events' weights: sums of their weights).

    Only events sharing their time with another event need work: those are lexsorted by
    (time, risk) and counted from group boundaries; O(n log n).
    """
    if w is None:
        less, equal, total = np.zeros(len(t), np.int64), np.ones(len(t), np.int64), np.ones(len(t), np.int64)
    else:
        less, equal, total = np.zeros(len(t)), w.copy(), w.copy()
    by_time = np.argsort(t)
    ts = t[by_time]
    shared = np.zeros(len(t), dtype=bool)
    same = ts[1:] == ts[:-1]
    shared[1:] |= same
    shared[:-1] |= same
    rows = by_time[shared]
    if len(rows):
        less[rows], equal[rows], total[rows] = _tied_group_counts(t[rows], q[rows],
                                                                  None if w is None else w[rows])
    return less, equal, total


def _tied_group_counts(t: np.ndarray, q: np.ndarray, w: np.ndarray | None = None):
    n = len(t)
    order = np.lexsort((q, t))
    ts, qs = t[order], q[order]
    idx = np.arange(n)
    new_t = np.ones(n, dtype=bool)
    new_t[1:] = ts[1:] != ts[:-1]
    new_tq = new_t.copy()
    new_tq[1:] |= qs[1:] != qs[:-1]
    t_start = np.maximum.accumulate(np.where(new_t, idx, 0))
    tq_start = np.maximum.accumulate(np.where(new_tq, idx, 0))
    t_id, tq_id = np.cumsum(new_t) - 1, np.cumsum(new_tq) - 1
    if w is not None:
        ws = w[order]
        cum = np.concatenate([[0.0], np.cumsum(ws)])
        less, equal, total = np.empty(n), np.empty(n), np.empty(n)
        # lower risk at the same time: the (time, risk) groups before one's own in its time group
        less[order] = cum[tq_start] - cum[t_start]
        equal[order] = np.bincount(tq_id, weights=ws)[tq_id]
        total[order] = np.bincount(t_id, weights=ws)[t_id]
        return less, equal, total
    less, equal, total = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    less[order] = tq_start - t_start
    equal[order] = np.bincount(tq_id)[tq_id]
    total[order] = np.bincount(t_id)[t_id]
    return less, equal, total


def concordance_harrell(risk, time, event, *, weights=None,
                        return_pairs: bool = False) -> float | tuple[float, int | float]:
    """Harrell's C: higher ``risk`` should mean an earlier event.

    A pair (i, j) is comparable when i has an event and T_i < T_j, or T_i = T_j with j
    censored (survival::concordance and scikit-survival agree on this); ties in risk count 1/2.
    ``risk``, ``time``, ``event``: (n,) arrays or tensors. Returns C, or (C, number of
    comparable pairs) with ``return_pairs=True``. O(n log^2 n) time, O(n) memory.

    ``weights`` (n,): case weights (positive, finite; no unit, only their ratios matter).
    Each comparable pair (i, j) then counts w_i * w_j, the weight of the subject with the
    event times that of the other, which is what ``survival::concordance(Surv(time, event) ~
    risk, weights = w, reverse = TRUE)`` computes (checked against R to 1e-12, ties included);
    integer weights k equal repeating a subject k times. With weights, ``return_pairs`` gives
    the sum of w_i * w_j over the comparable pairs (a float) instead of their number.
    """
    t, e = survival_arrays(time, event, need_events=True)
    r = as_vector(risk, "risk")
    same_length("risk", r, len(t))
    w = None if weights is None else case_weights(weights, len(t))
    c, counts = concordance_counting(r, t, e, weights=w)
    pairs = counts["concordant"] + counts["discordant"] + counts["tied_risk"]
    pairs = int(pairs) if w is None else float(pairs)
    return (c, pairs) if return_pairs else c


def concordance_uno(risk, time, event, *, train_time, train_event, tau: float | None = None,
                    return_pairs: bool = False) -> float | tuple[float, int]:
    """Uno's C: Harrell's comparable pairs weighted by 1 / G(T_i)^2, only T_i < ``tau``.

    G is the censoring Kaplan-Meier of the training data (:class:`CensoringKaplanMeier`,
    right-continuous at T_i), as ``sksurv.metrics.concordance_index_ipcw``; Uno et al. (2011).
    With ``return_pairs=True`` also the number of comparable pairs with T_i < tau.
    """
    t, e = survival_arrays(time, event, need_events=True)
    r = as_vector(risk, "risk")
    same_length("risk", r, len(t))
    G = CensoringKaplanMeier(train_time, train_event)
    rows, less, equal, total = _event_pair_counts(r, t, e)
    limit = np.inf if tau is None else float(tau)
    use = t[rows] < limit
    g = G(t[rows])
    if (g[use] <= 0).any():
        raise InvalidParameterError(
            f"the censoring distribution G of the training data is 0 from t = {G.zero_from:g}, "
            f"before tau; choose tau <= {G.zero_from:g}")
    w = np.where(use, 1.0 / np.where(g > 0, g, 1.0) ** 2, 0.0)
    denominator = (w * total).sum()
    c = float((w * (less + 0.5 * equal)).sum() / denominator) if denominator else float("nan")
    return (c, int(total[use].sum())) if return_pairs else c
