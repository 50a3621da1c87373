"""Mean cumulative function: the Nelson-Aalen estimator for recurrent events, by group.

MCF(t) = sum over event times u <= t of d(u) / Y(u), with d(u) the events at u and Y(u) the
rows at risk (start < u <= stop). Its robust variance (Lawless & Nadeau 1995; R's
``survfit(Surv(start, stop, event) ~ g, id = id)`` infinitesimal jackknife) sums, over
subjects, the square of psi_i(t) = sum_{u <= t} (dN_i(u) - Y_i(u) d(u) / Y(u)) / Y(u); the
Poisson variance sum d(u) / Y(u)^2 assumes independent events within a subject.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError


@dataclass(frozen=True, eq=False)
class MeanCumulativeFunction:
    """``table``: group, time, n_risk, n_events, mcf, se, lower, upper (at each event time)."""

    table: pd.DataFrame
    variance: str
    by: str | None

    def at(self, times: np.ndarray, group: object = None) -> np.ndarray:
        """The step function MCF(t) of ``group`` at ``times`` (0 before the first event)."""
        t = self.table if group is None else self.table.loc[self.table["group"] == group]
        idx = np.searchsorted(t["time"].to_numpy(), np.asarray(times, float), side="right")
        return np.concatenate([[0.0], t["mcf"].to_numpy()])[idx]

    def plot(self, ax=None, confidence: bool = True):
        """Step plot of MCF(t) per group with its 95% band; returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for group, t in self.table.groupby("group", sort=False, dropna=False):
            x = np.concatenate([[0.0], t["time"].to_numpy()])
            label = "all subjects" if self.by is None else f"{self.by} = {group}"
            line = ax.step(x, np.concatenate([[0.0], t["mcf"].to_numpy()]), where="post", label=label)
            if confidence:
                ax.fill_between(x, np.concatenate([[0.0], t["lower"].to_numpy()]),
                                np.concatenate([[0.0], t["upper"].to_numpy()]), step="post",
                                alpha=0.2, color=line[0].get_color())
        ax.set_xlabel("time")
        ax.set_ylabel("mean cumulative number of events")
        ax.set_title(f"Mean cumulative function ({self.variance} 95% CI)")
        ax.legend()
        return ax


def mean_cumulative_function(
    data: RecurrentData,
    by: str | Mapping[object, object] | pd.Series | None = None,
    *,
    variance: Literal["robust", "poisson"] = "robust",
) -> MeanCumulativeFunction:
    """The MCF of ``data``, per level of ``by`` (a covariate name, or a mapping id -> group).

    Confidence intervals are log-transformed: MCF * exp(+-1.96 se / MCF).
    """
    if variance not in ("robust", "poisson"):
        raise InvalidParameterError(f"variance must be 'robust' or 'poisson', but was {variance!r}")
    f = data.frame
    if by is None:
        groups = pd.Series("all", index=f.index)
        by_name = None
    elif isinstance(by, str):
        if by not in data.covariates:
            raise InvalidParameterError(f"by={by!r} is not a covariate; choose from {list(data.covariates)}")
        if by in data.time_varying:
            raise InvalidParameterError(f"by={by!r} varies within subjects; group by a fixed covariate")
        groups, by_name = f[by], by
    else:
        mapping = pd.Series(by) if not isinstance(by, pd.Series) else by
        missing = set(data.ids) - set(mapping.index)
        if missing:
            raise InvalidParameterError(f"by has no group for subject(s) {sorted(missing, key=str)[:5]}")
        groups, by_name = f["id"].map(mapping), "group"
    parts = []
    for group, rows in f.groupby(groups.to_numpy(), sort=True):
        part = _one_group(rows, variance)
        part.insert(0, "group", group)
        parts.append(part)
    return MeanCumulativeFunction(pd.concat(parts, ignore_index=True), variance, by_name)


def _one_group(rows: pd.DataFrame, variance: str) -> pd.DataFrame:
    start, stop = rows["start"].to_numpy(), rows["stop"].to_numpy()
    event = rows["event"].to_numpy()
    times, d = np.unique(stop[event == 1], return_counts=True)
    y = (len(stop) - np.searchsorted(np.sort(stop), times, side="left")) - \
        (len(start) - np.searchsorted(np.sort(start), times, side="left"))
    mcf = np.cumsum(d / y)
    if variance == "poisson":
        var = np.cumsum(d / y**2)
    else:
        var = (_influence(rows, times, d, y) ** 2).sum(axis=0)
    se = np.sqrt(var)
    z = stats.norm.ppf(0.975)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.exp(z * se / mcf)
    return pd.DataFrame({"time": times, "n_risk": y, "n_events": d, "mcf": mcf, "se": se,
                         "lower": mcf / factor, "upper": mcf * factor})


def _influence(rows: pd.DataFrame, times: np.ndarray, d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(subjects, event times) psi_i(t) of the module docstring, summed over each subject's rows."""
    c = np.concatenate([[0.0], np.cumsum(d / y**2)])  # C[k] = sum of d/Y^2 over the first k times
    k_start = np.searchsorted(times, rows["start"].to_numpy(), side="right")
    k_stop = np.searchsorted(times, rows["stop"].to_numpy(), side="right")
    k_t = np.arange(1, len(times) + 1)
    upto = np.minimum(k_stop[:, None], k_t[None, :])
    compensator = np.where(upto > k_start[:, None], c[upto] - c[k_start][:, None], 0.0)
    jumps = np.zeros_like(compensator)
    ev = rows["event"].to_numpy() == 1
    ev_k = k_stop[ev] - 1  # index of the row's event time
    jumps[ev] = (k_t[None, :] > ev_k[:, None]) / y[ev_k][:, None]
    per_row = jumps - compensator
    return pd.DataFrame(per_row).groupby(rows["id"].to_numpy()).sum().to_numpy()
