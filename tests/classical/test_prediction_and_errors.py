"""Prediction against R's survfit.coxph, and the bad-input errors and warnings."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.classical import fit_andersen_gill, fit_cox, fit_pwp
from pysurvbridge.classical.results import linear_predictor
from pysurvbridge.data import RecurrentData, SurvivalData, load_bladder2
from pysurvbridge.errors import (ConvergenceWarning, InvalidParameterError,
                                 InvalidSurvivalDataError, StatisticalWarning)

from tests._helpers import run_without_rpy2

COVS = ["rx", "number", "size"]


@pytest.fixture(scope="module")
def rec():
    return RecurrentData.from_frame(load_bladder2(), id="id", start="start", stop="stop",
                                    event="event", covariates=COVS)


@pytest.mark.r
@pytest.mark.parametrize("fitter,lhs", [(fit_andersen_gill, ["start", "stop", "event"]),
                                        (fit_cox, None)])
def test_predict_survival_equals_r_survfit(r_session, rec, fitter, lhs):
    """Breslow-ties fit: R's survfit(fit, newdata)$surv uses the Breslow baseline too.

    Reference: survfit(coxph(Surv(...) ~ rx + number + size, data, ties = "breslow"),
    newdata = nd), summary(..., times = tt)$surv.
    """
    fit = fitter(rec, COVS, ties="breslow", engine="native")
    newdata = pd.DataFrame({"rx": [1.0, 2.0, 2.0], "number": [1.0, 3.0, 8.0], "size": [1.0, 2.0, 4.0]})
    times = np.array([2.0, 10.0, 25.0, 40.0])
    r = r_session
    b2 = load_bladder2("r")
    data = b2 if lhs else b2.loc[b2["enum"] == 1].reset_index(drop=True)
    f = r.formula("Surv", lhs or ["stop", "event"], COVS, namespace="survival")
    rfit = r.call("coxph", f, data=r.to_r(data), ties="breslow", package="survival")
    sf = r.call("survfit", rfit, newdata=r.to_r(newdata), package="survival")
    s = r.call("summary", sf, times=times, package="base")
    expected = np.asarray(r.to_numpy(r.call("as.vector", s.rx2("surv"), package="base"))).reshape(len(times), len(newdata), order="F").T
    got = fit.predict_survival(newdata, times)
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got.to_numpy(), expected, atol=1e-8)


def test_predict_risk_and_argument_checks(rec):
    fit = fit_andersen_gill(rec, COVS, engine="native")
    x = np.array([[2.0, 3.0, 1.0]])
    assert fit.predict_risk(x)[0] == pytest.approx(np.exp(x @ fit.coef.to_numpy())[0])
    with pytest.raises(InvalidParameterError, match=r"lacks covariate column\(s\) \['size'\]"):
        fit.predict_risk(pd.DataFrame({"rx": [1.0], "number": [1.0]}))
    with pytest.raises(InvalidParameterError, match="3 covariates"):
        fit.predict_risk(np.ones((2, 2)))
    pwp = fit_pwp(rec, COVS, engine="native")
    with pytest.raises(InvalidParameterError, match="stratum 9 was not seen with events in training"):
        pwp.predict_survival(x, [5.0], stratum=9)
    s1 = pwp.predict_survival(x, [5.0, 20.0], stratum=1).to_numpy()
    assert np.all(np.diff(s1) <= 0) and np.all((s1 > 0) & (s1 <= 1))


def test_unknown_constant_and_collinear_covariates(rec):
    with pytest.raises(InvalidParameterError, match=r"unknown covariate\(s\) \['age'\]"):
        fit_andersen_gill(rec, ["rx", "age"], engine="native")
    df = load_bladder2().assign(one=1.0, twice_size=lambda d: 2 * d["size"] + 1)
    data = RecurrentData.from_frame(df, id="id", start="start", stop="stop", event="event",
                                    covariates=COVS + ["one", "twice_size"])
    with pytest.raises(InvalidSurvivalDataError, match=r"\['one'\] are constant"):
        fit_andersen_gill(data, ["rx", "one"], engine="native")
    with pytest.raises(InvalidSurvivalDataError, match=r"collinear") as info:
        fit_andersen_gill(data, ["rx", "size", "twice_size"], engine="native")
    assert "size" in str(info.value) and "twice_size" in str(info.value)


def test_stratum_without_events_warns(rec):
    with pytest.warns(StatisticalWarning, match=r"enum=5 \(\d+ rows\)"):
        data = RecurrentData.from_frame(
            pd.concat([load_bladder2(), pd.DataFrame({"id": [1000], "rx": [1.0], "number": [1], "size": [1],
                                                      "start": [0], "stop": [5], "event": [1], "enum": [1]}),
                       pd.DataFrame({"id": [1000] * 4, "rx": [1.0] * 4, "number": [1] * 4, "size": [1] * 4,
                                     "start": [5, 6, 7, 8], "stop": [6, 7, 8, 9], "event": [1, 1, 1, 0],
                                     "enum": [2, 3, 4, 5]})], ignore_index=True),
            id="id", start="start", stop="stop", event="event", covariates=COVS)
        fit_pwp(data, COVS, engine="native")


def separated():
    """Monotone likelihood: every subject with x = 1 fails before every subject with x = 0."""
    return SurvivalData.from_frame(pd.DataFrame({"t": np.arange(1.0, 11.0), "e": 1,
                                                 "x": [1.0] * 5 + [0.0] * 5,
                                                 "z": np.linspace(0, 1, 10) ** 2}),
                                   time="t", event="e", covariates=["x", "z"])


def test_non_convergence_native():
    with pytest.warns(ConvergenceWarning, match=r"did not converge: stopped after \d+ iterations"):
        fit_cox(separated(), engine="native")


@pytest.mark.r
def test_non_convergence_r_gives_r_message(r_session):
    # R's own text: "Ran out of iterations and did not converge"
    with pytest.warns(ConvergenceWarning, match=r"survival::coxph: Ran out of iterations and did not converge"):
        fit_cox(separated(), engine="r")


def converging_separated():
    """x = 1 subjects all fail before x = 0 subjects, with censoring at t = 2 among the x = 0:
    coxph's log-likelihood converges while the coefficient of x keeps growing."""
    rng = np.random.default_rng(1)
    x = np.repeat([0.0, 1.0], 30)
    t = np.where(x == 1, rng.uniform(0, 5, 60), rng.uniform(5, 10, 60))
    e = np.ones(60)
    t[:10], e[:10] = 2.0, 0.0
    frame = pd.DataFrame({"t": t, "e": e, "x": x, "z": rng.normal(size=60)})
    return SurvivalData.from_frame(frame, time="t", event="e", covariates=["x", "z"])


def test_converged_with_an_infinite_coefficient_warns_like_coxph():
    """coxph's own check (coxph.fit: |u V| > eps and > toler.inf |coef|, eps = 1e-9): R warns
    "Loglik converged before variable 1; coefficient may be infinite" on this data."""
    with pytest.warns(ConvergenceWarning, match=r"converged before variable\(s\) x; coefficient may be infinite"):
        fit = fit_cox(converging_separated(), engine="native")
    assert fit.coef["x"] > 15


@pytest.mark.r
def test_converged_with_an_infinite_coefficient_r(r_session):
    with pytest.warns(ConvergenceWarning, match=r"Loglik converged before variable +1 ; coefficient may be infinite"):
        r_fit = fit_cox(converging_separated(), engine="r")
    with pytest.warns(ConvergenceWarning):
        native = fit_cox(converging_separated(), engine="native")
    assert abs(r_fit.coef["z"] - native.coef["z"]) < 1e-6  # the finite coefficient agrees


def test_engine_and_ties_arguments(rec):
    with pytest.raises(InvalidParameterError, match="engine must be 'auto', 'r' or 'native', but was 'sas'"):
        fit_cox(rec, COVS, engine="sas")
    with pytest.raises(InvalidParameterError, match="ties must be 'efron' or 'breslow', but was 'exact'"):
        fit_cox(rec, COVS, ties="exact")
    with pytest.raises(InvalidParameterError, match="timescale must be"):
        fit_pwp(rec, COVS, timescale="calendar")


def test_without_r_auto_uses_native_and_r_says_how_to_install():
    code = (
        "from pysurvbridge.classical import fit_andersen_gill\n"
        "from pysurvbridge.data import prepared\n"
        "from pysurvbridge.errors import RUnavailableError\n"
        "rec = prepared('bladder2', source='csv')\n"
        "fit = fit_andersen_gill(rec)\n"
        "print(fit.engine, round(fit.robust_se['rx'], 4))\n"
        "try:\n"
        "    fit_andersen_gill(rec, engine='r')\n"
        "except RUnavailableError as e:\n"
        "    print('ERR', e)\n"
    )
    out = run_without_rpy2(code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "native 0.2656"
    assert lines[1].startswith("ERR rpy2 is not installed") and "pip install" in lines[1]


def test_identical_covariates_get_identical_linear_predictors(rec):
    """Rows with the same covariates must get bit-identical x'beta, or concordance counts their
    pairs as ordered instead of tied (found on bladder1: the counting-process C moved by 0.002
    between engines whose coefficients agree to 1e-16). Reference: exact equality; the positive
    control shows BLAS's X @ beta on a column-major X breaking the ties for some coefficients."""
    patterns = np.array([[0, 1, 2, 1], [1, 0, 1, 3], [0, 0, 4, 1]], dtype=float)
    rng = np.random.default_rng(0)
    blas_broke = 0
    for n in (7, 15, 103, 110):
        X = np.asfortranarray(np.tile(patterns, (n // 3 + 1, 1))[:n])
        for _ in range(50):
            beta = rng.normal(size=4)
            assert len(np.unique(linear_predictor(X, beta))) == 3, (n, beta)
            blas_broke += len(np.unique(X @ beta)) != 3
    assert blas_broke > 0  # positive control (about 30% of draws on this machine's OpenBLAS)
    fit = fit_andersen_gill(rec, COVS, engine="native")
    frame = rec.frame[COVS]
    np.testing.assert_array_equal(fit.predict_log_risk(frame), linear_predictor(frame.to_numpy(), fit.coef.to_numpy()))
