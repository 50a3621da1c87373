"""d_calibration: a hand-computed case, SurvivalEVAL, and a calibrated simulation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics import d_calibration


def test_by_hand():
    """B = 2 bins, [0.5, 1] and [0, 0.5). Events at S(T) = 0.8 and 0.3 add 1 to each bin.
    Censored at p = 0.6: (0.6 - 0.5) / 0.6 = 1/6 to its own bin, 1 / (2 x 0.6) = 5/6 below.
    Censored at p = 1: 1/2 to each. Counts 5/3 and 7/3 against 2 and 2: chi-square
    = (1/9 + 1/9) / 2 = 1/9 on 1 df, p = erfc(sqrt(1/9) / sqrt 2) (Haider et al. 2020, 4.4)."""
    res = d_calibration([0.8, 0.3, 0.6, 1.0], [1, 1, 0, 0], bins=2)
    np.testing.assert_allclose(res.counts, [5 / 3, 7 / 3])
    assert res.statistic == pytest.approx(1 / 9)
    assert res.p_value == pytest.approx(math.erfc((1 / 3) / math.sqrt(2)))


def test_equals_survival_eval():
    """SurvivalEVAL 0.9.0 d_calibration(pred_probs, event_indicators, num_bins) (Haider's
    group's package)."""
    from SurvivalEVAL import d_calibration as se_dcal

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 3000)
    p[:20] = 1.0
    p[20:40] = np.linspace(0, 1, 11).repeat(2)[:20]  # values on the bin edges
    e = rng.binomial(1, 0.6, 3000)
    statistic, p_value, hist = se_dcal(p, e, num_bins=10)
    res = d_calibration(p, e)
    np.testing.assert_allclose(res.counts, hist, atol=1e-9)
    assert res.statistic == pytest.approx(statistic, abs=1e-9)
    assert res.p_value == pytest.approx(p_value, abs=1e-12)


def test_true_curves_pass_and_wrong_curves_fail():
    """Exponential T (rate 0.1), uniform censoring: S(T) under the true curve is calibrated;
    a curve with twice the true rate is not (n = 5000, so the test has power)."""
    rng = np.random.default_rng(1)
    T, C = rng.exponential(10, 5000), rng.uniform(0, 30, 5000)
    time, event = np.minimum(T, C), (T <= C).astype(int)
    assert d_calibration(np.exp(-time / 10), event).p_value > 0.01
    assert d_calibration(np.exp(-time / 5), event).p_value < 1e-6


def test_bad_input():
    with pytest.raises(InvalidParameterError, match=r"positions \[1\]"):
        d_calibration([0.5, 1.2], [1, 0])
    with pytest.raises(InvalidParameterError, match="bins must be an integer >= 2"):
        d_calibration([0.5, 0.2], [1, 0], bins=1)


def test_plot_returns_axes(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    ax = d_calibration([0.8, 0.3, 0.6, 1.0], [1, 1, 0, 0], bins=2).plot()
    ax.figure.savefig(tmp_path / "dcal.png")
    assert len(ax.patches) == 2


def test_group_calibration_hand_case():
    """Group a: times 1, 2, 3 all events -> KM at t = 1.5 is 2/3, at 2.5 is 1/3; group b: time 1
    censored, 2 event -> KM 1 at 1.5, 0 at 2.5. Predicted means are plain averages."""
    from pysurvbridge.metrics import group_calibration

    S = np.array([[0.9, 0.5], [0.7, 0.3], [0.5, 0.1], [1.0, 0.2], [0.8, 0.0]])
    cal = group_calibration(S, [1.5, 2.5], [1, 2, 3, 1, 2], [1, 1, 1, 0, 1], ["a", "a", "a", "b", "b"])
    t = cal.table.set_index(["group", "time"])
    assert t.loc[("a", 1.5), "kaplan_meier"] == pytest.approx(2 / 3)
    assert t.loc[("a", 2.5), "kaplan_meier"] == pytest.approx(1 / 3)
    assert t.loc[("b", 1.5), "kaplan_meier"] == pytest.approx(1.0)
    assert t.loc[("b", 2.5), "kaplan_meier"] == pytest.approx(0.0)
    assert t.loc[("a", 1.5), "predicted"] == pytest.approx(0.7)
    assert t.loc[("b", 2.5), "predicted"] == pytest.approx(0.1)
    # differences: a 0.7 - 2/3, 0.3 - 1/3; b 0.9 - 1 = -0.1, 0.1 - 0 = 0.1
    assert cal.max_abs_difference == pytest.approx(0.1)
    assert t["n"].tolist() == [3, 3, 2, 2]


def test_decile_calibration_groups_by_predicted_survival_and_uses_each_groups_km():
    """Hand check: without censoring, a group's Kaplan-Meier at t is its share with T > t;
    groups are the deciles of the predictions (group 1 = lowest predicted survival)."""
    from pysurvbridge.metrics import calibration_in_the_large, decile_calibration

    rng = np.random.default_rng(1)
    n = 1000
    rate = rng.uniform(0.5, 2.0, n)
    time = rng.exponential(1 / rate)
    pred = np.exp(-rate * 1.0)  # the true S_i(1)
    table = decile_calibration(pred, time, np.ones(n), 1.0)
    assert list(table["group"]) == list(range(1, 11)) and (table["n"] == 100).all()
    order = np.argsort(pred)
    for g in range(10):
        rows = order[100 * g: 100 * (g + 1)]
        assert table["predicted"].iloc[g] == pytest.approx(pred[rows].mean(), rel=1e-12)
        assert table["kaplan_meier"].iloc[g] == pytest.approx((time[rows] > 1.0).mean(), abs=1e-12)
    assert calibration_in_the_large(pred, time, np.ones(n), 1.0) == pytest.approx(pred.mean() - (time > 1).mean(),
                                                                                   abs=1e-12)
