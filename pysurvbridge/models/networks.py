"""Small network builders shared by the neural models (plain ``torch.nn`` modules)."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from pysurvbridge.errors import InvalidParameterError

__all__ = ["mlp", "small_cnn", "check_mlp_args", "ACTIVATIONS"]

ACTIVATIONS = {"relu": nn.ReLU, "selu": nn.SELU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}


def mlp(n_in: int, hidden: Sequence[int], n_out: int | None, *, dropout: float = 0.0,
        activation: str = "relu", batch_norm: bool = False, bias_out: bool = True) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout] per hidden layer, then Linear(n_out).

    ``hidden=()`` gives a single linear layer (a linear model); ``n_out=None`` stops after the
    last hidden layer (a feature extractor). Input (batch, n_in) -> output (batch, n_out).
    """
    hidden = check_mlp_args(hidden, dropout, activation)
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    if n_out is not None:
        layers.append(nn.Linear(width, n_out, bias=bias_out))
    return nn.Sequential(*layers)


def check_mlp_args(hidden: Sequence[int], dropout: float, activation: str) -> list[int]:
    """Validate MLP hyper-parameters without building layers (which would draw random numbers)."""
    if activation not in ACTIVATIONS:
        raise InvalidParameterError(f"activation must be one of {sorted(ACTIVATIONS)}, but was {activation!r}")
    if not 0.0 <= dropout < 1.0:
        raise InvalidParameterError(f"dropout must be in [0, 1), but was {dropout!r}")
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise InvalidParameterError(f"hidden must be a sequence of layer widths such as (32, 32) or () for none, "
                                    f"but was {hidden!r}")
    sizes = [int(h) for h in hidden]
    if any(h < 1 for h in sizes):
        raise InvalidParameterError(f"hidden layer sizes must be >= 1, but were {sizes}")
    return sizes


def small_cnn(image_shape: tuple[int, int] = (8, 8), channels: Sequence[int] = (16, 32),
              n_features: int = 32, dropout: float = 0.2) -> nn.Sequential:
    """A small CNN feature extractor for flattened single-channel images.

    Input (batch, H*W) (a SurvivalData row of pixels) -> (batch, n_features). Each block is
    Conv3x3(padding 1) -> ReLU -> MaxPool2, then Flatten -> Linear -> ReLU -> Dropout.
    """
    h, w = (int(s) for s in image_shape)
    layers: list[nn.Module] = [nn.Unflatten(1, (1, h, w))]
    c_in = 1
    for c in channels:
        layers += [nn.Conv2d(c_in, int(c), 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        c_in, h, w = int(c), h // 2, w // 2
        if h < 1 or w < 1:
            raise InvalidParameterError(f"image_shape {image_shape} is too small for {len(channels)} pooling blocks")
    layers += [nn.Flatten(), nn.Linear(c_in * h * w, n_features), nn.ReLU()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
