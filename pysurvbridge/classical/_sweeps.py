"""The native Cox engine's per-row passes, compiled with numba when it is installed.

Rows are in risk-set order (stratum, then stop time); "groups" are the distinct (stratum, event
time) pairs, numbered in that order; row i is at risk for the groups ``lo[i] <= g < hi[i]`` of
its stratum ``s[i]``, whose first group is ``gs_start[s]`` (see ``native.RiskSets``). Every
pass is O(n p) or O(n p^2) time and allocates nothing of size n x p x p.

- ``sweep``: eta = X beta, r = exp(eta - max eta), then one pass down in time (rows enter at
  their stop time and, for (start, stop] data, leave at their start time): the risk-set sums
  S0, S1 and tied-event sums T0, T1 at each group, its Efron slots (den_k = S0 - (k/d) T0), the
  log-likelihood, the score and the group part of the information,
  sum_slots xbar_k xbar_k' = al S1 S1' - be (S1 T1' + T1 S1') + ga T1 T1' per group.
- ``row_information``: sum_i w_i x_i x_i', w_i = r_i a_i, a_i = sum over the slots row i is at
  risk for of c/den (c = 1 - k/d in its own tied slots under Efron, else 1).
- ``residual_meat``: score residuals summed by cluster, and sum_c u_c u_c' (outer products
  four rows at a time, ``_gram4``).

Case weights (coxph's ``weights =``): r carries them (r = w exp(eta - shift), from ``logw``);
``wd`` is each group's sum of event weights (d without weights), which multiplies the group's
terms (Breslow), or whose mean over the tied events multiplies each Efron slot (coxph's
``meanwt``); the residuals' event part is multiplied by the row's weight, so the meat is
sum_c (sum_i w_i u_i)(...)', R's weighted dfbeta sandwich.

Each kernel has a numpy twin (vectorised, BLAS in row blocks) with the same results up to the
order of additions (tests: 1e-12). numba comes with ``pip install pysurvbridge[fast]``; the
twins run without it (5-9x slower at 1e6 rows) or with ``force_numpy``.
"""
from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - exercised by the fallback tests
    numba = None

CHUNK = 1 << 14  # rows per block in the numpy twins: (CHUNK, p) temporaries stay in cache


# ----------------------------------------------------------------------------- loop kernels
# plain Python compiled by numba below (never run uncompiled: they are O(n p) Python loops)


def _gram4(out, Y, w, m):  # pragma: no cover - compiled
    """out += sum_{i < m} w_i Y_i Y_i' (lower triangle), four rows at a time (a quarter of the
    loads and stores of ``out``)."""
    p = Y.shape[1]
    i = 0
    while i + 4 <= m:
        for j in range(p):
            v0 = w[i] * Y[i, j]
            v1 = w[i + 1] * Y[i + 1, j]
            v2 = w[i + 2] * Y[i + 2, j]
            v3 = w[i + 3] * Y[i + 3, j]
            for k in range(j + 1):
                out[j, k] += v0 * Y[i, k] + v1 * Y[i + 1, k] + v2 * Y[i + 2, k] + v3 * Y[i + 3, k]
        i += 4
    while i < m:
        for j in range(p):
            v = w[i] * Y[i, j]
            for k in range(j + 1):
                out[j, k] += v * Y[i, k]
        i += 1


def _symmetrize(out):  # pragma: no cover - compiled
    p = out.shape[0]
    for j in range(p):
        for k in range(j):
            out[k, j] = out[j, k]


if numba is not None:  # helpers called from the kernels below must be compiled first
    try:
        _gram4 = numba.njit(cache=True, nogil=True, error_model="numpy")(_gram4)
        _symmetrize = numba.njit(cache=True, nogil=True, error_model="numpy")(_symmetrize)
    except RuntimeError:  # pragma: no cover
        _gram4 = numba.njit(nogil=True, error_model="numpy")(_gram4)
        _symmetrize = numba.njit(nogil=True, error_model="numpy")(_symmetrize)

BUF = 256  # rows buffered before a _gram4 flush


def _ties(stop, s, event):  # pragma: no cover - compiled
    """For rows sorted by (stratum, stop): hi (groups at or before each row's stop time in
    stratum-major order), and the first row and event count of each group."""
    n = stop.shape[0]
    hi = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    d = np.empty(n, dtype=np.int64)
    G = 0
    i = 0
    while i < n:
        j = i
        count = 0
        while j < n and stop[j] == stop[i] and s[j] == s[i]:
            if event[j]:
                count += 1
            j += 1
        if count > 0:
            first[G] = i
            d[G] = count
            G += 1
        for k in range(i, j):
            hi[k] = G
        i = j
    return hi, first[:G].copy(), d[:G].copy()


def _count_before(qs, qt, gs, gt):  # pragma: no cover - compiled
    """For queries sorted by (stratum qs, time qt): the number of groups, sorted by (gs, gt),
    with (gs, gt) <= (qs, qt); one merge, O(n + G)."""
    out = np.empty(qs.shape[0], dtype=np.int64)
    j = 0
    G = gs.shape[0]
    for i in range(qs.shape[0]):
        while j < G and (gs[j] < qs[i] or (gs[j] == qs[i] and gt[j] <= qt[i])):
            j += 1
        out[i] = j
    return out


def _centre(X, event):  # pragma: no cover - compiled
    """Subtract the column means from X in place; the means and the event rows' sum."""
    n, p = X.shape
    mean = np.zeros(p)
    for i in range(n):
        for k in range(p):
            mean[k] += X[i, k]
    for k in range(p):
        mean[k] /= max(n, 1)
    x_events = np.zeros(p)
    for i in range(n):
        for k in range(p):
            X[i, k] -= mean[k]
        if event[i]:
            for k in range(p):
                x_events[k] += X[i, k]
    return mean, x_events


def _sweep(X, beta, hi, lo, s, event, gs_start, d, wd, logw, efron, exits, exit_g, X_exit, derivs,
           fresh, shift, r, s0, A, B, xmean, tied_idx, Abt, Bbt):  # pragma: no cover - compiled
    n, p = X.shape
    G = d.shape[0]
    weighted = logw.shape[0] > 0
    if fresh:  # else r = w exp(X beta - shift) is given
        for i in range(n):
            e = 0.0
            for k in range(p):
                e += X[i, k] * beta[k]
            if weighted:
                e += logw[i]
            r[i] = e
            if i == 0 or e > shift:
                shift = e
        for i in range(n):
            r[i] = np.exp(r[i] - shift)
    e = exits.shape[0] - 1  # rows leaving the risk set (sorted by lo), taken from the top
    store = xmean.shape[0] > 0
    ybuf = np.empty((BUF, p))
    wbuf = np.empty(BUF)
    m = 0
    acc0 = 0.0
    acc1 = np.zeros(p)
    tie1 = np.zeros(p)
    score = np.zeros(p)
    info = np.zeros((p, p))
    logden = 0.0
    i = n - 1
    st = gs_start.shape[0] - 2
    for g in range(G - 1, -1, -1):
        while gs_start[st] > g:
            st -= 1
        if g == gs_start[st + 1] - 1:  # a stratum's last group: its sums start from zero
            acc0 = 0.0
            acc1[:] = 0.0
        dg = d[g]
        wg = wd[g]  # the event weights' sum (dg without case weights)
        tied = efron and dg > 1
        tie0 = 0.0
        tie1[:] = 0.0
        while i >= 0 and hi[i] - 1 >= g:  # the rows entering the risk set at group g
            if hi[i] > lo[i]:
                ri = r[i]
                acc0 += ri
                for k in range(p):
                    acc1[k] += ri * X[i, k]
                if tied and event[i]:
                    tie0 += ri
                    for k in range(p):
                        tie1[k] += ri * X[i, k]
            i -= 1
        while e >= 0 and exit_g[e] >= g:  # the rows whose start is at or after group g
            rj = r[exits[e]]
            acc0 -= rj
            for k in range(p):
                acc1[k] -= rj * X_exit[e, k]  # X_exit = X[exits]: read in order
            e -= 1
        s0[g] = acc0
        if not tied:
            inv = 1.0 / acc0
            A[g] = wg * inv
            B[g] = 0.0
            logden += wg * np.log(acc0)
            al = wg * (inv * inv)
            be = 0.0
            ga = 0.0
        else:
            a_ = 0.0
            b_ = 0.0
            al = 0.0
            be = 0.0
            ga = 0.0
            mw = wg / dg  # each slot carries the tied events' mean weight (coxph's Efron)
            for kk in range(dg):
                f = kk / dg
                inv = 1.0 / (acc0 - f * tie0)
                inv2 = mw * (inv * inv)
                a_ += mw * inv
                b_ += f * (mw * inv)
                al += inv2
                be += f * inv2
                ga += f * f * inv2
                logden -= mw * np.log(inv)
            A[g] = a_
            B[g] = b_
        if store:  # per group the mean of the slots' xbar_k; for tied groups also
            for k in range(p):  # sum_k xbar_k / den_k and sum_k f_k xbar_k / den_k
                xmean[g, k] = (A[g] * acc1[k] - B[g] * tie1[k]) / wg
            if tied:
                t = tied_idx[g]
                for k in range(p):
                    Abt[t, k] = al * acc1[k] - be * tie1[k]
                    Bbt[t, k] = be * acc1[k] - ga * tie1[k]
        if derivs:
            for j in range(p):
                score[j] -= A[g] * acc1[j] - B[g] * tie1[j]
                ybuf[m, j] = acc1[j]
            wbuf[m] = al
            m += 1
            if m == BUF:
                _gram4(info, ybuf, wbuf, m)
                m = 0
            if tied:
                for j in range(p):
                    u = ga * tie1[j] - be * acc1[j]
                    v = be * tie1[j]
                    for k in range(j + 1):
                        info[j, k] += u * tie1[k] - v * acc1[k]
    _gram4(info, ybuf, wbuf, m)
    _symmetrize(info)
    return shift, logden, score, info


def _padded_prefix(v, gstr, n_strata):  # pragma: no cover - compiled
    """(G + n_strata, p) sums of v (G, p) over each stratum's groups below g, at g + s."""
    G, p = v.shape
    out = np.zeros((G + n_strata, p))
    for g in range(G):
        j = g + gstr[g]
        for k in range(p):
            out[j + 1, k] = out[j, k] + v[g, k]
    return out


def _row_information(X, r, hi, lo, s, event, Apad, B):  # pragma: no cover - compiled
    n, p = X.shape
    w = np.zeros(n)
    for i in range(n):
        h = hi[i]
        low = lo[i]
        if h <= low:
            continue
        si = s[i]
        a = Apad[h + si] - Apad[low + si]
        if event[i]:
            a -= B[h - 1]
        w[i] = r[i] * a
    info = np.zeros((p, p))
    _gram4(info, X, w, n)
    _symmetrize(info)
    return info


def _residual_meat(X, r, wt, hi, lo, s, event, gs_start, leave, A, B, xmean, tied_idx, Abt, Bbt,
                   Apad, Cb, codes, U):  # pragma: no cover - compiled
    """Score residuals, from per group sum_k xbar_k / den_k (A xmean in an untied group, else
    Abt) and sum_k f_k xbar_k / den_k (0, or Bbt). Without exits (lo = the stratum's first
    group) the sums over the groups [lo, hi) are running sums as the rows go up in time; with
    exits, differences of the padded prefixes Apad and Cb. With case weights ``wt`` (else
    empty; r then carries them) each row's residual comes out multiplied by its weight."""
    n, p = X.shape
    weighted = wt.shape[0] > 0
    meat = np.zeros((p, p))
    ybuf = np.zeros((BUF, p))
    ones = np.ones(BUF)
    m = 0
    per_row = U.shape[0] == 0
    run_a = 0.0
    run_b = np.zeros(p)
    b = np.zeros(p)
    gp = 0
    stratum = -1
    for i in range(n):
        h = hi[i]
        low = lo[i]
        if h <= low:
            continue
        si = s[i]
        ev = event[i]
        if leave:
            a = Apad[h + si] - Apad[low + si]
            for k in range(p):
                b[k] = Cb[h + si, k] - Cb[low + si, k]
        else:
            if si != stratum:
                stratum = si
                gp = gs_start[si]
                run_a = 0.0
                run_b[:] = 0.0
            while gp < h:
                run_a += A[gp]
                t = tied_idx[gp]
                if t < 0:
                    for k in range(p):
                        run_b[k] += A[gp] * xmean[gp, k]
                else:
                    for k in range(p):
                        run_b[k] += Abt[t, k]
                gp += 1
            a = run_a
            for k in range(p):
                b[k] = run_b[k]
        t = tied_idx[h - 1] if ev else -1
        if ev:
            a -= B[h - 1]
        ri = r[i]
        for k in range(p):
            bk = b[k]
            if t >= 0:
                bk -= Bbt[t, k]
            res = -ri * (a * X[i, k] - bk)
            if ev:
                if weighted:
                    res += wt[i] * (X[i, k] - xmean[h - 1, k])
                else:
                    res += X[i, k] - xmean[h - 1, k]
            ybuf[m, k] = res
        if per_row:
            m += 1
            if m == BUF:
                _gram4(meat, ybuf, ones, m)
                m = 0
        else:
            c = codes[i]
            for k in range(p):
                U[c, k] += ybuf[0, k]
    _gram4(meat, ybuf, ones, m)
    if not per_row:  # the sum over clusters of U_c U_c'
        _gram4(meat, U, np.ones(U.shape[0]), U.shape[0])
    _symmetrize(meat)
    return meat


LOOPS = {"ties": _ties, "count_before": _count_before, "centre": _centre, "sweep": _sweep,
         "padded_prefix": _padded_prefix, "row_information": _row_information,
         "residual_meat": _residual_meat}


def _compile() -> dict | None:
    """Compiled lazily at first call; error_model="numpy": x / 0 gives inf or nan, as in numpy
    (a diverging fit is caught and warned about by the caller)."""
    if numba is None:
        return None
    try:  # cache beside the module; an install without a writable place compiles per process
        return {k: numba.njit(cache=True, nogil=True, error_model="numpy")(f) for k, f in LOOPS.items()}
    except RuntimeError:  # pragma: no cover
        return {k: numba.njit(nogil=True, error_model="numpy")(f) for k, f in LOOPS.items()}


COMPILED = _compile()


# ----------------------------------------------------------------------------- numpy twins


def ties_numpy(stop, s, event):
    n = len(stop)
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(stop[1:], stop[:-1], out=new[1:])
    new[1:] |= s[1:] != s[:-1]
    block = np.cumsum(new) - 1  # tie block of each row
    has_event = np.zeros(int(block[-1]) + 1 if n else 0, dtype=bool)
    has_event[block[event]] = True
    groups_upto = np.cumsum(has_event)
    hi = groups_upto[block]
    G = int(groups_upto[-1]) if n else 0
    return hi, np.flatnonzero(new)[has_event], np.bincount(hi[event] - 1, minlength=G)


def count_before_numpy(qs, qt, gs, gt):
    if not gs.any() and not qs.any():  # one stratum
        return np.searchsorted(gt, qt, side="right")
    unique_times = np.unique(gt)  # exact integer keys (stratum, rank among the group times)
    width = len(unique_times) + 1
    gkey = gs * width + np.searchsorted(unique_times, gt, side="right")
    qkey = qs * width + np.searchsorted(unique_times, qt, side="right")
    return np.searchsorted(gkey, qkey, side="right")


def centre_numpy(X, event):
    mean = X.mean(axis=0)
    X -= mean
    return mean, X.T @ event.astype(np.float64)


def _segment_sums(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups, ...) sums of ``values`` by ``groups`` (non-decreasing), in row order."""
    out = np.zeros((n_groups,) + values.shape[1:])
    if len(groups):
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        out[groups[starts]] = np.add.reduceat(values, starts, axis=0)
    return out


def _suffix_within(v: np.ndarray, gs_start: np.ndarray) -> np.ndarray:
    for g0, g1 in zip(gs_start[:-1], gs_start[1:]):
        if g1 > g0:
            v[g0:g1] = np.cumsum(v[g0:g1][::-1], axis=0)[::-1]
    return v


def cross(U: np.ndarray, w: np.ndarray, V: np.ndarray) -> np.ndarray:
    """U' diag(w) V by BLAS in blocks of CHUNK rows (no n x p temporary)."""
    out = np.zeros((U.shape[1], V.shape[1]))
    for i0 in range(0, len(U), CHUNK):
        out += (U[i0:i0 + CHUNK] * w[i0:i0 + CHUNK, None]).T @ V[i0:i0 + CHUNK]
    return out


def sweep_numpy(X, beta, hi, lo, s, event, gs_start, d, wd, logw, efron, exits, exit_g, X_exit,
                derivs, fresh, shift, r, s0, A, B, xmean, tied_idx, Abt, Bbt):
    G = len(d)
    if fresh:
        eta = X @ beta
        if len(logw):
            eta = eta + logw
        shift = float(eta.max()) if len(eta) else 0.0
        np.exp(eta - shift, out=r)
    at_risk = hi > lo
    rows = np.flatnonzero(at_risk)
    grp = hi[rows] - 1  # non-decreasing: rows are in risk-set order
    rx = X * r[:, None]
    s0[:] = _segment_sums(r[rows], grp, G)
    s1 = _segment_sums(rx[rows], grp, G)
    tied = efron & (d > 1)
    ev = np.flatnonzero(at_risk & event)
    ev = ev[tied[hi[ev] - 1]]
    t0 = _segment_sums(r[ev], hi[ev] - 1, G)
    t1 = _segment_sums(rx[ev], hi[ev] - 1, G)
    if len(exits):
        s0 -= _segment_sums(r[exits], exit_g, G)
        s1 -= _segment_sums(rx[exits], exit_g, G)
    _suffix_within(s0, gs_start)
    _suffix_within(s1, gs_start)
    # Efron slots: den_k = S0 - (k/d) T0 for k < d in tied groups, S0 (d times) elsewhere
    inv = 1.0 / s0
    A[:], B[:] = wd * inv, 0.0
    al, be, ga = wd * (inv * inv), np.zeros(G), np.zeros(G)
    logden = float((wd * np.log(s0))[~tied].sum())
    if tied.any():
        tg = np.flatnonzero(tied)
        slot_g = np.repeat(tg, d[tg])
        starts = np.cumsum(d[tg]) - d[tg]
        f = (np.arange(len(slot_g)) - np.repeat(starts, d[tg])) / d[slot_g]
        v = 1.0 / (s0[slot_g] - f * t0[slot_g])
        mw = wd[slot_g] / d[slot_g]  # the tied events' mean weight (1 without case weights)
        v2 = mw * (v * v)
        mv = mw * v
        red = lambda x: np.add.reduceat(x, starts)  # noqa: E731 - each tied group has d >= 2 slots
        A[tg], B[tg], al[tg], be[tg], ga[tg] = red(mv), red(f * mv), red(v2), red(f * v2), red(f * f * v2)
        logden -= float((mw * np.log(v)).sum())
    if len(xmean):
        xmean[:] = (s1 * A[:, None] - t1 * B[:, None]) / wd[:, None]
        tg = np.flatnonzero(tied)
        Abt[tied_idx[tg]] = s1[tg] * al[tg, None] - t1[tg] * be[tg, None]
        Bbt[tied_idx[tg]] = s1[tg] * be[tg, None] - t1[tg] * ga[tg, None]
    score = np.zeros(len(beta))
    info = np.zeros((len(beta), len(beta)))
    if derivs:
        score = -(s1.T @ A) + t1.T @ B
        c = cross(s1, be, t1)
        info = cross(s1, al, s1) - c - c.T + cross(t1, ga, t1)
    return shift, logden, score, info


def padded_prefix_numpy(v, gstr, n_strata):
    G = v.shape[0]
    out = np.zeros((G + n_strata,) + v.shape[1:])
    bounds = np.searchsorted(gstr, np.arange(n_strata + 1))
    for st, (g0, g1) in enumerate(zip(bounds[:-1], bounds[1:])):
        if g1 > g0:
            np.cumsum(v[g0:g1], axis=0, out=out[g0 + st + 1:g1 + st + 1])
    return out


def _weights(hi, lo, s, event, Apad, B):
    a = Apad[hi + s] - Apad[lo + s]
    ev = np.flatnonzero(event & (hi > lo))
    a[ev] -= B[hi[ev] - 1]
    a[hi <= lo] = 0.0
    return a


def row_information_numpy(X, r, hi, lo, s, event, Apad, B):
    return cross(X, r * _weights(hi, lo, s, event, Apad, B), X)


def residual_meat_numpy(X, r, wt, hi, lo, s, event, gs_start, leave, A, B, xmean, tied_idx, Abt,
                        Bbt, Apad, Cb, codes, U):
    p = X.shape[1]
    meat = np.zeros((p, p))
    n_strata = len(gs_start) - 1
    gstr = np.repeat(np.arange(n_strata), np.diff(gs_start))
    Ab, Bb = group_residual_sums(A, xmean, tied_idx, Abt, Bbt)
    if not leave:
        Apad = padded_prefix_numpy(A.reshape(-1, 1), gstr, n_strata).ravel()
        Cb = padded_prefix_numpy(Ab, gstr, n_strata)
    a = _weights(hi, lo, s, event, Apad, B)
    for i0 in range(0, len(X), CHUNK):
        sl = slice(i0, i0 + CHUNK)
        h, low, si, e = hi[sl], lo[sl], s[sl], event[sl]
        b = Cb[h + si] - Cb[low + si]
        ev = np.flatnonzero(e & (h > low))
        b[ev] -= Bb[h[ev] - 1]
        res = -r[sl, None] * (a[sl, None] * X[sl] - b)
        if len(wt):
            res[ev] += wt[sl][ev, None] * (X[sl][ev] - xmean[h[ev] - 1])
        else:
            res[ev] += X[sl][ev] - xmean[h[ev] - 1]
        res[h <= low] = 0.0
        if len(U):
            for k in range(p):
                U[:, k] += np.bincount(codes[sl], weights=res[:, k], minlength=len(U))
        else:
            meat += res.T @ res
    return cross(U, np.ones(len(U)), U) if len(U) else meat


def group_residual_sums(A, xmean, tied_idx, Abt, Bbt):
    """(G, p) sum_k xbar_k / den_k and sum_k f_k xbar_k / den_k of every group."""
    tg = np.flatnonzero(tied_idx >= 0)
    Ab = A[:, None] * xmean
    Ab[tg] = Abt[tied_idx[tg]]
    Bb = np.zeros_like(xmean)
    Bb[tg] = Bbt[tied_idx[tg]]
    return Ab, Bb


NUMPY = {"ties": ties_numpy, "count_before": count_before_numpy, "centre": centre_numpy,
         "sweep": sweep_numpy, "padded_prefix": padded_prefix_numpy,
         "row_information": row_information_numpy, "residual_meat": residual_meat_numpy}


def kernels(force_numpy: bool = False) -> dict:
    """The compiled kernels, or their numpy twins without numba (or when ``force_numpy``)."""
    return NUMPY if COMPILED is None or force_numpy else COMPILED
