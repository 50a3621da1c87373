"""cumulative_dynamic_auc against scikit-survival and a hand count."""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics import cumulative_dynamic_auc


def case(seed):
    rng = np.random.default_rng(seed)
    tt, te = np.round(rng.exponential(5, 2000)), rng.binomial(1, 0.6, 2000)
    n = 900
    t, e = np.round(rng.exponential(5, n)), rng.binomial(1, 0.6, n)
    keep = t < tt.max()
    t, e = t[keep], e[keep]
    times = np.array([1.0, 2.0, 4.0, 7.0, 10.0])
    risk = np.round(rng.normal(size=len(t)) - 0.1 * t, 1)  # ties in risk
    return risk, times, t, e, tt, te


@pytest.mark.parametrize("per_time", [False, True])
def test_equals_scikit_survival(per_time):
    """sksurv.metrics.cumulative_dynamic_auc(train, test, estimate, times): AUC per time and
    the Kaplan-Meier-weighted mean; ties in risk counted 1/2 by both (trapezoid ROC there)."""
    from sksurv.metrics import cumulative_dynamic_auc as sk_auc
    from sksurv.util import Surv

    risk, times, t, e, tt, te = case(1)
    if per_time:
        risk = np.round(np.add.outer(risk, 0.05 * times), 1)
    expected, expected_mean = sk_auc(Surv.from_arrays(te.astype(bool), tt), Surv.from_arrays(e.astype(bool), t),
                                     risk, times)
    auc, mean = cumulative_dynamic_auc(risk, times, t, e, train_time=tt, train_event=te)
    np.testing.assert_allclose(auc, expected, atol=1e-12)
    assert mean == pytest.approx(expected_mean, abs=1e-12)


def test_by_hand():
    """G from the scored data: times 1 (event), 2 (censored), 3 (event), 4 (censored):
    G(1) = 1. At t = 1.5 the only case is subject 0 (risk 2, weight 1); controls are the
    subjects at 2, 3, 4 with risks 2, 1, 3: wins 1/2 + 1 + 0 = 1.5 of 3 -> AUC = 0.5."""
    auc, mean = cumulative_dynamic_auc([2.0, 2.0, 1.0, 3.0], [1.5], [1, 2, 3, 4], [1, 0, 1, 0])
    assert auc[0] == pytest.approx(0.5) and mean == pytest.approx(0.5)


def test_torch_input_and_errors():
    import torch

    risk, times, t, e, tt, te = case(2)
    got, _ = cumulative_dynamic_auc(torch.tensor(risk), times, t, e, train_time=tt, train_event=te)
    np.testing.assert_allclose(got, cumulative_dynamic_auc(risk, times, t, e, train_time=tt, train_event=te)[0])
    with pytest.raises(InvalidParameterError, match=f"AUC is undefined at times \\[{t.max()}\\]"):
        cumulative_dynamic_auc(risk, [2.0, t.max()], t, e)
    with pytest.raises(InvalidParameterError, match="risk must have shape"):
        cumulative_dynamic_auc(risk[:-1], times, t, e)
