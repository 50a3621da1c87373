"""History-only sequence tensors for sequence models of recurrent events (LSTM-Cox).

For every at-risk interval (start, stop] of a :class:`RecurrentData` the sequence holds that
interval and up to ``seq_len - 1`` earlier intervals of the same subject, oldest first, and
each step carries only what was known when that step began: covariates, the number of events
before it (``recurrences`` = enum - 1) and optionally its ``start`` time. Nothing about how
or when an interval ends enters its own sequence, so a model reading it cannot see the outcome
it predicts (the leakage the DESIGN's "Honest evaluation" section warns about).

Sequences shorter than ``seq_len`` (a subject's first intervals) are right-padded with zeros
and ``mask`` marks the real steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

__all__ = ["HistorySequences", "history_sequences", "DERIVED_FEATURES", "OUTCOME_FEATURES"]

#: features computed from the counting-process columns, known at each step's start
DERIVED_FEATURES = ("recurrences", "start")
#: columns that carry the outcome or post-baseline information (bladder1's stop, recur,
#: rtumor, rsize): refused by history_sequences, used only by LSTM-Cox's labelled paper protocol
OUTCOME_FEATURES = ("stop", "recur", "rtumor", "rsize")


@dataclass(frozen=True)
class HistorySequences:
    """Padded, masked sequences, one per counting-process row.

    ``X`` (n_rows, seq_len, p) float32, oldest step first, zeros after the last real step;
    ``mask`` (n_rows, seq_len) bool; ``lengths`` (n_rows,) int64 real steps (1..seq_len);
    ``ids``, ``start``, ``stop``, ``event`` (n_rows,) of the interval each sequence predicts;
    ``features`` the p names.
    """

    X: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    ids: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    features: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ids)


def default_features(data: RecurrentData) -> list[str]:
    """The covariates plus ``recurrences`` (LSTM-Cox's treatment, number, size, count)."""
    return [*data.covariates, "recurrences"]


def check_features(data: RecurrentData, features: Sequence[str], *, allow_outcomes: bool = False) -> list[str]:
    """``features`` validated against the data's covariates and the derived features."""
    features = list(features)
    if not features:
        raise InvalidParameterError("features must name at least one input feature")
    if not allow_outcomes:
        leaky = [f for f in features if f in OUTCOME_FEATURES]
        if leaky:
            raise InvalidParameterError(
                f"features {leaky} carry the outcome or post-baseline information of the interval "
                "being predicted; the history protocol refuses them (LSTMCox(protocol='paper') "
                "reproduces the paper's leaky inputs, labelled so)")
    known = set(data.covariates) | set(DERIVED_FEATURES)
    missing = [f for f in features if f not in known]
    if missing:
        raise InvalidSurvivalDataError(
            f"features {missing} are neither covariates of the data {list(data.covariates)} nor "
            f"derived features {list(DERIVED_FEATURES)}")
    return features


def feature_matrix(data: RecurrentData, features: Sequence[str]) -> np.ndarray:
    """(n_rows, p) float64 values of ``features`` for every counting-process row."""
    f = data.frame
    cols = []
    for name in features:
        if name == "recurrences":
            cols.append(f["enum"].to_numpy(np.float64) - 1.0)
        else:
            cols.append(f[name].to_numpy(np.float64))
    return np.column_stack(cols) if cols else np.zeros((len(f), 0))


def history_sequences(data: RecurrentData, features: Sequence[str] | None = None, seq_len: int = 3
                      ) -> HistorySequences:
    """Sequences of what was known before each interval began (see the module docstring).

    ``features`` default: the covariates and ``recurrences``; ``seq_len`` >= 1 steps.
    """
    if not isinstance(data, RecurrentData):
        raise InvalidParameterError(f"history_sequences needs a RecurrentData, but got {type(data).__name__}")
    if not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
        raise InvalidParameterError(f"seq_len must be an integer >= 1, but was {seq_len!r}")
    names = check_features(data, default_features(data) if features is None else features)
    values = feature_matrix(data, names)
    f = data.frame
    ids = f["id"].to_numpy()
    n = len(f)
    # position of each row within its subject (rows are grouped by subject, in time order)
    new_subject = np.r_[True, ids[1:] != ids[:-1]]
    first_row = np.maximum.accumulate(np.where(new_subject, np.arange(n), 0))
    position = np.arange(n) - first_row
    lengths = np.minimum(position + 1, seq_len)
    steps = np.arange(seq_len)
    source = np.arange(n)[:, None] - lengths[:, None] + 1 + steps[None, :]  # oldest first
    mask = steps[None, :] < lengths[:, None]
    X = np.where(mask[:, :, None], values[np.where(mask, source, 0)], 0.0).astype(np.float32)
    return HistorySequences(X, mask, lengths.astype(np.int64), ids, f["start"].to_numpy(np.float64),
                            f["stop"].to_numpy(np.float64), f["event"].to_numpy(np.int64), tuple(names))
