"""The exact Cox negative log partial likelihood (Breslow and Efron ties, (start, stop] risk
sets, strata, case weights): used by the native classical engine and every Cox-type neural model.
"""
from __future__ import annotations

from typing import Any, Literal

import torch

from pysurvbridge.errors import InvalidParameterError

__all__ = ["cox_nll", "cox_risk_sets"]

Ties = Literal["efron", "breslow"]


def _as_1d(x: torch.Tensor, name: str, n: int, like: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(x, device=like.device)
    if x.dim() != 1 or x.shape[0] != n:
        raise InvalidParameterError(f"{name} must have shape ({n},) like risk, but has {tuple(x.shape)}")
    return x


def cox_risk_sets(
    stop: torch.Tensor,
    event: torch.Tensor,
    start: torch.Tensor | None = None,
    strata: torch.Tensor | None = None,
) -> dict[str, Any]:
    """Sorting and tie structure of (start, stop] risk sets; depends on times only.

    A row is at risk at t when start < t <= stop (and is in t's stratum). Event "groups" are
    the distinct (stratum, stop time) pairs with at least one event. Returns index tensors:
    ``stop_order``/``start_order`` (rows sorted by key), ``lo_stop``/``hi_stop`` and
    ``lo_start``/``hi_start`` (for each group, the slice of sorted rows whose stop/start key is
    >= the group key within its stratum), ``event_rows``, ``event_group`` (group of each event
    row), ``event_rank`` (k = 0..d-1 within the group) and ``group_size`` (d).
    """
    n = stop.shape[0]
    device = stop.device
    start_t = torch.zeros_like(stop) if start is None else start
    # exact integer time ranks over all start and stop values, then strata-major keys
    _, inverse = torch.unique(torch.cat([start_t, stop]), return_inverse=True)
    n_times = int(inverse.max()) + 2
    start_rank, stop_rank = inverse[:n], inverse[n:]
    if strata is None:
        s_code = torch.zeros(n, dtype=torch.long, device=device)
    else:
        _, s_code = torch.unique(strata, return_inverse=True)
    stop_key = s_code * n_times + stop_rank
    start_key = s_code * n_times + start_rank
    is_event = event.bool()
    event_rows = torch.nonzero(is_event).squeeze(1)
    group_keys, event_group = torch.unique(stop_key[event_rows], return_inverse=True)
    group_size = torch.bincount(event_group, minlength=group_keys.shape[0])
    # rank within group: order event rows by group, subtract the group's first position
    order = torch.argsort(event_group, stable=True)
    first = torch.cumsum(group_size, 0) - group_size
    event_rank = torch.empty_like(event_group)
    event_rank[order] = torch.arange(order.shape[0], device=device) - first[event_group[order]]
    group_end = (group_keys // n_times + 1) * n_times  # first key of the next stratum

    stop_sorted, stop_order = torch.sort(stop_key, stable=True)
    start_sorted, start_order = torch.sort(start_key, stable=True)
    n_strata = int(s_code.max()) + 1 if n else 1
    firsts = torch.arange(n_strata + 1, device=device) * n_times
    return {
        "n_strata": n_strata,
        "stop_bounds": torch.searchsorted(stop_sorted, firsts).tolist(),
        "start_bounds": torch.searchsorted(start_sorted, firsts).tolist(),
        "stop_order": stop_order,
        "start_order": start_order,
        "lo_stop": torch.searchsorted(stop_sorted, group_keys),
        "hi_stop": torch.searchsorted(stop_sorted, group_end),
        "lo_start": torch.searchsorted(start_sorted, group_keys),
        "hi_start": torch.searchsorted(start_sorted, group_end),
        "event_rows": event_rows,
        "event_group": event_group,
        "event_rank": event_rank,
        "group_size": group_size,
        "group_keys": group_keys,
        "has_start": start is not None,
    }


LINEAR_SPREAD = 300.0  # exp(-300) ~ 5e-131: no underflow in float64 below this score spread


def _log_s0(log_r: torch.Tensor, rs: dict[str, Any], method: str | None = None) -> torch.Tensor:
    """log of the (weighted) risk-set sums S0 at each event group.

    "linear": exp(score - max) and cumulative sums in float64, restarted in every stratum (no
    cancellation across strata); used when the score spread is at most LINEAR_SPREAD and there
    are at most 64 strata. "log": cumulative log-sum-exp, for any spread. Both are exact up to
    rounding; the tests compare them.
    """
    if method is None:
        spread = float(log_r.detach().max() - log_r.detach().min()) if log_r.numel() else 0.0
        method = "linear" if spread <= LINEAR_SPREAD and rs["n_strata"] <= 64 else "log"
    if method == "log":
        log_s0 = _log_range_sum(log_r, rs["stop_order"], rs["lo_stop"], rs["hi_stop"])
        if rs["has_start"]:
            log_out = _log_range_sum(log_r, rs["start_order"], rs["lo_start"], rs["hi_start"])
            log_s0 = _log_sub_exp(log_s0, log_out)
        return log_s0
    shift = log_r.detach().max()
    r = torch.exp((log_r - shift).to(torch.float64))
    s0 = _tail_within_strata(r, rs["stop_order"], rs["stop_bounds"], rs["lo_stop"], rs["hi_stop"])
    if rs["has_start"]:
        s0 = s0 - _tail_within_strata(r, rs["start_order"], rs["start_bounds"], rs["lo_start"],
                                      rs["hi_start"])
    return (torch.log(s0) + shift).to(log_r.dtype)


def _tail_within_strata(r: torch.Tensor, order: torch.Tensor, bounds: list[int], lo: torch.Tensor,
                        hi: torch.Tensor) -> torch.Tensor:
    """Sum of r over sorted positions [lo, hi), hi being the end of lo's stratum."""
    v = r[order]
    parts = [v[b0:b1].flip(0).cumsum(0).flip(0) for b0, b1 in zip(bounds[:-1], bounds[1:])]
    tail = torch.cat(parts + [torch.zeros(1, dtype=v.dtype, device=v.device)])
    return torch.where(lo < hi, tail[lo], torch.zeros((), dtype=v.dtype, device=v.device))


def _log_range_sum(log_values: torch.Tensor, order: torch.Tensor, lo: torch.Tensor,
                   hi: torch.Tensor) -> torch.Tensor:
    """log of the sum of exp(log_values[order][lo:hi]) for each (lo, hi), in O(n)."""
    v = log_values[order]
    tail = torch.logcumsumexp(v.flip(0), 0).flip(0)  # tail[i] = log sum_{j >= i}
    neg_inf = torch.full((1,), float("-inf"), dtype=v.dtype, device=v.device)
    tail = torch.cat([tail, neg_inf])
    return _log_sub_exp(tail[lo], tail[hi])


def _log_sub_exp(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(exp(a) - exp(b)) for a >= b, stable, with finite gradients.

    b = -inf gives a; a == b (an empty range) gives -inf with zero gradient, never nan.
    """
    neg_inf = torch.full_like(a, float("-inf"))
    absent = ~torch.isfinite(b)
    diff = b - a
    proper = ~absent & (diff < 0)
    out = a + torch.log1p(-torch.exp(torch.where(proper, diff, neg_inf)))
    return torch.where(proper | absent, out, neg_inf)


def _segment_logsumexp(values: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    peak = torch.full((n_segments,), float("-inf"), dtype=values.dtype, device=values.device)
    peak = peak.scatter_reduce(0, segment, values.detach(), reduce="amax", include_self=True)
    total = torch.zeros(n_segments, dtype=values.dtype, device=values.device)
    total = total.index_add(0, segment, torch.exp(values - peak[segment]))
    return torch.log(total) + peak


def cox_nll(
    risk: torch.Tensor,
    stop: torch.Tensor,
    event: torch.Tensor,
    *,
    start: torch.Tensor | None = None,
    strata: torch.Tensor | None = None,
    ties: Ties = "efron",
    weights: torch.Tensor | None = None,
    reduction: Literal["mean", "sum"] = "mean",
    risk_sets: dict[str, Any] | None = None,
) -> torch.Tensor:
    r"""Exact negative log partial likelihood of the Cox model.

    With :math:`\eta_i` the log-risk of row :math:`i`, :math:`D_k` the :math:`d_k` rows with an
    event at the :math:`k`-th distinct event time and :math:`R_k` the rows at risk then (Efron's
    approximation for ties; Breslow's drops the :math:`l / d_k` term):

    .. math::

        -\log L(\eta) = -\sum_k \Big[ \sum_{i \in D_k} \eta_i - \sum_{l=0}^{d_k - 1}
        \log\Big( \sum_{j \in R_k} e^{\eta_j} - \frac{l}{d_k} \sum_{j \in D_k} e^{\eta_j} \Big) \Big]

    Args:
        risk: (n,) log-risk scores (linear predictor), float32 or float64, any device.
        stop: (n,) end of each interval (event or censoring time).
        event: (n,) 1 for an event at ``stop``, 0 for censoring.
        start: (n,) start of each interval for counting-process (start, stop] data; a row is
            at risk at t when start < t <= stop. None means 0 for every row.
        strata: (n,) integer stratum codes; each stratum has its own risk sets.
        ties: "efron" (R's default) or "breslow".
        weights: (n,) non-negative case weights (R ``coxph(weights=)``; Efron uses the mean
            weight of the tied events, as R does).
        reduction: "sum" (minus R's log partial likelihood) or "mean" (divided by the weighted
            number of events).
        risk_sets: the output of :func:`cox_risk_sets` for these times, to reuse across calls.

    Returns a scalar tensor. O(n log n) time (sorting), O(n) memory; invariant to adding a
    constant to ``risk`` (everything is computed with log-sum-exp).
    """
    if ties not in ("efron", "breslow"):
        raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {ties!r}")
    if reduction not in ("mean", "sum"):
        raise InvalidParameterError(f"reduction must be 'mean' or 'sum', but was {reduction!r}")
    if risk.dim() == 2 and risk.shape[1] == 1:
        risk = risk.squeeze(1)
    if risk.dim() != 1:
        raise InvalidParameterError(f"risk must have shape (n,) or (n, 1), but has {tuple(risk.shape)}")
    n = risk.shape[0]
    stop = _as_1d(stop, "stop", n, risk)
    event = _as_1d(event, "event", n, risk)
    start = None if start is None else _as_1d(start, "start", n, risk)
    strata = None if strata is None else _as_1d(strata, "strata", n, risk)
    rs = risk_sets if risk_sets is not None else cox_risk_sets(stop, event, start, strata)
    log_w = None
    if weights is not None:
        weights = _as_1d(weights, "weights", n, risk).to(risk.dtype)
        if bool((weights < 0).any()):
            raise InvalidParameterError("weights must be non-negative")
        log_w = torch.log(weights)
    if rs["event_rows"].numel() == 0:
        return risk.sum() * 0.0

    log_r = risk if log_w is None else risk + log_w  # log(w_i exp(eta_i))
    log_s0 = _log_s0(log_r, rs)

    ev, grp, size = rs["event_rows"], rs["event_group"], rs["group_size"]
    n_groups = size.shape[0]
    w_ev = torch.ones_like(risk[ev]) if weights is None else weights[ev]
    sum_w = torch.zeros(n_groups, dtype=risk.dtype, device=risk.device).index_add(0, grp, w_ev)
    mean_w = (sum_w / size.to(risk.dtype))[grp]
    log_den = log_s0[grp]
    if ties == "efron":
        log_tied = _segment_logsumexp(log_r[ev], grp, n_groups)
        frac = rs["event_rank"].to(risk.dtype) / size[grp].to(risk.dtype)
        ratio = torch.exp(log_tied[grp] - log_den)  # <= 1: tied events are in the risk set
        log_den = log_den + torch.log1p(-frac * ratio)
    nll = (mean_w * log_den).sum() - (w_ev * risk[ev]).sum()
    if reduction == "mean":
        nll = nll / w_ev.sum()
    return nll
