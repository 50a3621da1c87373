"""MENSA's Weibull-mixture likelihoods against scipy's Weibull distribution.

References: scipy.stats.weibull_min (logpdf / logsf with c = shape, scale = scale) for one
component and for a mixture written out as log(sum_m w_m f_m); the definitions of eqs. 6-8
of Lillelund et al. (2025) written out in numpy; torch.autograd.gradcheck.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp, softmax
from scipy.stats import weibull_min

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses import (
    trajectory_nll,
    weibull_mixture_log_density,
    weibull_mixture_log_survival,
    weibull_mixture_nll,
)


def _params(n, P, M, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (torch.rand(n, P, M, generator=g, dtype=torch.float64) - 0.5)  # eta in (0.6, 1.65)
    scale = torch.rand(n, P, M, generator=g, dtype=torch.float64) * 2 + 0.5
    logit = torch.randn(n, P, M, generator=g, dtype=torch.float64)
    return shape, scale, logit


def _scipy_mixture(shape, scale, logit, t, what):
    eta, beta, w = np.exp(shape.numpy()), np.exp(scale.numpy()), softmax(logit.numpy(), axis=-1)
    f = weibull_min.logpdf if what == "pdf" else weibull_min.logsf
    return logsumexp(np.log(w) + f(t.numpy()[..., None], eta, scale=beta), axis=-1)


def test_one_component_equals_the_closed_form_weibull_likelihood():
    n = 50
    rng = np.random.default_rng(1)
    t = torch.tensor(rng.weibull(1.7, n) * 3.0)
    d = torch.tensor(rng.integers(0, 2, n)).double()
    k, lam = 1.7, 3.0
    shape = torch.full((n, 1, 1), np.log(k), dtype=torch.float64)
    scale = torch.full((n, 1, 1), np.log(lam), dtype=torch.float64)
    ours = weibull_mixture_nll(shape, scale, torch.zeros_like(shape), t[:, None], d[:, None])
    ref = -(d.numpy() * weibull_min.logpdf(t.numpy(), k, scale=lam)
            + (1 - d.numpy()) * weibull_min.logsf(t.numpy(), k, scale=lam)).sum()
    assert float(ours) == pytest.approx(ref, rel=1e-12)


def test_mixture_density_and_survival_equal_scipy():
    shape, scale, logit = _params(20, 2, 3)
    t = torch.rand(20, 2, dtype=torch.float64) * 4 + 0.01
    np.testing.assert_allclose(weibull_mixture_log_density(shape, scale, logit, t).numpy(),
                               _scipy_mixture(shape, scale, logit, t, "pdf"), rtol=1e-12)
    np.testing.assert_allclose(weibull_mixture_log_survival(shape, scale, logit, t).numpy(),
                               _scipy_mixture(shape, scale, logit, t, "sf"), rtol=1e-12)


def test_multi_event_nll_of_independent_events_is_the_sum_of_per_event_nlls():
    """Eq. 7 with each state's own time: the joint NLL factorises over states."""
    shape, scale, logit = _params(30, 3, 2, seed=3)
    t = torch.rand(30, 3, dtype=torch.float64) * 3 + 0.1
    d = (torch.rand(30, 3, dtype=torch.float64) < 0.5).double()
    joint = weibull_mixture_nll(shape, scale, logit, t, d)
    per = sum(weibull_mixture_nll(shape[:, p:p + 1], scale[:, p:p + 1], logit[:, p:p + 1],
                                  t[:, p:p + 1], d[:, p:p + 1]) for p in range(3))
    assert float(joint) == pytest.approx(float(per), rel=1e-13)
    assert float(weibull_mixture_nll(shape, scale, logit, t, d, reduction="mean")) == pytest.approx(float(joint) / 30)


def test_trajectory_term_is_minus_log_survival_of_b_at_a():
    shape, scale, logit = _params(40, 3, 2, seed=4)
    t = torch.rand(40, 3, dtype=torch.float64) * 3 + 0.1
    d = (torch.rand(40, 3, dtype=torch.float64) < 0.6).double()
    ours = trajectory_nll(shape, scale, logit, t, d, [(0, 1)])
    both = (d[:, 0] * d[:, 1]).numpy()
    ref = -(both * _scipy_mixture(shape[:, 1], scale[:, 1], logit[:, 1], t[:, 0], "sf")).sum()
    assert float(ours) == pytest.approx(ref, rel=1e-12)
    # not S_B(T_B): the later reference-code variant gives a different number
    wrong = -(both * _scipy_mixture(shape[:, 1], scale[:, 1], logit[:, 1], t[:, 1], "sf")).sum()
    assert abs(ref - wrong) > 1e-3


def test_trajectory_term_is_zero_when_no_subject_has_both_events():
    shape, scale, logit = _params(10, 3, 2)
    t = torch.rand(10, 3, dtype=torch.float64) + 0.1
    d = torch.zeros(10, 3, dtype=torch.float64)
    d[:5, 0] = 1
    d[5:, 1] = 1
    assert float(trajectory_nll(shape, scale, logit, t, d, [(0, 1), (1, 0)])) == 0.0


def test_gradcheck_both_losses():
    shape, scale, logit = (p.requires_grad_() for p in _params(6, 3, 2, seed=5))
    t = torch.rand(6, 3, dtype=torch.float64) * 2 + 0.2
    d = torch.tensor([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a, b, c: weibull_mixture_nll(a, b, c, t, d), (shape, scale, logit))
    assert torch.autograd.gradcheck(lambda a, b, c: trajectory_nll(a, b, c, t, d, [(0, 1), (2, 1)]),
                                    (shape, scale, logit))


def test_censoring_at_time_zero_has_a_finite_gradient():
    shape, scale, logit = (p.requires_grad_() for p in _params(3, 1, 2))
    t = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
    d = torch.tensor([[0.0], [1.0], [0.0]], dtype=torch.float64)
    loss = weibull_mixture_nll(shape, scale, logit, t, d)
    loss.backward()
    assert torch.isfinite(shape.grad).all() and torch.isfinite(scale.grad).all()
    assert torch.all(shape.grad[0] == 0)  # S(0) = 1 contributes nothing


def test_bad_inputs_are_named():
    shape, scale, logit = _params(4, 2, 3)
    t = torch.ones(4, 2, dtype=torch.float64)
    with pytest.raises(InvalidParameterError, match="one shape"):
        weibull_mixture_nll(shape, scale[:, :1], logit, t, t)
    with pytest.raises(InvalidParameterError, match=r"time and event must have shape \(4, 2\)"):
        weibull_mixture_nll(shape, scale, logit, t[:, :1], t)
    t0 = t.clone()
    t0[2, 1] = 0.0
    with pytest.raises(InvalidParameterError, match="observed event times must be > 0"):
        weibull_mixture_nll(shape, scale, logit, t0, torch.ones_like(t0))
    with pytest.raises(InvalidParameterError, match="reduction"):
        weibull_mixture_nll(shape, scale, logit, t, t, reduction="none")


def test_a_component_that_overflows_leaves_the_gradient_finite():
    """(t / beta)^eta beyond exp(709) overflowed to inf; log-sum-exp gave that component weight 0
    but its gradient was 0 x inf = NaN, which turned MENSA's weights to NaN (5-component
    mixtures on Rotterdam). Closed form: the component's survival is 0 either way, so the
    likelihood equals the one where it is merely tiny, and the gradient is finite."""
    import torch

    from pysurvbridge.losses import weibull_mixture_nll

    def loss(huge_log_shape):
        log_shape = torch.tensor([[[0.0, huge_log_shape]]], dtype=torch.float64, requires_grad=True)
        log_scale = torch.tensor([[[0.0, -3.0]]], dtype=torch.float64, requires_grad=True)
        logit = torch.tensor([[[0.0, 0.0]]], dtype=torch.float64, requires_grad=True)
        value = weibull_mixture_nll(log_shape, log_scale, logit, torch.tensor([[2.0]], dtype=torch.float64),
                                    torch.tensor([[0.0]], dtype=torch.float64))
        value.backward()
        return value, [p.grad for p in (log_shape, log_scale, logit)]

    overflowing, grads = loss(6.0)   # z = e^6 x (log 2 + 3) = 1500: exp(z) overflows
    tiny, _ = loss(3.0)              # z = e^3 x 3.69 = 74, below the cap: survival exp(-e^74) = 0 too
    assert torch.isfinite(overflowing) and overflowing.item() == tiny.item()
    assert all(torch.isfinite(g).all() for g in grads)


# ---------------------------------------------------------------------- case weights
def _weighted_case(n=30, P=3, M=2, seed=4):
    shape, scale, logit = _params(n, P, M, seed)
    rng = np.random.default_rng(seed)
    t = torch.tensor(rng.uniform(0.2, 3.0, (n, P)))
    d = torch.tensor(rng.binomial(1, 0.5, (n, P)).astype(float))
    return (shape, scale, logit), t, d, rng.integers(1, 4, n)


def _repeat(a, k):
    return torch.tensor(np.repeat(a.numpy(), k, axis=0))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_integer_weights_equal_repeated_subjects(reduction):
    """Closed form: a weight k on a subject is k copies of it (np.repeat over the first axis),
    in both likelihoods; "mean" divides by the sum of the weights = the repeated n."""
    params, t, d, k = _weighted_case()
    w = torch.tensor(k, dtype=torch.float64)
    pairs = [(0, 1), (1, 2)]
    rep = [_repeat(p, k) for p in params]
    nll_w = weibull_mixture_nll(*params, t, d, weights=w, reduction=reduction)
    nll_r = weibull_mixture_nll(*rep, _repeat(t, k), _repeat(d, k), reduction=reduction)
    assert nll_w.item() == pytest.approx(nll_r.item(), rel=1e-12)
    traj_w = trajectory_nll(*params, t, d, pairs, weights=w, reduction=reduction)
    traj_r = trajectory_nll(*rep, _repeat(t, k), _repeat(d, k), pairs, reduction=reduction)
    assert traj_r.item() != 0 and traj_w.item() == pytest.approx(traj_r.item(), rel=1e-12)


def test_weights_against_scipy_and_unit_weights_bit_identical():
    """-sum_i w_i sum_p [d log f + (1 - d) log S] with scipy's Weibull mixture (the module's reference)."""
    params, t, d, k = _weighted_case(n=12)
    log_f = _scipy_mixture(*params, t, "pdf")
    log_s = _scipy_mixture(*params, t, "sf")
    dn = d.numpy()
    expected = -(k[:, None] * (dn * log_f + (1 - dn) * log_s)).sum()
    got = weibull_mixture_nll(*params, t, d, weights=torch.tensor(k * 1.0))
    assert got.item() == pytest.approx(expected, rel=1e-10)
    leaves = [p.clone().requires_grad_() for p in params]
    plain = weibull_mixture_nll(*leaves, t, d, reduction="mean") + trajectory_nll(*leaves, t, d, [(0, 2)])
    g_plain = torch.autograd.grad(plain, leaves)
    ones = torch.ones(12, dtype=torch.float64)
    unit = (weibull_mixture_nll(*leaves, t, d, weights=ones, reduction="mean")
            + trajectory_nll(*leaves, t, d, [(0, 2)], weights=ones))
    g_unit = torch.autograd.grad(unit, leaves)
    assert unit.item() == plain.item() and all(torch.equal(a, b) for a, b in zip(g_unit, g_plain))
    with pytest.raises(InvalidParameterError, match=r"weights must have shape \(12,\)"):
        weibull_mixture_nll(*params, t, d, weights=torch.ones(11))
    with pytest.raises(InvalidParameterError, match=r"in rows \[0\]"):
        trajectory_nll(*params, t, d, [(0, 1)], weights=torch.tensor([-1.0] + [1.0] * 11))
