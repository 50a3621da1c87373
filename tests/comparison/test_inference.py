"""Paired differences: every formula against an independent computation.

References: the corrected resampled t written out from Nadeau & Bengio (2003), eq. for the
"corrected resampled t-test", with scipy's t distribution; Holm against statsmodels'
``multipletests(method="holm")``; the paired bootstrap against a brute-force loop that rescores
each resample through the package's ordinary scoring path (not the vectorised per-subject
terms); the direction of each metric from its definition.
"""
from __future__ import annotations

import statistics

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pysurvbridge.comparison import compare
from pysurvbridge.comparison.inference import COLUMNS, corrected_t, direction, holm, paired_differences, verdict_of
from pysurvbridge.errors import InvalidParameterError


def test_corrected_t_by_hand():
    d = [0.012, -0.004, 0.020, 0.007, 0.015, -0.001, 0.010]
    n_train, n_test = 700, 300
    J = len(d)
    mean = sum(d) / J
    var = statistics.variance(d)  # sample variance, J - 1 in the denominator
    se = (var * (1 / J + n_test / n_train)) ** 0.5  # Nadeau & Bengio's correction
    q = stats.t.ppf(0.975, J - 1)
    p = 2 * stats.t.sf(abs(mean / se), J - 1)
    est, lo, hi, pval = corrected_t(np.array(d), n_train, n_test)
    assert est == pytest.approx(mean, abs=1e-15)
    assert (lo, hi) == (pytest.approx(mean - q * se, abs=1e-15), pytest.approx(mean + q * se, abs=1e-15))
    assert pval == pytest.approx(p, rel=1e-12)
    naive = stats.t.ppf(0.975, J - 1) * (var / J) ** 0.5
    assert hi - est > naive  # wider than the naive t, as overlapping training sets require


def test_corrected_t_needs_two_splits_and_handles_no_spread():
    with pytest.raises(ValueError, match="at least 2 splits"):
        corrected_t(np.array([0.1]), 10, 5)
    assert corrected_t(np.array([0.0, 0.0, 0.0]), 10, 5) == (0.0, 0.0, 0.0, 1.0)


def test_holm_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.20, 0.005, 0.9])
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=0, atol=1e-15)
    with_nan = np.array([0.01, np.nan, 0.04])
    out = holm(with_nan)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], multipletests([0.01, 0.04], method="holm")[1], atol=1e-15)


@pytest.mark.parametrize("metric, low, high, expected", [
    ("c_harrell", 0.01, 0.05, "model"), ("c_harrell", -0.05, -0.01, "reference"), ("c_harrell", -0.01, 0.02, "neither"),
    ("ibs", -0.03, -0.01, "model"), ("brier_365", 0.01, 0.02, "reference"), ("mae_margin_death", -5, -1, "model"),
    ("ici_5", 0.001, 0.004, "reference"), ("c_global", np.nan, np.nan, "neither"), ("c_local", 0.0, 0.1, "neither"),
])
def test_better_needs_an_interval_that_excludes_zero(metric, low, high, expected):
    assert verdict_of(metric, low, high) == expected
    assert direction("c_uno") == 1 and direction("ibs_death") == -1


def test_failed_splits_are_left_out_and_counted():
    results = pd.DataFrame({"model": ["cox"] * 3 + ["net"] * 3, "seed": [0, 1, 2] * 2,
                            "c_harrell": [0.70, 0.72, 0.69, 0.71, np.nan, 0.70],
                            "error": [None, None, None, None, "RuntimeError: boom", None]})
    table, notes = paired_differences(results, "cox", ["c_harrell"], n_train=70, n_test=30)
    row = table.iloc[0]
    assert row["n_splits"] == 2 and row["estimate"] == pytest.approx(((0.71 - 0.70) + (0.70 - 0.69)) / 2)
    assert list(table.columns) == COLUMNS
    assert any("2 of 3 splits" in n for n in notes)


@pytest.fixture(scope="module")
def bladder5():
    return compare("bladder1", models=["cox", "ag", "wlw"], seeds=5, verbose=False, crosscheck=False)


def test_differences_on_the_table(bladder5):
    diff = bladder5.differences
    assert list(diff.columns) == COLUMNS and bladder5.reference == "cox"
    assert set(diff["model"]) == {"ag", "wlw"} and set(diff["reference"]) == {"cox"}
    assert "aic" not in set(diff["metric"]) and "fit_seconds" not in set(diff["metric"])
    assert {"c_harrell", "c_intervals", "ibs", "ici_5"} <= set(diff["metric"])
    res = bladder5.results.set_index(["model", "seed"])
    d = (res.loc["ag", "c_harrell"] - res.loc["cox", "c_harrell"]).to_numpy()
    n_test = len(bladder5.split.test_first)
    n_train = len(bladder5.split.train_first)
    est, lo, hi, p = corrected_t(d, n_train, n_test)
    row = diff[(diff["model"] == "ag") & (diff["metric"] == "c_harrell")].iloc[0]
    assert (row["estimate"], row["ci_low"], row["ci_high"], row["p_value"]) == pytest.approx((est, lo, hi, p), abs=1e-12)
    assert row["n_splits"] == 5 and row["method"].startswith("corrected resampled t")
    # Holm across the two models, per metric
    both = diff[diff["metric"] == "c_harrell"]["p_value"].to_numpy()
    np.testing.assert_allclose(diff[diff["metric"] == "c_harrell"]["p_adjusted"], holm(both), atol=1e-15)


def test_reference_is_chosen_or_refused():
    res = compare("bladder1", models=["ag", "cox"], seeds=2, verbose=False, crosscheck=False, reference="cox")
    assert res.reference == "cox" and set(res.differences["model"]) == {"ag"}
    assert any("2 splits" in n and "wide and rough" in n for n in res.notes)
    with pytest.raises(InvalidParameterError, match="reference 'deepsurv' is not among the models"):
        compare("bladder1", models=["ag", "cox"], seeds=1, verbose=False, crosscheck=False, reference="deepsurv")
    one = compare("bladder1", models=["ag"], seeds=1, verbose=False, crosscheck=False)
    assert one.reference is None and one.differences.empty and list(one.differences.columns) == COLUMNS


def test_the_bootstrap_equals_a_brute_force_loop():
    """One split: the bootstrap against a loop that scores each resample with the plain metric
    functions (scikit-survival's C; the IPCW Brier score of the resample, not the vectorised
    per-subject terms), the same seeded draws, whole subjects for the recurrent rows."""
    from pysurvbridge.comparison.bootstrap import draws_for
    from sksurv.metrics import concordance_index_censored

    from pysurvbridge import metrics
    from pysurvbridge.classical.calibration import calibration_at_time
    from pysurvbridge.comparison.scoring import single_predictions, subject_rows

    B = 400  # fewer than the 2000 of a real run: the loop below is slow, the bookkeeping is the same
    res = compare("bladder1", models=["cox", "ag"], seeds=[3], verbose=False, crosscheck=False, bootstrap=B)
    split = res.split
    preds = {m: single_predictions(res.runs[m], split) for m in ("cox", "ag")}
    groups = subject_rows(split)
    draws = draws_for(3, len(split.test_first), B)
    diff = res.differences.set_index("metric")
    te, tr, f = split.test_first, split.train_first, split.test.frame
    by_metric = {
        # scikit-survival's Harrell's C: an independent implementation
        "c_harrell": lambda p, s: concordance_index_censored(te.event[s] == 1, te.time[s], p.risk[s])[0],
        "c_intervals": lambda p, s: metrics.concordance_recurrent(
            p.row_risk[np.concatenate([groups[i] for i in s])], *(f[c].to_numpy()[np.concatenate([groups[i] for i in s])]
                                                                 for c in ("start", "stop", "event"))),
        "brier_5": lambda p, s: metrics.brier_score(p.survival[s][:, [1]], [5.0], te.time[s], te.event[s],
                                                    train_time=tr.time, train_event=tr.event)[0],
        "ici_5": lambda p, s: calibration_at_time(p.survival[s, 1], te.time[s], te.event[s], 5.0).ici,
    }
    assert list(split.times) == [3.0, 5.0, 12.0]
    for metric, score in by_metric.items():
        brute = []
        for subjects in draws:
            try:
                brute.append(score(preds["ag"], subjects) - score(preds["cox"], subjects))
            except ValueError:  # undefined on this resample: the bootstrap drops it too
                brute.append(np.nan)
        brute = np.array(brute)
        brute = brute[np.isfinite(brute)]
        lo, hi = np.quantile(brute, [0.025, 0.975])
        row = diff.loc[metric]
        assert row["method"] == f"paired bootstrap over test subjects (B = {B}, 1 split)"
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12)), metric
        p = min(1.0, 2 * (min((brute <= 0).sum(), (brute >= 0).sum()) + 1) / (len(brute) + 1))
        assert row["p_value"] == pytest.approx(p, abs=1e-12), metric
    assert any("one split" in n and f"(B = {B}, whole subjects resampled)" in n for n in res.notes)
    for bad in (50, 2.5, True):
        with pytest.raises(InvalidParameterError, match="bootstrap must be a whole number of resamples >= 100"):
            compare("bladder1", models=["cox", "ag"], seeds=1, verbose=False, crosscheck=False, bootstrap=bad)


def test_the_multi_event_bootstrap_equals_a_brute_force_loop():
    """The multi-event scores on each resample: global C and each event's margin MAE and IBS
    from the plain metric functions on the resampled subjects."""
    from pysurvbridge import metrics
    from pysurvbridge.comparison.bootstrap import draws_for
    from pysurvbridge.comparison.scoring import multi_event_predictions
    from pysurvbridge.simulate import simulate_multi_event

    B = 300
    sim = simulate_multi_event(400, K=2, seed=2).data
    res = compare(sim, models=["cox-per-event", "earlier-event-first"], trajectories=[(0, 1)], seeds=[5],
                  verbose=False, bootstrap=B)
    split = res.split
    te, tr = split.test, split.train
    preds = {m: multi_event_predictions(res.runs[m], split) for m in ("cox-per-event", "earlier-event-first")}
    draws = draws_for(5, len(te), B)
    name = te.event_names[1]
    by_metric = {
        "c_global": lambda p, s: metrics.concordance_global(p.risk[s], te.times[s], te.events[s]),
        f"mae_margin_{name}": lambda p, s: metrics.mae_margin(p.median[s, 1], te.times[s, 1], te.events[s, 1],
                                                              train_time=tr.times[:, 1], train_event=tr.events[:, 1]),
        f"ibs_{name}": lambda p, s: metrics.integrated_brier_score(
            p.ibs_survival[1][s], p.ibs_grids[1], te.times[s, 1], te.events[s, 1], train_time=tr.times[:, 1],
            train_event=tr.events[:, 1]),
    }
    diff = res.differences.set_index("metric")
    for metric, score in by_metric.items():
        brute = []
        for s in draws:
            try:
                brute.append(score(preds["earlier-event-first"], s) - score(preds["cox-per-event"], s))
            except ValueError:
                brute.append(np.nan)
        brute = np.array(brute)
        finite = brute[np.isfinite(brute)]
        assert len(finite) > 0.9 * B, metric
        lo, hi = np.quantile(finite, [0.025, 0.975])
        row = diff.loc[metric]
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12)), metric
