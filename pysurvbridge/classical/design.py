"""From data containers to one Cox problem: the rows, the design matrix, strata and clusters.

Every classical model is a Cox partial likelihood on a layout of the data:

========= ========================================= ===================== ====== =======
model     layout                                    response              strata cluster
========= ========================================= ===================== ====== =======
cox       time to first event (one row per subject) (time, event)         none   id
ag        counting process                          (start, stop, event)  none   id
pwp total counting process                          (start, stop, event)  enum   id
pwp gap   gap times                                 (stop - start, event) enum   id
wlw       marginal, K rows per subject from 0       (stop, event)         enum   id
========= ========================================= ===================== ====== =======

Cox and AG also take ``strata=[columns]`` (coxph's ``strata()``): the rows' stratum is the
label R gives it ("sex=1", "sex=1, ecog=0"), and those columns leave the linear predictor.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.linalg

from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.recurrent import WEIGHTS, RecurrentData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError, StatisticalWarning

MODEL_LABELS = {"cox": "Cox (time to first event)", "ag": "Andersen-Gill",
                "pwp-total": "PWP total time", "pwp-gap": "PWP gap time",
                "wlw": "Wei-Lin-Weissfeld"}


@dataclass(frozen=True, eq=False)
class CoxProblem:
    """One Cox fit's inputs. Arrays have n rows; ``start`` is None for (0, stop] responses."""

    model: str
    frame: pd.DataFrame  # the layout: id, covariates, [start], stop, event, [enum]
    covariates: tuple[str, ...]
    X: np.ndarray  # (n, p) float64
    stop: np.ndarray
    event: np.ndarray
    start: np.ndarray | None
    strata: np.ndarray | None  # enum values, the labels of ``strata_columns``, or None
    cluster: np.ndarray  # subject id of each row
    weights: np.ndarray | None = None  # (n,) case weights (each row its subject's), or None
    strata_columns: tuple[str, ...] = ()  # the user's stratifying columns (cox, ag)

    @property
    def n_subjects(self) -> int:
        return len(pd.unique(self.cluster))

    @property
    def n_events(self) -> int:
        return int(self.event.sum())


def build_problem(
    model: str,
    data: SurvivalData | RecurrentData,
    covariates: Sequence[str] | None = None,
    *,
    max_events: int | None = None,
    strata: Sequence[str] | None = None,
) -> CoxProblem:
    """The layout and design of ``model`` ("cox", "ag", "pwp-total", "pwp-gap", "wlw"),
    stratified by the columns ``strata`` (cox and ag only)."""
    if model not in MODEL_LABELS:
        raise InvalidParameterError(f"model must be one of {list(MODEL_LABELS)}, but was {model!r}")
    strata_columns = _check_strata(strata, model, data)
    weights = None
    if isinstance(data, SurvivalData):
        if model != "cox":
            raise InvalidSurvivalDataError(
                f"{MODEL_LABELS[model]} needs recurrent-event data (RecurrentData), got SurvivalData"
            )
        frame = data.to_frame()
        if "id" not in frame:
            frame.insert(0, "id", np.arange(len(frame)))
        frame.rename(columns={"time": "stop"}, inplace=True)
        available = data.covariates
        weights = data.weights
    elif isinstance(data, RecurrentData):
        available = data.covariates
        if model == "cox":
            first = data.first_event()
            frame = first.to_frame()
            frame.rename(columns={"time": "stop"}, inplace=True)
            weights = first.weights
        elif model == "ag":
            frame = data.andersen_gill(max_events)
        elif model == "pwp-total":
            frame = data.pwp("total", max_events)
        elif model == "pwp-gap":
            frame = data.pwp("gap", max_events)
        else:
            frame = data.wlw(4 if max_events is None else max_events)
        if WEIGHTS in frame:
            weights = frame.pop(WEIGHTS).to_numpy(dtype=np.float64)
    else:
        raise InvalidSurvivalDataError(
            f"data must be SurvivalData or RecurrentData, got {type(data).__name__}"
        )
    clash = [c for c in (covariates or ()) if c in strata_columns]
    if clash:
        raise InvalidParameterError(f"column(s) {clash} are strata and cannot also be covariates "
                                    "(a stratum has its own baseline, not a coefficient)")
    names = _choose_covariates(covariates, [c for c in available if c not in strata_columns])
    X = frame[list(names)].to_numpy(dtype=np.float64)
    _check_design(X, names)
    counting = model in ("ag", "pwp-total")
    event = frame["event"].to_numpy(dtype=np.float64)
    if strata_columns:
        strata = stratum_labels(frame, strata_columns)
        _warn_empty_strata(strata, event, "")
    elif model in ("pwp-total", "pwp-gap", "wlw"):
        strata = frame["enum"].to_numpy()
        _warn_empty_strata(strata, event, "enum=")
    else:
        strata = None
    return CoxProblem(
        model=model,
        frame=frame if frame.index.equals(pd.RangeIndex(len(frame))) else frame.reset_index(drop=True),
        covariates=names, X=X,
        stop=frame["stop"].to_numpy(dtype=np.float64), event=event,
        start=frame["start"].to_numpy(dtype=np.float64) if counting else None,
        strata=strata, cluster=frame["id"].to_numpy(), weights=weights, strata_columns=strata_columns,
    )


def stratum_labels(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """(n,) object array of R's stratum labels: "sex=1", or "sex=1, ecog=0" for two columns."""
    parts = [np.array([f"{c}={v:g}" if isinstance(v, (float, int, np.floating, np.integer)) else f"{c}={v}"
                       for v in frame[c].to_numpy()], dtype=object) for c in columns]
    out = parts[0]
    for p in parts[1:]:
        out = out + ", " + p
    return out


def _check_strata(strata: Sequence[str] | None, model: str, data) -> tuple[str, ...]:
    if strata is None:
        return ()
    columns = (strata,) if isinstance(strata, str) else tuple(strata)
    if not columns:
        return ()
    if model not in ("cox", "ag"):
        raise InvalidParameterError(f"strata= is for the Cox and Andersen-Gill models; {MODEL_LABELS[model]} "
                                    "is already stratified by event number")
    available = list(getattr(data, "covariates", ()))
    unknown = [c for c in columns if c not in available]
    if unknown:
        raise InvalidParameterError(f"strata names column(s) {unknown} that are not in the data; "
                                    f"the data have {available}")
    if len(set(columns)) != len(columns):
        raise InvalidParameterError(f"strata repeats a column: {list(columns)}")
    return columns


def _choose_covariates(covariates: Sequence[str] | None, available: Sequence[str]) -> tuple[str, ...]:
    if covariates is None:
        names = tuple(available)
    else:
        names = tuple(covariates)
        unknown = [c for c in names if c not in available]
        if unknown:
            raise InvalidParameterError(
                f"unknown covariate(s) {unknown}; the data have {list(available)}"
            )
    if not names:
        raise InvalidParameterError("a Cox model needs at least one covariate")
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"covariates are repeated: {list(names)}")
    return names


def _check_design(X: np.ndarray, names: tuple[str, ...]) -> None:
    """Constant and collinear covariates make the information matrix singular: refuse them."""
    constant = [n for n, lo, hi in zip(names, X.min(axis=0), X.max(axis=0)) if lo == hi]
    if constant:
        raise InvalidSurvivalDataError(
            f"covariate(s) {constant} are constant in the data used for this model; a Cox model "
            "has no intercept, so they cannot be estimated: drop them"
        )
    # rank of the centred design from its p x p correlation matrix (O(n p^2), one BLAS call);
    # a pivoted QR of that matrix names the columns that depend on the others
    mean = X.mean(axis=0)
    gram = X.T @ X - len(X) * np.outer(mean, mean)
    scale = np.sqrt(np.diag(gram))
    corr = gram / np.outer(scale, scale)
    _, r, piv = scipy.linalg.qr(corr, pivoting=True)
    rank = int(np.sum(np.abs(np.diag(r)) > 1e-10 * abs(r[0, 0])))
    if rank < len(names):
        dependent = [names[j] for j in piv[rank:]]
        group = [names[j] for j in piv[:rank]]
        raise InvalidSurvivalDataError(
            f"covariate(s) {dependent} are collinear with {group} (a linear combination of "
            "them, up to a constant); drop one of them"
        )


def _warn_empty_strata(strata: np.ndarray, event: np.ndarray, prefix: str) -> None:
    table = pd.DataFrame({"s": strata, "e": event}).groupby("s")["e"].agg(["size", "sum"])
    empty = table.loc[table["sum"] == 0]
    if len(empty):
        detail = ", ".join(f"{prefix}{s} ({int(n)} rows)" for s, n in empty["size"].items())
        warnings.warn(
            f"stratum/strata {detail} have no events and contribute nothing to the likelihood"
            + ("; consider max_events= to drop the rows of the late events (enum above it)" if prefix else ""),
            StatisticalWarning, stacklevel=4,
        )
