"""A finished cell as plain JSON: what the result store writes and what worker processes send
back. Everything a comparison needs of a cell travels (the scored row, the notes, the tuning
trials, the per-subject predictions the scores and the verdict come from); the fitted model
does not (the store saves the last seed's with its own ``save()`` beside the record).

Arrays are stored bit for bit (base64 of their bytes, with dtype and shape), floats of the row
as JSON numbers (Python writes the shortest text that reads back to the same double), so a
table rebuilt from records equals the one computed in memory exactly.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from pysurvbridge.comparison.scoring import MultiEventPredictions, SinglePredictions

__all__ = ["encode", "decode", "record_of", "canonical", "checksum", "FORMAT"]

FORMAT = 1
_KINDS = {"SinglePredictions": SinglePredictions, "MultiEventPredictions": MultiEventPredictions}


def encode(value: Any) -> Any:
    """``value`` as JSON types: arrays tagged with dtype, shape and base64 bytes; DataFrames
    by columns (index kept); the predictions dataclasses by field; NumPy scalars as numbers."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return {"__array__": base64.b64encode(data.tobytes()).decode("ascii"), "dtype": data.dtype.str,
                "shape": list(data.shape)}
    if isinstance(value, pd.DataFrame):
        return {"__frame__": {str(c): encode(value[c].to_numpy()) for c in value.columns},
                "index": [str(i) for i in value.index], "index_name": value.index.name}
    if dataclasses.is_dataclass(value) and type(value).__name__ in _KINDS:
        return {"__predictions__": type(value).__name__,
                "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, dict):
        if "__array__" in value:
            raw = base64.b64decode(value["__array__"])
            return np.frombuffer(raw, dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()
        if "__frame__" in value:
            frame = pd.DataFrame({c: decode(v) for c, v in value["__frame__"].items()},
                                 index=pd.Index(value["index"], name=value["index_name"]))
            return frame
        if "__predictions__" in value:
            cls = _KINDS[value["__predictions__"]]
            return cls(**{k: decode(v) for k, v in value["fields"].items()})
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def canonical(payload: Any) -> str:
    """One text for a payload: keys sorted, no spaces (what the checksum covers)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)


def checksum(payload: Any) -> str:
    return hashlib.sha256(canonical(payload).encode("utf-8")).hexdigest()


def record_of(result: Any, *, model_dir: str | None = None) -> dict:
    """A :class:`~pysurvbridge.comparison.runner.CellResult` as a JSON-able record (without
    its fitted run; ``model_dir`` names where the fitted model was saved, if it was)."""
    tuning = result.tuning
    payload = {
        "format": FORMAT, "model": result.cell.spec.name, "seed": int(result.cell.seed),
        "row": encode(result.row), "notes": list(result.notes),
        "predictions": None if result.predictions is None else encode(result.predictions),
        "tuning": None if tuning is None else encode({c: tuning[c].tolist() for c in tuning.columns}),
        "model_dir": model_dir,
    }
    return {"payload": payload, "checksum": checksum(payload)}


def result_parts(record: dict) -> dict:
    """(row, notes, predictions, tuning frame, model_dir) of a record, decoded."""
    p = record["payload"]
    tuning = None if p["tuning"] is None else pd.DataFrame(decode(p["tuning"]))
    return {"row": decode(p["row"]), "notes": list(p["notes"]),
            "predictions": None if p["predictions"] is None else decode(p["predictions"]),
            "tuning": tuning, "model_dir": p.get("model_dir")}
