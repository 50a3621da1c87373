"""Recurrent-event data in counting-process form, and its layouts for the classical models.

A subject contributes rows (start, stop]: it is at risk at t when start < t <= stop, and
``event`` = 1 marks an event at ``stop``. ``enum`` is the event number a row is at risk for
(1 + events before the row), the stratum of the PWP and WLW models.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.data import validation as v
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

__all__ = ["RecurrentData"]

RESERVED = ("id", "start", "stop", "event", "enum", "(weights)")
WEIGHTS = "(weights)"  # the layouts' case-weight column (R's model.frame calls it so)


@dataclass(frozen=True, eq=False)
class RecurrentData:
    """Validated counting-process rows.

    ``frame`` has columns id, start, stop, event, enum and then the covariates (design names,
    one-hot columns expanded), rows grouped by subject in order of first appearance and in
    time order within a subject. ``notes`` records what preparation did (rows dropped).
    ``weights`` (one per row of ``frame``, constant within a subject) are positive case
    weights, or None; the layouts carry them in a column ``"(weights)"``.
    """

    frame: pd.DataFrame
    covariates: tuple[str, ...]
    notes: tuple[str, ...] = ()
    weights: np.ndarray | None = None

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        id: str,
        start: str,
        stop: str,
        event: str,
        covariates: Sequence[str] = (),
        one_hot: Sequence[str] = (),
        drop_zero_length: bool = False,
        allow_no_events: bool = False,
        weights: str | None = None,
    ) -> "RecurrentData":
        """Validate ``df`` (one row per at-risk interval) and build the container.

        Zero-length intervals (start == stop) are an error unless ``drop_zero_length=True``,
        which drops them and records how many (and which subjects vanished) in ``notes``.
        Data without any event are an error (nothing to fit) unless ``allow_no_events=True``
        (new subjects to predict for). ``weights`` names a column of positive case weights, one
        value per subject (repeated on its rows; a subject whose rows differ is an error).
        """
        df = v.require_frame(df, "RecurrentData.from_frame")
        covariates = list(covariates)
        v.require_columns(df, {"id": id, "start": start, "stop": stop, "event": event, "weights": weights})
        v.require_columns(df, {f"covariates[{i}]": c for i, c in enumerate(covariates)})
        v.require_unique([id, start, stop, event] + ([weights] if weights else []) + covariates)
        clash = [c for c in covariates if c in RESERVED]
        if clash:
            raise InvalidSurvivalDataError(
                f"covariate {clash[0]!r} uses a name reserved for the counting-process columns "
                f"{list(RESERVED)}; rename it first"
            )
        ids = v.id_column(df, id)
        t0 = v.times_column(df, start, id)
        t1 = v.times_column(df, stop, id)
        ev = v.numeric_column(df, event, id)
        w = None if weights is None else v.weights_column(df, weights, id)
        if w is not None:
            differs = pd.Series(w).groupby(ids).transform("nunique").to_numpy() > 1
            if differs.any():
                raise InvalidSurvivalDataError(
                    f"column {weights!r} (case weights) must be one value per subject, but differs "
                    f"within subjects in {v.describe_rows(df, differs, id)}"
                )
        bad = ~np.isin(ev, (0, 1))
        if bad.any():
            raise InvalidSurvivalDataError(
                f"column {event!r} has event codes {sorted(set(ev[bad].tolist()))[:5]} outside "
                f"the allowed set [0, 1] in {v.describe_rows(df, bad, id)}; recode it, e.g. "
                f"df[{event!r}] == 1 for the event of interest"
            )
        backwards = t0 > t1
        if backwards.any():
            raise InvalidSurvivalDataError(
                f"columns {start!r}/{stop!r}: stop is before start in "
                f"{v.describe_rows(df, backwards, id)}"
            )
        notes: list[str] = []
        zero = t0 == t1
        if zero.any():
            if not drop_zero_length:
                raise InvalidSurvivalDataError(
                    f"columns {start!r}/{stop!r}: zero-length intervals (start == stop) in "
                    f"{v.describe_rows(df, zero, id)}; pass drop_zero_length=True to drop them"
                )
            notes.append(_zero_length_note(df, zero, ids, ev))
            keep = ~zero
            df, ids, t0, t1, ev = df.loc[keep], ids[keep], t0[keep], t1[keep], ev[keep]
            w = None if w is None else w[keep]
        if not ev.any() and not allow_no_events:
            raise InvalidSurvivalDataError(f"column {event!r} has no events at all (all rows are 0)")
        order = _subject_order(ids)
        df, ids, t0, t1, ev = df.iloc[order], ids[order], t0[order], t1[order], ev[order]
        w = None if w is None else w[order]
        _check_within_subject(df, ids, t0, t1, id)
        X, names = v.covariate_matrix(df, covariates, one_hot, id)
        clash = [c for c in names if c in RESERVED]
        if clash:
            raise InvalidSurvivalDataError(f"encoded covariate name {clash[0]!r} is reserved")
        prior = pd.Series(ev).groupby(ids).cumsum().to_numpy() - ev
        frame = pd.DataFrame({"id": ids, "start": t0, "stop": t1, "event": ev.astype(np.int64),
                              "enum": (prior + 1).astype(np.int64)})
        for j, name in enumerate(names):
            frame[name] = X[:, j]
        return cls(frame, tuple(names), tuple(notes), _read_only(w))

    # ------------------------------------------------------------------ summaries

    @property
    def ids(self) -> np.ndarray:
        """Unique subject ids in order of first appearance."""
        return pd.unique(self.frame["id"])

    @property
    def n_subjects(self) -> int:
        return len(self.ids)

    @property
    def n_events(self) -> int:
        return int(self.frame["event"].sum())

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def time_varying(self) -> tuple[str, ...]:
        """Covariates whose value changes within at least one subject."""
        if not self.covariates:
            return ()
        varying = self.frame.groupby("id", sort=False)[list(self.covariates)].nunique().max() > 1
        return tuple(c for c in self.covariates if varying[c])

    @property
    def time_fixed(self) -> tuple[str, ...]:
        return tuple(c for c in self.covariates if c not in self.time_varying)

    def events_per_subject(self) -> pd.Series:
        """Number of events of each subject, indexed by id."""
        return self.frame.groupby("id", sort=False)["event"].sum()

    def describe(self) -> str:
        """A short text summary: subjects, rows, events, follow-up, covariates, notes."""
        per = self.events_per_subject()
        follow = self.frame.groupby("id", sort=False)["stop"].max()
        counts = per.value_counts().sort_index()
        lines = [
            f"RecurrentData: {self.n_subjects} subjects, {len(self)} rows (start, stop], "
            f"{self.n_events} events",
            f"  events per subject: mean {per.mean():.2f}, max {int(per.max())}; distribution "
            + ", ".join(f"{int(k)}: {int(n)}" for k, n in counts.items()),
            f"  follow-up: median {follow.median():g}, range [{follow.min():g}, {follow.max():g}]",
            f"  covariates: {list(self.covariates)} (time-varying: {list(self.time_varying)})",
        ]
        if self.weights is not None:
            sw = self.subject_weights()
            lines.append(f"  case weights: one per subject, range [{sw.min():g}, {sw.max():g}], sum {sw.sum():g}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def subset(self, ids: Sequence[object]) -> "RecurrentData":
        """The rows of the given subjects (in this container's order)."""
        wanted = set(ids)
        unknown = wanted - set(self.ids)
        if unknown:
            raise InvalidParameterError(f"unknown subject ids {sorted(unknown, key=str)[:5]}")
        rows = self.frame["id"].isin(wanted).to_numpy()
        return RecurrentData(self.frame.loc[rows].reset_index(drop=True), self.covariates, self.notes,
                             None if self.weights is None else _read_only(self.weights[rows]))

    def subject_weights(self) -> pd.Series | None:
        """Each subject's case weight, indexed by id (None without weights)."""
        if self.weights is None:
            return None
        return pd.Series(self.weights, index=self.frame["id"].to_numpy()).groupby(level=0, sort=False).first()

    # ------------------------------------------------------------------ layouts

    def andersen_gill(self, max_events: int | None = None) -> pd.DataFrame:
        """Andersen-Gill layout: the (start, stop] rows, up to the ``max_events``-th event.

        Columns id, covariates, start, stop, event, enum (and "(weights)" with case weights:
        every row its subject's). With ``max_events=4`` the rows of
        R's ``survival::bladder2`` are reproduced from ``bladder1``: follow-up after the
        4th event is dropped (the help page's warning about immortal time).
        """
        rows = self._weighted_frame()
        if max_events is not None:
            _check_max_events(max_events)
            rows = rows.loc[rows["enum"] <= max_events]
        return self._columns(rows.reset_index(drop=True))

    def pwp(self, timescale: Literal["total", "gap"] = "total",
            max_events: int | None = None) -> pd.DataFrame:
        """Prentice-Williams-Peterson layout: AG rows, stratified by ``enum`` in the model.

        ``timescale="total"`` keeps (start, stop]; ``"gap"`` restarts the clock after each
        event: (0, stop - start].
        """
        if timescale not in ("total", "gap"):
            raise InvalidParameterError(f"timescale must be 'total' or 'gap', but was {timescale!r}")
        out = self.andersen_gill(max_events)
        if timescale == "gap":
            out["stop"] = out["stop"] - out["start"]
            out["start"] = 0.0
        return out

    def wlw(self, max_events: int = 4) -> pd.DataFrame:
        """Wei-Lin-Weissfeld layout: ``max_events`` rows per subject, all from time 0.

        Row k has stop = time of the k-th event (event = 1) or, for subjects with fewer than k
        events, the end of follow-up (event = 0). Covariates must be time-fixed. Reproduces
        R's ``survival::bladder`` from ``bladder1``.
        """
        _check_max_events(max_events)
        if self.time_varying:
            raise InvalidSurvivalDataError(
                f"the WLW layout needs time-fixed covariates, but {list(self.time_varying)} "
                "change within subjects; use the AG or PWP layout, or baseline values"
            )
        f = self.frame
        first = f.groupby("id", sort=False).first()
        end = f.groupby("id", sort=False)["stop"].max()
        event_rows = f.loc[f["event"] == 1, ["id", "enum", "stop"]]
        ids = self.ids
        grid = pd.DataFrame({"id": np.repeat(ids, max_events),
                             "enum": np.tile(np.arange(1, max_events + 1), len(ids))})
        grid = grid.merge(event_rows, on=["id", "enum"], how="left", sort=False)
        grid["event"] = grid["stop"].notna().astype(np.int64)
        grid["stop"] = grid["stop"].fillna(grid["id"].map(end))
        grid["start"] = 0.0
        for c in self.covariates:
            grid[c] = grid["id"].map(first[c]).to_numpy()
        if self.weights is not None:
            grid[WEIGHTS] = grid["id"].map(self.subject_weights()).to_numpy()
        return self._columns(grid)

    def first_event(self) -> SurvivalData:
        """Time to first event (``Cox`` on recurrent data): baseline covariates, one row each."""
        f = self.frame
        starts = f.groupby("id", sort=False)["start"].min()
        if (starts > 0).any():
            raise InvalidSurvivalDataError(
                "first_event needs follow-up from time 0; subjects with late entry: "
                f"{starts[starts > 0].index[:5].tolist()}"
            )
        rows = f.loc[f["enum"] == 1]
        stop = rows.groupby("id", sort=False)["stop"].max()
        event = rows.groupby("id", sort=False)["event"].max()
        first = rows.groupby("id", sort=False).first()
        out = pd.DataFrame({"id": stop.index, "time": stop.to_numpy(), "event": event.to_numpy()})
        for c in self.covariates:
            out[c] = first[c].to_numpy()
        if self.weights is not None:
            out[WEIGHTS] = self.subject_weights().loc[stop.index].to_numpy()
        return SurvivalData.from_frame(out, time="time", event="event",
                                       covariates=list(self.covariates), id="id",
                                       weights=None if self.weights is None else WEIGHTS)

    def _weighted_frame(self) -> pd.DataFrame:
        if self.weights is None:
            return self.frame
        return self.frame.assign(**{WEIGHTS: self.weights})

    def _columns(self, rows: pd.DataFrame) -> pd.DataFrame:
        extra = [WEIGHTS] if self.weights is not None else []
        return rows[["id", *self.covariates, "start", "stop", "event", "enum", *extra]].copy()


def _read_only(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a, dtype=np.float64, copy=True)
    a.flags.writeable = False
    return a


def _check_max_events(max_events: int) -> None:
    if not isinstance(max_events, (int, np.integer)) or max_events < 1:
        raise InvalidParameterError(f"max_events must be a positive integer, but was {max_events!r}")


def _subject_order(ids: np.ndarray) -> np.ndarray:
    """Positions grouping rows by subject (first-appearance order), stable within subject."""
    codes, _ = pd.factorize(ids)
    return np.argsort(codes, kind="stable")


def _check_within_subject(df: pd.DataFrame, ids: np.ndarray, t0: np.ndarray, t1: np.ndarray,
                          id_col: str) -> None:
    same = np.r_[False, ids[1:] == ids[:-1]]
    prev_start = np.r_[np.nan, t0[:-1]]
    prev_stop = np.r_[np.nan, t1[:-1]]
    unsorted = same & (t0 < prev_start)
    if unsorted.any():
        raise InvalidSurvivalDataError(
            f"intervals are not in time order within a subject in {v.describe_rows(df, unsorted, id_col)}"
            f"; sort first, e.g. df.sort_values([{id_col!r}, start])"
        )
    overlap = same & (t0 < prev_stop)
    if overlap.any():
        raise InvalidSurvivalDataError(
            f"intervals overlap within a subject (a row starts before the previous row stops) in "
            f"{v.describe_rows(df, overlap, id_col)}"
        )


def _zero_length_note(df: pd.DataFrame, zero: np.ndarray, ids: np.ndarray, ev: np.ndarray) -> str:
    gone = sorted(set(ids[zero]) - set(ids[~zero]), key=str)
    note = f"dropped {int(zero.sum())} zero-length interval(s) (start == stop)"
    if ev[zero].any():
        note += f", losing {int(ev[zero].sum())} event(s) on them"
    if gone:
        note += f"; subject(s) {[v._plain(g) for g in gone]} had no other rows and were removed"
    return note
