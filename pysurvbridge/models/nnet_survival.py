"""Nnet-survival (Gensheimer & Narasimhan, PeerJ 2019): a discrete-time survival network.

Follow-up is cut at ``breaks`` into J intervals; the network outputs, for each subject, the
conditional hazard h_j of failing in interval j given survival to its start, and is trained by
minibatch SGD on the discrete likelihood (``losses.discrete_nll``, the paper's eq. 13), whose
cost is O(batch x J): no risk sets, so any batch size is exact.

Heads (on top of ``network``, or of an MLP of ``hidden`` layers, or directly on the covariates):

- ``"flexible"``: one sigmoid output per interval; hazards free to differ in shape between
  subjects (non-proportional).
- ``"proportional"``: a bias-free linear unit eta = x'beta and learned baseline log-odds b_j,
  with ``1 - h_j = (1 - sigmoid(b_j))^exp(eta)`` (eq. 8): a discrete proportional-hazards
  (complementary log-log) model.

Survival between breaks assumes a constant hazard inside each interval, so S is log-linear:
``S(t) = S(a_{j-1}) (1 - h_j)^((t - a_{j-1}) / (a_j - a_{j-1}))`` for a_{j-1} <= t <= a_j; at
the breaks it is exactly the paper's product of (1 - h). Times after the last break are
refused (the model says nothing there).

**Case weights** (``fit(..., sample_weight=)``): each subject's weight multiplies its terms of
eq. 13 and the mean is over the sum of the weights (:func:`pysurvbridge.losses.discrete_nll`),
in the fused step too, so integer weights equal repeating the subjects. Quantile breaks
(``breaks`` an int) and the default ``horizon`` come from the weighted event times
(:func:`weighted_quantile`), which do not change when every weight is multiplied by one
constant; integer weights then give breaks near, not equal to, those of the repeated times
(give ``breaks`` as an array where that matters).
"""
from __future__ import annotations

import copy
import warnings
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from pysurvbridge.data.intervals import breaks_event_quantiles, check_breaks, interval_counts, interval_masks
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses import discrete_nll, proportional_hazard_logits
from pysurvbridge.models.base import SurvivalModel
from pysurvbridge.models.fused_step import FusedDiscreteStep
from pysurvbridge.models.networks import check_mlp_args, mlp

__all__ = ["NnetSurvival", "ProportionalHead", "weighted_quantile"]

HEADS = ("flexible", "proportional")


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles ``q`` of ``values`` with case weights, unchanged when all weights are multiplied
    by one constant: the weights are rescaled to sum to n = len(values), and value i fills the
    next w_i places of the sorted sample of n places, read as numpy's default ("linear")
    quantile reads its sample. Equal weights give ``np.quantile(values, q)`` itself; weights
    that are already integers summing to n give ``np.quantile(np.repeat(values, weights), q)``
    (e.g. 2 on one value, 0 on another)."""
    w = np.asarray(weights, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if w.size and np.all(w == w[0]):
        return np.quantile(np.asarray(values, dtype=np.float64), q)
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, dtype=np.float64)[order]
    w = w[order]
    total = float(len(v))
    cum = np.cumsum(w) * (total / w.sum())
    h = (total - 1) * q  # numpy's virtual index of "linear", (n - 1) q
    below = np.floor(h)
    gamma = h - below
    last = max(total - 1, 0.0)
    lo, hi = np.clip(below, 0, last), np.clip(below + 1, 0, last)
    lo[h >= last], hi[h >= last] = last, last
    # the value at place k of the sorted sample: the one whose w_i places [cum_i - w_i, cum_i) hold k
    place = lambda k: v[np.minimum(np.searchsorted(cum, k, side="right"), len(v) - 1)]  # noqa: E731
    a, b = place(lo), place(hi)
    diff = b - a
    out = a + diff * gamma  # numpy's _lerp, with its turn for gamma >= 0.5
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), out)


def _weighted_quantile_breaks(time, event, weights, n_intervals: int) -> np.ndarray:
    """:func:`breaks_event_quantiles` of the weighted event times (see :func:`weighted_quantile`)."""
    observed = np.asarray(event).astype(bool)
    t, w = np.asarray(time, dtype=np.float64)[observed], np.asarray(weights, dtype=np.float64)[observed]
    if t.size == 0:
        return breaks_event_quantiles(time, event, n_intervals)  # its error
    q = weighted_quantile(t, w, np.linspace(0, 1, int(n_intervals) + 1)[1:])
    q[-1] = np.nextafter(q[-1], np.inf)  # as breaks_event_quantiles: the last event inside the last interval
    return check_breaks(np.unique(np.concatenate([[0.0], q[q > 0]])))


class ProportionalHead(nn.Module):
    """(batch, width) features -> (batch, J) hazard logits under eq. 8 (see module docstring)."""

    def __init__(self, width: int, n_intervals: int) -> None:
        super().__init__()
        self.linear = nn.Linear(width, 1, bias=False)
        self.baseline_logit = nn.Parameter(torch.zeros(n_intervals))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return proportional_hazard_logits(self.linear(features), self.baseline_logit)


class NnetSurvival(SurvivalModel):
    """Discrete-time neural survival model.

    Args:
        breaks: (J+1,) increasing interval boundaries from 0 in the time unit of the data
            (see :mod:`pysurvbridge.data.intervals` for the paper's spacings), or an int J:
            breaks at the quantiles of the training event times.
        head: "flexible" or "proportional" (see the module docstring).
        network: an ``nn.Module`` mapping (batch, p) inputs to (batch, width) features, e.g.
            :func:`networks.small_cnn` for images; the head is added on top. It is deep-copied
            at each fit, so the module passed here is never trained in place.
        reset_network: re-initialise the copied ``network`` under ``fit``'s seed (every
            submodule with ``reset_parameters``), so fits are reproducible; False keeps its
            weights (e.g. a pretrained feature extractor).
        hidden, dropout, activation: an MLP body used when ``network`` is None; ``hidden=()``
            puts the head directly on the covariates (the paper's "no hidden layer" model).
        horizon: the time at which :meth:`predict_risk` ranks subjects (1 - S(horizon));
            None = the break nearest the median training event time.
        standardize: centre and scale covariates with the training means and SDs.
        fused_step: train a network of Linear and ReLU layers with the flexible head through
            the hand-written gradient of :mod:`pysurvbridge.models.fused_step` (same result as
            autograd to float rounding, about 2x faster for small networks on CPU); False, or
            any other network, trains through autograd.
        epochs, batch_size, lr, weight_decay, optimizer, validation, patience, device, verbose, random_state:
            the training options (:meth:`SurvivalModel.fit`); ``fit`` keywords of
            the same names override them for one call.
    """

    name = "nnet-survival"

    def __init__(self, breaks: Sequence[float] | int = 19, *, head: str = "flexible",
                 network: nn.Module | None = None, hidden: Sequence[int] = (), dropout: float = 0.0,
                 activation: str = "relu", horizon: float | None = None,
                 standardize: bool = True, reset_network: bool = True, fused_step: bool = True,
                 epochs: int = 100, batch_size: int | None = None, lr: float = 1e-3, weight_decay: float = 0.0,
                 optimizer: str = "adam", validation=None, patience: int | None = None, device: str = "auto",
                 verbose: bool = True, random_state=0) -> None:
        self.breaks = breaks
        self.head = head
        self.network = network
        self.hidden = hidden
        self.dropout = dropout
        self.activation = activation
        self.horizon = horizon
        self.standardize = standardize
        self.reset_network = reset_network
        self.fused_step = fused_step
        self._set_training(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
                           validation=validation, patience=patience, device=device, verbose=verbose,
                           random_state=random_state)

    def _check_params(self) -> None:
        if self.head not in HEADS:
            raise InvalidParameterError(f"head must be one of {HEADS}, but was {self.head!r}")
        if isinstance(self.breaks, (int, np.integer)):
            if self.breaks < 1:
                raise InvalidParameterError(f"breaks as a number of intervals must be >= 1, but was {self.breaks!r}")
        else:
            check_breaks(self.breaks)
        if self.network is not None and not isinstance(self.network, nn.Module):
            raise InvalidParameterError(
                f"network must be a torch.nn.Module or None, but was {type(self.network).__name__}")
        check_mlp_args(self.hidden, self.dropout, self.activation)

    # ------------------------------------------------------------------ training hooks
    def _fit(self, data, **kwargs) -> "NnetSurvival":
        """See :meth:`SurvivalModel.fit`. Sets ``breaks_`` and ``horizon_`` first."""
        from pysurvbridge.data.events import SurvivalData

        in_memory = isinstance(data, SurvivalData)
        weights = kwargs.get("sample_weight")
        if weights is not None and np.all(weights == weights[0]):
            weights = None  # equal weights: the unweighted breaks and horizon (weighted_quantile's rule)
        if isinstance(self.breaks, (int, np.integer)):
            if not in_memory:
                raise InvalidParameterError("with streamed minibatches give breaks as an array "
                                            "(quantile breaks need the event times up front)")
            if weights is None:
                self.breaks_ = breaks_event_quantiles(data.time, data.event, int(self.breaks))
            else:
                self.breaks_ = _weighted_quantile_breaks(data.time, data.event, weights, int(self.breaks))
        else:
            self.breaks_ = check_breaks(self.breaks)
        self._breaks_on_device = None
        if self.horizon is not None:
            self.horizon_ = float(self.horizon)
        elif in_memory and data.n_events:
            observed = data.event == 1
            med = float(np.median(data.time[observed]) if weights is None
                        else weighted_quantile(data.time[observed], weights[observed], np.array([0.5]))[0])
            self.horizon_ = float(self.breaks_[1:][np.argmin(np.abs(self.breaks_[1:] - med))])
        else:
            self.horizon_ = float(self.breaks_[len(self.breaks_) // 2])
        self._fused_step = None  # chosen at the first batch, once the network exists
        try:
            return super()._fit(data, **kwargs)
        finally:
            self._fused_step = None  # holds the layers: not part of the fitted model

    def _build_network(self, n_features: int, example: torch.Tensor) -> nn.Module:
        if self.network is not None:
            body = copy.deepcopy(self.network)
            if self.reset_network:
                for module in body.modules():
                    if hasattr(module, "reset_parameters"):
                        module.reset_parameters()
        elif len(self.hidden):
            body = mlp(n_features, self.hidden, None, dropout=self.dropout, activation=self.activation)
        else:
            body = nn.Identity()
        with torch.no_grad():
            was_training = body.training
            body.eval()
            features = body(example)
            body.train(was_training)
        if features.dim() != 2:
            raise InvalidParameterError(
                f"network must map (batch, {n_features}) inputs to (batch, width) features, but gave "
                f"{tuple(features.shape)}")
        J = len(self.breaks_) - 1
        width = features.shape[1]
        with warnings.catch_warnings():  # no covariates: torch warns that a (J, 0) init is a no-op
            warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
            head = nn.Linear(width, J) if self.head == "flexible" else ProportionalHead(width, J)
        return nn.Sequential(body, head)

    def _targets(self, time: torch.Tensor, event: torch.Tensor) -> tuple[torch.Tensor, ...]:
        breaks = getattr(self, "_breaks_on_device", None)
        if breaks is None or breaks.device != time.device or breaks.dtype != time.dtype:
            breaks = torch.as_tensor(self.breaks_, dtype=time.dtype, device=time.device)
            self._breaks_on_device = breaks
        return interval_counts(time, event, breaks)  # two integers per subject, see interval_masks

    def _train_step(self, inputs, targets: tuple[torch.Tensor, ...], weights: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """Plain Linear/ReLU networks with the flexible head train with the hand-written
        gradient of :mod:`.fused_step` (``fused_step=True``); anything else through autograd."""
        if bool(getattr(self, "fused_step", True)) and self._fused_step is None:
            self._fused_step = FusedDiscreteStep.for_network(self.network_) or False
        if self._fused_step:
            return self._fused_step(inputs, *targets) if weights is None else self._fused_step(inputs, *targets,
                                                                                                 weights=weights)
        return super()._train_step(inputs, targets, weights)

    def _sample_weight_refusal(self) -> None:
        return None

    def _loss(self, output: torch.Tensor, targets: tuple[torch.Tensor, ...],
              weights: torch.Tensor | None = None) -> torch.Tensor:
        survived, failed = interval_masks(*targets, output.shape[1], output.dtype)
        return discrete_nll(output, survived, failed, weights=weights)

    # ------------------------------------------------------------------ prediction
    def predict_interval_hazard(self, X) -> pd.DataFrame:
        """h_ij: (n, J) conditional hazards, columns labelled by each interval's [start, end)."""
        h = torch.sigmoid(self._output(X).double()).cpu().numpy()
        b = self.breaks_
        cols = [f"[{lo:g}, {hi:g})" for lo, hi in zip(b[:-1], b[1:])]
        return pd.DataFrame(h, index=X.index if isinstance(X, pd.DataFrame) else None, columns=cols)

    def _survival_at(self, output: torch.Tensor, times: np.ndarray) -> np.ndarray:
        b = self.breaks_
        if (times > b[-1]).any():
            raise InvalidParameterError(
                f"times {times[times > b[-1]][:3].tolist()} are after the last break {b[-1]:g}; "
                "the model predicts survival only up to it")
        log_surv = torch.nn.functional.logsigmoid(-output.double()).cpu().numpy()  # log(1 - h), (n, J)
        cum = np.concatenate([np.zeros((len(log_surv), 1)), np.cumsum(log_surv, axis=1)], axis=1)
        j = np.clip(np.searchsorted(b, times, side="right") - 1, 0, len(b) - 2)  # interval of t
        frac = (times - b[j]) / (b[j + 1] - b[j])
        return np.exp(cum[:, j] + log_surv[:, j] * frac)

    @property
    def unique_times_(self) -> np.ndarray:
        """The distinct training times up to the last break (the model says nothing after
        it), or the breaks after a streamed fit."""
        self._check_fitted()
        if self.train_time_ is None:
            return np.asarray(self.breaks_)
        times = np.unique(self.train_time_)
        return times[times <= self.breaks_[-1]]

    def predict_risk(self, X, horizon: float | None = None) -> np.ndarray:
        """(n,) 1 - S(horizon | x); ``horizon`` defaults to ``horizon_`` (set in fit)."""
        t = self.horizon_ if horizon is None else float(horizon)
        return 1.0 - self.predict_survival(X, [t]).to_numpy()[:, 0]

    # ------------------------------------------------------------------ persistence
    def _fitted_facts(self) -> dict:
        return {"breaks": np.asarray(self.breaks_).tolist(), "horizon": self.horizon_}

    def _load_extra_state(self, state, fitted) -> None:
        self.breaks_ = np.asarray(fitted["breaks"], dtype=np.float64)
        self.horizon_ = float(fitted["horizon"])
