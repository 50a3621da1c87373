"""Case weights in the classical engines: equal to R's ``coxph(..., weights =)``.

References:
- direct R calls on R's own bladder data frames with a weight column (the same formulas as
  tests/classical/test_engines.py, plus ``weights = w`` and a tight convergence criterion,
  ``coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 50)``, so that R's own estimate is accurate to
  far better than the 1e-9 compared);
- closed forms: integer frequency weights k equal the data with each subject repeated k times
  (estimates, naive variance, log-likelihood), and all weights 1 equal no weights;
- torch autograd of the weighted ``cox_nll`` (an independent implementation of coxph's
  weighted Breslow and Efron likelihoods) for the native score and information.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pysurvbridge.classical import fit_andersen_gill, fit_cox, fit_pwp, fit_wlw
from pysurvbridge.classical.native import score_and_information, score_residuals
from pysurvbridge.data import RecurrentData, SurvivalData, load_bladder2
from pysurvbridge.errors import InvalidSurvivalDataError
from pysurvbridge.losses import cox_nll
from tests.classical.test_engines import r_design

COVS = ["rx", "number", "size"]
MODELS = ["cox", "ag", "pwp-total", "pwp-gap", "wlw"]


def subject_weights(n_ids: int) -> pd.Series:
    rng = np.random.default_rng(20261206)
    return pd.Series(rng.uniform(0.3, 3.0, n_ids + 1))  # indexed by bladder's id 1..n


@pytest.fixture(scope="module")
def weighted():
    b2 = load_bladder2()
    w = subject_weights(int(b2["id"].max()))
    rec = RecurrentData.from_frame(b2.assign(w=b2["id"].map(w)), id="id", start="start",
                                   stop="stop", event="event", covariates=COVS, weights="w")
    return rec, w


def fit_model(model, rec, ties, engine):
    if model == "cox":
        return fit_cox(rec, COVS, ties=ties, engine=engine)
    if model == "ag":
        return fit_andersen_gill(rec, COVS, ties=ties, engine=engine)
    if model == "wlw":
        return fit_wlw(rec, COVS, ties=ties, engine=engine, max_events=4)
    return fit_pwp(rec, COVS, timescale=model.split("-")[1], ties=ties, engine=engine)


def direct_r(r, model, ties, w, tight=True):
    """coxph(..., weights = w[, control = coxph.control(eps = 1e-12, ...)]) on R's bladder data."""
    data, lhs, strata = r_design(model)  # the same R frames and formulas as test_engines.py
    data = data.reset_index(drop=True)
    data["w"] = data["id"].map(w).to_numpy()
    specials = ([("strata", "enum")] if strata else []) + [("cluster", "id")]
    f = r.formula("Surv", lhs, COVS, specials=specials, namespace="survival")
    options = {"control": r.call("coxph.control", eps=1e-12, **{"iter.max": 50, "toler.chol": 1e-13},
                                 package="survival")} if tight else {}
    frame = r.to_r(data)
    fit = r.call("coxph", f, data=frame, ties=ties, weights=r.to_r(data["w"].to_numpy()),
                 package="survival", **options)
    p = len(COVS)
    mat = lambda name: np.asarray(r.to_numpy(r.call("as.vector", r.element(fit, name), package="base"))).reshape(p, p)  # noqa: E731
    return {"coef": np.asarray(r.to_numpy(r.element(fit, "coefficients"))), "var": mat("naive.var"),
            "robust_var": mat("var"), "loglik": np.asarray(r.to_numpy(r.element(fit, "loglik"))),
            "concordance": float(np.asarray(r.to_numpy(r.element(fit, "concordance")))[5])}


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("model", MODELS)
def test_weighted_fits_equal_direct_coxph(r_session, weighted, model, ties):
    """Native against R converged to eps 1e-12: 1e-9; our R engine (coxph's default eps 1e-9)
    against the same direct call with the default control: 1e-10."""
    rec, w = weighted
    for engine, tight, tol in (("native", True, 1e-9), ("r", False, 1e-10)):
        ref = direct_r(r_session, model, ties, w, tight)
        fit = fit_model(model, rec, ties, engine)
        np.testing.assert_allclose(fit.coef.to_numpy(), ref["coef"], rtol=0, atol=tol, err_msg=engine)
        np.testing.assert_allclose(fit.var.to_numpy(), ref["var"], rtol=0, atol=tol, err_msg=engine)
        np.testing.assert_allclose(fit.robust_var.to_numpy(), ref["robust_var"], rtol=0, atol=tol, err_msg=engine)
        assert fit.loglik == pytest.approx(ref["loglik"][1], abs=tol)
        assert fit.loglik_null == pytest.approx(ref["loglik"][0], abs=tol)
        assert fit.concordance == pytest.approx(ref["concordance"], abs=1e-12)  # pairs weighted w_i w_j
    assert "weights = `(weights)`" in fit.r_call


def test_frequency_weights_equal_repeated_subjects():
    """Closed form: weight k on a subject = the subject's rows k times (as distinct subjects).
    Breslow only: under Efron a repeated event is k tied events (k Efron slots), while a
    weighted one stays one slot with k times the weight (coxph's meanwt), so they differ by
    design, in R as here."""
    ties = "breslow"
    b2 = load_bladder2()
    k = (b2["id"] % 3 + 1).astype(float)  # weights 1, 2, 3 by id
    rec_w = RecurrentData.from_frame(b2.assign(w=k), id="id", start="start", stop="stop",
                                     event="event", covariates=COVS, weights="w")
    copies = [b2.loc[k >= c].assign(id=lambda d, c=c: d["id"] * 10 + c) for c in (1, 2, 3)]
    rec_rep = RecurrentData.from_frame(pd.concat(copies, ignore_index=True), id="id", start="start",
                                       stop="stop", event="event", covariates=COVS)
    for model in MODELS:
        a = fit_model(model, rec_w, ties, "native")
        b = fit_model(model, rec_rep, ties, "native")
        np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10, atol=1e-12, err_msg=model)
        np.testing.assert_allclose(a.var, b.var, rtol=1e-9, atol=1e-12, err_msg=model)
        assert a.loglik == pytest.approx(b.loglik, rel=1e-12), model
        np.testing.assert_allclose(a.baseline["cumhaz"], b.baseline["cumhaz"], rtol=1e-9, err_msg=model)


def test_unit_weights_equal_no_weights():
    b2 = load_bladder2()
    plain = RecurrentData.from_frame(b2, id="id", start="start", stop="stop", event="event", covariates=COVS)
    ones = RecurrentData.from_frame(b2.assign(w=1.0), id="id", start="start", stop="stop",
                                    event="event", covariates=COVS, weights="w")
    for model in MODELS:
        # to rounding: the weighted event sum x_events is one matrix product, not a loop
        a, b = fit_model(model, plain, "efron", "native"), fit_model(model, ones, "efron", "native")
        np.testing.assert_allclose(a.coef, b.coef, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(a.robust_var, b.robust_var, rtol=1e-12, atol=1e-15)
        assert a.loglik == pytest.approx(b.loglik, rel=1e-14)


@pytest.mark.parametrize("force_numpy", [False, True])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("with_start,with_strata", [(False, False), (True, False), (True, True)])
def test_weighted_derivatives_equal_autograd(ties, with_start, with_strata, force_numpy):
    rng = np.random.default_rng(1)
    n = 300
    start = rng.integers(0, 4, n).astype(float) if with_start else None
    stop = (start if with_start else 0) + rng.integers(1, 5, n)
    event = rng.binomial(1, 0.6, n).astype(float)
    strata = rng.integers(0, 3, n) if with_strata else None
    X, w = rng.normal(size=(n, 3)), rng.uniform(0.2, 4.0, n)
    beta = np.array([0.4, -0.3, 0.1])
    t = lambda a: None if a is None else torch.as_tensor(a, dtype=torch.float64)  # noqa: E731

    def nll(b):
        return cox_nll(t(X) @ b, t(stop), t(event), start=t(start),
                       strata=None if strata is None else torch.as_tensor(strata),
                       ties=ties, weights=t(w), reduction="sum")

    b = torch.tensor(beta, requires_grad=True)
    grad = torch.autograd.grad(nll(b), b)[0].numpy()
    hess = torch.autograd.functional.hessian(nll, torch.tensor(beta)).numpy()
    score, info = score_and_information(X, beta, stop, event, start, strata, ties, weights=w,
                                        _force_numpy=force_numpy)
    np.testing.assert_allclose(score, -grad, atol=1e-10)
    np.testing.assert_allclose(info, hess, atol=1e-10)
    resid = score_residuals(X, beta, stop, event, start, strata, ties, weights=w, _force_numpy=force_numpy)
    np.testing.assert_allclose((resid * w[:, None]).sum(axis=0), score, atol=1e-10)  # sum_i w_i u_i


def test_weighted_score_residuals_equal_r(r_session):
    """residuals(fit, "score") of a weighted coxph: R's unweighted per-row residuals."""
    b2 = load_bladder2("r").reset_index(drop=True)
    b2["w"] = b2["id"].map(subject_weights(int(b2["id"].max()))).to_numpy()
    r = r_session
    f = r.formula("Surv", ["start", "stop", "event"], COVS, namespace="survival")
    fit = r.call("coxph", f, data=r.to_r(b2), weights=r.to_r(b2["w"].to_numpy()), package="survival")
    ref = np.asarray(r.to_numpy(r.call("as.vector", r.call("residuals", fit, type="score", package="stats"),
                                       package="base"))).reshape(len(COVS), -1).T
    beta = np.asarray(r.to_numpy(r.element(fit, "coefficients")))
    ours = score_residuals(b2[COVS].to_numpy(float), beta, b2["stop"].to_numpy(float),
                           b2["event"].to_numpy(float), b2["start"].to_numpy(float), weights=b2["w"].to_numpy())
    np.testing.assert_allclose(ours, ref, atol=1e-10)


# ----------------------------------------------------------------------------- the containers


def test_layouts_subset_and_first_event_carry_the_subjects_weight(weighted):
    rec, w = weighted
    for layout in (rec.andersen_gill(), rec.pwp("gap"), rec.wlw(4)):
        np.testing.assert_array_equal(layout["(weights)"].to_numpy(), layout["id"].map(w).to_numpy())
    first = rec.first_event()
    np.testing.assert_array_equal(first.weights, pd.Series(first.ids).map(w).to_numpy())
    part = rec.subset([2, 5, 9])
    np.testing.assert_array_equal(part.weights, part.frame["id"].map(w).to_numpy())
    assert "case weights" in rec.describe()


def test_survival_data_weights_from_frame_arrays_and_subset():
    df = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 0, 1, 1], "x": [0.1, 0.5, -0.2, 0.3], "w": [1, 2, 0.5, 3]})
    d = SurvivalData.from_frame(df, time="t", event="e", covariates=["x"], weights="w")
    np.testing.assert_array_equal(d.weights, [1, 2, 0.5, 3])
    np.testing.assert_array_equal(d.subset([1, 3]).weights, [2, 3])
    a = SurvivalData.from_arrays(df["t"], df["e"], df[["x"]].to_numpy(), weights=df["w"].to_numpy())
    np.testing.assert_array_equal(a.weights, d.weights)
    assert SurvivalData.from_frame(df, time="t", event="e", covariates=["x"]).weights is None


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_bad_weights_name_the_column_and_rows(bad):
    df = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 0, 1, 1], "x": [0.1, 0.5, -0.2, 0.3], "w": [1, 2, bad, 3]},
                      index=[10, 11, 12, 13])
    with pytest.raises(InvalidSurvivalDataError, match=r"'w'.*rows \[12\]"):
        SurvivalData.from_frame(df, time="t", event="e", covariates=["x"], weights="w")
    with pytest.raises(InvalidSurvivalDataError, match=r"weights must be positive and finite.*positions \[2\]"):
        SurvivalData.from_arrays(df["t"], df["e"], df[["x"]].to_numpy(), weights=df["w"].to_numpy())
    with pytest.raises(InvalidSurvivalDataError, match=r"'w'.*rows \[12\]"):
        RecurrentData.from_frame(df.assign(id=[1, 2, 3, 4], start=0.0), id="id", start="start", stop="t",
                                 event="e", covariates=["x"], weights="w")


def test_weights_must_be_one_per_subject_and_the_right_length():
    df = pd.DataFrame({"id": [1, 1, 2], "start": [0.0, 1, 0], "stop": [1.0, 2, 3], "event": [1, 0, 1],
                       "x": [0.1, 0.1, 0.3], "w": [1.0, 2.0, 1.0]})
    with pytest.raises(InvalidSurvivalDataError, match=r"one value per subject.*rows \[0, 1\]"):
        RecurrentData.from_frame(df, id="id", start="start", stop="stop", event="event", covariates=["x"], weights="w")
    with pytest.raises(InvalidSurvivalDataError, match="one value per row"):
        SurvivalData.from_arrays([1.0, 2.0], [1, 0], weights=[1.0])
    with pytest.raises(InvalidSurvivalDataError, match="given as weights="):
        SurvivalData.from_frame(df, time="stop", event="event", weights="nope")


def test_compare_and_distributed_fit_refuse_weighted_data(weighted):
    from pysurvbridge import compare
    from pysurvbridge.distributed import fit_cox_distributed
    from pysurvbridge.errors import InvalidParameterError

    rec, _ = weighted
    with pytest.raises(InvalidParameterError, match="compare\\(\\) does not use case weights yet"):
        compare(rec, models=["ag"], seeds=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="does not take case weights yet"):
        fit_cox_distributed(rec, model="ag")


def test_coxph_estimator_sample_weight_equals_container_weights():
    from pysurvbridge.classical import CoxPH
    from pysurvbridge.errors import InvalidParameterError

    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 2))
    t = rng.exponential(np.exp(-X @ [0.5, -0.3]))
    e = rng.binomial(1, 0.7, 120)
    w = rng.uniform(0.5, 2.0, 120)
    y = np.array(list(zip(e.astype(bool), t)), dtype=[("event", bool), ("time", float)])
    est = CoxPH(engine="native").fit(X, y, sample_weight=w)
    direct = fit_cox(SurvivalData.from_arrays(t, e, X, weights=w), engine="native")
    np.testing.assert_array_equal(est.coef_, direct.coef.to_numpy())
    with pytest.raises(InvalidParameterError, match="sample_weight must be positive and finite.*positions \\[3\\]"):
        CoxPH(engine="native").fit(X, y, sample_weight=np.where(np.arange(120) == 3, 0.0, w))
