"""The result store: cells written as they finish, read back by a rerun, a comparison killed
with SIGKILL resumed, a corrupt cell file recomputed, a store that cannot be written refused
before any fitting. The reference is always the same comparison run without a store in this
process (same seeds, splits and fits: equal numbers, timings aside)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from pysurvbridge.comparison import ModelSpec, compare
from pysurvbridge.comparison.store import StoreError

MODELS = ["cox", "ag", "lstm-cox"]
SEEDS = 3
EPOCHS = 60
TIMINGS = ["fit_seconds", "tune_seconds"]


def run(**kw):
    return compare("bladder1", models=MODELS, seeds=SEEDS, epochs=EPOCHS, verbose=False, crosscheck=False, **kw)


def numbers(result) -> pd.DataFrame:
    return result.results.drop(columns=[c for c in TIMINGS if c in result.results])


def cell_files(store: Path) -> list[Path]:
    return sorted(store.glob("*/cells/*.json"))


@pytest.fixture(scope="module")
def uninterrupted():
    return run()


def test_rerun_reads_every_cell_back(tmp_path, uninterrupted):
    first = run(store=tmp_path)
    assert "0 of 9 cells from the store" in first.notes
    assert len(cell_files(tmp_path)) == 9
    again = run(store=tmp_path)
    assert "9 of 9 cells from the store" in again.notes
    pd.testing.assert_frame_equal(numbers(first), numbers(uninterrupted), check_exact=False, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(again.results, first.results)  # timings too: they are the stored ones
    pd.testing.assert_frame_equal(again.table, first.table)
    # the last seed's fitted model comes back from its own save() format, and predicts as before
    fitted = again.runs["lstm-cox"].fitted
    assert type(fitted).__name__ == "LSTMCox"
    # the report is drawn from the stored predictions
    assert "<svg" in again.to_html() or "<img" in again.to_html()
    # cell files are JSON records with their SHA-256, not pickles
    record = json.loads(cell_files(tmp_path)[0].read_text())
    assert set(record) == {"payload", "checksum"}


def test_other_arguments_write_beside_under_another_key(tmp_path):
    run(store=tmp_path)
    more_seeds = compare("bladder1", models=MODELS, seeds=SEEDS + 1, epochs=EPOCHS, verbose=False, crosscheck=False,
                         store=tmp_path)
    assert "9 of 12 cells from the store" in more_seeds.notes  # the seeds are per cell: the first 3 are reused
    other_split = run(store=tmp_path, test_size=0.25)
    assert "0 of 9 cells from the store" in other_split.notes  # the split arguments key the comparison
    assert len({p.parent.parent for p in cell_files(tmp_path)}) == 2


def test_killed_comparison_resumes_from_its_finished_cells(tmp_path, uninterrupted):
    script = textwrap.dedent(f"""
        from pysurvbridge.comparison import compare
        compare("bladder1", models={MODELS!r}, seeds={SEEDS}, epochs={EPOCHS}, verbose=False, crosscheck=False,
                store={str(tmp_path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(cell_files(tmp_path)) < 2:  # kill -9 once two cells are stored
        assert proc.poll() is None, f"the comparison ended before it could be killed: {proc.stderr.read()!r}"
        assert time.monotonic() < deadline, "no cell stored within 120 s"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = len(cell_files(tmp_path))
    assert 2 <= stored < 9, f"{stored} cells stored: the kill did not land mid-way"
    resumed = run(store=tmp_path)
    assert f"{stored} of 9 cells from the store" in resumed.notes
    pd.testing.assert_frame_equal(numbers(resumed), numbers(uninterrupted), check_exact=False, rtol=0, atol=1e-12)


def test_corrupt_cell_file_is_reported_and_recomputed(tmp_path, uninterrupted):
    run(store=tmp_path)
    victim = [p for p in cell_files(tmp_path) if p.name.startswith("ag~seed1~")][0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # a write cut in half
    again = run(store=tmp_path)
    assert "8 of 9 cells from the store" in again.notes
    assert any(n.startswith(f"store: {victim.name} was unreadable (JSONDecodeError") and n.endswith("recomputed")
               for n in again.notes)
    pd.testing.assert_frame_equal(numbers(again), numbers(uninterrupted), check_exact=False, rtol=0, atol=1e-12)
    # a file whose contents were changed fails its checksum
    record = json.loads(victim.read_text())
    record["payload"]["row"]["c_harrell"] = 0.99
    victim.write_text(json.dumps(record))
    third = run(store=tmp_path)
    assert "8 of 9 cells from the store" in third.notes
    assert any("the checksum does not match the contents" in n for n in third.notes)
    assert "9 of 9 cells from the store" in run(store=tmp_path).notes  # rewritten whole


def test_store_that_cannot_be_written_fails_before_fitting(tmp_path):
    calls = []

    def spy(split):
        calls.append(split)
        raise AssertionError("fitted although the store cannot be written")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for store in (blocker / "store", blocker):  # a path under a file; the file itself
        with pytest.raises(StoreError, match="cannot be written|is a file, not a folder") as info:
            compare("bladder1", models=["cox", ModelSpec("spy", "deep", spy)], seeds=1, verbose=False,
                    crosscheck=False, store=store)
        assert str(blocker) in str(info.value)
    assert calls == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only (0555) folder; the case above "
                                               "covers an unwritable store for root")
def test_read_only_folder_fails_before_fitting(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    store.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="cannot be written"):
            run(store=store)
    finally:
        store.chmod(0o755)
