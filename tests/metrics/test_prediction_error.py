"""mae_margin / margin_time (hand cases, SurvivalEVAL) and survival_l1 (closed forms)."""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics import mae_margin, margin_time, survival_l1


def test_margin_time_by_hand():
    """Training times 2, 4 (both events): KM 1, 1/2, 0 at 0, 2, 4. Censored at c = 3:
    S(3) = 1/2, weight 1/2. Linear KM: area from 3 = 1 x (1/2 + 0) / 2 = 1/4 -> 3 + 1/2;
    step KM: area = 1 x 1/2 -> 3 + 1."""
    guess, weight = margin_time([3.0], [2.0, 4.0], [1, 1])
    assert guess[0] == pytest.approx(3.5) and weight[0] == pytest.approx(0.5)
    assert margin_time([3.0], [2.0, 4.0], [1, 1], km_curve="step")[0][0] == pytest.approx(4.0)


def test_margin_time_in_the_tail():
    """Training 2 (event), 4 (censored): KM stays 1/2 from 2 on; the line from (0, 1) through
    (4, 1/2) reaches 0 at 8. c = 6: S = 1/4, area under the line from 6 to 8 = 1/4, so the
    margin is 6 + 1 = 7. c = 3: area = 1 x 1/2 + 4 x 1/2 / 2 = 3/2 -> 3 + 3 = 6 (both
    readings, the KM being flat there). c = 9 lies past 8: margin = c."""
    guess, _ = margin_time([6.0, 3.0, 9.0], [2.0, 4.0], [1, 0])
    np.testing.assert_allclose(guess, [7.0, 6.0, 9.0])
    np.testing.assert_allclose(margin_time([3.0], [2.0, 4.0], [1, 0], km_curve="step")[0], [6.0])


def test_mae_margin_by_hand():
    """Test subjects: event at 2 predicted 3 (error 1, weight 1); censored at 3 predicted 3
    (margin 3.5, error 1/2, weight 1/2): MAE = (1 + 1/4) / (1 + 1/2) = 5/6."""
    got = mae_margin([3.0, 3.0], [2.0, 3.0], [1, 0], train_time=[2.0, 4.0], train_event=[1, 1])
    assert got == pytest.approx(5 / 6)


def test_mae_margin_equals_survival_eval():
    """SurvivalEVAL 0.9.0 mean_error(method="margin", error_type="absolute", weighted=True):
    linear KM area, step KM denominator and weight, linear tail."""
    from SurvivalEVAL import mean_error

    rng = np.random.default_rng(3)
    tt, te = np.round(rng.exponential(5, 500), 1) + 0.1, rng.binomial(1, 0.7, 500)
    t, e = np.round(rng.exponential(5, 300), 1) + 0.1, rng.binomial(1, 0.5, 300)
    t[:5] = tt.max() + np.arange(1, 6)  # censored past the training data: the linear tail
    e[:5] = 0
    pred = rng.uniform(1, 10, 300)
    expected = mean_error(pred, t, e, tt, te, error_type="absolute", method="margin", weighted=True)
    assert mae_margin(pred, t, e, train_time=tt, train_event=te) == pytest.approx(expected, abs=1e-10)


def test_survival_l1_closed_forms():
    """Constant curves 0.5 vs 0.7: 0.2 exactly. exp(-t/5) vs exp(-t/10) on (0, 20]:
    integral of the gap = 10 (1 - e^-2) - 5 (1 - e^-4), over 20; the right Riemann sum with
    step h is within h of it."""
    times = np.linspace(0.5, 10, 20)
    assert survival_l1(np.full((3, 20), 0.5), np.full((3, 20), 0.7), times) == pytest.approx(0.2)
    h = 20 / 40_000
    grid = np.arange(1, 40_001) * h
    exact = (10 * (1 - np.exp(-2)) - 5 * (1 - np.exp(-4))) / 20
    got = survival_l1(np.exp(-grid / 5)[None, :], np.exp(-grid / 10)[None, :], grid)
    assert abs(got - exact) < h


def test_survival_l1_against_the_simulator_truth():
    from pysurvbridge.simulate import simulate_survival

    sim = simulate_survival(200, seed=0)
    times = np.linspace(0.5, 20, 40)
    truth = sim.true_survival(times)
    assert survival_l1(truth, truth, times) == 0.0
    with pytest.raises(InvalidParameterError, match="shape"):
        survival_l1(truth[:, :3], truth, times)


def test_median_time_equals_survivaleval_and_a_hand_case():
    """Reference: SurvivalEVAL 0.9.0 predict_median_st (linear interpolation, linear tail
    through (0, 1)); hand values 2 + 0.2/0.3, 4 x 0.5/0.4 and the grid point itself."""
    from SurvivalEVAL.evaluations.util import predict_median_st

    from pysurvbridge.metrics import median_time

    t = np.array([1.0, 2.0, 3.0, 4.0])
    S = np.array([[0.9, 0.7, 0.4, 0.2], [0.9, 0.8, 0.7, 0.6], [0.5, 0.4, 0.3, 0.2]])
    np.testing.assert_allclose(median_time(S, t), [2 + 0.2 / 0.3, 5.0, 1.0], rtol=1e-12)
    rng = np.random.default_rng(0)
    curves = np.sort(rng.uniform(0.05, 1, size=(50, 30)), axis=1)[:, ::-1]
    grid = np.linspace(0.0, 10.0, 30)
    curves[:, 0] = 1.0
    np.testing.assert_allclose(median_time(curves, grid), predict_median_st(curves, grid), rtol=1e-10)
    assert np.isinf(median_time(np.ones((1, 4)), t)[0])
