"""discrete_nll (Nnet-survival eq. 13) and the proportional-hazards head (eq. 8).

References: the likelihood written out term by term in numpy (eq. 13 of Gensheimer &
Narasimhan 2019); the actuarial life-table hazard d_j / (d_j + s_j), the closed-form maximiser
of eq. 13 for one group; R glm(binomial(link = "cloglog")) on person-period rows for eq. 8.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pysurvbridge.data.intervals import make_intervals
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses import discrete_nll, proportional_hazard_logits


def test_equals_eq13_written_out():
    rng = np.random.default_rng(0)
    t, e = rng.uniform(0, 30, 50), rng.binomial(1, 0.5, 50)
    s, f = make_intervals(t, e, [0, 10, 20, 30])
    logit = rng.normal(size=(50, 3))
    h = 1 / (1 + np.exp(-logit))
    expected = -(s * np.log(1 - h) + f * np.log(h)).sum()
    got = discrete_nll(torch.tensor(logit), torch.tensor(s), torch.tensor(f), reduction="sum")
    assert got.item() == pytest.approx(expected, rel=1e-12)
    mean = discrete_nll(torch.tensor(logit), torch.tensor(s), torch.tensor(f))
    assert mean.item() == pytest.approx(expected / 50, rel=1e-12)


def test_life_table_hazard_is_the_minimiser():
    rng = np.random.default_rng(1)
    t, e = rng.exponential(15, 400), rng.binomial(1, 0.7, 400)
    s, f = make_intervals(t, e, [0, 5, 10, 20, 40])
    h_hat = f.sum(0) / (f.sum(0) + s.sum(0))  # closed form
    logit = torch.tensor(np.log(h_hat / (1 - h_hat)), requires_grad=True)
    loss = discrete_nll(logit.expand(400, -1), torch.tensor(s), torch.tensor(f), reduction="sum")
    (grad,) = torch.autograd.grad(loss, logit)
    assert grad.abs().max().item() < 1e-9


def test_extreme_logits_stay_finite():
    logit = torch.tensor([[80.0, -80.0], [-200.0, 200.0]], dtype=torch.float32, requires_grad=True)
    s = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = discrete_nll(logit, s, f)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logit.grad).all() and loss.item() < 1e-6


def test_shape_errors():
    with pytest.raises(InvalidParameterError, match=r"survived must have the shape"):
        discrete_nll(torch.zeros(3, 2), torch.zeros(3, 3), torch.zeros(3, 2))
    with pytest.raises(InvalidParameterError, match=r"\(n, J\)"):
        discrete_nll(torch.zeros(3), torch.zeros(3), torch.zeros(3))


def test_proportional_head_formula():
    eta = torch.tensor([0.0, 0.7, -1.3], dtype=torch.float64)
    b = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64)
    h = torch.sigmoid(proportional_hazard_logits(eta, b)).numpy()
    h_base = 1 / (1 + np.exp(-b.numpy()))
    expected = 1 - (1 - h_base)[None, :] ** np.exp(eta.numpy())[:, None]  # eq. 8
    np.testing.assert_allclose(h, expected, rtol=1e-12)


@pytest.mark.r
def test_proportional_head_mle_equals_r_cloglog_glm(r_session):
    """Minimising eq. 13 with the eq. 8 head = a cloglog GLM on person-period rows.

    R: glm(y ~ 0 + interval + x, family = binomial(link = "cloglog"),
           control = glm.control(epsilon = 1e-14)) on one row per subject and interval at risk.
    """
    rng = np.random.default_rng(2)
    n = 600
    x = rng.normal(size=n)
    t = rng.exponential(20 * np.exp(-0.6 * x))
    c = rng.uniform(0, 60, n)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    breaks = [0, 10, 20, 35, 60]
    s, f = make_intervals(time, event, breaks)
    rows = [(j, xi, 1.0 if f[i, j] else 0.0) for i, xi in enumerate(x) for j in range(4) if s[i, j] or f[i, j]]
    pp = pd.DataFrame(rows, columns=["interval", "x", "y"])
    pp["interval"] = pd.Categorical(pp["interval"])
    fam = r_session.call("binomial", link="cloglog", package="stats")
    ctrl = r_session.call("glm.control", epsilon=1e-14, maxit=100, package="stats")
    model = r_session.call("as.formula", "y ~ 0 + interval + x", package="stats")
    fit = r_session.call("glm", model, family=fam, data=r_session.to_r(pp), control=ctrl, package="stats")
    coef = r_session.to_numpy(r_session.call("coef", fit, package="stats"))
    # ours: maximise eq. 13 with the eq. 8 head directly (LBFGS, float64)
    beta = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    base = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    X, S, F = torch.tensor(x), torch.tensor(s), torch.tensor(f)
    opt = torch.optim.LBFGS([beta, base], max_iter=500, tolerance_grad=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = discrete_nll(proportional_hazard_logits(X * beta, base), S, F, reduction="sum")
        loss.backward()
        return loss
    opt.step(closure)
    assert beta.item() == pytest.approx(coef[-1], abs=1e-6)
    # baseline: cloglog(h_base_j) = interval intercept_j
    h_base = torch.sigmoid(base).detach().numpy()
    np.testing.assert_allclose(np.log(-np.log(1 - h_base)), coef[:4], atol=1e-5)  # LBFGS stop: 2e-6 seen


def test_closed_form_gradient_passes_gradcheck():
    """The hand-written backward ((s + f) sigmoid(z) - f) against finite differences."""
    rng = np.random.default_rng(3)
    s, f = make_intervals(rng.uniform(0, 30, 20), rng.binomial(1, 0.5, 20), [0, 10, 20, 30])
    z = torch.tensor(rng.normal(scale=3, size=(20, 3)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: discrete_nll(x, torch.tensor(s), torch.tensor(f)), (z,))


# ---------------------------------------------------------------------- case weights
def _weighted_case(n=40, seed=3):
    rng = np.random.default_rng(seed)
    t, e = rng.uniform(0, 30, n), rng.binomial(1, 0.5, n)
    s, f = make_intervals(t, e, [0, 10, 20, 30])
    return rng.normal(size=(n, 3)), s, f, rng.integers(1, 4, n)


def test_integer_weights_equal_repeated_rows():
    """Closed form: a weight k on a subject is k copies of its row (np.repeat), for "sum" and
    for "mean" (sum of the weights = number of rows of the repeated data)."""
    logit, s, f, k = _weighted_case()
    for reduction in ("sum", "mean"):
        weighted = discrete_nll(torch.tensor(logit), torch.tensor(s), torch.tensor(f),
                                weights=torch.tensor(k, dtype=torch.float64), reduction=reduction)
        repeated = discrete_nll(*(torch.tensor(np.repeat(a, k, axis=0)) for a in (logit, s, f)), reduction=reduction)
        assert weighted.item() == pytest.approx(repeated.item(), rel=1e-12, abs=1e-12)
    # and eq. 13 written out with the weights (the first test's reference)
    h = 1 / (1 + np.exp(-logit))
    expected = -(k[:, None] * (s * np.log(1 - h) + f * np.log(h))).sum() / k.sum()
    got = discrete_nll(torch.tensor(logit), torch.tensor(s), torch.tensor(f), weights=torch.tensor(k * 1.0))
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_unit_weights_are_bit_identical_and_zero_weights_drop_rows():
    logit, s, f, _ = _weighted_case()
    z = torch.tensor(logit, requires_grad=True)
    plain = discrete_nll(z, torch.tensor(s), torch.tensor(f))
    (g_plain,) = torch.autograd.grad(plain, z)
    ones = discrete_nll(z, torch.tensor(s), torch.tensor(f), weights=torch.ones(len(s), dtype=torch.float64))
    (g_ones,) = torch.autograd.grad(ones, z)
    assert ones.item() == plain.item() and torch.equal(g_ones, g_plain)
    keep = np.arange(len(s)) % 3 != 0  # weight 0 = the row left out (closed form)
    w = torch.tensor(keep.astype(float))
    dropped = discrete_nll(*(torch.tensor(a[keep]) for a in (logit, s, f)))
    assert discrete_nll(torch.tensor(logit), torch.tensor(s), torch.tensor(f), weights=w).item() == pytest.approx(
        dropped.item(), rel=1e-12)


def test_bad_weights():
    logit, s, f, _ = _weighted_case(n=4)
    args = (torch.tensor(logit), torch.tensor(s), torch.tensor(f))
    with pytest.raises(InvalidParameterError, match=r"weights must have shape \(4,\)"):
        discrete_nll(*args, weights=torch.ones(3))
    with pytest.raises(InvalidParameterError, match=r"negative, NaN or infinite in rows \[1, 3\]"):
        discrete_nll(*args, weights=torch.tensor([1.0, -1.0, 1.0, float("nan")]))
