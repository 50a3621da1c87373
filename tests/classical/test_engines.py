"""R engine vs a direct R coxph call (1e-10), and native engine vs R engine (1e-6).

References are direct survival::coxph calls on R's own data frames (bladder for WLW, bladder2
for AG/PWP, the enum == 1 rows of bladder for the first-event Cox model), written out here the
way a user of R would type them, independent of our layouts:

  coxph(Surv(start, stop, event) ~ rx + number + size + cluster(id), bladder2, ties = t)      # AG
  coxph(Surv(start, stop, event) ~ rx + number + size + strata(enum) + cluster(id), bladder2) # PWP total
  coxph(Surv(stop - start, event) ~ rx + number + size + strata(enum) + cluster(id), bladder2)# PWP gap
  coxph(Surv(stop, event) ~ rx + number + size + strata(enum) + cluster(id), bladder)        # WLW
  coxph(Surv(stop, event) ~ rx + number + size + cluster(id), subset(bladder, enum == 1))     # Cox
"""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge.classical import fit_andersen_gill, fit_cox, fit_pwp, fit_wlw
from pysurvbridge.data import RecurrentData, load_bladder, load_bladder2

COVS = ["rx", "number", "size"]
MODELS = ["cox", "ag", "pwp-total", "pwp-gap", "wlw"]


@pytest.fixture(scope="module")
def rec():
    return RecurrentData.from_frame(load_bladder2(), id="id", start="start", stop="stop",
                                    event="event", covariates=COVS)


def fit_model(model, rec, ties, engine):
    if model == "cox":
        return fit_cox(rec, COVS, ties=ties, engine=engine)
    if model == "ag":
        return fit_andersen_gill(rec, COVS, ties=ties, engine=engine)
    if model == "wlw":
        return fit_wlw(rec, COVS, ties=ties, engine=engine, max_events=4)
    return fit_pwp(rec, COVS, timescale=model.split("-")[1], ties=ties, engine=engine)


def r_design(model):
    """(R's own data frame, the Surv() columns, whether strata(enum)) of a model's direct R call."""
    b, b2 = load_bladder("r"), load_bladder2("r")
    if model == "ag":
        return b2, ["start", "stop", "event"], False
    if model == "pwp-total":
        return b2, ["start", "stop", "event"], True
    if model == "pwp-gap":
        return b2.assign(gap=b2["stop"] - b2["start"]), ["gap", "event"], True
    if model == "wlw":
        return b, ["stop", "event"], True
    return b.loc[b["enum"] == 1], ["stop", "event"], False


def direct_r(r, model, ties):
    """The reference coxph call on R's own data frames (see the module docstring)."""
    data, lhs, strata = r_design(model)
    specials = ([("strata", "enum")] if strata else []) + [("cluster", "id")]
    f = r.formula("Surv", lhs, COVS, specials=specials, namespace="survival")
    fit = r.call("coxph", f, data=r.to_r(data.reset_index(drop=True)), ties=ties, package="survival")
    p = len(COVS)
    mat = lambda name: np.asarray(r.to_numpy(r.call("as.vector", fit.rx2(name), package="base"))).reshape(p, p)  # noqa: E731
    conc = r.to_numpy(fit.rx2("concordance"))
    return {
        "coef": r.to_numpy(fit.rx2("coefficients")),
        "se": np.sqrt(np.diag(mat("naive.var"))),
        "robust_se": np.sqrt(np.diag(mat("var"))),
        "loglik": r.to_numpy(fit.rx2("loglik"))[1],
        "aic": float(r.to_numpy(r.call("AIC", fit, package="stats"))[0]),
        "concordance": conc[list(fit.rx2("concordance").names).index("concordance")],
        "n_events": int(r.to_numpy(fit.rx2("nevent"))[0]),
    }


def as_dict(fit):
    return {"coef": fit.coef.to_numpy(), "se": fit.se.to_numpy(), "robust_se": fit.robust_se.to_numpy(),
            "loglik": fit.loglik, "aic": fit.aic, "concordance": fit.concordance,
            "n_events": fit.n_events}


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("model", MODELS)
def test_r_engine_equals_direct_coxph(r_session, rec, model, ties):
    expected = direct_r(r_session, model, ties)
    got = as_dict(fit_model(model, rec, ties, "r"))
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-10, err_msg=key)


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("model", MODELS)
def test_native_engine_equals_r_engine(r_session, rec, model, ties):
    r_fit = as_dict(fit_model(model, rec, ties, "r"))
    native = fit_model(model, rec, ties, "native")
    assert native.engine == "native"
    got = as_dict(native)
    for key in ("coef", "se", "robust_se", "loglik", "aic"):
        np.testing.assert_allclose(got[key], r_fit[key], rtol=0, atol=1e-6, err_msg=key)
    assert got["concordance"] == pytest.approx(r_fit["concordance"], abs=1e-12)
    assert got["n_events"] == r_fit["n_events"]


@pytest.mark.r
def test_ag_robust_se_is_r_not_lifelines(r_session, rec):
    """The issue's figure: R's robust SE for rx on bladder2 is 0.2656 (lifelines: 0.2105)."""
    native = fit_andersen_gill(rec, COVS, engine="native")
    assert native.robust_se["rx"] == pytest.approx(0.2656, abs=5e-5)


@pytest.mark.r
def test_r_call_text_and_summary(r_session, rec):
    fit = fit_pwp(rec, COVS, timescale="gap", engine="r")
    assert fit.r_call == ('coxph(Surv(stop, event) ~ rx + number + size + strata(enum) + cluster(id), '
                          'data = pwp_gap, ties = "efron")')
    s = fit.summary
    assert list(s.columns[:6]) == ["coef", "exp(coef)", "se(coef)", "robust se", "z", "p"]
    np.testing.assert_allclose(s["z"], fit.coef / fit.robust_se)
    assert fit.aic == pytest.approx(-2 * fit.loglik + 6)
