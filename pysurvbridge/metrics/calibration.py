"""D-calibration (Haider, Hoehn, Davis and Greiner 2020, JMLR 21(85), section 4.4).

If the predicted curves are right, S_i(T_i) is Uniform(0, 1) over subjects. Each subject with
an event adds 1 to the bin of [0, 1] holding S_i(T_i). A subject censored at c, with
p = S_i(c), is known only to have S_i(T_i) uniform on [0, p]: the bin holding p gets
(p - lower edge) / p and every bin below it 1 / (B p) (p = 1 spreads 1/B everywhere; p = 0
puts 1 in the lowest bin). Pearson's chi-square of the B counts against n/B, B - 1 degrees
of freedom, tests calibration. Bins follow SurvivalEVAL: B equal bins of [0, 1] listed from
the top, bin k = [1 - (k+1)/B, 1 - k/B), with p = 1 in the top bin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chisquare

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics._inputs import as_vector, event_codes, same_length


@dataclass(frozen=True)
class DCalibration:
    """statistic (chi-square), p_value, counts (B,) from the top bin [1 - 1/B, 1] down."""

    statistic: float
    p_value: float
    counts: np.ndarray

    def plot(self, ax=None):
        """Bar chart of the bin counts with the uniform expectation n/B as a line."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5, 3.2))[1]
        B = len(self.counts)
        lower = 1.0 - (np.arange(B) + 1) / B
        ax.bar(lower, self.counts, width=1.0 / B, align="edge", edgecolor="white")
        ax.axhline(self.counts.sum() / B, color="black", linestyle="--", label="uniform")
        ax.set_xlabel("predicted survival at the observed time, S(T)")
        ax.set_ylabel("subjects")
        ax.set_title(f"D-calibration: p = {self.p_value:.3g}")
        ax.legend()
        return ax


def d_calibration(survival_at_time, event, *, bins: int = 10) -> DCalibration:
    """D-calibration test from S_i(T_i), each subject's predicted survival at its own time.

    ``survival_at_time``: (n,) values in [0, 1]; ``event``: (n,) 0/1. Returns
    :class:`DCalibration`; a small p-value (below 0.05, the paper's threshold) means the
    curves are not calibrated.
    """
    if not isinstance(bins, int) or bins < 2:
        raise InvalidParameterError(f"bins must be an integer >= 2, but was {bins!r}")
    p = as_vector(survival_at_time, "survival_at_time")
    e = event_codes(event)
    same_length("survival_at_time", p, len(e))
    outside = (p < 0) | (p > 1)
    if outside.any():
        raise InvalidParameterError(f"survival_at_time must lie in [0, 1]; positions "
                                    f"{np.flatnonzero(outside)[:5].tolist()} do not")
    edges = np.linspace(1.0, 0.0, bins + 1)  # top down, as SurvivalEVAL
    # bin k holds edges[k] > p >= edges[k+1]; p = 1 joins the top bin
    position = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    counts = np.bincount(position[e == 1], minlength=bins).astype(np.float64)
    c, k = p[e == 0], position[e == 0]
    safe = np.where(c > 0, c, 1.0)
    own = np.where(c > 0, (c - edges[k + 1]) / safe, 1.0)
    own = np.where(c == 1.0, 1.0 / bins, own)
    counts += np.bincount(k, weights=own, minlength=bins)
    # every bin below the own one gets 1 / (B p): add at k + 1, then a running sum
    below = k < bins - 1
    start = np.bincount(k[below] + 1, weights=1.0 / (bins * c[below]), minlength=bins + 1)[:bins]
    counts += np.cumsum(start)
    statistic, p_value = chisquare(counts)
    return DCalibration(float(statistic), float(p_value), counts)


@dataclass(frozen=True)
class GroupCalibration:
    """Mean predicted survival against the Kaplan-Meier curve, per group and time.

    ``table``: columns group, time, n, predicted (mean of S_i(t) over the group's subjects),
    kaplan_meier, difference (predicted - kaplan_meier). ``max_abs_difference`` over all rows.
    """

    table: pd.DataFrame

    @property
    def max_abs_difference(self) -> float:
        return float(self.table["difference"].abs().max())

    def plot(self, ax=None):
        """Kaplan-Meier (solid, crosses) and mean predicted survival (dashed, dots) per group,
        both at the table's times."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 4))[1]
        for k, (g, part) in enumerate(self.table.groupby("group", sort=True)):
            colour = f"C{k % 10}"
            ax.plot(part["time"], part["kaplan_meier"], "x-", ms=4, color=colour, label=f"{g}: Kaplan-Meier")
            ax.plot(part["time"], part["predicted"], "o--", ms=3, color=colour, label=f"{g}: predicted (mean)")
        ax.set_xlabel("time")
        ax.set_ylabel("survival probability")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"calibration by group (max |difference| = {self.max_abs_difference:.3f})")
        ax.legend(fontsize="small")
        return ax


def group_calibration(survival, times, time, event, groups) -> GroupCalibration:
    """Mean predicted survival per group beside that group's Kaplan-Meier estimate.

    ``survival``: (n, m) predicted S_i(t) at ``times`` (m,); ``time``, ``event``: (n,) observed
    data; ``groups``: (n,) labels (e.g. treatment arm, true digit). The check of Gensheimer &
    Narasimhan (2019, Fig. 2): a calibrated model's mean curve follows the group's KM curve.
    """
    from pysurvbridge.metrics._inputs import increasing_times, survival_arrays, survival_matrix
    from pysurvbridge.metrics.censoring import kaplan_meier

    t, e = survival_arrays(time, event)
    grid = increasing_times(times)
    S = survival_matrix(survival, len(t), len(grid)).cpu().numpy()
    g = np.asarray(groups)
    if len(g) != len(t):
        raise InvalidParameterError(f"groups has {len(g)} values but time has {len(t)}")
    rows = []
    for label in np.unique(g):
        inside = g == label
        km = kaplan_meier(t[inside], e[inside], grid)
        for j, s in enumerate(grid):
            rows.append((label, s, int(inside.sum()), S[inside, j].mean(), km[j]))
    table = pd.DataFrame(rows, columns=["group", "time", "n", "predicted", "kaplan_meier"])
    table["difference"] = table["predicted"] - table["kaplan_meier"]
    return GroupCalibration(table)


def decile_calibration(survival_at_t, time, event, t: float, *, bins: int = 10) -> pd.DataFrame:
    """Calibration at one time (Gensheimer & Narasimhan 2019, Fig. 6; Royston & Altman 2013):
    subjects grouped by deciles (``bins`` quantile groups) of predicted S_i(t); per group the
    mean predicted survival beside the group's Kaplan-Meier estimate at t.

    ``survival_at_t``: (n,) predicted S_i(t); ``time``, ``event``: (n,). Returns columns
    group (1 = lowest predicted survival), n, predicted, kaplan_meier, difference.
    Calibration in the large is ``calibration_in_the_large``.
    """
    s = as_vector(survival_at_t, "survival_at_t")
    same_length("survival_at_t", s, len(np.asarray(time)))
    if not isinstance(bins, int) or bins < 1:
        raise InvalidParameterError(f"bins must be a positive integer, but was {bins!r}")
    ranks = np.argsort(np.argsort(s, kind="stable"), kind="stable")
    group = ranks * bins // len(s) + 1
    table = group_calibration(s[:, None], [float(t)], time, event, group).table
    return table.drop(columns="time")


def calibration_in_the_large(survival_at_t, time, event, t: float) -> float:
    """Mean predicted S_i(t) minus the Kaplan-Meier estimate at t of the same subjects
    (positive: the model predicts too much survival)."""
    from pysurvbridge.metrics.censoring import kaplan_meier

    s = as_vector(survival_at_t, "survival_at_t")
    return float(s.mean() - kaplan_meier(time, event, [float(t)])[0])
