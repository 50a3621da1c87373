"""DeepSurv: with no hidden layer it is the Cox model, so its fit must equal Cox software.

References: lifelines 0.30 CoxPHFitter (Efron ties, Breslow baseline) on lifelines' own rossi
data; R survival::basehaz(coxph(..., ties = "breslow", init = beta, iter.max = 0),
centered = FALSE) for the Breslow baseline at fixed coefficients.
"""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge.data import SurvivalData
from pysurvbridge.models import DeepSurv
from pysurvbridge.models.baseline import BreslowBaseline


@pytest.fixture(scope="module")
def rossi():
    from lifelines.datasets import load_rossi

    df = load_rossi()
    cov = [c for c in df.columns if c not in ("week", "arrest")]
    return df, cov, SurvivalData.from_frame(df, time="week", event="arrest", covariates=cov)


@pytest.fixture(scope="module")
def linear_fit(rossi):
    _, _, data = rossi
    return DeepSurv(hidden=(), dropout=0.0).fit(data, epochs=400, lr=0.05, verbose=False)


def test_linear_deepsurv_equals_lifelines_coxph(rossi, linear_fit):
    from lifelines import CoxPHFitter

    df, cov, _ = rossi
    cph = CoxPHFitter().fit(df, "week", "arrest")
    layer = linear_fit.network_[0]
    beta = layer.weight.detach().double().numpy().ravel() / linear_fit.scaler_.scale.numpy()
    np.testing.assert_allclose(beta, cph.params_[cov].to_numpy(), atol=1e-5)  # float32 training
    times = [5.0, 20.0, 40.0, 52.0]
    ours = linear_fit.predict_survival(df[cov], times).to_numpy()
    theirs = cph.predict_survival_function(df[cov], times=times).T.to_numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_predictions_shapes_and_frames(rossi, linear_fit):
    df, cov, _ = rossi
    frame = df[cov].iloc[10:14]
    surv = linear_fit.predict_survival(frame, times=[10, 30])
    assert surv.shape == (4, 2) and list(surv.index) == [10, 11, 12, 13]
    assert list(surv.columns) == [10.0, 30.0]
    # risk orders like 1 - S(t) at every t (proportional hazards)
    risk = linear_fit.predict_risk(frame)
    assert (np.argsort(risk) == np.argsort(1 - surv[30.0].to_numpy())).all()
    H = linear_fit.predict_cumulative_hazard(frame, [10, 30])
    np.testing.assert_allclose(np.exp(-H), surv.to_numpy(), rtol=1e-12)


@pytest.mark.r
def test_breslow_baseline_equals_r_basehaz(r_session):
    df = r_session.load_r_dataset("lung", "survival").dropna(subset=["age", "sex", "ph.ecog"])
    df = df.assign(event=(df["status"] == 2).astype(int))
    beta = np.array([0.011, -0.55, 0.46])
    X = df[["age", "sex", "ph.ecog"]].to_numpy(float)
    ours = BreslowBaseline.fit(X @ beta, df["time"].to_numpy(float), df["event"].to_numpy())
    f = r_session.formula("Surv", ["time", "event"], ["age", "sex", "ph.ecog"], namespace="survival")
    ctrl = r_session.call("coxph.control", **{"iter.max": 0}, package="survival")
    fit = r_session.call("coxph", f, data=r_session.to_r(df), init=beta, ties="breslow", control=ctrl,
                         package="survival")
    bh = r_session.to_pandas(r_session.call("basehaz", fit, centered=False, package="survival"))
    # basehaz lists every distinct time; compare at all of them (steps at event times only)
    np.testing.assert_allclose(ours.cumulative_hazard(bh["time"].to_numpy()), bh["hazard"].to_numpy(), rtol=1e-10)


def test_minibatch_risk_sets_are_an_option(rossi):
    """Minibatches give within-batch risk sets: training runs and ranks subjects like the
    full-batch fit, while the coefficients drift (the bias the module docstring states)."""
    df, cov, data = rossi
    full = DeepSurv(hidden=(), dropout=0.0).fit(data, epochs=300, lr=0.05, verbose=False)
    mini = DeepSurv(hidden=(), dropout=0.0).fit(data, epochs=60, batch_size=32, lr=0.01, verbose=False)
    r_full, r_mini = full.predict_risk(df[cov]), mini.predict_risk(df[cov])
    assert np.corrcoef(r_full, r_mini)[0, 1] > 0.95
    assert not np.allclose(r_full, r_mini, atol=1e-3)


def test_survival_is_a_step_function_of_training_event_times(linear_fit, rossi):
    df, cov, data = rossi
    event_times = np.unique(data.time[data.event == 1])
    s = linear_fit.predict_survival(df[cov].iloc[:3], [event_times[0] - 0.5, event_times[0], event_times[0] + 0.5])
    assert (s.iloc[:, 0] == 1.0).all() and (s.iloc[:, 1] < 1).all()
    np.testing.assert_array_equal(s.iloc[:, 1].to_numpy(), s.iloc[:, 2].to_numpy())
