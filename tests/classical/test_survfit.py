"""Predicted curves, their standard errors and bands equal R's ``survfit(coxph_fit, newdata)``.

References: R code run in the embedded R, written the way an R user types it, on R's own
``lung`` and ``bladder2``; the fit converged to eps 1e-12 so that the comparison measures the
curves, not coxph's stopping rule:

    d <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")]); d$status <- d$status - 1
    set.seed(1); d$w <- runif(nrow(d), 0.2, 3); d$id <- seq_len(nrow(d))
    f <- coxph(Surv(time, status) ~ age + ph.ecog + strata(sex) + cluster(id), d, weights = w,
               ties = "efron", control = coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 50))
    survfit(f, newdata = nd, conf.type = "log")   # $surv, $std.err, $lower, $upper

Measured largest differences (this machine): survival 5e-16, std.err 9e-16, bounds 7e-16.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.classical import fit_andersen_gill, fit_cox
from pysurvbridge.classical.design import build_problem
from pysurvbridge.classical.survfit import SurvivalBand
from pysurvbridge.data import RecurrentData, SurvivalData, load_bladder2
from pysurvbridge.errors import InvalidParameterError

LUNG = """
library(survival)
d <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")]); d$status <- d$status - 1
set.seed(1); d$w <- runif(nrow(d), 0.2, 3); d$id <- seq_len(nrow(d))
"""
NEW = pd.DataFrame({"age": [50.0, 70.0], "sex": [1.0, 2.0], "ph.ecog": [0.0, 2.0]})
TIGHT = "control = coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 50)"


def r_eval(r, code: str):
    """Run R code in R's global environment (objects persist between calls)."""
    return r.call("eval", r.call("parse", text=code, package="base"), envir=r.call("globalenv", package="base"),
                  package="base")


def r_vector(r, code: str) -> np.ndarray:
    return np.asarray(r.to_numpy(r_eval(r, code)), dtype=float)


@pytest.fixture(scope="module")
def lung(r_session):
    r_eval(r_session, LUNG)
    df = r_session.to_pandas(r_eval(r_session, "d")).reset_index(drop=True)
    return df


def lung_data(df, weighted):
    return SurvivalData.from_frame(df, time="time", event="status", covariates=["age", "sex", "ph.ecog"],
                                   id="id", weights="w" if weighted else None)


def r_curve(r, k: int) -> dict[str, np.ndarray]:
    """survfit's components for row k of nd (1-based), one curve."""
    r_eval(r, f"s <- survfit(f, newdata = nd[{k}, , drop = FALSE], conf.type = ct)")
    return {name: r_vector(r, f"s${name}") for name in ("time", "surv", "std.err", "lower", "upper")}


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_curves_and_bands_equal_survfit(r_session, lung, ties, stratified, weighted, conf_type):
    r = r_session
    rhs = "age + ph.ecog + strata(sex)" if stratified else "age + ph.ecog + sex"
    r_eval(r, f'f <- coxph(Surv(time, status) ~ {rhs} + cluster(id), data = d, ties = "{ties}"'
              f'{", weights = w" if weighted else ""}, {TIGHT}); '
              f'nd <- data.frame(age = c(50, 70), sex = c(1, 2), ph.ecog = c(0, 2)); ct <- "{conf_type}"')
    fit = fit_cox(lung_data(lung, weighted), ties=ties, engine="native", strata=["sex"] if stratified else None)
    for k in (1, 2):
        ref = r_curve(r, k)
        band = fit.predict_survival(NEW.iloc[[k - 1]], ref["time"], conf_level=0.95, conf_type=conf_type)
        assert isinstance(band, SurvivalBand)
        np.testing.assert_allclose(band.survival.to_numpy()[0], ref["surv"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(band.std_err.to_numpy()[0], ref["std.err"], rtol=0, atol=1e-8)
        np.testing.assert_allclose(band.lower.to_numpy()[0], ref["lower"], rtol=0, atol=1e-8)
        np.testing.assert_allclose(band.upper.to_numpy()[0], ref["upper"], rtol=0, atol=1e-8)
        plain = fit.predict_survival(NEW.iloc[[k - 1]], ref["time"])
        np.testing.assert_array_equal(plain.to_numpy(), band.survival.to_numpy())


def test_both_rows_at_once_get_their_own_strata(r_session, lung):
    r = r_session
    r_eval(r, f'f <- coxph(Surv(time, status) ~ age + ph.ecog + strata(sex) + cluster(id), data = d, {TIGHT}); '
              'nd <- data.frame(age = c(50, 70), sex = c(1, 2), ph.ecog = c(0, 2)); ct <- "log"')
    fit = fit_cox(lung_data(lung, False), engine="native", strata=["sex"])
    grid = np.linspace(0, 900, 31)
    both = fit.predict_survival(NEW, grid, conf_level=0.9)
    for k in (0, 1):
        one = fit.predict_survival(NEW.iloc[[k]], grid, conf_level=0.9)
        np.testing.assert_array_equal(both.upper.to_numpy()[k], one.upper.to_numpy()[0])
    # between event times the curve is the step survfit's summary() reads off
    s = r_vector(r, "summary(survfit(f, newdata = nd[2, , drop = FALSE]), times = seq(0, 900, 30), extend = TRUE)$surv")
    np.testing.assert_allclose(both.survival.to_numpy()[1], s, atol=1e-9)


def test_breslow_baseline_on_request_equals_survfit_ctype_1(r_session, lung):
    r = r_session
    r_eval(r, f'f <- coxph(Surv(time, status) ~ age + ph.ecog + sex + cluster(id), data = d, {TIGHT}); '
              "nd <- data.frame(age = c(50, 70), sex = c(1, 2), ph.ecog = c(0, 2))")
    fit = fit_cox(lung_data(lung, False), engine="native")
    t = r_vector(r, "survfit(f, newdata = nd, ctype = 1)$time")
    ref = r_vector(r, "survfit(f, newdata = nd, ctype = 1)$surv").reshape(2, -1).T
    ours = fit.predict_survival(NEW, t, baseline="breslow").to_numpy().T
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    efron = fit.predict_survival(NEW, t).to_numpy().T  # the default differs where events tie
    assert np.abs(efron - ours).max() > 1e-5


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_andersen_gill_start_stop_curves_equal_survfit(r_session, ties):
    r = r_session
    r_eval(r, "library(survival); b <- bladder2; set.seed(2); wid <- runif(max(b$id), 0.5, 2); b$w <- wid[b$id]; "
              f'f <- coxph(Surv(start, stop, event) ~ rx + size + number + cluster(id), data = b, weights = w, '
              f'ties = "{ties}", {TIGHT}); nd <- data.frame(rx = c(1, 2), size = c(1, 3), number = c(2, 1)); '
              'ct <- "log"')
    b2 = r.to_pandas(r_eval(r, "b")).reset_index(drop=True)
    rec = RecurrentData.from_frame(b2, id="id", start="start", stop="stop", event="event",
                                   covariates=["rx", "size", "number"], weights="w")
    fit = fit_andersen_gill(rec, ties=ties, engine="native")
    new = pd.DataFrame({"rx": [1.0, 2.0], "size": [1.0, 3.0], "number": [2.0, 1.0]})
    for k in (1, 2):
        ref = r_curve(r, k)
        band = fit.predict_survival(new.iloc[[k - 1]], ref["time"], conf_level=0.95)
        np.testing.assert_allclose(band.survival.to_numpy()[0], ref["surv"], atol=1e-9)
        np.testing.assert_allclose(band.std_err.to_numpy()[0], ref["std.err"], atol=1e-8)
        np.testing.assert_allclose(band.lower.to_numpy()[0], ref["lower"], atol=1e-8)
        np.testing.assert_allclose(band.upper.to_numpy()[0], ref["upper"], atol=1e-8)


def test_r_engine_gives_the_same_curves(r_session, lung):
    data = lung_data(lung, True)
    a = fit_cox(data, engine="native", strata=["sex"])
    b = fit_cox(data, engine="r", strata=["sex"])
    assert "strata(sex)" in b.r_call and "weights = `(weights)`" in b.r_call
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-6)
    grid = np.linspace(0, 800, 9)
    np.testing.assert_allclose(a.predict_survival(NEW, grid), b.predict_survival(NEW, grid), atol=1e-6)


# ----------------------------------------------------------------------------- strata by column


def test_strata_columns_leave_the_linear_predictor_and_equal_coxph(r_session, lung):
    r = r_session
    r_eval(r, f"f <- coxph(Surv(time, status) ~ age + ph.ecog + strata(sex) + cluster(id), data = d, {TIGHT})")
    fit = fit_cox(lung_data(lung, False), engine="native", strata=["sex"])
    assert fit.covariates == ["age", "ph.ecog"]
    np.testing.assert_allclose(fit.coef, r_vector(r, "coef(f)"), atol=1e-9)
    np.testing.assert_allclose(fit.robust_var.to_numpy().ravel(), r_vector(r, "as.vector(f$var)"), atol=1e-9)
    assert fit.loglik == pytest.approx(r_vector(r, "f$loglik")[1], abs=1e-9)
    assert fit.concordance == pytest.approx(r_vector(r, "f$concordance['concordance']")[0], abs=1e-12)
    assert sorted(fit.baseline["stratum"].unique()) == ["sex=1", "sex=2"]


def test_strata_bad_input(lung):
    data = lung_data(lung, False)
    with pytest.raises(InvalidParameterError, match=r"strata names column\(s\) \['nope'\]"):
        fit_cox(data, strata=["nope"], engine="native")
    with pytest.raises(InvalidParameterError, match="cannot also be covariates"):
        fit_cox(data, ["age", "sex"], strata=["sex"], engine="native")
    fit = fit_cox(data, strata=["sex"], engine="native")
    with pytest.raises(InvalidParameterError, match="stratum 'sex=3' was not seen with events in training"):
        fit.predict_survival(NEW.assign(sex=[1.0, 3.0]), [100.0])
    with pytest.raises(InvalidParameterError, match="lacks the strata column"):
        fit.predict_survival(NEW.drop(columns="sex"), [100.0])
    with pytest.raises(InvalidParameterError, match="give newdata as a DataFrame"):
        fit.predict_survival(NEW[["age", "ph.ecog"]].to_numpy(), [100.0])
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(InvalidParameterError, match="conf_level must be a number in \\(0, 1\\)"):
            fit.predict_survival(NEW, [100.0], conf_level=bad)
    with pytest.raises(InvalidParameterError, match="conf_type must be one of"):
        fit.predict_survival(NEW, [100.0], conf_level=0.95, conf_type="logit")
    rec = RecurrentData.from_frame(load_bladder2(), id="id", start="start", stop="stop", event="event",
                                   covariates=["rx", "number", "size"])
    with pytest.raises(InvalidParameterError, match="already stratified by event number"):
        build_problem("pwp-total", rec, strata=["rx"])


def test_ties_other_than_efron_or_breslow_are_refused_at_every_level():
    from pysurvbridge.classical.native import score_and_information
    from pysurvbridge.classical.survfit import curve_table

    X, t, e = np.ones((3, 1)), np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 1.0])
    with pytest.raises(InvalidParameterError, match="'exact' is not implemented"):
        score_and_information(X, np.zeros(1), t, e, ties="exact")
    with pytest.raises(InvalidParameterError, match="'exact' is not implemented"):
        curve_table(X, np.zeros(1), t, e, ties="exact")
