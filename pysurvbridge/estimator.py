"""What every estimator of the package shares: the scikit-learn and scikit-survival contract.

- :func:`survival_target` reads ``y`` as scikit-survival does: a structured array with a bool
  event field and a float time field (``sksurv.util.Surv.from_arrays``; any field names), a
  DataFrame with two columns (event, time), or an ``(event, time)`` tuple.
  :func:`multi_event_target` reads K such (event, time) pairs for multi-event models.
- :func:`training_data` turns ``fit(X, y)`` into a validated :class:`SurvivalData`, with errors
  that name the argument and the rows.
- :class:`SurvivalFunction` is one subject's curve, callable at any time like
  scikit-survival's ``StepFunction``.
- :class:`SurvivalAnalysisMixin` gives every estimator ``predict`` (a risk score: higher means
  an earlier event), ``score`` (Harrell's C), ``predict_survival_function`` and
  ``predict_cumulative_hazard_function``, so scikit-survival's scorers work on them.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from pysurvbridge.data.events import MultiEventData, SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

__all__ = ["NotFittedError", "check_not_container", "survival_target", "multi_event_target", "training_data", "multi_event_training_data",
           "SurvivalFunction", "SurvivalAnalysisMixin", "is_xy_input", "feature_frame"]

class NotFittedError(InvalidParameterError, SklearnNotFittedError):
    """A prediction asked of an estimator that was never fitted (scikit-learn's
    NotFittedError, and the package's InvalidParameterError)."""


_FORMS = ("a structured array with a bool event field and a float time field "
          "(sksurv.util.Surv.from_arrays(event, time)), a DataFrame with the columns (event, time), "
          "or an (event, time) tuple")


def check_not_container(X: Any) -> None:
    """``fit(X, y)`` with a container as X: the container already holds y."""
    from pysurvbridge.data.recurrent import RecurrentData

    if isinstance(X, (SurvivalData, MultiEventData, RecurrentData)):
        raise InvalidParameterError(f"fit(X, y) takes X as an array or DataFrame, not a {type(X).__name__}, which "
                                    "already holds the times and events: call fit(data) without y")


def is_xy_input(X: Any) -> bool:
    """Whether ``X`` is a feature matrix (NumPy array or DataFrame) rather than one of the
    package's containers or a minibatch source (a list of rows counts as a matrix only when
    ``y`` comes with it: alone, a list is a list of minibatches)."""
    return isinstance(X, (np.ndarray, pd.DataFrame))


def _column(values: Any, n: int | None = None) -> np.ndarray:
    out = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
    if out.ndim != 1:
        raise InvalidSurvivalDataError(f"each part of y must be one value per subject, but one had shape {out.shape}")
    return out


def _pairs(y: Any, what: str) -> list[tuple[str, np.ndarray, str, np.ndarray]]:
    """(event name, event values, time name, time values) for each pair in ``y``."""
    if isinstance(y, tuple):
        if len(y) != 2:
            raise InvalidSurvivalDataError(f"y as a tuple must be (event, time), but had {len(y)} parts")
        return [("event", _column(y[0]), "time", _column(y[1]))]
    if isinstance(y, pd.DataFrame):
        if y.shape[1] == 0 or y.shape[1] % 2:
            raise InvalidSurvivalDataError(f"y as a DataFrame must have {what}, but had the columns {list(y.columns)}")
        cols = list(y.columns)
        return [(str(cols[j]), y.iloc[:, j].to_numpy(), str(cols[j + 1]), y.iloc[:, j + 1].to_numpy())
                for j in range(0, len(cols), 2)]
    arr = y if isinstance(y, np.ndarray) else np.asarray(y)
    if arr.dtype.names is None:
        kind = f"a {arr.ndim}-D array of {arr.dtype}" if arr.ndim else f"a {type(y).__name__}"
        plain = (" (times alone say nothing about which subjects were censored)" if arr.ndim == 1 else "")
        raise InvalidSurvivalDataError(f"y must give each subject an event indicator and a time: {_FORMS}; "
                                       f"got {kind}{plain}")
    names = list(arr.dtype.names)
    if len(names) % 2:
        raise InvalidSurvivalDataError(f"y's fields must come in (event, time) pairs ({what}), but y has the fields "
                                       f"{names}")
    out = []
    for j in range(0, len(names), 2):
        first, second = names[j], names[j + 1]
        # scikit-survival puts the bool event field first; a pair given as (time, event) is read by dtype
        if arr.dtype[first].kind == "f" and arr.dtype[second].kind == "b":
            first, second = second, first
        out.append((first, np.asarray(arr[first]), second, np.asarray(arr[second])))
    return out


def _check_event_values(name: str, values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "b":
        return values.astype(np.int64)
    numeric = np.asarray(values, dtype=np.float64) if values.dtype.kind in "iuf" else None
    if numeric is None:
        raise InvalidSurvivalDataError(f"y's event {name!r} must be bool or 0/1, but has dtype {values.dtype}")
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        raise InvalidSurvivalDataError(f"y's event {name!r} must be bool or 0/1, but has {sorted(set(numeric[bad].tolist()))[:3]} "
                                       f"in rows {np.flatnonzero(bad)[:5].tolist()}")
    return numeric.astype(np.int64)


def _check_time_values(name: str, values: np.ndarray) -> np.ndarray:
    if values.dtype.kind not in "iuf":
        raise InvalidSurvivalDataError(f"y's time {name!r} must be numeric, but has dtype {values.dtype}")
    t = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(t)
    if bad.any():
        raise InvalidSurvivalDataError(f"y's time {name!r} has missing or infinite values in rows "
                                       f"{np.flatnonzero(bad)[:5].tolist()}")
    neg = t < 0
    if neg.any():
        raise InvalidSurvivalDataError(f"y's time {name!r} has negative times in rows {np.flatnonzero(neg)[:5].tolist()}")
    return t


def survival_target(y: Any) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """(event (n,) int64, time (n,) float64, (event name, time name)) from a single-event ``y``."""
    pairs = _pairs(y, "two columns (event, time)")
    if len(pairs) != 1:
        raise InvalidSurvivalDataError(f"y must hold one (event, time) pair for a single-event model, but holds "
                                       f"{len(pairs)}: {[(e, t) for e, _, t, _ in pairs]}")
    (e_name, e, t_name, t), = pairs
    if len(e) != len(t):
        raise InvalidSurvivalDataError(f"y's event and time have different lengths ({len(e)} and {len(t)})")
    event, time = _check_event_values(e_name, e), _check_time_values(t_name, t)
    if not event.any():
        raise InvalidSurvivalDataError(f"y has no events: every one of its {len(event)} subjects is censored "
                                       f"(event {e_name!r} is all False); no survival model can be fitted")
    return event, time, (e_name, t_name)


def multi_event_target(y: Any) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(events (n, K) int64, times (n, K) float64, event names) from K (event, time) pairs: a
    structured array with fields (event_1, time_1, event_2, time_2, ...), a DataFrame with
    columns in that order, or a single pair. The event names are the event fields' names."""
    pairs = _pairs(y, "(event, time) column pairs")
    lengths = {len(e) for _, e, _, _ in pairs} | {len(t) for _, _, _, t in pairs}
    if len(lengths) != 1:
        raise InvalidSurvivalDataError(f"y's event and time fields have different lengths {sorted(lengths)}")
    events = np.column_stack([_check_event_values(n, e) for n, e, _, _ in pairs])
    times = np.column_stack([_check_time_values(n, t) for _, _, n, t in pairs])
    names = tuple(n for n, _, _, _ in pairs)
    return events, times, names


def _check_values(values: np.ndarray, shape: tuple[int, ...]) -> None:
    """Shape and finiteness of a numeric X, with scikit-learn's phrasing where it has one."""
    if shape[0] == 0:
        raise InvalidSurvivalDataError(f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required.")
    if shape[1] == 0:
        raise InvalidSurvivalDataError(f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is "
                                       "required.")
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise InvalidSurvivalDataError(f"X has missing (NaN) or infinite (inf) values in rows "
                                       f"{np.flatnonzero(bad)[:5].tolist()}; impute or drop them first")


def feature_frame(X: Any) -> tuple[pd.DataFrame, list[str] | None]:
    """``X`` as a DataFrame of covariate columns (x0, x1, ... for an array) and its feature
    names (None unless X was a DataFrame with string column names). Refuses sparse, complex
    and non-numeric input, empty X, and missing or infinite values, naming the rows."""
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise InvalidSurvivalDataError("sparse input is not supported: X is a sparse matrix; pass X.toarray()")
    if isinstance(X, pd.DataFrame):
        bad = [str(c) for c, t in X.dtypes.items() if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))
               or pd.api.types.is_complex_dtype(t)]
        if bad:
            raise InvalidSurvivalDataError(f"X's columns {bad[:5]} are not numeric; encode categorical columns first "
                                           "(e.g. sksurv.preprocessing.OneHotEncoder)")
        names = [str(c) for c in X.columns]
        _check_values(X.to_numpy(dtype=np.float64), X.shape)
        frame = X if list(X.columns) == names else X.set_axis(names, axis=1)
        return frame.reset_index(drop=True), (names if all(isinstance(c, str) for c in X.columns) else None)
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise InvalidSurvivalDataError("Complex data not supported: X has complex values")
    if arr.ndim != 2:
        raise InvalidSurvivalDataError(f"X must be 2-D (subjects x features), but has shape {arr.shape}; "
                                       "reshape a single feature with X.reshape(-1, 1)")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidSurvivalDataError(f"X must be numeric, but has dtype {arr.dtype}; encode categorical "
                                           "columns first (e.g. sksurv.preprocessing.OneHotEncoder)") from None
    _check_values(np.asarray(arr, dtype=np.float64), arr.shape)
    return pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])], copy=False), None


def _rows_match(X: pd.DataFrame, n: int) -> None:
    if len(X) != n:
        raise InvalidSurvivalDataError(f"X and y must describe the same subjects, but X has {len(X)} rows and y has {n}")


def training_data(X: Any, y: Any) -> tuple[SurvivalData, list[str] | None]:
    """(a validated SurvivalData, feature names or None) from ``fit(X, y)``'s arguments."""
    frame, names = feature_frame(X)
    event, time, (e_name, t_name) = survival_target(y)
    _rows_match(frame, len(time))
    covariates = list(frame.columns)
    time_col, event_col = f"y[{t_name}]", f"y[{e_name}]"
    if time_col in covariates or event_col in covariates:
        raise InvalidSurvivalDataError(f"X has a column named {time_col!r} or {event_col!r}; rename it")
    full = frame.assign(**{time_col: time, event_col: event})
    return SurvivalData.from_frame(full, time=time_col, event=event_col, covariates=covariates), names


def multi_event_training_data(X: Any, y: Any) -> tuple[MultiEventData, list[str] | None]:
    """(a validated MultiEventData, feature names or None) from ``fit(X, y)`` with K (event,
    time) pairs in ``y`` (:func:`multi_event_target`)."""
    frame, names = feature_frame(X)
    events, times, event_names = multi_event_target(y)
    _rows_match(frame, len(times))
    covariates = list(frame.columns)
    time_cols = [f"y[{n}_time]" for n in event_names]
    event_cols = [f"y[{n}]" for n in event_names]
    clash = sorted(set(time_cols + event_cols) & set(covariates))
    if clash:
        raise InvalidSurvivalDataError(f"X has columns named {clash}; rename them")
    full = frame.assign(**dict(zip(time_cols, times.T)), **dict(zip(event_cols, events.T)))
    data = MultiEventData.from_frame(full, times=time_cols, events=event_cols, covariates=covariates,
                                     event_names=list(event_names))
    return data, names


class SurvivalFunction:
    """One subject's survival (or cumulative hazard) curve, callable at any times, like
    scikit-survival's ``StepFunction``.

    ``x`` (m,): the grid it was tabulated on (the estimator's ``unique_times_``); ``y`` (m,):
    its values there. Calling it at ``t`` gives the model's own value at ``t``: a
    right-continuous step through (x, y), with ``start`` before ``x[0]``, for Cox-type models
    (whose Breslow curves jump only at training times), or the model itself for curves that
    move between grid points (Nnet-survival's log-linear pieces, MENSA's Weibull mixtures).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, start: float = 1.0,
                 exact: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.start = float(start)
        self._exact = exact

    @property
    def domain(self) -> tuple[float, float]:
        """Where it may be called: all t >= 0 (a model refuses times it cannot predict, e.g.
        Nnet-survival after its last break)."""
        return 0.0, float("inf")

    def __call__(self, t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        if self._exact is not None:
            return np.asarray(self._exact(np.atleast_1d(t)), dtype=np.float64).reshape(t.shape)
        k = np.searchsorted(self.x, t, side="right")
        return np.concatenate([[self.start], self.y])[k]

    def __repr__(self) -> str:
        return f"SurvivalFunction({len(self.x)} times, from {self.y[0]:.4g} to {self.y[-1]:.4g})" if len(self.x) else \
            "SurvivalFunction(empty)"


class SurvivalAnalysisMixin:
    """``predict``, ``score``, ``predict_survival_function`` and
    ``predict_cumulative_hazard_function`` on top of an estimator's ``predict_risk(X)`` and
    ``_survival_matrix(X, times) -> (n, m)``, with ``unique_times_`` as the tabulation grid.
    ``_step_survival`` says whether the curves are right-continuous steps on that grid."""

    _step_survival = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags

    def predict(self, X) -> np.ndarray:
        """(n,) risk scores: higher means an earlier event (scikit-survival's convention)."""
        self._check_fitted()
        return np.asarray(self.predict_risk(X), dtype=np.float64)

    def _scoring_target(self, X, y) -> tuple[Any, np.ndarray, np.ndarray]:
        """(covariates, event, time) of ``score``'s arguments: a container alone, or X with y."""
        if y is None:
            if isinstance(X, SurvivalData):
                return X.X, X.event, X.time
            raise InvalidParameterError("score needs y (event and time of each subject) beside X, or a SurvivalData")
        event, time, _ = survival_target(y)
        return X, event, time

    def score(self, X, y=None) -> float:
        """Harrell's C of :meth:`predict` on ``y`` (as scikit-survival's ``score``); ``X`` may
        be a SurvivalData, then without ``y``."""
        from pysurvbridge.metrics import concordance_harrell

        X, event, time = self._scoring_target(X, y)
        risk = self.predict(X)
        if len(risk) != len(time):
            raise InvalidSurvivalDataError(f"X and y must describe the same subjects, but X has {len(risk)} rows "
                                           f"and y has {len(time)}")
        return float(concordance_harrell(risk, time, event))

    def _survival_matrix(self, X, times: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _rows(self, X) -> Sequence:
        if isinstance(X, SurvivalData):
            X = X.X
        if isinstance(X, pd.DataFrame):
            return [X.iloc[[i]] for i in range(len(X))]
        arr = np.asarray(X)
        return [arr[i:i + 1] for i in range(len(arr))]

    def _functions(self, X, values: np.ndarray, *, hazard: bool) -> np.ndarray:
        """An object array of curves, shaped as ``values`` without its last (time) axis: (n,),
        or (n, K) for multi-event models (one curve per subject and event)."""
        grid = self.unique_times_
        exact = None
        out = np.empty(values.shape[:-1], dtype=object)
        rows = None if self._step_survival else self._rows(X)
        for index in np.ndindex(*values.shape[:-1]):
            if rows is not None:
                row, rest = rows[index[0]], (0, *index[1:])
                exact = ((lambda t, row=row, rest=rest: -np.log(self._survival_matrix(row, t)[rest])) if hazard
                         else (lambda t, row=row, rest=rest: self._survival_matrix(row, t)[rest]))
            out[index] = SurvivalFunction(grid, values[index], start=0.0 if hazard else 1.0, exact=exact)
        return out

    def predict_survival_function(self, X, return_array: bool = False) -> np.ndarray:
        """S(t | x) of each subject: an array of :class:`SurvivalFunction` (callable at times),
        or with ``return_array`` the ``(n, len(unique_times_))`` values at ``unique_times_``
        (multi-event models: an event axis before the time axis)."""
        S = self._survival_matrix(X, self.unique_times_)
        return S if return_array else self._functions(X, S, hazard=False)

    def predict_cumulative_hazard_function(self, X, return_array: bool = False) -> np.ndarray:
        """H(t | x) = -log S(t | x) of each subject, as :meth:`predict_survival_function`."""
        with np.errstate(divide="ignore"):
            H = -np.log(self._survival_matrix(X, self.unique_times_))
        return H if return_array else self._functions(X, H, hazard=True)

    @property
    def event_times_(self) -> np.ndarray:
        """scikit-survival's other name for ``unique_times_``."""
        return self.unique_times_
