"""C-index and Brier score for recurrent events in (start, stop] counting-process form.

No peer defines these, so the definitions are ours and stated here.

Concordance (time-dependent, per interval). At each event time t, the subject with the event
is compared with every other subject under observation at t (start < t <= stop) who has no
event at t, using the risk of the interval that contains t: concordant when the subject with
the event has the higher risk, half when equal. This is ``survival::concordance`` on an
Andersen-Gill fit; the risk may change from interval to interval (covariates or a sequence
model updated from history), so it rewards models that know who is at risk *now*.

Brier score (landmark, gap time). Fix a landmark s. Every subject still under observation at s
(entered at or before s, follow-up ends after s) contributes the gap from s to its next event,
or to the end of its follow-up (censored). The model predicts P(no event in (s, s + u] |
history up to s) for horizons u; the IPCW Brier score of those predictions against the gaps,
with G the censoring Kaplan-Meier of the gaps, is the landmark Brier score at s.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics._inputs import as_vector, same_length, survival_arrays
from pysurvbridge.metrics.brier import WeightAt, brier_score
from pysurvbridge.metrics.concordance import concordance_counting


def _counting_arrays(start, stop, event) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t1, e = survival_arrays(stop, event, need_events=True)
    t0 = as_vector(start, "start")
    same_length("start", t0, len(t1))
    bad = t0 >= t1
    if bad.any():
        raise InvalidParameterError(f"start must be < stop; rows {np.flatnonzero(bad)[:5].tolist()} are not")
    return t0, t1, e


def concordance_recurrent(risk, start, stop, event, *, strata=None, return_counts: bool = False):
    """Time-dependent C for (start, stop] rows (module docstring); (n_rows,) arrays.

    Returns C, or (C, {"concordant", "discordant", "tied_risk"}) with ``return_counts``.
    O(n log^2 n).
    """
    t0, t1, e = _counting_arrays(start, stop, event)
    r = as_vector(risk, "risk")
    same_length("risk", r, len(t1))
    c, counts = concordance_counting(r, t1, e, t0, strata)
    return (c, counts) if return_counts else c


def gaps_after_landmark(start, stop, event, id, landmark: float) -> pd.DataFrame:
    """Per subject under observation at ``landmark``: gap to its next event, or censored.

    Returns a DataFrame (id, time, event) sorted by id: ``time`` = next event time - landmark
    (event 1) or end of follow-up - landmark (event 0). Subjects not yet entered at the
    landmark or whose follow-up ended by then are left out.
    """
    t0, t1, e = _counting_arrays(start, stop, event)
    ids = np.asarray(id)
    same_length("id", ids, len(t1))
    frame = pd.DataFrame({"id": ids, "start": t0, "stop": t1, "event": e})
    per = frame.groupby("id", sort=True).agg(entry=("start", "min"), end=("stop", "max"))
    under = per[(per["entry"] <= landmark) & (per["end"] > landmark)]
    later = frame[(frame["event"] == 1) & (frame["stop"] > landmark)]
    next_event = later.groupby("id")["stop"].min()
    nxt = next_event.reindex(under.index)
    has = nxt.notna().to_numpy()
    gap = np.where(has, nxt.to_numpy() - landmark, under["end"].to_numpy() - landmark)
    return pd.DataFrame({"id": under.index.to_numpy(), "time": gap, "event": has.astype(np.int64)})


def landmark_brier_score(survival, horizons, start, stop, event, id, *, landmark: float,
                         censoring_weight_at: WeightAt = "t") -> np.ndarray:
    """Landmark gap-time Brier score (module docstring) at each horizon u after ``landmark``.

    ``survival`` (n at risk, len(horizons)): predicted P(no event in (s, s + u]) for the
    subjects of :func:`gaps_after_landmark` in its (id-sorted) order. G is estimated from the
    gaps themselves. Returns (len(horizons),).
    """
    gaps = gaps_after_landmark(start, stop, event, id, landmark)
    if gaps.empty:
        raise InvalidParameterError(f"nobody is under observation at landmark {landmark:g}")
    return brier_score(survival, horizons, gaps["time"].to_numpy(), gaps["event"].to_numpy(),
                       censoring_weight_at=censoring_weight_at)
