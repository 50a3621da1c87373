"""Simulation: closed-form expectations, recovery of the truth, copula dependence, errors.

Sources: E[N] = (tau/s)^k E[exp(x'beta)] for a Poisson process with Weibull cumulative rate
(tau/s)^k exp(x'beta) (closed form, see expected_events); Kendall's tau of a copula sample;
the Andersen-Gill estimator is consistent for beta in a proportional-intensity model without
frailty (Andersen & Gill 1982).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, spearmanr

from pysurvbridge import copulas
from pysurvbridge.classical import fit_andersen_gill
from pysurvbridge.errors import InvalidParameterError, RUnavailableError
from pysurvbridge.metrics import concordance_harrell
from pysurvbridge.simulate import (expected_events, lesion_area, paper_validation, reda_to_counting,
                                   simulate_lesion_images, simulate_multi_event, simulate_recurrent,
                                   simulate_survival)


@pytest.mark.parametrize("frailty", [None, ("gamma", 0.5)])
def test_mean_events_equals_closed_form(frailty):
    n = 20_000
    rec = simulate_recurrent(n, shape=1.5, scale=10.0, coefs=(0.5, -0.5), frailty=frailty,
                             end_time=("fixed", 20.0), seed=11)
    per = rec.events_per_subject()
    expected = expected_events(1.5, 10.0, (0.5, -0.5), 20.0)
    se = per.std(ddof=1) / np.sqrt(n)
    assert abs(per.mean() - expected) < 3 * se, (per.mean(), expected, se)


def test_frailty_inflates_the_variance_of_counts():
    """Gamma frailty with variance v: Var(N) = E[mu] + v E[mu^2] > E[mu] (overdispersion)."""
    plain = simulate_recurrent(20_000, seed=3).events_per_subject()
    frail = simulate_recurrent(20_000, frailty=("gamma", 1.0), seed=3).events_per_subject()
    assert frail.var() > 1.5 * plain.var()


def test_andersen_gill_recovers_coefficients_over_100_replicates():
    truth = np.array([0.5, -0.5])
    est = np.array([fit_andersen_gill(simulate_recurrent(150, coefs=truth, seed=s),
                                      engine="native").coef.to_numpy() for s in range(100)])
    mc_se = est.std(axis=0, ddof=1) / np.sqrt(len(est))
    assert np.all(np.abs(est.mean(axis=0) - truth) < 2 * mc_se), (est.mean(axis=0), mc_se)


def test_layout_and_max_events():
    rec = simulate_recurrent(500, max_events=2, end_time=("uniform", 5.0, 30.0), seed=2)
    per = rec.events_per_subject()
    assert per.max() == 2
    # a subject with 2 events is followed to its 2nd event and no further
    done = per[per == 2].index
    last = rec.frame.groupby("id").tail(1).set_index("id")
    assert (last.loc[done, "event"] == 1).all()
    assert rec.covariates == ("x1", "x2")
    assert set(np.unique(rec.frame["x2"])) <= {0.0, 1.0}


def test_same_seed_same_data():
    a = simulate_recurrent(300, seed=5, frailty=("gamma", 0.3), end_time=("normal", 10, 2))
    b = simulate_recurrent(300, seed=5, frailty=("gamma", 0.3), end_time=("normal", 10, 2))
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not a.frame.equals(simulate_recurrent(300, seed=6).frame)


def test_paper_validation_censoring_share():
    """The paper: about 40% of subjects censored (no event)."""
    one = paper_validation(seed=0)
    assert one.n_subjects == 50 and one.covariates == ("x1", "x2")
    share = (one.events_per_subject() == 0).mean()
    assert 0.30 <= share <= 0.50
    shares = np.array([(paper_validation(seed=s).events_per_subject() == 0).mean() for s in range(200)])
    assert abs(shares.mean() - 0.40) < 3 * shares.std(ddof=1) / np.sqrt(len(shares))


@pytest.mark.parametrize("copula,tau", [("clayton", 0.5), ("clayton", 0.2), ("frank", 0.3),
                                        ("frank", -0.4)])
def test_copula_kendall_tau(copula, tau):
    sim = simulate_survival(20_000, copula=copula, kendall_tau=tau, seed=1)
    assert abs(kendalltau(sim.u, sim.v)[0] - tau) < 0.02
    # the observed time is the minimum of the latent times, as documented
    np.testing.assert_array_equal(sim.data.time, np.minimum(sim.event_time, sim.censor_time))


def test_frank_tau_inverse_round_trip():
    """frank_tau(frank_theta(tau)) = tau, and frank_tau(5) equals the closed form
    1 - 4/theta (1 - D1(theta)) with the Debye integral from its series:
    int_0^x t/(e^t - 1) dt = pi^2/6 - sum_k e^{-kx} (x/k + 1/k^2)."""
    for tau in (-0.6, -0.1, 0.2, 0.7):
        assert copulas.frank_tau(copulas.frank_theta(tau)) == pytest.approx(tau, abs=1e-9)
    x = 5.0
    k = np.arange(1, 200)
    debye = (np.pi**2 / 6 - np.sum(np.exp(-k * x) * (x / k + 1 / k**2))) / x
    assert copulas.frank_tau(x) == pytest.approx(1 - 4 / x * (1 - debye), abs=1e-10)


def test_true_survival_matches_empirical_without_censoring_effect():
    """At the true curve, the share of latent event times beyond t equals mean S(t | x)."""
    sim = simulate_survival(20_000, risk="nonlinear", seed=4)
    t = np.array([5.0, 10.0, 15.0])
    empirical = (sim.event_time[:, None] > t).mean(axis=0)
    model = sim.true_survival(t).mean(axis=0)
    assert np.all(np.abs(empirical - model) < 0.01)


def test_multi_event_orderings_hold():
    sim = simulate_multi_event(2000, 3, orderings=[(0, 1), (1, 2)], seed=0)
    T = sim.event_times
    assert np.all(T[:, 0] < T[:, 1]) and np.all(T[:, 1] < T[:, 2])
    E, obs = sim.data.events, sim.data.times
    both = (E[:, 0] == 1) & (E[:, 1] == 1)
    assert np.all(obs[both, 0] < obs[both, 1])
    assert np.all(E[:, 0] >= E[:, 1]) and np.all(E[:, 1] >= E[:, 2])  # later observed => earlier observed


@pytest.mark.parametrize("kwargs,message", [
    (dict(shape=0.0), "shape must be a positive number"),
    (dict(scale=-1.0), "scale must be a positive number"),
    (dict(frailty=("gamma", -0.1)), "frailty variance must be non-negative"),
    (dict(frailty=("lognormal", 0.1)), "frailty must be None or"),
    (dict(coefs=(0.5,)), "one coefficient per covariate"),
    (dict(end_time=("weekly", 3)), "end_time must be"),
    (dict(end_time=("uniform", 5, 1)), "0 <= low < high"),
    (dict(max_events=0), "max_events must be a positive integer"),
    (dict(covariates=("normal", "poisson")), "covariate kind must be"),
    (dict(baseline="gompertz"), "baseline must be 'weibull'"),
])
def test_bad_recurrent_parameters(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        simulate_recurrent(10, **kwargs)


@pytest.mark.parametrize("copula,tau,message", [
    ("clayton", -0.2, r"Clayton copula must be in \[0, 1\)"),
    ("clayton", 1.0, r"Clayton copula must be in \[0, 1\)"),
    ("frank", 1.2, r"Frank copula must be in \(-1, 1\)"),
    ("gumbel", 0.3, "copula must be None, 'clayton' or 'frank'"),
])
def test_bad_copula_parameters(copula, tau, message):
    with pytest.raises(InvalidParameterError, match=message):
        simulate_survival(100, copula=copula, kendall_tau=tau)


def test_bad_multi_event_orderings():
    with pytest.raises(InvalidParameterError, match="cycle"):
        simulate_multi_event(10, 2, orderings=[(0, 1), (1, 0)])
    with pytest.raises(InvalidParameterError, match="two different events"):
        simulate_multi_event(10, 2, orderings=[(0, 2)])


def test_reda_output_conversion():
    """reda's layout: one row per event, then a censoring row (event 0) at the end time."""
    reda = pd.DataFrame({"ID": [1, 1, 1, 2, 3, 3], "time": [1.5, 4.0, 9.0, 7.0, 2.0, 8.0],
                         "event": [1, 1, 0, 0, 1, 0], "origin": 0.0})
    rows = reda_to_counting(reda)
    assert rows["id"].tolist() == [0, 0, 0, 1, 2, 2]
    assert rows["start"].tolist() == [0.0, 1.5, 4.0, 0.0, 0.0, 2.0]
    assert rows["stop"].tolist() == [1.5, 4.0, 9.0, 7.0, 2.0, 8.0]
    assert rows["event"].tolist() == [1, 1, 0, 0, 1, 0]


def test_reda_engine(r_session):
    if not r_session.has_r_package("reda"):
        with pytest.raises(RUnavailableError, match="install.packages"):
            simulate_recurrent(10, engine="reda", seed=1)
        pytest.skip("R package reda is not installed (Debian does not package it; `make setup` "
                    "installs it from the CRAN-style repository named by PYSURVBRIDGE_CRAN, then "
                    "CRAN); checked that engine='reda' says how to install it")
    rec = simulate_recurrent(3000, engine="reda", seed=1, end_time=("fixed", 20.0))
    expected = expected_events(1.5, 10.0, (0.5, -0.5), 20.0)
    per = rec.events_per_subject()
    assert abs(per.mean() - expected) < 3 * per.std(ddof=1) / np.sqrt(len(per))


# ---------------------------------------------------------------- organ-with-lesions images


@pytest.fixture(scope="module")
def lesions():
    return simulate_lesion_images(2000, seed=0)


def test_lesion_images_same_seed_same_arrays(lesions):
    again = simulate_lesion_images(2000, seed=0)
    for name in ("images", "lesion_area", "log_hazard", "organ_brightness", "organ_axes",
                 "event_time", "censor_time"):
        np.testing.assert_array_equal(getattr(lesions, name), getattr(again, name), err_msg=name)
    np.testing.assert_array_equal(lesions.data.X, again.data.X)
    np.testing.assert_array_equal(lesions.data.time, again.data.time)
    assert not np.array_equal(lesions.images, simulate_lesion_images(2000, seed=1).images)


def test_lesion_images_layout(lesions):
    n, size = 2000, 32
    assert lesions.images.shape == (n, size, size) and lesions.size == size
    assert lesions.data.X.shape == (n, size * size) and lesions.data.X.dtype == np.float64
    assert lesions.data.covariates[0] == "p0" and lesions.data.covariates[-1] == "p1023"
    np.testing.assert_array_equal(lesions.data.X, lesions.images.reshape(n, -1))  # row-major
    assert lesions.images.min() >= 0.0 and lesions.images.max() <= 1.0
    assert lesions.organ_axes.shape == (n, 2)
    np.testing.assert_array_equal(lesions.data.time, np.minimum(lesions.event_time, lesions.censor_time))


def test_measured_lesion_area_equals_the_recorded_one(lesions):
    """Organ plus noise is at most 0.55 + 4 * 0.02 = 0.63 and a lesion pixel at least
    0.9 - 0.08 = 0.82, so no pixel falls between and the 0.75 threshold counts exactly the
    lesion pixels, from either image layout."""
    np.testing.assert_array_equal(lesion_area(lesions.images), lesions.lesion_area)
    np.testing.assert_array_equal(lesion_area(lesions.data.X), lesions.lesion_area)
    pixels = lesions.images.ravel()
    assert not np.any((pixels > 0.63) & (pixels < 0.82))
    assert lesions.images[lesions.lesion_area == 0].max() < 0.75
    assert (lesions.lesion_area == 0).mean() == pytest.approx(np.exp(-2.0), abs=0.03)  # Poisson(2) zeros


def test_log_hazard_is_the_standardised_lesion_area(lesions):
    z = (lesions.lesion_area - lesions.area_mean) / lesions.area_sd
    np.testing.assert_allclose(lesions.log_hazard, np.log(0.1) + z, rtol=0, atol=1e-12)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0, abs=1e-12)


def test_nuisance_is_independent_of_the_hazard(lesions):
    for name, values in [("brightness", lesions.organ_brightness), ("axis 0", lesions.organ_axes[:, 0]),
                         ("axis 1", lesions.organ_axes[:, 1])]:
        assert abs(spearmanr(values, lesions.log_hazard)[0]) < 0.1, name
    assert 0.35 <= lesions.organ_brightness.min() and lesions.organ_brightness.max() <= 0.55


def test_lesion_event_share_matches_closed_form():
    """T ~ Exp(h), C ~ U(0, M): P(T <= C | h) = 1 - (1 - exp(-h M)) / (h M). Given the hazards
    the number of events is Poisson-binomial: its mean and variance are sums over subjects."""
    sim = simulate_lesion_images(5000, seed=3)
    hM = np.exp(sim.log_hazard) * 40.0
    p = 1.0 - (1.0 - np.exp(-hM)) / hM
    observed = sim.data.event.sum()
    assert abs(observed - p.sum()) < 3 * np.sqrt(np.sum(p * (1 - p))), (observed, p.sum())
    assert 0.2 <= 1 - sim.data.event.mean() <= 0.4  # documented: about 30% censored


def test_lesion_oracle_concordance(lesions):
    """The oracle we report: Harrell's C of the true log-hazard, about 0.73 by default."""
    c = concordance_harrell(lesions.log_hazard, lesions.data.time, lesions.data.event)
    assert c > 0.65, c
    flat = simulate_lesion_images(500, effect=0.0, seed=0)
    assert np.ptp(flat.log_hazard) == 0.0


def test_lesion_images_64():
    sim = simulate_lesion_images(300, size=64, seed=2)
    assert sim.images.shape == (300, 64, 64) and sim.data.X.shape == (300, 4096)
    np.testing.assert_array_equal(lesion_area(sim.images), sim.lesion_area)
    # radii scale with size / 32: mean area about 4x that at 32 pixels
    small = simulate_lesion_images(300, seed=2)
    assert 3.0 < sim.lesion_area.mean() / small.lesion_area.mean() < 5.0


@pytest.mark.parametrize("kwargs,message", [
    (dict(n=0), "n must be a positive integer, but was 0"),
    (dict(n=2.5), "n must be a positive integer, but was 2.5"),
    (dict(size=8), "size must be an integer >= 16, but was 8"),
    (dict(lesion_rate=0.0), "lesion_rate must be a positive number, but was 0.0"),
    (dict(censor_max=-1.0), "censor_max must be a positive number, but was -1.0"),
    (dict(baseline_hazard=0), "baseline_hazard must be a positive number, but was 0"),
    (dict(effect=float("nan")), "effect must be a finite number, but was nan"),
])
def test_bad_lesion_parameters(kwargs, message):
    kwargs = {"n": 10, **kwargs}
    with pytest.raises(InvalidParameterError, match=message):
        simulate_lesion_images(**kwargs)


def test_bad_lesion_area_arguments():
    with pytest.raises(InvalidParameterError, match=r"images must have shape .* but had shape \(32,\)"):
        lesion_area(np.zeros(32))
    with pytest.raises(InvalidParameterError, match="threshold must be a finite number, but was nan"):
        lesion_area(np.zeros((2, 16)), threshold=float("nan"))
