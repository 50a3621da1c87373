"""Containers for single-event and multi-event survival data, validated once at construction.

Arrays inside the containers are float64 (times, covariates) or int64 (event indicators) and
read-only: models and metrics can trust them without re-checking.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from pysurvbridge.data import validation as v
from pysurvbridge.errors import InvalidSurvivalDataError

__all__ = ["SurvivalData", "MultiEventData", "topological_order"]


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class SurvivalData:
    """Right-censored single-event data, one row per subject.

    Attributes: ``time`` (n,) float64 in the data's own unit; ``event`` (n,) int64, 1 = event,
    0 = censored; ``X`` (n, p) float64 covariates named by ``covariates``; ``ids`` (n,) or None;
    ``weights`` (n,) float64 positive case weights (coxph's ``weights =``) or None.
    """

    time: np.ndarray
    event: np.ndarray
    X: np.ndarray
    covariates: tuple[str, ...]
    ids: np.ndarray | None = None
    notes: tuple[str, ...] = field(default=())
    weights: np.ndarray | None = None

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        time: str,
        event: str,
        covariates: Sequence[str] = (),
        id: str | None = None,
        one_hot: Sequence[str] = (),
        weights: str | None = None,
    ) -> "SurvivalData":
        """Validate ``df`` and build the container (columns named by the arguments).

        ``weights`` names a column of case weights (positive, finite), used by the classical
        fits as coxph's ``weights =``, by the metrics and by the neural models' losses."""
        df = v.require_frame(df, "SurvivalData.from_frame")
        covariates = list(covariates)
        v.require_columns(df, {"time": time, "event": event, "id": id, "weights": weights})
        v.require_columns(df, {f"covariates[{i}]": c for i, c in enumerate(covariates)})
        v.require_unique([time, event] + ([id] if id else []) + ([weights] if weights else []) + covariates)
        ids = None
        if id is not None:
            ids = v.id_column(df, id)
            dup = pd.Series(ids).duplicated(keep=False).to_numpy()
            if dup.any():
                raise InvalidSurvivalDataError(
                    f"column {id!r} has duplicate ids in {v.describe_rows(df, dup, id)}: "
                    "single-event data need one row per subject (use RecurrentData for "
                    "several rows per subject)"
                )
        t = v.times_column(df, time, id)
        e = v.event_column(df, event, (0, 1), id)
        X, names = v.covariate_matrix(df, covariates, one_hot, id)
        w = None if weights is None else _frozen(v.weights_column(df, weights, id))
        return cls(_frozen(t), _frozen(e), _frozen(X), tuple(names),
                   None if ids is None else _frozen(ids), weights=w)

    @classmethod
    def from_arrays(
        cls, time: np.ndarray, event: np.ndarray, X: np.ndarray | None = None,
        covariates: Sequence[str] | None = None, weights: np.ndarray | None = None,
    ) -> "SurvivalData":
        """Build from arrays: time (n,), event (n,) in {0, 1}, X (n, p) or None, case weights
        (n,) positive or None."""
        time = np.asarray(time)
        X = np.zeros((len(time), 0)) if X is None else np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if len(X) != len(time) or len(np.asarray(event)) != len(time):
            raise InvalidSurvivalDataError(
                f"time, event and X must have the same number of rows; got {len(time)}, "
                f"{len(np.asarray(event))} and {len(X)}"
            )
        names = list(covariates) if covariates is not None else [f"x{j}" for j in range(X.shape[1])]
        frame = pd.DataFrame(X, columns=names)
        frame.insert(0, "__event", np.asarray(event))
        frame.insert(0, "__time", time)
        if weights is not None:
            frame["__weights"] = v.weights_array(weights, len(time), "weights")
        return cls.from_frame(frame, time="__time", event="__event", covariates=names,
                              weights=None if weights is None else "__weights")

    def __len__(self) -> int:
        return len(self.time)

    @property
    def n_events(self) -> int:
        return int(self.event.sum())

    def subset(self, rows: np.ndarray) -> "SurvivalData":
        """The subjects at positions, a boolean mask or a slice ``rows``."""
        rows = rows if isinstance(rows, slice) else np.asarray(rows)
        ids = None if self.ids is None else _frozen(self.ids[rows])
        w = None if self.weights is None else _frozen(self.weights[rows])
        return SurvivalData(_frozen(self.time[rows]), _frozen(self.event[rows]),
                            _frozen(self.X[rows]), self.covariates, ids, self.notes, w)

    def to_frame(self) -> pd.DataFrame:
        """time, event and the covariates as a DataFrame (plus id when known)."""
        df = pd.DataFrame(self.X, columns=list(self.covariates))
        df.insert(0, "event", self.event)
        df.insert(0, "time", self.time)
        if self.ids is not None:
            df.insert(0, "id", self.ids)
        return df

    def describe(self) -> str:
        n, d = len(self), self.n_events
        return (f"SurvivalData: {n} subjects, {d} events ({100 * d / n:.1f}%), "
                f"time range [{self.time.min():g}, {self.time.max():g}], "
                f"covariates {list(self.covariates)}"
                + ("" if self.weights is None else f", case weights (sum {self.weights.sum():g})"))


@dataclass(frozen=True, eq=False)
class MultiEventData:
    """K possibly-censored event times per subject (e.g. recurrence and death).

    Attributes: ``times`` (n, K) float64; ``events`` (n, K) int64 in {0, 1}; ``X`` (n, p)
    float64; ``event_names`` K names; ``covariates`` p names; ``ids`` (n,) or None.
    """

    times: np.ndarray
    events: np.ndarray
    X: np.ndarray
    covariates: tuple[str, ...]
    event_names: tuple[str, ...]
    ids: np.ndarray | None = None

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        times: Sequence[str],
        events: Sequence[str],
        covariates: Sequence[str] = (),
        id: str | None = None,
        event_names: Sequence[str] | None = None,
        one_hot: Sequence[str] = (),
    ) -> "MultiEventData":
        """One column of times and one of 0/1 indicators per event type, in matching order."""
        df = v.require_frame(df, "MultiEventData.from_frame")
        times, events, covariates = list(times), list(events), list(covariates)
        if len(times) != len(events) or not times:
            raise InvalidSurvivalDataError(
                f"times and events must name the same number (>= 1) of columns; got "
                f"{len(times)} and {len(events)}"
            )
        roles = {f"times[{k}]": c for k, c in enumerate(times)}
        roles.update({f"events[{k}]": c for k, c in enumerate(events)})
        roles.update({f"covariates[{j}]": c for j, c in enumerate(covariates)})
        roles["id"] = id
        v.require_columns(df, roles)
        v.require_unique(times + events + covariates + ([id] if id else []))
        T = np.column_stack([v.times_column(df, c, id) for c in times])
        E = np.column_stack([v.numeric_column(df, c, id) for c in events])
        for k, c in enumerate(events):
            bad = ~np.isin(E[:, k], (0, 1))
            if bad.any():
                raise InvalidSurvivalDataError(
                    f"column {c!r} has event codes outside the allowed set [0, 1] in "
                    f"{v.describe_rows(df, bad, id)}"
                )
        if not E.any():
            raise InvalidSurvivalDataError(
                f"columns {events} have no events at all: every subject is censored for every event"
            )
        ids = None if id is None else v.id_column(df, id)
        X, names = v.covariate_matrix(df, covariates, one_hot, id)
        labels = tuple(event_names) if event_names is not None else tuple(map(str, events))
        if len(labels) != len(times):
            raise InvalidSurvivalDataError(f"event_names needs {len(times)} names, got {len(labels)}")
        return cls(_frozen(T), _frozen(E.astype(np.int64)), _frozen(X), tuple(names), labels,
                   None if ids is None else _frozen(ids))

    @classmethod
    def from_competing_risks(
        cls,
        df: pd.DataFrame,
        *,
        time: str,
        event: str,
        n_events: int | None = None,
        covariates: Sequence[str] = (),
        id: str | None = None,
        one_hot: Sequence[str] = (),
    ) -> "MultiEventData":
        """Competing-risks coding: ``event`` is 0 (censored) or k in 1..K (cause k at ``time``).

        Each subject gets K columns: the observed cause is an event at ``time``; every other
        cause is censored at ``time`` (it cannot be observed afterwards).
        """
        df = v.require_frame(df, "MultiEventData.from_competing_risks")
        v.require_columns(df, {"time": time, "event": event})
        codes = v.numeric_column(df, event, id)
        K = int(n_events) if n_events is not None else int(max(codes.max(), 1))
        codes = v.event_column(df, event, range(K + 1), id,
                               hint=f" (competing-risks coding: 0 = censored, 1..{K} = cause)")
        frame = pd.DataFrame({f"__t{k}": df[time].to_numpy() for k in range(1, K + 1)}, index=df.index)
        for k in range(1, K + 1):
            frame[f"__e{k}"] = (codes == k).astype(np.int64)
        for col in list(covariates) + ([id] if id else []):
            frame[col] = df[col]
        return cls.from_frame(
            frame, times=[f"__t{k}" for k in range(1, K + 1)],
            events=[f"__e{k}" for k in range(1, K + 1)], covariates=covariates, id=id,
            event_names=[f"cause {k}" for k in range(1, K + 1)], one_hot=one_hot,
        )

    def __len__(self) -> int:
        return len(self.times)

    @property
    def n_event_types(self) -> int:
        return self.times.shape[1]

    @property
    def n_events(self) -> int:
        """Observed events of all types together."""
        return int(self.events.sum())

    def subset(self, rows: np.ndarray) -> "MultiEventData":
        """The subjects at positions, a boolean mask or a slice ``rows``."""
        rows = rows if isinstance(rows, slice) else np.asarray(rows)
        ids = None if self.ids is None else _frozen(self.ids[rows])
        return MultiEventData(_frozen(self.times[rows]), _frozen(self.events[rows]), _frozen(self.X[rows]),
                              self.covariates, self.event_names, ids)

    def event_data(self, k: int) -> SurvivalData:
        """Event type ``k`` alone as single-event data (its own time and indicator)."""
        ids = None if self.ids is None else _frozen(self.ids)
        return SurvivalData(_frozen(self.times[:, k]), _frozen(self.events[:, k]), _frozen(self.X),
                            self.covariates, ids)

    def event_pattern(self) -> np.ndarray:
        """(n,) integer code of each subject's observed-event pattern (sum of 2^k over observed k)."""
        return (self.events * (2 ** np.arange(self.n_event_types))).sum(axis=1)

    def to_frame(self) -> pd.DataFrame:
        """time_<name>, event_<name> per event type and the covariates (plus id when known)."""
        df = pd.DataFrame(self.X, columns=list(self.covariates))
        for k, name in reversed(list(enumerate(self.event_names))):
            df.insert(0, f"event_{name}", self.events[:, k])
            df.insert(0, f"time_{name}", self.times[:, k])
        if self.ids is not None:
            df.insert(0, "id", self.ids)
        return df

    def describe(self) -> str:
        counts = ", ".join(f"{name}: {int(self.events[:, k].sum())}"
                           for k, name in enumerate(self.event_names))
        return f"MultiEventData: {len(self)} subjects, events {counts}, covariates {list(self.covariates)}"


def topological_order(n_events: int, pairs: Sequence[tuple[int, int]]) -> list[int] | None:
    """Event indices 0..n_events-1 ordered so that a comes before b for every (a, b) in
    ``pairs``; None when the pairs contain a cycle."""
    remaining, done = set(range(n_events)), []
    while remaining:
        ready = [k for k in sorted(remaining) if all(a in done for a, b in pairs if b == k)]
        if not ready:
            return None
        done.extend(ready)
        remaining -= set(ready)
    return done
