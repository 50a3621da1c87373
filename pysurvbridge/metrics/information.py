"""Akaike's information criterion, with a statement of what was counted."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pysurvbridge.errors import InvalidParameterError


@dataclass(frozen=True)
class AIC:
    """value = -2 loglik + 2 n_params; ``likelihood`` and ``counted`` say which ones."""

    value: float
    loglik: float
    n_params: int
    likelihood: str
    counted: str

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        return (f"AIC = {self.value:.2f} = -2 x ({self.loglik:.4f}) + 2 x {self.n_params}; "
                f"{self.likelihood} likelihood; counted: {self.counted}")


def aic(loglik: float, n_params: int, *, likelihood: str = "partial",
        counted: str = "regression coefficients") -> AIC:
    """AIC from a maximised log-likelihood and the number of estimated parameters.

    AICs compare only between models fitted by the same likelihood on the same rows: a Cox
    partial likelihood (R's ``AIC(coxph)`` counts the coefficients, not the baseline hazard)
    is not comparable with a full discrete-time or Weibull likelihood. ``likelihood`` and
    ``counted`` are carried into the result so a report can print them.
    """
    if not np.isfinite(loglik):
        raise InvalidParameterError(f"loglik must be finite, but was {loglik!r}")
    if isinstance(n_params, bool) or not isinstance(n_params, (int, np.integer)) or n_params < 0:
        raise InvalidParameterError(f"n_params must be a non-negative integer, but was {n_params!r}")
    return AIC(float(-2.0 * loglik + 2.0 * n_params), float(loglik), int(n_params), likelihood, counted)
