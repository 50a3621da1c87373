"""pycox's EvalSurv where its conventions coincide with ours.

pycox estimates G from the scored data with a Kaplan-Meier that keeps censorings at risk at
tied event times, and looks predicted curves up on their index. With continuous times (no ties)
and curves given exactly at the grid, its Brier score is ours (G(T_i) = G(T_i-) then), and
its Antolini time-dependent C equals Harrell's C for curves that never cross. pycox's
integrated Brier score is not compared: it calls scipy.integrate.simps, removed in SciPy 1.14.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.metrics import brier_score, concordance_harrell


def continuous_case(seed=0, n=400):
    rng = np.random.default_rng(seed)
    t, e = rng.exponential(5, n), rng.binomial(1, 0.6, n)
    return t, e, rng.uniform(0.05, 0.4, n)


def test_brier_equals_pycox_eval_surv():
    from pycox.evaluation import EvalSurv

    t, e, rate = continuous_case()
    times = np.array([1.0, 2.0, 4.0, 7.0, 10.0])
    S = np.exp(-np.outer(rate, times))
    expected = EvalSurv(pd.DataFrame(S.T, index=times), t, e, censor_surv="km").brier_score(times).to_numpy()
    for weight_at in ("t", "t-"):
        np.testing.assert_allclose(brier_score(S, times, t, e, censoring_weight_at=weight_at), expected, atol=1e-12)


def test_harrell_equals_pycox_antolini_for_proportional_curves():
    from pycox.evaluation import EvalSurv

    t, e, rate = continuous_case(1)
    grid = np.sort(t)
    S = np.exp(-np.outer(rate, grid))
    expected = EvalSurv(pd.DataFrame(S.T, index=grid), t, e, censor_surv="km").concordance_td("antolini")
    assert concordance_harrell(rate, t, e) == pytest.approx(expected, abs=1e-12)
