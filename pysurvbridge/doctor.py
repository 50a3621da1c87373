"""`pysurvbridge doctor`: what is installed, what is missing, and the command that fixes it.

Every probe that could crash the interpreter (starting embedded R through rpy2) runs in a
subprocess, so the report always completes.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata

from pysurvbridge.rbridge import R_INSTALL_COMMAND, explain_start_failure

R_PACKAGES = {
    "survival": ("required", "apt-get install -y --no-install-recommends r-cran-survival"),
    "pec": ("Brier score cross-check", "apt-get install -y --no-install-recommends r-cran-pec"),
    "ipred": ("Brier score cross-check", "apt-get install -y --no-install-recommends r-cran-ipred"),
    "riskRegression": ("Brier score cross-check",
                       "apt-get install -y --no-install-recommends r-cran-riskregression"),
    "reda": ("Weibull recurrent-event simulation engine (optional; native simulator otherwise)",
             "make setup with PYSURVBRIDGE_CRAN=<CRAN mirror or local CRAN-style folder>, or "
             "Rscript -e 'install.packages(\"reda\")'  (not packaged by Debian)"),
    "reticulate": ("R users: the survbridge R package runs Python through it; >= 1.31 needed",
                   "make setup with PYSURVBRIDGE_CRAN=<CRAN mirror or local CRAN-style folder>, or "
                   "Rscript -e 'install.packages(\"reticulate\")'  (Debian's r-cran-reticulate 1.28 is too old)"),
    "survbridge": ("the R package of this project (r/): sb_compare(), sb_fit() from R",
                   "make r-package  (R CMD INSTALL r)"),
}
#: R packages that are present but unusable below a version: (minimum, why)
R_MINIMUM = {"reticulate": ((1, 31), "older reticulate crashes R when Python code that embeds R through "
                                     "rpy2 runs inside it (reticulate issues #208, #1236) and cannot convert "
                                     "NumPy 2 arrays")}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required_for_r: bool = False


def _run(cmd: list[str], timeout: float = 60) -> tuple[int, str]:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return out.returncode, (out.stdout + out.stderr).strip()


def r_version_from_rscript() -> str | None:
    """'4.2.2' from `Rscript --version`, or None when Rscript is absent."""
    if shutil.which("Rscript") is None:
        return None
    _, text = _run(["Rscript", "--version"])
    match = re.search(r"version (\d+\.\d+\.\d+)", text)
    return match.group(1) if match else None


def rpy2_spec_for(r_version: str | None) -> str:
    """The rpy2 requirement that works with this R: >= 3.6 needs R >= 4.5."""
    if r_version is None:
        return "rpy2==3.5.17"
    major, minor = (int(x) for x in r_version.split(".")[:2])
    return "rpy2>=3.6" if (major, minor) >= (4, 5) else "rpy2==3.5.17"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def check_torch() -> Check:
    try:
        import torch
    except ImportError as exc:
        return Check("torch", False, f"not importable ({exc})", "pip install torch==2.13.0")
    if torch.cuda.is_available():
        device = f"CUDA device: {torch.cuda.get_device_name(0)}"
    else:
        device = "CUDA: none (models run on CPU)"
    return Check("torch", True, f"{torch.__version__}; {device}")


def check_optional(package: str, extra: str, with_it: str, without_it: str) -> Check:
    """An optional Python package: its version and what it gives, or the pip command."""
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        return Check(package, False, f"missing ({without_it})", f'pip install "pysurvbridge[{extra}]"')
    return Check(package, True, f"{version} ({with_it})")


def check_numba() -> Check:
    """numba compiles the concordance counter (O(n log n)); without it numpy does the same."""
    return check_optional("numba", "fast", "compiled concordance counting",
                          "concordance falls back to numpy, about 3x slower")


def check_pyarrow() -> Check:
    """pyarrow reads chunked parquet for out-of-core training (data/streaming.py)."""
    return check_optional("pyarrow", "parquet", "out-of-core training from parquet chunks",
                          "ParquetMinibatches unavailable; DataLoaders over memory-mapped arrays still work")


def check_dask() -> Check:
    """dask and distributed run compare(backend="dask")'s cells on a cluster (comparison/execution.py)."""
    versions = {}
    for package in ("dask", "distributed"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    if len(versions) < 2:
        missing = " and ".join(p for p in ("dask", "distributed") if p not in versions)
        return Check("dask", False, f"{missing} missing (compare(backend='dask') unavailable; "
                                    "n_jobs= worker processes on this machine still work)",
                     'pip install "pysurvbridge[dask]"')
    return Check("dask", True, f"{versions['dask']}, distributed {versions['distributed']} "
                               "(compare(backend='dask') on a Dask cluster)")


def rpy2_install_command(spec: str) -> str:
    """The pip command that installs the r extra with the rpy2 this R needs (``spec``)."""
    return f"pip install \"pysurvbridge[r]\" '{spec}'"


def check_r_stack() -> list[Check]:
    """R itself, rpy2, whether rpy2 can start this R, and the R packages."""
    checks: list[Check] = []
    r_version = r_version_from_rscript()
    if r_version is None:
        checks.append(Check("R", False, "Rscript not found on PATH", R_INSTALL_COMMAND, True))
    else:
        checks.append(Check("R", True, r_version))
    spec = rpy2_spec_for(r_version)
    try:
        rpy2_version = metadata.version("rpy2")
    except metadata.PackageNotFoundError:
        note = ("rpy2 >= 3.6 needs R >= 4.5" if r_version is None
                else f"R {r_version} needs {spec}: rpy2 >= 3.6 needs R >= 4.5")
        checks.append(Check("rpy2", False, f"not installed ({note})", rpy2_install_command(spec), True))
        rpy2_version = None
    else:
        mismatch = (r_version is not None and _version_tuple(rpy2_version) >= (3, 6)
                    and _version_tuple(r_version) < (4, 5))
        detail = rpy2_version
        if mismatch:
            detail += f" (needs R >= 4.5, but R is {r_version})"
        checks.append(Check("rpy2", not mismatch, detail,
                            f"pip install '{spec}'" if mismatch else "", True))
    if r_version is not None and rpy2_version is not None:
        code, text = _run([sys.executable, "-c", "import rpy2.robjects"])
        if code == 0:
            checks.append(Check("rpy2 starts R", True, "embedded R starts"))
        else:
            last = text.strip().splitlines()[-1] if text.strip() else f"exit code {code}"
            checks.append(Check("rpy2 starts R", False, explain_start_failure(last, r_version),
                                f"pip install '{spec}'", True))
    if r_version is not None:
        checks.extend(check_r_packages())
    return checks


def check_r_packages() -> list[Check]:
    names = list(R_PACKAGES)
    script = (
        "for (p in commandArgs(TRUE)) cat(p, if (requireNamespace(p, quietly = TRUE)) "
        "as.character(utils::packageVersion(p)) else 'MISSING', '\\n')"
    )
    code, text = _run(["Rscript", "-e", script, *names])
    found = dict(line.split()[:2] for line in text.splitlines() if len(line.split()) >= 2)
    out = []
    for name in names:
        role, fix = R_PACKAGES[name]
        version = found.get(name, "MISSING")
        ok = version != "MISSING"
        detail = f"{version if ok else 'missing'} ({role})"
        if ok and name in R_MINIMUM and _version_tuple(version)[:2] < R_MINIMUM[name][0]:
            need = ".".join(map(str, R_MINIMUM[name][0]))
            ok, detail = False, f"{version} is TOO OLD (need >= {need}: {R_MINIMUM[name][1]})"
        out.append(Check(f"R package {name}", ok, detail, "" if ok else fix, name == "survival"))
    return out


def check_reticulate_host() -> Check | None:
    """When doctor itself runs inside R through reticulate: may rpy2 start here?"""
    from pysurvbridge.rbridge import host_refusal, reticulate_host

    host = reticulate_host()
    if host is None:
        return None
    refusal = host_refusal(host)
    return Check("R host (reticulate)", refusal is None,
                 f"this Python runs inside R (reticulate {host['version']}); "
                 + ("rpy2 may start here" if refusal is None else refusal),
                 "" if refusal is None else R_PACKAGES["reticulate"][1])


def run_checks() -> list[Check]:
    checks = [Check("Python", True, sys.version.split()[0])]
    import pysurvbridge

    where = os.path.dirname(os.path.abspath(pysurvbridge.__file__))  # which copy runs: site-packages or a checkout
    try:
        checks.append(Check("pysurvbridge", True, f"{metadata.version('pysurvbridge')} ({where})"))
    except metadata.PackageNotFoundError:
        checks.append(Check("pysurvbridge", True, f"{pysurvbridge.__version__}, source tree, not installed ({where})"))
    checks.append(check_torch())
    checks.append(check_numba())
    checks.append(check_pyarrow())
    checks.append(check_dask())
    checks.extend(check_r_stack())
    host = check_reticulate_host()
    if host is not None:
        checks.append(host)
    return checks


def report(checks: list[Check]) -> tuple[str, int]:
    """The printed report and the exit code (1 when the R engine is unusable)."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        label = "ok  " if c.ok else ("FAIL" if c.required_for_r else "miss")
        lines.append(f"{label}  {c.name:<{width}}  {c.detail}")
        if c.fix:
            lines.append(f"{'':6}{'':<{width}}  fix: {c.fix}")
    r_ok = all(c.ok for c in checks if c.required_for_r)
    if r_ok:
        lines.append("R engine: usable (classical models can run through R's survival)")
    else:
        lines.append("R engine: UNUSABLE - classical models fall back to the native engine; "
                     "apply the fixes above, or run `make setup`")
    return "\n".join(lines), 0 if r_ok else 1


def main() -> int:
    text, code = report(run_checks())
    print(text)
    return code
