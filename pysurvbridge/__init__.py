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

# `pysurvbridge.compare(...)` is the function (bound after its submodule is imported, so the
# name refers to the function, not the module); it imports pandas, not torch or R.
from pysurvbridge.compare import Comparison, compare  # noqa: E402,F401
from pysurvbridge.multi_event_compare import MultiEventComparison  # noqa: E402,F401

__all__ = [
    "__version__",
    "compare",
    "Comparison",
    "MultiEventComparison",
    "SurvBridgeError",
    "InvalidSurvivalDataError",
    "InvalidParameterError",
    "RUnavailableError",
    "RCallError",
]
