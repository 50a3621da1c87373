"""Nnet-survival: the paper's checks at test size, closed forms, the heads and interpolation.

Paper: Gensheimer & Narasimhan (2019), "A scalable discrete-time survival model for neural
networks", PeerJ 7:e6257. Full-size runs: benchmarks/nnet_survival_paper.py (RESULTS.md).
"""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge import metrics
from pysurvbridge.data import SurvivalData, load_digits_survival
from pysurvbridge.data.intervals import breaks_equal_width, breaks_half_life, make_intervals
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.models import NnetSurvival, small_cnn

from ._data import WEIBULL_BETA, exponential_two_groups, weibull_ph

PAPER_BREAKS = breaks_equal_width(5 * 365, width=365 / 8)  # 39 intervals to 1779 days


@pytest.fixture(scope="module")
def two_groups():
    return exponential_two_groups(5000, seed=0)


@pytest.mark.parametrize("head", ["flexible", "proportional"])
def test_paper_check_1_mean_survival_follows_kaplan_meier(two_groups, head, tmp_path):
    """Paper check 1 at full size (5000 subjects, one binary predictor, no hidden layer, 39
    intervals): mean predicted survival per group within 0.03 of Kaplan-Meier at every break.
    Minibatch SGD as in the paper (batch 256)."""
    m = NnetSurvival(PAPER_BREAKS, head=head, standardize=False).fit(
        two_groups, epochs=40, batch_size=256, lr=0.02, verbose=False)
    surv = m.predict_survival(two_groups.X, PAPER_BREAKS).to_numpy()
    cal = metrics.group_calibration(surv, PAPER_BREAKS, two_groups.time, two_groups.event, two_groups.X[:, 0])
    assert cal.max_abs_difference < 0.03, cal.table.sort_values("difference").iloc[[0, -1]]
    ax = cal.plot()
    ax.figure.savefig(tmp_path / "calibration.png")
    assert (tmp_path / "calibration.png").stat().st_size > 10_000


def test_no_covariate_fit_is_the_life_table(two_groups):
    """With no covariates the flexible head's maximum-likelihood hazards are the actuarial
    life-table estimates d_j / (d_j + s_j) (closed form of eq. 13)."""
    data = SurvivalData.from_arrays(two_groups.time, two_groups.event)
    b = PAPER_BREAKS[:20]
    m = NnetSurvival(b).fit(data, epochs=400, lr=0.1, verbose=False)
    s, f = make_intervals(data.time, data.event, b)
    life_table = f.sum(0) / (f.sum(0) + s.sum(0))
    np.testing.assert_allclose(m.predict_interval_hazard(data.X[:1]).to_numpy()[0], life_table, atol=2e-4)


def test_survival_at_and_between_breaks():
    data = weibull_ph(800, seed=5)
    b = [0, 100, 300, 700, 1500]
    m = NnetSurvival(b, hidden=(4,)).fit(data, epochs=5, lr=1e-2, verbose=False)
    h = m.predict_interval_hazard(data.X[:3]).to_numpy()
    S = m.predict_survival(data.X[:3], [0, 100, 200, 300, 1500]).to_numpy()
    np.testing.assert_allclose(S[:, 0], 1.0)
    np.testing.assert_allclose(S[:, 1], 1 - h[:, 0], rtol=1e-12)            # product of (1 - h)
    np.testing.assert_allclose(S[:, 3], (1 - h[:, 0]) * (1 - h[:, 1]), rtol=1e-12)
    np.testing.assert_allclose(S[:, 2], (1 - h[:, 0]) * np.sqrt(1 - h[:, 1]), rtol=1e-12)  # halfway: log-linear
    np.testing.assert_allclose(S[:, 4], np.prod(1 - h, axis=1), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match=r"after the last break 1500"):
        m.predict_survival(data.X[:3], [1600])
    risk = m.predict_risk(data.X[:3], horizon=300)
    np.testing.assert_allclose(risk, 1 - S[:, 3], rtol=1e-12)


@pytest.mark.parametrize("head", ["flexible", "proportional"])
def test_paper_check_2_interval_width_robustness(head):
    """Paper check 2 (test size): Weibull data, yearly / monthly / weekly / half-life breaks:
    test C-index of 1 - S(1 year) equal within 0.01 across the four."""
    train, test = weibull_ph(4000, seed=0), weibull_ph(2000, seed=1)
    days = 5 * 365
    sets = {
        "yearly": np.arange(0, days + 1, 365.0),
        "monthly": np.arange(0, days + 1, 365 / 12),
        "weekly": np.arange(0, days + 7, 7.0),
        "half-life": np.append(breaks_half_life(19), days),  # 19 paper intervals + one to 5 years
    }
    c = {}
    for name, b in sets.items():
        m = NnetSurvival(b, head=head, horizon=365).fit(
            train, epochs=300, batch_size=256, lr=1e-2, validation=0.2, patience=10, verbose=False)
        c[name] = metrics.concordance_harrell(m.predict_risk(test.X), test.time, test.event)
    assert max(c.values()) - min(c.values()) < 0.01, c
    oracle = metrics.concordance_harrell(test.X @ WEIBULL_BETA, test.time, test.event)
    assert all(abs(v - oracle) < 0.01 for v in c.values()), (c, oracle)


def test_paper_check_3_digits_cnn_near_the_oracle():
    """Paper check 3 (surv-digits): a small CNN on the 8x8 images reaches a test C-index within
    0.07 of the oracle that knows the digit (paper, MNIST: 0.713 vs 0.770), and its mean
    predicted survival per digit follows each digit's true curve."""
    ds = load_digits_survival(seed=0)
    n = len(ds.time)
    data = SurvivalData.from_arrays(ds.time, ds.event, ds.images.reshape(n, -1))
    order = np.random.default_rng(1).permutation(n)
    tr, te = order[: int(0.7 * n)], order[int(0.7 * n):]
    b = breaks_half_life(19)
    m = NnetSurvival(b, network=small_cnn((8, 8)), standardize=False, horizon=365).fit(
        data.subset(tr), epochs=60, batch_size=32, lr=1e-3, verbose=False)
    test = data.subset(te)
    c_model = metrics.concordance_harrell(m.predict_risk(test.X), test.time, test.event)
    c_oracle = metrics.concordance_harrell(ds.digits[te].astype(float), test.time, test.event)
    assert c_oracle - c_model < 0.07, (c_model, c_oracle)
    # calibration per digit against the generating model, S(t | d) = exp(-t ln 2 / (365 e^(-0.9 d)))
    # (load_digits_survival's closed form; test-set KM per digit, ~55 subjects, is too noisy)
    times = b[1:10]
    surv = m.predict_survival(test.X, times).to_numpy()
    for d in range(5):
        truth = np.exp(-times * np.log(2) / (365 * np.exp(-0.9 * d)))
        assert np.abs(surv[ds.digits[te] == d].mean(axis=0) - truth).max() < 0.1, d


def test_bad_hyper_parameters():
    data = exponential_two_groups(200, seed=0)  # checked at fit, as scikit-learn asks
    with pytest.raises(InvalidParameterError, match="head must be one of"):
        NnetSurvival(5, head="cox").fit(data, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="breaks must start at 0"):
        NnetSurvival([1, 2, 3]).fit(data, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="network must be a torch.nn.Module"):
        NnetSurvival(5, network="cnn").fit(data, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="activation must be one of"):
        NnetSurvival(5, hidden=(3,), activation="swish").fit(data, epochs=1, verbose=False)
