"""brier_score / integrated_brier_score against scikit-survival, R pec, riskRegression, ipred."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics import brier_score, integrated_brier_score


def brier_case():
    rng = np.random.default_rng(0)
    tt, te = np.round(rng.exponential(5, 2000)), rng.binomial(1, 0.6, 2000)
    t, e = np.round(rng.exponential(5, 800)), rng.binomial(1, 0.6, 800)
    keep = t < tt.max()
    t, e = t[keep], e[keep]
    times = np.array([1.0, 2.0, 4.0, 7.0, 10.0])
    S = np.exp(-np.outer(rng.uniform(0.05, 0.4, len(t)), times))
    return S, times, t, e, tt, te


def test_brier_and_ibs_equal_scikit_survival():
    from sksurv.metrics import brier_score as sk_brier
    from sksurv.metrics import integrated_brier_score as sk_ibs
    from sksurv.util import Surv

    S, times, t, e, tt, te = brier_case()
    ytr, yte = Surv.from_arrays(te.astype(bool), tt), Surv.from_arrays(e.astype(bool), t)
    np.testing.assert_allclose(brier_score(S, times, t, e, train_time=tt, train_event=te),
                               sk_brier(ytr, yte, S, times)[1], atol=1e-12)
    assert integrated_brier_score(S, times, t, e, train_time=tt, train_event=te) == \
        pytest.approx(sk_ibs(ytr, yte, S, times), abs=1e-12)


def test_brier_by_hand_with_both_weight_conventions():
    """Test = training data: times 1, 2, 2, 3; events 1, 0, 1, 0; G(1) = 1, G(2) = 1/2,
    G(2-) = 1. At t = 2 with S = 0.5 for everyone: cases are the events at 1 and 2, the control
    the subject at 3 (G(2) = 1/2).
    G(T_i):  (0.25/1 + 0.25/(1/2) + 0.25/(1/2)) / 4 = 1.25 / 4
    G(T_i-): (0.25/1 + 0.25/1 + 0.25/(1/2)) / 4 = 1.0 / 4"""
    t, e = np.array([1.0, 2.0, 2.0, 3.0]), np.array([1, 0, 1, 0])
    S = np.full((4, 1), 0.5)
    assert brier_score(S, [2.0], t, e)[0] == pytest.approx(1.25 / 4)
    assert brier_score(S, [2.0], t, e, censoring_weight_at="t-")[0] == pytest.approx(1.0 / 4)


def test_brier_refuses_undefined_weights_and_bad_input():
    t, e = np.array([1.0, 2.0, 3.0]), np.array([1, 1, 0])
    with pytest.raises(InvalidParameterError, match=r"censoring distribution G \(Kaplan-Meier of the training data\) is 0 from t = 2"):
        brier_score(np.full((3, 1), 0.5), [2.5], t, e, train_time=[1.0, 2.0], train_event=[0, 0])
    with pytest.raises(InvalidParameterError, match=r"shape \(n subjects, len\(times\)\)"):
        brier_score(np.full((3, 2), 0.5), [1.0], t, e)
    with pytest.raises(InvalidParameterError, match="probabilities in"):
        brier_score(np.full((3, 1), 1.5), [1.0], t, e)
    with pytest.raises(InvalidParameterError, match="censoring_weight_at must be"):
        brier_score(np.full((3, 1), 0.5), [1.0], t, e, censoring_weight_at="t+")
    with pytest.raises(InvalidParameterError, match="at least two increasing"):
        integrated_brier_score(np.full((3, 1), 0.5), [1.0], t, e)


@pytest.mark.r
def test_brier_t_minus_equals_pec(r_session):
    """pec::pec(list(m = S), Surv(time, status) ~ 1, data, times, exact = FALSE,
    cens.model = "marginal", reference = FALSE)$AppErr$m (pec prepends time 0, hence the
    column of ones): the censoring KM of the same data, cases weighted by G(T_i-)."""
    import warnings

    rng = np.random.default_rng(0)
    n = 300
    t, e = np.round(rng.exponential(5, n)) + 1, rng.binomial(1, 0.6, n)
    times = np.array([2.0, 4.0, 7.0, 10.0])
    S = np.exp(-np.outer(rng.uniform(0.05, 0.4, n), times))
    if not r_session.has_r_package("pec"):
        pytest.skip("R package pec is not installed")
    f = r_session.formula("Surv", ["time", "status"], [], namespace="pec")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pec's own start-up messages
        res = r_session.call("pec", {"m": np.hstack([np.ones((n, 1)), S])}, formula=f,
                             data=r_session.to_r(pd.DataFrame({"time": t, "status": e})),
                             times=times, exact=False, reference=False, verbose=False,
                             package="pec", **{"cens.model": "marginal"})
    expected = np.asarray(r_session.to_numpy(res.rx2("AppErr").rx2("m")))[1:]
    np.testing.assert_allclose(brier_score(S, times, t, e, censoring_weight_at="t-"), expected,
                               atol=1e-10)


def scored_case(seed=0, n=300):
    """Integer times (ties between events and censorings) and curves decreasing in time."""
    rng = np.random.default_rng(seed)
    t, e = np.round(rng.exponential(5, n)) + 1, rng.binomial(1, 0.6, n)
    times = np.array([2.0, 4.0, 7.0, 10.0])
    S = np.exp(-np.outer(rng.uniform(0.05, 0.4, n), times))
    return S, times, t, e


def r_frame(r_session, t, e):
    return r_session.to_r(pd.DataFrame({"time": t, "status": e}))


@pytest.mark.r
def test_brier_t_minus_equals_risk_regression(r_session):
    """riskRegression::Score(list(m = 1 - S), Surv(time, status) ~ 1, data, times,
    metrics = "brier", cens.model = "km", null.model = FALSE)$Brier$score$Brier."""
    if not r_session.has_r_package("riskRegression"):
        pytest.skip("R package riskRegression is not installed")
    S, times, t, e = scored_case(1)
    f = r_session.formula("Surv", ["time", "status"], [], namespace="survival")
    res = r_session.call("Score", {"m": 1 - S}, formula=f, data=r_frame(r_session, t, e), times=times,
                         metrics="brier", package="riskRegression",
                         **{"cens.model": "km", "null.model": False, "se.fit": False})
    expected = r_session.to_pandas(res.rx2("Brier").rx2("score"))["Brier"].to_numpy()
    np.testing.assert_allclose(brier_score(S, times, t, e, censoring_weight_at="t-"), expected, atol=1e-10)


@pytest.mark.r
def test_brier_t_equals_ipred_sbrier(r_session):
    """ipred::sbrier(Surv(time, status), S[, j], btime = times[j]) for each time (G(T_i) from
    the scored data, prodlim's reverse Kaplan-Meier). sbrier's integrated score cannot be
    asked: with a prediction matrix ipred 0.9-13 stops on R >= 4 ("EXPR must be a length 1
    vector", it switches on class(pred), which has two elements for a matrix)."""
    if not r_session.has_r_package("ipred"):
        pytest.skip("R package ipred is not installed")
    S, times, t, e = scored_case(2)
    surv = r_session.call("Surv", t, e, package="survival")
    expected = [float(r_session.to_numpy(r_session.call("sbrier", surv, S[:, j], btime=x, package="ipred"))[0])
                for j, x in enumerate(times)]
    np.testing.assert_allclose(brier_score(S, times, t, e), expected, atol=1e-10)


@pytest.mark.r
@pytest.mark.parametrize("weight_at", ["t", "t-"])
def test_r_engine_equals_python_engine(r_session, weight_at):
    """engine="r" asks ipred ("t") or riskRegression ("t-"); both equal ours (see above)."""
    S, times, t, e = scored_case(3)
    np.testing.assert_allclose(
        brier_score(S, times, t, e, censoring_weight_at=weight_at, engine="r"),
        brier_score(S, times, t, e, censoring_weight_at=weight_at), atol=1e-10)
    assert integrated_brier_score(S, times, t, e, censoring_weight_at=weight_at, engine="r") == \
        pytest.approx(integrated_brier_score(S, times, t, e, censoring_weight_at=weight_at), abs=1e-10)


@pytest.mark.r
def test_r_engine_falls_back_to_pec(r_session, monkeypatch):
    """Without riskRegression the "t-" score comes from pec; same numbers."""
    if not r_session.has_r_package("pec"):
        pytest.skip("R package pec is not installed")
    real = r_session.has_r_package
    monkeypatch.setattr(r_session, "has_r_package", lambda name: False if name == "riskRegression" else real(name))
    S, times, t, e = scored_case(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pec's start-up messages
        got = brier_score(S, times, t, e, censoring_weight_at="t-", engine="r")
    np.testing.assert_allclose(got, brier_score(S, times, t, e, censoring_weight_at="t-"), atol=1e-10)


def test_r_engine_refuses_training_censoring():
    S, times, t, e = scored_case(5)
    with pytest.raises(InvalidParameterError, match="estimate G from the scored data"):
        brier_score(S, times, t, e, train_time=t, train_event=e, engine="r")


def test_times_beyond_follow_up_name_the_limit():
    S, times, t, e = scored_case(6, n=50)
    late = np.array([2.0, t.max() + 1])
    with pytest.raises(InvalidParameterError, match=f"largest time is {t.max():g}"):
        brier_score(S[:, :2], late, t, e)


def test_rising_curves_all_censored_and_unsorted_times_are_refused():
    S, times, t, e = scored_case(7, n=40)
    bad = S.copy()
    bad[3, 2] = bad[3, 1] + 0.1
    with pytest.raises(InvalidParameterError, match=r"must not increase in time, but rows \[3\]"):
        brier_score(bad, times, t, e)
    with pytest.raises(InvalidParameterError, match="every subject is censored"):
        brier_score(S, times, t, np.zeros(len(t)))
    with pytest.raises(InvalidParameterError, match="increasing sequence"):
        brier_score(S, times[::-1], t, e)


def test_torch_input_gives_the_same_numbers():
    import torch

    S, times, t, e = scored_case(8)
    np.testing.assert_allclose(brier_score(torch.tensor(S, dtype=torch.float32), torch.tensor(times),
                                           torch.tensor(t), torch.tensor(e)),
                               brier_score(S.astype(np.float32), times, t, e), atol=1e-12)


@pytest.mark.gpu
def test_cuda_tensors_are_scored_on_the_gpu():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    S, times, t, e = scored_case(9)
    np.testing.assert_allclose(brier_score(torch.tensor(S, device="cuda"), times, t, e),
                               brier_score(S, times, t, e), atol=1e-12)


def test_memory_stays_linear_in_subjects():
    """n = 200 000 subjects x 4 times: an n x n matrix (pycox EvalSurv's censoring matrix)
    would need 320 GB; ours holds a few n x 4 arrays."""
    rng = np.random.default_rng(10)
    n = 200_000
    t, e = rng.exponential(5, n), rng.binomial(1, 0.6, n)
    times = np.array([1.0, 2.0, 4.0, 7.0])
    S = np.exp(-np.outer(rng.uniform(0.05, 0.4, n), times))
    bs = brier_score(S, times, t, e)
    assert bs.shape == (4,) and np.all((bs > 0) & (bs < 1))
