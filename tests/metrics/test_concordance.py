"""concordance_counting against brute force, scikit-survival, and R (through the coxph tests).

The R reference for (start, stop] data and strata is in tests/classical/test_engines.py (the
native engine's C equals coxph's $concordance to 1e-12 for all five models).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysurvbridge.metrics import concordance_counting, prefix_rank_counts


def brute_force(risk, stop, event, start, strata):
    conc = disc = tied = 0
    n = len(stop)
    for i in range(n):
        if event[i] != 1:
            continue
        t = stop[i]
        for j in range(n):
            if strata[j] != strata[i] or not (start[j] < t <= stop[j]):
                continue
            if stop[j] == t and event[j] == 1:
                continue  # tied event times are not compared (includes j == i)
            conc += risk[i] > risk[j]
            disc += risk[i] < risk[j]
            tied += risk[i] == risk[j]
    total = conc + disc + tied
    return ((conc + tied / 2) / total if total else float("nan")), (conc, disc, tied)


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 40), st.integers(0, 10_000), st.booleans(), st.booleans())
def test_equals_brute_force(n, seed, with_start, with_strata):
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 3, n).astype(float) if with_start else np.full(n, -np.inf)
    stop = (start if with_start else 0) + rng.integers(1, 4, n)
    event = rng.binomial(1, 0.6, n)
    risk = rng.integers(0, 4, n).astype(float)  # many ties in risk
    strata = rng.integers(0, 2, n) if with_strata else np.zeros(n, dtype=int)
    if event.sum() == 0:
        event[0] = 1
    c, counts = concordance_counting(risk, stop, event, start if with_start else None,
                                     strata if with_strata else None)
    expected_c, (conc, disc, tied) = brute_force(risk, stop, event, start, strata)
    assert (counts["concordant"], counts["discordant"], counts["tied_risk"]) == (conc, disc, tied)
    if conc + disc + tied:
        assert c == pytest.approx(expected_c)


def test_equals_scikit_survival_on_right_censored_data():
    from sksurv.metrics import concordance_index_censored

    rng = np.random.default_rng(7)
    n = 3000
    time = np.round(rng.exponential(5, n))  # integer times: many ties
    event = rng.binomial(1, 0.7, n).astype(bool)
    risk = np.round(rng.normal(size=n), 1)
    expected = concordance_index_censored(event, time, risk)
    c, counts = concordance_counting(risk, time, event.astype(int))
    assert c == pytest.approx(expected[0], abs=1e-12)
    assert (counts["concordant"], counts["discordant"], counts["tied_risk"]) == expected[1:4]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=0, max_size=70), st.integers(0, 1000), st.booleans())
def test_prefix_rank_counts(values, seed, force_numpy):
    """Both the compiled Fenwick sweep and the numpy merge-sort tree against direct counting."""
    rng = np.random.default_rng(seed)
    v = np.asarray(values, dtype=float)
    L = rng.integers(0, len(v) + 1, 25)
    q = rng.integers(-1, 8, 25).astype(float)
    less, equal = prefix_rank_counts(v, L, q, _force_numpy=force_numpy)
    assert less.tolist() == [int((v[:k] < x).sum()) for k, x in zip(L, q)]
    assert equal.tolist() == [int((v[:k] == x).sum()) for k, x in zip(L, q)]


# ---------------------------------------------------------------- Harrell and Uno (issue 5, first part)

from pysurvbridge.errors import InvalidParameterError  # noqa: E402
from pysurvbridge.metrics import CensoringKaplanMeier, concordance_harrell, concordance_uno  # noqa: E402


def tied_data(seed, n):
    rng = np.random.default_rng(seed)
    return (np.round(rng.normal(size=n), 1), np.round(rng.exponential(5, n)),
            rng.binomial(1, 0.6, n))


def test_censoring_km_equals_scikit_survival():
    from sksurv.nonparametric import CensoringDistributionEstimator
    from sksurv.util import Surv

    _, t, e = tied_data(1, 3000)
    grid = np.unique(t)
    expected = CensoringDistributionEstimator().fit(Surv.from_arrays(e.astype(bool), t)).predict_proba(grid)
    np.testing.assert_allclose(CensoringKaplanMeier(t, e)(grid), expected, atol=1e-14)


def test_censoring_km_by_hand():
    """Times 1, 2, 2, 3 with events 1, 0, 1, 0: at t=2 the event leaves first, so the censoring
    hazard is 1 / (3 - 1); at t=3 it is 1 / 1. G = 1, 1/2, 0 after 1, 2, 3; G(2-) = 1."""
    G = CensoringKaplanMeier([1, 2, 2, 3], [1, 0, 1, 0])
    np.testing.assert_allclose(G([1, 2, 3]), [1.0, 0.5, 0.0])
    assert G([2], left=True)[0] == 1.0


def test_harrell_equals_scikit_survival_and_counts_pairs():
    from sksurv.metrics import concordance_index_censored

    r, t, e = tied_data(2, 2000)
    c, pairs = concordance_harrell(r, t, e, return_pairs=True)
    expected = concordance_index_censored(e.astype(bool), t, r)
    assert c == pytest.approx(expected[0], abs=1e-12)
    assert pairs == expected[1] + expected[2] + expected[3]


@pytest.mark.r
def test_harrell_equals_r_concordance(r_session):
    """survival::concordance(Surv(time, event) ~ risk, reverse = TRUE)$concordance."""
    r, t, e = tied_data(3, 500)
    df = pd.DataFrame({"time": t, "event": e, "risk": r})
    f = r_session.formula("Surv", ["time", "event"], ["risk"], namespace="survival")
    fit = r_session.call("concordance", f, data=r_session.to_r(df), reverse=True, package="survival")
    expected = float(r_session.to_numpy(fit.rx2("concordance"))[0])
    assert concordance_harrell(r, t, e) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("tau", [None, 6.0])
def test_uno_equals_scikit_survival(tau):
    from sksurv.metrics import concordance_index_ipcw
    from sksurv.util import Surv

    _, t_train, e_train = tied_data(4, 3000)
    r, t, e = tied_data(5, 1500)
    keep = t < t_train.max()  # sksurv needs test times inside the training range
    r, t, e = r[keep], t[keep], e[keep]
    expected = concordance_index_ipcw(Surv.from_arrays(e_train.astype(bool), t_train),
                                      Surv.from_arrays(e.astype(bool), t), r, tau=tau)[0]
    got = concordance_uno(r, t, e, train_time=t_train, train_event=e_train, tau=tau)
    assert got == pytest.approx(expected, abs=1e-12)


def test_uno_by_hand():
    """Three test subjects; G from training times 1, 2 (censored) and 3 (event): G(1) = 1,
    G(2) = 1/2. Event at 1 (risk 3) vs {2, 3}: weights 1/G(1)^2 = 1, both concordant;
    event at 2 (risk 1) vs {3 (risk 2)}: weight 1/G(2)^2 = 4, discordant.
    C = (1 * 2) / (1 * 2 + 4 * 1) = 1/3."""
    got = concordance_uno([3.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1, 1, 0],
                          train_time=[1.0, 2.0, 3.0], train_event=[1, 0, 1])
    assert got == pytest.approx(1 / 3)


def test_metric_inputs_are_checked():
    with pytest.raises(InvalidParameterError, match="risk has missing or infinite values at positions \\[1\\]"):
        concordance_harrell([0.1, np.nan], [1.0, 2.0], [1, 0])
    with pytest.raises(InvalidParameterError, match="event must be 0/1"):
        concordance_harrell([0.1, 0.2], [1.0, 2.0], [1, 2])
    with pytest.raises(InvalidParameterError, match="risk has 3 values but time has 2"):
        concordance_harrell([0.1, 0.2, 0.3], [1.0, 2.0], [1, 0])


def test_accepts_torch_tensors():
    import torch

    r, t, e = tied_data(6, 300)
    assert concordance_harrell(torch.tensor(r), torch.tensor(t), torch.tensor(e)) == \
        pytest.approx(concordance_harrell(r, t, e), abs=0)


