"""ClassicalFit: the frozen result of a classical Cox-type fit, whichever engine made it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from pysurvbridge.errors import InvalidParameterError


@dataclass(frozen=True, eq=False)
class ClassicalFit:
    """Estimates, variances and fit statistics; ``summary`` is a lifelines-style DataFrame.

    ``coef``, ``se`` (naive, inverse information) and ``robust_se`` (cluster-by-subject
    sandwich) are Series indexed by covariate. z, p and confidence intervals use the robust SE,
    as R's coxph does when a cluster term is present. ``baseline`` is the baseline hazard
    for x = 0 (uncentred), one row per (stratum, event time): ``hazard``/``cumhaz`` in the form
    of the fit's ties (Efron or Breslow; what ``survfit(fit)`` uses), ``hazard_breslow``/
    ``cumhaz_breslow``, and the terms of the curves' variance (``varhaz``, ``xbar[...]`` and their
    cumulative sums; see :mod:`pysurvbridge.classical.survfit`). ``strata_columns`` are the
    user's stratifying columns (``fit_cox(..., strata=)``).
    """

    model: str
    label: str
    engine: str
    ties: str
    coef: pd.Series
    se: pd.Series
    robust_se: pd.Series
    var: pd.DataFrame
    robust_var: pd.DataFrame
    loglik: float
    loglik_null: float
    n_subjects: int
    n_rows: int
    n_events: int
    iterations: int
    r_call: str
    baseline: pd.DataFrame
    strata_name: str | None = None
    strata_columns: tuple[str, ...] = ()
    concordance_inputs: tuple | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def concordance(self) -> float:
        """Harrell's C as survival::concordance gives it for this fit (computed on first use;
        with case weights, each pair weighted as coxph does)."""
        if "concordance" not in self._cache:
            from pysurvbridge.metrics import concordance_counting

            eta, stop, event, start, strata, weights = self.concordance_inputs
            self._cache["concordance"] = concordance_counting(eta, stop, event, start, strata, weights=weights)[0]
        return self._cache["concordance"]

    @property
    def covariates(self) -> list[str]:
        return list(self.coef.index)

    @property
    def n_params(self) -> int:
        return len(self.coef)

    @property
    def aic(self) -> float:
        """-2 log partial likelihood + 2k, k = number of coefficients (R's AIC(coxph))."""
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def exp_coef(self) -> pd.Series:
        return np.exp(self.coef)

    @property
    def summary(self) -> pd.DataFrame:
        z = self.coef / self.robust_se
        q = stats.norm.ppf(0.975)
        out = pd.DataFrame({
            "coef": self.coef, "exp(coef)": self.exp_coef, "se(coef)": self.se,
            "robust se": self.robust_se, "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
            "coef lower 95%": self.coef - q * self.robust_se,
            "coef upper 95%": self.coef + q * self.robust_se,
        })
        out["exp(coef) lower 95%"] = np.exp(out["coef lower 95%"])
        out["exp(coef) upper 95%"] = np.exp(out["coef upper 95%"])
        out.index.name = "covariate"
        return out

    def __repr__(self) -> str:
        head = (f"<ClassicalFit {self.label}: engine={self.engine}, ties={self.ties}, "
                f"{self.n_subjects} subjects, {self.n_rows} rows, {self.n_events} events, "
                f"loglik={self.loglik:.4f}, AIC={self.aic:.2f}, C={self.concordance:.4f}>")
        return head + "\n" + self.summary.round(4).to_string()

    # ------------------------------------------------------------ prediction

    def _design(self, newdata: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(newdata, pd.DataFrame):
            missing = [c for c in self.covariates if c not in newdata.columns]
            if missing:
                raise InvalidParameterError(f"newdata lacks covariate column(s) {missing}")
            X = newdata[self.covariates].to_numpy(dtype=np.float64)
        else:
            X = np.asarray(newdata, dtype=np.float64)
            if X.ndim == 1:
                X = X[None, :]
            if X.shape[1] != self.n_params:
                raise InvalidParameterError(
                    f"newdata has {X.shape[1]} columns; the model has {self.n_params} covariates "
                    f"{self.covariates}"
                )
        if not np.isfinite(X).all():
            raise InvalidParameterError("newdata has missing or infinite covariate values")
        return X

    def predict_log_risk(self, newdata: pd.DataFrame | np.ndarray) -> np.ndarray:
        """(m,) linear predictor x'beta (uncentred); see ``pysurvbridge.classical.design.linear_predictor``."""
        return linear_predictor(self._design(newdata), self.coef.to_numpy())

    def predict_risk(self, newdata: pd.DataFrame | np.ndarray) -> np.ndarray:
        """(m,) relative risk exp(x'beta) against x = 0."""
        return np.exp(self.predict_log_risk(newdata))

    def _stratum_table(self, stratum: object) -> pd.DataFrame:
        table = self.baseline
        if self.strata_name is None:
            return table
        known = table["stratum"].unique()
        if stratum not in set(known.tolist()):
            shown = sorted(map(str, known.tolist()))
            raise InvalidParameterError(
                f"stratum {stratum!r} was not seen with events in training, so it has no baseline; "
                f"strata ({self.strata_name}) with events: {shown}"
            )
        return table.loc[table["stratum"] == stratum]

    def _baseline_at(self, times: np.ndarray, stratum: object, column: str = "cumhaz") -> np.ndarray:
        table = self._stratum_table(stratum)
        idx = np.searchsorted(table["time"].to_numpy(), times, side="right")
        values = table[column].to_numpy()
        return np.concatenate([np.zeros((1,) + values.shape[1:]), values])[idx]

    def _row_strata(self, newdata, stratum: object, m: int) -> np.ndarray:
        """(m,) the stratum of each new subject: ``stratum`` for all, or for a fit with
        ``strata_columns`` each row's own label from ``newdata``'s columns; PWP and WLW default
        to event number 1."""
        if stratum is not None or self.strata_name is None:
            return np.full(m, 1 if stratum is None else stratum, dtype=object)
        if not self.strata_columns:
            return np.full(m, 1, dtype=object)
        if not isinstance(newdata, pd.DataFrame):
            raise InvalidParameterError(
                f"this fit is stratified by {list(self.strata_columns)}: give newdata as a DataFrame with "
                "those columns (each subject gets its stratum's baseline), or stratum= for all rows")
        missing = [c for c in self.strata_columns if c not in newdata.columns]
        if missing:
            raise InvalidParameterError(f"newdata lacks the strata column(s) {missing}")
        from pysurvbridge.classical.design import stratum_labels

        return stratum_labels(newdata, self.strata_columns)

    def _by_stratum(self, newdata, stratum: object):
        """Rows grouped by stratum: yields (stratum, row positions, their design X)."""
        X = self._design(newdata)
        labels = self._row_strata(newdata, stratum, len(X))
        for label in pd.unique(labels):
            rows = np.flatnonzero(labels == label)
            yield label, rows, X[rows]

    def _cumhaz_column(self, baseline: str | None) -> str:
        if "cumhaz_breslow" not in self.baseline and baseline in (None, "breslow"):
            return "cumhaz"  # fit_cox_distributed: Breslow's baseline for either ties
        if baseline is None or baseline == self.ties:
            return "cumhaz"
        if baseline == "breslow":
            return "cumhaz_breslow"
        raise InvalidParameterError(
            f"baseline must be None (the fit's ties, {self.ties!r}) or 'breslow', but was {baseline!r}")

    def predict_cumulative_hazard(self, newdata: pd.DataFrame | np.ndarray, times: Sequence[float],
                                  stratum: object = None, *, baseline: str | None = None) -> pd.DataFrame:
        """(m, len(times)) H(t | x) = H0(t) exp(x'beta); rows subjects, columns times.

        Each subject gets its own stratum's baseline: from ``newdata``'s strata columns for
        ``fit_cox(..., strata=)``; event number ``stratum`` (default 1) for PWP and WLW.
        ``baseline``: None (the form of the fit's ties, as ``survfit(coxph_fit, newdata)``) or
        "breslow" (d / S0 even after an Efron fit).
        """
        times = _check_times(times)
        column = self._cumhaz_column(baseline)
        H = np.zeros((len(self._design(newdata)), len(times)))
        for label, rows, X in self._by_stratum(newdata, stratum):
            H[rows] = np.outer(np.exp(linear_predictor(X, self.coef.to_numpy())), self._baseline_at(times, label, column))
        return pd.DataFrame(H, columns=pd.Index(times, name="time"))

    def predict_survival(self, newdata: pd.DataFrame | np.ndarray, times: Sequence[float],
                         stratum: object = None, *, baseline: str | None = None,
                         conf_level: float | None = None, conf_type: str = "log",
                         variance: str = "robust"):
        """(m, len(times)) S(t | x) = exp(-H(t | x)), equal to ``survfit(coxph_fit, newdata)``.

        With ``conf_level`` (e.g. 0.95): a :class:`~pysurvbridge.classical.survfit.SurvivalBand`
        with the survival, its standard error (of the cumulative hazard, survfit's
        ``std.err``) and the pointwise band ("log" as R's default, "log-log" or "plain"),
        computed with the fit's robust variance as survfit does for a coxph with ``cluster()``
        (``variance="model"``: the naive one). Bands need the ties' own baseline.
        """
        if conf_level is None:
            return np.exp(-self.predict_cumulative_hazard(newdata, times, stratum, baseline=baseline))
        from pysurvbridge.classical.survfit import SurvivalBand, check_conf, confidence_band

        check_conf(conf_level, conf_type)
        if variance not in ("robust", "model"):
            raise InvalidParameterError(f"variance must be 'robust' or 'model', but was {variance!r}")
        if self._cumhaz_column(baseline) != "cumhaz" or "cumvarhaz" not in self.baseline:
            raise InvalidParameterError("confidence bands come with the fit's own baseline (baseline=None) of a "
                                        "fit on all rows (not fit_cox_distributed)")
        times = _check_times(times)
        V = (self.robust_var if variance == "robust" else self.var).to_numpy()
        beta = self.coef.to_numpy()
        cumx = [f"cumxbar[{c}]" for c in self.covariates]
        m = len(self._design(newdata))
        H, se = np.zeros((m, len(times))), np.zeros((m, len(times)))
        for label, rows, X in self._by_stratum(newdata, stratum):
            h0 = self._baseline_at(times, label, "cumhaz")
            v0 = self._baseline_at(times, label, "cumvarhaz")
            xb = self._baseline_at(times, label, cumx)  # (T, p)
            risk = np.exp(linear_predictor(X, beta))
            q = X[:, None, :] * h0[None, :, None] - xb[None, :, :]  # (rows, T, p)
            var = (v0[None, :] + np.einsum("rtp,pq,rtq->rt", q, V, q)) * risk[:, None] ** 2
            H[rows] = np.outer(risk, h0)
            se[rows] = np.sqrt(var)
        surv = np.exp(-H)
        lower, upper = confidence_band(surv, se, conf_level, conf_type)
        cols = pd.Index(times, name="time")
        return SurvivalBand(pd.DataFrame(surv, columns=cols), pd.DataFrame(se, columns=cols),
                            pd.DataFrame(lower, columns=cols), pd.DataFrame(upper, columns=cols),
                            float(conf_level), conf_type)


def _check_times(times) -> np.ndarray:
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or np.any(times < 0) or not np.isfinite(times).all():
        raise InvalidParameterError("times must be a 1-D sequence of non-negative values")
    return times


def linear_predictor(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """(m,) x_i'beta for X (m, p), summed row by row in one fixed order, not by BLAS.

    A blocked matrix-vector product on a column-major X (what a DataFrame gives) sums the tail
    rows of a block in another order, so identical covariate rows got predictors 1 ulp apart and
    concordance counted their pairs as ordered instead of tied (bladder1: C moved by 0.002
    between two engines whose coefficients agree to 1e-16)."""
    return (np.asarray(X, dtype=np.float64) * np.asarray(beta, dtype=np.float64)).sum(axis=1)
