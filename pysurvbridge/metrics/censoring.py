"""The Kaplan-Meier estimate of the censoring distribution, G, behind every IPCW metric."""
from __future__ import annotations

import numpy as np

from pysurvbridge.metrics._inputs import case_weights, survival_arrays


class CensoringKaplanMeier:
    """Kaplan-Meier estimate G of the censoring distribution (the "reverse" KM).

    At a time with both events and censorings the events leave the risk set first, so the
    censoring hazard is n_censored / (n_at_risk - n_events): scikit-survival's and prodlim's
    convention. ``G(t)`` is right-continuous; ``G(t, left=True)`` is the left limit G(t-).

    ``weights`` (n,): case weights (positive, finite). Every count above becomes a sum of the
    subjects' weights (n_censored, n_at_risk, n_events), the weighted Kaplan-Meier that
    ``survival::survfit(Surv(time, 1 - event) ~ 1, weights = w)`` gives once events are moved
    just before tied censorings; integer weights k equal repeating a subject k times.
    """

    def __init__(self, time, event, weights=None) -> None:
        t, e = survival_arrays(time, event, "train_")
        self.times, inverse = np.unique(t, return_inverse=True)
        if weights is None:
            n_events = np.bincount(inverse, weights=e, minlength=len(self.times))
            n_total = np.bincount(inverse, minlength=len(self.times))
            at_risk = len(t) - (np.cumsum(n_total) - n_total)
        else:
            w = case_weights(weights, len(t), "train_weights")
            n_events = np.bincount(inverse, weights=e * w, minlength=len(self.times))
            n_total = np.bincount(inverse, weights=w, minlength=len(self.times))
            # summed from the last time back, so that at the last time at_risk is exactly
            # n_total there and a last censoring gives G = 0 exactly
            at_risk = np.cumsum(n_total[::-1])[::-1]
        n_censored = n_total - n_events
        denominator = at_risk - n_events
        hazard = np.divide(n_censored, denominator, out=np.zeros(len(self.times)),
                           where=denominator > 0)
        self.values = np.cumprod(1.0 - hazard)
        self._inverse = inverse
        zero = np.flatnonzero(self.values <= 0)
        #: first time at which G reaches 0 (inf when it never does)
        self.zero_from = float(self.times[zero[0]]) if len(zero) else float("inf")

    def at_fitted_times(self, left: bool = False) -> np.ndarray:
        """G (or G(t-)) at each time it was estimated from, in input order, without a search."""
        return np.concatenate([[1.0], self.values])[self._inverse + (0 if left else 1)]

    def __call__(self, t, left: bool = False) -> np.ndarray:
        idx = np.searchsorted(self.times, np.asarray(t, dtype=np.float64),
                              side="left" if left else "right")
        return np.concatenate([[1.0], self.values])[idx]



def kaplan_meier(time, event, at) -> np.ndarray:
    """Kaplan-Meier estimate of the event-free probability S(t), right-continuous, at ``at``.

    ``time``, ``event``: (n,) observed times and 0/1 event indicators; returns (len(at),).
    """
    t, e = survival_arrays(time, event)
    times, inverse = np.unique(t, return_inverse=True)
    n_events = np.bincount(inverse, weights=e, minlength=len(times))
    n_total = np.bincount(inverse, minlength=len(times))
    at_risk = len(t) - (np.cumsum(n_total) - n_total)
    values = np.cumprod(1.0 - n_events / at_risk)
    idx = np.searchsorted(times, np.asarray(at, dtype=np.float64), side="right")
    return np.concatenate([[1.0], values])[idx]
