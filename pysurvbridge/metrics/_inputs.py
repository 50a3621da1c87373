"""Checks and conversions shared by every metric.

Metrics accept numpy arrays, pandas objects and torch tensors (any device). Vectors become
float64 numpy arrays (they are O(n)); the (n, len(times)) survival matrix stays a torch tensor
on its own device, so the O(n x m) work of the Brier score and td-AUC runs on the GPU when the
predictions live there. Every check names the argument and the first offending positions.
"""
from __future__ import annotations

import numpy as np
import torch

from pysurvbridge.errors import InvalidParameterError

#: how far a predicted survival curve may rise between two times before it is refused
MONOTONE_TOLERANCE = 1e-7


def as_vector(x, name: str) -> np.ndarray:
    """float64 numpy copy of a 1-D array-like or tensor, refusing NaN and infinity."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.array(x, dtype=np.float64)  # a writable copy (containers hold read-only arrays)
    if arr.ndim != 1:
        raise InvalidParameterError(f"{name} must be 1-D, but has shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InvalidParameterError(f"{name} has missing or infinite values at positions "
                                    f"{np.flatnonzero(bad)[:5].tolist()}")
    return arr


def survival_arrays(time, event, what: str = "", *, need_events: bool = False,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Validated (time (n,), event (n,) int64 0/1); ``what`` prefixes names in messages."""
    t = as_vector(time, f"{what}time")
    e = as_vector(event, f"{what}event")
    if len(t) != len(e):
        raise InvalidParameterError(f"{what}time and {what}event differ in length: {len(t)} and {len(e)}")
    if (t < 0).any():
        raise InvalidParameterError(f"{what}time has negative values at positions "
                                    f"{np.flatnonzero(t < 0)[:5].tolist()}")
    e = event_codes(e, f"{what}event")
    if need_events and not e.any():
        raise InvalidParameterError(f"{what}event: every subject is censored (no events), so the "
                                    "metric is undefined")
    return t, e


def event_codes(event, name: str = "event") -> np.ndarray:
    """(n,) int64 0/1 event indicators; other codes are refused with their positions."""
    e = as_vector(event, name)
    wrong = ~np.isin(e, (0, 1))
    if wrong.any():
        raise InvalidParameterError(f"{name} must be 0/1, found {sorted(set(e[wrong]))[:5]} "
                                    f"at positions {np.flatnonzero(wrong)[:5].tolist()}")
    return e.astype(np.int64)


def same_length(name: str, values: np.ndarray, n: int) -> None:
    if len(values) != n:
        raise InvalidParameterError(f"{name} has {len(values)} values but time has {n}")


def case_weights(weights, n: int, name: str = "weights") -> np.ndarray:
    """(n,) float64 case weights, each positive and finite; refuses 0, negative values, NaN,
    infinity (naming the first offending rows and their values), other shapes and lengths."""
    if isinstance(weights, torch.Tensor):
        weights = weights.detach().cpu().numpy()
    try:
        w = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name} must be numbers (case weights), but: {exc}") from exc
    if w.ndim != 1:
        raise InvalidParameterError(f"{name} must be 1-D (one case weight per subject), but has shape {w.shape}")
    if len(w) != n:
        raise InvalidParameterError(f"{name} has {len(w)} values but there are {n} subjects (time has {n})")
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        raise InvalidParameterError(
            f"{name} must be positive and finite (case weights), but rows {rows.tolist()} are "
            f"{w[rows].tolist()}; drop those subjects instead of giving them weight 0")
    return w


def increasing_times(times, name: str = "times") -> np.ndarray:
    grid = as_vector(times, name)
    if len(grid) == 0 or np.any(np.diff(grid) <= 0):
        raise InvalidParameterError(f"{name} must be a non-empty increasing sequence")
    return grid


def float64_tensor(x) -> torch.Tensor:
    """float64 tensor of an array-like, or of a tensor on its own device (never modifies x)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float64)
    return torch.from_numpy(np.array(x, dtype=np.float64, copy=True))


def survival_matrix(survival, n: int, m: int) -> torch.Tensor:
    """(n, m) float64 tensor of survival probabilities, on the device it came from.

    Refuses the wrong shape, values outside [0, 1], NaN, and curves that rise in time (by
    more than :data:`MONOTONE_TOLERANCE`), naming the first offending rows.
    """
    S = float64_tensor(survival)
    if tuple(S.shape) != (n, m):
        raise InvalidParameterError(f"survival must have shape (n subjects, len(times)) = {(n, m)}, "
                                    f"but has {tuple(S.shape)}")
    outside = ~((S >= 0) & (S <= 1)).all(dim=1)  # NaN fails both comparisons
    if outside.any():
        rows = torch.nonzero(outside).flatten()[:5].tolist()
        raise InvalidParameterError(f"survival must hold probabilities in [0, 1] (no NaN); rows {rows} do not")
    if m > 1:
        rising = (torch.diff(S, dim=1) > MONOTONE_TOLERANCE).any(dim=1)
        if rising.any():
            rows = torch.nonzero(rising).flatten()[:5].tolist()
            raise InvalidParameterError(
                f"survival curves must not increase in time, but rows {rows} do (columns follow "
                "`times`, which must be increasing)")
    return S
