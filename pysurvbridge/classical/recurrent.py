"""Public fits: Cox, Andersen-Gill, Wei-Lin-Weissfeld, Prentice-Williams-Peterson.

Each takes a data container and covariate names and returns a :class:`ClassicalFit`, from
R's survival (``engine="r"``), from the native engine (``engine="native"``), or from R when it
is usable and natively otherwise (``engine="auto"``). Both engines give the same numbers (to
1e-6 or better; tested on bladder and bladder2).
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import pandas as pd

from pysurvbridge import rbridge
from pysurvbridge.classical.design import MODEL_LABELS, CoxProblem, build_problem
from pysurvbridge.classical.native import breslow_baseline, fit_newton
from pysurvbridge.classical.r_engine import fit_r, r_call_text
from pysurvbridge.classical.results import ClassicalFit
from pysurvbridge.classical.survfit import curve_table
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError

Engine = Literal["auto", "r", "native"]
Ties = Literal["efron", "breslow"]

__all__ = ["fit_cox", "fit_andersen_gill", "fit_wlw", "fit_pwp", "resolve_engine"]


def resolve_engine(engine: str) -> str:
    """'r' or 'native' for a requested engine; 'auto' picks R when it is usable."""
    if engine not in ("auto", "r", "native"):
        raise InvalidParameterError(f"engine must be 'auto', 'r' or 'native', but was {engine!r}")
    if engine == "auto":
        return "r" if rbridge.is_available() and rbridge.has_r_package("survival") else "native"
    return engine


def _fit(model: str, data: SurvivalData | RecurrentData, covariates: Sequence[str] | None,
         ties: str, engine: str, max_events: int | None, strata: Sequence[str] | None = None) -> ClassicalFit:
    if ties not in ("efron", "breslow"):
        raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {ties!r}")
    used = resolve_engine(engine)
    problem = build_problem(model, data, covariates, max_events=max_events, strata=strata)
    if used == "r":
        res = fit_r(problem, ties)
        beta, concordance, r_call, baseline = res.beta, res.concordance, res.r_call, None
    else:
        res = fit_newton(problem, ties)
        beta, concordance = res.beta, None  # computed when first asked for
        r_call, baseline = r_call_text(problem, ties), res.baseline
    return _result(problem, used, ties, beta, res.var, res.robust_var, res.loglik,
                   res.loglik_null, res.iterations, concordance, r_call, baseline)


def _result(problem: CoxProblem, engine: str, ties: str, beta, var, robust_var, loglik,
            loglik_null, iterations, concordance, r_call, baseline=None, *,
            counts: tuple[int, int, int] | None = None) -> ClassicalFit:
    """The ClassicalFit of estimates on ``problem``. ``counts`` (subjects, rows, events) are
    given when ``problem`` holds only part of the data (one process of a distributed fit): the
    counts are then global, and concordance is not computed from these rows."""
    names = list(problem.covariates)
    eta = problem.X @ beta
    if counts is None:  # all rows are here: survfit's curves, with the terms of their variance
        baseline = curve_table(problem.X, beta, problem.stop, problem.event, problem.start, problem.strata,
                               problem.weights, ties)
        baseline.columns = [_covariate_column(c, names) for c in baseline.columns]
    elif baseline is None:
        baseline = breslow_baseline(eta, problem.stop, problem.event, problem.start, problem.strata,
                                    weights=problem.weights)
    n_subjects, n_rows, n_events = counts or (problem.n_subjects, len(problem.stop), problem.n_events)
    return ClassicalFit(
        model=problem.model, label=MODEL_LABELS[problem.model], engine=engine, ties=ties,
        coef=pd.Series(beta, index=names, name="coef"),
        se=pd.Series(np.sqrt(np.diag(var)), index=names, name="se(coef)"),
        robust_se=pd.Series(np.sqrt(np.diag(robust_var)), index=names, name="robust se"),
        var=pd.DataFrame(var, index=names, columns=names),
        robust_var=pd.DataFrame(robust_var, index=names, columns=names),
        loglik=float(loglik), loglik_null=float(loglik_null),
        n_subjects=n_subjects, n_rows=n_rows, n_events=n_events,
        iterations=int(iterations), r_call=r_call,
        baseline=baseline,
        strata_name=(", ".join(problem.strata_columns) if problem.strata_columns
                     else "enum" if problem.strata is not None else None),
        strata_columns=problem.strata_columns,
        concordance_inputs=None if counts else (eta, problem.stop, problem.event, problem.start, problem.strata,
                                                problem.weights),
        _cache={} if concordance is None else {"concordance": float(concordance)},
    )


def fit_cox(data: SurvivalData | RecurrentData, covariates: Sequence[str] | None = None, *,
            ties: Ties = "efron", engine: Engine = "auto", strata: Sequence[str] | None = None) -> ClassicalFit:
    """Cox model. On RecurrentData: time to first event, baseline covariates (a naive
    analysis that ignores every later event). ``strata``: columns whose every level gets its own
    baseline hazard (coxph's ``strata()``); they are not covariates then. Case weights come
    with the data (``SurvivalData.from_frame(..., weights=)``)."""
    return _fit("cox", data, covariates, ties, engine, None, strata)


def fit_andersen_gill(data: RecurrentData, covariates: Sequence[str] | None = None, *,
                      ties: Ties = "efron", engine: Engine = "auto",
                      max_events: int | None = None, strata: Sequence[str] | None = None) -> ClassicalFit:
    """Andersen-Gill: one baseline intensity (per stratum of ``strata``), (start, stop] rows,
    robust SE by subject."""
    return _fit("ag", data, covariates, ties, engine, max_events, strata)


def fit_pwp(data: RecurrentData, covariates: Sequence[str] | None = None, *,
            timescale: Literal["total", "gap"] = "total", ties: Ties = "efron",
            engine: Engine = "auto", max_events: int | None = None) -> ClassicalFit:
    """Prentice-Williams-Peterson: stratified by event number; total time (start, stop] or
    gap time (0, stop - start]."""
    if timescale not in ("total", "gap"):
        raise InvalidParameterError(f"timescale must be 'total' or 'gap', but was {timescale!r}")
    return _fit(f"pwp-{timescale}", data, covariates, ties, engine, max_events)


def fit_wlw(data: RecurrentData, covariates: Sequence[str] | None = None, *,
            max_events: int = 4, ties: Ties = "efron", engine: Engine = "auto") -> ClassicalFit:
    """Wei-Lin-Weissfeld marginal model: the first ``max_events`` events, each from time 0,
    stratified by event number. Builds the WLW layout from counting-process data itself."""
    return _fit("wlw", data, covariates, ties, engine, max_events)


def _covariate_column(column: str, names: list[str]) -> str:
    """``xbar[0]`` -> ``xbar[age]``: the curve table's per-covariate columns by name."""
    for prefix in ("cumxbar[", "xbar["):
        if column.startswith(prefix):
            return f"{prefix}{names[int(column[len(prefix):-1])]}]"
    return column
