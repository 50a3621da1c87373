"""Importing pysurvbridge starts neither R nor torch."""
import subprocess
import sys


def test_import_is_light():
    code = (
        "import sys, pysurvbridge, pysurvbridge.data, pysurvbridge.rbridge;"
        "print(sorted(m for m in ('rpy2', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_tree_subclasses_builtins():
    from pysurvbridge import errors

    assert issubclass(errors.InvalidSurvivalDataError, ValueError)
    assert issubclass(errors.InvalidSurvivalDataError, errors.SurvBridgeError)
    assert issubclass(errors.RUnavailableError, ImportError)
    assert issubclass(errors.RWarning, errors.SurvBridgeWarning)
