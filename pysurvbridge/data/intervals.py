"""Discrete-time survival targets for Nnet-survival (Gensheimer & Narasimhan, 2019).

Time is cut at ``breaks`` a_0 = 0 < a_1 < ... < a_J into J intervals [a_{j-1}, a_j). Each
subject gets two (J,) indicator rows:

- ``survived[j] = 1`` when the subject is credited with surviving interval j: an event at
  t >= a_j, or censoring at t >= the interval's midpoint (the paper's rule: a subject censored
  in the second half of an interval gets credit for surviving it, one censored in the first
  half does not);
- ``failed[j] = 1`` for the interval that contains an event time (none when the event is at or
  after the last break).

The break helpers return float64 arrays starting at 0.
"""
from __future__ import annotations

import numpy as np
import torch

from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

__all__ = ["make_intervals", "interval_targets", "interval_counts", "interval_masks", "breaks_equal_width",
           "breaks_event_quantiles", "breaks_half_life", "check_breaks"]


def check_breaks(breaks) -> np.ndarray:
    """``breaks`` as a float64 array: finite, strictly increasing, starting at 0, >= 2 values."""
    b = np.asarray(breaks, dtype=np.float64).ravel()
    if b.size < 2:
        raise InvalidParameterError(f"breaks must hold at least 2 values (1 interval), but has {b.size}")
    if not np.isfinite(b).all():
        raise InvalidParameterError(f"breaks must be finite, but were {b.tolist()[:8]}")
    if b[0] != 0.0:
        raise InvalidParameterError(f"breaks must start at 0, but start at {float(b[0])!r}")
    step = np.diff(b)
    if (step <= 0).any():
        k = int(np.argmax(step <= 0))
        raise InvalidParameterError(
            f"breaks must be strictly increasing, but breaks[{k}] = {float(b[k])!r} >= breaks[{k + 1}] = {float(b[k + 1])!r}"
        )
    return b


def interval_counts(time: torch.Tensor, event: torch.Tensor, breaks: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Compact form of the targets: (n,) int64 ``n_survived`` (survival credit covers intervals
    0..n_survived-1) and (n,) int64 ``failed_interval`` (-1 when there is no failure).

    Two integers per subject instead of two (n, J) masks: what the training loop keeps on the
    device and shuffles each epoch; :func:`interval_masks` expands a batch. No validation.
    """
    upper = breaks[1:].contiguous()
    mid = (0.5 * (breaks[:-1] + breaks[1:])).contiguous()
    t = time.contiguous()
    after_upper = torch.searchsorted(upper, t, right=True)  # number of upper limits <= t
    after_mid = torch.searchsorted(mid, t, right=True)      # number of midpoints <= t
    is_event = event.bool()
    n_survived = torch.where(is_event, after_upper, after_mid)
    # an event at a_{j-1} <= t < a_j fails in interval j-1 = after_upper; none after the last break
    failed = torch.where(is_event & (after_upper < upper.shape[0]), after_upper, torch.full_like(after_upper, -1))
    return n_survived, failed


def interval_masks(n_survived: torch.Tensor, failed_interval: torch.Tensor, n_intervals: int,
                   dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, J) ``survived`` and ``failed`` indicator masks from :func:`interval_counts`."""
    j = torch.arange(n_intervals, device=n_survived.device)
    survived = (j < n_survived.unsqueeze(1)).to(dtype)
    failed = (j == failed_interval.unsqueeze(1)).to(dtype)
    return survived, failed


def interval_targets(time: torch.Tensor, event: torch.Tensor, breaks: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Torch core of :func:`make_intervals`: (n,) time and event, (J+1,) breaks on one device.

    Returns ``survived`` and ``failed``, each (n, J) in ``time``'s dtype. No validation (the
    caller validated once).
    """
    n_survived, failed = interval_counts(time, event, breaks)
    return interval_masks(n_survived, failed, breaks.shape[0] - 1, time.dtype)


def make_intervals(time, event, breaks) -> tuple[np.ndarray, np.ndarray]:
    """Indicator arrays ``survived`` and ``failed``, each (n, J), for the paper's eq. 13.

    ``time`` (n,) non-negative times in the unit of ``breaks``; ``event`` (n,) 1 = event,
    0 = censored; ``breaks`` (J+1,) increasing, starting at 0. See the module docstring for
    the censoring rule.
    """
    b = check_breaks(breaks)
    t = np.array(time, dtype=np.float64).ravel()  # copies: inputs may be read-only
    e = np.array(event).ravel()
    if len(e) != len(t):
        raise InvalidSurvivalDataError(f"time and event must have the same length; got {len(t)} and {len(e)}")
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        raise InvalidSurvivalDataError(
            f"time must be finite and non-negative; bad values at rows {np.flatnonzero(bad)[:5].tolist()}")
    bad = ~np.isin(e, (0, 1))
    if bad.any():
        raise InvalidSurvivalDataError(
            f"event must be 0 or 1; bad values at rows {np.flatnonzero(bad)[:5].tolist()}")
    s, f = interval_targets(torch.from_numpy(t), torch.from_numpy(e.astype(np.int64)), torch.from_numpy(b))
    return s.numpy(), f.numpy()


def breaks_equal_width(max_time: float, n_intervals: int | None = None, *,
                       width: float | None = None) -> np.ndarray:
    """Equal-width breaks from 0: either ``n_intervals`` intervals to ``max_time`` or steps of
    ``width`` up to the last multiple below ``max_time`` (the paper's ``np.arange(0, 5*365,
    365/8)``: 39 intervals of 45.6 days to 1779 days)."""
    if not max_time > 0:
        raise InvalidParameterError(f"max_time must be positive, but was {max_time!r}")
    if (n_intervals is None) == (width is None):
        raise InvalidParameterError("give exactly one of n_intervals and width")
    if width is not None:
        if not width > 0:
            raise InvalidParameterError(f"width must be positive, but was {width!r}")
        return np.arange(0.0, max_time, width, dtype=np.float64)
    if int(n_intervals) < 1:
        raise InvalidParameterError(f"n_intervals must be >= 1, but was {n_intervals!r}")
    return np.linspace(0.0, float(max_time), int(n_intervals) + 1)


def breaks_event_quantiles(time, event, n_intervals: int) -> np.ndarray:
    """Breaks at 0 and the quantiles 1/J, ..., 1 of the event times (equal events per
    interval; repeated quantiles on tied data are merged, so fewer intervals may result)."""
    t = np.asarray(time, dtype=np.float64)[np.asarray(event).astype(bool)]
    if t.size == 0:
        raise InvalidSurvivalDataError("event quantile breaks need at least one event; all subjects are censored")
    if int(n_intervals) < 1:
        raise InvalidParameterError(f"n_intervals must be >= 1, but was {n_intervals!r}")
    q = np.quantile(t, np.linspace(0, 1, int(n_intervals) + 1)[1:])
    # a tiny step past the largest event time, so the last event falls inside the last interval
    q[-1] = np.nextafter(q[-1], np.inf)
    b = np.unique(np.concatenate([[0.0], q[q > 0]]))
    return check_breaks(b)


def breaks_half_life(n_intervals: int = 19, *, half_life: float = 365.0, step: float = 0.05) -> np.ndarray:
    """The paper's spacing ``-ln(1 - x) * half_life / ln 2`` for x = 0, step, ..., n_intervals*step.

    Intervals widen as the survival of an exponential with that half-life falls: each holds
    about the same fraction (``step``) of that distribution's events. The defaults give the
    paper's 19 intervals to 1577 days (x up to 0.95).
    """
    n = int(n_intervals)
    if n < 1 or not 0 < step or n * step >= 1:
        raise InvalidParameterError(
            f"need n_intervals >= 1 and 0 < n_intervals * step < 1; got {n_intervals!r} and {step!r}")
    if not half_life > 0:
        raise InvalidParameterError(f"half_life must be positive, but was {half_life!r}")
    x = np.arange(n + 1) * step
    return -np.log1p(-x) * half_life / np.log(2.0)
