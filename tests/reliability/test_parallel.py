"""Cells in worker processes and on a Dask cluster give the serial table: same seeds, same
splits, same fits (to 1e-12, timings aside). The reference is ``n_jobs=1`` in this process.

The tolerance is 1e-12 absolute plus 1e-12 relative: a worker runs torch with one thread
(cores // workers) where the serial run uses every core, and torch splits its float
reductions by thread count, so MENSA's margin MAE (about 2000 days on Rotterdam) can differ
in its 15th significant digit (measured: 2.4e-12 days)."""
from __future__ import annotations

import pandas as pd
import pytest

from pysurvbridge.comparison import compare
from pysurvbridge.errors import InvalidParameterError

TIMINGS = ["fit_seconds", "tune_seconds"]
SINGLE = dict(data="bladder1", models=["cox", "ag", "wlw", "lstm-cox"], seeds=2, epochs=40)
MULTI = dict(data="rotterdam-multi", models=["cox-per-event", "multistate-cox", "mensa"], seeds=2, epochs=5)


def run(case: dict, **kw):
    case = dict(case)
    return compare(case.pop("data"), **case, verbose=False, crosscheck=False, **kw)


def assert_same_numbers(a, b) -> None:
    cols = [c for c in a.results.columns if c not in TIMINGS]
    pd.testing.assert_frame_equal(a.results[cols], b.results[cols], check_exact=False, rtol=1e-12, atol=1e-12)
    pd.testing.assert_frame_equal(a.table.drop(columns=TIMINGS, errors="ignore"),
                                  b.table.drop(columns=TIMINGS, errors="ignore"), check_exact=False, rtol=1e-12,
                                  atol=1e-12)


@pytest.fixture(scope="module")
def serial_single():
    return run(SINGLE)


@pytest.fixture(scope="module")
def serial_multi():
    return run(MULTI)


@pytest.mark.parametrize("isolate", ["process", "none"])  # forked children; joblib's loky workers
def test_n_jobs_equals_serial_classical_and_deep(serial_single, isolate):
    parallel = run(SINGLE, n_jobs=2, isolate=isolate)
    assert_same_numbers(serial_single, parallel)
    assert parallel.notes == serial_single.notes
    # predictions for the report and the verdict come back from the workers too
    pd.testing.assert_frame_equal(parallel.differences, serial_single.differences, check_exact=False, rtol=0,
                                  atol=1e-12)


def test_n_jobs_equals_serial_multi_event(serial_multi):
    assert_same_numbers(serial_multi, run(MULTI, n_jobs=2))


def test_workers_write_the_store_and_a_serial_rerun_reads_it(serial_single, tmp_path):
    parallel = run(SINGLE, n_jobs=2, store=tmp_path)
    assert "0 of 8 cells from the store" in parallel.notes
    again = run(SINGLE, store=tmp_path)
    assert "8 of 8 cells from the store" in again.notes
    assert_same_numbers(serial_single, again)


def test_dask_local_cluster_equals_serial(serial_single, serial_multi):
    distributed = pytest.importorskip("distributed", reason="dask's distributed is in the [dask] and dev extras")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            single = run(SINGLE, backend="dask")  # each cell isolated in a child of its Dask worker
            multi = run(MULTI, backend="dask", isolate="none")  # in the Dask workers' own threads
    assert_same_numbers(serial_single, single)
    assert_same_numbers(serial_multi, multi)


def test_dask_without_a_client_says_how_to_start_one():
    pytest.importorskip("distributed", reason="dask's distributed is in the [dask] and dev extras")
    with pytest.raises(InvalidParameterError, match="there is none: start one first.*LocalCluster"):
        run(SINGLE, backend="dask")
