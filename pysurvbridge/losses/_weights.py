"""Case weights of the losses: one non-negative weight per subject (row of the loss's inputs)."""
from __future__ import annotations

import torch

from pysurvbridge.errors import InvalidParameterError


def case_weights(weights, n: int, like: torch.Tensor) -> torch.Tensor | None:
    """``weights`` as an (n,) tensor of ``like``'s dtype and device, or None; refuses another
    shape and negative, NaN or infinite values, naming the first rows."""
    if weights is None:
        return None
    w = torch.as_tensor(weights, device=like.device)
    if w.dim() != 1 or w.shape[0] != n:
        raise InvalidParameterError(f"weights must have shape ({n},), one per subject, but has {tuple(w.shape)}")
    w = w.to(like.dtype)
    bad = ~(torch.isfinite(w) & (w >= 0))
    if bool(bad.any()):
        raise InvalidParameterError("weights must be non-negative and finite, but are negative, NaN or infinite in "
                                    f"rows {torch.nonzero(bad).squeeze(1)[:5].tolist()}")
    return w


def weight_total(w: torch.Tensor) -> torch.Tensor:
    """The sum of the weights, the denominator of a "mean" reduction; 1 when it is 0 (every
    term then has weight 0, so the loss is 0 rather than 0 / 0)."""
    total = w.sum()
    return torch.where(total > 0, total, torch.ones_like(total))
