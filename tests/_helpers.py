"""Plain helpers shared by several test files (fixtures live in conftest.py)."""
from __future__ import annotations


def run_without_rpy2(code: str):
    """Run ``code`` in a fresh interpreter where importing rpy2 fails (a machine without R's
    Python bridge); returns the CompletedProcess with text stdout/stderr."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", "import sys; sys.modules['rpy2'] = None\n" + code],
                          capture_output=True, text=True, check=False)
