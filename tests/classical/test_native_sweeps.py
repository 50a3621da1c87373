"""The native engine's sweeps (pysurvbridge/classical/_sweeps.py): compiled (numba) and numpy
paths agree to 1e-12; the information assembled from per-row and per-group products equals a
brute-force sum over slots of S2/den - xbar xbar' built from its definition (1e-12); heavy
ties, strata and (start, stop] rows against R coxph converged as tightly (1e-9); the package
works without numba; and a fit never allocates anything of size n x p x p.

R references are live coxph calls, written here as a user of R would type them (the five
bladder/bladder2 calls of test_engines.py take the same control argument):

  coxph(Surv(start, stop, event) ~ x1 + x2 + x3 + strata(st) + cluster(id), d, ties = t,
        control = coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-13))

coxph's default eps = 1e-9 leaves its coefficients about 1e-9 from the optimum (test_engines.py
compares at 1e-6); converged as tightly as the native engine they agree to about 1e-15.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.classical import _sweeps, native
from pysurvbridge.classical.design import CoxProblem, build_problem
from pysurvbridge.classical.native import RiskSets, fit_newton, score_and_information, score_residuals
from pysurvbridge.data import RecurrentData, load_bladder2

COVS = ["x1", "x2", "x3"]
MODELS = ["cox", "ag", "pwp-total", "pwp-gap", "wlw"]
needs_numba = pytest.mark.skipif(_sweeps.COMPILED is None, reason="numba is not installed")


def tied_frame(seed: int = 0, n_subjects: int = 150) -> pd.DataFrame:
    """(start, stop] rows on an integer time grid 0..12 (heavy ties: about 20 events per
    time), 3 strata, 1-4 rows per subject, covariates with a non-zero mean."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_subjects):
        x = rng.normal(size=3) + np.array([2.0, -1.0, 0.5])
        cuts = np.sort(rng.choice(np.arange(1, 13), size=rng.integers(1, 5), replace=False))
        start = 0
        for k, stop in enumerate(cuts):
            rows.append({"id": i, "start": float(start), "stop": float(stop),
                         "event": int(rng.random() < 0.6), "st": int((i + k) % 3),
                         "x1": x[0], "x2": x[1] + 0.3 * k, "x3": x[2]})
            start = stop
    return pd.DataFrame(rows)


def problem_from(df: pd.DataFrame, counting: bool = True, strata: bool = True) -> CoxProblem:
    return CoxProblem(model="ag", frame=df, covariates=tuple(COVS), X=df[COVS].to_numpy(float),
                      stop=df["stop"].to_numpy(float), event=df["event"].to_numpy(float),
                      start=df["start"].to_numpy(float) if counting else None,
                      strata=df["st"].to_numpy() if strata else None, cluster=df["id"].to_numpy())


def assert_same_fit(a, b, tol=1e-12):
    np.testing.assert_allclose(a.beta, b.beta, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.var, b.var, rtol=tol, atol=tol * np.abs(a.var).max())
    np.testing.assert_allclose(a.robust_var, b.robust_var, rtol=tol,
                               atol=tol * np.abs(a.robust_var).max())
    assert a.loglik == pytest.approx(b.loglik, rel=tol)
    assert a.loglik_null == pytest.approx(b.loglik_null, rel=tol)
    np.testing.assert_allclose(a.baseline["cumhaz"], b.baseline["cumhaz"], rtol=tol)
    np.testing.assert_array_equal(a.baseline["time"], b.baseline["time"])


@pytest.fixture(scope="module")
def bladder():
    return RecurrentData.from_frame(load_bladder2(), id="id", start="start", stop="stop",
                                    event="event", covariates=["rx", "number", "size"])


@needs_numba
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("model", MODELS)
def test_compiled_and_numpy_paths_agree_on_bladder(bladder, model, ties):
    pr = build_problem(model, bladder)
    assert_same_fit(fit_newton(pr, ties), fit_newton(pr, ties, _force_numpy=True))


@needs_numba
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("counting,strata", [(False, False), (True, False), (False, True), (True, True)])
def test_compiled_and_numpy_paths_agree_with_heavy_ties(ties, counting, strata):
    pr = problem_from(tied_frame(), counting, strata)
    assert_same_fit(fit_newton(pr, ties), fit_newton(pr, ties, _force_numpy=True))
    beta = np.array([0.3, -0.2, 0.1])
    args = (pr.X, beta, pr.stop, pr.event, pr.start, pr.strata, ties)
    for fn in (score_and_information, score_residuals):
        compiled, plain = fn(*args), fn(*args, _force_numpy=True)
        for c, n in zip(compiled if isinstance(compiled, tuple) else [compiled],
                        plain if isinstance(plain, tuple) else [plain]):
            np.testing.assert_allclose(c, n, rtol=1e-12, atol=1e-12 * np.abs(n).max())


def brute_force_information(X, beta, stop, event, start, strata, ties):
    """Score and information from their definitions: for each event time, its Efron slots
    k = 0..d-1 with S_j = sum over the risk set of r x^j minus (k/d) times the tied events'
    sum, then sum over slots of S2/S0 - S1 S1'/S0^2; O(n^2 p^2), per-row outer products."""
    n, p = X.shape
    r = np.exp(X @ beta)
    start = np.full(n, -np.inf) if start is None else start
    strata = np.zeros(n) if strata is None else strata
    score, info = np.zeros(p), np.zeros((p, p))
    keys = {(strata[i], stop[i]) for i in range(n) if event[i] == 1}
    for s, t in keys:
        risk = [i for i in range(n) if strata[i] == s and start[i] < t <= stop[i]]
        tied = [i for i in risk if stop[i] == t and event[i] == 1]
        d = len(tied)
        S = [sum(r[i] * np.outer(X[i], X[i]) for i in rows) for rows in (risk, tied)]
        S1 = [sum(r[i] * X[i] for i in rows) for rows in (risk, tied)]
        S0 = [sum(r[i] for i in rows) for rows in (risk, tied)]
        score += sum(X[i] for i in tied)
        for k in range(d):
            f = k / d if ties == "efron" else 0.0
            s0, s1, s2 = S0[0] - f * S0[1], S1[0] - f * S1[1], S[0] - f * S[1]
            score -= s1 / s0
            info += s2 / s0 - np.outer(s1, s1) / s0**2
    return score, info


@pytest.mark.parametrize("force_numpy", [False, True])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("counting,strata", [(False, False), (True, True)])
def test_information_equals_brute_force_sum_over_slots(force_numpy, ties, counting, strata):
    """The matrix-product information (X' diag(r a) X by rows, xbar xbar' by groups) equals the
    textbook per-slot sum built from per-row p x p outer products."""
    df = tied_frame(seed=3, n_subjects=40)
    pr = problem_from(df, counting, strata)
    beta = np.array([0.4, -0.3, 0.2])
    got = score_and_information(pr.X, beta, pr.stop, pr.event, pr.start, pr.strata, ties,
                                _force_numpy=force_numpy)
    want = brute_force_information(pr.X, beta, pr.stop, pr.event, pr.start, pr.strata, ties)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12 * np.abs(w).max())


@pytest.mark.parametrize("force_numpy", [False, True])
def test_row_information_kernel_equals_per_row_sum(force_numpy):
    """The row part sum_i r_i a_i x_i x_i' (blocked numba loop or BLAS in row blocks) equals
    the per-row sum of outer products."""
    df = tied_frame(seed=5, n_subjects=60)
    pr = problem_from(df)
    rs = RiskSets(pr.stop, pr.event, pr.start, pr.strata, force_numpy=force_numpy)
    model = native._Model(pr.X, rs, "efron", force_numpy)
    st = model.sweep(np.array([0.2, 0.1, -0.3]))
    k = _sweeps.kernels(force_numpy)
    Apad = model._Apad(st)
    got = k["row_information"](model.X, st.r, rs.hi, rs.lo, rs.s, rs.event, Apad, st.B)
    a = _sweeps._weights(rs.hi, rs.lo, rs.s, rs.event, Apad, st.B)
    want = sum(st.r[i] * a[i] * np.outer(model.X[i], model.X[i]) for i in range(rs.n))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("counting,strata", [(False, False), (True, False), (True, True)])
def test_heavy_ties_strata_counting_process_equal_r(r_session, ties, counting, strata):
    """Against coxph converged to the same tolerance (its default 1e-9 leaves coefficients
    about 1e-9 from the optimum; the native engine stops at 1e-12)."""
    r = r_session
    df = tied_frame(seed=11, n_subjects=200)
    lhs = ["start", "stop", "event"] if counting else ["stop", "event"]
    specials = ([("strata", "st")] if strata else []) + [("cluster", "id")]
    f = r.formula("Surv", lhs, COVS, specials=specials, namespace="survival")
    control = r.call("coxph.control", eps=1e-12, **{"iter.max": 100, "toler.chol": 1e-13},
                     package="survival")
    fit = r.call("coxph", f, data=r.to_r(df), ties=ties, control=control, package="survival")
    p = len(COVS)

    def mat(name):
        return np.asarray(r.to_numpy(r.call("as.vector", fit.rx2(name), package="base"))).reshape(p, p)

    native_fit = fit_newton(problem_from(df, counting, strata), ties)
    np.testing.assert_allclose(native_fit.beta, r.to_numpy(fit.rx2("coefficients")), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(native_fit.var)), np.sqrt(np.diag(mat("naive.var"))),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(native_fit.robust_var)), np.sqrt(np.diag(mat("var"))),
                               rtol=0, atol=1e-9)
    loglik = r.to_numpy(fit.rx2("loglik"))
    assert native_fit.loglik == pytest.approx(loglik[1], abs=1e-9)
    assert native_fit.loglik_null == pytest.approx(loglik[0], abs=1e-9)


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("model", MODELS)
def test_bladder_models_equal_r_converged_as_tightly(r_session, bladder, model, ties):
    """test_engines.py's five coxph calls on bladder/bladder2 with control = coxph.control(eps =
    1e-12, iter.max = 100, toler.chol = 1e-13): coefficients, SEs, robust SEs, log-likelihood
    to 1e-9."""
    from pysurvbridge.data import load_bladder

    r = r_session
    b, b2 = load_bladder("r"), load_bladder2("r")
    data, lhs, strata = {
        "cox": (b.loc[b["enum"] == 1], ["stop", "event"], False),
        "ag": (b2, ["start", "stop", "event"], False),
        "pwp-total": (b2, ["start", "stop", "event"], True),
        "pwp-gap": (b2.assign(gap=b2["stop"] - b2["start"]), ["gap", "event"], True),
        "wlw": (b, ["stop", "event"], True),
    }[model]
    covs = ["rx", "number", "size"]
    specials = ([("strata", "enum")] if strata else []) + [("cluster", "id")]
    f = r.formula("Surv", lhs, covs, specials=specials, namespace="survival")
    control = r.call("coxph.control", eps=1e-12, **{"iter.max": 100, "toler.chol": 1e-13},
                     package="survival")
    fit = r.call("coxph", f, data=r.to_r(data.reset_index(drop=True)), ties=ties, control=control,
                 package="survival")

    def se(name):
        v = np.asarray(r.to_numpy(r.call("as.vector", fit.rx2(name), package="base")))
        return np.sqrt(np.diag(v.reshape(3, 3)))

    native_fit = fit_newton(build_problem(model, bladder, max_events=4 if model == "wlw" else None),
                            ties)
    np.testing.assert_allclose(native_fit.beta, r.to_numpy(fit.rx2("coefficients")), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(native_fit.var)), se("naive.var"), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(native_fit.robust_var)), se("var"), rtol=0, atol=1e-9)
    assert native_fit.loglik == pytest.approx(r.to_numpy(fit.rx2("loglik"))[1], abs=1e-9)


def test_without_numba_the_numpy_path_fits_the_same():
    """A fresh interpreter where importing numba fails: the twins run and give the same fit."""
    code = textwrap.dedent("""
        import sys, json
        sys.modules["numba"] = None
        from pysurvbridge.classical import _sweeps
        from pysurvbridge.classical.native import fit_newton
        from tests.classical.test_native_sweeps import problem_from, tied_frame
        assert _sweeps.COMPILED is None and _sweeps.kernels() is _sweeps.NUMPY
        fit = fit_newton(problem_from(tied_frame()), "efron")
        print(json.dumps({"beta": fit.beta.tolist(), "robust": fit.robust_var.ravel().tolist(),
                          "loglik": fit.loglik}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    here = fit_newton(problem_from(tied_frame()), "efron")
    np.testing.assert_allclose(got["beta"], here.beta, rtol=1e-12)
    np.testing.assert_allclose(got["robust"], here.robust_var.ravel(), rtol=1e-12, atol=1e-15)
    assert got["loglik"] == pytest.approx(here.loglik, rel=1e-12)


@pytest.mark.parametrize("force_numpy", [False, True])
def test_memory_is_linear_in_rows(force_numpy):
    """Peak resident memory of a fit with n = 200000 rows and p = 25 covariates stays within a
    few copies of X (40 MB); one n x p x p array would be 1 GB."""
    code = textwrap.dedent(f"""
        import numpy as np
        from pysurvbridge.classical.design import CoxProblem
        from pysurvbridge.classical.native import fit_newton
        n, p = 200_000, 25
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, p))
        stop = np.round(rng.exponential(np.exp(-0.1 * X[:, 0])), 2) + 0.01
        event = (rng.random(n) < 0.6).astype(float)
        pr = CoxProblem("cox", None, tuple(map(str, range(p))), X, stop, event, None, None,
                        np.arange(n))
        fit_newton(pr, "efron", _force_numpy={force_numpy})  # compiles, warms the allocator
        def status(key):
            for line in open("/proc/self/status"):
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        try:
            open("/proc/self/clear_refs", "w").write("5")  # reset the high-water mark
        except OSError:
            pass
        before = status("VmRSS")
        fit_newton(pr, "efron", _force_numpy={force_numpy})
        print(status("VmHWM") - before, X.nbytes)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    grown, x_bytes = map(int, out.stdout.split())
    assert grown < 4 * x_bytes, f"a fit grew resident memory by {grown / 1e6:.0f} MB"
