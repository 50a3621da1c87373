"""The R bridge: conversion, errors, warnings, thread safety, and no code injection.

Expected values come from R itself (typeof, class, levels, is.na evaluated by R on the
converted objects) or from the input frames for round trips.
"""
from __future__ import annotations

import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.errors import RCallError, RWarning

pytestmark = pytest.mark.r


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": np.array([101, 102, 103], dtype=np.int64),
        "arm": pd.Categorical(["thiotepa", "placebo", None], categories=["placebo", "thiotepa", "b6"]),
        "grade": pd.Categorical(["low", "high", "low"], categories=["low", "high"], ordered=True),
        "x": [1.5, np.nan, -3.25],
        "label": ["a", None, "c"],
        "flag": [True, False, True],
        "count": pd.array([1, None, 3], dtype="Int64"),
        "day": pd.to_datetime(["2020-01-01", None, "1969-12-31"]),
    })


def _r_strings(r_session, fun, obj, **kw):
    return [str(x) for x in r_session.call(fun, obj, package="base", **kw)]


def test_types_as_r_sees_them(r_session, mixed_frame):
    rdf = r_session.to_r(mixed_frame)
    typeofs = {c: _r_strings(r_session, "typeof", rdf.rx2(c))[0] for c in mixed_frame.columns}
    assert typeofs == {"id": "integer", "arm": "integer", "grade": "integer", "x": "double",
                       "label": "character", "flag": "logical", "count": "integer", "day": "double"}
    assert _r_strings(r_session, "class", rdf.rx2("arm")) == ["factor"]
    assert _r_strings(r_session, "class", rdf.rx2("grade")) == ["ordered", "factor"]
    assert _r_strings(r_session, "class", rdf.rx2("day")) == ["Date"]
    assert _r_strings(r_session, "levels", rdf.rx2("arm")) == ["placebo", "thiotepa", "b6"]
    days = _r_strings(r_session, "format", rdf.rx2("day"))
    assert (days[0], days[2]) == ("2020-01-01", "1969-12-31")
    # R's is.na on every column: the NAs are where pandas had them.
    for col in mixed_frame.columns:
        r_na = [bool(v) for v in r_session.call("is.na", rdf.rx2(col), package="base")]
        assert r_na == mixed_frame[col].isna().tolist(), col
    # NaN in a double column arrives as NA, not NaN (R distinguishes them)
    assert [bool(v) for v in r_session.call("is.nan", rdf.rx2("x"), package="base")] == [False] * 3


def test_factors_and_dates_are_r_objects(r_session, mixed_frame):
    """R's C code (model.matrix, dispatch) needs the OBJECT bit, not just a class attribute:
    a categorical must expand to one dummy per level, as R's own factor() does."""
    rdf = r_session.to_r(mixed_frame)
    for col in ("arm", "grade", "day"):
        assert [bool(v) for v in r_session.call("is.object", rdf.rx2(col), package="base")] == [True], col
    df = pd.DataFrame({"g": pd.Categorical([0, 1, 2, 1, 0]), "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    f = r_session.call("as.formula", "y ~ 0 + g", package="stats")
    mm = r_session.call("model.matrix", f, data=r_session.to_r(df), package="stats")
    assert _r_strings(r_session, "colnames", mm) == ["g0", "g1", "g2"]


def test_round_trip_preserves_frame(r_session, mixed_frame):
    back = r_session.to_pandas(r_session.to_r(mixed_frame))
    pd.testing.assert_frame_equal(back, mixed_frame, check_exact=True)
    assert back["id"].dtype == np.int64


def test_r_error_carries_r_message(r_session):
    with pytest.raises(RCallError) as info:
        r_session.call("log", "not a number", package="base")
    # R's own text for log("a"): "non-numeric argument to mathematical function"
    assert "non-numeric argument to mathematical function" in info.value.r_message
    assert "base::log" in str(info.value)


def test_unknown_function_is_a_clear_error(r_session):
    with pytest.raises(RCallError, match="not found"):
        r_session.call("no_such_function_xyz", package="survival")


def test_r_warning_becomes_python_warning(r_session):
    with pytest.warns(RWarning, match="NaNs produced"):
        out = r_session.call("sqrt", -1.0, package="base")
    assert np.isnan(r_session.to_numpy(out)[0])


def test_calls_from_many_threads(r_session):
    """Every thread gets its own correct answer; the lock serialises R."""
    def work(k: int) -> float:
        x = np.arange(k, k + 500, dtype=float)
        return float(r_session.to_numpy(r_session.call("sum", x, package="base"))[0])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(64)))
    assert results == [float(np.arange(k, k + 500).sum()) for k in range(64)]
    assert threading.active_count() >= 1


def test_r_fits_read_from_a_worker_thread_equal_the_main_thread(r_session):
    """The R engine's results are R lists read element by element; rpy2's converter lives in a
    context variable that a new thread (a Dask worker's, a web server's) does not have, and
    reading a list there failed with rpy2's "Conversion rules ... appear to be missing". The
    same fits, multi-state Cox and the R Brier score from another thread equal this thread's."""
    from pysurvbridge.classical import fit_cox
    from pysurvbridge.classical.multistate import fit_multistate_cox
    from pysurvbridge.data import catalog
    from pysurvbridge.metrics import brier_score

    bladder, rotterdam = catalog.load("bladder1"), catalog.load("rotterdam-multi")
    rng = np.random.default_rng(0)
    t, e = rng.exponential(5, 80), rng.integers(0, 2, 80)
    S = np.exp(-np.outer(rng.uniform(0.05, 0.3, 80), [2.0, 4.0]))

    def work():
        return (fit_cox(bladder, engine="r").coef.to_numpy(),
                fit_multistate_cox(rotterdam).coefficients["coef"].to_numpy(),
                brier_score(S, [2.0, 4.0], t, e, engine="r"))
    here = work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        there = pool.submit(work).result()
    for a, b in zip(here, there):
        np.testing.assert_array_equal(a, b)


def test_column_name_is_never_evaluated(r_session, tmp_path):
    marker = tmp_path / "pwned"
    evil = f'x); system("touch {marker}"); ('
    # Positive control: the same text, parsed as R code, does run the command.
    control = tmp_path / "control"
    payload = f'system("touch {control}")'
    r_session.call("eval", r_session.call("parse", text=payload, package="base"), package="base")
    assert control.exists(), "positive control failed: the payload should be live R code"

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y": rng.normal(size=20), evil: rng.normal(size=20)})
    f = r_session.formula("identity", ["y"], [evil])
    fit = r_session.call("lm", f, data=r_session.to_r(df), package="stats")
    coef_names = [str(n) for n in r_session.call("coef", fit, package="stats").names]
    assert not marker.exists()
    assert coef_names == ["(Intercept)", f"`{evil}`"]
    # the fitted slope equals numpy's least squares on the same columns
    slope = r_session.to_numpy(r_session.call("coef", fit, package="stats"))[1]
    expected = np.polyfit(df[evil], df["y"], 1)[0]
    assert slope == pytest.approx(expected, rel=1e-10)
    assert not r_session.has_r_package(f'survival"); system("touch {marker}'), "no such package"
    with pytest.raises(RCallError), pytest.warns(RWarning):
        r_session.load_r_dataset(f'bladder); system("touch {marker}"); (', "survival")
    assert not marker.exists()


def test_survival_formula_with_specials(r_session):
    f = r_session.formula("Surv", ["start", "stop", "event"], ["rx", "size"],
                          specials=[("strata", "enum"), ("cluster", "id")])
    text = "".join(_r_strings(r_session, "deparse", f))
    assert text == "Surv(start, stop, event) ~ rx + size + strata(enum) + cluster(id)"


def test_versions_agree_with_rscript(r_session):
    out = subprocess.run(["Rscript", "-e", "cat(as.character(packageVersion('survival')), "
                          "paste(R.version$major, R.version$minor, sep='.'))"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert r_session.package_version("survival") == out[0]
    assert r_session.r_version() == out[1]
    assert r_session.has_r_package("survival")
    assert not r_session.has_r_package("surely.not.a.package")
    assert r_session.package_version("surely.not.a.package") is None


def test_starting_r_leaves_child_processes_environment_alone(tmp_path):
    """rpy2 prepends R's lib folders and /usr/lib/<arch> to LD_LIBRARY_PATH when R starts; a
    child Python then loaded system libraries over its own (found when a test's nested pytest
    failed with "_ssl ... undefined symbol: _PyModule_Add"). start() restores the variable."""
    import sys

    code = ("import os, subprocess, sys\n"
            "before = os.environ.get('LD_LIBRARY_PATH')\n"
            "from pysurvbridge import rbridge\n"
            "rbridge.start()\n"
            "assert os.environ.get('LD_LIBRARY_PATH') == before, os.environ.get('LD_LIBRARY_PATH')\n"
            "subprocess.run([sys.executable, '-c', 'import ssl'], check=True)\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
