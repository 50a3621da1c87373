"""The curves R's ``survfit(coxph_fit, newdata)`` gives, with their standard errors and bands.

Per event group g (a distinct (stratum, event time)), from the fitted beta and the training
rows (weights, (start, stop], strata as in the fit), in uncentred units (x = 0):

- Breslow: hazard d_w / S0, variance term d_w / S0^2, xbar term d_w S1 / S0^2;
- Efron (survfit's default after an Efron fit): the mean over the d tied events' slots,
  den_k = S0 - (k/d) T0 (T0, T1: the tied events' sums), of hazard m / den_k, variance term
  m / den_k^2 and xbar term m (S1 - (k/d) T1) / den_k^2, m = d_w / d (the events' mean weight);

with S0 = sum of w exp(x'beta) at risk, S1 = the same times x, d_w the events' weight. This is
survival's ``agsurv`` (survtype/vartype 2 and 3). For a new subject x in stratum s:

    H(t | x)       = exp(x'beta) sum_{g <= t} hazard_g
    var H(t | x)   = exp(2 x'beta) [sum_{g <= t} variance_g + q' V q],
    q(t)           = x sum_{g <= t} hazard_g - sum_{g <= t} xbar_g,

V the fit's variance (robust, as survfit uses ``fit$var`` of a coxph with ``cluster()``), and
``std.err`` = sqrt(var H), the standard error of -log S. Bands: survival's ``survfit_confint``
("log", "log-log", "plain").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pysurvbridge.classical._sweeps import _segment_sums, _suffix_within
from pysurvbridge.classical.native import RiskSets, check_ties
from pysurvbridge.errors import InvalidParameterError

CONF_TYPES = ("log", "log-log", "plain")

__all__ = ["SurvivalBand"]


def curve_table(X: np.ndarray, beta: np.ndarray, stop: np.ndarray, event: np.ndarray,
                start: np.ndarray | None = None, strata: np.ndarray | None = None,
                weights: np.ndarray | None = None, ties: str = "efron") -> pd.DataFrame:
    """One row per event group: stratum, time, hazard, cumhaz (the ``ties`` form), hazard_breslow,
    cumhaz_breslow, varhaz, cumvarhaz and, per covariate j, ``xbar[j]`` and ``cumxbar[j]`` (the
    ``ties`` form; cumulated within each stratum). X (n, p) uncentred, beta (p,)."""
    check_ties(ties)
    X = np.asarray(X, dtype=np.float64)
    rs = RiskSets(stop, event, start, strata, weights=weights)
    Xs = np.take(X, rs.order, axis=0)
    eta = Xs @ np.asarray(beta, dtype=np.float64)
    if rs.w is not None:
        eta = eta + np.log(rs.w)
    shift = float(eta.max()) if len(eta) else 0.0
    r = np.exp(eta - shift)  # w exp(x'beta) / exp(shift)
    G = rs.n_groups
    at_risk = rs.hi > rs.lo
    rows = np.flatnonzero(at_risk)
    grp = rs.hi[rows] - 1
    rx = Xs * r[:, None]
    s0 = _segment_sums(r[rows], grp, G)
    s1 = _segment_sums(rx[rows], grp, G)
    if len(rs.exits):
        s0 -= _segment_sums(r[rs.exits], rs.exit_group, G)
        s1 -= _segment_sums(rx[rs.exits], rs.exit_group, G)
    _suffix_within(s0, rs.gs_start)
    _suffix_within(s1, rs.gs_start)
    wd, d = rs.wd, rs.d
    breslow_haz = wd / s0
    haz, var, xb = breslow_haz.copy(), wd / s0**2, (wd / s0**2)[:, None] * s1
    tied = np.flatnonzero(d > 1) if ties == "efron" else np.zeros(0, dtype=np.int64)
    if len(tied):
        ev = np.flatnonzero(at_risk & rs.event)
        g_ev = rs.hi[ev] - 1
        t0 = _segment_sums(r[ev], g_ev, G)
        t1 = _segment_sums(rx[ev], g_ev, G)
        for g in tied:
            f = np.arange(d[g]) / d[g]
            den = s0[g] - f * t0[g]
            m = wd[g] / d[g]
            haz[g] = m * np.sum(1.0 / den)
            var[g] = m * np.sum(1.0 / den**2)
            xb[g] = m * ((s1[g][None, :] - f[:, None] * t1[g][None, :]) / (den**2)[:, None]).sum(axis=0)
    scale = np.exp(-shift)  # back to S0 = sum of w exp(x'beta)
    haz, breslow_haz, var, xb = haz * scale, breslow_haz * scale, var * scale**2, xb * scale
    table = pd.DataFrame({"stratum": rs.strata_values(strata), "time": rs.times, "hazard": haz,
                          "hazard_breslow": breslow_haz, "varhaz": var})
    names = [f"xbar[{j}]" for j in range(X.shape[1])]
    table[names] = xb
    by = rs.gstr if rs.n_strata > 1 else np.zeros(G, dtype=np.int64)
    cum = pd.DataFrame({"cumhaz": haz, "cumhaz_breslow": breslow_haz, "cumvarhaz": var})
    cum[[f"cum{n}" for n in names]] = xb
    table[list(cum.columns)] = cum.groupby(by).cumsum().to_numpy()
    return table


@dataclass(frozen=True)
class SurvivalBand:
    """Predicted survival with its pointwise confidence band; each a DataFrame (m, len(times)):
    rows subjects, columns times. ``std_err`` is the standard error of the cumulative hazard
    (of -log S), survfit's ``std.err``."""

    survival: pd.DataFrame
    std_err: pd.DataFrame
    lower: pd.DataFrame
    upper: pd.DataFrame
    conf_level: float
    conf_type: str


def check_conf(conf_level: float, conf_type: str) -> None:
    if not (isinstance(conf_level, (int, float, np.floating)) and 0 < conf_level < 1):
        raise InvalidParameterError(f"conf_level must be a number in (0, 1), e.g. 0.95, but was {conf_level!r}")
    if conf_type not in CONF_TYPES:
        raise InvalidParameterError(f"conf_type must be one of {list(CONF_TYPES)}, but was {conf_type!r}")


def confidence_band(surv: np.ndarray, se: np.ndarray, conf_level: float, conf_type: str
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) of survival ``surv`` whose -log has standard error ``se``, as
    survival's ``survfit_confint(logse = TRUE)``: NaN where R gives NA (S = 0; and S = 1 on the
    log-log scale)."""
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = se * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            p = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(p) - z * se), np.minimum(np.exp(np.log(p) + z * se), 1.0)
        p = np.where((surv == 0) | (surv == 1), np.nan, surv)  # log-log
        se2 = z * se / np.log(p)
        loglog = np.log(-np.log(p))
        return np.exp(-np.exp(loglog - se2)), np.exp(-np.exp(loglog + se2))
