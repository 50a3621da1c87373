"""MENSA: recovery of known Weibull parameters, competing-risks incidence against R's
Aalen-Johansen estimate, the trajectory ordering, persistence and bad input.

References: the censored-Weibull maximum-likelihood estimate computed with scipy.optimize on
the same data (and its inverse-Hessian standard errors for the Monte-Carlo check); R
survival 3.5-3 ``survfit(Surv(time, factor(status)) ~ 1)$pstate`` (Aalen-Johansen); a hand
count of multiply-adds for the FLOP count.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.stats import weibull_min

from pysurvbridge.data import MultiEventData, SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.models import MENSA
from pysurvbridge.simulate import simulate_multi_event


def _weibull_mle(t, d):
    """Censored Weibull MLE (shape, scale) and the inverse-Hessian SEs of (log shape, log scale)."""
    def nll(p):
        k, lam = np.exp(p)
        return -(d * weibull_min.logpdf(t, k, scale=lam) + (1 - d) * weibull_min.logsf(t, k, scale=lam)).sum()
    res = minimize(nll, [0.0, np.log(t.mean())], method="BFGS", options={"gtol": 1e-10})
    return np.exp(res.x), np.sqrt(np.diag(res.hess_inv))


@pytest.fixture(scope="module")
def weibull_fit():
    rng = np.random.default_rng(0)
    n = 3000
    T, C = 10 * rng.weibull(1.5, n), rng.uniform(0, 25, n)
    data = SurvivalData.from_arrays(np.minimum(T, C), (T <= C).astype(int))
    model = MENSA(n_dists=1, hidden=(), dropout=0.0, mode="single").fit(data, epochs=400, lr=0.05, verbose=False)
    return data, model


def test_one_component_no_covariate_fit_is_the_weibull_mle(weibull_fit):
    data, model = weibull_fit
    p = model.predict_weibull_parameters(np.zeros((1, 0)))
    (k_mle, lam_mle), se_log = _weibull_mle(data.time, data.event)
    assert p["shape"][0, 0, 0] == pytest.approx(k_mle, rel=1e-3)
    assert p["scale"][0, 0, 0] == pytest.approx(lam_mle, rel=1e-3)
    # and the MLE recovers the generating values within 3 Monte-Carlo standard errors
    assert abs(np.log(k_mle) - np.log(1.5)) < 3 * se_log[0]
    assert abs(np.log(lam_mle) - np.log(10.0)) < 3 * se_log[1]


def test_median_is_where_survival_is_one_half(weibull_fit):
    _, model = weibull_fit
    med = model.predict_median_time(np.zeros((3, 0)))
    k, lam = (model.predict_weibull_parameters(np.zeros((1, 0)))[key][0, 0, 0] for key in ("shape", "scale"))
    assert med.iloc[0, 0] == pytest.approx(lam * np.log(2) ** (1 / k), rel=1e-10)  # Weibull median
    S = model.predict_survival_array(np.zeros((1, 0)), [med.iloc[0, 0]])
    assert S[0, 0, 0] == pytest.approx(0.5, abs=1e-10)


@pytest.mark.r
def test_competing_risks_incidence_equals_aalen_johansen(r_session):
    """Two independent Weibull causes and uniform censoring, no covariates: the model's
    CIF_k(t) = int f_k prod_{j != k} S_j is within 0.02 of R's Aalen-Johansen estimate."""
    rng = np.random.default_rng(1)
    n = 3000
    T1, T2, C = 8 * rng.weibull(1.3, n), 15 * rng.weibull(0.9, n), rng.uniform(0, 20, n)
    time = np.minimum.reduce([T1, T2, C])
    status = np.select([T1 == time, T2 == time], [1, 2], 0)
    data = MultiEventData.from_competing_risks(pd.DataFrame({"time": time, "status": status}),
                                               time="time", event="status", n_events=2)
    model = MENSA(n_dists=1, hidden=(), dropout=0.0, mode="competing").fit(data, epochs=400, lr=0.05, verbose=False)
    times = np.array([2.0, 5.0, 8.0, 12.0])
    cif = model.predict_cumulative_incidence(np.zeros((1, 0)), times)[0]

    r = r_session
    frame = pd.DataFrame({"time": time, "status": pd.Categorical(status, categories=[0, 1, 2])})
    f = r.formula("Surv", ["time", "status"], namespace="survival")
    sf = r.call("survfit", f, data=r.to_r(frame), package="survival")
    aj_t = r.to_numpy(sf.rx2("time"))
    pstate = np.asarray(r.to_numpy(sf.rx2("pstate"))).reshape(len(aj_t), 3, order="F")  # (s0), 1, 2
    at = np.searchsorted(aj_t, times, side="right") - 1
    print("max |CIF - AJ|", np.abs(cif - pstate[at][:, 1:].T).max())
    np.testing.assert_allclose(cif, pstate[at][:, 1:].T, atol=0.02)


def test_trajectory_term_pushes_the_later_event_after_the_earlier():
    sim = simulate_multi_event(1500, K=2, orderings=((0, 1),), seed=3)
    kw = dict(epochs=60, lr=5e-3, batch_size=128, verbose=False, seed=0)
    plain = MENSA(n_dists=1, dropout=0.0).fit(sim.data, **kw)
    ordered = MENSA(n_dists=1, dropout=0.0, trajectories=[(0, 1)]).fit(sim.data, **kw)
    both = sim.data.events.all(axis=1)
    X, tA = sim.data.X[both], sim.data.times[both, 0]

    def mean_s_b_at_a(m):
        S = m.predict_survival_array(X, np.unique(tA))
        return S[np.arange(len(tA)), 1, np.searchsorted(np.unique(tA), tA)].mean()
    assert mean_s_b_at_a(ordered) > mean_s_b_at_a(plain)


def test_flops_and_parameters_are_counted():
    sim = simulate_multi_event(200, K=2, seed=0)
    m = MENSA(n_dists=3, hidden=(32,)).fit(sim.data, epochs=2, verbose=False)
    # 5 covariates -> 32 (BatchNorm 64 params, biases 32) -> 3 outputs x 3 states x 3 dists
    assert m.n_params_ == (5 * 32 + 32) + 2 * 32 + 32 * 27 + 2 * 9
    assert m.flops_per_sample() == 5 * 32 + 32 * 27  # multiply-adds of the two matrix products
    assert m.flops_per_sample("torch") == 2 * (5 * 32 + 32 * 27)


def test_save_load_and_seeded_fits_are_identical(tmp_path):
    sim = simulate_multi_event(300, K=2, seed=1)
    a = MENSA(trajectories=[(0, 1)]).fit(sim.data, epochs=5, batch_size=32, seed=7, verbose=False)
    b = MENSA(trajectories=[(0, 1)]).fit(sim.data, epochs=5, batch_size=32, seed=7, verbose=False)
    times = [1.0, 5.0, 10.0]
    np.testing.assert_array_equal(a.predict_survival_array(sim.data.X, times), b.predict_survival_array(sim.data.X, times))
    loaded = MENSA.load(a.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_survival_array(sim.data.X, times),
                                  a.predict_survival_array(sim.data.X, times))
    frames = loaded.predict_survival(pd.DataFrame(sim.data.X, columns=sim.data.covariates), times)
    assert list(frames) == list(sim.data.event_names) and frames["e0"].shape == (300, 3)


def test_minibatch_of_one_row_does_not_reach_batchnorm():
    sim = simulate_multi_event(65, K=2, seed=2)  # 65 = 2 x 32 + 1
    MENSA().fit(sim.data, epochs=2, batch_size=32, verbose=False)


def test_bad_input_gets_clear_errors():
    sim = simulate_multi_event(100, K=2, seed=0)
    with pytest.raises(InvalidParameterError, match="'recurrence'.*not one of"):
        MENSA(trajectories=[("recurrence", "e1")]).fit(sim.data, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="does not exist"):
        MENSA(trajectories=[(0, 2)]).fit(sim.data, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="cycle"):
        MENSA(trajectories=[(0, 1), (1, 0)]).fit(sim.data, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="need mode='multi'"):
        MENSA(trajectories=[(0, 1)], mode="competing").fit(sim.data, epochs=1, verbose=False)
    single = SurvivalData.from_arrays(sim.data.times[:, 0], sim.data.events[:, 0], sim.data.X)
    with pytest.raises(InvalidParameterError, match="use mode='single'"):
        MENSA().fit(single, epochs=1, verbose=False)
    one = MultiEventData(sim.data.times[:, :1], sim.data.events[:, :1], sim.data.X, sim.data.covariates, ("a",))
    with pytest.raises(InvalidParameterError, match="K = 1"):
        MENSA(mode="multi").fit(one, epochs=1, verbose=False)
    quiet = MultiEventData(sim.data.times, np.column_stack([sim.data.events[:, 0], np.zeros(100, int)]),
                           sim.data.X, sim.data.covariates, ("a", "b"))
    with pytest.raises(InvalidSurvivalDataError, match="event 'b' has no observed events"):
        MENSA().fit(quiet, epochs=1, verbose=False)
    frame = sim.data.to_frame()
    frame.loc[3, "time_e0"] = -1.0
    with pytest.raises(InvalidSurvivalDataError, match="time_e0"):
        MultiEventData.from_frame(frame, times=["time_e0", "time_e1"], events=["event_e0", "event_e1"])
    with pytest.raises(InvalidSurvivalDataError, match="one observed time"):
        MENSA(mode="competing").fit(sim.data, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="n_dists"):
        MENSA(n_dists=0).fit(sim.data, epochs=1, verbose=False)  # checked at fit, as scikit-learn asks
