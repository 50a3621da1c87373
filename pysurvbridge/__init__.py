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

# `pysurvbridge.compare(...)` is the function of the comparison layer; it imports pandas, not
# torch or R. Importing the report registers the renderers of the result types (the comparison
# layer never imports the report: docs/architecture.md).
import pysurvbridge.report  # noqa: E402,F401
from pysurvbridge.comparison import Comparison, MultiEventComparison, compare  # noqa: E402,F401

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
