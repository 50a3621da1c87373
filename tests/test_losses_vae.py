"""The beta-VAE objective (CoxVAE eq. 1) against independent references.

References: torch.distributions' Normal-Normal KL (an independent implementation of the
closed form); scipy.stats.norm.logpdf for the Gaussian reconstruction term; the Bernoulli
log-likelihood x log p + (1 - x) log(1 - p) written out with scipy.special.expit;
torch.autograd.gradcheck.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import expit
from scipy.stats import norm

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses import elbo, gaussian_kl


def _inputs(n=5, D=4, L=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, D, generator=g, dtype=torch.float64)
    dec = torch.randn(n, D, generator=g, dtype=torch.float64)
    mu = torch.randn(n, L, generator=g, dtype=torch.float64)
    logvar = torch.randn(n, L, generator=g, dtype=torch.float64) * 0.5
    return x, dec, mu, logvar


def test_kl_equals_torch_distributions():
    _, _, mu, logvar = _inputs()
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = torch.distributions.kl_divergence(q, p).sum(dim=1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), ref, rtol=1e-12, atol=1e-12)


def test_gaussian_reconstruction_is_minus_the_normal_log_density():
    x, dec, mu, logvar = _inputs()
    for sd in (1.0, 0.3):
        ours = elbo(x, dec, mu, logvar, beta=0.0, sd=sd, reduction="none").numpy()
        ref = -norm.logpdf(x.numpy(), loc=dec.numpy(), scale=sd).sum(axis=1)
        np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_bernoulli_reconstruction_and_beta():
    x, logits, mu, logvar = _inputs()
    p = expit(logits.numpy())
    recon = -(x.numpy() * np.log(p) + (1 - x.numpy()) * np.log(1 - p)).sum(axis=1)
    kl = gaussian_kl(mu, logvar).numpy()
    ours = elbo(x, logits, mu, logvar, beta=2.5, reconstruction="bernoulli", reduction="none").numpy()
    np.testing.assert_allclose(ours, recon + 2.5 * kl, rtol=1e-12)
    assert float(elbo(x, logits, mu, logvar, reconstruction="bernoulli", reduction="sum")) == pytest.approx(
        (recon + kl).sum(), rel=1e-12)
    assert float(elbo(x, logits, mu, logvar, reconstruction="bernoulli")) == pytest.approx((recon + kl).mean(), rel=1e-12)


def test_gradcheck():
    x, dec, mu, logvar = _inputs(n=3, D=3, L=2)
    dec, mu, logvar = (t.requires_grad_() for t in (dec, mu, logvar))
    for kind in ("gaussian", "bernoulli"):
        assert torch.autograd.gradcheck(lambda a, b, c: elbo(x, a, b, c, reconstruction=kind, beta=0.7), (dec, mu, logvar))


def test_bad_inputs():
    x, dec, mu, logvar = _inputs()
    with pytest.raises(InvalidParameterError, match="one shape"):
        elbo(x, dec[:, :2], mu, logvar)
    with pytest.raises(InvalidParameterError, match="mu and logvar"):
        elbo(x, dec, mu[:2], logvar)
    with pytest.raises(InvalidParameterError, match="reconstruction"):
        elbo(x, dec, mu, logvar, reconstruction="poisson")
    with pytest.raises(InvalidParameterError, match="sd must be positive"):
        elbo(x, dec, mu, logvar, sd=0.0)


# ---------------------------------------------------------------------- case weights
@pytest.mark.parametrize("kind", ["gaussian", "bernoulli"])
def test_integer_weights_equal_repeated_subjects(kind):
    """Closed form: a weight k multiplies the subject's whole negative ELBO, i.e. k copies of
    the subject (np.repeat); "mean" divides by the sum of the weights = the repeated n."""
    x, dec, mu, logvar = _inputs(n=7)
    k = np.array([1, 3, 2, 1, 4, 2, 1])
    w = torch.tensor(k, dtype=torch.float64)
    rep = [torch.tensor(np.repeat(a.numpy(), k, axis=0)) for a in (x, dec, mu, logvar)]
    for reduction in ("sum", "mean"):
        got = elbo(x, dec, mu, logvar, beta=0.7, reconstruction=kind, weights=w, reduction=reduction)
        ref = elbo(*rep, beta=0.7, reconstruction=kind, reduction=reduction)
        assert got.item() == pytest.approx(ref.item(), rel=1e-12)
    per = elbo(x, dec, mu, logvar, beta=0.7, reconstruction=kind, reduction="none")
    np.testing.assert_allclose(elbo(x, dec, mu, logvar, beta=0.7, reconstruction=kind, weights=w,
                                    reduction="none").numpy(), k * per.numpy(), rtol=1e-15)


def test_unit_weights_are_bit_identical():
    x, dec, mu, logvar = _inputs()
    for dtype in (torch.float64, torch.float32):
        leaves = [t.to(dtype).requires_grad_() for t in (dec, mu, logvar)]
        plain = elbo(x.to(dtype), *leaves, beta=0.5)
        unit = elbo(x.to(dtype), *leaves, beta=0.5, weights=torch.ones(5, dtype=torch.float64))
        g_plain, g_unit = torch.autograd.grad(plain, leaves), torch.autograd.grad(unit, leaves)
        assert unit.dtype == dtype and unit.item() == plain.item()
        assert all(torch.equal(a, b) for a, b in zip(g_unit, g_plain))
    with pytest.raises(InvalidParameterError, match=r"weights must have shape \(5,\)"):
        elbo(x, dec, mu, logvar, weights=torch.ones(2))
    with pytest.raises(InvalidParameterError, match=r"NaN or infinite in rows \[2\]"):
        elbo(x, dec, mu, logvar, weights=torch.tensor([1.0, 1.0, float("inf"), 1.0, 1.0]))
