"""Nnet-survival's hand-written training step (pysurvbridge/models/fused_step.py).

Reference: torch autograd of the package's ``discrete_nll`` (itself checked against the paper's
eq. 13 and ``torch.autograd.gradcheck`` in test_losses_discrete.py) on the same network.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pysurvbridge.data import SurvivalData
from pysurvbridge.data.intervals import interval_counts, interval_masks
from pysurvbridge.losses import discrete_nll
from pysurvbridge.models import NnetSurvival
from pysurvbridge.models.fused_step import FusedDiscreteStep
from pysurvbridge.models.networks import mlp


def _batch(n=97, p=6, J=8, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p, generator=g, dtype=dtype)
    time = torch.rand(n, generator=g, dtype=torch.float64) * 10
    event = (torch.rand(n, generator=g) < 0.6).double()
    breaks = torch.linspace(0, 9, J + 1, dtype=torch.float64)  # some times after the last break
    return x, interval_counts(time, event, breaks)


@pytest.mark.parametrize("hidden", [(), (7,), (8, 4), (5, 5, 3)])
def test_gradients_and_loss_equal_autograd(hidden):
    torch.manual_seed(0)
    net = nn.Sequential(mlp(6, hidden, None), nn.Linear(hidden[-1] if hidden else 6, 8)).double()
    x, (ns, fi) = _batch()
    survived, failed = interval_masks(ns, fi, 8, torch.float64)
    loss_ref = discrete_nll(net(x), survived, failed)
    grads_ref = torch.autograd.grad(loss_ref, list(net.parameters()))
    step = FusedDiscreteStep.for_network(net)
    assert step is not None
    loss = step(x, ns, fi)
    assert abs(loss.item() - loss_ref.item()) < 1e-12
    for p, g in zip(net.parameters(), grads_ref):
        torch.testing.assert_close(p.grad, g, rtol=0, atol=1e-12)


def test_bias_free_layers_and_an_empty_batch_part():
    net = nn.Sequential(nn.Linear(6, 4, bias=False), nn.ReLU(), nn.Linear(4, 8, bias=False)).double()
    x, (ns, fi) = _batch(n=5)
    ns[:] = 0  # everyone fails or is censored in the first interval (interval_counts' invariant:
    fi[fi >= 0] = 0  # a failure is in interval n_survived)
    survived, failed = interval_masks(ns, fi, 8, torch.float64)
    ref = torch.autograd.grad(discrete_nll(net(x), survived, failed), list(net.parameters()))
    FusedDiscreteStep.for_network(net)(x, ns, fi)
    for p, g in zip(net.parameters(), ref):
        torch.testing.assert_close(p.grad, g, rtol=0, atol=1e-12)


@pytest.mark.parametrize("network", [
    nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 8)),  # another activation
    nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Dropout(0.1), nn.Linear(4, 8)),  # dropout
    nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 8)),
    nn.Sequential(nn.Linear(6, 4), nn.ReLU()),  # ends in an activation
    nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.ReLU(), nn.Linear(4, 8)),
])
def test_other_networks_fall_back_to_autograd(network):
    assert FusedDiscreteStep.for_network(network) is None


def test_frozen_parameters_fall_back_to_autograd():
    net = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 8))
    net[0].weight.requires_grad_(False)
    assert FusedDiscreteStep.for_network(net) is None


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    t, c = rng.exponential(np.exp(-X[:, 0])), rng.exponential(2.0, n)
    return SurvivalData.from_arrays(np.minimum(t, c), (t <= c).astype(int), X)


@pytest.mark.parametrize("hidden,optimizer", [((), "adam"), ((7,), "adam"), ((8, 4), "sgd"), ((7,), "adamw")])
def test_fits_equal_autograd_fits(hidden, optimizer):
    """Same seed, same batches: the weights after 4 epochs agree to float32 rounding."""
    data = _data()
    kw = dict(epochs=4, batch_size=64, lr=1e-2, seed=1, verbose=False, optimizer=optimizer, weight_decay=1e-3)
    fused = NnetSurvival(10, hidden=hidden).fit(data, **kw)
    plain = NnetSurvival(10, hidden=hidden, fused_step=False).fit(data, **kw)
    for a, b in zip(fused.network_.parameters(), plain.network_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fused.history_["train_loss"], plain.history_["train_loss"], rtol=1e-5)


def test_the_fit_uses_the_fused_step_only_where_it_applies(monkeypatch):
    calls = []
    original = FusedDiscreteStep.__call__
    monkeypatch.setattr(FusedDiscreteStep, "__call__", lambda self, *a: calls.append(1) or original(self, *a))
    data = _data(500)
    NnetSurvival(10, hidden=(7,)).fit(data, epochs=1, batch_size=100, verbose=False)
    assert len(calls) == 5
    for model in (NnetSurvival(10, hidden=(7,), dropout=0.2), NnetSurvival(10, head="proportional"),
                  NnetSurvival(10, hidden=(7,), activation="tanh"), NnetSurvival(10, hidden=(7,), fused_step=False)):
        model.fit(data, epochs=1, batch_size=100, verbose=False)
    assert len(calls) == 5
    assert NnetSurvival(10).get_params()["fused_step"] is True
