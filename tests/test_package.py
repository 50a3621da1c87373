"""Importing pysurvbridge starts neither R nor torch."""
import subprocess
import sys

from tests._helpers import run_without_rpy2


def test_import_is_light():
    code = (
        "import sys, pysurvbridge, pysurvbridge.data, pysurvbridge.rbridge;"
        "print(sorted(m for m in ('rpy2', 'torch') if m in sys.modules))"
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
    assert "pip install 'rpy2==3.5.17'" in out.stdout
