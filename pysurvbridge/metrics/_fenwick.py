"""Compiled prefix rank counts: a Fenwick (binary indexed) tree swept once, O((n + q) log n).

Used by ``pysurvbridge.metrics.concordance.prefix_rank_counts`` (counts, or sums of case
weights with ``_weighted_sums``) when numba is installed
(``pip install pysurvbridge[fast]``; it comes with the dev set-up); the numpy merge-sort tree
there gives the same counts without it, O((n + q) log^2 n).
"""
from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - exercised by the fallback test
    numba = None


def _counts(v_rank, prefix, q_rank, n_ranks):  # pragma: no cover - compiled
    n_queries = q_rank.shape[0]
    order = np.argsort(prefix, kind="mergesort")
    tree = np.zeros(n_ranks + 1, dtype=np.int64)
    less = np.zeros(n_queries, dtype=np.int64)
    equal = np.zeros(n_queries, dtype=np.int64)
    inserted = 0
    for k in range(n_queries):
        qi = order[k]
        while inserted < prefix[qi]:
            i = v_rank[inserted] + 1
            while i <= n_ranks:
                tree[i] += 1
                i += i & (-i)
            inserted += 1
        # rows with rank < q: prefix sum up to q_rank; rank <= q: up to q_rank + 1
        s = 0
        i = q_rank[qi]
        while i > 0:
            s += tree[i]
            i -= i & (-i)
        s_le = 0
        i = q_rank[qi] + 1
        while i > 0:
            s_le += tree[i]
            i -= i & (-i)
        less[qi] = s
        equal[qi] = s_le - s
    return less, equal


def _weighted_sums(v_rank, v_weight, prefix, q_rank, n_ranks):  # pragma: no cover - compiled
    """As ``_counts``, but each value carries a weight: sums of weights, not counts."""
    n_queries = q_rank.shape[0]
    order = np.argsort(prefix, kind="mergesort")
    tree = np.zeros(n_ranks + 1, dtype=np.float64)
    less = np.zeros(n_queries, dtype=np.float64)
    equal = np.zeros(n_queries, dtype=np.float64)
    inserted = 0
    for k in range(n_queries):
        qi = order[k]
        while inserted < prefix[qi]:
            i = v_rank[inserted] + 1
            w = v_weight[inserted]
            while i <= n_ranks:
                tree[i] += w
                i += i & (-i)
            inserted += 1
        s = 0.0
        i = q_rank[qi]
        while i > 0:
            s += tree[i]
            i -= i & (-i)
        s_le = 0.0
        i = q_rank[qi] + 1
        while i > 0:
            s_le += tree[i]
            i -= i & (-i)
        less[qi] = s
        equal[qi] = s_le - s
    return less, equal


def _compile(function):
    if numba is None:
        return None
    try:  # cache beside the module; an install without a writable place compiles per process
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:
        return numba.njit(nogil=True)(function)


compiled_counts = _compile(_counts)
#: weighted sums (case weights) instead of counts; same sweep, a float64 tree
compiled_weighted_sums = _compile(_weighted_sums)
