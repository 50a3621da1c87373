"""Crashes stay in their cell: a cell whose process dies (SIGSEGV) or runs past ``timeout``
becomes a failed row with the reason, and every other cell finishes with the numbers of a
serial run in this process (the reference)."""
from __future__ import annotations

import pandas as pd
import pytest

from pysurvbridge.comparison import compare
from pysurvbridge.comparison.execution import resolve_execution
from pysurvbridge.errors import InvalidParameterError

from ._crashing_models import SEGFAULT, SLEEPER

SEEDS = 2


@pytest.fixture(scope="module")
def serial():
    return compare("bladder1", models=["cox", "ag"], seeds=SEEDS, verbose=False, crosscheck=False)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_segfault_and_timeout_become_failed_rows(serial, n_jobs):
    result = compare("bladder1", models=["cox", SEGFAULT, SLEEPER, "ag"], seeds=SEEDS, verbose=False,
                     crosscheck=False, n_jobs=n_jobs, isolate="process", timeout=3)
    rows = result.results.set_index(["model", "seed"])
    for seed in range(SEEDS):
        assert rows.loc[("segfault", seed), "error"] == "worker died: signal 11 (SIGSEGV)"
        assert rows.loc[("sleeper", seed), "error"] == "timed out after 3 s"
    assert "segfault failed on seed 0: worker died: signal 11 (SIGSEGV)" in result.notes
    ok = result.results[result.results.model.isin(["cox", "ag"])].reset_index(drop=True)
    assert ok["error"].isna().all()
    # tuned_params is None in a table of untuned cells and NaN beside a failed row (pandas fills the column)
    assert ok["tuned_params"].isna().all()
    cols = [c for c in serial.results.columns if c not in ("fit_seconds", "tune_seconds", "tuned_params")]
    # cells in seed-major order: cox and ag of seed 0, then of seed 1, as in the serial run
    pd.testing.assert_frame_equal(ok[cols], serial.results[cols].reset_index(drop=True), check_dtype=False, rtol=0,
                                  atol=1e-12, check_exact=False)  # n_params: float beside the failed rows' NaN
    table = result.table.set_index("model")
    assert table.loc["segfault"].drop(["family", "engine", "protocol"], errors="ignore").isna().any()


def test_defaults_and_arguments():
    assert resolve_execution(1, "local", None, None).isolate == "none"  # one job: cells run here
    assert resolve_execution(2, "local", None, None).isolate == "process"
    assert resolve_execution(1, "dask", None, None).isolate == "process"
    assert resolve_execution(1, "local", None, 60).isolate == "process"  # a timeout needs a process to stop
    for kwargs, match in [(dict(n_jobs=0), "n_jobs must be a positive integer"),
                          (dict(n_jobs=2.5), "n_jobs must be a positive integer"),
                          (dict(backend="spark"), "backend must be one of"),
                          (dict(isolate="thread"), "isolate must be one of"),
                          (dict(timeout=-1), "timeout must be a positive number"),
                          (dict(timeout=5, isolate="none"), "timeout needs each cell in a process of its own")]:
        with pytest.raises(InvalidParameterError, match=match):
            compare("bladder1", models=["cox"], seeds=1, verbose=False, crosscheck=False, **kwargs)
