"""concordance_counting against brute force, scikit-survival, and R (through the coxph tests).

The R reference for (start, stop] data and strata is in tests/classical/test_engines.py (the
native engine's C equals coxph's $concordance to 1e-12 for all five models).
"""
from __future__ import annotations

import numpy as np
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
@given(st.lists(st.integers(0, 6), min_size=0, max_size=70), st.integers(0, 1000))
def test_prefix_rank_counts(values, seed):
    rng = np.random.default_rng(seed)
    v = np.asarray(values, dtype=float)
    L = rng.integers(0, len(v) + 1, 25)
    q = rng.integers(-1, 8, 25).astype(float)
    less, equal = prefix_rank_counts(v, L, q)
    assert less.tolist() == [int((v[:k] < x).sum()) for k, x in zip(L, q)]
    assert equal.tolist() == [int((v[:k] == x).sum()) for k, x in zip(L, q)]
