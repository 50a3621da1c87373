"""Breslow baseline hazard for Cox-type neural models (fitted after training)."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["BreslowBaseline"]


class BreslowBaseline:
    """Cumulative baseline hazard H0 at the distinct training event times.

    H0(t) = sum over event times s <= t of d(s) / sum_{j at risk at s} exp(eta_j) (Breslow
    1972; R's ``basehaz(fit, centered = FALSE)`` for ``ties = "breslow"``). ``eta`` is the
    network's log-risk on the training data. ``times`` (m,) and ``cumhaz`` (m,) float64.

    With case weights w (one > 0 per row), the weighted Breslow estimator: H0(t) = sum over
    event times s <= t of (sum of w over the events at s) / sum_{j at risk at s} w_j exp(eta_j)
    (R's ``basehaz`` of a ``coxph(weights = w, ties = "breslow")`` fit, computed by the native
    engine's ``breslow_baseline(weights=)``); integer weights equal repeating the rows.
    """

    def __init__(self, times: np.ndarray, cumhaz: np.ndarray) -> None:
        self.times = np.asarray(times, dtype=np.float64)
        self.cumhaz = np.asarray(cumhaz, dtype=np.float64)

    @classmethod
    def fit(cls, eta: np.ndarray, time: np.ndarray, event: np.ndarray,
            start: np.ndarray | None = None, weights: np.ndarray | None = None) -> "BreslowBaseline":
        from pysurvbridge.classical.native import breslow_baseline

        table = breslow_baseline(np.asarray(eta, dtype=np.float64), np.asarray(time, dtype=np.float64),
                                 np.asarray(event, dtype=np.float64), start,
                                 weights=None if weights is None else np.asarray(weights, dtype=np.float64))
        return cls(table["time"].to_numpy(), table["cumhaz"].to_numpy())

    def cumulative_hazard(self, times: np.ndarray) -> np.ndarray:
        """H0 at ``times`` (right-continuous step function; 0 before the first event)."""
        k = np.searchsorted(self.times, np.asarray(times, dtype=np.float64), side="right")
        return np.concatenate([[0.0], self.cumhaz])[k]

    def survival(self, eta: np.ndarray, times: np.ndarray) -> np.ndarray:
        """(n, m) S(t | x) = exp(-H0(t) exp(eta)) for (n,) log-risks ``eta``."""
        return np.exp(-np.outer(np.exp(np.asarray(eta, dtype=np.float64)), self.cumulative_hazard(times)))

    def state(self) -> dict[str, torch.Tensor]:
        return {"baseline.times": torch.as_tensor(self.times), "baseline.cumhaz": torch.as_tensor(self.cumhaz)}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> "BreslowBaseline":
        return cls(state["baseline.times"].numpy(), state["baseline.cumhaz"].numpy())
