"""The README's two examples print what the README shows.

The Python block and the R block (each after its ``tested by`` marker) run as printed; their
output is compared with the ``text`` block that follows each: the same lines, words and
punctuation, and every number within 0.005 of the README's (the classical models' figures are
deterministic to the last digit shown; LSTM-Cox's are seeded, and the margin allows for another
CPU's floating-point order). The R example gives the same figures as the Python one: the same
splits, R's coxph for the classical fits (equal to the native engine to 1e-9) and the same seeded
LSTM-Cox, scored by the same Python metrics.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._helpers import marked_example, printed

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"[-+]?\d+\.\d+|[-+]?\d+")


def _example(marker: str, language: str) -> tuple[str, str]:
    return marked_example(ROOT / "README.md", marker, language)


def _same_output(printed: str, shown: str) -> None:
    got = [line.rstrip() for line in printed.strip().splitlines()]
    want = [line.rstrip() for line in shown.strip().splitlines()]
    assert len(got) == len(want), f"README shows {len(want)} lines, the example printed {len(got)}:\n{printed}"
    for g, w in zip(got, want):
        assert NUMBER.sub("#", g).split() == NUMBER.sub("#", w).split(), f"printed {g!r}\nREADME  {w!r}"
        for a, b in zip(NUMBER.findall(g), NUMBER.findall(w)):
            assert abs(float(a) - float(b)) <= 0.005, f"printed {g!r}\nREADME  {w!r}"


def test_python_example(tmp_path, monkeypatch):
    code, shown = _example("<!-- tested by tests/test_readme.py::test_python_example -->", "python")
    monkeypatch.chdir(tmp_path)
    _same_output(printed(code, "README.md"), shown)
    assert (tmp_path / "report.html").stat().st_size > 10_000


@pytest.mark.r
def test_r_example(tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not found: scripts/install_r.sh installs R")
    ok = subprocess.run(["Rscript", "-e", "quit(status = !(requireNamespace('reticulate', quietly = TRUE) && "
                         "packageVersion('reticulate') >= '1.31'))"], capture_output=True, check=False)
    if ok.returncode:
        pytest.skip("survbridge needs reticulate >= 1.31 (make setup installs it from PYSURVBRIDGE_CRAN)")
    code, shown = _example("<!-- tested by tests/test_readme.py::test_r_example -->", "r")
    lib = tmp_path / "lib"
    lib.mkdir()
    env = {**os.environ, "R_LIBS": f"{lib}{os.pathsep}{os.environ.get('R_LIBS', '')}",
           "SURVBRIDGE_PYTHON": sys.executable}
    done = subprocess.run(["R", "CMD", "INSTALL", "--no-test-load", f"--library={lib}", str(ROOT / "r")],
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (tmp_path / "example.R").write_text(code)
    done = subprocess.run(["Rscript", "example.R"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    _same_output(done.stdout, shown)
    assert (tmp_path / "report-from-r.html").stat().st_size > 10_000


def test_quickstart_shows_the_readme_examples():
    """The site's first comparison (docs/quickstart.md) is the README's, code and output alike."""
    readme = (ROOT / "README.md").read_text()
    quickstart = (ROOT / "docs" / "quickstart.md").read_text()
    code, shown = _example("<!-- tested by tests/test_readme.py::test_python_example -->", "python")
    assert f"```python\n{code}```" in quickstart and f"```text\n{shown}```" in quickstart
    code, shown = _example("<!-- tested by tests/test_readme.py::test_r_example -->", "r")
    assert f"```r\n{code}```" in quickstart and f"```text\n{shown}```" in quickstart
    assert readme.count("```text") >= 2
