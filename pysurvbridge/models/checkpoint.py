"""Training checkpoints: ``fit(..., checkpoint="folder", checkpoint_every=1)``.

Every ``checkpoint_every`` epochs (and after the last one, or when early stopping stops) the
training loop writes ``<folder>/checkpoint.pt``: the network's weights, the optimizer's state,
the random states (torch's CPU generator that draws dropout masks, the CUDA one on a GPU,
and the shuffling generator), the number of finished epochs, the loss history, the best
validation loss with its epoch and weights, whether early stopping has stopped, and what a
model keeps of its own between epochs (CoxVAE's streamed event times). It is written
atomically: a temporary file in the same folder, flushed and fsynced, then renamed over the
old one, so a kill leaves the last complete checkpoint.

A ``fit`` that finds a checkpoint in its folder resumes after its last finished epoch; on
the CPU, with the same seed, it ends with the same weights as a fit that was never
interrupted (tests/reliability/test_checkpoint.py kills a training process and compares).
A streamed fit resumes at the epoch boundary: the source is read again from its start.

The checkpoint carries the identity of its fit, and a fit with another identity refuses it,
naming what differs: the model class, its hyper-parameters and the training options
(``epochs``, ``verbose`` and ``device`` aside: more epochs continue a finished training),
the seed, and a fingerprint of the training data (a hash of the container; for a stream, of
its class, its length when it has one, and its first minibatch).

File format: a dict of tensors and plain values saved by ``torch.save`` and read with
``weights_only=True`` (no code is unpickled). A completed fit keeps its checkpoint: the same
call again returns at once with the same weights.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import torch

from pysurvbridge.errors import InvalidParameterError

__all__ = ["Checkpoint", "FILE_NAME", "check_checkpoint_args"]

FORMAT = 1
FILE_NAME = "checkpoint.pt"
#: training options that may change between a fit and its resumption
NOT_IDENTITY = ("epochs", "verbose", "device")


def check_checkpoint_args(checkpoint: Any, every: Any) -> Path | None:
    """The checkpoint folder as a Path (created), or None; errors name the argument."""
    if not isinstance(every, (int,)) or isinstance(every, bool) or every < 1:
        raise InvalidParameterError(f"checkpoint_every must be a positive integer (epochs), but was {every!r}")
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise InvalidParameterError(f"checkpoint must be a folder path (str or Path) or None, but was "
                                    f"{type(checkpoint).__name__}")
    folder = Path(checkpoint)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InvalidParameterError(f"checkpoint folder {str(folder)!r} cannot be written ({type(exc).__name__}: "
                                    f"{exc}); give a folder this process may write") from None
    return folder


class Checkpoint:
    """The checkpoint file of one fit; ``identity`` is a dict of strings (see the module
    docstring) that a checkpoint must match to be resumed."""

    def __init__(self, folder: Path, identity: dict[str, str]) -> None:
        self.folder, self.identity = Path(folder), identity
        self.path = self.folder / FILE_NAME

    def load(self) -> dict | None:
        """The saved training state, or None when the folder holds none; raises when it holds
        one of another fit, or one that cannot be read."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
            saved = json.loads(state["identity"])
        except Exception as exc:  # noqa: BLE001  (any unreadable file gets the same advice)
            raise InvalidParameterError(
                f"the checkpoint {str(self.path)!r} cannot be read ({type(exc).__name__}: "
                f"{_short(str(exc).strip().splitlines()[0] if str(exc).strip() else '')}); delete it to start this "
                "training over") from None
        if state.get("format") != FORMAT:
            raise InvalidParameterError(f"the checkpoint {str(self.path)!r} has format {state.get('format')!r}, this "
                                        f"version reads {FORMAT}; delete it to start this training over")
        differs = [k for k in sorted(set(saved) | set(self.identity)) if saved.get(k) != self.identity.get(k)]
        if differs:
            detail = "; ".join(f"{k}: checkpoint {_short(saved.get(k))}, this fit {_short(self.identity.get(k))}"
                               for k in differs)
            raise InvalidParameterError(
                f"the checkpoint in {str(self.folder)!r} belongs to another fit ({detail}); give this fit another checkpoint folder, or delete {FILE_NAME} there to start over")
        return state

    def save(self, state: dict) -> None:
        """Write ``state`` (tensors and plain values) atomically, with the identity."""
        payload = {**state, "format": FORMAT, "identity": json.dumps(self.identity, sort_keys=True)}
        tmp = self.folder / f".{FILE_NAME}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                torch.save(payload, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        finally:
            if tmp.exists():
                tmp.unlink()
        try:
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:  # a filesystem without directory handles: the rename is still atomic
            pass


def _short(value: Any) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
