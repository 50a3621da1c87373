"""Fingerprints of data: a SHA-256 of a container's contents, so that a stored result or a
training checkpoint is used again only for the data it came from.

The hash covers the arrays' bytes, dtypes and shapes, the covariate and event names and the
subject ids; a DataFrame is hashed row by row with pandas' own hasher (values and column
names, not the index). Two containers with equal contents have equal fingerprints in any
process and on any machine of the same byte order.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["data_fingerprint", "hash_arrays"]


def hash_arrays(*arrays: Any) -> str:
    """The SHA-256 (hex) of arrays, DataFrames and None values, in order."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        if isinstance(a, pd.DataFrame):
            h.update(np.asarray(pd.util.hash_pandas_object(a, index=False)).tobytes())
            h.update(",".join(map(str, a.columns)).encode())
            continue
        arr = np.asarray(a)
        h.update(str(arr.dtype).encode() + str(arr.shape).encode())
        h.update(np.ascontiguousarray(arr).tobytes() if arr.dtype != object else ",".join(map(str, arr.ravel())).encode())
    return h.hexdigest()


def data_fingerprint(data: Any) -> str:
    """A hash of a RecurrentData, MultiEventData or SurvivalData: times, events, covariates
    and their names, ids, and case weights when there are any."""
    weights = getattr(data, "weights", None)
    if weights is not None:  # unweighted data keep the fingerprints they always had
        return hash_arrays(_unweighted_fingerprint(data), weights)
    return _unweighted_fingerprint(data)


def _unweighted_fingerprint(data: Any) -> str:
    if hasattr(data, "frame"):  # RecurrentData
        return hash_arrays(data.frame, np.asarray(data.covariates, dtype=object))
    if hasattr(data, "times"):  # MultiEventData
        return hash_arrays(data.times, data.events, data.X, np.asarray(data.covariates, dtype=object),
                           np.asarray(data.event_names, dtype=object), data.ids)
    return hash_arrays(data.time, data.event, data.X, np.asarray(data.covariates, dtype=object), data.ids)
