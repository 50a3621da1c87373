"""One exception tree for pysurvbridge.

Every error the package raises on purpose derives from :class:`SurvBridgeError`; the leaves
also derive from the built-in exception a user would naturally catch (``ValueError`` for bad
data, ``ImportError`` for a missing runtime), as scikit-survival and lifelines users expect.
"""
from __future__ import annotations

__all__ = [
    "SurvBridgeError",
    "InvalidSurvivalDataError",
    "InvalidParameterError",
    "RUnavailableError",
    "RCallError",
    "SurvBridgeWarning",
    "RWarning",
    "ConvergenceWarning",
    "StatisticalWarning",
    "TrainingError",
    "OptionalDependencyError",
]


class SurvBridgeError(Exception):
    """Root of every exception raised by pysurvbridge."""


class InvalidSurvivalDataError(SurvBridgeError, ValueError):
    """Survival data failed validation; the message names the column and the first bad rows."""


class InvalidParameterError(SurvBridgeError, ValueError):
    """A hyper-parameter or argument has a value outside its allowed set."""


class RUnavailableError(SurvBridgeError, ImportError):
    """R, rpy2 or an R package is missing or unusable; the message says how to install it."""


class RCallError(SurvBridgeError, RuntimeError):
    """R raised an error; ``r_message`` carries R's own text."""

    def __init__(self, message: str, r_message: str = "") -> None:
        super().__init__(message)
        self.r_message = r_message


class SurvBridgeWarning(UserWarning):
    """Root of every warning issued by pysurvbridge."""


class RWarning(SurvBridgeWarning):
    """A warning R emitted during a call, re-issued in Python with R's text."""


class ConvergenceWarning(SurvBridgeWarning):
    """An iterative fit stopped before meeting its convergence criterion."""


class StatisticalWarning(SurvBridgeWarning):
    """A result is computable but statistically questionable (e.g. few events)."""


class TrainingError(SurvBridgeError, RuntimeError):
    """Training a neural model failed (e.g. the loss became NaN); the message names where."""


class OptionalDependencyError(SurvBridgeError, ImportError):
    """An optional Python package is missing; the message gives the pip command."""
