"""Case weights in Harrell's C and the IPCW Brier score (issue 28).

Harrell's C: survival::concordance(..., weights = w) is the reference; it weights a comparable
pair (i with the event, j) by w_i * w_j, the product of both weights, not by the case's weight
alone (checked in R 4.2.2 / survival 3.5-3 against a double loop over pairs; the loop is
`brute_force_weighted` below). Brier: no R function scores case-weighted Brier; see
`test_weighted_brier_term_by_term_with_g_from_r` for which were checked.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics import (
    CensoringKaplanMeier,
    brier_score,
    brier_terms,
    concordance_counting,
    concordance_harrell,
    integrated_brier_score,
    prefix_rank_counts,
)
from pysurvbridge.metrics import concordance as concordance_module


def tied_data(seed, n):
    """Risks rounded to 0.1 and integer times: many ties in both."""
    rng = np.random.default_rng(seed)
    return (np.round(rng.normal(size=n), 1), np.round(rng.exponential(5, n)),
            rng.binomial(1, 0.6, n), rng.uniform(0.2, 3.0, n))


def brute_force_weighted(risk, stop, event, weights, start=None, strata=None):
    """Harrell's rule pair by pair, each pair (event row i, comparable row j) counting
    w_i * w_j: survival::concordance's weighting (see the module docstring)."""
    n = len(stop)
    start = np.full(n, -np.inf) if start is None else start
    strata = np.zeros(n) if strata is None else strata
    conc = disc = tied = 0.0
    for i in range(n):
        if event[i] != 1:
            continue
        for j in range(n):
            if strata[j] != strata[i] or not (start[j] < stop[i] <= stop[j]):
                continue
            if stop[j] == stop[i] and event[j] == 1:
                continue  # tied event times are not compared (includes j == i)
            pair = weights[i] * weights[j]
            conc += pair * (risk[i] > risk[j])
            disc += pair * (risk[i] < risk[j])
            tied += pair * (risk[i] == risk[j])
    return (conc + tied / 2) / (conc + disc + tied), (conc, disc, tied)


@pytest.fixture(params=["compiled", "numpy"])
def counter(request, monkeypatch):
    """Both weighted counters: the numba Fenwick sweep and the numpy merge-sort tree."""
    if request.param == "numpy":
        monkeypatch.setattr(concordance_module, "compiled_weighted_sums", None)
    elif concordance_module.compiled_weighted_sums is None:
        pytest.skip("numba is not installed")
    return request.param


# ---------------------------------------------------------------- Harrell's C


@pytest.mark.r
def test_weighted_harrell_equals_r_concordance(r_session, counter):
    """survival::concordance(Surv(time, event) ~ risk, weights = w, reverse = TRUE):
    $concordance, and $count[c("concordant", "discordant", "tied.x")] summed = the weighted
    number of comparable pairs (return_pairs). Integer times, risks rounded to 0.1."""
    r, t, e, w = tied_data(3, 500)
    df = pd.DataFrame({"time": t, "event": e, "risk": r})
    f = r_session.formula("Surv", ["time", "event"], ["risk"], namespace="survival")
    fit = r_session.call("concordance", f, data=r_session.to_r(df), weights=w, reverse=True,
                         package="survival")
    expected = float(r_session.to_numpy(fit.rx2("concordance"))[0])
    count = np.asarray(r_session.to_numpy(fit.rx2("count")), dtype=float)
    c, pairs = concordance_harrell(r, t, e, weights=w, return_pairs=True)
    assert c == pytest.approx(expected, abs=1e-12)
    assert pairs == pytest.approx(count[:3].sum(), rel=1e-12)


@pytest.mark.r
def test_weighted_counting_concordance_equals_r(r_session, counter):
    """survival::concordance(Surv(start, stop, event) ~ risk + strata(s), weights = w,
    reverse = TRUE): $concordance and the column sums of $count (one row per stratum)."""
    rng = np.random.default_rng(11)
    n = 400
    start = rng.integers(0, 4, n).astype(float)
    stop = start + rng.integers(1, 5, n)
    event, risk = rng.binomial(1, 0.6, n), rng.integers(0, 5, n).astype(float)
    s, w = rng.integers(0, 2, n), rng.uniform(0.2, 3.0, n)
    df = pd.DataFrame({"start": start, "stop": stop, "event": event, "risk": risk, "s": s})
    f = r_session.formula("Surv", ["start", "stop", "event"], ["risk"], specials=[("strata", "s")],
                          namespace="survival")
    fit = r_session.call("concordance", f, data=r_session.to_r(df), weights=w, reverse=True,
                         package="survival")
    expected = float(r_session.to_numpy(fit.rx2("concordance"))[0])
    count = np.asarray(r_session.to_numpy(fit.rx2("count")), dtype=float).reshape(-1, 5, order="F")
    count = count.sum(axis=0)
    c, got = concordance_counting(risk, stop, event, start, s, weights=w)
    assert c == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose([got["concordant"], got["discordant"], got["tied_risk"]], count[:3],
                               rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_weighted_counting_equals_pair_by_pair(seed, counter):
    """Against the double loop over pairs (w_i * w_j), with late entry and strata."""
    rng = np.random.default_rng(seed)
    n = 45
    start = rng.integers(0, 3, n).astype(float)
    stop = start + rng.integers(1, 4, n)
    event, risk = rng.binomial(1, 0.6, n), rng.integers(0, 4, n).astype(float)
    strata, w = rng.integers(0, 2, n), rng.uniform(0.1, 5.0, n)
    event[0] = 1
    c, counts = concordance_counting(risk, stop, event, start, strata, weights=w)
    expected_c, expected = brute_force_weighted(risk, stop, event, w, start, strata)
    assert c == pytest.approx(expected_c, abs=1e-13)
    np.testing.assert_allclose([counts["concordant"], counts["discordant"], counts["tied_risk"]],
                               expected, rtol=1e-12, atol=1e-12)


def test_frequency_weights_equal_replicated_rows(counter):
    """Closed form: weight k on a subject = the subject repeated k times (copies of an event
    share its time, so they are not compared with each other; a pair of copies counts k_i k_j)."""
    r, t, e, _ = tied_data(4, 300)
    k = np.random.default_rng(5).integers(1, 5, len(t))
    c, pairs = concordance_harrell(r, t, e, weights=k, return_pairs=True)
    c_rep, pairs_rep = concordance_harrell(np.repeat(r, k), np.repeat(t, k), np.repeat(e, k),
                                           return_pairs=True)
    assert pairs == pairs_rep  # integer-valued sums are exact
    assert c == pytest.approx(c_rep, abs=1e-14)


def test_equal_weights_give_the_unweighted_c(counter):
    """All weights equal: every pair counts w^2, which cancels. With w = 1 or a power of 2
    the weighted sums are exact, so C is bit-identical; otherwise equal to rounding."""
    r, t, e, _ = tied_data(6, 400)
    c = concordance_harrell(r, t, e)
    assert concordance_harrell(r, t, e, weights=np.ones(len(t))) == c
    assert concordance_harrell(r, t, e, weights=np.full(len(t), 0.5)) == c
    assert concordance_harrell(r, t, e, weights=np.full(len(t), 3.7)) == pytest.approx(c, abs=1e-14)


def test_weighted_prefix_sums_equal_direct_sums(counter):
    rng = np.random.default_rng(8)
    v = rng.integers(0, 7, 70).astype(float)
    w = rng.uniform(0.1, 2.0, 70)
    L = rng.integers(0, 71, 40)
    q = rng.integers(-1, 8, 40).astype(float)
    less, equal = prefix_rank_counts(v, L, q, w, _force_numpy=counter == "numpy")
    np.testing.assert_allclose(less, [w[:k][v[:k] < x].sum() for k, x in zip(L, q)], atol=1e-12)
    np.testing.assert_allclose(equal, [w[:k][v[:k] == x].sum() for k, x in zip(L, q)], atol=1e-12)


# ---------------------------------------------------------------- bad weights


def bad_weights_cases(n):
    base = np.ones(n)
    zero, negative, nan, inf = base.copy(), base.copy(), base.copy(), base.copy()
    zero[[2, 4]] = 0.0
    negative[1] = -1.0
    nan[3] = np.nan
    inf[0] = np.inf
    return [(zero, r"rows \[2, 4\]"), (negative, r"rows \[1\]"), (nan, r"rows \[3\]"),
            (inf, r"rows \[0\]")]


@pytest.mark.parametrize("case", range(4))
def test_bad_weights_are_refused_naming_the_rows(case):
    r, t, e, _ = tied_data(9, 6)
    e[0] = 1
    w, rows = bad_weights_cases(6)[case]
    S, times = np.full((6, 1), 0.5), [1.0]
    t[:] = [1, 2, 3, 4, 5, 6]
    for call in (lambda: concordance_harrell(r, t, e, weights=w),
                 lambda: concordance_counting(r, t, e, weights=w),
                 lambda: brier_score(S, times, t, e, weights=w)):
        with pytest.raises(InvalidParameterError, match=r"weights must be positive and finite .*" + rows):
            call()
    with pytest.raises(InvalidParameterError, match=r"train_weights must be positive and finite .*" + rows):
        brier_score(S, times, t, e, train_time=t, train_event=e, train_weights=w)


def test_weights_of_the_wrong_length_or_shape_are_refused():
    r, t, e, _ = tied_data(10, 6)
    e[0] = 1
    with pytest.raises(InvalidParameterError, match="weights has 5 values but there are 6 subjects"):
        concordance_harrell(r, t, e, weights=np.ones(5))
    with pytest.raises(InvalidParameterError, match="weights must be 1-D"):
        concordance_harrell(r, t, e, weights=np.ones((6, 1)))
    t[:] = [1, 2, 3, 4, 5, 6]
    with pytest.raises(InvalidParameterError, match="weights has 7 values but there are 6 subjects"):
        brier_score(np.full((6, 1), 0.5), [1.0], t, e, weights=np.ones(7))


def test_train_weights_need_training_data_and_r_refuses_weights():
    S, times, t, e = scored_case(12, 50)
    with pytest.raises(InvalidParameterError, match="train_weights .* give train_time and train_event"):
        brier_score(S, times, t, e, train_weights=np.ones(len(t)))
    with pytest.raises(InvalidParameterError, match="engine='r': .* take no case weights"):
        brier_score(S, times, t, e, weights=np.ones(len(t)), engine="r")


# ---------------------------------------------------------------- Brier


def scored_case(seed=0, n=300):
    """Integer times (ties between events and censorings) and curves decreasing in time."""
    rng = np.random.default_rng(seed)
    t, e = np.round(rng.exponential(5, n)) + 1, rng.binomial(1, 0.6, n)
    times = np.array([2.0, 4.0, 7.0, 10.0])
    S = np.exp(-np.outer(rng.uniform(0.05, 0.4, n), times))
    return S, times, t, e


def r_weighted_censoring_km(r_session, time, event, weights):
    """G from R: survival::survfit(Surv(time', 1 - status) ~ 1, weights = w) with each event
    moved half the smallest gap between distinct times earlier, so that at a time with both an
    event and a censoring the event has left the risk set first (our convention, prodlim's and
    scikit-survival's; survfit itself keeps it at risk). Returns the step function's jump
    times and values (right-continuous)."""
    gap = np.diff(np.unique(time)).min()
    df = pd.DataFrame({"time": time - gap / 2 * event, "cens": 1 - event})
    f = r_session.formula("Surv", ["time", "cens"], [], namespace="survival")
    fit = r_session.call("survfit", f, data=r_session.to_r(df), weights=weights, package="survival")
    return (np.asarray(r_session.to_numpy(fit.rx2("time")), dtype=float),
            np.asarray(r_session.to_numpy(fit.rx2("surv")), dtype=float))


def step(jumps, values, x, left=False):
    """A right-continuous step function (1 before its first jump) at x, or its left limit."""
    idx = np.searchsorted(jumps, x, side="left" if left else "right")
    return np.concatenate([[1.0], values])[idx]


def graf_weighted(S, times, t, e, w, G, left):
    """Graf et al. (1999) with case weights, subject by subject:
    BS_w(s) = sum_i w_i [1{T_i <= s, d_i = 1} S_i(s)^2 / G(T_i) + 1{T_i > s} (1 - S_i(s))^2 / G(s)]
              / sum_i w_i, with G(T_i-) for cases when ``left``."""
    out = []
    for j, s in enumerate(times):
        num = 0.0
        for i in range(len(t)):
            if t[i] <= s and e[i] == 1:
                num += w[i] * S[i, j] ** 2 / G(t[i], left)
            elif t[i] > s:
                num += w[i] * (1 - S[i, j]) ** 2 / G(s, False)
        out.append(num / w.sum())
    return np.array(out)


@pytest.mark.r
def test_weighted_censoring_km_equals_r_survfit(r_session):
    """CensoringKaplanMeier(weights=w) against survival::survfit(..., weights = w) (events
    moved just before tied censorings, see r_weighted_censoring_km), at every distinct time
    and as left limits."""
    _, _, t, e = scored_case(13)
    w = np.random.default_rng(13).uniform(0.2, 3.0, len(t))
    jumps, values = r_weighted_censoring_km(r_session, t, e, w)
    G = CensoringKaplanMeier(t, e, weights=w)
    grid = np.unique(t)
    np.testing.assert_allclose(G(grid), step(jumps, values, grid), atol=1e-14)
    np.testing.assert_allclose(G(grid, left=True), step(jumps, values, grid, left=True), atol=1e-14)


@pytest.mark.r
@pytest.mark.parametrize("weight_at", ["t", "t-"])
def test_weighted_brier_term_by_term_with_g_from_r(r_session, weight_at):
    """No R function computes a case-weighted IPCW Brier score, so the reference is Graf's
    formula with case weights written out subject by subject (graf_weighted), with G taken
    from R's weighted survfit. Checked and unusable: riskRegression::Score (2022.11.28) and
    pec::pec have no case-weights argument; ipred::sbrier(obj, pred, btime) neither;
    survival:::brier (unexported in survival 3.5-3) scores a coxph fit's own predictions on
    its own data and ignores the fit's weights (1/G from an unweighted survfit, normalised
    by the sum of the IPC weights, not n); prodlim(reverse = TRUE, caseweights = w) equals
    weighted survfit without ties but, at a time with both an event and a censoring, follows
    neither tie convention. Both G sources: the scored data (weights) and the training data
    (train_weights)."""
    S, times, t, e = scored_case(14)
    rng = np.random.default_rng(14)
    w = rng.uniform(0.2, 3.0, len(t))
    left = weight_at == "t-"

    jumps, values = r_weighted_censoring_km(r_session, t, e, w)
    expected = graf_weighted(S, times, t, e, w, lambda x, lf: step(jumps, values, x, lf), left)
    got = brier_score(S, times, t, e, weights=w, censoring_weight_at=weight_at)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert integrated_brier_score(S, times, t, e, weights=w, censoring_weight_at=weight_at) == \
        pytest.approx(np.trapezoid(expected, times) / (times[-1] - times[0]), abs=1e-12)

    _, _, tt, te = scored_case(15, 500)
    tw = rng.uniform(0.2, 3.0, len(tt))
    jumps, values = r_weighted_censoring_km(r_session, tt, te, tw)
    expected = graf_weighted(S, times, t, e, w, lambda x, lf: step(jumps, values, x, lf), left)
    got = brier_score(S, times, t, e, weights=w, train_time=tt, train_event=te, train_weights=tw,
                      censoring_weight_at=weight_at)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    terms = brier_terms(S, times, t, e, train_time=tt, train_event=te, train_weights=tw,
                        censoring_weight_at=weight_at)
    np.testing.assert_allclose((w[:, None] * terms).sum(axis=0) / w.sum(), expected, atol=1e-12)


@pytest.mark.parametrize("weight_at", ["t", "t-"])
def test_brier_frequency_weights_equal_replicated_rows(weight_at):
    """Closed form: integer weights k_i give exactly the score of the data with subject i
    repeated k_i times, in the weighted mean and in G's Kaplan-Meier (every count of the
    reverse Kaplan-Meier is then the count of the replicated data)."""
    S, times, t, e = scored_case(16)
    rng = np.random.default_rng(16)
    k = rng.integers(1, 5, len(t))
    rep = (np.repeat(S, k, axis=0), times, np.repeat(t, k), np.repeat(e, k))
    np.testing.assert_allclose(brier_score(S, times, t, e, weights=k, censoring_weight_at=weight_at),
                               brier_score(*rep, censoring_weight_at=weight_at), atol=1e-14)
    assert integrated_brier_score(S, times, t, e, weights=k, censoring_weight_at=weight_at) == \
        pytest.approx(integrated_brier_score(*rep, censoring_weight_at=weight_at), abs=1e-14)
    _, _, tt, te = scored_case(17, 500)
    kt = rng.integers(1, 5, len(tt))
    np.testing.assert_allclose(
        brier_score(S, times, t, e, weights=k, train_time=tt, train_event=te, train_weights=kt,
                    censoring_weight_at=weight_at),
        brier_score(*rep, train_time=np.repeat(tt, kt), train_event=np.repeat(te, kt),
                    censoring_weight_at=weight_at), atol=1e-14)


def test_brier_equal_weights_give_the_unweighted_score():
    """All weights 1: the same terms, G from the same counts (exact in floating point)."""
    S, times, t, e = scored_case(18)
    ones = np.ones(len(t))
    np.testing.assert_array_equal(brier_score(S, times, t, e, weights=ones), brier_score(S, times, t, e))
    np.testing.assert_allclose(brier_score(S, times, t, e, weights=np.full(len(t), 3.7)),
                               brier_score(S, times, t, e), atol=1e-15)
    np.testing.assert_array_equal(CensoringKaplanMeier(t, e, weights=ones).values,
                                  CensoringKaplanMeier(t, e).values)


def test_weighted_censoring_km_reaches_zero_exactly():
    """A last censoring empties the risk set: G = 0 exactly (not 1e-16), so the undefined-weight
    check still names the limit with weights."""
    G = CensoringKaplanMeier([1.0, 2.0, 3.0, 3.0], [1, 0, 1, 0], weights=[0.3, 0.7, 0.1, 0.9])
    assert G.values[-1] == 0.0 and G.zero_from == 3.0
    # by hand: at 2 the censoring hazard is 0.7 / (0.7 + 0.1 + 0.9) = 0.7 / 1.7
    assert G([2.0])[0] == pytest.approx(1 - 0.7 / 1.7, abs=1e-15)
