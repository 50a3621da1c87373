"""From data containers to one Cox problem: the rows, the design matrix, strata and clusters.

Every classical model is a Cox partial likelihood on a layout of the data:

| model | layout | response | strata | cluster |
|---|---|---|---|---|
| cox | time to first event (one row per subject) | (time, event) | - | id |
| ag | counting process | (start, stop, event) | - | id |
| pwp total | counting process | (start, stop, event) | enum | id |
| pwp gap | gap times | (stop - start, event) | enum | id |
| wlw | marginal, K rows per subject from 0 | (stop, event) | enum | id |
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
    strata: np.ndarray | None  # enum values, or None
    cluster: np.ndarray  # subject id of each row
    weights: np.ndarray | None = None  # (n,) case weights (each row its subject's), or None

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
) -> CoxProblem:
    """The layout and design of ``model`` ("cox", "ag", "pwp-total", "pwp-gap", "wlw")."""
    if model not in MODEL_LABELS:
        raise InvalidParameterError(f"model must be one of {list(MODEL_LABELS)}, but was {model!r}")
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
    names = _choose_covariates(covariates, available)
    X = frame[list(names)].to_numpy(dtype=np.float64)
    _check_design(X, names)
    counting = model in ("ag", "pwp-total")
    strata = frame["enum"].to_numpy() if model in ("pwp-total", "pwp-gap", "wlw") else None
    event = frame["event"].to_numpy(dtype=np.float64)
    if strata is not None:
        _warn_empty_strata(strata, event)
    return CoxProblem(
        model=model,
        frame=frame if frame.index.equals(pd.RangeIndex(len(frame))) else frame.reset_index(drop=True),
        covariates=names, X=X,
        stop=frame["stop"].to_numpy(dtype=np.float64), event=event,
        start=frame["start"].to_numpy(dtype=np.float64) if counting else None,
        strata=strata, cluster=frame["id"].to_numpy(), weights=weights,
    )


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


def _warn_empty_strata(strata: np.ndarray, event: np.ndarray) -> None:
    table = pd.DataFrame({"s": strata, "e": event}).groupby("s")["e"].agg(["size", "sum"])
    empty = table.loc[table["sum"] == 0]
    if len(empty):
        detail = ", ".join(f"enum={s} ({int(n)} rows)" for s, n in empty["size"].items())
        warnings.warn(
            f"stratum/strata {detail} have no events and contribute nothing to the likelihood; "
            "consider max_events= to drop the rows of the late events (enum above it)",
            StatisticalWarning, stacklevel=4,
        )
