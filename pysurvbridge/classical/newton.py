"""Newton-Raphson on a Cox log partial likelihood, with coxph's step halving and warnings.

Shared by the one-process native engine (``native.fit_newton``) and the fit split across
processes (``distributed.fit_cox_distributed``); each supplies how to evaluate the likelihood at
a beta and its derivatives at an evaluated state.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from pysurvbridge.errors import ConvergenceWarning

__all__ = ["NewtonOutcome", "newton_maximise", "warn_if_infinite"]


@dataclass
class NewtonOutcome:
    beta: np.ndarray  # (p,)
    state: Any  # the evaluated state at beta
    loglik: float
    loglik_null: float  # at beta = 0
    iterations: int
    converged: bool


def newton_maximise(evaluate: Callable[[np.ndarray], Any], loglik: Callable[[Any], float],
                    derivatives: Callable[[Any], tuple[np.ndarray, np.ndarray]], p: int, *,
                    max_iter: int, eps: float, stacklevel: int = 3) -> NewtonOutcome:
    """Maximise from beta = 0: full Newton steps, halved (up to 30 times) while the likelihood
    does not improve, as coxph does; stop when the relative change of the log-likelihood is at
    most ``eps`` or the step is below 1e-13. Warns (ConvergenceWarning) when it stops without
    converging: out of iterations, or scores that over- or underflow."""
    beta = np.zeros(p)
    state = evaluate(beta)
    current = null = loglik(state)
    converged, iterations, change = False, 0, float("nan")
    reason = f"relative change in log-likelihood still above {eps:g}"
    for iterations in range(1, max_iter + 1):
        with np.errstate(all="ignore"):  # overflow is caught by the test below and warned about
            score, info = derivatives(state)
        if not (np.isfinite(score).all() and np.isfinite(info).all()):
            reason = "risk scores over- or underflow: a coefficient is running off to infinity"
            break
        step = np.linalg.solve(info, score)
        halvings = 0
        while True:
            with np.errstate(all="ignore"):  # a diverging step is caught by the test below
                new_state = evaluate(beta + step)
            new = loglik(new_state)
            # accept an increase, or a decrease within rounding of the sums near the optimum;
            # anything else (and nan) halves the step
            if new >= current - 1e-11 * abs(current) or halvings >= 30:
                break
            step, halvings = step / 2, halvings + 1
        beta, state = beta + step, new_state
        change = abs(current - new) / max(abs(new), 1e-300)
        current = new
        if change <= eps or float(np.abs(step).max()) < 1e-13:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"Newton-Raphson did not converge: stopped after {iterations} iterations ({reason}; "
            f"last relative change {change:.2e}); coefficients may be infinite (monotone likelihood)",
            ConvergenceWarning, stacklevel=stacklevel)
    return NewtonOutcome(beta, state, float(current), float(null), iterations, converged)


def warn_if_infinite(beta: np.ndarray, next_step: np.ndarray, names: Sequence[str], stacklevel: int = 3) -> None:
    """coxph's check after a converged fit: a coefficient whose next Newton step (score times
    the inverse information) is still large against it is running off to infinity (monotone
    likelihood); R warns "Loglik converged before variable ...; coefficient may be infinite".
    Thresholds are coxph.control()'s defaults: eps = 1e-9 and toler.inf = sqrt(eps)."""
    step = np.abs(next_step)
    flagged = np.flatnonzero((step > 1e-9) & (step > np.sqrt(1e-9) * np.abs(beta)))
    if len(flagged):
        which = ", ".join(str(names[i]) for i in flagged)
        warnings.warn(
            f"log-likelihood converged before variable(s) {which}; coefficient may be infinite "
            "(monotone likelihood: the covariate nearly separates the outcome)",
            ConvergenceWarning, stacklevel=stacklevel)
