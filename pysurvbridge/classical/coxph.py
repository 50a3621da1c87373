"""``CoxPH``: the Cox model as a scikit-learn estimator, fitted by the package's classical
engines (R's ``coxph`` through rpy2, or the native engine that equals it), so it goes into
``Pipeline``, ``GridSearchCV`` and scikit-survival's scorers beside the neural models."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator

from pysurvbridge.classical.recurrent import fit_cox
from pysurvbridge.classical.results import ClassicalFit
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.validation import weights_array
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.estimator import (
    NotFittedError,
    SurvivalAnalysisMixin,
    check_not_container,
    training_data,
)

__all__ = ["CoxPH"]

ENGINES = ("auto", "r", "native")


class CoxPH(SurvivalAnalysisMixin, BaseEstimator):
    """Cox proportional hazards model, h(t | x) = h0(t) exp(x'beta), by partial likelihood.

    Args:
        ties: "efron" (R's default) or "breslow".
        engine: "auto" (R's survival when usable, else native), "r" or "native"; both equal
            R's coxph (tests/classical).
        robust: report the robust (sandwich) variance in ``cov_``, ``se_`` and ``summary_``,
            as ``coxph(..., robust = TRUE)``; else the model-based one.

    After ``fit``: ``fit_`` (the :class:`ClassicalFit`, with AIC, concordance, the R call),
    ``coef_`` (p,), ``cov_`` (p, p), ``se_`` (p,), ``summary_`` (a DataFrame),
    ``unique_times_`` (distinct training times), ``n_features_in_`` and, after a DataFrame,
    ``feature_names_in_``. ``predict`` gives the linear predictor x'beta.
    """

    _step_survival = True  # Efron/Breslow baseline: S(t | x) jumps only at training event times

    def __init__(self, ties: str = "efron", engine: str = "auto", robust: bool = False) -> None:
        self.ties = ties
        self.engine = engine
        self.robust = robust

    def _check_params(self) -> None:
        if self.ties not in ("efron", "breslow"):
            raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {self.ties!r}")
        if self.engine not in ENGINES:
            raise InvalidParameterError(f"engine must be one of {list(ENGINES)}, but was {self.engine!r}")

    def fit(self, X, y=None, sample_weight=None) -> "CoxPH":
        """Fit on ``X`` (array or DataFrame of numeric columns) with ``y`` (scikit-survival's
        structured array, a two-column (event, time) DataFrame or an (event, time) tuple), or
        on a SurvivalData alone. ``sample_weight`` (n,): positive case weights, as coxph's
        ``weights =`` (or the SurvivalData's own ``weights``). Returns self."""
        self._check_params()
        names = None
        if y is None:
            if not isinstance(X, SurvivalData):
                raise InvalidParameterError("CoxPH.fit(X) needs y: CoxPH requires y to be passed, but the target y is "
                                            "None; give the event and time of each subject, or a SurvivalData")
            data = X
        else:
            check_not_container(X)
            data, names = training_data(X, y)
        if sample_weight is not None:
            if data.weights is not None:
                raise InvalidParameterError("the data already carry case weights; give the weights once "
                                            "(sample_weight= or the container's weights)")
            try:
                w = weights_array(np.asarray(sample_weight), len(data), "sample_weight")
            except InvalidSurvivalDataError as e:
                raise InvalidParameterError(str(e)) from None
            data = dataclasses.replace(data, weights=w)
        fit = fit_cox(data, ties=self.ties, engine=self.engine)
        self.fit_: ClassicalFit = fit
        self.coef_ = fit.coef.to_numpy()
        self.cov_ = (fit.robust_var if self.robust else fit.var).to_numpy()
        self.se_ = np.sqrt(np.diag(self.cov_))
        self.n_features_in_ = len(self.coef_)
        self.__dict__.pop("feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self._by_position = y is not None and names is None
        self.unique_times_ = np.unique(data.time)
        self.summary_ = self._summary()
        return self

    def _summary(self) -> pd.DataFrame:
        fit = self.fit_
        z = self.coef_ / self.se_
        q = stats.norm.ppf(0.975)
        out = pd.DataFrame({"coef": self.coef_, "exp(coef)": np.exp(self.coef_),
                            ("robust se" if self.robust else "se(coef)"): self.se_, "z": z,
                            "p": 2 * stats.norm.sf(np.abs(z)), "coef lower 95%": self.coef_ - q * self.se_,
                            "coef upper 95%": self.coef_ + q * self.se_}, index=pd.Index(fit.covariates, name="covariate"))
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "fit_"):
            raise NotFittedError("this CoxPH is not fitted yet; call fit() first")

    def _design(self, X) -> pd.DataFrame | np.ndarray:
        self._check_fitted()
        if isinstance(X, SurvivalData):
            X = X.X
        if isinstance(X, pd.DataFrame) and not self._by_position:
            return X
        arr = np.asarray(X.to_numpy() if isinstance(X, pd.DataFrame) else X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features_in_:
            got = arr.shape[1] if arr.ndim == 2 else f"shape {arr.shape} for"
            raise InvalidSurvivalDataError(f"X has {got} features, but CoxPH is expecting {self.n_features_in_} "
                                           "features as input")
        return arr

    def predict_risk(self, X) -> np.ndarray:
        """(n,) linear predictor x'beta (higher = earlier event)."""
        return self.fit_.predict_log_risk(self._design(X))

    def _survival_matrix(self, X, times: np.ndarray) -> np.ndarray:
        return self.fit_.predict_survival(self._design(X), np.asarray(times, dtype=np.float64)).to_numpy()

    def predict_survival(self, X, times) -> pd.DataFrame:
        """S(t | x): one row per subject, one column per time (the baseline of the ties, as
        R's survfit)."""
        index = X.index if isinstance(X, pd.DataFrame) else None
        grid = np.asarray(times, dtype=np.float64)
        return pd.DataFrame(self._survival_matrix(X, grid), index=index, columns=pd.Index(grid, name="time"))
