"""Concordance for several event types per subject (MENSA, Lillelund et al. 2024).

Arrays are (n subjects, K event types): ``risk[i, k]`` the predicted risk of event k for
subject i (higher = earlier), ``time[i, k]`` the observed time of event k (or censoring),
``event[i, k]`` 1 when event k was observed.
"""
from __future__ import annotations

import numpy as np
import torch

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics._inputs import survival_arrays
from pysurvbridge.metrics.concordance import concordance_harrell


def _matrices(risk, time, event) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for name, x in (("risk", risk), ("time", time), ("event", event)):
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        a = np.asarray(x, dtype=np.float64)
        if a.ndim != 2:
            raise InvalidParameterError(f"{name} must be (n subjects, K events), but has shape {a.shape}")
        arrays.append(a)
    if not arrays[0].shape == arrays[1].shape == arrays[2].shape:
        raise InvalidParameterError("risk, time and event must have the same (n, K) shape, but have "
                                    f"{arrays[0].shape}, {arrays[1].shape}, {arrays[2].shape}")
    bad = ~np.isfinite(arrays[0]).all(axis=1)
    if bad.any():
        raise InvalidParameterError(f"risk has missing or infinite values in rows {np.flatnonzero(bad)[:5].tolist()}")
    survival_arrays(arrays[1].ravel(), arrays[2].ravel())  # NaN, negative times, 0/1 events
    return arrays[0], arrays[1], arrays[2].astype(np.int64)


def concordance_global(risk, time, event, *, return_per_event: bool = False):
    """Mean over event types of Harrell's C of each type (:func:`concordance_harrell`).

    Returns the mean, or (mean, per-event C array (K,)) with ``return_per_event=True``.
    """
    r, t, e = _matrices(risk, time, event)
    per_event = np.array([concordance_harrell(r[:, k], t[:, k], e[:, k]) for k in range(r.shape[1])])
    return (float(per_event.mean()), per_event) if return_per_event else float(per_event.mean())


def concordance_local(risk, time, event, *, return_pairs: bool = False):
    """Within-subject ordering of event types: Harrell's rule applied inside each subject.

    For subject i, types (k, l) are comparable when event k is observed and T_ik < T_il, or
    T_ik = T_il with l censored; concordant when risk[i, k] > risk[i, l], half when equal.
    Pairs are pooled over subjects. O(n K^2). Returns C, or (C, comparable pairs).
    """
    r, t, e = _matrices(risk, time, event)
    K = r.shape[1]
    if K < 2:
        raise InvalidParameterError("concordance_local needs at least two event types (K >= 2)")
    score = pairs = 0.0
    for k in range(K):
        for m in range(K):
            if k == m:
                continue
            comparable = (e[:, k] == 1) & ((t[:, k] < t[:, m]) | ((t[:, k] == t[:, m]) & (e[:, m] == 0)))
            pairs += comparable.sum()
            score += (comparable & (r[:, k] > r[:, m])).sum() + 0.5 * (comparable & (r[:, k] == r[:, m])).sum()
    if pairs == 0:
        raise InvalidParameterError("no subject has a comparable pair of events (an observed event "
                                    "before another event type's time)")
    c = float(score / pairs)
    return (c, int(pairs)) if return_pairs else c
