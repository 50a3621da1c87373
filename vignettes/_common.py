"""What every Python vignette shares: the fast/full switch and the closing session information.

Imported from the vignettes' own folder (myst-nb runs them with ``vignettes/`` as the working
directory when ``make docs`` builds the site).
"""
from __future__ import annotations

import os
import platform
import sys

import pandas as pd

#: True under ``DOCS_FAST=1`` (``make test``): fewer seeds and epochs, stated on the page
FAST = os.environ.get("DOCS_FAST") == "1"


def pick(fast, full):
    """``fast`` under DOCS_FAST=1, else ``full``."""
    return fast if FAST else full


def mode_note() -> str:
    """One sentence for the page saying which mode produced its numbers."""
    if FAST:
        return ("**Fast mode** (`DOCS_FAST=1`, as in `make test`): fewer seeds and epochs than the "
                "full render (`make docs`); the numbers below are rougher than the full run's.")
    return "**Full mode** (`make docs`): the seeds and epochs stated in each section."


def session_info() -> pd.DataFrame:
    """Versions of Python, the numerical stack, torch and, when R starts, R and survival."""
    import numpy as np
    import torch

    import pysurvbridge

    rows = [("python", sys.version.split()[0]), ("platform", platform.platform()),
            ("pysurvbridge", pysurvbridge.__version__), ("numpy", np.__version__), ("pandas", pd.__version__),
            ("torch", torch.__version__), ("torch threads", str(torch.get_num_threads())),
            ("CUDA", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")]
    try:
        from pysurvbridge import rbridge

        rbridge.start()
        rows.append(("R", rbridge.r_version()))
        for pkg in ("survival", "reda"):
            rows.append((f"R {pkg}", rbridge.package_version(pkg) or "not installed"))
    except Exception as exc:  # noqa: BLE001  the page says why R is absent
        rows.append(("R", f"not available ({type(exc).__name__}: {exc})"))
    return pd.DataFrame(rows, columns=["component", "version"]).set_index("component")
