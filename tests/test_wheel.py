"""The package people install: the sdist and the wheel that `python -m build` makes.

Built from a copy of the checkout (the files git tracks or would track) in a temporary folder, so
that setuptools' build/ and *.egg-info land there and not in the repository. Checked: `twine
check`, the wheel's and the sdist's file lists and metadata, a wheel built from the sdist equal
file by file to the one built from the tree, and the wheel installed (not editable) into a fresh
venv without rpy2, where `pysurvbridge doctor`, `pysurvbridge compare` and `__version__` run from
outside the repository. Dependencies are pinned to this venv's versions (a constraints file), so
pip finds them where it found them for this venv and torch stays the CPU build.

About 80 s (the install of torch and the other dependencies is most of it): marked slow, so a
plain `pytest` skips it; `make test` sets RUN_SLOW=1 and runs it among the first files.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
TIMES: dict[str, float] = {}  # seconds per stage, printed by the last test (pytest -s shows them)
EXTRAS = {"r", "fast", "parquet", "dask", "docs", "dev"}
URLS = {"Homepage", "Documentation", "Source", "Changelog", "Issues"}
PACKAGE_DATA = re.compile(r"^pysurvbridge/(py\.typed|data/csv/[^/]+\.(csv|json)|data/csv/SOURCES\.md)$")


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run(cmd: list[str], what: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd``; on a non-zero exit fail with the command and its output's tail."""
    start = time.perf_counter()
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kwargs)
    TIMES[what] = TIMES.get(what, 0.0) + time.perf_counter() - start
    assert out.returncode == 0, (f"{what} failed (exit {out.returncode}): {' '.join(map(str, cmd))}\n"
                                 f"--- stdout ---\n{_tail(out.stdout)}\n--- stderr ---\n{_tail(out.stderr)}")
    return out


def _source_files() -> list[str]:
    """The checkout's files as a clean clone plus the uncommitted ones would have them: what git
    tracks or would track (untracked files not ignored). Without git: the tree minus build output."""
    if (REPO / ".git").exists() and shutil.which("git"):
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True)
        return sorted(f for f in out.stdout.decode().split("\0") if f and (REPO / f).is_file())
    skip = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis", "_build"}
    return sorted(str(p.relative_to(REPO)) for p in REPO.rglob("*")
                  if p.is_file() and not skip & set(p.relative_to(REPO).parts) and ".egg-info" not in str(p))


def _repo_build_state() -> dict[str, float | None]:
    """What a build inside the repository would change: build/, dist/ and the egg-info's mtimes."""
    paths = [REPO / "build", REPO / "dist", *REPO.glob("*.egg-info"), *REPO.glob("*.egg-info/*")]
    return {str(p): p.stat().st_mtime for p in paths if p.exists()}


def _record(wheel: Path) -> dict[str, str]:
    """path -> 'sha256=...' from the wheel's RECORD, each hash checked against the file's bytes."""
    with zipfile.ZipFile(wheel) as zf:
        record_name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(io.StringIO(zf.read(record_name).decode())))
        hashes = {}
        for path, digest, _size in rows:
            if path == record_name:
                continue
            actual = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(zf.read(path)).digest()).rstrip(b"=").decode()
            assert digest == actual, f"{wheel.name}: RECORD says {digest} for {path}, the file hashes to {actual}"
            hashes[path] = digest
        assert set(hashes) | {record_name} == set(zf.namelist()), f"{wheel.name}: RECORD and the archive differ"
    return hashes


@pytest.fixture(scope="module", autouse=True)
def _timings():
    """Prints where the time went when the module ends (pytest -s shows it)."""
    yield
    print("\ntest_wheel timings (s): " + ", ".join(f"{k}: {v:.1f}" for k, v in TIMES.items()))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist and the wheel from a copy of the tree, and a second wheel built from that sdist."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is not installed (pip install build, or the dev extra): "
                    "the sdist and the wheel cannot be built")
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    for name in _source_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    before = _repo_build_state()
    dist = root / "dist"
    _run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", dist, src],
         "build: sdist and wheel from the tree", cwd=root)
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, f"expected one sdist and one wheel in {dist}: {os.listdir(dist)}"
    unpacked = root / "from-sdist"
    with tarfile.open(sdists[0]) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(unpacked, filter="data")
        else:  # Python without extraction filters (3.10 before 3.10.12)
            tf.extractall(unpacked)
    (sdist_tree,) = unpacked.iterdir()
    again = root / "dist-from-sdist"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", again, sdist_tree],
         "build: wheel from the sdist", cwd=root)
    assert _repo_build_state() == before, "building wrote build/, dist/ or *.egg-info into the repository"
    return {"root": root, "sdist": sdists[0], "wheel": wheels[0], "wheel_from_sdist": next(again.glob("*.whl")),
            "sources": _source_files()}


def test_twine_check_passes(built):
    if importlib.util.find_spec("twine") is None:
        pytest.skip("twine is not installed (pip install twine, or the dev extra)")
    out = _run([sys.executable, "-m", "twine", "check", "--strict", built["sdist"], built["wheel"]], "twine check")
    assert out.stdout.count("PASSED") == 2, out.stdout


def test_wheel_holds_the_package_its_data_and_the_license(built):
    version = _pyproject()["project"]["version"]
    assert built["wheel"].name == f"pysurvbridge-{version}-py3-none-any.whl"
    with zipfile.ZipFile(built["wheel"]) as zf:
        names = set(zf.namelist())
        metadata = Parser().parsestr(zf.read(f"pysurvbridge-{version}.dist-info/METADATA").decode())
    top = {n.split("/")[0] for n in names}
    assert top == {"pysurvbridge", f"pysurvbridge-{version}.dist-info"}, f"unexpected top-level entries: {sorted(top)}"
    package = {f for f in built["sources"] if f.startswith("pysurvbridge/")}
    wanted = {f for f in package if f.endswith(".py") or PACKAGE_DATA.match(f)}
    assert {"pysurvbridge/py.typed", "pysurvbridge/data/csv/bladder1.csv", "pysurvbridge/data/csv/schema.json",
            "pysurvbridge/data/csv/SOURCES.md"} <= wanted, "the checkout lacks files this test expects"
    missing = sorted(wanted - names)
    assert not missing, f"the wheel lacks {missing}"
    extra = sorted(n for n in names - wanted if not n.startswith(f"pysurvbridge-{version}.dist-info/"))
    assert not extra, f"the wheel holds files that are neither modules nor package data: {extra}"
    assert f"pysurvbridge-{version}.dist-info/licenses/LICENSE" in names, sorted(n for n in names if "dist-info" in n)
    assert not [n for n in names if re.search(r"(^|/)(tests|benchmarks|__pycache__)/|\.pyc$", n)]

    assert metadata["Version"] == version and metadata["Name"] == "pysurvbridge"
    assert metadata["License-Expression"] == "MIT" and metadata["License-File"] == "LICENSE"
    assert set(metadata.get_all("Provides-Extra")) >= EXTRAS, metadata.get_all("Provides-Extra")
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert set(urls) >= URLS and all(u.startswith("https://") for u in urls.values()), urls
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert metadata["Description-Content-Type"] == "text/markdown" and "# pysurvbridge" in metadata.get_payload()


def test_metadata_requirements_are_the_pyproject_ones(built):
    """Every requirement of every extra in pyproject.toml, and nothing else, reaches METADATA."""
    from packaging.requirements import Requirement

    project = _pyproject()["project"]
    with zipfile.ZipFile(built["wheel"]) as zf:
        metadata = Parser().parsestr(zf.read(f"pysurvbridge-{project['version']}.dist-info/METADATA").decode())
    got: dict[str, set[str]] = {}
    for line in metadata.get_all("Requires-Dist"):
        req = Requirement(line)
        extra = re.search(r'extra == "([^"]+)"', str(req.marker)) if req.marker else None
        got.setdefault(extra.group(1) if extra else "", set()).add(f"{req.name}{req.specifier}")

    def canonical(reqs):
        return {f"{r.name}{r.specifier}" for r in map(Requirement, reqs)}

    want = {"": canonical(project["dependencies"])}
    want.update({name: canonical(reqs) for name, reqs in project["optional-dependencies"].items()})
    assert got == want
    assert {"rpy2>=3.5.17"} == got["r"] and {"numba>=0.59"} == got["fast"] and {"pyarrow>=12"} == got["parquet"]
    assert {"dask>=2024.1", "distributed>=2024.1"} == got["dask"]


def test_sdist_holds_what_builds_the_wheel_and_nothing_else(built):
    version = _pyproject()["project"]["version"]
    prefix = f"pysurvbridge-{version}/"
    with tarfile.open(built["sdist"]) as tf:
        files = {m.name[len(prefix):] for m in tf.getmembers() if m.isfile()}
    assert {"pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "PKG-INFO"} <= files, sorted(files)
    package = {f for f in built["sources"] if f.startswith("pysurvbridge/")
               and (f.endswith(".py") or PACKAGE_DATA.match(f))}
    assert not sorted(package - files), f"the sdist lacks {sorted(package - files)}"
    banned = re.compile(r"^(tests|benchmarks|docs|vignettes|r|scripts|\.ci|\.venv|build|dist)/|(^|/)__pycache__/|\.pyc$")
    assert not sorted(f for f in files if banned.search(f)), sorted(f for f in files if banned.search(f))


def test_wheel_from_the_sdist_equals_the_wheel_from_the_tree(built):
    from_tree, from_sdist = _record(built["wheel"]), _record(built["wheel_from_sdist"])
    assert built["wheel"].name == built["wheel_from_sdist"].name
    assert sorted(from_tree) == sorted(from_sdist), sorted(set(from_tree) ^ set(from_sdist))
    differ = sorted(p for p in from_tree if from_tree[p] != from_sdist[p])
    assert not differ, f"files whose contents differ between the two wheels: {differ}"


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory):
    """A fresh venv (no site-packages of this one, no rpy2) with the wheel installed, not editable."""
    root = tmp_path_factory.mktemp("venv")
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH"}}
    env["PYTHONNOUSERSITE"] = "1"  # nothing from ~/.local either
    _run([sys.executable, "-m", "venv", root / "env"], "venv: create", cwd=root, env=env)
    bin_dir = root / "env" / ("Scripts" if os.name == "nt" else "bin")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(root / "env")
    # this venv's versions as constraints: the same wheels (pip's cache or index), torch the CPU
    # build; local and URL requirements (name @ file://..., -e) are left out, and so is pysurvbridge
    freeze = _run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], "venv: pip freeze").stdout
    pins = [line for line in freeze.splitlines()
            if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[^\s;@]+", line) and not line.lower().startswith("pysurvbridge==")]
    assert any(p.startswith("torch==") for p in pins), f"no torch pin in this venv's pip freeze:\n{freeze}"
    (root / "constraints.txt").write_text("\n".join(pins) + "\n")
    # --no-compile: byte code is written on first import instead (it halves the install: torch)
    _run([bin_dir / "python", "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--no-compile",
          "--constraint", root / "constraints.txt", built["wheel"]], "venv: pip install the wheel", cwd=root, env=env)
    return {"root": root, "python": bin_dir / "python", "bin": bin_dir, "env": env}


def _in_venv(venv, args: list, what: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    start = time.perf_counter()
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=venv["root"], env=venv["env"],
                         timeout=timeout)
    TIMES[what] = time.perf_counter() - start
    if check:
        assert out.returncode == 0, (f"{what} failed (exit {out.returncode})\n--- stdout ---\n{_tail(out.stdout)}\n"
                                     f"--- stderr ---\n{_tail(out.stderr)}")
    return out


def test_installed_wheel_imports_from_the_venv(venv):
    code = ("import sys, sysconfig, importlib.util, pysurvbridge\n"
            "print(pysurvbridge.__version__)\n"
            "print(pysurvbridge.__file__)\n"
            "print(sysconfig.get_paths()['purelib'])\n"
            "print(importlib.util.find_spec('rpy2') is not None)\n"
            "print(sorted(m for m in ('rpy2', 'torch', 'matplotlib', 'scipy') if m in sys.modules))\n")
    out = _in_venv(venv, [venv["python"], "-c", code], "python -c 'import pysurvbridge'")
    version, location, purelib, has_rpy2, heavy = out.stdout.splitlines()
    assert version == _pyproject()["project"]["version"], f"__version__ is {version!r}"
    location, purelib = Path(location).resolve(), Path(purelib).resolve()
    assert location.is_relative_to(purelib), f"pysurvbridge imported from {location}, not the venv's {purelib}"
    assert not location.is_relative_to(REPO), f"pysurvbridge imported from the checkout: {location}"
    assert has_rpy2 == "False", "rpy2 is importable in the fresh venv; the test needs a venv without it"
    assert heavy == "[]", f"importing pysurvbridge imported {heavy}"


def test_doctor_in_the_fresh_venv_names_each_extra(venv):
    """doctor exits 1 when the R engine is unusable (no rpy2 here), and names the extra to install."""
    out = _in_venv(venv, [venv["bin"] / "pysurvbridge", "doctor"], "pysurvbridge doctor", check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 1 and "R engine: UNUSABLE" in out.stdout, f"exit {out.returncode}\n{text}"
    assert re.search(r"^ok\s+torch\s+\d", out.stdout, re.M), text
    site = re.search(r"^ok\s+pysurvbridge\s+(\S+) \((.+)\)$", out.stdout, re.M)
    assert site and site.group(1) == _pyproject()["project"]["version"], text
    assert Path(site.group(2)).resolve().is_relative_to(venv["root"].resolve()), text
    rpy2 = re.search(r"^FAIL\s+rpy2\s+not installed.*\n\s+fix: (.*)$", out.stdout, re.M)
    assert rpy2 and 'pip install "pysurvbridge[r]"' in rpy2.group(1), text
    installed = _in_venv(venv, [venv["python"], "-c", (
        "from importlib import metadata\n"
        "for p in ('numba', 'pyarrow', 'distributed'):\n"
        "    try: metadata.version(p); print(p, 1)\n"
        "    except metadata.PackageNotFoundError: print(p, 0)\n")], "python: which optional packages")
    extra = {"numba": "fast", "pyarrow": "parquet", "distributed": "dask"}
    for line in installed.stdout.splitlines():
        package, present = line.split()
        name = "dask" if package == "distributed" else package
        row = re.search(rf"^(ok|miss)\s+{name}\s.*(\n\s+fix: .*)?", out.stdout, re.M)
        assert row, f"doctor has no {name} line\n{text}"
        if present == "0":
            assert row.group(1) == "miss" and f'pip install "pysurvbridge[{extra[package]}]"' in (row.group(2) or ""), \
                f"{package} is missing here, and doctor's {name} line does not name the [{extra[package]}] extra:\n{text}"


def test_compare_runs_on_the_native_engine_in_the_fresh_venv(venv):
    """The plain install's CLI end to end. --bootstrap 200: without numba (the fast extra) the
    default 2000 paired-bootstrap resamples of the verdict take 45 s here, 200 take 5 s."""
    out = _in_venv(venv, [venv["bin"] / "pysurvbridge", "compare", "bladder1", "--models", "cox,ag", "--seeds", "1",
                          "--bootstrap", "200"], "pysurvbridge compare bladder1 --models cox,ag --seeds 1")
    lines = out.stdout.splitlines()
    header = next((line for line in lines if line.startswith("| model | family |")), None)
    assert header, f"no results table in the output:\n{out.stdout}"
    columns = [c.strip() for c in header.strip("|").split("|")]
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and len(cells) == len(columns) and cells[0] in ("cox", "ag"):
            rows[cells[0]] = dict(zip(columns, cells))
    assert set(rows) == {"cox", "ag"}, f"rows {sorted(rows)} in:\n{out.stdout}"
    for model, row in rows.items():
        assert row["engine"] == "native", row
        assert 0 < float(row["c_harrell"]) < 1, row  # a concordance, not "nan" or blank
    assert "native engine used" in out.stdout, out.stdout
