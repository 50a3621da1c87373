"""The native engine's closed-form score and information are the exact derivatives of cox_nll,
and its score residuals sum to the score (both checked against torch autograd)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pysurvbridge.classical.native import score_and_information, score_residuals
from pysurvbridge.losses import cox_nll


def problem(seed=0, n=200):
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 4, n).astype(float)
    stop = start + rng.integers(1, 5, n)
    return (rng.normal(size=(n, 3)), stop, rng.binomial(1, 0.6, n).astype(float), start,
            rng.integers(0, 3, n))


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("with_start,with_strata", [(False, False), (True, False), (True, True)])
def test_closed_form_derivatives_equal_autograd(ties, with_start, with_strata):
    X, stop, event, start, strata = problem()
    start = start if with_start else None
    strata = strata if with_strata else None
    beta = np.array([0.4, -0.3, 0.1])
    t = lambda a: None if a is None else torch.as_tensor(a, dtype=torch.float64)  # noqa: E731

    def nll(b):
        return cox_nll(t(X) @ b, t(stop), t(event), start=t(start),
                       strata=None if strata is None else torch.as_tensor(strata),
                       ties=ties, reduction="sum")

    b = torch.tensor(beta, requires_grad=True)
    auto_grad = torch.autograd.grad(nll(b), b)[0].numpy()
    auto_hess = torch.autograd.functional.hessian(nll, torch.tensor(beta)).numpy()
    score, info = score_and_information(X, beta, stop, event, start, strata, ties)
    np.testing.assert_allclose(score, -auto_grad, atol=1e-10)
    np.testing.assert_allclose(info, auto_hess, atol=1e-10)
    resid = score_residuals(X, beta, stop, event, start, strata, ties)
    np.testing.assert_allclose(resid.sum(axis=0), score, atol=1e-10)


def test_baseline_from_newton_pass_equals_breslow_baseline():
    from pysurvbridge.classical import fit_pwp
    from pysurvbridge.classical.design import build_problem
    from pysurvbridge.classical.native import breslow_baseline
    from pysurvbridge.data import RecurrentData, load_bladder2

    rec = RecurrentData.from_frame(load_bladder2(), id="id", start="start", stop="stop",
                                   event="event", covariates=["rx", "number", "size"])
    fit = fit_pwp(rec, engine="native")
    pr = build_problem("pwp-total", rec)
    direct = breslow_baseline(pr.X @ fit.coef.to_numpy(), pr.stop, pr.event, pr.start, pr.strata)
    np.testing.assert_allclose(fit.baseline["cumhaz_breslow"], direct["cumhaz"], rtol=1e-12)
    np.testing.assert_array_equal(fit.baseline["time"], direct["time"])
    np.testing.assert_array_equal(fit.baseline["stratum"], direct["stratum"])
