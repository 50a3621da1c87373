"""Training data for the loop: validation split, standardization, streamed minibatches, and
statistics accumulated over a stream (the scaler, a Breslow baseline)."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, NamedTuple

import numpy as np
import torch

from pysurvbridge.data.events import SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.models.baseline import BreslowBaseline

__all__ = ["Batch", "EventTimeGrid", "StandardScaler", "StreamedBreslow", "iterate_batches", "stream_fingerprint",
           "iterate_multi_event_batches", "merge_small_batches", "split_validation", "validation_rows"]


class Batch(NamedTuple):
    """One minibatch on the CPU: X (b, p) float32; time and event float64 (event 0/1), (b,) from
    :func:`iterate_batches`, (b, K) from :func:`iterate_multi_event_batches`."""

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
    def from_array(cls, X: np.ndarray, weights: np.ndarray | None = None) -> "StandardScaler":
        """Means and SDs (divisor n) of the rows of ``X``; with ``weights`` (one > 0 per row) the
        weighted mean and SD (divisor the sum of the weights), so integer weights give those
        of the rows repeated."""
        X = np.asarray(X, dtype=np.float64)
        if weights is not None and len(X):
            w = np.asarray(weights, dtype=np.float64)[:, None]
            # the sums of X.mean and X.std, term by term times w: weights of 1 give their very values
            mean = (X * w).sum(axis=0) / w.sum()
            sd = np.sqrt((((X - mean) ** 2) * w).sum(axis=0) / w.sum())
            return cls(torch.from_numpy(mean), torch.from_numpy(np.where(sd > 0, sd, 1.0)))
        sd = X.std(axis=0) if len(X) else np.ones(X.shape[1])
        return cls(torch.from_numpy(X.mean(axis=0)), torch.from_numpy(np.where(sd > 0, sd, 1.0)))

    @classmethod
    def from_batches(cls, inputs: Iterable[torch.Tensor]) -> "StandardScaler":
        """One pass over (batch, p) covariate tensors (sums in float64, shifted by the first
        batch)."""
        n, s1, s2, shift = 0, None, None, None
        for X in inputs:
            x = X.to(torch.float64)
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
    train_rows, val_rows = validation_rows(len(data), validation, seed)
    val, train = data.subset(val_rows), data.subset(train_rows)
    if train.n_events == 0:
        raise InvalidSurvivalDataError("the training part of the validation split has no events")
    return train, val


def validation_rows(n: int, validation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows), each sorted, of a seeded random fraction ``validation``
    of ``n`` subjects held out: the rows :func:`split_validation` takes (and the case weights
    of a weighted fit follow)."""
    if not isinstance(validation, (float, int)) or not 0 < validation < 1:
        raise InvalidParameterError(f"validation must be a fraction in (0, 1) or a SurvivalData, but was {validation!r}")
    n_val = int(round(validation * n))
    if n_val < 2 or n - n_val < 2:
        raise InvalidParameterError(f"validation={validation} leaves {n_val} of {n} subjects for validation; "
                                    "need at least 2 on each side")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _as_tensor(x: Any, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", dtype)
    return torch.from_numpy(np.array(x)).to(dtype)  # a copy: sources may be read-only (memmap)


def _raw_batch(k: int, raw: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(X (b, p) float32, time, event float64, as given) from one raw minibatch (tuple or dict)."""
    if isinstance(raw, dict):
        missing = [key for key in ("X", "time", "event") if key not in raw]
        if missing:
            raise InvalidSurvivalDataError(f"minibatch {k + 1} lacks the keys {missing}")
        raw = (raw["X"], raw["time"], raw["event"])
    if not isinstance(raw, (tuple, list)) or len(raw) != 3:
        raise InvalidSurvivalDataError(
            f"minibatch {k + 1} must be (X, time, event) or a dict with those keys, but is {type(raw).__name__}")
    X = _as_tensor(raw[0], torch.float32)
    if X.dim() == 1:
        X = X.unsqueeze(1)
    return X, _as_tensor(raw[1], torch.float64), _as_tensor(raw[2], torch.float64)


def _check_batch(k: int, X: torch.Tensor, t: torch.Tensor, e: torch.Tensor, n_features: int | None) -> None:
    """Shapes (X (b, p); time and event (b,) or (b, K), the same), finite X and time, time >= 0,
    event 0/1; errors name the minibatch (1-based) and its first bad rows."""
    if X.dim() != 2 or X.shape[0] != t.shape[0] or e.shape != t.shape:
        raise InvalidSurvivalDataError(
            f"minibatch {k + 1}: X must be (b, p) with b = len(time) = len(event); got X "
            f"{tuple(X.shape)}, time {tuple(t.shape)}, event {tuple(e.shape)}")
    if n_features is not None and X.shape[1] != n_features:
        raise InvalidSurvivalDataError(f"minibatch {k + 1} has {X.shape[1]} covariates, the first had {n_features}")
    b = t.shape[0]
    for name, v in (("X", X.reshape(b, -1)), ("time", t.reshape(b, -1))):
        bad = ~torch.isfinite(v).all(dim=1)
        if bool(bad.any()):
            raise InvalidSurvivalDataError(f"minibatch {k + 1}: {name} has missing or infinite values "
                                           f"in rows {torch.nonzero(bad).squeeze(1)[:5].tolist()}")
    negative = (t < 0).reshape(b, -1).any(dim=1)
    if bool(negative.any()):
        raise InvalidSurvivalDataError(f"minibatch {k + 1}: time is negative in rows "
                                       f"{torch.nonzero(negative).squeeze(1)[:5].tolist()}")
    wrong = ((e != 0) & (e != 1)).reshape(b, -1).any(dim=1)
    if bool(wrong.any()):
        raise InvalidSurvivalDataError(f"minibatch {k + 1}: event must be 0/1, bad in rows "
                                       f"{torch.nonzero(wrong).squeeze(1)[:5].tolist()}")


def iterate_batches(source: Iterable, n_features: int | None, scaler: StandardScaler | None
                    ) -> Iterator[Batch]:
    """Validated single-event :class:`Batch` es (time, event (b,)) from a source yielding
    ``(X, time, event)`` tuples or dicts with keys X, time, event. Each batch is checked (shapes,
    finite values, time >= 0, event 0/1); a bad one is named by its position in the epoch. A
    (b, 1) time column is flattened; a (b, K) one with K > 1 (a multi-event source) is refused."""
    for k, raw in enumerate(source):
        X, t, e = _raw_batch(k, raw)
        for name, v in (("time", t), ("event", e)):
            if v.dim() == 2 and v.shape[1] > 1:
                raise InvalidSurvivalDataError(
                    f"minibatch {k + 1}: {name} has shape {tuple(v.shape)}, {v.shape[1]} event times per subject "
                    "(a multi-event source), but this model takes one event per subject: (b,) time and event")
        t, e = t.reshape(-1), e.reshape(-1)
        _check_batch(k, X, t, e, n_features)
        yield Batch(scaler.transform(X) if scaler is not None else X, t, e)


def iterate_multi_event_batches(source: Iterable, n_features: int | None, scaler: StandardScaler | None,
                                n_events: int | None = None) -> Iterator[Batch]:
    """Validated multi-event :class:`Batch` es: time and event (b, K) float64, from a source
    yielding ``(X, times, events)`` (tuples, or dicts with keys X, time, event), e.g.
    ``ParquetMinibatches(time=[...], event=[...])``. ``n_events``: the K every batch must have
    (None: the first batch's); a 1-D time counts as K = 1. Checks as :func:`iterate_batches`."""
    for k, raw in enumerate(source):
        X, t, e = _raw_batch(k, raw)
        t, e = (v.unsqueeze(1) if v.dim() == 1 else v for v in (t, e))
        if t.dim() != 2:
            raise InvalidSurvivalDataError(f"minibatch {k + 1}: times must be (b, K), but have shape {tuple(t.shape)}")
        _check_batch(k, X, t, e, n_features)
        if n_events is None:
            n_events = t.shape[1]
        elif t.shape[1] != n_events:
            raise InvalidSurvivalDataError(
                f"minibatch {k + 1} has {t.shape[1]} event times per subject, but {n_events} are needed "
                "(the first batch's number, or the model's)")
        yield Batch(scaler.transform(X) if scaler is not None else X, t, e)


def merge_small_batches(batches: Iterable[Batch], min_rows: int) -> Iterator[Batch]:
    """The batches, with any of fewer than ``min_rows`` rows joined to the one before it (a
    small first batch takes the next one instead), as the in-memory loop joins a short last
    batch to the one before it (BatchNorm cannot train on one row). Holds at most two batches."""
    if min_rows <= 1:
        yield from batches
        return
    pending: Batch | None = None
    for b in batches:
        if pending is None:
            pending = b
        elif b.time.shape[0] < min_rows or pending.time.shape[0] < min_rows:
            pending = Batch(*(torch.cat([old, new]) for old, new in zip(pending, b)))
        else:
            yield pending
            pending = b
    if pending is not None:
        yield pending


class EventTimeGrid:
    """The distinct event times of a stream, collected batch by batch (sorted, float64).

    Memory: 8 bytes per distinct event time, plus the event times not yet merged (at most
    max(distinct times so far, 65536) of them, 8 bytes each).
    """

    MERGE_AT = 65536

    def __init__(self) -> None:
        self._merged = np.empty(0, dtype=np.float64)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0

    @classmethod
    def of(cls, times: np.ndarray) -> "EventTimeGrid":
        """A grid holding ``times`` (sorted distinct, as :meth:`times` returns them)."""
        grid = cls()
        grid._merged = np.asarray(times, dtype=np.float64)
        return grid

    def add(self, time: np.ndarray, event: np.ndarray) -> None:
        """Record the event times of one batch: (b,) float64 ``time``, (b,) 0/1 ``event``."""
        t = np.asarray(time, dtype=np.float64)[np.asarray(event) == 1]
        if t.size:
            self._pending.append(np.unique(t))
            self._n_pending += t.size
            if self._n_pending > max(self._merged.size, self.MERGE_AT):
                self._merge()

    def _merge(self) -> None:
        if self._pending:
            self._merged = np.unique(np.concatenate([self._merged, *self._pending]))
            self._pending, self._n_pending = [], 0

    def times(self) -> np.ndarray:
        """(m,) sorted distinct event times seen so far."""
        self._merge()
        return self._merged


class StreamedBreslow:
    """Breslow's cumulative baseline hazard from a stream of ``(eta, time, event)`` batches.

    H0(t) = sum over event times s <= t of d(s) / sum_{j: time_j >= s} exp(eta_j), as
    ``BreslowBaseline.fit`` (exact: no rounding or binning of times). ``grid`` holds the
    distinct event times (an :class:`EventTimeGrid` from an earlier pass over the same source).
    Per grid time t_k this keeps the event count d_k and the sum of exp(eta - shift) over the
    subjects whose time falls in [t_k, t_{k+1}); the risk-set sum at t_k is the suffix sum of
    those. Memory: 24 bytes per distinct event time (time, count, sum; float64), whatever the
    number of subjects. ``shift`` is the largest eta seen (sums rescaled when it grows), so exp
    cannot overflow.
    """

    def __init__(self, grid: np.ndarray) -> None:
        self.times = np.asarray(grid, dtype=np.float64)
        self.events = np.zeros(self.times.size)
        self.sums = np.zeros(self.times.size)
        self.shift = -np.inf

    def add(self, eta: np.ndarray, time: np.ndarray, event: np.ndarray, batch: int) -> None:
        """One batch: (b,) float64 log-risks, times and 0/1 events; ``batch`` (1-based) names it in errors."""
        eta, time = np.asarray(eta, dtype=np.float64), np.asarray(time, dtype=np.float64)
        observed = np.asarray(event) == 1
        if not eta.size:
            return
        top = float(eta.max())
        if not np.isfinite(top):
            raise InvalidSurvivalDataError(f"minibatch {batch}: the log-risk is not finite in rows "
                                           f"{np.flatnonzero(~np.isfinite(eta))[:5].tolist()}")
        if top > self.shift:
            if np.isfinite(self.shift):
                self.sums *= np.exp(self.shift - top)
            self.shift = top
        slot = np.searchsorted(self.times, time, side="right") - 1
        at_risk = slot >= 0
        np.add.at(self.sums, slot[at_risk], np.exp(eta[at_risk] - self.shift))
        hit = slot[observed]
        on_grid = hit >= 0
        on_grid[on_grid] = self.times[hit[on_grid]] == time[observed][on_grid]
        if not on_grid.all():
            rows = np.flatnonzero(observed)[~on_grid][:5].tolist()
            raise InvalidSurvivalDataError(
                f"minibatch {batch}: rows {rows} have event times the first pass did not see; the source must "
                "give the same subjects in every pass")
        np.add.at(self.events, hit, 1.0)

    def baseline(self) -> BreslowBaseline:
        """The :class:`BreslowBaseline` at the grid's times."""
        missing = self.events == 0
        if missing.any():
            raise InvalidSurvivalDataError(
                f"the baseline pass saw no events at times {self.times[missing][:5].tolist()}, which the first "
                "pass saw; the source must give the same subjects in every pass")
        # in place (the sums become the risk-set sums, the counts the cumulative hazard): no
        # array beyond the 24 bytes per distinct event time
        at_risk, cumhaz = self.sums, self.events
        np.cumsum(at_risk[::-1], out=at_risk[::-1])
        at_risk *= np.exp(self.shift)
        np.divide(cumhaz, at_risk, out=cumhaz)
        np.cumsum(cumhaz, out=cumhaz)
        self.sums = self.events = None  # handed to the baseline
        return BreslowBaseline(self.times, cumhaz)


def stream_fingerprint(source: Iterable) -> str:
    """A hash of a minibatch source for training checkpoints: its class, its length when it has
    one, and the contents of its first minibatch. Read under ``torch.random.fork_rng``: a
    DataLoader's iterator draws a seed from torch's generator, which training must not see."""
    from pysurvbridge.data.fingerprint import hash_arrays

    with torch.random.fork_rng(devices=[]):
        first = next(iter(source), None)
    if first is None:
        return hash_arrays(np.asarray([type(source).__qualname__], dtype=object), None)
    X, t, e = _raw_batch(0, first)
    try:
        length = len(source)  # type: ignore[arg-type]
    except TypeError:
        length = -1
    return hash_arrays(np.asarray([type(source).__qualname__, length], dtype=object), X.numpy(), t.numpy(), e.numpy())
