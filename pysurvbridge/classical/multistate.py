"""Several events per subject: one Cox model per event type, and R's multi-state Cox model.

* :func:`fit_cox_per_event` fits K independent Cox models, event k on its own
  ``(times[:, k], events[:, k])`` (engine "r" or "native", like :func:`fit_cox`).
* :func:`fit_multistate_cox` fits the illness-death model with R survival's multi-state
  ``coxph(Surv(tstart, tstop, state) ~ x, id = id)``: one coefficient vector per transition
  (event-free -> A, event-free -> B, A -> B after A). It has no native engine.

State-occupancy predictions follow ``survfit(<coxphms>, newdata)``: the transition hazards
are the Breslow/Efron baselines times exp(x'beta_k), and the occupancy is the product over
event times of the matrix exponentials of the hazard increments (survfit's default stype = 2).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd

from pysurvbridge import rbridge
from pysurvbridge.classical.recurrent import Engine, Ties, fit_cox
from pysurvbridge.classical.results import ClassicalFit
from pysurvbridge.data.events import MultiEventData, SurvivalData
from pysurvbridge.errors import (ConvergenceWarning, InvalidParameterError,
                                 InvalidSurvivalDataError, RCallError, RUnavailableError,
                                 RWarning)

__all__ = ["PerEventCox", "fit_cox_per_event", "MultiStateCoxFit", "fit_multistate_cox",
           "illness_death_rows"]

RESERVED = ("id", "subject", "tstart", "tstop", "state")
_CHUNK = 250  # newdata rows per survfit call when method="survfit" (bounds R's memory)


def _covariate_columns(data: MultiEventData, covariates: Sequence[str] | None) -> list[int]:
    names = list(data.covariates) if covariates is None else list(covariates)
    missing = [c for c in names if c not in data.covariates]
    if missing:
        raise InvalidParameterError(
            f"covariates {missing} are not in the data; it has {list(data.covariates)}")
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"covariates are repeated: {names}")
    return [data.covariates.index(c) for c in names]


def _design(X_new: pd.DataFrame | np.ndarray, covariates: Sequence[str]) -> np.ndarray:
    """(n, p) float64 from a DataFrame with the covariate columns or an (n, p) array."""
    if isinstance(X_new, pd.DataFrame):
        missing = [c for c in covariates if c not in X_new.columns]
        if missing:
            raise InvalidParameterError(f"X_new lacks covariate column(s) {missing}")
        X = X_new[list(covariates)].to_numpy(dtype=np.float64)
    else:
        X = np.asarray(X_new, dtype=np.float64)
        X = X[None, :] if X.ndim == 1 else X
        if X.ndim != 2 or X.shape[1] != len(covariates):
            raise InvalidParameterError(
                f"X_new has shape {X.shape}; the model needs (n, {len(covariates)}) with columns "
                f"{list(covariates)}")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise InvalidParameterError(
            f"X_new has missing or infinite values in rows {np.flatnonzero(bad)[:5].tolist()}")
    return X


def _times(times: Sequence[float]) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or not np.isfinite(t).all() or np.any(t < 0):
        raise InvalidParameterError("times must be a 1-D sequence of finite non-negative values")
    return t


# ------------------------------------------------------------------ one Cox model per event


@dataclass(frozen=True, eq=False)
class PerEventCox:
    """K independent Cox fits, ``fits[k]`` for event ``event_names[k]``."""

    fits: tuple[ClassicalFit, ...]
    event_names: tuple[str, ...]

    @property
    def engine(self) -> str:
        return self.fits[0].engine

    @property
    def covariates(self) -> list[str]:
        return self.fits[0].covariates

    @property
    def n_params(self) -> int:
        return sum(f.n_params for f in self.fits)

    @property
    def loglik(self) -> float:
        """Sum of the K log partial likelihoods (the models share no parameter)."""
        return float(sum(f.loglik for f in self.fits))

    @property
    def summary(self) -> pd.DataFrame:
        """The K ``ClassicalFit.summary`` tables, indexed by (event, covariate)."""
        return pd.concat([f.summary for f in self.fits], keys=list(self.event_names),
                         names=["event", "covariate"])

    def predict_survival(self, X: pd.DataFrame | np.ndarray, times: Sequence[float]) -> np.ndarray:
        """(n, K, m) S_k(t | x) of each event's own Cox model (Breslow baseline) at ``times``."""
        t = _times(times)
        return np.stack([f.predict_survival(X, t).to_numpy() for f in self.fits], axis=1)


def fit_cox_per_event(data: MultiEventData, covariates: Sequence[str] | None = None, *,
                      ties: Ties = "efron", engine: Engine = "auto") -> PerEventCox:
    """One Cox model per event type, event k on ``(data.times[:, k], data.events[:, k])``.

    The other events are ignored (a death is not a censoring of recurrence here unless the
    data say so), as in R: ``coxph(Surv(rtime, recur) ~ x)`` and ``coxph(Surv(dtime, death) ~ x)``.
    """
    cols = _covariate_columns(data, covariates)
    names = [data.covariates[j] for j in cols]
    fits = []
    for k, event in enumerate(data.event_names):
        if not data.events[:, k].any():
            raise InvalidSurvivalDataError(
                f"event {event!r} (events[:, {k}]) has no events; a Cox model cannot be fitted")
        single = SurvivalData.from_arrays(data.times[:, k], data.events[:, k], data.X[:, cols],
                                          names)
        fits.append(fit_cox(single, names, ties=ties, engine=engine))
    return PerEventCox(tuple(fits), tuple(data.event_names))


# ------------------------------------------------------------------ illness-death rows


def _event_index(value: int | str, data: MultiEventData, name: str) -> int:
    if isinstance(value, str):
        if value not in data.event_names:
            raise InvalidParameterError(
                f"{name} must be an event index or one of {list(data.event_names)}, but was "
                f"{value!r}")
        return data.event_names.index(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value < data.n_event_types:
        raise InvalidParameterError(
            f"{name} must be 0 or 1 (or an event name {list(data.event_names)}), but was {value!r}")
    return int(value)


def _rows_named(data: MultiEventData, mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    shown = (data.ids[idx] if data.ids is not None else idx)[:5].tolist()
    what = "ids" if data.ids is not None else "rows"
    return f"{len(idx)} subject(s), {what} {shown}{' ...' if len(idx) > 5 else ''}"


def _state_labels(a: str, b: str) -> tuple[str, ...]:
    """(event-free, A, B, B after A); generic names when the event names would collide."""
    labels = ("event-free", a, b, f"{b} after {a}")
    if len({*labels, "censored"}) != 5:
        labels = ("event-free", "A", "B", "B after A")
    return labels


def illness_death_rows(data: MultiEventData, covariates: Sequence[str] | None = None, *,
                       entry_event: int | str = 0, terminal_event: int | str = 1,
                       tie_shift: float | None = None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Counting-process rows of the illness-death model, and notes on the choices made.

    Columns: ``id`` (1..n, the subject's position), ``subject`` (``data.ids`` or the position),
    ``tstart``, ``tstop`` (the data's time unit), ``state`` (Categorical; first level
    "censored", then A, B, "B after A": the state entered at ``tstop``) and the covariates.
    With A = ``entry_event`` observed at tA and B = ``terminal_event`` followed to tB:

    * A observed: (0, tA] ends in A; if tB > tA, (tA, tB] ends in "B after A" when B is
      observed, else censored. B observed before A is refused (B is absorbing).
    * A not observed: (0, tB] ends in B when B is observed, else censored. The event-free
      follow-up thus runs to tB even when A's own follow-up stopped earlier (tA < tB): R's
      ``?rotterdam`` codes recurrence-free survival this way
      (``rfstime <- ifelse(recur == 1, rtime, dtime)``), and its help page names the risk:
      43 Rotterdam subjects died without recurrence after their recurrence follow-up ended,
      and counting them as recurrence-free until death assumes a recurrence in that gap
      would have been recorded.
    * A and B observed at the same time: a zero-length stay is not allowed, so A is moved
      back by ``tie_shift`` (A, then "B after A"), as the survival ``compete`` vignette does
      for MGUS (PCM moved back 0.1 month; "progression did occur first") and the
      ``timedep`` vignette for the jasa data (0.5 day). The default is half the smallest gap
      between distinct times in the data (counting 0), which changes no time's order:
      0.5 day for Rotterdam, where 2 subjects are affected.
    """
    if data.n_event_types != 2:
        raise InvalidParameterError(
            f"the illness-death model needs exactly K = 2 event types, but the data have "
            f"K = {data.n_event_types} ({list(data.event_names)})")
    ia = _event_index(entry_event, data, "entry_event")
    ib = _event_index(terminal_event, data, "terminal_event")
    if ia == ib:
        raise InvalidParameterError(
            f"entry_event and terminal_event must differ, but both are event {ia} "
            f"({data.event_names[ia]!r})")
    cols = _covariate_columns(data, covariates)
    names = [data.covariates[j] for j in cols]
    clash = [c for c in names if c in RESERVED]
    if clash:
        raise InvalidParameterError(
            f"covariate name(s) {clash} clash with the multi-state layout's columns "
            f"{list(RESERVED)}")
    tA, tB = data.times[:, ia], data.times[:, ib]
    a, b = data.events[:, ia] == 1, data.events[:, ib] == 1
    bad = a & b & (tB < tA)
    if bad.any():
        raise InvalidSurvivalDataError(
            f"{data.event_names[ib]!r} (terminal) is observed before {data.event_names[ia]!r} "
            f"(entry) in {_rows_named(data, bad)}; in an illness-death model the terminal "
            "event ends follow-up")
    end = np.where(a, tA, tB)
    zero = end <= 0
    if zero.any():
        raise InvalidSurvivalDataError(
            f"follow-up ends at time 0 in {_rows_named(data, zero)}; R refuses zero-length "
            "(tstart, tstop] rows")
    # Rotterdam: 2 subjects have recurrence and death on the same day (and 11 a recurrence on
    # their last day alive, which needs no shift); 43 are in `gap` below (?rotterdam's 43)
    tied = a & b & (tA == tB)
    notes = []
    if tied.any():
        if tie_shift is None:
            distinct = np.unique(np.concatenate([[0.0], tA, tB]))
            tie_shift = 0.5 * float(np.diff(distinct).min())
        tie_shift = float(tie_shift)
        if not np.isfinite(tie_shift) or tie_shift <= 0 or np.any(tA[tied] <= tie_shift):
            raise InvalidParameterError(
                f"tie_shift must be positive and smaller than the tied times, but was "
                f"{tie_shift!r} for {_rows_named(data, tied)}")
        tA = np.where(tied, tA - tie_shift, tA)
        notes.append(f"{int(tied.sum())} subject(s) with {data.event_names[ia]} and "
                     f"{data.event_names[ib]} at the same time: {data.event_names[ia]} moved back "
                     f"by {tie_shift:g}")
    gap = ~a & b & (tA < tB)
    if gap.any():
        notes.append(f"{int(gap.sum())} subject(s) with {data.event_names[ib]} but no "
                     f"{data.event_names[ia]} after {data.event_names[ia]}'s follow-up ended: "
                     f"counted free of {data.event_names[ia]} until {data.event_names[ib]}")
    n = len(data)
    subject = data.ids if data.ids is not None else np.arange(1, n + 1)
    # first row: (0, tA] -> A if A observed, else (0, tB] -> B or censored; codes 0..3
    first = pd.DataFrame({"id": np.arange(1, n + 1), "tstart": 0.0,
                          "tstop": np.where(a, tA, tB), "code": np.where(a, 1, np.where(b, 2, 0))})
    more = a & (tB > tA)
    second = pd.DataFrame({"id": np.flatnonzero(more) + 1, "tstart": tA[more], "tstop": tB[more],
                           "code": np.where(b[more], 3, 0)})
    rows = pd.concat([first, second], ignore_index=True)
    rows = rows.sort_values(["id", "tstart"], kind="stable").reset_index(drop=True)
    labels = _state_labels(data.event_names[ia], data.event_names[ib])
    rows["state"] = pd.Categorical.from_codes(rows.pop("code"), ["censored", *labels[1:]])
    pos = rows["id"].to_numpy() - 1
    rows.insert(1, "subject", subject[pos])
    for j, name in zip(cols, names):
        rows[name] = data.X[pos, j]
    return rows, tuple(notes)


# ------------------------------------------------------------------ multi-state Cox fit


def _phi(x: np.ndarray) -> np.ndarray:
    """(1 - exp(-x)) / x, with its limit 1 at x = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 1.0, -np.expm1(-x) / np.where(x == 0, 1.0, x))


def _occupancy_product(grid: np.ndarray, increments: np.ndarray, risk: np.ndarray,
                       times: np.ndarray) -> np.ndarray:
    """(n, m, 4) occupancy at ``times`` from baseline hazard increments.

    ``increments`` (G, 3) at event times ``grid`` (G,), transitions (0->A, 0->B, A->BA);
    ``risk`` (n, 3) multiplies them per subject. Each step multiplies by exp(dH), the
    closed-form exponential of the illness-death generator with rates a, b (out of state 0)
    and c (out of A): survival's multihaz with stype = 2 (which uses a Pade approximant).
    """
    n, m = len(risk), len(times)
    out = np.empty((n, m, 4))
    S = np.zeros((n, 4))
    S[:, 0] = 1.0
    pos = np.searchsorted(grid, times, side="right") - 1  # last event time <= t, -1 before any
    order = np.argsort(pos, kind="stable")
    k = 0
    while k < m and pos[order[k]] < 0:
        out[:, order[k]] = S
        k += 1
    for j in range(len(grid)):
        if k >= m:
            break
        a, b, c = (increments[j] * risk).T
        s = a + b
        ec = np.exp(-c)
        p01 = a * ec * _phi(s - c)
        p02 = b * _phi(s)
        p03 = np.maximum(a * _phi(s) - p01, 0.0)
        S0, S1 = S[:, 0].copy(), S[:, 1].copy()
        S[:, 0] = S0 * np.exp(-s)
        S[:, 1] = S0 * p01 + S1 * ec
        S[:, 2] += S0 * p02
        S[:, 3] += S0 * p03 - S1 * np.expm1(-c)
        while k < m and pos[order[k]] == j:
            out[:, order[k]] = S
            k += 1
    while k < m:  # only when grid is empty
        out[:, order[k]] = S
        k += 1
    return out


@dataclass(frozen=True, eq=False)
class MultiStateCoxFit:
    """R survival's multi-state Cox fit of the illness-death model (engine "r").

    ``coefficients`` has one row per (transition, covariate): columns transition, from, to,
    covariate, coef, exp(coef), se(coef) (inverse information), robust se (grouped by
    subject, R's default with ``id``). ``states`` are (event-free, A, B, B after A);
    ``event_columns`` are the data's (entry, terminal) event indices. ``rows`` is the
    counting-process data that was fitted, ``notes`` the choices made building it.
    """

    coefficients: pd.DataFrame
    loglik: float
    loglik_null: float
    covariates: tuple[str, ...]
    states: tuple[str, ...]
    event_names: tuple[str, ...]
    event_columns: tuple[int, int]
    ties: str
    r_call: str
    rows: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...]
    baseline_time: np.ndarray = field(repr=False)  # (G,) event times of the fitted data
    baseline_increments: np.ndarray = field(repr=False)  # (G, 3) hazard jumps at x = reference
    reference: np.ndarray = field(repr=False)  # (p,) covariate values of the baseline
    r_fit: Any = field(default=None, repr=False)
    engine: str = "r"

    @property
    def n_params(self) -> int:
        return len(self.coefficients)

    @property
    def aic(self) -> float:
        """-2 log partial likelihood + 2 n_params (R's AIC of the coxph fit)."""
        return -2.0 * self.loglik + 2.0 * self.n_params

    def _beta(self) -> np.ndarray:
        """(p, 3) coefficients, columns in transition order (0->A, 0->B, A->BA)."""
        table = self.coefficients
        beta = np.zeros((len(self.covariates), 3))
        for t, (_, group) in enumerate(table.groupby("transition", sort=False)):
            beta[:, t] = group.set_index("covariate").loc[list(self.covariates), "coef"].to_numpy()
        return beta

    def predict_occupancy(self, X_new: pd.DataFrame | np.ndarray, times: Sequence[float], *,
                          method: Literal["baseline", "survfit"] = "baseline") -> np.ndarray:
        """(n, m, 4) probability of being in each of ``states`` at each of ``times``.

        A right-continuous step function of t, (1, 0, 0, 0) before the first event time and
        constant after the last one. ``method="survfit"`` calls R's ``survfit(fit, newdata)``
        on every row (R loops over rows in interpreted code: about 0.1 s a row on Rotterdam);
        ``"baseline"`` (default) takes the transition hazard increments R's survfit gave at
        fit time for one reference row, scales them by exp((x - reference)'beta_k) and
        forms the same product of matrix exponentials in numpy (equal to R's to 1e-10).
        """
        X = _design(X_new, self.covariates)
        t = _times(times)
        if method == "baseline":
            risk = np.exp((X - self.reference) @ self._beta())
            return _occupancy_product(self.baseline_time, self.baseline_increments, risk, t)
        if method != "survfit":
            raise InvalidParameterError(
                f"method must be 'baseline' or 'survfit', but was {method!r}")
        if self.r_fit is None:
            raise RUnavailableError("this fit holds no R object (r_fit is None); use "
                                    "method='baseline'")
        out = np.empty((len(X), len(t), 4))
        for lo in range(0, len(X), _CHUNK):
            frame = pd.DataFrame(X[lo:lo + _CHUNK], columns=list(self.covariates))
            grid, pstate = _survfit_pstate(self.r_fit, frame)
            idx = np.searchsorted(grid, t, side="right") - 1
            padded = np.concatenate([np.broadcast_to([1.0, 0, 0, 0], (1, len(frame), 4)), pstate])
            out[lo:lo + len(frame)] = padded[idx + 1].transpose(1, 0, 2)
        return out

    def predict_event_probability(self, X_new: pd.DataFrame | np.ndarray,
                                  times: Sequence[float], **kwargs: Any) -> np.ndarray:
        """(n, K, m) P(event k by t | x), events in the data's column order.

        P(A by t) = P(A) + P(B after A); P(B by t) = P(B) + P(B after A).
        """
        occ = self.predict_occupancy(X_new, times, **kwargs)
        out = np.empty((occ.shape[0], 2, occ.shape[1]))
        ia, ib = self.event_columns
        out[:, ia] = occ[..., 1] + occ[..., 3]
        out[:, ib] = occ[..., 2] + occ[..., 3]
        return out

    def predict_survival(self, X_new: pd.DataFrame | np.ndarray, times: Sequence[float],
                         **kwargs: Any) -> np.ndarray:
        """(n, K, m) P(event k not yet by t | x) = 1 - :meth:`predict_event_probability`."""
        return 1.0 - self.predict_event_probability(X_new, times, **kwargs)


def _vector(x: Any) -> np.ndarray:
    return np.asarray(rbridge.to_numpy(rbridge.call("as.vector", x, package="base")))


def _array(x: Any) -> np.ndarray:
    dims = [int(d) for d in rbridge.to_numpy(rbridge.call("dim", x, package="base"))]
    return _vector(x).reshape(dims, order="F")


def _survfit_pstate(r_fit: Any, newdata: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """R's survfit(fit, newdata): time (T,) and pstate (T, n, 4) (R's own layout)."""
    sf = rbridge.call("survfit", r_fit, newdata=rbridge.to_r(newdata), package="survival")
    return _vector(rbridge.element(sf, "time")).astype(float), _array(rbridge.element(sf, "pstate"))


def _r_call_text(covariates: Sequence[str], ties: str) -> str:
    terms = [c if c.replace(".", "_").isidentifier() else f"`{c}`" for c in covariates]
    return (f"coxph(Surv(tstart, tstop, state) ~ {' + '.join(terms)}, data = illness_death, "
            f'id = id, ties = "{ties}")')


def _require_r() -> None:
    try:
        rbridge.start()
        has_survival = rbridge.has_r_package("survival")
    except RUnavailableError as exc:
        raise RUnavailableError(f"multi-state Cox has no native engine, only R, and R is "
                                f"unavailable: {exc}") from exc
    if not has_survival:
        raise RUnavailableError(
            "multi-state Cox has no native engine, only R, and R's survival package is not "
            f"installed; install it with {rbridge.R_INSTALL_COMMAND}")


def fit_multistate_cox(data: MultiEventData, covariates: Sequence[str] | None = None, *,
                       entry_event: int | str = 0, terminal_event: int | str = 1,
                       ties: Ties = "efron", tie_shift: float | None = None) -> MultiStateCoxFit:
    """Illness-death multi-state Cox model from R survival (there is no native engine).

    States: event-free, A (``entry_event`` without B yet), B (``terminal_event`` without A),
    B after A; transitions event-free -> A, event-free -> B, A -> B after A, each with its own
    baseline hazard and coefficients. The rows are built in Python by
    :func:`illness_death_rows` (read its rules for ties and for follow-up after A's
    censoring) and fitted as ``coxph(Surv(tstart, tstop, state) ~ x, id = id, ties = ties)``.
    survival 3.5 cannot fit ``~ 1`` to multi-state data, so at least one covariate is needed.
    """
    if ties not in ("efron", "breslow"):
        raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {ties!r}")
    rows, notes = illness_death_rows(data, covariates, entry_event=entry_event,
                                     terminal_event=terminal_event, tie_shift=tie_shift)
    names = [c for c in rows.columns if c not in RESERVED]
    if not names:
        raise InvalidParameterError("multi-state Cox needs at least one covariate (survival's "
                                    "coxph cannot fit ~ 1 to multi-state data)")
    counts = rows["state"].value_counts()
    empty = [s for s in rows["state"].cat.categories[1:] if counts[s] == 0]
    if empty:
        raise InvalidSurvivalDataError(
            f"no subject enters state(s) {empty} in these data; the illness-death model needs "
            "events on all three transitions")
    _require_r()
    formula = rbridge.formula("Surv", ["tstart", "tstop", "state"], names, namespace="survival")
    frame = rows.drop(columns=["subject"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RWarning)
        fit = rbridge.call("coxph", formula, data=rbridge.to_r(frame),
                           id=frame["id"].to_numpy(), ties=ties, package="survival")
    for w in caught:
        text = str(w.message)
        warnings.warn(text, ConvergenceWarning if ("converge" in text or "infinite" in text)
                      else w.category, stacklevel=2)
    labels = ("event-free", *rows["state"].cat.categories[1:])
    coefficients = _coefficient_table(fit, names, labels)
    reference = rows.drop_duplicates("id")[names].to_numpy(dtype=np.float64).mean(axis=0)
    grid, increments = _baseline(fit, names, reference)
    loglik = _vector(rbridge.element(fit, "loglik"))
    ia = _event_index(entry_event, data, "entry_event")
    return MultiStateCoxFit(
        coefficients=coefficients, loglik=float(loglik[-1]), loglik_null=float(loglik[0]),
        covariates=tuple(names), states=labels, event_names=tuple(data.event_names),
        event_columns=(ia, 1 - ia), ties=ties, r_call=_r_call_text(names, ties), rows=rows,
        notes=notes, baseline_time=grid, baseline_increments=increments, reference=reference,
        r_fit=fit,
    )


def _coefficient_table(fit: Any, names: list[str], labels: tuple[str, ...]) -> pd.DataFrame:
    """One row per (transition, covariate), transitions in R's order 1:2, 1:3, 2:4."""
    states = [str(s) for s in _vector(rbridge.element(fit, "states"))]
    if len(states) != 4 or states[1:] != list(labels[1:]):
        raise RCallError(f"R's multi-state fit has states {states}; expected (s0) then "
                         f"{list(labels[1:])}")
    cmap = _array(rbridge.element(fit, "cmap")).astype(int)  # (p, transitions): 1-based coefficient index
    colnames = rbridge.call("colnames", rbridge.element(fit, "cmap"), package="base")
    transitions = [str(s) for s in _vector(colnames)]
    if transitions != ["1:2", "1:3", "2:4"] or cmap.shape != (len(names), 3):
        raise RCallError(f"R's multi-state fit has transitions {transitions} and a coefficient "
                         f"map of shape {cmap.shape}; expected 1:2, 1:3, 2:4 for {len(names)} "
                         "covariates")
    coef = _vector(rbridge.element(fit, "coefficients")).astype(float)
    robust = np.sqrt(np.diag(_array(rbridge.element(fit, "var"))))
    naive_var = rbridge.element(fit, "naive.var")
    no_naive = bool(_vector(rbridge.call("is.null", naive_var, package="base"))[0])
    naive = robust if no_naive else np.sqrt(np.diag(_array(naive_var)))
    records = []
    for t, code in enumerate(transitions):
        i, j = (int(s) - 1 for s in code.split(":"))
        for r, name in enumerate(names):
            k = cmap[r, t] - 1
            records.append({"transition": f"{labels[i]} -> {labels[j]}", "from": labels[i],
                            "to": labels[j], "covariate": name, "coef": coef[k],
                            "exp(coef)": np.exp(coef[k]), "se(coef)": naive[k],
                            "robust se": robust[k]})
    return pd.DataFrame.from_records(records)


def _baseline(fit: Any, names: list[str], reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """survfit at the reference row: event times (G,) and hazard increments (G, 3)."""
    newdata = rbridge.to_r(pd.DataFrame([reference], columns=names))
    # stype = 1 (product-limit occupancy): the hazards are the same as with the default
    # stype = 2, whose matrix-exponential set-up R refuses on some Rotterdam splits
    # ("input is not a transition matrix"); only the hazards are read here
    sf = rbridge.call("survfit", fit, newdata=newdata, stype=1, package="survival")
    time = _vector(rbridge.element(sf, "time")).astype(float)
    cumhaz = _array(rbridge.element(sf, "cumhaz"))  # (T, 1, 3): time, newdata row, transition
    increments = np.diff(cumhaz[:, 0, :], axis=0, prepend=0.0)
    jumps = increments.max(axis=1) > 0
    return time[jumps], increments[jumps]
