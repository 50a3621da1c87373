"""Shared fixtures. R-backed tests skip with the bridge's own reason when R is unusable."""
from __future__ import annotations

import os

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



#: the files that take longest (minutes), run first: under `make test`'s two pytest-xdist workers
#: (--dist loadfile hands out whole files in collection order) a long file started last would
#: leave one worker idle at the end; longest first keeps both busy
LONGEST_FIRST = ("test_docs.py", "test_wheel.py", "test_readme.py")


def pytest_collection_modifyitems(config, items):
    """`slow` tests (pyproject's marker) run only with RUN_SLOW=1; otherwise they skip, saying so
    (`make test` sets RUN_SLOW=1: tests/test_wheel.py is one). Then the
    longest files move to the front (stable: the order inside and between the others is kept)."""
    if os.environ.get("RUN_SLOW") != "1":
        skip = pytest.mark.skip(reason="slow: runs with RUN_SLOW=1 (make test runs it so)")
        for item in items:
            if item.get_closest_marker("slow") is not None:
                item.add_marker(skip)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
