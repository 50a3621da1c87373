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


def test_compare_bladder1_writes_a_report(tmp_path):
    out = run("compare", "bladder1", "--models", "cox,ag", "--seeds", "1", "--bootstrap", "200", "--quiet", "--out",
              str(tmp_path / "r.html"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("## Verdict") and "- ag (untuned: nothing to tune) vs cox" in out.stdout
    assert "| model | family |" in out.stdout and "| ag | classical |" in out.stdout
    assert "note: AIC" in out.stdout and (tmp_path / "r.html").stat().st_size > 10_000


def test_compare_with_a_reference_and_tuning():
    out = run("compare", "bladder1", "--models", "cox,ag,deepsurv", "--seeds", "2", "--epochs", "3", "--quiet",
              "--reference", "ag", "--tune", "default", "--tune-trials", "1", "--tune-folds", "2", "--no-crosscheck")
    assert out.returncode == 0, out.stderr
    assert "- deepsurv (tuned) vs ag (untuned: nothing to tune), Harrell's C:" in out.stdout
    assert "note: tuning: deepsurv: 1 trials x 2-fold inner cross-validation" in out.stdout
    bad = run("compare", "bladder1", "--models", "cox,ag", "--reference", "mensa", "--quiet")
    assert bad.returncode == 2 and "reference 'mensa' is not among the models" in bad.stderr


def test_compare_store_and_workers(tmp_path):
    args = ["compare", "bladder1", "--models", "cox,ag", "--seeds", "2", "--quiet", "--no-crosscheck",
            "--store", str(tmp_path / "store")]
    first = run(*args)
    assert first.returncode == 0, first.stderr
    assert "note: 0 of 4 cells from the store" in first.stdout
    again = run(*args)
    assert again.returncode == 0, again.stderr
    assert "note: 4 of 4 cells from the store" in again.stdout
    table = lambda out: [line for line in out.splitlines() if line.startswith("| cox ") or line.startswith("| ag ")]
    assert table(again.stdout) == table(first.stdout)  # timings too: the stored ones
    bad = run("compare", "bladder1", "--models", "cox", "--n-jobs", "0", "--quiet")
    assert bad.returncode == 2 and "n_jobs must be a positive integer" in bad.stderr


def test_compare_rotterdam_multi_event(tmp_path):
    out = run("compare", "rotterdam-multi", "--models", "cox-per-event,mensa,earlier-event-first", "--seeds", "1",
              "--bootstrap", "200",
              "--epochs", "2", "--quiet", "--out", str(tmp_path / "m.html"))
    assert out.returncode == 0, out.stderr
    assert "| mensa | deep |" in out.stdout and "| earlier-event-first | reference |" in out.stdout
    assert "note: local C floor" in out.stdout and (tmp_path / "m.html").stat().st_size > 10_000


def test_compare_a_single_event_csv(tmp_path):
    from pysurvbridge.data import load_rotterdam

    csv = tmp_path / "rot.csv"
    load_rotterdam("csv")[["pid", "rtime", "recur", "age", "nodes", "size"]].to_csv(csv, index=False)
    out = run("compare", str(csv), "--time", "rtime", "--event", "recur", "--id", "pid", "--covariates",
              "age,nodes,size", "--one-hot", "size", "--models", "cox,deepsurv", "--seeds", "1",
              "--bootstrap", "200", "--epochs", "2",
              "--quiet")
    assert out.returncode == 0, out.stderr
    assert "| cox | classical |" in out.stdout and "| deepsurv | deep |" in out.stdout
    bad = run("compare", str(csv), "--time", "rtime", "--quiet")
    assert bad.returncode == 2 and "a single-event CSV needs --time and --event" in bad.stderr


def test_simulate_then_compare_a_csv(tmp_path):
    csv = tmp_path / "sim.csv"
    out = run("simulate", "recurrent", "--n", "120", "--out", str(csv))
    assert out.returncode == 0 and "120 subjects" in out.stdout
    out = run("compare", str(csv), "--id", "id", "--start", "start", "--stop", "stop", "--event", "event",
              "--covariates", "x1,x2", "--models", "cox,ag", "--seeds", "1", "--bootstrap", "200", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "| cox | classical |" in out.stdout


def test_compare_bad_arguments_are_one_line_errors(tmp_path):
    for args, message in [
        (("compare", "bladder1", "--models", "foo", "--quiet"), "unknown model 'foo'"),
        (("compare", "nowhere.csv"), "neither a data set"),
        (("compare", __file__), "a CSV needs --id --start --stop --event"),
        (("compare", "bladder1", "--seeds", "x"), "invalid int value"),
    ]:
        out = run(*args)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
