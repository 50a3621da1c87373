"""Weibull-mixture likelihoods of MENSA (Lillelund et al. 2025, sections 4.2-4.4).

Parameters come per subject i, state p and mixture component m as tensors of shape
(n, P, M): ``log_shape`` (log eta), ``log_scale`` (log beta, in the unit of ``time``) and
``logit_weight`` (the mixture weights are softmax over m). Component m has
S_m(t) = exp(-(t / beta)^eta) and f_m(t) = (eta / t) (t / beta)^eta S_m(t); the state's
distribution is the mixture (eqs. 4-5), computed in log space with log-sum-exp over m.

**Case weights.** :func:`weibull_mixture_nll` and :func:`trajectory_nll` take ``weights``, (n,)
non-negative, one per subject i: each subject's term (summed over its states, or over the
trajectory pairs) is multiplied by w_i, so integer weights equal repeating the subjects, and
"mean" divides by the sum of the weights instead of n (equal weights give the unweighted
mean). None is every weight 1, computed as without weights.
"""
from __future__ import annotations

from typing import Literal, Sequence

import torch

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses._weights import case_weights, weight_total

__all__ = ["weibull_mixture_log_survival", "weibull_mixture_log_density", "weibull_mixture_nll",
           "trajectory_nll"]

Reduction = Literal["sum", "mean"]


def _check(log_shape: torch.Tensor, log_scale: torch.Tensor, logit_weight: torch.Tensor) -> None:
    if not (log_shape.shape == log_scale.shape == logit_weight.shape):
        raise InvalidParameterError(
            "log_shape, log_scale and logit_weight must have one shape (n, P, M), but have "
            f"{tuple(log_shape.shape)}, {tuple(log_scale.shape)}, {tuple(logit_weight.shape)}")
    if log_shape.dim() < 1:
        raise InvalidParameterError("the mixture parameters need a last axis of components")


#: z is capped here: a component with (t / beta)^eta = exp(z) above exp(80) has survival
#: exp(-exp(80)) = 0 in any float precision, so the likelihood does not change, but exp(z)
#: stays finite and its gradient, weighted 0 by log-sum-exp, stays 0 instead of 0 x inf = NaN
#: (which poisoned MENSA's weights within a batch or two for 5-component mixtures)
Z_MAX = 80.0


def _z(log_shape: torch.Tensor, log_scale: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
    """z = eta (log t - log beta), so (t / beta)^eta = exp(z), capped at :data:`Z_MAX`;
    ``time`` broadcasts over m."""
    log_t = torch.log(time.to(log_shape.dtype)).unsqueeze(-1)
    return torch.clamp(torch.exp(log_shape) * (log_t - log_scale), max=Z_MAX)


def weibull_mixture_log_survival(log_shape: torch.Tensor, log_scale: torch.Tensor,
                                 logit_weight: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
    """log S(t) = logsumexp_m [log w_m - (t / beta_m)^eta_m] (eq. 5); shape of ``time``
    (the parameters without their last axis). t = 0 gives log S = 0."""
    _check(log_shape, log_scale, logit_weight)
    log_w = torch.log_softmax(logit_weight, dim=-1)
    return torch.logsumexp(log_w - torch.exp(_z(log_shape, log_scale, time)), dim=-1)


def weibull_mixture_log_density(log_shape: torch.Tensor, log_scale: torch.Tensor,
                                logit_weight: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
    """log f(t) = logsumexp_m [log w_m + log eta_m - log t + z_m - exp(z_m)] (eq. 4), t > 0."""
    _check(log_shape, log_scale, logit_weight)
    log_w = torch.log_softmax(logit_weight, dim=-1)
    z = _z(log_shape, log_scale, time)
    log_t = torch.log(time.to(log_shape.dtype)).unsqueeze(-1)
    return torch.logsumexp(log_w + log_shape - log_t + z - torch.exp(z), dim=-1)


def _reduce(total: torch.Tensor, n: int, reduction: Reduction, w: torch.Tensor | None = None) -> torch.Tensor:
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / max(n, 1) if w is None else total / weight_total(w)
    raise InvalidParameterError(f"reduction must be 'sum' or 'mean', but was {reduction!r}")


def _per_subject(w: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(n,) weights shaped to broadcast over ``like``'s axes after the first."""
    return w.reshape(w.shape[0], *([1] * (like.dim() - 1)))


def _targets(time: torch.Tensor, event: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if tuple(time.shape) != tuple(like.shape[:-1]) or tuple(event.shape) != tuple(like.shape[:-1]):
        raise InvalidParameterError(
            f"time and event must have shape {tuple(like.shape[:-1])} (n, P), but have "
            f"{tuple(time.shape)} and {tuple(event.shape)}")
    return time.to(like.dtype), event.to(like.dtype)


def weibull_mixture_nll(log_shape: torch.Tensor, log_scale: torch.Tensor, logit_weight: torch.Tensor,
                        time: torch.Tensor, event: torch.Tensor, *, weights: torch.Tensor | None = None,
                        reduction: Reduction = "sum") -> torch.Tensor:
    """Negative log-likelihood over states: -sum_i sum_p [d_ip log f_p(t_ip) + (1 - d_ip) log S_p(t_ip)].

    ``time`` and ``event`` are (n, P). With one observed time repeated over the states this
    is eq. 6 (competing risks, or a single event, with the censoring state as a state of its
    own); with each state's own observed time it is eq. 7 (multi-event, with the event-free
    state). Observed times (``event == 1``) must be > 0 (a Weibull density at 0 is 0 or
    infinite). ``weights``: (n,) case weights, -sum_i w_i sum_p [...] (see the module
    docstring). ``reduction``: "sum", or "mean" over subjects (divided by n, or by the sum of
    the weights).
    """
    t, d = _targets(time, event, log_shape)
    w = None if weights is None else case_weights(weights, t.shape[0], log_shape)
    observed = d > 0
    if bool((observed & (t <= 0)).any()):
        raise InvalidParameterError("observed event times must be > 0 for a Weibull density")
    # log t stays finite where a term is unused (f of the censored; S at t = 0, where log S = 0
    # exactly but autograd would give 0 * inf = NaN)
    log_f = weibull_mixture_log_density(log_shape, log_scale, logit_weight,
                                        torch.where(observed, t, torch.ones_like(t)))
    zero = t <= 0
    log_s = weibull_mixture_log_survival(log_shape, log_scale, logit_weight,
                                         torch.where(zero, torch.ones_like(t), t))
    log_s = torch.where(zero, torch.zeros_like(log_s), log_s)
    per = torch.where(observed, d * log_f, torch.zeros_like(log_f)) + (1.0 - d) * log_s
    if w is not None:
        per = per * _per_subject(w, per)
    return _reduce(-per.sum(), t.shape[0], reduction, w)


def trajectory_nll(log_shape: torch.Tensor, log_scale: torch.Tensor, logit_weight: torch.Tensor,
                   time: torch.Tensor, event: torch.Tensor, trajectories: Sequence[tuple[int, int]], *,
                   weights: torch.Tensor | None = None, reduction: Reduction = "sum") -> torch.Tensor:
    """The trajectory term (eq. 8): -sum_i sum_(A, B) d_iA d_iB log S_B(T_iA).

    For every ordered pair (A, B) of state indices (A known to precede B), each subject with
    both events observed adds -log of the survival of B at A's time: it pushes the model to
    say B has not happened yet when A happens. The paper evaluates S_B at T_A; a later
    refactor of the public reference code evaluates S_B(T_B), which this function does not.
    Zero when no subject has both events of a pair. ``time``/``event`` (n, P), ``weights``
    (n,) (-sum_i w_i sum_(A, B) [...]) and ``reduction`` as :func:`weibull_mixture_nll`.
    """
    t, d = _targets(time, event, log_shape)
    w = None if weights is None else case_weights(weights, t.shape[0], log_shape)
    total = log_shape.new_zeros(())
    for a, b in trajectories:
        both = d[:, a] * d[:, b]
        if w is not None:
            both = both * w
        log_s_b = weibull_mixture_log_survival(log_shape[:, b], log_scale[:, b], logit_weight[:, b], t[:, a])
        total = total - (both * log_s_b).sum()
    return _reduce(total, t.shape[0], reduction, w)
