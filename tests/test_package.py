"""Importing pysurvbridge starts neither R nor torch."""
import subprocess
import sys

import pytest

from tests._helpers import run_without_rpy2


def test_import_is_light():
    code = (
        "import sys, pysurvbridge, pysurvbridge.data, pysurvbridge.rbridge;"
        "print(sorted(m for m in ('rpy2', 'torch', 'matplotlib', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_compare_is_the_function():
    import pysurvbridge
    import pysurvbridge.comparison  # noqa: F401  (a later submodule import must not rebind the name)

    assert callable(pysurvbridge.compare) and pysurvbridge.compare.__name__ == "compare"


def test_error_tree_subclasses_builtins():
    from pysurvbridge import errors

    assert issubclass(errors.InvalidSurvivalDataError, ValueError)
    assert issubclass(errors.InvalidSurvivalDataError, errors.SurvBridgeError)
    assert issubclass(errors.RUnavailableError, ImportError)
    assert issubclass(errors.RWarning, errors.SurvBridgeWarning)


def test_everything_python_side_works_without_rpy2():
    """With rpy2 unimportable: loaders fall back to the CSV copies; asking for R says how to fix."""
    code = (
        "from pysurvbridge import rbridge\n"
        "from pysurvbridge.data import load_bladder1, bladder1_recurrent\n"
        "from pysurvbridge.errors import RUnavailableError\n"
        "assert not rbridge.is_available()\n"
        "assert load_bladder1().shape == (294, 11)\n"
        "assert bladder1_recurrent().n_events == 189\n"
        "try:\n"
        "    load_bladder1(source='r')\n"
        "except RUnavailableError as e:\n"
        "    print(e)\n"
    )
    out = run_without_rpy2(code)
    assert out.returncode == 0, out.stderr
    assert "pip install \"pysurvbridge[r]\" 'rpy2==3.5.17'" in out.stdout


def test_version_has_one_source():
    """__version__ is the installed distribution's version, which is pyproject.toml's."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python >= 3.11")
    from importlib import metadata
    from pathlib import Path

    import pysurvbridge

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    assert pysurvbridge.__version__ == metadata.version("pysurvbridge") == project["version"]


def test_version_without_installed_metadata(monkeypatch, tmp_path):
    """A source tree that was never installed reads pyproject.toml beside the package; with
    neither, the version says it is unknown instead of guessing."""
    pytest.importorskip("tomllib", reason="the fallback reads pyproject.toml with tomllib (Python >= 3.11)")
    from importlib import metadata

    import pysurvbridge

    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(pysurvbridge._metadata, "version", absent)
    assert pysurvbridge._version() == pysurvbridge.__version__
    monkeypatch.setattr(pysurvbridge, "__file__", str(tmp_path / "pysurvbridge" / "__init__.py"))
    assert pysurvbridge._version() == "0+unknown"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "pysurvbridge"\nversion = "9.8.7"\n')
    assert pysurvbridge._version() == "9.8.7"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "another"\nversion = "1.0"\n')
    assert pysurvbridge._version() == "0+unknown"


def test_missing_optional_packages_name_their_extra():
    """At use time: parquet without pyarrow, Dask cells without distributed."""
    code = (
        "import sys; sys.modules['pyarrow.parquet'] = None; sys.modules['distributed'] = None\n"
        "import pysurvbridge\n"
        "from pysurvbridge.data.streaming import ParquetMinibatches\n"
        "from pysurvbridge.errors import OptionalDependencyError\n"
        "for call in (lambda: ParquetMinibatches('x.parquet', time='t', event='e', covariates=['x']),\n"
        "             lambda: pysurvbridge.compare('bladder1', models=['cox'], seeds=1, backend='dask',\n"
        "                                          crosscheck=False, verbose=False)):\n"
        "    try:\n"
        "        call()\n"
        "    except OptionalDependencyError as e:\n"
        "        print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout
    assert 'pip install "pysurvbridge[parquet]"' in lines[0]
    assert 'pip install "pysurvbridge[dask]"' in lines[1]
