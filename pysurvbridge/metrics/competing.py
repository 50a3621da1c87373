"""Aalen-Johansen cumulative incidence of competing causes (no covariates)."""
from __future__ import annotations

import numpy as np

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics._inputs import as_vector, same_length

__all__ = ["cumulative_incidence"]


def cumulative_incidence(time, cause, at) -> np.ndarray:
    """(K, len(at)) CIF_k(t) = sum over event times s <= t of S(s-) d_k(s) / n(s).

    ``time`` (n,) observed times; ``cause`` (n,) 0 = censored, 1..K = the cause observed at
    ``time``; S the Kaplan-Meier of any cause. Equals R survival's
    ``survfit(Surv(time, factor(cause)) ~ 1)$pstate`` (the Aalen-Johansen estimator).
    """
    t = as_vector(time, "time")
    c = as_vector(cause, "cause")
    same_length("cause", c, len(t))
    if (c < 0).any() or (c != np.round(c)).any():
        raise InvalidParameterError(f"cause must be 0 (censored) or a cause 1..K; bad positions "
                                    f"{np.flatnonzero((c < 0) | (c != np.round(c)))[:5].tolist()}")
    K = int(c.max()) if len(c) else 0
    times, inverse = np.unique(t, return_inverse=True)
    d = np.stack([np.bincount(inverse, weights=(c == k), minlength=len(times)) for k in range(1, K + 1)])
    total = np.bincount(inverse, minlength=len(times))
    at_risk = len(t) - (np.cumsum(total) - total)
    any_cause = d.sum(axis=0)
    surv_before = np.concatenate([[1.0], np.cumprod(1.0 - any_cause / at_risk)[:-1]])
    cif = np.cumsum(surv_before * d / at_risk, axis=1)
    idx = np.searchsorted(times, np.asarray(at, dtype=np.float64), side="right")
    return np.concatenate([np.zeros((K, 1)), cif], axis=1)[:, idx]
