"""Classical fits whose estimates come from an R session that is not this process's rpy2: the
R session hosting Python (the survbridge R package, which fits ``coxph`` in its own
``survival``) or any other engine that returns coxph's numbers.

An :data:`ExternalFitter` takes (model, training data, ties) and returns coxph's estimates as an
:class:`~pysurvbridge.classical.r_engine.RResult`; :func:`fit_from_estimates` turns them into the
same :class:`ClassicalFit` the built-in engines give (the baseline hazard is the Breslow
estimate on the same layout, as for ``engine="r"``), so compare() scores them alike.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np

from pysurvbridge.classical.design import build_problem
from pysurvbridge.classical.r_engine import RResult, r_call_text
from pysurvbridge.classical.recurrent import _result
from pysurvbridge.classical.results import ClassicalFit
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError

__all__ = ["ExternalFitter", "estimates_from_mapping", "fit_from_estimates"]

#: (model name, training data, ties) -> coxph's estimates
ExternalFitter = Callable[[str, Union[SurvivalData, RecurrentData], str], RResult]

_FIELDS = ("coef", "var", "robust_var", "loglik", "loglik_null", "iterations")


def estimates_from_mapping(values: Mapping[str, Any], covariates: Sequence[str] | None = None,
                           r_call: str = "") -> RResult:
    """coxph's numbers from a mapping (what an R list becomes in Python): ``coef`` (p,) named or
    in ``covariates``' order, ``var`` and ``robust_var`` (p*p, column-major as R stores a
    matrix), ``loglik``, ``loglik_null``, ``iterations``, optional ``concordance`` and
    ``names`` (the coefficient names, checked against ``covariates``)."""
    missing = [k for k in _FIELDS if k not in values]
    if missing:
        raise InvalidParameterError(f"external estimates lack {missing}; they need {list(_FIELDS)}")
    beta = np.asarray(values["coef"], dtype=np.float64).reshape(-1)
    p = len(beta)
    if covariates is not None and "names" in values:
        names = [str(n) for n in np.atleast_1d(np.asarray(values["names"], dtype=object))]
        if names != list(covariates):
            raise InvalidParameterError(f"external estimates are for coefficients {names}, but the model's "
                                        f"covariates are {list(covariates)}")
    if not np.isfinite(beta).all():
        raise InvalidParameterError(f"external coefficients are not finite: {beta.tolist()}")

    def matrix(name: str) -> np.ndarray:
        m = np.asarray(values[name], dtype=np.float64)
        if m.size != p * p:
            raise InvalidParameterError(f"external {name} has {m.size} values; {p} coefficients need {p * p}")
        return m.reshape(p, p, order="F") if m.ndim < 2 else m.reshape(p, p)

    conc = values.get("concordance")
    return RResult(beta=beta, var=matrix("var"), robust_var=matrix("robust_var"),
                   loglik=float(np.asarray(values["loglik"]).reshape(-1)[-1]),
                   loglik_null=float(np.asarray(values["loglik_null"]).reshape(-1)[0]),
                   iterations=int(np.asarray(values["iterations"]).reshape(-1)[0]),
                   concordance=float("nan") if conc is None else float(np.asarray(conc).reshape(-1)[0]),
                   r_call=r_call)


def fit_from_estimates(model: str, data: SurvivalData | RecurrentData, estimates: RResult, *,
                       covariates: Sequence[str] | None = None, ties: str = "efron",
                       engine: str = "r-host", max_events: int | None = None) -> ClassicalFit:
    """A :class:`ClassicalFit` of ``model`` on ``data`` with externally computed estimates
    (labelled ``engine``); the layout is rebuilt here for the baseline hazard and prediction."""
    problem = build_problem(model, data, covariates, max_events=max_events)
    if len(estimates.beta) != len(problem.covariates):
        raise InvalidParameterError(f"{len(estimates.beta)} external coefficients for {len(problem.covariates)} "
                                    f"covariates {list(problem.covariates)}")
    conc = getattr(estimates, "concordance", None)
    conc = None if conc is None or not np.isfinite(conc) else conc
    r_call = getattr(estimates, "r_call", "") or r_call_text(problem, ties)
    return _result(problem, engine, ties, estimates.beta, estimates.var, estimates.robust_var, estimates.loglik,
                   estimates.loglik_null, estimates.iterations, conc, r_call)
