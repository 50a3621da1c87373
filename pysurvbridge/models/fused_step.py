"""Nnet-survival's training step without autograd, for plain Linear/ReLU networks.

A small network's minibatch step is mostly framework overhead, not arithmetic: for the paper's
39-7-19 MLP on 256 rows, autograd's graph, the loss's mask tensors and the backward engine
cost more than the matrix products. For networks made only of ``nn.Linear`` and ``nn.ReLU``
layers ending in a linear flexible head (one logit per interval), this module computes the
loss of eq. 13 and its gradient by hand, in about a dozen tensor operations:

- forward: a_0 = x, h_k = a_{k-1} W_k' + b_k, a_k = relu(h_k), z = h_last (n, J);
- dL/dz = ((s + f) sigmoid(z) - f) / n with s, f the survived/failed indicators built from the
  two integers per subject of ``interval_counts`` (the closed form of eq. 13's gradient);
- backward: dW_k = delta_k' a_{k-1}, db_k = sum_rows delta_k, delta_{k-1} = (delta_k W_k) *
  (h_{k-1} > 0).

The gradients are written to each parameter's ``.grad``, so the optimizer (Adam, AdamW, SGD,
RMSprop, weight decay) runs unchanged. Anything else (dropout, other activations, BatchNorm,
the proportional head, frozen parameters, a custom module) returns None from
:meth:`FusedDiscreteStep.for_network` and trains through autograd. Tests: the gradients equal
autograd's to float tolerance, and whole fits equal autograd fits.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["FusedDiscreteStep"]


class FusedDiscreteStep:
    """Loss and gradients of ``discrete_nll(network(x), ...)`` (mean over rows) by hand."""

    def __init__(self, layers: list[nn.Linear]) -> None:
        self.layers = layers

    @classmethod
    def for_network(cls, network: nn.Module) -> "FusedDiscreteStep | None":
        """The fused step for ``network`` when it is Linear (-> ReLU -> Linear)* with every
        parameter trainable; None otherwise (the caller then uses autograd)."""
        leaves = [m for m in network.modules() if not isinstance(m, (nn.Sequential, nn.Identity))]
        linears = [m for m in leaves if isinstance(m, nn.Linear)]
        if not linears or any(not isinstance(m, (nn.Linear, nn.ReLU)) for m in leaves):
            return None
        # strictly alternating Linear, ReLU, ..., Linear (no two activations, no ReLU at the end)
        kinds = [isinstance(m, nn.Linear) for m in leaves]
        if kinds != [i % 2 == 0 for i in range(len(leaves))] or not kinds[-1]:
            return None
        if any(not p.requires_grad for p in network.parameters()):
            return None
        return cls(linears)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, n_survived: torch.Tensor, failed_interval: torch.Tensor,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
        """Sets every parameter's ``.grad``; returns the batch's mean loss (0-d, detached).

        x: (n, p) inputs; n_survived, failed_interval: (n,) int64 from ``interval_counts``
        (a failure is always in interval ``n_survived``, so the intervals with a term in eq. 13
        are j < n_survived + [failed]). weights: (n,) case weights (each row's terms times its
        weight, the mean over the sum of the weights, as ``discrete_nll(weights=)``), or None."""
        activations, pre = [x], []
        a = x
        for k, layer in enumerate(self.layers):
            h = torch.addmm(layer.bias, a, layer.weight.t()) if layer.bias is not None else a @ layer.weight.t()
            pre.append(h)
            if k < len(self.layers) - 1:
                a = h.clamp_min(0)
                activations.append(a)
        z = pre[-1]
        n, J = z.shape
        j = self._interval_index(J, z.device)
        counted = (j < (n_survived + (failed_interval >= 0)).unsqueeze(1)).to(z.dtype)  # s + f
        failed = (j == failed_interval.unsqueeze(1)).to(z.dtype)  # f
        denominator = max(n, 1)
        if weights is not None:  # w (s + f): each row's terms times its weight
            w = weights.to(z.dtype)
            counted = counted * w.unsqueeze(1)
            total = w.sum()
            denominator = torch.where(total > 0, total, torch.ones_like(total))
        # eq. 13: survived terms softplus(z) = -log(1 - h), failed terms softplus(-z) = -log h
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, failed, counted, reduction="sum") / denominator
        delta = torch.sigmoid(z).sub_(failed).mul_(counted).div_(denominator)  # dL/dz
        for k in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[k]
            layer.weight.grad = delta.t() @ activations[k]
            if layer.bias is not None:
                layer.bias.grad = delta.sum(0)
            if k:
                delta = (delta @ layer.weight).mul_(pre[k - 1] > 0)
        return loss

    def _interval_index(self, J: int, device: torch.device) -> torch.Tensor:
        j = getattr(self, "_j", None)
        if j is None or j.shape[0] != J or j.device != device:
            j = self._j = torch.arange(J, device=device)
        return j
