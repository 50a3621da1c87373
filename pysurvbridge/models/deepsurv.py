"""DeepSurv (Katzman et al., 2018): an MLP whose output is the Cox log-risk.

Trained on ``losses.cox_nll`` (Efron ties by default), the same likelihood as the native
classical Cox engine. **Batching.** The Cox partial likelihood of an event compares it with
its whole risk set, so the exact loss needs every subject in the batch: ``fit`` defaults to
``batch_size=None`` (full batch). With a ``batch_size``, each minibatch uses risk sets made of
the subjects in that batch only: a stochastic loss whose expectation is *not* the full
partial likelihood. Each event's denominator sums exp(g) over a random subset (the batch) of
its risk set, and the log of a subsample sum is a biased estimate of the log of the full sum
(Jensen), so minibatch gradients are biased; the bias shrinks as batches grow. README
"DeepSurv" gives the measured size of the effect on a linear model.

**Case weights** (``fit(..., sample_weight=)``): the weighted partial likelihood of R's
``coxph(weights=)`` (:func:`pysurvbridge.losses.cox_nll`; Efron uses the mean weight of the
tied events), per weighted event, and the weighted Breslow baseline.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses import cox_nll
from pysurvbridge.models.base import SurvivalModel
from pysurvbridge.models.baseline import BreslowBaseline
from pysurvbridge.models.networks import check_mlp_args, mlp

__all__ = ["DeepSurv"]


class DeepSurv(SurvivalModel):
    """Neural Cox model: log h(t | x) = log h0(t) + g(x), g an MLP.

    Args:
        hidden: widths of the hidden layers; ``()`` gives the linear Cox model.
        dropout, activation, batch_norm: per hidden layer (see :func:`networks.mlp`).
        ties: "efron" (R's default) or "breslow" in the training loss.
        standardize: centre and scale covariates with the training means and SDs.
        epochs, batch_size, lr, weight_decay, optimizer, validation, patience, device, verbose, random_state:
            the training options (:meth:`SurvivalModel.fit`); ``fit`` keywords of
            the same names override them for one call.

    After ``fit``: ``baseline_`` (:class:`BreslowBaseline` from the training data),
    plus the learned state of :class:`SurvivalModel`.
    """

    name = "deepsurv"
    supports_streaming = False  # the Breslow baseline needs the training data in memory
    _step_survival = True  # Breslow: S(t | x) jumps only at training event times

    def __init__(self, hidden: Sequence[int] = (32, 32), *, dropout: float = 0.1,
                 activation: str = "relu", batch_norm: bool = False, ties: str = "efron",
                 standardize: bool = True, epochs: int = 100, batch_size: int | None = None, lr: float = 1e-3,
                 weight_decay: float = 0.0, optimizer: str = "adam", validation=None, patience: int | None = None,
                 device: str = "auto", verbose: bool = True, random_state=0) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.activation = activation
        self.batch_norm = batch_norm
        self.ties = ties
        self.standardize = standardize
        self._set_training(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
                           validation=validation, patience=patience, device=device, verbose=verbose,
                           random_state=random_state)

    def _check_params(self) -> None:
        if self.ties not in ("efron", "breslow"):
            raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {self.ties!r}")
        check_mlp_args(self.hidden, self.dropout, self.activation)

    def _build_network(self, n_features: int, example: torch.Tensor) -> nn.Module:
        return mlp(n_features, self.hidden, 1, dropout=self.dropout, activation=self.activation,
                   batch_norm=self.batch_norm)

    def _sample_weight_refusal(self) -> None:
        return None

    def _loss(self, output: torch.Tensor, targets: tuple[torch.Tensor, ...],
              weights: torch.Tensor | None = None) -> torch.Tensor:
        time, event = targets
        return cox_nll(output.squeeze(1).to(torch.float64), time, event, ties=self.ties, weights=weights)

    def _loss_share(self, output, targets, part) -> torch.Tensor:
        """fit(distributed=True): the exact partial likelihood of the whole batch, risk sets
        over all processes (``part`` is a :class:`pysurvbridge.distributed.BatchPart`)."""
        time, event = targets
        return part.cox_nll_share(output.squeeze(1).to(torch.float64), time, event, ties=self.ties)

    def _after_fit(self, X, targets, weights=None) -> None:
        time, event = targets
        eta = self.network_(X).squeeze(1).double().cpu().numpy()
        self.baseline_ = BreslowBaseline.fit(eta, time.cpu().numpy(), event.cpu().numpy(),
                                             weights=None if weights is None else weights.cpu().numpy())

    def predict_risk(self, X) -> np.ndarray:
        """(n,) log-risk g(x) (the linear predictor's analogue; higher = earlier events)."""
        return self._output(X).squeeze(1).double().cpu().numpy()

    def _survival_at(self, output: torch.Tensor, times: np.ndarray) -> np.ndarray:
        return self.baseline_.survival(output.squeeze(1).double().cpu().numpy(), times)

    def predict_cumulative_hazard(self, X, times) -> np.ndarray:
        """(n, m) H(t | x) = H0(t) exp(g(x))."""
        eta = self.predict_risk(X)
        return np.outer(np.exp(eta), self.baseline_.cumulative_hazard(np.asarray(times, dtype=np.float64)))

    def _extra_state(self) -> dict[str, torch.Tensor]:
        return self.baseline_.state()

    def _load_extra_state(self, state, fitted) -> None:
        self.baseline_ = BreslowBaseline.from_state(state)
