"""Loss functions: small pure functions on tensors (torchsurv style), no hidden state.

- :mod:`.cox`: ``cox_nll``, the exact Cox negative log partial likelihood (native classical
  engine, DeepSurv, LSTM-Cox) and ``cox_risk_sets``.
- :mod:`.discrete`: Nnet-survival's ``discrete_nll`` (eq. 13) and ``proportional_hazard_logits`` (eq. 8).
- :mod:`.weibull`: MENSA's ``weibull_mixture_nll`` (eqs. 6-7) and ``trajectory_nll`` (eq. 8),
  with the mixture's log survival and log density.
- :mod:`.vae`: CoxVAE's negative beta-``elbo`` (eq. 1) and the Gaussian ``gaussian_kl``.
"""
from pysurvbridge.losses.cox import cox_nll, cox_risk_sets
from pysurvbridge.losses.discrete import discrete_nll, proportional_hazard_logits
from pysurvbridge.losses.vae import elbo, gaussian_kl
from pysurvbridge.losses.weibull import (
    trajectory_nll,
    weibull_mixture_log_density,
    weibull_mixture_log_survival,
    weibull_mixture_nll,
)

__all__ = ["cox_nll", "cox_risk_sets", "discrete_nll", "proportional_hazard_logits",
           "weibull_mixture_nll", "trajectory_nll", "weibull_mixture_log_survival",
           "weibull_mixture_log_density", "elbo", "gaussian_kl"]
