"""The beta-VAE objective (Kingma & Welling 2014; Higgins et al. 2017): CoxVAE's eq. 1."""
from __future__ import annotations

import math
from typing import Literal

import torch

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses._weights import case_weights, weight_total

__all__ = ["elbo", "gaussian_kl"]


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(n,) KL(N(mu, diag exp(logvar)) || N(0, I)) = 0.5 sum_j (mu_j^2 + s_j^2 - 1 - log s_j^2)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def elbo(x: torch.Tensor, decoded: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *,
         beta: float = 1.0, reconstruction: Literal["gaussian", "bernoulli"] = "gaussian",
         sd: float = 1.0, weights: torch.Tensor | None = None,
         reduction: Literal["mean", "sum", "none"] = "mean") -> torch.Tensor:
    """Negative beta-ELBO: -log p(x | z) + beta KL(q(z | x) || N(0, I)) per subject (eq. 1),
    with one sample z behind ``decoded``.

    Args:
        x: (n, D) data. decoded: (n, D) decoder output for a sample z ~ q(z | x): the mean of
            a Gaussian with standard deviation ``sd`` ("gaussian": -log p = sum (x - m)^2 /
            (2 sd^2) + D log(sd sqrt(2 pi))), or logits of independent Bernoullis
            ("bernoulli", x in [0, 1]: binary cross-entropy, the usual choice for grey images).
        mu, logvar: (n, L) the encoder's posterior mean and log variance.
        beta: weight of the KL term. reduction: "mean" or "sum" over subjects, or "none" (n,).
        weights: (n,) non-negative case weights, one per subject. A weight multiplies the
            subject's whole negative ELBO, reconstruction and beta KL alike (the ELBO is a sum
            of per-subject terms, so integer weights equal repeating the subjects): "sum" is
            sum_i w_i ELBO_i, "mean" divides it by sum_i w_i (equal weights give the
            unweighted mean), "none" gives the (n,) weighted terms w_i ELBO_i. None: every
            weight 1, computed as without weights.
    """
    if x.shape != decoded.shape or x.dim() != 2:
        raise InvalidParameterError(f"x and decoded must have one shape (n, D), but have {tuple(x.shape)} "
                                    f"and {tuple(decoded.shape)}")
    if mu.shape != logvar.shape or mu.shape[0] != x.shape[0]:
        raise InvalidParameterError(f"mu and logvar must be (n, L) with n = {x.shape[0]}, but are "
                                    f"{tuple(mu.shape)} and {tuple(logvar.shape)}")
    if reconstruction == "gaussian":
        if not sd > 0:
            raise InvalidParameterError(f"sd must be positive, but was {sd!r}")
        nll = ((x - decoded) ** 2).sum(dim=1) / (2 * sd ** 2) + x.shape[1] * math.log(sd * math.sqrt(2 * math.pi))
    elif reconstruction == "bernoulli":
        nll = torch.nn.functional.binary_cross_entropy_with_logits(decoded, x, reduction="none").sum(dim=1)
    else:
        raise InvalidParameterError(f"reconstruction must be 'gaussian' or 'bernoulli', but was {reconstruction!r}")
    per = nll + beta * gaussian_kl(mu, logvar)
    if reduction not in ("mean", "sum", "none"):
        raise InvalidParameterError(f"reduction must be 'mean', 'sum' or 'none', but was {reduction!r}")
    w = case_weights(weights, x.shape[0], per)
    if w is not None:
        per = per * w
        return per if reduction == "none" else per.sum() if reduction == "sum" else per.sum() / weight_total(w)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.mean()
