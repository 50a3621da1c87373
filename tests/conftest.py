"""Shared fixtures. R-backed tests skip with the bridge's own reason when R is unusable."""
from __future__ import annotations

import pytest

from pysurvbridge import rbridge
from pysurvbridge.errors import RUnavailableError


@pytest.fixture(scope="session")
def r_session():
    """The started R bridge; skips (with the reason rbridge gives) when R cannot start."""
    try:
        rbridge.start()
    except RUnavailableError as exc:
        pytest.skip(f"R engine unavailable: {exc}")
    if not rbridge.has_r_package("survival"):
        pytest.skip("R package survival is not installed")
    return rbridge

