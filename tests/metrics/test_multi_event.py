"""concordance_global / concordance_local against per-event scikit-survival and brute force."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics import concordance_global, concordance_local


def test_global_is_the_mean_of_per_event_scikit_survival_c():
    from sksurv.metrics import concordance_index_censored

    rng = np.random.default_rng(0)
    n, K = 500, 3
    t, e = np.round(rng.exponential(5, (n, K))), rng.binomial(1, 0.6, (n, K))
    r = np.round(rng.normal(size=(n, K)), 1)
    expected = [concordance_index_censored(e[:, k].astype(bool), t[:, k], r[:, k])[0] for k in range(K)]
    mean, per_event = concordance_global(r, t, e, return_per_event=True)
    np.testing.assert_allclose(per_event, expected, atol=1e-12)
    assert mean == pytest.approx(np.mean(expected), abs=1e-12)


def local_brute_force(r, t, e):
    score = pairs = 0.0
    for i in range(r.shape[0]):
        for k in range(r.shape[1]):
            for m in range(r.shape[1]):
                if k == m or e[i, k] != 1:
                    continue
                if t[i, k] < t[i, m] or (t[i, k] == t[i, m] and e[i, m] == 0):
                    pairs += 1
                    score += 1.0 if r[i, k] > r[i, m] else 0.5 if r[i, k] == r[i, m] else 0.0
    return score / pairs, int(pairs)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 30), st.integers(2, 4), st.integers(0, 10_000))
def test_local_equals_brute_force(n, K, seed):
    rng = np.random.default_rng(seed)
    t, e = rng.integers(1, 4, (n, K)).astype(float), rng.binomial(1, 0.6, (n, K))
    r = rng.integers(0, 3, (n, K)).astype(float)
    e[0, 0], t[0, 0], t[0, 1] = 1, 1.0, 2.0  # at least one comparable pair
    assert concordance_local(r, t, e, return_pairs=True) == pytest.approx(local_brute_force(r, t, e))


def test_local_by_hand_and_errors():
    """Subject 0: illness at 2 (observed), death at 5 (observed): the illness should carry the
    higher risk (0.9 > 0.1: concordant). Subject 1: illness at 4, death censored at 4 ->
    comparable (tie with a censored time), risks equal -> 1/2. C = 1.5 / 2."""
    r = np.array([[0.9, 0.1], [0.3, 0.3]])
    t = np.array([[2.0, 5.0], [4.0, 4.0]])
    e = np.array([[1, 1], [1, 0]])
    assert concordance_local(r, t, e) == pytest.approx(0.75)
    with pytest.raises(InvalidParameterError, match="same \\(n, K\\) shape"):
        concordance_local(r[:, :1], t, e)
    with pytest.raises(InvalidParameterError, match="at least two event types"):
        concordance_local(r[:, :1], t[:, :1], e[:, :1])


@pytest.mark.r
def test_cumulative_incidence_equals_r_aalen_johansen(r_session):
    """Reference: R survival 3.5-3 survfit(Surv(time, factor(cause)) ~ 1)$pstate, with ties."""
    import pandas as pd

    from pysurvbridge.metrics import cumulative_incidence

    rng = np.random.default_rng(4)
    time = np.round(rng.exponential(5.0, 300), 1)
    cause = rng.choice([0, 1, 2], size=300, p=[0.3, 0.4, 0.3])
    r = r_session
    frame = pd.DataFrame({"time": time, "cause": pd.Categorical(cause, categories=[0, 1, 2])})
    sf = r.call("survfit", r.formula("Surv", ["time", "cause"], namespace="survival"), data=r.to_r(frame),
                package="survival")
    at = r.to_numpy(sf.rx2("time"))
    pstate = np.asarray(r.to_numpy(sf.rx2("pstate"))).reshape(len(at), 3, order="F")
    np.testing.assert_allclose(cumulative_incidence(time, cause, at), pstate[:, 1:].T, atol=1e-12)
    assert np.all(cumulative_incidence(time + 1.0, cause, [0.5]) == 0.0)  # before the first time
