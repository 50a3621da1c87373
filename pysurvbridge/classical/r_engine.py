"""The R engine: ``survival::coxph`` through the bridge, with robust (cluster) variance."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from pysurvbridge import rbridge
from pysurvbridge.classical.design import CoxProblem
from pysurvbridge.errors import ConvergenceWarning, RUnavailableError, RWarning


@dataclass(frozen=True)
class RResult:
    beta: np.ndarray
    var: np.ndarray
    robust_var: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int
    concordance: float
    r_call: str


def r_formula(problem: CoxProblem):
    """``Surv(...) ~ covariates [+ strata(enum)] + cluster(id)``, built from symbols."""
    lhs = ["start", "stop", "event"] if problem.start is not None else ["stop", "event"]
    if problem.strata_columns:
        specials = [("strata", c) for c in problem.strata_columns]
    else:
        specials = [("strata", "enum")] if problem.strata is not None else []
    specials += [("cluster", "id")]
    return rbridge.formula("Surv", lhs, list(problem.covariates), specials=specials,
                           namespace="survival")


def r_call_text(problem: CoxProblem, ties: str) -> str:
    """The coxph call that fits ``problem`` in R, as text (the same for both engines)."""
    lhs = "start, stop, event" if problem.start is not None else "stop, event"
    terms = [c if c.replace(".", "_").isidentifier() else f"`{c}`" for c in problem.covariates]
    if problem.strata_columns:
        terms.append(f"strata({', '.join(problem.strata_columns)})")
    elif problem.strata is not None:
        terms.append("strata(enum)")
    terms.append("cluster(id)")
    data = problem.model.replace("-", "_")
    weights = ", weights = `(weights)`" if problem.weights is not None else ""
    return f'coxph(Surv({lhs}) ~ {" + ".join(terms)}, data = {data}{weights}, ties = "{ties}")'


def require_r() -> None:
    rbridge.start()
    if not rbridge.has_r_package("survival"):
        raise RUnavailableError(
            f"R's survival package is not installed; install it with {rbridge.R_INSTALL_COMMAND}"
        )


def fit_r(problem: CoxProblem, ties: str) -> RResult:
    """Fit ``problem`` with coxph; R's convergence warnings become ConvergenceWarning."""
    require_r()
    formula = r_formula(problem)
    data = rbridge.to_r(problem.frame)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RWarning)
        options = {} if problem.weights is None else {"weights": rbridge.to_r(np.asarray(problem.weights, dtype=np.float64))}
        fit = rbridge.call("coxph", formula, data=data, ties=ties, package="survival", **options)
    for w in caught:
        text = str(w.message)
        category = ConvergenceWarning if ("converge" in text or "infinite" in text) else w.category
        warnings.warn(text, category, stacklevel=3)
    p = len(problem.covariates)

    def matrix(name: str) -> np.ndarray:
        return np.asarray(rbridge.to_numpy(rbridge.call("as.vector", rbridge.element(fit, name), package="base"))).reshape(p, p)

    conc = rbridge.to_numpy(rbridge.element(fit, "concordance"))
    names = [str(x) for x in rbridge.names(rbridge.element(fit, "concordance"))]
    loglik = rbridge.to_numpy(rbridge.element(fit, "loglik"))
    return RResult(
        beta=np.asarray(rbridge.to_numpy(rbridge.element(fit, "coefficients")), dtype=float),
        var=matrix("naive.var"),
        robust_var=matrix("var"),
        loglik=float(loglik[-1]),
        loglik_null=float(loglik[0]),
        iterations=int(rbridge.to_numpy(rbridge.element(fit, "iter"))[0]),
        concordance=float(conc[names.index("concordance")]),
        r_call=r_call_text(problem, ties),
    )
