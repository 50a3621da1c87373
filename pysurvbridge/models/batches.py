"""Training data for the loop: validation split, standardization, streamed minibatches."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, NamedTuple

import numpy as np
import torch

from pysurvbridge.data.events import SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

__all__ = ["Batch", "StandardScaler", "iterate_batches", "split_validation"]


class Batch(NamedTuple):
    """One minibatch on the CPU: X (b, p) float32, time (b,) float64, event (b,) float64 0/1."""

    X: torch.Tensor
    time: torch.Tensor
    event: torch.Tensor


class StandardScaler:
    """Column means and standard deviations of the training covariates (float64, (p,)).

    ``transform`` returns (x - mean) / scale in float32; a constant column gets scale 1.
    """

    def __init__(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        self.mean = torch.as_tensor(mean, dtype=torch.float64)
        self.scale = torch.as_tensor(scale, dtype=torch.float64)

    @classmethod
    def from_array(cls, X: np.ndarray) -> "StandardScaler":
        X = np.asarray(X, dtype=np.float64)
        sd = X.std(axis=0) if len(X) else np.ones(X.shape[1])
        return cls(torch.from_numpy(X.mean(axis=0)), torch.from_numpy(np.where(sd > 0, sd, 1.0)))

    @classmethod
    def from_stream(cls, source: Iterable) -> "StandardScaler":
        """One pass over a minibatch source (sums in float64, shifted by the first batch)."""
        n, s1, s2, shift = 0, None, None, None
        for b in iterate_batches(source, None, None):
            x = b.X.to(torch.float64)
            if shift is None:
                shift = x.mean(dim=0)
                s1 = torch.zeros_like(shift)
                s2 = torch.zeros_like(shift)
            d = x - shift
            n, s1, s2 = n + x.shape[0], s1 + d.sum(0), s2 + (d * d).sum(0)
        mean_d = s1 / n
        sd = torch.sqrt(torch.clamp(s2 / n - mean_d ** 2, min=0.0))
        return cls(shift + mean_d, torch.where(sd > 0, sd, torch.ones_like(sd)))

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        mean = self.mean.to(X.device, torch.float32)
        scale = self.scale.to(X.device, torch.float32)
        return (X.to(torch.float32) - mean) / scale


def split_validation(data: SurvivalData, validation: float | SurvivalData | None, seed: int
                     ) -> tuple[SurvivalData, SurvivalData | None]:
    """(train, validation): a seeded random fraction of subjects, a given SurvivalData, or none."""
    if validation is None:
        return data, None
    if isinstance(validation, SurvivalData):
        if validation.X.shape[1] != data.X.shape[1]:
            raise InvalidSurvivalDataError(
                f"validation has {validation.X.shape[1]} covariates but the training data have {data.X.shape[1]}")
        return data, validation
    if not isinstance(validation, (float, int)) or not 0 < validation < 1:
        raise InvalidParameterError(f"validation must be a fraction in (0, 1) or a SurvivalData, but was {validation!r}")
    n = len(data)
    n_val = int(round(validation * n))
    if n_val < 2 or n - n_val < 2:
        raise InvalidParameterError(f"validation={validation} leaves {n_val} of {n} subjects for validation; "
                                    "need at least 2 on each side")
    order = np.random.default_rng(seed).permutation(n)
    val, train = data.subset(np.sort(order[:n_val])), data.subset(np.sort(order[n_val:]))
    if train.n_events == 0:
        raise InvalidSurvivalDataError("the training part of the validation split has no events")
    return train, val


def _as_tensor(x: Any, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", dtype)
    return torch.from_numpy(np.array(x)).to(dtype)  # a copy: sources may be read-only (memmap)


def iterate_batches(source: Iterable, n_features: int | None, scaler: StandardScaler | None
                    ) -> Iterator[Batch]:
    """Validated :class:`Batch` es from a source yielding ``(X, time, event)`` tuples or dicts
    with keys X, time, event. Each batch is checked (shapes, finite values, time >= 0, event
    0/1); a bad one is named by its position in the epoch."""
    for k, raw in enumerate(source):
        if isinstance(raw, dict):
            missing = [key for key in ("X", "time", "event") if key not in raw]
            if missing:
                raise InvalidSurvivalDataError(f"minibatch {k + 1} lacks the keys {missing}")
            raw = (raw["X"], raw["time"], raw["event"])
        if not isinstance(raw, (tuple, list)) or len(raw) != 3:
            raise InvalidSurvivalDataError(
                f"minibatch {k + 1} must be (X, time, event) or a dict with those keys, but is {type(raw).__name__}")
        X = _as_tensor(raw[0], torch.float32)
        t = _as_tensor(raw[1], torch.float64).reshape(-1)
        e = _as_tensor(raw[2], torch.float64).reshape(-1)
        if X.dim() == 1:
            X = X.unsqueeze(1)
        if X.dim() != 2 or X.shape[0] != t.shape[0] or e.shape[0] != t.shape[0]:
            raise InvalidSurvivalDataError(
                f"minibatch {k + 1}: X must be (b, p) with b = len(time) = len(event); got X "
                f"{tuple(X.shape)}, time {tuple(t.shape)}, event {tuple(e.shape)}")
        if n_features is not None and X.shape[1] != n_features:
            raise InvalidSurvivalDataError(f"minibatch {k + 1} has {X.shape[1]} covariates, the first had {n_features}")
        for name, v in (("X", X.reshape(X.shape[0], -1)), ("time", t.unsqueeze(1))):
            bad = ~torch.isfinite(v).all(dim=1)
            if bool(bad.any()):
                raise InvalidSurvivalDataError(f"minibatch {k + 1}: {name} has missing or infinite values "
                                               f"in rows {torch.nonzero(bad).squeeze(1)[:5].tolist()}")
        if bool((t < 0).any()):
            raise InvalidSurvivalDataError(f"minibatch {k + 1}: time is negative in rows "
                                           f"{torch.nonzero(t < 0).squeeze(1)[:5].tolist()}")
        wrong = (e != 0) & (e != 1)
        if bool(wrong.any()):
            raise InvalidSurvivalDataError(f"minibatch {k + 1}: event must be 0/1, bad in rows "
                                           f"{torch.nonzero(wrong).squeeze(1)[:5].tolist()}")
        yield Batch(scaler.transform(X) if scaler is not None else X, t, e)
