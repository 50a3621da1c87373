"""Bivariate copulas for dependent censoring: Clayton and Frank, parametrised by Kendall's tau.

``sample(copula, tau, n, rng)`` returns (u, v), each Uniform(0, 1), with Kendall's tau equal to
``tau``; used by :func:`pysurvbridge.simulate.simulate_survival` as u = S_T(T | x) and
v = S_C(C | x). Sampling is by the conditional-inverse method (Nelsen 2006, section 2.9).
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, optimize

from pysurvbridge.errors import InvalidParameterError

__all__ = ["clayton_theta", "frank_theta", "frank_tau", "sample"]


def clayton_theta(tau: float) -> float:
    """Clayton's theta for Kendall's tau in [0, 1): theta = 2 tau / (1 - tau)."""
    if not 0.0 <= tau < 1.0:
        raise InvalidParameterError(
            f"kendall_tau for the Clayton copula must be in [0, 1), but was {tau!r}"
        )
    return 2.0 * tau / (1.0 - tau)


def frank_tau(theta: float) -> float:
    """Kendall's tau of the Frank copula: 1 - 4/theta (1 - D1(theta)), D1 the Debye function."""
    if theta == 0:
        return 0.0
    debye = integrate.quad(lambda t: t / np.expm1(t) if t else 1.0, 0.0, abs(theta))[0] / abs(theta)
    tau = 1.0 - 4.0 / abs(theta) * (1.0 - debye)
    return tau if theta > 0 else -tau


def frank_theta(tau: float) -> float:
    """Frank's theta for Kendall's tau in (-1, 1), by root finding on :func:`frank_tau`."""
    if not -1.0 < tau < 1.0:
        raise InvalidParameterError(
            f"kendall_tau for the Frank copula must be in (-1, 1), but was {tau!r}"
        )
    if tau == 0:
        return 0.0
    bound = 1.0
    while abs(frank_tau(bound)) < abs(tau):
        bound *= 2.0
    root = optimize.brentq(lambda th: frank_tau(th) - abs(tau), 1e-9, bound, xtol=1e-12)
    return root if tau > 0 else -root


def sample(copula: str, tau: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n pairs (u, v) from the copula with Kendall's tau ``tau`` (independence when tau = 0)."""
    u = rng.uniform(size=n)
    w = rng.uniform(size=n)
    if copula == "clayton":
        theta = clayton_theta(tau)
        if theta == 0:
            return u, w
        v = ((w ** (-theta / (1.0 + theta)) - 1.0) * u ** (-theta) + 1.0) ** (-1.0 / theta)
    elif copula == "frank":
        theta = frank_theta(tau)
        if theta == 0:
            return u, w
        v = -np.log1p(w * np.expm1(-theta) / (w + (1.0 - w) * np.exp(-theta * u))) / theta
    else:
        raise InvalidParameterError(f"copula must be None, 'clayton' or 'frank', but was {copula!r}")
    return u, np.clip(v, 1e-15, 1.0 - 1e-15)
