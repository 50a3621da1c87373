"""rbridge inside an R session that hosts Python (reticulate): rpy2 is refused below
reticulate 1.31 and allowed from 1.31 on.

Reference for the rule: reticulate issues #208 and #1236 (R crashes when Python code that uses
rpy2 runs inside reticulate; fixed in 1.31); on this machine Debian's reticulate 1.28 segfaulted
after about 10 coxph fits through rpy2. The end-to-end tests run Rscript with each reticulate.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from pysurvbridge import rbridge

ROOT = Path(__file__).resolve().parents[1]


def _fake_host(monkeypatch, tmp_path, version: str, pid: int | None = None) -> None:
    folder = tmp_path / "reticulate"
    (folder / "python" / "rpytools").mkdir(parents=True)
    (folder / "python" / "rpytools" / "__init__.py").write_text("")
    (folder / "DESCRIPTION").write_text(f"Package: reticulate\nVersion: {version}\n")
    module = types.ModuleType("rpytools")
    module.__file__ = str(folder / "python" / "rpytools" / "__init__.py")
    monkeypatch.setitem(sys.modules, "rpytools", module)
    monkeypatch.setenv("R_SESSION_INITIALIZED", f'PID={pid or os.getpid()}:NAME="reticulate"')


def test_no_host_outside_reticulate(monkeypatch):
    monkeypatch.delenv("R_SESSION_INITIALIZED", raising=False)
    assert rbridge.reticulate_host() is None and rbridge.host_refusal(None) is None


def test_old_reticulate_host_is_refused(monkeypatch, tmp_path):
    _fake_host(monkeypatch, tmp_path, "1.28")
    host = rbridge.reticulate_host()
    assert host["version"] == "1.28" and host["pid"] == os.getpid()
    message = rbridge.host_refusal(host)
    assert "reticulate 1.28" in message and "1.31" in message and "native" in message


@pytest.mark.parametrize("version", ["1.31", "1.46.0", "2.0"])
def test_new_reticulate_host_is_allowed(monkeypatch, tmp_path, version):
    _fake_host(monkeypatch, tmp_path, version)
    assert rbridge.host_refusal(rbridge.reticulate_host()) is None


def test_marker_of_another_process_is_ignored(monkeypatch, tmp_path):
    """A child process inherits R_SESSION_INITIALIZED; only the hosting pid counts."""
    _fake_host(monkeypatch, tmp_path, "1.28", pid=os.getpid() + 1)
    assert rbridge.reticulate_host() is None


def test_start_refuses_and_auto_falls_back(monkeypatch, tmp_path):
    from pysurvbridge.classical.recurrent import resolve_engine

    _fake_host(monkeypatch, tmp_path, "1.28")
    monkeypatch.setattr(rbridge, "_STATE", {})  # as if R had not started in this process
    assert not rbridge.is_available()
    with pytest.raises(rbridge.RUnavailableError, match="reticulate 1.28"):
        rbridge.start()
    assert resolve_engine("auto") == "native"


# ------------------------------------------------------------- inside a real R host

def _reticulate_lib(minimum: tuple[int, int], below: bool) -> str | None:
    """A library folder holding a reticulate >= minimum (below=False) or < minimum (True)."""
    if shutil.which("Rscript") is None:
        return None
    script = ("for (l in .libPaths()) { d <- file.path(l, 'reticulate', 'DESCRIPTION'); "
              "if (file.exists(d)) cat(l, read.dcf(d, 'Version'), '\\n') }")
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=60).stdout
    for line in out.splitlines():
        lib, version = line.split()
        old = tuple(int(x) for x in version.split(".")[:2]) < minimum
        if old == below:
            return lib
    return None


def _in_r_host(lib: str, python_code: str) -> subprocess.CompletedProcess:
    r = (f"library(reticulate, lib.loc = '{lib}'); "
         f"reticulate::py_run_string(readLines('stdin', warn = FALSE) |> paste(collapse = '\\n'))")
    env = {**os.environ, "RETICULATE_PYTHON": sys.executable}
    return subprocess.run(["Rscript", "-e", r], input=textwrap.dedent(python_code), capture_output=True,
                          text=True, timeout=300, env=env, cwd=ROOT)


def test_real_old_reticulate_host_falls_back_to_native():
    lib = _reticulate_lib(rbridge.MIN_HOST_RETICULATE, below=True)
    if lib is None:
        pytest.skip("no reticulate older than 1.31 installed (Debian's r-cran-reticulate 1.28 provides one); "
                    "the refusal itself is tested above with a faked host")
    out = _in_r_host(lib, """
        from pysurvbridge import rbridge
        from pysurvbridge.classical import fit_andersen_gill
        from pysurvbridge.data import prepared
        fit = fit_andersen_gill(prepared("bladder1"), engine="auto")
        print("ENGINE", fit.engine)
        try:
            rbridge.start()
        except rbridge.RUnavailableError as exc:
            print("REFUSED", exc)
        """)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ENGINE native" in out.stdout and "REFUSED this Python runs inside R through reticulate 1." in out.stdout


def test_real_new_reticulate_host_runs_rpy2_fits():
    """With reticulate >= 1.31, 25 coxph fits through rpy2 inside the R host (1.28 crashed after ~10)."""
    lib = _reticulate_lib(rbridge.MIN_HOST_RETICULATE, below=False)
    if lib is None:
        pytest.skip("reticulate >= 1.31 is not installed (make setup installs it from PYSURVBRIDGE_CRAN)")
    out = _in_r_host(lib, """
        import gc, warnings
        warnings.simplefilter("ignore")
        from pysurvbridge.classical import fit_andersen_gill
        from pysurvbridge.data import prepared
        data = prepared("bladder1")
        fits = [fit_andersen_gill(data, engine="r") for _ in range(25)]
        gc.collect()
        print("ENGINES", sorted({f.engine for f in fits}), "COEF", round(float(fits[-1].coef.iloc[0]), 10))
        """)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ENGINES ['r']" in out.stdout
