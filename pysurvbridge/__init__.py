"""pysurvbridge: classical (R survival) and neural (PyTorch) survival models side by side.

Importing the package never starts R and never imports torch; both load on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"

from pysurvbridge.errors import (  # noqa: F401  (re-exported)
    InvalidParameterError,
    InvalidSurvivalDataError,
    RCallError,
    RUnavailableError,
    SurvBridgeError,
)

__all__ = [
    "__version__",
    "SurvBridgeError",
    "InvalidSurvivalDataError",
    "InvalidParameterError",
    "RUnavailableError",
    "RCallError",
]
