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
    as R's coxph does when a cluster term is present. ``baseline`` is the Breslow cumulative
    baseline hazard (columns stratum, time, hazard, cumhaz) for x = 0 (uncentred).
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
        """(m,) linear predictor x'beta (uncentred); see :func:`linear_predictor`."""
        return linear_predictor(self._design(newdata), self.coef.to_numpy())

    def predict_risk(self, newdata: pd.DataFrame | np.ndarray) -> np.ndarray:
        """(m,) relative risk exp(x'beta) against x = 0."""
        return np.exp(self.predict_log_risk(newdata))

    def _baseline_at(self, times: np.ndarray, stratum: object) -> np.ndarray:
        table = self.baseline
        if self.strata_name is not None:
            known = table["stratum"].unique()
            if stratum not in set(known.tolist()):
                raise InvalidParameterError(
                    f"stratum {stratum!r} has no baseline; strata ({self.strata_name}) with "
                    f"events: {sorted(known.tolist())}"
                )
            table = table.loc[table["stratum"] == stratum]
        idx = np.searchsorted(table["time"].to_numpy(), times, side="right")
        return np.concatenate([[0.0], table["cumhaz"].to_numpy()])[idx]

    def predict_cumulative_hazard(self, newdata: pd.DataFrame | np.ndarray, times: Sequence[float],
                                  stratum: object = 1) -> pd.DataFrame:
        """(m, len(times)) H(t | x) = H0(t) exp(x'beta); rows subjects, columns times.

        For stratified models (PWP, WLW) ``stratum`` picks the event number's baseline
        (default 1: the first event); it is ignored otherwise.
        """
        times = np.asarray(times, dtype=np.float64)
        if times.ndim != 1 or np.any(times < 0):
            raise InvalidParameterError("times must be a 1-D sequence of non-negative values")
        h0 = self._baseline_at(times, stratum)
        H = np.outer(self.predict_risk(newdata), h0)
        return pd.DataFrame(H, columns=pd.Index(times, name="time"))

    def predict_survival(self, newdata: pd.DataFrame | np.ndarray, times: Sequence[float],
                         stratum: object = 1) -> pd.DataFrame:
        """(m, len(times)) S(t | x) = exp(-H0(t) exp(x'beta)), Breslow baseline."""
        return np.exp(-self.predict_cumulative_hazard(newdata, times, stratum))


def linear_predictor(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """(m,) x_i'beta for X (m, p), summed row by row in one fixed order, not by BLAS.

    A blocked matrix-vector product on a column-major X (what a DataFrame gives) sums the tail
    rows of a block in another order, so identical covariate rows got predictors 1 ulp apart and
    concordance counted their pairs as ordered instead of tied (bladder1: C moved by 0.002
    between two engines whose coefficients agree to 1e-16)."""
    return (np.asarray(X, dtype=np.float64) * np.asarray(beta, dtype=np.float64)).sum(axis=1)
