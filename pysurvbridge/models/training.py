"""Pieces of the training loop: device choice, optimizers, progress and early stopping."""
from __future__ import annotations

import math
from typing import Iterable

import pandas as pd
import torch
from torch import nn

from pysurvbridge.errors import InvalidParameterError

__all__ = ["resolve_device", "make_optimizer", "TrainingLog"]

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
              "rmsprop": torch.optim.RMSprop}


def resolve_device(device: str | torch.device) -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything else as torch.device, checked."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidParameterError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', but was {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"device={device!r} was asked for but torch sees no CUDA device "
                                    f"(torch {torch.__version__}); use device='cpu' or 'auto'")
    return dev


def make_optimizer(name: str, params: Iterable[nn.Parameter], lr: float,
                   weight_decay: float) -> torch.optim.Optimizer:
    """The named optimizer, with torch's fused kernel where it has one (Adam, AdamW, SGD on
    CPU and CUDA since torch 2.4): one kernel per step instead of one per parameter, which
    is most of a small network's step time (about 1.5x the samples per second of the
    unfused Adam in benchmarks/bench_nnet_survival.py)."""
    if name not in OPTIMIZERS:
        raise InvalidParameterError(f"optimizer must be one of {sorted(OPTIMIZERS)}, but was {name!r}")
    params = list(params)
    if name != "rmsprop":
        try:
            return OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay, fused=True)
        except (RuntimeError, TypeError, ValueError):  # an older torch or an unsupported device
            pass
    return OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay)


class _NoBar:
    """What :func:`progress_bar` gives when nothing is shown."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(show: bool, **kwargs):
    """A ``tqdm.auto`` bar, or a silent stand-in when ``show`` is False. tqdm is imported only
    when a bar is shown: importing ``tqdm.auto`` in a Jupyter kernel without ipywidgets prints a
    TqdmWarning, which quiet calls (``verbose=False``) must not."""
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(**kwargs)


class TrainingLog:
    """Loss history, the tqdm bar, and early stopping with a *copy* of the best weights.

    ``record`` returns True when training should stop (``patience`` epochs without a lower
    validation loss). ``best_state`` is a deep copy of the network's state_dict at the best
    validation epoch (None without validation).
    """

    def __init__(self, desc: str, epochs: int, patience: int | None, verbose: bool) -> None:
        self.rows: list[tuple[int, float, float]] = []
        self.patience = patience
        self.best_loss = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        # no tqdm object at all when quiet: constructing one creates a multiprocessing lock, which
        # fails in processes spawned for distributed training when the resource tracker cannot start
        self.bar = progress_bar(True, total=epochs, desc=desc, unit="epoch", leave=True) if verbose else None
        self.stopped = False  # early stopping has stopped (a resumed fit trains no further)

    def record(self, epoch: int, train_loss: float, val_loss: float | None, network: nn.Module) -> bool:
        self.rows.append((epoch + 1, train_loss, math.nan if val_loss is None else val_loss))
        shown = {"train_loss": f"{train_loss:.4f}"}
        if val_loss is not None:
            shown["val_loss"] = f"{val_loss:.4f}"
            if val_loss < self.best_loss:
                self.best_loss, self.best_epoch = val_loss, epoch + 1
                self.best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        self.stopped = (self.patience is not None and self.best_epoch is not None
                        and epoch + 1 - self.best_epoch >= self.patience)
        return self.stopped

    def state(self) -> dict:
        """What a training checkpoint keeps of the log (plain values and tensors)."""
        return {"rows": [list(r) for r in self.rows], "best_loss": self.best_loss, "best_epoch": self.best_epoch,
                "best_state": self.best_state, "stopped": self.stopped}

    def restore(self, state: dict, device: torch.device) -> None:
        """Continue from :meth:`state`'s values (the bar moves to the finished epochs)."""
        self.rows = [(int(e), float(t), float(v)) for e, t, v in state["rows"]]
        self.best_loss, self.best_epoch, self.stopped = state["best_loss"], state["best_epoch"], state["stopped"]
        self.best_state = None if state["best_state"] is None else {
            k: v.to(device) for k, v in state["best_state"].items()}
        if self.bar is not None:
            self.bar.update(len(self.rows))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def history(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["epoch", "train_loss", "val_loss"])
