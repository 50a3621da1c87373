"""The result store of ``compare(store=...)``: every finished cell written to disk as soon as it
finishes, atomically, so an interrupted comparison resumes where it stopped.

Layout (plain files; JSON, and each model's own ``save()`` format; no pickle)::

    <store>/<comparison key>/manifest.json          what the key covers, readable
    <store>/<comparison key>/cells/<model>~seed<s>~<cell key>.json
    <store>/<comparison key>/models/<model>~seed<s>~<cell key>/   the last seed's fitted model

The **comparison key** is a fingerprint of what every cell shares: the data (a hash of the
container's arrays), the split arguments (test and validation shares, trajectories,
competing risks, the epochs cap), the metric arguments (the Brier times) and the package
version. The **cell key** adds the seed and the model: its name, its configuration (the
configured estimator's parameters, or the run function's qualified name for a hand-made
spec) and its tuning request. A rerun with the same arguments finds the same files and skips
those cells; a rerun that differs in anything writes beside them under other keys and never
mixes (the manifests say which key is which).

Each cell file holds a record (:mod:`pysurvbridge.comparison.records`) and its SHA-256;
writes go to a temporary file in the same folder, are flushed and fsynced, then renamed over
the target (and the folder fsynced), so a kill leaves either the old file or the new one. A
file that does not parse or whose checksum does not match is reported and recomputed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from pysurvbridge.comparison.records import canonical, checksum
from pysurvbridge.data.fingerprint import data_fingerprint
from pysurvbridge.errors import InvalidParameterError, SurvBridgeError

__all__ = ["ResultStore", "StoreError", "atomic_write", "data_fingerprint", "package_version", "spec_fingerprint"]


class StoreError(SurvBridgeError, OSError):
    """The result store cannot be used (not writable, not a folder)."""


def package_version() -> str:
    """pysurvbridge's version from its installed metadata ("unknown" in a source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pysurvbridge")
    except PackageNotFoundError:
        return "unknown"


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def spec_fingerprint(spec: Any, tune: Any) -> dict:
    """What identifies a model's cells: its name, its configuration and its tuning request."""
    if spec.tuning is not None:
        config = repr(sorted(spec.tuning.estimator.get_params(deep=False).items()))
    else:
        config = f"{getattr(spec.run, '__module__', '')}.{getattr(spec.run, '__qualname__', repr(spec.run))}"
    request = None if tune is None else {"space": repr(sorted(tune.space.items())), "trials": tune.trials,
                                         "folds": tune.folds, "metric": tune.metric}
    return {"name": spec.name, "family": spec.family, "config": config, "tune": request}


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a filesystem without directory handles: the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ResultStore:
    """One comparison's folder in a store (see the module docstring)."""

    def __init__(self, root: str | os.PathLike, parts: dict) -> None:
        self.root = Path(root)
        self.parts = parts
        self.key = _digest(parts)[:16]
        self.dir = self.root / self.key
        try:
            (self.dir / "cells").mkdir(parents=True, exist_ok=True)
            (self.dir / "models").mkdir(exist_ok=True)
            probe = self.dir / f".write-test-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"the result store {str(self.root)!r} cannot be written ({type(exc).__name__}: "
                             f"{exc}); give a folder this process may write") from None
        manifest = self.dir / "manifest.json"
        if not manifest.exists():
            atomic_write(manifest, json.dumps({"key": self.key, **parts}, indent=1, default=str).encode())

    def _name(self, model: str, seed: int, cell_parts: dict) -> str:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model)
        return f"{safe}~seed{seed}~{_digest(cell_parts)[:12]}"

    def cell_path(self, model: str, seed: int, cell_parts: dict) -> Path:
        return self.dir / "cells" / f"{self._name(model, seed, cell_parts)}.json"

    def model_path(self, model: str, seed: int, cell_parts: dict) -> Path:
        return self.dir / "models" / self._name(model, seed, cell_parts)

    def load(self, model: str, seed: int, cell_parts: dict) -> tuple[dict | None, str | None]:
        """(the record, None), (None, None) when absent, or (None, why) when the file is
        unreadable or fails its checksum (the caller recomputes the cell)."""
        path = self.cell_path(model, seed, cell_parts)
        if not path.exists():
            return None, None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if checksum(record["payload"]) != record["checksum"]:
                raise ValueError("the checksum does not match the contents")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            return None, f"store: {path.name} was unreadable ({type(exc).__name__}: {str(exc)[:120]}); recomputed"
        return record, None

    def save(self, model: str, seed: int, cell_parts: dict, record: dict) -> Path:
        path = self.cell_path(model, seed, cell_parts)
        atomic_write(path, json.dumps(record, allow_nan=True).encode("utf-8"))
        return path

    def save_model(self, model: str, seed: int, cell_parts: dict, fitted: Any) -> str | None:
        """Save a fitted model with its own ``save()`` (a list of models: one folder each);
        the folder's name relative to the store, or None when the object has no ``save``."""
        items = fitted if isinstance(fitted, (list, tuple)) else [fitted]
        if not items or not all(hasattr(m, "save") and callable(m.save) for m in items):
            return None
        target = self.model_path(model, seed, cell_parts)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        for k, m in enumerate(items):
            m.save(tmp / str(k) if len(items) > 1 else tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
        return str(target.relative_to(self.dir))


def check_store_argument(store: Any) -> Path | None:
    if store is None:
        return None
    if not isinstance(store, (str, os.PathLike)):
        raise InvalidParameterError(f"store must be a folder path or None, but was {store!r}")
    path = Path(store)
    if path.exists() and not path.is_dir():
        raise StoreError(f"the result store {str(path)!r} is a file, not a folder")
    return path
