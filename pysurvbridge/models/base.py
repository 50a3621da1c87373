"""The shared estimator shape and training loop of every neural model.

``SurvivalModel`` is a scikit-learn estimator: hyper-parameters *and* training options
(``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``optimizer``, ``validation``,
``patience``, ``device``, ``verbose``, ``random_state``) are constructor parameters stored
unchanged, so ``get_params``/``set_params``/``clone`` and ``GridSearchCV`` work; they are
checked in ``fit``, which learns state ending in ``_``. ``fit`` takes scikit-learn's
``(X, y)`` (``y`` as scikit-survival's structured array, a two-column DataFrame or an
``(event, time)`` tuple), one of the package's containers, or a minibatch source; keyword
arguments named like the training options override them for that call.

A subclass says how to build its network, turn (time, event) into loss targets, compute the
loss, and predict; the loop here does the rest: device choice, seeding, data moved to the
device once, minibatches, early stopping on a validation set (best weights copied and
restored), a tqdm bar, a clear error when the loss becomes NaN or infinite, and save/load
(JSON config + a state_dict read back with ``weights_only=True``).
"""
from __future__ import annotations

import copy
import inspect
import json
import math
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from torch import nn

from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.fingerprint import data_fingerprint, hash_arrays
from pysurvbridge.errors import (
    InvalidParameterError,
    InvalidSurvivalDataError,
    TrainingError,
)
from pysurvbridge.estimator import (
    NotFittedError,
    SurvivalAnalysisMixin,
    check_not_container,
    is_xy_input,
    training_data,
)
from pysurvbridge.models.batches import (
    StandardScaler,
    iterate_batches,
    split_validation,
    stream_fingerprint,
    validation_rows,
)
from pysurvbridge.models.checkpoint import Checkpoint, check_checkpoint_args
from pysurvbridge.models.training import TrainingLog, make_optimizer, resolve_device

__all__ = ["SurvivalModel", "TRAINING_OPTIONS", "TRAINING_DEFAULTS"]

#: the training options every neural model takes in its constructor (and ``fit`` as overrides)
TRAINING_DEFAULTS: dict[str, Any] = dict(epochs=100, batch_size=None, lr=1e-3, weight_decay=0.0, optimizer="adam",
                                         validation=None, patience=None, device="auto", verbose=True,
                                         random_state=0)
TRAINING_OPTIONS = tuple(TRAINING_DEFAULTS)
#: per-call ``fit`` keywords beside the training options
FIT_ONLY = ("seed", "distributed", "checkpoint", "checkpoint_every")

#: rows per forward pass at prediction time (bounds memory, not results)
PREDICT_CHUNK = 65536
CONFIG_FILE, STATE_FILE = "config.json", "state.pt"


class SurvivalModel(SurvivalAnalysisMixin, BaseEstimator):
    """Base class: subclasses implement ``_build_network``, ``_targets``, ``_loss`` and
    ``_survival_at``, and may override ``_after_fit`` (e.g. a Breslow baseline),
    ``_check_params`` (the constructor's values, checked at fit) and ``predict_risk``. Their
    ``__init__`` lists every hyper-parameter and the training options of
    :data:`TRAINING_OPTIONS` and stores them unchanged (``_set_training``).

    Learned state after ``fit``: ``network_`` (the torch module, in eval mode), ``device_``,
    ``covariates_`` (names, when fitted on a SurvivalData), ``n_features_``, ``scaler_``
    (training means and standard deviations, when ``standardize``), ``history_`` (a
    DataFrame: epoch, train_loss, val_loss), ``best_epoch_``, ``train_time_``/``train_event_``
    (for IPCW weights in :meth:`evaluate`; None after a streamed fit), ``n_features_in_`` and,
    after ``fit(X, y)`` with a DataFrame, ``feature_names_in_`` (scikit-learn's names).
    """

    #: the name ``compare()`` and saved configs use
    name = "survival-model"
    #: whether ``fit`` accepts an iterable of minibatches (out-of-core training)
    supports_streaming = True
    #: a shuffled epoch's last minibatch smaller than this joins the one before it
    #: (BatchNorm cannot train on a single row)
    min_batch_rows = 1

    # ------------------------------------------------------------------ subclass hooks
    def _build_network(self, n_features: int, example: torch.Tensor) -> nn.Module:
        raise NotImplementedError

    def _targets(self, time: torch.Tensor, event: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Loss targets from (n,) float64 time and (n,) event on the training device."""
        return (time, event)

    def _train_step(self, inputs, targets: tuple[torch.Tensor, ...], weights: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """One batch's loss with the parameters' gradients set (the optimizer steps next);
        ``weights``: the batch's (rows,) float64 case weights, or None (an unweighted fit)."""
        loss = self._weighted_loss(self._forward(inputs), targets, weights)
        loss.backward()
        return loss

    def _loss(self, output: torch.Tensor, targets: tuple[torch.Tensor, ...],
              weights: torch.Tensor | None = None) -> torch.Tensor:
        """The batch's loss; a model that accepts ``sample_weight`` (see
        :meth:`_sample_weight_refusal`) takes the batch's (rows,) case weights as ``weights``."""
        raise NotImplementedError

    def _weighted_loss(self, output, targets: tuple[torch.Tensor, ...], weights: torch.Tensor | None):
        """:meth:`_loss`, given ``weights`` only when there are some (a subclass written before
        case weights keeps its two-argument ``_loss``)."""
        return self._loss(output, targets) if weights is None else self._loss(output, targets, weights)

    def _sample_weight_refusal(self) -> str | None:
        """Why this model cannot train with ``fit(..., sample_weight=)``, or None when it can (its
        :meth:`_loss`, :meth:`_train_step` and :meth:`_after_fit` take the case weights)."""
        return "its loss takes no case weights"

    def _row_weights(self, data, weights: np.ndarray) -> np.ndarray:
        """The case weight of each row :meth:`_prepare` makes of ``data`` from the weights of
        its subjects (in the order of the data's subjects); the same for one row per subject."""
        return weights

    def _n_subjects(self, data) -> int:
        """How many subjects ``data`` (an in-memory container) holds: the length of ``sample_weight``."""
        return len(data)

    def _after_fit(self, inputs, targets: tuple[torch.Tensor, ...], weights: torch.Tensor | None = None) -> None:
        """Called after in-memory training (eval mode, no grad) with the training inputs and
        targets from :meth:`_prepare` (and the rows' case weights, only when the fit has some)."""

    def _after_stream_fit(self, source: Iterable) -> None:
        """Called after streamed training (eval mode, no grad) with the source (a model that
        needs a pass over its training data, e.g. for a baseline hazard, makes it here)."""

    def _stream_inputs(self, source: Iterable) -> Iterator[torch.Tensor]:
        """(batch, p) covariates of each minibatch of ``source``, unstandardised: what the loop
        reads before training (the input width; the scaler's pass)."""
        return (batch.X for batch in iterate_batches(source, None, None))

    def _survival_at(self, output: torch.Tensor, times: np.ndarray) -> np.ndarray:
        """(n, len(times)) survival probabilities from the network's (n, ...) output."""
        raise NotImplementedError

    def _loss_share(self, output, targets: tuple[torch.Tensor, ...], part) -> torch.Tensor:
        """Distributed training (``fit(distributed=True)``): this process's share of the loss of
        the global batch, such that the shares of all processes add up to it. ``part`` (a
        :class:`pysurvbridge.distributed.BatchPart`) says how many of the batch's rows this
        process holds. Default: :meth:`_loss` is a mean over rows, weighted by this process's
        fraction of them; Cox-type models use ``part.cox_nll_share`` (risk sets over all
        processes)."""
        return self._loss(output, targets) * part.fraction

    def _parameter_groups(self, lr: float):
        """What the optimizer trains: the network's parameters at ``lr``, or a list of torch
        parameter groups with learning rates of their own (CoxVAE)."""
        return self.network_.parameters()

    def _extra_state(self) -> dict[str, torch.Tensor]:
        """Learned tensors outside the network to save (e.g. a baseline hazard)."""
        return {}

    def _load_extra_state(self, state: dict[str, torch.Tensor], fitted: dict[str, Any]) -> None:
        """Inverse of :meth:`_extra_state` (plus the JSON-able ``fitted`` facts)."""

    def _fitted_facts(self) -> dict[str, Any]:
        """JSON-able learned facts to save beside the state (e.g. the breaks)."""
        return {}

    def _checkpoint_extra(self) -> dict[str, Any]:
        """What the model keeps of its own between epochs, for a training checkpoint (tensors
        and plain values; e.g. CoxVAE's event times collected from a stream)."""
        return {}

    def _restore_checkpoint_extra(self, extra: dict[str, Any]) -> None:
        """Inverse of :meth:`_checkpoint_extra`, called before the resumed epochs."""

    # ------------------------------------------------------------------ parameters
    def _set_training(self, **options: Any) -> None:
        """Store the training options as given (scikit-learn's rule: no checks, no copies)."""
        unknown = sorted(set(options) - set(TRAINING_OPTIONS))
        if unknown:
            raise TypeError(f"{unknown} are not training options ({list(TRAINING_OPTIONS)})")
        for name, value in options.items():
            setattr(self, name, value)

    def _check_params(self) -> None:
        """Check the constructor's hyper-parameters (called by ``fit``; scikit-learn keeps
        ``__init__`` and ``set_params`` free of checks)."""

    @classmethod
    def _training_option_names(cls) -> tuple[str, ...]:
        sig = inspect.signature(cls.__init__)
        return tuple(k for k in TRAINING_OPTIONS if k in sig.parameters)

    def _fit_options(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The training options of this call: the constructor's, then ``overrides``."""
        names = self._training_option_names()
        unknown = sorted(set(overrides) - set(names) - set(FIT_ONLY))
        if unknown:
            raise InvalidParameterError(f"{type(self).__name__}.fit got unknown keyword arguments {unknown}; it takes "
                                        f"{list(names) + list(FIT_ONLY)}")
        if "seed" in overrides:  # the name before random_state; kept for earlier code and the R package
            if "random_state" in overrides:
                raise InvalidParameterError("give either seed or random_state, not both")
            overrides = dict(overrides)
            overrides["random_state"] = overrides.pop("seed")
        options = {k: getattr(self, k) for k in names}
        options.update(overrides)
        options["seed"] = _seed_from(options.pop("random_state"))
        return options

    def _training_data(self, X, y) -> tuple[Any, list[str] | None]:
        """(the container or stream ``fit`` trains on, the feature names or None) from ``(X, y)``."""
        if y is None:
            if is_xy_input(X):
                raise InvalidParameterError(
                    f"{type(self).__name__}.fit(X) needs y: {type(self).__name__} requires y to be passed, but the "
                    "target y is None; give the event and time of each subject (e.g. "
                    "sksurv.util.Surv.from_arrays(event, time)), or fit(SurvivalData)")
            return X, None
        check_not_container(X)
        return training_data(X, y)

    def _set_feature_facts(self, names: list[str] | None, *, positional: bool) -> None:
        """scikit-learn's fitted facts: ``n_features_in_`` and ``feature_names_in_`` (only for a
        DataFrame X); after an array X, later inputs are read by position (``covariates_`` None)."""
        self.n_features_in_ = self.n_features_
        self.__dict__.pop("feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif positional:
            self.covariates_ = None

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None, **options) -> "SurvivalModel":
        """Train the network; returns self.

        Args:
            X: covariates (a NumPy array or a DataFrame of numeric columns) with ``y``; or a
                :class:`SurvivalData` (moved to the device once); or a re-iterable source of
                minibatches for out-of-core training (a DataLoader, or
                :class:`pysurvbridge.data.streaming.ParquetMinibatches`): each batch is
                ``(X, time, event)`` or a dict with those keys, arrays or tensors.
            y: with an array or DataFrame ``X``: scikit-survival's structured array (a bool
                event field and a float time field, any names), a DataFrame with the columns
                (event, time), or an ``(event, time)`` tuple.
            sample_weight: case weights, one per subject in the order of the data's subjects
                (of ``X``'s rows with ``y``), each finite and > 0: the loss is the weighted sum of
                the subjects' terms, divided by the sum of the weights where it is a mean, so
                integer weights equal repeating the subjects and weights of 1 give the
                unweighted fit (the scaler, and each model's data-derived set-up, e.g. a
                Breslow baseline, are weighted too). A container that carries case weights of
                its own (``data.weights``) is weighted by them; giving both is an error. A
                validation fraction takes its subjects' weights (a validation container, its
                own), minibatches their rows', and a checkpoint records the weights'
                fingerprint. Refused for a streamed source, with ``distributed=True``, and by a
                model whose loss takes no weights (the error says why).
            **options: the training options of the constructor for this call only (epochs,
                batch_size, lr, weight_decay, optimizer, validation, patience, device,
                verbose, random_state; ``seed`` is accepted for random_state), and
                ``distributed``, ``checkpoint`` and ``checkpoint_every``.

        Training options:
            epochs: passes over the training data.
            batch_size: rows per minibatch; None = the whole training set in one batch
                (full-batch; ignored for a streamed source, whose batches are used as given).
            lr, weight_decay, optimizer: "adam" (default), "adamw", "sgd" or "rmsprop" with
                this learning rate and L2 penalty.
            validation: a fraction of subjects held out at random (seeded), or a SurvivalData.
                With a validation set, the weights of the epoch with the lowest validation
                loss are restored at the end (a copy, not a reference to the live weights).
            patience: stop after this many epochs without a lower validation loss (needs
                ``validation``).
            random_state: seeds initialisation, shuffling, the validation split and dropout;
                on the CPU two fits with the same seed give identical weights (an int; None
                draws one; a NumPy RandomState draws one from it). The global torch random
                state is left as it was.
            device: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1", ...
            verbose: show a tqdm bar with epoch, training and validation loss.
            distributed (``fit`` only): train data-parallel over the processes of the
                torch.distributed default group (started from torchrun's environment when
                not initialised; see :mod:`pysurvbridge.distributed`). Every process calls
                ``fit`` with the same data and arguments; each computes its part of every
                batch under DistributedDataParallel, and the weights equal a one-process fit
                with the same batches (networks without dropout or BatchNorm). In-memory data
                only.
            checkpoint (``fit`` only): a folder; every ``checkpoint_every`` epochs the
                training state is written there atomically, and a fit that finds one resumes
                after its last finished epoch (on the CPU with the same seed: the same weights
                as an uninterrupted fit). A checkpoint of another model configuration, seed or
                data is refused, naming what differs. See :mod:`pysurvbridge.models.checkpoint`.
            checkpoint_every (``fit`` only): epochs between checkpoints (default 1).
        """
        opts = self._fit_options(options)
        data, names = self._training_data(X, y)
        self._check_params()
        own = self._data_weights(data) if isinstance(data, self.in_memory_types) else None
        if sample_weight is not None or own is not None:
            opts["sample_weight"] = self._check_sample_weight(sample_weight, data, bool(opts.get("distributed")), own)
        self._fit(data, **opts)
        self._set_feature_facts(names, positional=y is not None and names is None)
        return self

    def _data_weights(self, data) -> np.ndarray | None:
        """The case weights an in-memory container carries itself (``data.weights``), one per
        subject in the order of its subjects, or None."""
        own = getattr(data, "weights", None)
        return None if own is None else np.asarray(own, dtype=np.float64)

    def _check_sample_weight(self, sample_weight, data, distributed: bool, own: np.ndarray | None = None
                             ) -> np.ndarray:
        """The case weights of a fit as a fresh (subjects,) float64 array: ``sample_weight``, or
        the container's own weights ``own``; checked: a model, a data source and an option that
        can use them; one weight per subject; finite and > 0. Errors name the argument and the
        first offending rows."""
        name = type(self).__name__
        if sample_weight is not None and own is not None:
            raise InvalidParameterError(
                f"sample_weight was given, but the {type(data).__name__} carries case weights of its own (its "
                "weights); give the weights once: leave sample_weight out, or build the data without weights")
        reason = self._sample_weight_refusal()
        if reason is not None:
            what = "sample_weight" if sample_weight is not None else "sample_weight (here the data's own case weights)"
            raise InvalidParameterError(f"{name} does not support {what}: {reason}")
        if sample_weight is None:
            sample_weight = own
        if not isinstance(data, self.in_memory_types):
            raise InvalidParameterError(
                f"sample_weight is not supported with a streamed source ({type(data).__name__}): the weights follow "
                "the order of the data's subjects, which a stream of minibatches does not give; fit a "
                f"{' or '.join(t.__name__ for t in self.in_memory_types)} in memory, or leave sample_weight out")
        if distributed:
            raise InvalidParameterError(
                "sample_weight is not supported with distributed=True: each process's share of a batch's loss is its "
                "fraction of the rows, and the Cox risk sets are summed over processes without weights; train a "
                "weighted fit in one process")
        try:
            w = np.array(sample_weight.to_numpy() if isinstance(sample_weight, pd.Series) else sample_weight,
                         dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"sample_weight must be numbers, one per subject, but was "
                                        f"{type(sample_weight).__name__}") from None
        n = self._n_subjects(data)
        if w.ndim != 1 or w.shape[0] != n:
            raise InvalidParameterError(
                f"sample_weight must have one weight per subject ({n}, in the order of the data's subjects), but has "
                f"shape {w.shape}")
        bad = ~np.isfinite(w)
        if bad.any():
            raise InvalidParameterError(f"sample_weight has missing or infinite values in rows "
                                        f"{np.flatnonzero(bad)[:5].tolist()}")
        bad = w <= 0
        if bad.any():
            raise InvalidParameterError(
                f"sample_weight must be > 0, but is {w[bad][:5].tolist()} in rows {np.flatnonzero(bad)[:5].tolist()} "
                "(leave a subject out of the data rather than give it weight 0)")
        return w

    def _fit(self, data, *, epochs: int = 100, batch_size: int | None = None, lr: float = 1e-3,
             weight_decay: float = 0.0, validation=None, patience: int | None = None, seed: int = 0,
             device: str | torch.device = "auto", optimizer: str = "adam", verbose: bool = True,
             distributed: bool = False, checkpoint=None, checkpoint_every: int = 1,
             sample_weight: np.ndarray | None = None) -> None:
        """The training loop on a container or a stream (options already merged and checked;
        ``sample_weight`` checked by :meth:`_check_sample_weight`)."""
        _check_fit_args(epochs, batch_size, lr, weight_decay, validation, patience)
        checkpoint_folder = check_checkpoint_args(checkpoint, checkpoint_every)
        dev = resolve_device(device)
        streamed = not isinstance(data, self.in_memory_types)
        ctx = None  # the distributed training context (pysurvbridge.distributed), if any
        if distributed and checkpoint_folder is not None:
            raise InvalidParameterError("checkpoint= is not supported with distributed=True (each process would "
                                        "write the same folder); checkpoint a one-process fit")
        if distributed:
            if streamed:
                raise InvalidParameterError(
                    "distributed=True needs the training data in memory (the same "
                    f"{' or '.join(t.__name__ for t in self.in_memory_types)} in every process), "
                    f"not a stream ({type(data).__name__})")
            from pysurvbridge.distributed import TrainingContext

            ctx = TrainingContext.start(dev)
            dev = ctx.device
        if streamed:
            if not self.supports_streaming:
                raise InvalidParameterError(
                    f"{type(self).__name__} needs its training data in memory as a "
                    f"{' or '.join(t.__name__ for t in self.in_memory_types)} (got {type(data).__name__})")
            if iter(data) is data:
                raise InvalidParameterError(
                    "data is a one-shot iterator (e.g. a generator); training needs a source it "
                    "can iterate once per epoch, such as a torch DataLoader or ParquetMinibatches")
            if validation is not None and not isinstance(validation, self.in_memory_types):
                raise InvalidParameterError(
                    f"with streamed minibatches, validation must be a "
                    f"{' or '.join(t.__name__ for t in self.in_memory_types)} (a fraction "
                    "cannot be held out of a stream)")
        elif data.n_events == 0:
            raise InvalidSurvivalDataError("the training data have no events: every subject is censored")

        cuda_devices = [dev.index or 0] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda_devices):
            generator = torch.Generator(device="cpu").manual_seed(seed)
            self.device_ = dev
            if streamed:
                train, val = None, validation
                first = next(iter(self._stream_inputs(data)))
                self.n_features_ = first.shape[1]
                self.covariates_ = None
                self.scaler_ = StandardScaler.from_batches(self._stream_inputs(data)) if self.standardize else None
                example = first if self.scaler_ is None else self.scaler_.transform(first)
            else:
                train, val = self._split(data, validation, seed)
                w_train, w_val = self._split_weights(data, train, val, validation, seed, sample_weight)
                example = self._learn_inputs(train) if w_train is None else self._learn_inputs(train, w_train)
            torch.manual_seed(seed)  # after peeking at a stream (a DataLoader's iterator draws a seed)
            self.network_ = self._build_network(self.n_features_, example).to(dev)
            if ctx is not None:
                ctx.wrap(self, seed)
            opt = make_optimizer(optimizer, self._parameter_groups(lr), lr, weight_decay)

            inputs_tr = targets_tr = weights_tr = weights_val = None
            if not streamed:
                inputs_tr, targets_tr = self._prepare(train, dev)
                weights_tr = self._weight_tensor(train, w_train, dev)
                weights_val = None if val is None else self._weight_tensor(val, w_val, dev)
            val_set = None if val is None else self._prepare(val, dev)

            log = TrainingLog(type(self).__name__, epochs, patience, verbose and (ctx is None or ctx.is_main))
            saver, first_epoch = None, 0
            if checkpoint_folder is not None:
                options = dict(batch_size=batch_size, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
                               validation=validation, patience=patience, seed=seed)
                saver = Checkpoint(checkpoint_folder,
                                   self._checkpoint_identity(data, options, streamed, sample_weight))
                saved = saver.load()
                if saved is not None:
                    first_epoch = self._resume(saved, opt, generator, log, dev)
            for epoch in range(first_epoch, epochs):
                if log.stopped:
                    break
                self.network_.train()
                if streamed:
                    batches = self._streamed_batches(data, dev)
                elif ctx is not None:
                    batches = ctx.batches(inputs_tr, targets_tr, batch_size, generator, self.min_batch_rows)
                elif weights_tr is None:
                    batches = _memory_batches(inputs_tr, targets_tr, batch_size, generator,
                                              self.min_batch_rows)
                else:  # the weights ride with the targets: the same permutation and slices
                    batches = _memory_batches(inputs_tr, targets_tr + (weights_tr,), batch_size, generator,
                                              self.min_batch_rows)
                losses, sizes = _LossRecord(), []
                for inputs_b, targets_b in batches:
                    weights_b = None
                    if weights_tr is not None:
                        targets_b, weights_b = targets_b[:-1], targets_b[-1]
                    opt.zero_grad(set_to_none=True)
                    if ctx is None:
                        loss = (self._train_step(inputs_b, targets_b) if weights_b is None
                                else self._train_step(inputs_b, targets_b, weights_b))
                    else:
                        loss = ctx.step(self, inputs_b, targets_b)
                    opt.step()
                    losses.append(loss.detach())
                    if weights_b is not None:  # the epoch's loss: a mean over batches by their weight
                        sizes.append(weights_b.sum())
                    else:
                        sizes.append(targets_b[0].shape[0] if ctx is None else ctx.part.global_rows)
                losses = losses.tensor()
                if ctx is not None:
                    losses = ctx.batch_losses(losses)
                train_loss = _epoch_loss(losses, sizes, epoch)
                val_loss = self._validation_loss(val_set, weights_val) if val_set is not None else None
                if ctx is not None:
                    val_loss = ctx.agree(val_loss)
                if val_loss is not None and not math.isfinite(val_loss):
                    raise TrainingError(f"the validation loss became {val_loss} at epoch {epoch + 1}; "
                                        "lower lr or standardize the covariates")
                stop = log.record(epoch, train_loss, val_loss, self.network_)
                if saver is not None and (stop or (epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
                    saver.save(self._training_state(epoch + 1, opt, generator, log, dev))
                if stop:
                    break
            log.close()
            if log.best_state is not None:
                self.network_.load_state_dict(log.best_state)
            self.history_ = log.history()
            self.best_epoch_ = log.best_epoch
            self.network_.eval()
            with torch.no_grad():
                if streamed:
                    self._after_stream_fit(data)
                elif weights_tr is None:
                    self._after_fit(inputs_tr, targets_tr)
                else:
                    self._after_fit(inputs_tr, targets_tr, weights_tr)
        self.train_time_ = self.train_event_ = None
        if isinstance(train, SurvivalData):
            self.train_time_ = np.asarray(train.time)
            self.train_event_ = np.asarray(train.event)
        return self

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint_identity(self, data, options: dict[str, Any], streamed: bool,
                             weights: np.ndarray | None = None) -> dict[str, str]:
        """What a checkpoint must match to be resumed (see :mod:`pysurvbridge.models.checkpoint`);
        a weighted fit adds the fingerprint of its case weights."""
        identity = {"model": type(self).__name__}
        for name, value in sorted(self.get_params(deep=False).items()):
            if name not in TRAINING_OPTIONS:
                identity[f"parameter {name}"] = repr(value)
        for name, value in options.items():
            if isinstance(value, self.in_memory_types) or hasattr(value, "n_events"):
                value = f"data {data_fingerprint(value)}"
            identity[name] = repr(value)
        identity["training data"] = stream_fingerprint(data) if streamed else data_fingerprint(data)
        if weights is not None:  # absent for an unweighted fit: its checkpoints stay as they were
            identity["sample_weight"] = f"weights {hash_arrays(np.asarray(weights, dtype=np.float64))}"
        return identity

    def _training_state(self, epochs_done: int, opt, generator: torch.Generator, log: TrainingLog,
                        dev: torch.device) -> dict[str, Any]:
        return {"epoch": epochs_done, "network": self.network_.state_dict(), "optimizer": opt.state_dict(),
                "rng_cpu": torch.get_rng_state(), "rng_generator": generator.get_state(),
                "rng_cuda": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None,
                "log": log.state(), "extra": self._checkpoint_extra()}

    def _resume(self, state: dict[str, Any], opt, generator: torch.Generator, log: TrainingLog,
                dev: torch.device) -> int:
        """Load a checkpoint's training state; the epoch to continue from."""
        self.network_.load_state_dict(state["network"])
        opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng_cpu"])
        generator.set_state(state["rng_generator"])
        if dev.type == "cuda" and state["rng_cuda"] is not None:
            torch.cuda.set_rng_state(state["rng_cuda"], dev)
        log.restore(state["log"], dev)
        self._restore_checkpoint_extra(state["extra"])
        return int(state["epoch"])

    # ------------------------------------------------------------------ data hooks
    #: containers ``fit`` holds in memory; anything else is treated as a minibatch source
    in_memory_types: tuple[type, ...] = (SurvivalData,)

    def _split(self, data, validation, seed: int):
        """(train, validation) parts of an in-memory container (subjects held out at random)."""
        return split_validation(data, validation, seed)

    def _split_weights(self, data, train, val, validation, seed: int, weights: np.ndarray | None
                       ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The case weights of the subjects of ``train`` and ``val`` (the parts :meth:`_split` made
        of ``data``): a validation fraction takes its subjects' weights; a validation container
        given as such has its own case weights, if any."""
        if val is None:
            return weights, None
        if not isinstance(validation, (float, int)):
            return weights, self._data_weights(val)
        if weights is None:
            return None, None
        train_rows, val_rows = self._validation_rows(data, train, val, validation, seed)
        return weights[train_rows], weights[val_rows]

    def _validation_rows(self, data, train, val, validation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The positions, among the subjects of ``data``, of those of ``train`` and ``val``
        (a fraction split by :meth:`_split`)."""
        return validation_rows(len(data), validation, seed)

    def _weight_tensor(self, data, weights: np.ndarray | None, dev: torch.device) -> torch.Tensor | None:
        """(rows,) float64 case weights on the device for the rows :meth:`_prepare` makes of ``data``."""
        if weights is None:
            return None
        return torch.from_numpy(np.array(self._row_weights(data, weights), dtype=np.float64)).to(dev)

    def _learn_inputs(self, train: SurvivalData, weights: np.ndarray | None = None) -> torch.Tensor:
        """Set ``covariates_``, ``n_features_`` and ``scaler_`` from the training data (weighted
        means and SDs with the subjects' case ``weights``); return a small standardized example
        input for :meth:`_build_network`."""
        self.n_features_ = train.X.shape[1]
        self.covariates_ = tuple(train.covariates)
        self.scaler_ = StandardScaler.from_array(train.X, weights) if self.standardize else None
        example = torch.tensor(np.array(train.X[:2]), dtype=torch.float32)
        return example if self.scaler_ is None else self.scaler_.transform(example)

    def _prepare(self, data: SurvivalData, dev: torch.device):
        """(inputs, targets) on the device: the network's input(s) and the loss targets."""
        X, time, event = self._tensors(data, dev)
        return X, self._targets(time, event)

    def _forward(self, inputs) -> torch.Tensor:
        return self.network_(inputs)

    def _tensors(self, data: SurvivalData, dev: torch.device):
        X = torch.from_numpy(np.array(data.X, dtype=np.float32))
        if self.scaler_ is not None:
            X = self.scaler_.transform(X)
        return (X.to(dev), torch.from_numpy(np.array(data.time, dtype=np.float64)).to(dev),
                torch.from_numpy(np.array(data.event, dtype=np.float64)).to(dev))

    def _streamed_batches(self, source: Iterable, dev: torch.device):
        for batch in iterate_batches(source, self.n_features_, self.scaler_):
            yield batch.X.to(dev), self._targets(batch.time.to(dev), batch.event.to(dev))

    def _validation_loss(self, val_set, weights: torch.Tensor | None = None) -> float:
        inputs, targets = val_set
        self.network_.eval()
        with torch.no_grad():
            return float(self._weighted_loss(self._forward(inputs), targets, weights))

    def loss(self, data, sample_weight=None) -> float:
        """The fitted model's training loss on ``data`` (a container of the kind ``fit`` takes),
        in eval mode: what early stopping watches and ``compare(tune=...)`` minimises on held-out
        subjects by default (the negative log partial likelihood per event of the data's own
        risk sets for the Cox-type models). ``sample_weight``: case weights of the data's
        subjects, checked and used as in :meth:`fit` (by default the data's own, if any)."""
        self._check_fitted()
        prepared = self._prepare(data, self.device_)
        own = self._data_weights(data)
        if sample_weight is None and own is None:
            return self._validation_loss(prepared)
        w = self._check_sample_weight(sample_weight, data, False, own)
        return self._validation_loss(prepared, self._weight_tensor(data, w, self.device_))

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() first")

    def _input_tensor(self, X) -> torch.Tensor:
        """(n, p) float32 tensor on the model's device from a DataFrame, array or tensor."""
        self._check_fitted()
        if isinstance(X, SurvivalData):
            X = X.X
        if isinstance(X, pd.DataFrame):
            if self.covariates_ is not None:
                missing = [c for c in self.covariates_ if c not in X.columns]
                if missing:
                    raise InvalidSurvivalDataError(
                        f"X lacks the covariate columns {missing} the model was fitted on "
                        f"({list(self.covariates_)})")
                X = X[list(self.covariates_)]
            try:
                X = X.to_numpy(dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidSurvivalDataError(f"X has non-numeric covariate values: {exc}") from None
        if isinstance(X, torch.Tensor):
            X = X.detach().to(torch.float32)
        else:
            X = torch.from_numpy(np.array(X, dtype=np.float32))
        if X.dim() == 1:
            X = X.unsqueeze(0) if self.n_features_ and X.shape[0] == self.n_features_ else X.unsqueeze(1)
        if self.n_features_ is not None and (X.dim() != 2 or X.shape[1] != self.n_features_):
            got = X.shape[1] if X.dim() == 2 else f"shape {tuple(X.shape)} for"
            raise InvalidSurvivalDataError(
                f"X has {got} features, but {type(self).__name__} is expecting {self.n_features_} features as "
                f"input (the training covariates); X must have shape (n, {self.n_features_})")
        bad = ~torch.isfinite(X).reshape(X.shape[0], -1).all(dim=1)
        if bool(bad.any()):
            raise InvalidSurvivalDataError(
                f"X has missing or infinite values in rows {torch.nonzero(bad).squeeze(1)[:5].tolist()}")
        if self.scaler_ is not None:
            X = self.scaler_.transform(X)
        return X.to(self.device_)

    def _output(self, X) -> torch.Tensor:
        """The network's eval-mode output for X, in chunks of PREDICT_CHUNK rows."""
        Xt = self._input_tensor(X)
        self.network_.eval()
        with torch.no_grad():
            parts = [self.network_(Xt[i:i + PREDICT_CHUNK]) for i in range(0, Xt.shape[0], PREDICT_CHUNK)]
        return torch.cat(parts) if parts else self.network_(Xt)

    def predict_survival(self, X, times: Sequence[float]) -> pd.DataFrame:
        """S(t | x): a DataFrame with one row per subject (X's index for a DataFrame) and one
        column per time in ``times`` (in the training time unit)."""
        grid = np.asarray(times, dtype=np.float64).ravel()
        if grid.size == 0 or not np.isfinite(grid).all() or (grid < 0).any():
            raise InvalidParameterError(f"times must be non-negative finite values, but were {grid[:5].tolist()}")
        surv = self._survival_at(self._output(X), grid)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(surv, index=index, columns=pd.Index(grid, name="time"))

    def predict_risk(self, X) -> np.ndarray:
        """(n,) risk scores: higher means earlier events expected."""
        raise NotImplementedError

    def _survival_matrix(self, X, times: np.ndarray) -> np.ndarray:
        return self.predict_survival(X, times).to_numpy()

    @property
    def unique_times_(self) -> np.ndarray:
        """The times :meth:`predict_survival_function` tabulates curves at: the distinct training
        times (scikit-survival's ``unique_times_``), or the baseline's event times after a
        streamed fit."""
        self._check_fitted()
        if getattr(self, "train_time_", None) is not None:
            return np.unique(self.train_time_)
        baseline = getattr(self, "baseline_", None)
        if baseline is not None:
            return np.asarray(baseline.times)
        raise InvalidParameterError(f"this {type(self).__name__} was fitted on a stream and keeps no training times; "
                                    "call predict_survival(X, times) at the times you need")

    def evaluate(self, data: SurvivalData, times: Sequence[float] | None = None) -> dict[str, float]:
        """Harrell's C of :meth:`predict_risk` and the IPCW integrated Brier score on ``data``.

        ``times`` (default: 10 quantiles, 10% to 80%, of ``data``'s event times) is the Brier
        grid; censoring weights come from the training data when it was in memory.
        """
        from pysurvbridge import metrics

        if not isinstance(data, SurvivalData):
            raise InvalidParameterError(f"evaluate needs a SurvivalData, but got {type(data).__name__}")
        risk = self.predict_risk(data.X)
        out = {"c_harrell": metrics.concordance_harrell(risk, data.time, data.event)}
        if times is None:
            times = np.unique(np.quantile(data.time[data.event == 1], np.linspace(0.1, 0.8, 10)))
        surv = self.predict_survival(data.X, times).to_numpy()
        kw = {} if self.train_time_ is None else {"train_time": self.train_time_, "train_event": self.train_event_}
        out["ibs"] = metrics.integrated_brier_score(surv, times, data.time, data.event, **kw)
        out["n"] = float(len(data))
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``path/config.json`` (class, hyper-parameters, learned facts) and
        ``path/state.pt`` (network and learned tensors). Returns the directory."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        raw = self.get_params(deep=False)
        custom = [k for k, v in raw.items() if isinstance(v, nn.Module)]
        # a validation set held as data is not a hyper-parameter worth saving: None in the file
        params = {k: (None if isinstance(v, nn.Module) or k == "validation" and not _is_number(v) else v)
                  for k, v in raw.items()}
        config = {
            "class": type(self).__name__, "format": 2, "params": _jsonable(params, tag_tuples=True),
            "custom_modules": custom,
            "fitted": _jsonable({
                "covariates": None if self.covariates_ is None else list(self.covariates_),
                "n_features": self.n_features_, "best_epoch": self.best_epoch_,
                **self._fitted_facts(),
            }),
        }
        (path / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        extras = {k: v.detach().cpu() for k, v in self._extra_state().items()}
        if self.scaler_ is not None:
            extras.update({"scaler.mean": self.scaler_.mean, "scaler.scale": self.scaler_.scale})
        if self.train_time_ is not None:
            extras.update({"train.time": torch.tensor(self.train_time_),
                           "train.event": torch.tensor(self.train_event_)})
        state = {"network": {k: v.detach().cpu() for k, v in self.network_.state_dict().items()},
                 "extra": extras, "history": torch.as_tensor(self.history_.to_numpy(dtype=np.float64))}
        torch.save(state, path / STATE_FILE)
        return path

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device = "cpu", **modules: nn.Module) -> "SurvivalModel":
        """Rebuild a saved model. The state is read with ``torch.load(weights_only=True)``, so
        a file from elsewhere cannot run code. A model saved with a custom ``network`` needs
        the same architecture passed again: ``NnetSurvival.load(path, network=MyCNN())``."""
        path = Path(path)
        try:
            config = json.loads((path / CONFIG_FILE).read_text())
        except FileNotFoundError:
            raise InvalidParameterError(f"{path} holds no saved model ({CONFIG_FILE} is missing)") from None
        if config.get("class") != cls.__name__:
            raise InvalidParameterError(f"{path} holds a {config.get('class')}, not a {cls.__name__}")
        params = _from_json(dict(config["params"])) if config.get("format", 1) >= 2 else dict(config["params"])
        for name in config.get("custom_modules", []):
            if name not in modules:
                raise InvalidParameterError(
                    f"this {cls.__name__} was saved with a custom {name!r} module; pass the same "
                    f"architecture again: {cls.__name__}.load(path, {name}=...)")
            params[name] = modules[name]
        model = cls(**params)
        state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
        fitted = config["fitted"]
        model.covariates_ = None if fitted["covariates"] is None else tuple(fitted["covariates"])
        model.n_features_ = fitted["n_features"]
        model.best_epoch_ = fitted["best_epoch"]
        extras = state["extra"]
        model.scaler_ = (StandardScaler(extras["scaler.mean"], extras["scaler.scale"])
                         if "scaler.mean" in extras else None)
        model.train_time_ = extras["train.time"].numpy() if "train.time" in extras else None
        model.train_event_ = extras["train.event"].numpy() if "train.event" in extras else None
        model.device_ = resolve_device(device)
        example = torch.zeros((2, model.n_features_), dtype=torch.float32) if model.n_features_ else None
        model._load_extra_state(extras, fitted)
        model.network_ = model._build_network(model.n_features_, example)
        model.network_.load_state_dict(state["network"])
        model.network_.to(model.device_).eval()
        model.history_ = pd.DataFrame(state["history"].numpy(), columns=["epoch", "train_loss", "val_loss"])
        return model


# ---------------------------------------------------------------------- helpers
def _check_fit_args(epochs, batch_size, lr, weight_decay, validation, patience) -> None:
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise InvalidParameterError(f"epochs must be a positive integer, but was {epochs!r}")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise InvalidParameterError(f"batch_size must be a positive integer or None, but was {batch_size!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise InvalidParameterError(f"lr must be positive, but was {lr!r}")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise InvalidParameterError(f"weight_decay must be >= 0, but was {weight_decay!r}")
    if patience is not None:
        if validation is None:
            raise InvalidParameterError("patience (early stopping) needs a validation set: "
                                        "pass validation=0.2 or a SurvivalData")
        if not isinstance(patience, (int, np.integer)) or patience < 1:
            raise InvalidParameterError(f"patience must be a positive integer, but was {patience!r}")


def _memory_batches(inputs, targets: tuple[torch.Tensor, ...], batch_size: int | None,
                    generator: torch.Generator, min_rows: int = 1):
    """(inputs, targets) minibatches; ``inputs`` is a tensor or a tuple of tensors (rows first).
    A last batch of fewer than ``min_rows`` rows is merged into the one before it."""
    n = targets[0].shape[0]
    if batch_size is None or batch_size >= n:
        yield inputs, targets
        return
    # one gather per epoch, then contiguous slices (views): cheaper than a gather per batch
    order = torch.randperm(n, generator=generator).to(targets[0].device)
    take = (lambda x, rows: tuple(t[rows] for t in x) if isinstance(x, tuple) else x[rows])
    inputs, targets = take(inputs, order), take(targets, order)
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] < min_rows:
        starts.pop()
    for i, k in enumerate(starts):
        rows = slice(k, starts[i + 1] if i + 1 < len(starts) else n)
        yield take(inputs, rows), take(targets, rows)


class _LossRecord:
    """The epoch's batch losses, kept on the device without a sync per batch, in O(batches)
    memory: every 512 batches the detached 0-d tensors are stacked into one float64 vector
    (a list of 1e4 detached 0-d tensors held about 12 KB each: +120 MB over a 1e7-subject
    streamed epoch)."""

    CHUNK = 512

    def __init__(self) -> None:
        self._chunks: list[torch.Tensor] = []
        self._pending: list[torch.Tensor] = []

    def append(self, loss: torch.Tensor) -> None:
        self._pending.append(loss.to(torch.float64).reshape(()))
        if len(self._pending) >= self.CHUNK:
            self._chunks.append(torch.stack(self._pending))
            self._pending = []

    def tensor(self) -> torch.Tensor | None:
        """(batches,) float64, in batch order; None when no batch was seen."""
        parts = self._chunks + ([torch.stack(self._pending)] if self._pending else [])
        return torch.cat(parts) if parts else None


def _epoch_loss(losses: torch.Tensor | None, sizes: list, epoch: int) -> float:
    """Size-weighted mean batch loss (sizes: rows, or a weighted fit's 0-d tensors of the
    batches' weight sums); names the first non-finite batch (one sync per epoch)."""
    if losses is None or not len(losses):
        raise TrainingError(f"epoch {epoch + 1} saw no batches: the data source is empty")
    stacked = losses.to(torch.float64)
    finite = torch.isfinite(stacked)
    if not bool(finite.all()):
        b = int(torch.nonzero(~finite)[0])
        raise TrainingError(
            f"the training loss became {float(stacked[b])} at epoch {epoch + 1}, batch {b + 1}; "
            "lower lr, standardize the covariates, or check them for extreme values")
    if sizes and isinstance(sizes[0], torch.Tensor):
        w = torch.stack(sizes).to(device=stacked.device, dtype=torch.float64)
    else:
        w = torch.as_tensor(sizes, dtype=torch.float64, device=stacked.device)
    return float((stacked * w).sum() / w.sum())


def _seed_from(random_state: Any) -> int:
    """An int seed from scikit-learn's random_state: an int as it is, None a fresh draw, a
    NumPy RandomState or Generator one draw from it."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InvalidParameterError(f"random_state must be >= 0, but was {random_state!r}")
        return int(random_state)
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    raise InvalidParameterError(f"random_state must be an int, None, a numpy RandomState or Generator, but was "
                                f"{random_state!r}")


def _is_number(v: Any) -> bool:
    return v is None or isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _from_json(obj: Any) -> Any:
    """Inverse of ``_jsonable(tag_tuples=True)``: {"__tuple__": [...]} back to tuples."""
    if isinstance(obj, dict):
        if set(obj) == {"__tuple__"}:
            return tuple(_from_json(v) for v in obj["__tuple__"])
        return {k: _from_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_json(v) for v in obj]
    return obj


def _jsonable(obj: Any, *, tag_tuples: bool = False) -> Any:
    """``obj`` with arrays and NumPy scalars as JSON values; tuples tagged when asked, so a
    saved model's parameters come back exactly as they were given."""
    if isinstance(obj, dict):
        return {k: _jsonable(v, tag_tuples=tag_tuples) for k, v in obj.items()}
    if isinstance(obj, tuple) and tag_tuples:
        return {"__tuple__": [_jsonable(v, tag_tuples=True) for v in obj]}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, tag_tuples=tag_tuples) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return copy.deepcopy(obj)
