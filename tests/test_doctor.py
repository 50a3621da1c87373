"""`pysurvbridge doctor`: mismatch detection, install hints and the exit code."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from pysurvbridge import doctor
from pysurvbridge.rbridge import explain_start_failure


@pytest.mark.parametrize("r_version,spec", [("4.2.2", "rpy2==3.5.17"), ("4.4.1", "rpy2==3.5.17"),
                                            ("4.5.0", "rpy2>=3.6"), ("5.0.1", "rpy2>=3.6")])
def test_rpy2_spec_follows_r_version(r_version, spec):
    assert doctor.rpy2_spec_for(r_version) == spec


def test_explain_start_failure_names_the_mismatch():
    text = ("ImportError: /venv/lib/python3.11/site-packages/rpy2/_rinterface_cffi_api.abi3.so: "
            "undefined symbol: R_getVar")
    message = explain_start_failure(text, "4.2.2")
    assert "R >= 4.5" in message and "4.2.2" in message and "rpy2==3.5.17" in message
    assert "pip install" in explain_start_failure("ModuleNotFoundError: No module named 'rpy2'")
    assert re.search(r"apt-get install", explain_start_failure("RuntimeError: R_HOME not defined"))


def test_rpy2_36_on_old_r_is_reported_in_plain_words(monkeypatch):
    monkeypatch.setattr(doctor, "r_version_from_rscript", lambda: "4.2.2")
    monkeypatch.setattr(doctor.metadata, "version", lambda name: "3.6.9")
    # what importing rpy2 3.6 under R 4.2 prints on its last line
    monkeypatch.setattr(doctor, "_run", lambda cmd, timeout=60: (
        1, "ImportError: .../_rinterface_cffi_api.abi3.so: undefined symbol: R_getVar")
        if cmd[0] == sys.executable else (0, "survival 3.5.3\npec MISSING\n"))
    checks = {c.name: c for c in doctor.check_r_stack()}
    assert not checks["rpy2"].ok and "needs R >= 4.5, but R is 4.2.2" in checks["rpy2"].detail
    assert checks["rpy2"].fix == "pip install 'rpy2==3.5.17'"
    assert "R_getVar" in checks["rpy2 starts R"].detail
    assert checks["R package pec"].fix.endswith("r-cran-pec")
    text, code = doctor.report(list(checks.values()))
    assert code == 1 and "UNUSABLE" in text


def test_missing_r_gives_the_apt_command(monkeypatch):
    monkeypatch.setattr(doctor, "r_version_from_rscript", lambda: None)
    checks = {c.name: c for c in doctor.check_r_stack()}
    assert not checks["R"].ok and checks["R"].fix.startswith("apt-get install")
    _, code = doctor.report(list(checks.values()))
    assert code == 1


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_doctor_command_on_this_machine():
    out = subprocess.run([sys.executable, "-m", "pysurvbridge.cli", "doctor"],
                         capture_output=True, text=True, timeout=120)
    assert "torch" in out.stdout and "R package survival" in out.stdout
    usable = "R engine: usable" in out.stdout
    assert out.returncode == (0 if usable else 1)
    reda = [line for line in out.stdout.splitlines() if "R package reda" in line]
    if reda and reda[0].startswith("miss"):
        assert "install.packages(\"reda\")" in out.stdout and "PYSURVBRIDGE_CRAN" in out.stdout
    reticulate = [line for line in out.stdout.splitlines() if "R package reticulate" in line]
    assert reticulate and (reticulate[0].startswith("ok") or "TOO OLD" in reticulate[0]
                           or "missing" in reticulate[0])


def test_missing_numba_says_how_to_install(monkeypatch):
    """importlib.metadata raising PackageNotFoundError is what a machine without numba sees."""
    from importlib import metadata

    from pysurvbridge import doctor

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(doctor.metadata, "version", missing)
    check = doctor.check_numba()
    assert not check.ok and check.fix == 'pip install "pysurvbridge[fast]"'
    check = doctor.check_pyarrow()
    assert not check.ok and check.fix == 'pip install "pysurvbridge[parquet]"'
    check = doctor.check_dask()
    assert not check.ok and check.fix == 'pip install "pysurvbridge[dask]"'
    assert "dask and distributed missing" in check.detail


def test_dask_needs_both_packages(monkeypatch):
    versions = {"dask": "2026.8.0", "distributed": "2026.8.0"}

    def version(name):
        if name not in versions:
            raise doctor.metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(doctor.metadata, "version", version)
    check = doctor.check_dask()
    assert check.ok and check.detail.startswith("2026.8.0, distributed 2026.8.0") and not check.fix
    del versions["distributed"]
    check = doctor.check_dask()
    assert not check.ok and check.detail.startswith("distributed missing") and "[dask]" in check.fix


@pytest.mark.parametrize("r_version,spec", [("4.2.2", "rpy2==3.5.17"), ("4.5.1", "rpy2>=3.6"), (None, "rpy2==3.5.17")])
def test_missing_rpy2_names_the_r_extra(monkeypatch, r_version, spec):
    """Without rpy2 the fix is the r extra with the rpy2 this R needs, in one pip command."""
    from importlib import metadata

    def version(name):
        if name == "rpy2":
            raise metadata.PackageNotFoundError(name)
        return "1.0"

    monkeypatch.setattr(doctor, "r_version_from_rscript", lambda: r_version)
    monkeypatch.setattr(doctor.metadata, "version", version)
    monkeypatch.setattr(doctor, "_run", lambda cmd, timeout=60: (0, "survival 3.5.3\n"))
    checks = {c.name: c for c in doctor.check_r_stack()}
    assert not checks["rpy2"].ok and checks["rpy2"].fix == f"pip install \"pysurvbridge[r]\" '{spec}'"
    assert "rpy2 >= 3.6 needs R >= 4.5" in checks["rpy2"].detail
    text, code = doctor.report(list(checks.values()))
    assert code == 1 and 'fix: pip install "pysurvbridge[r]"' in text


def test_old_reticulate_is_reported_too_old(monkeypatch):
    """Debian's r-cran-reticulate 1.28 (what `packageVersion` prints there) is below 1.31."""
    monkeypatch.setattr(doctor, "_run", lambda cmd, timeout=60: (
        0, "survival 3.5.3\npec 2022.5.4\nipred 0.9.13\nriskRegression 2022.11.28\nreda 0.5.6\n"
           "reticulate 1.28\nsurvbridge MISSING\n"))
    checks = {c.name: c for c in doctor.check_r_packages()}
    old = checks["R package reticulate"]
    assert not old.ok and "1.28 is TOO OLD (need >= 1.31" in old.detail and "PYSURVBRIDGE_CRAN" in old.fix
    assert checks["R package reda"].ok and not checks["R package survbridge"].ok
    monkeypatch.setattr(doctor, "_run", lambda cmd, timeout=60: (0, "reticulate 1.46.0\n"))
    assert {c.name: c for c in doctor.check_r_packages()}["R package reticulate"].ok
