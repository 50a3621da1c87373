"""The command line: describe prints the prepared data; bad arguments give one-line errors."""
from __future__ import annotations

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "pysurvbridge.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_describe_bladder1_from_csv():
    out = run("describe", "bladder1", "--source", "csv")
    assert out.returncode == 0
    assert "116 subjects, 292 rows (start, stop], 189 events" in out.stdout
    assert "dropped 2 zero-length interval(s)" in out.stdout


def test_bad_dataset_is_a_one_line_error():
    out = run("describe", "nope")
    assert out.returncode == 2
    assert "invalid choice: 'nope'" in out.stderr and "Traceback" not in out.stderr


def test_no_command_prints_help():
    out = run()
    assert out.returncode == 2 and "doctor" in out.stdout
