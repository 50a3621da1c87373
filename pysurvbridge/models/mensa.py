"""MENSA (Lillelund, Qi, Greiner and Pedersen 2025): a multi-event network of Weibull mixtures.

A shared MLP Phi(x) (Linear -> BatchNorm -> ReLU6 -> Dropout per hidden layer, section 5.1)
feeds, for every state p, a mixture of ``n_dists`` Weibull distributions (section 4.2):
log beta_pm = b_pm + SELU(Phi(x)' zeta_pm) (eq. 2), log eta_pm = c_pm + SELU(Phi(x)' xi_pm)
(eq. 3), weights softmax(Phi(x)' omega_p) (eqs. 4-5). The states are the K events plus one
extra state: the event-free state in multi-event mode, the censoring state in competing-risks
and single-event mode. Training minimises (NLL + trajectory term) / N (Algorithm 1): the NLL is
eq. 6 (competing risks / single event: one observed time, the censoring state observed when no
event is) or eq. 7 (multi-event: each state its own time; the event-free state's time is the
first observed event time when there is one, else the last follow-up, and it is observed
only when no event occurred, section 4.1); the trajectory term is eq. 8 with -log S_B(T_A)
(:func:`pysurvbridge.losses.trajectory_nll`).

Departures from the public reference code (github thecml/mensa), on purpose: early stopping
restores a *copy* of the best epoch's weights (the reference keeps a reference to the live
``state_dict()``, so it never restores); the trajectory term uses S_B(T_A) as the paper (a
later refactor there uses S_B(T_B)); evaluation uses every event's own training data (see
``benchmarks/mensa_rotterdam.py``). Times are divided internally by ``time_unit_`` (the mean
observed time) so that the initial Weibull scale is of the data's order; predictions are in
the data's unit.

**Out of core.** ``fit`` also takes a re-iterable source of ``(X, times (b, K), events (b, K))``
minibatches, e.g. ``ParquetMinibatches(..., time=[...], event=[...])`` (``(X, time (b,),
event (b,))`` in mode "single"). One pass before training learns K, the event names (the
source's ``event_names`` when it has them), ``time_unit_`` and the checks of in-memory data;
with ``standardize`` the shared loop makes one more for the scaler. Each batch becomes its
state targets by :meth:`MENSA.state_targets`' rule, and a batch of fewer than two rows joins
the one before it, as in memory (BatchNorm).

**Case weights** (``fit(..., sample_weight=)``, in-memory data only): one weight per subject
multiplies its terms of eqs. 6-8 (:func:`pysurvbridge.losses.weibull_mixture_nll` and
:func:`~pysurvbridge.losses.trajectory_nll`), and the loss is divided by the sum of the
weights instead of N; ``time_unit_`` is the weighted mean observed time. BatchNorm's batch
statistics in training mode are not weighted (as in any network): with hidden layers a
frequency-weighted fit and a fit on repeated subjects differ through them, not through the
loss.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from pysurvbridge.data.events import MultiEventData, SurvivalData, topological_order
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.estimator import (
    check_not_container,
    multi_event_target,
    multi_event_training_data,
)
from pysurvbridge.losses import (
    trajectory_nll,
    weibull_mixture_log_density,
    weibull_mixture_log_survival,
    weibull_mixture_nll,
)
from pysurvbridge.models.base import SurvivalModel
from pysurvbridge.models.batches import (
    iterate_multi_event_batches,
    merge_small_batches,
    split_validation,
)
from pysurvbridge.models.networks import check_mlp_args

__all__ = ["MENSA", "MENSANetwork"]

MODES = ("multi", "competing", "single")


class MENSANetwork(nn.Module):
    """(batch, p) covariates -> (batch, 3, P, M): log shape, log scale (internal time unit) and
    mixture logits of M Weibull components for each of P states. ``shared=False`` gives every
    state its own MLP (the paper's ablation, section 7.1)."""

    def __init__(self, n_features: int, hidden: Sequence[int], n_states: int, n_dists: int,
                 dropout: float, shared: bool, dtype: torch.dtype) -> None:
        super().__init__()
        self.n_states, self.n_dists, self.shared = n_states, n_dists, shared
        n_bodies = 1 if shared else n_states
        self.bodies = nn.ModuleList([_body(n_features, hidden, dropout) for _ in range(n_bodies)])
        width = hidden[-1] if hidden else n_features
        per_body = 3 * n_dists * (n_states if shared else 1)
        with warnings.catch_warnings():  # no covariates: zero-width heads, only the biases learn
            warnings.filterwarnings("ignore", "Initializing zero-element tensors")
            self.heads = nn.ModuleList([nn.Linear(width, per_body, bias=False) for _ in range(n_bodies)])
        self.log_shape_bias = nn.Parameter(torch.zeros(n_states, n_dists))
        self.log_scale_bias = nn.Parameter(torch.zeros(n_states, n_dists))
        self.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.log_shape_bias.dtype)
        P, M = self.n_states, self.n_dists
        if self.shared:
            raw = self.heads[0](self.bodies[0](x)).reshape(-1, 3, P, M)
        else:
            raw = torch.stack([h(b(x)).reshape(-1, 3, M) for b, h in zip(self.bodies, self.heads)], dim=2)
        act = nn.functional.selu
        return torch.stack([self.log_shape_bias + act(raw[:, 0]), self.log_scale_bias + act(raw[:, 1]),
                            raw[:, 2]], dim=1)


def _body(n_features: int, hidden: Sequence[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU6()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    return nn.Sequential(*layers)


class MENSA(SurvivalModel):
    """Multi-event Weibull-mixture network (see the module docstring for the equations).

    Args:
        n_dists: Weibull components per state (the paper's Psi; 3 for Rotterdam).
        hidden: widths of the shared MLP's layers ((32,) in the paper); ``()`` puts the heads
            on the covariates directly.
        dropout: after each hidden layer.
        trajectories: ordered pairs (A, B) of event indices or names: A precedes B whenever
            both are observed (eq. 8); multi-event mode only. Must not contain a cycle.
        mode: "multi" (K >= 2 events, not exclusive, with the event-free state), "competing"
            (K exclusive causes at one observed time, with the censoring state) or "single"
            (one event with the censoring state).
        shared: one MLP for all states (True, the paper) or one per state.
        standardize: z-score the covariates with the training means and SDs.
        dtype: float64 (the paper's precision, the default) or float32.

    After ``fit``: ``event_names_``, ``n_states_``, ``time_unit_``, ``trajectory_index_``,
    ``n_params_``, ``train_times_``/``train_events_`` (n, K; None after a streamed fit), and
    the loop's state.
    """

    name = "mensa"
    min_batch_rows = 2  # BatchNorm
    in_memory_types = (MultiEventData, SurvivalData)

    def __init__(self, n_dists: int = 3, hidden: Sequence[int] = (32,), dropout: float = 0.25,
                 trajectories: Sequence[tuple] = (), mode: str = "multi", shared: bool = True, *,
                 standardize: bool = True, dtype: str = "float64", epochs: int = 100, batch_size: int | None = None,
                 lr: float = 1e-3, weight_decay: float = 0.0, optimizer: str = "adam", validation=None,
                 patience: int | None = None, device: str = "auto", verbose: bool = True, random_state=0) -> None:
        self.n_dists = n_dists
        self.hidden = hidden
        self.dropout = dropout
        self.trajectories = trajectories
        self.mode = mode
        self.shared = shared
        self.standardize = standardize
        self.dtype = dtype
        self._set_training(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
                           validation=validation, patience=patience, device=device, verbose=verbose,
                           random_state=random_state)

    def _check_params(self) -> None:
        mode, trajectories = self.mode, list(self.trajectories)
        if mode not in MODES:
            raise InvalidParameterError(f"mode must be one of {list(MODES)}, but was {mode!r}")
        if not isinstance(self.n_dists, (int, np.integer)) or self.n_dists < 1:
            raise InvalidParameterError(f"n_dists must be a positive integer, but was {self.n_dists!r}")
        check_mlp_args(self.hidden, self.dropout, "relu")  # sizes >= 1, dropout in [0, 1)
        if self.dtype not in ("float64", "float32"):
            raise InvalidParameterError(f"dtype must be 'float64' or 'float32', but was {self.dtype!r}")
        if trajectories and mode != "multi":
            raise InvalidParameterError(f"trajectories need mode='multi' (both events of a pair must be "
                                        f"observable), but mode was {mode!r}")
        if any(len(p) != 2 for p in trajectories):
            raise InvalidParameterError(f"trajectories must be pairs (A, B), but were {trajectories}")

    def _training_data(self, X, y):
        """``fit(X, y)``: in mode "single" ``y`` as for every single-event model; otherwise K
        (event, time) pairs (:func:`pysurvbridge.estimator.multi_event_target`)."""
        if y is None or self.mode == "single":
            return super()._training_data(X, y)
        check_not_container(X)
        return multi_event_training_data(X, y)

    # ------------------------------------------------------------------ data checks
    def _as_multi(self, data) -> MultiEventData:
        if isinstance(data, SurvivalData):
            if self.mode != "single":
                raise InvalidParameterError(f"a SurvivalData holds one event: use mode='single' (mode was {self.mode!r})")
            return MultiEventData(data.time[:, None], data.event[:, None], data.X, data.covariates,
                                  ("event",), data.ids)
        if not isinstance(data, MultiEventData):
            raise InvalidParameterError(f"MENSA needs a MultiEventData (or a SurvivalData with mode='single'), "
                                        f"but got {type(data).__name__}")
        return data

    def _check_data(self, data: MultiEventData) -> None:
        self._check_event_count(data.n_event_types, "the data have")
        self._check_rows(np.asarray(data.times), np.asarray(data.events), "")
        self._check_observed(np.asarray(data.events).sum(axis=0), data.event_names, "the training data")

    def _check_event_count(self, K: int, holder: str) -> None:
        if self.mode == "multi" and K < 2:
            raise InvalidParameterError(f"mode='multi' needs at least two event types, but {holder} K = 1; "
                                        "use mode='single'")
        if self.mode == "single" and K != 1:
            raise InvalidParameterError(f"mode='single' needs one event type, but {holder} K = {K}")

    def _check_rows(self, times: np.ndarray, events: np.ndarray, where: str) -> None:
        """Row checks of (n, K) times and events; ``where`` (e.g. "minibatch 3: ") prefixes the rows."""
        if self.mode == "competing":
            spread = np.ptp(times, axis=1) > 0
            several = events.sum(axis=1) > 1
            bad = spread | several
            if bad.any():
                raise InvalidSurvivalDataError(
                    f"{where}mode='competing' needs one observed time and at most one cause per subject "
                    f"(MultiEventData.from_competing_risks); rows {np.flatnonzero(bad)[:5].tolist()} differ")
        zero = (events == 1) & (times <= 0)
        if zero.any():
            rows = np.flatnonzero(zero.any(axis=1))[:5].tolist()
            raise InvalidSurvivalDataError(f"{where}observed event times must be > 0 (a Weibull density at 0 is 0 "
                                           f"or infinite); rows {rows} have an event at time 0")

    def _check_observed(self, counts: np.ndarray, names: Sequence[str], holder: str) -> None:
        none = [names[k] for k in range(len(names)) if counts[k] == 0]
        if none:
            raise InvalidSurvivalDataError(f"event {none[0]!r} has no observed events in {holder} "
                                           "(its event column is all zero)")

    def _trajectory_index(self, names: Sequence[str]) -> tuple[tuple[int, int], ...]:
        K = len(names)

        def index(v) -> int:
            if isinstance(v, str):
                if v not in names:
                    raise InvalidParameterError(f"trajectory names event {v!r}, which is not one of {list(names)}")
                return names.index(v)
            if not isinstance(v, (int, np.integer)) or not 0 <= v < K:
                raise InvalidParameterError(f"trajectory names event {v!r}, which does not exist (events 0..{K - 1})")
            return int(v)

        pairs = tuple((index(a), index(b)) for a, b in self.trajectories)
        if any(a == b for a, b in pairs):
            raise InvalidParameterError(f"a trajectory pair must name two different events, got {list(self.trajectories)}")
        if topological_order(K, pairs) is None:
            raise InvalidParameterError(f"trajectories {list(self.trajectories)} contain a cycle")
        return pairs

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None, **options) -> "MENSA":
        """Train on multi-event data: ``X`` with ``y`` (K (event, time) pairs; one pair in mode
        "single"), a MultiEventData, a SurvivalData in mode "single", or a re-iterable source of
        minibatches (see the module docstring); ``sample_weight`` (one per subject) and keyword
        arguments as :meth:`SurvivalModel.fit` (``validation`` may be a fraction or a
        MultiEventData). Returns self."""
        return super().fit(X, y, sample_weight, **options)

    def _fit(self, data, **kwargs) -> "MENSA":
        if not isinstance(data, self.in_memory_types):
            return self._fit_stream(data, **kwargs)
        data = self._as_multi(data)
        self._check_data(data)
        validation = kwargs.get("validation")
        if getattr(validation, "weights", None) is not None:
            raise InvalidParameterError("MENSA takes no validation container with case weights of its own (they would "
                                        "be lost in its multi-event form); give validation as a fraction of the "
                                        "weighted training data, or a container without weights")
        if isinstance(validation, (MultiEventData, SurvivalData)):
            validation = self._as_multi(validation)
            if validation.n_event_types != data.n_event_types:
                raise InvalidSurvivalDataError(f"validation has {validation.n_event_types} event types, the "
                                               f"training data {data.n_event_types}")
            kwargs["validation"] = validation
        self.event_names_ = tuple(data.event_names)
        self.n_states_ = data.n_event_types + 1
        self.trajectory_index_ = self._trajectory_index(self.event_names_)
        super()._fit(data, **kwargs)
        self.train_times_, self.train_events_ = np.asarray(data.times), np.asarray(data.events)
        if self.mode == "single":  # the IPCW weights of score()
            self.train_time_, self.train_event_ = self.train_times_[:, 0], self.train_events_[:, 0]
        self.n_params_ = sum(p.numel() for p in self.network_.parameters())
        return self

    def _fit_stream(self, source, **kwargs) -> "MENSA":
        """Out-of-core training: one pass for K, names, time unit and checks, then the loop."""
        if isinstance(source, (str, bytes, pd.DataFrame, np.ndarray, torch.Tensor)) or not hasattr(source, "__iter__"):
            raise InvalidParameterError(f"MENSA needs a MultiEventData (or a SurvivalData with mode='single') or a "
                                        f"re-iterable source of minibatches, but got {type(source).__name__}")
        if iter(source) is source:
            raise InvalidParameterError(
                "data is a one-shot iterator (e.g. a generator); training needs a source it can iterate once "
                "per epoch, such as a torch DataLoader or ParquetMinibatches")
        if kwargs.get("distributed"):
            raise InvalidParameterError("distributed=True needs the training data in memory, not a stream "
                                        f"({type(source).__name__})")
        validation = kwargs.get("validation")
        if validation is not None and not isinstance(validation, (MultiEventData, SurvivalData)):
            raise InvalidParameterError(
                "with streamed minibatches, MENSA's validation set must be a MultiEventData (or a SurvivalData "
                f"with mode='single'): a fraction cannot be held out of a stream; got {type(validation).__name__}")
        K, names, self.time_unit_ = self._scan_stream(source)
        if validation is not None:
            validation = self._as_multi(validation)
            if validation.n_event_types != K:
                raise InvalidSurvivalDataError(f"validation has {validation.n_event_types} event types, the "
                                               f"streamed training data {K}")
            kwargs["validation"] = validation
        self.event_names_ = names
        self.n_states_ = K + 1
        self.trajectory_index_ = self._trajectory_index(self.event_names_)
        super()._fit(source, **kwargs)
        self.train_times_ = self.train_events_ = None
        self.n_params_ = sum(p.numel() for p in self.network_.parameters())
        return self

    def _scan_stream(self, source) -> tuple[int, tuple[str, ...], float]:
        """(K, event names, time unit) from one pass over the source, with the checks of
        :meth:`_check_data` (rows named by minibatch)."""
        K, counts, observed_sum, n_observed = None, None, 0.0, 0
        for k, batch in enumerate(iterate_multi_event_batches(source, None, None)):
            T, E = batch.time.numpy(), batch.event.numpy()
            if K is None:
                K = T.shape[1]
                self._check_event_count(K, "the source gives")
                counts = np.zeros(K)
            self._check_rows(T, E, f"minibatch {k + 1}: ")
            counts += E.sum(axis=0)
            observed_sum += float(T[E == 1].sum())
            n_observed += int((E == 1).sum())
        if K is None:
            raise InvalidSurvivalDataError("the data source is empty: it gave no minibatches")
        names = getattr(source, "event_names", None)
        if names is None or len(names) != K:
            names = ("event",) if K == 1 else tuple(f"event{k + 1}" for k in range(K))
        names = tuple(str(v) for v in names)
        self._check_observed(counts, names, "the source")
        return K, names, observed_sum / n_observed

    def _stream_inputs(self, source):
        return (batch.X for batch in iterate_multi_event_batches(source, None, None, len(self.event_names_)))

    def _streamed_batches(self, source, dev: torch.device):
        """(X, state targets) per minibatch, as :meth:`_prepare` makes them in memory; a batch
        of fewer than ``min_batch_rows`` rows joins the one before it."""
        batches = iterate_multi_event_batches(source, self.n_features_, self.scaler_, len(self.event_names_))
        for batch in merge_small_batches(batches, self.min_batch_rows):
            t, e = self._state_arrays(batch.time.numpy(), batch.event.numpy())
            yield batch.X.to(dev), (torch.from_numpy(t / self.time_unit_).to(dev), torch.from_numpy(e).to(dev))

    def _split(self, data: MultiEventData, validation, seed: int):
        if isinstance(validation, MultiEventData):
            return data, validation
        return split_validation(data, validation, seed)

    def _learn_inputs(self, train: MultiEventData, weights: np.ndarray | None = None) -> torch.Tensor:
        seen = train.events == 1
        observed = train.times[seen]
        if weights is None:
            self.time_unit_ = float(observed.mean()) if observed.size else float(train.times.mean())
        else:  # the weighted mean: integer weights give that of the repeated subjects
            w = np.broadcast_to(np.asarray(weights, dtype=np.float64)[:, None], train.times.shape)
            self.time_unit_ = (float((w[seen] * observed).sum() / w[seen].sum()) if observed.size
                               else float((w * train.times).sum() / w.sum()))
        return super()._learn_inputs(train, weights)

    def state_targets(self, data: MultiEventData) -> tuple[np.ndarray, np.ndarray]:
        """(time, event) of shape (n, K + 1) in the data's unit: the K events, then the extra
        state (event-free in multi mode, censoring otherwise; see the module docstring)."""
        return self._state_arrays(np.asarray(data.times, dtype=np.float64), np.asarray(data.events, dtype=np.float64))

    def _state_arrays(self, T: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`state_targets` of (n, K) float64 times and 0/1 events."""
        none = E.sum(axis=1) == 0
        if self.mode == "multi":
            first = np.where(E == 1, T, np.inf).min(axis=1)
            extra_t = np.where(none, T.max(axis=1), first)
        else:
            extra_t = T[:, 0]
        return np.column_stack([T, extra_t]), np.column_stack([E, none.astype(np.float64)])

    def _prepare(self, data: MultiEventData, dev: torch.device):
        data = self._as_multi(data)  # a SurvivalData validation set beside a stream (mode "single")
        X = torch.from_numpy(np.array(data.X, dtype=np.float32))
        if self.scaler_ is not None:
            X = self.scaler_.transform(X)
        t, e = self.state_targets(data)
        return X.to(dev), (torch.from_numpy(t / self.time_unit_).to(dev), torch.from_numpy(e).to(dev))

    def _build_network(self, n_features: int, example: torch.Tensor) -> nn.Module:
        return MENSANetwork(n_features, check_mlp_args(self.hidden, self.dropout, "relu"), self.n_states_,
                            int(self.n_dists), self.dropout,
                            self.shared, getattr(torch, self.dtype))

    def _sample_weight_refusal(self) -> None:
        return None

    def _loss(self, output: torch.Tensor, targets: tuple[torch.Tensor, ...],
              weights: torch.Tensor | None = None) -> torch.Tensor:
        time, event = targets
        params = (output[:, 0], output[:, 1], output[:, 2])
        total = weibull_mixture_nll(*params, time, event, weights=weights)
        if self.trajectory_index_:
            total = total + trajectory_nll(*params, time, event, self.trajectory_index_, weights=weights)
        return total / time.shape[0] if weights is None else total / weights.to(total.dtype).sum()

    # ------------------------------------------------------------------ prediction
    def _params(self, X) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if isinstance(X, (MultiEventData, SurvivalData)):
            X = X.X
        out = self._output(X)
        return out[:, 0], out[:, 1], out[:, 2]

    def _state_log_survival(self, params, times: np.ndarray) -> torch.Tensor:
        """(n, P, m) log S_p(t) at ``times`` (data unit)."""
        shape, scale, logit = params
        t = torch.as_tensor(np.asarray(times, dtype=np.float64) / self.time_unit_, device=shape.device)
        n, P, m = shape.shape[0], shape.shape[1], t.shape[0]
        tt = t.to(shape.dtype).reshape(1, 1, m).expand(n, P, m)
        expand = (lambda a: a.unsqueeze(2).expand(n, P, m, a.shape[-1]))
        return weibull_mixture_log_survival(expand(shape), expand(scale), expand(logit), tt)

    def _check_times(self, times) -> np.ndarray:
        grid = np.asarray(times, dtype=np.float64).ravel()
        if grid.size == 0 or not np.isfinite(grid).all() or (grid < 0).any():
            raise InvalidParameterError(f"times must be non-negative finite values, but were {grid[:5].tolist()}")
        return grid

    def predict_weibull_parameters(self, X) -> dict[str, np.ndarray]:
        """Each subject's mixtures: "shape" eta, "scale" beta (data unit) and "weight" (softmax),
        arrays (n, K + 1, n_dists), states in the order of :meth:`state_targets`."""
        self._check_fitted()
        with torch.no_grad():
            shape, scale, logit = self._params(X)
        return {"shape": torch.exp(shape).cpu().numpy(),
                "scale": torch.exp(scale).cpu().numpy() * self.time_unit_,
                "weight": torch.softmax(logit, dim=-1).cpu().numpy()}

    def predict_survival_array(self, X, times: Sequence[float], *, include_extra_state: bool = False) -> np.ndarray:
        """(n, K, m) marginal S_k(t | x) of each event at ``times`` (data unit); with
        ``include_extra_state`` (n, K + 1, m), the event-free / censoring state last."""
        self._check_fitted()
        grid = self._check_times(times)
        with torch.no_grad():
            log_s = self._state_log_survival(self._params(X), grid)
        S = torch.exp(log_s).cpu().numpy()
        return S if include_extra_state else S[:, :-1]

    def predict_survival(self, X, times: Sequence[float]) -> dict[str, pd.DataFrame] | pd.DataFrame:
        """One DataFrame per event name (rows subjects, X's index for a DataFrame; columns
        times); in mode "single" the one DataFrame itself, like the single-event models."""
        grid = self._check_times(times)
        S = self.predict_survival_array(X, grid)
        index = X.index if isinstance(X, pd.DataFrame) else None
        frames = {name: pd.DataFrame(S[:, k], index=index, columns=pd.Index(grid, name="time"))
                  for k, name in enumerate(self.event_names_)}
        return frames[self.event_names_[0]] if self.mode == "single" else frames

    def predict_median_time(self, X) -> pd.DataFrame:
        """(n, K) median of each event's predicted distribution (S_k(t) = 0.5, found by
        bisection on log t, 80 halvings: relative precision below 1e-12); +inf where the
        curve stays above 0.5 for all t below 1e8 time units."""
        self._check_fitted()
        with torch.no_grad():
            shape, scale, logit = self._params(X)
            shape, scale, logit = shape[:, :-1], scale[:, :-1], logit[:, :-1]
            n, K = shape.shape[:2]
            lo = torch.full((n, K), np.log(1e-8), dtype=shape.dtype, device=shape.device)
            hi = torch.full((n, K), np.log(1e8), dtype=shape.dtype, device=shape.device)
            above = weibull_mixture_log_survival(shape, scale, logit, torch.exp(hi)) > np.log(0.5)
            for _ in range(80):
                mid = (lo + hi) / 2
                s_mid = weibull_mixture_log_survival(shape, scale, logit, torch.exp(mid))
                right = s_mid > np.log(0.5)
                lo, hi = torch.where(right, mid, lo), torch.where(right, hi, mid)
            med = torch.exp((lo + hi) / 2) * self.time_unit_
            med = torch.where(above, torch.full_like(med, np.inf), med)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(med.cpu().numpy(), index=index, columns=list(self.event_names_))

    def predict_risk(self, X) -> np.ndarray:
        """(n, K) risk of each event: minus the log median time (higher = earlier); (n,) in
        mode "single"."""
        risk = -np.log(self.predict_median_time(X).to_numpy())
        return risk[:, 0] if self.mode == "single" else risk

    def predict_cumulative_incidence(self, X, times: Sequence[float], *, steps: int = 2000) -> np.ndarray:
        """(n, K, m) cumulative incidence of each cause, competing mode only:
        CIF_k(t) = int_0^t f_k(u) prod_{j != k} S_j(u) du with the causes' latent times
        independent given x (the model's assumption), by the trapezoid rule on ``steps``
        points from 0 to max(times)."""
        self._check_fitted()
        if self.mode != "competing":
            raise InvalidParameterError(f"cumulative incidence is defined for mode='competing', not {self.mode!r}")
        grid = self._check_times(times)
        u = np.linspace(0.0, grid.max(), steps + 1)[1:]
        with torch.no_grad():
            shape, scale, logit = (p[:, :-1] for p in self._params(X))
            n, K, M = shape.shape
            ut = torch.as_tensor(u / self.time_unit_, dtype=shape.dtype, device=shape.device)
            expand = (lambda a: a.unsqueeze(2).expand(n, K, len(u), M))
            tt = ut.reshape(1, 1, -1).expand(n, K, len(u))
            log_s = weibull_mixture_log_survival(expand(shape), expand(scale), expand(logit), tt)
            log_f = weibull_mixture_log_density(expand(shape), expand(scale), expand(logit), tt)
            integrand = torch.exp(log_f + log_s.sum(dim=1, keepdim=True) - log_s) / self.time_unit_
        g = integrand.cpu().numpy()
        du = np.diff(np.concatenate([[0.0], u]))
        # the density at 0 may be infinite (shape < 1): the first panel uses its right end
        cum = np.cumsum(np.concatenate([g[..., :1] * du[0], (g[..., 1:] + g[..., :-1]) / 2 * du[1:]], axis=-1), axis=-1)
        k = np.searchsorted(u, grid, side="right") - 1
        out = np.where(k >= 0, cum[..., np.clip(k, 0, None)], 0.0)
        return out

    def flops_per_sample(self, convention: str = "fvcore") -> float:
        """Floating-point operations of one eval-mode forward pass per subject, counted by
        torch's FlopCounterMode (matrix products, 2 per multiply-add). ``convention="fvcore"``
        halves it: fvcore (used by the paper's Fig. 12) counts one per multiply-add."""
        from torch.utils.flop_counter import FlopCounterMode

        self._check_fitted()
        if convention not in ("fvcore", "torch"):
            raise InvalidParameterError(f"convention must be 'fvcore' or 'torch', but was {convention!r}")
        x = torch.zeros((2, self.n_features_), device=self.device_)
        self.network_.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            self.network_(x)
        total = counter.get_total_flops() / 2
        return total / 2 if convention == "fvcore" else total

    def score(self, X, y=None) -> float:
        """Harrell's C in mode "single" (as every single-event model); otherwise the global C
        (MENSA's eq. 10: the mean over events of each event's Harrell's C, on predicted median
        times). ``X`` with ``y`` (K (event, time) pairs), or a container without ``y``."""
        from pysurvbridge import metrics

        if self.mode == "single":
            return super().score(X, y)
        if y is None:
            data = self._as_multi(X)
            X, times, events = data.X, data.times, data.events
        else:
            events, times, _ = multi_event_target(y)
        return float(metrics.concordance_global(self.predict_risk(X), times, events))

    def _survival_matrix(self, X, times: np.ndarray) -> np.ndarray:
        S = self.predict_survival_array(X, times)
        return S[:, 0] if self.mode == "single" else S

    @property
    def unique_times_(self) -> np.ndarray:
        """The distinct training times of all events (the grid of
        :meth:`predict_survival_function`); a streamed fit keeps none."""
        self._check_fitted()
        if self.train_times_ is None:
            raise InvalidParameterError("this MENSA was fitted on a stream and keeps no training times; call "
                                        "predict_survival_array(X, times) at the times you need")
        return np.unique(self.train_times_)

    def evaluate(self, data: MultiEventData | SurvivalData, times=None) -> dict[str, float]:
        """Global and local C (on predicted median times) of ``data``; in mode "single" the
        single-event evaluation (Harrell's C and the IPCW integrated Brier score)."""
        from pysurvbridge import metrics

        if self.mode == "single" and isinstance(data, SurvivalData):
            return super().evaluate(data, times)
        data = self._as_multi(data)
        risk = self.predict_risk(data.X)
        out = {"c_global": metrics.concordance_global(risk, data.times, data.events)}
        if data.n_event_types > 1:
            out["c_local"] = metrics.concordance_local(risk, data.times, data.events)
        out["n"] = float(len(data))
        return out

    # ------------------------------------------------------------------ persistence
    def _fitted_facts(self) -> dict:
        return {"event_names": list(self.event_names_), "time_unit": self.time_unit_,
                "trajectory_index": [list(p) for p in self.trajectory_index_]}

    def _extra_state(self) -> dict[str, torch.Tensor]:
        if self.train_times_ is None:  # a streamed fit
            return {}
        return {"train.times": torch.from_numpy(np.array(self.train_times_)),
                "train.events": torch.from_numpy(np.array(self.train_events_))}

    def _load_extra_state(self, state, fitted) -> None:
        self.event_names_ = tuple(fitted["event_names"])
        self.n_states_ = len(self.event_names_) + 1
        self.time_unit_ = float(fitted["time_unit"])
        self.trajectory_index_ = tuple(tuple(p) for p in fitted["trajectory_index"])
        self.train_times_ = state["train.times"].numpy() if "train.times" in state else None
        self.train_events_ = state["train.events"].numpy() if "train.events" in state else None
        self.n_params_ = None

    @classmethod
    def load(cls, path, **kwargs) -> "MENSA":
        model = super().load(path, **kwargs)
        model.n_params_ = sum(p.numel() for p in model.network_.parameters())
        return model
