"""pysurvbridge: classical (R survival) and neural (PyTorch) survival models side by side.

Importing the package never starts R and never imports torch; both load on first use.
"""
from __future__ import annotations

from importlib import metadata as _metadata
from pathlib import Path as _Path


def _version() -> str:
    """The version in the project metadata (pyproject.toml's ``[project] version``: its one source).

    Installed (wheel, sdist or editable): read from the distribution's metadata. A source tree that
    was never installed has none; then the same number is read from the ``pyproject.toml`` beside
    the package, and without one the version is ``0+unknown``, never a stale copy.
    """
    try:
        return _metadata.version("pysurvbridge")
    except _metadata.PackageNotFoundError:
        pass
    try:
        import tomllib  # Python >= 3.11; on 3.10 an uninstalled tree reports 0+unknown

        project = tomllib.loads((_Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
        if project.get("name") == "pysurvbridge":
            return str(project["version"])
    except (ImportError, OSError, KeyError, TypeError, ValueError):  # tomllib.TOMLDecodeError is a ValueError
        pass
    return "0+unknown"


__version__ = _version()

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
