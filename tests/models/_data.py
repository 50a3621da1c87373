"""Simulated data for the model tests (closed-form generating models, seeded)."""
from __future__ import annotations

import numpy as np

from pysurvbridge.data import SurvivalData


def exponential_two_groups(n: int = 5000, seed: int = 0) -> SurvivalData:
    """Nnet-survival paper, simulated-data check: binary x, exponential survival with medians
    200 (x = 0) and 400 (x = 1) days, exponential censoring with median 400 days."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.5, n)
    t = rng.exponential(np.where(x == 1, 400.0, 200.0) / np.log(2))
    c = rng.exponential(400.0 / np.log(2), n)
    return SurvivalData.from_arrays(np.minimum(t, c), (t <= c).astype(int), x[:, None], ["x"])


WEIBULL_BETA = np.array([0.8, -0.5, 0.3])


def weibull_ph(n: int, seed: int, shape: float = 1.5, scale: float = 730.0) -> SurvivalData:
    """Weibull proportional hazards: H(t|x) = (t/scale)^shape exp(x'beta), 3 N(0,1) covariates,
    uniform censoring on (0, 5 years), administrative censoring just before 5 years."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = scale * (rng.exponential(size=n) * np.exp(-X @ WEIBULL_BETA)) ** (1 / shape)
    c = np.minimum(rng.uniform(0, 5 * 365, n), 5 * 365 - 1)
    return SurvivalData.from_arrays(np.minimum(t, c), (t <= c).astype(int), X)
