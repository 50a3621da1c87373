"""Metrics that know nothing about which model made a prediction.

This module starts with the concordance coxph reports; the metrics issue extends it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["concordance_counting", "prefix_rank_counts"]


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
    risk = np.asarray(risk, dtype=np.float64)
    stop = np.asarray(stop, dtype=np.float64)
    event = np.asarray(event)
    has_start = start is not None
    start = np.full(len(stop), -np.inf) if start is None else np.asarray(start, dtype=np.float64)
    codes = np.zeros(len(stop), dtype=np.int64) if strata is None else pd.factorize(np.asarray(strata))[0]
    conc = disc = tied = 0.0
    for s in np.unique(codes):
        rows = codes == s
        r, t0, t1, e = risk[rows], start[rows], stop[rows], event[rows] == 1
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
        less = a_less - b_less - c_less
        equal = a_eq - b_eq - c_eq
        greater = (a_all - b_all - c_all) - less - equal
        conc += less.sum()
        disc += greater.sum()
        tied += equal.sum()
    total = conc + disc + tied
    c = (conc + tied / 2) / total if total else float("nan")
    return float(c), {"concordant": float(conc), "discordant": float(disc), "tied_risk": float(tied)}


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
