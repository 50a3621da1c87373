"""Plain helpers shared by several test files (fixtures live in conftest.py)."""
from __future__ import annotations


def run_without_rpy2(code: str):
    """Run ``code`` in a fresh interpreter where importing rpy2 fails (a machine without R's
    Python bridge); returns the CompletedProcess with text stdout/stderr."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", "import sys; sys.modules['rpy2'] = None\n" + code],
                          capture_output=True, text=True, check=False)


def marked_example(page, marker: str, language: str = "python") -> tuple[str, str]:
    """The ``language`` code block after ``marker`` on ``page`` (a Path) and the ``text`` block
    after it that shows its output: how the README and the guide mark an example whose printed
    output a test checks."""
    import re

    text = page.read_text()
    assert text.count(marker) == 1, f"{page.name}: marker {marker!r} missing or repeated"
    tail = text.split(marker, 1)[1]
    found = re.match(rf"\s*```{language}\n(.*?)```\s*```text\n(.*?)```", tail, flags=re.S)
    assert found, f"{page.name}: the marker must be followed by a {language} block and its text output"
    return found.group(1), found.group(2)


def printed(code: str, filename: str) -> str:
    """What ``code`` prints (stdout), run in a fresh namespace."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, filename, "exec"), {})
    return out.getvalue()
