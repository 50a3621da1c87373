"""Metrics that know nothing about which model made a prediction.

This module starts with the concordance coxph reports; the metrics issue extends it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["concordance_counting"]


def concordance_counting(
    risk: np.ndarray,
    stop: np.ndarray,
    event: np.ndarray,
    start: np.ndarray | None = None,
    strata: np.ndarray | None = None,
) -> tuple[float, dict[str, float]]:
    """Harrell's C for (start, stop] data, as ``survival::concordance`` on a coxph fit.

    For each event time t (within a stratum), each row with an event at t is compared with
    every row at risk at t (start < t <= stop) that has no event at t: concordant when its
    ``risk`` is higher, discordant when lower, tied (counted 1/2) when equal. Pairs tied on
    the event time are not compared. Returns (C, counts) with counts concordant, discordant,
    tied_risk. Higher ``risk`` means earlier events. Time O(G n) for G event times.
    """
    risk = np.asarray(risk, dtype=np.float64)
    stop = np.asarray(stop, dtype=np.float64)
    event = np.asarray(event)
    start = np.full(len(stop), -np.inf) if start is None else np.asarray(start, dtype=np.float64)
    s = np.zeros(len(stop), dtype=np.int64) if strata is None else pd.factorize(np.asarray(strata))[0]
    conc = disc = tied = 0.0
    ev = np.flatnonzero(event == 1)
    keys = pd.DataFrame({"s": s[ev], "t": stop[ev], "row": ev}).groupby(["s", "t"])["row"]
    for (stratum, t), rows in keys:
        at_risk = (s == stratum) & (start < t) & (stop >= t)
        at_risk[rows.to_numpy()] = False
        at_risk &= ~((stop == t) & (event == 1))
        others = np.sort(risk[at_risk])
        if len(others) == 0:
            continue
        mine = risk[rows.to_numpy()]
        below = np.searchsorted(others, mine, side="left")
        above = len(others) - np.searchsorted(others, mine, side="right")
        conc += below.sum()
        disc += above.sum()
        tied += (len(others) - below - above).sum()
    total = conc + disc + tied
    c = (conc + tied / 2) / total if total else float("nan")
    return float(c), {"concordant": conc, "discordant": disc, "tied_risk": tied}
