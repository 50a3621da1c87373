"""The classical models by the names ``compare()``, the cross-check and the R package use."""
from __future__ import annotations

from pysurvbridge.classical.recurrent import fit_andersen_gill, fit_cox, fit_pwp, fit_wlw
from pysurvbridge.classical.results import ClassicalFit
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError

__all__ = ["CLASSICAL_MODELS", "fit_classical"]

CLASSICAL_MODELS = ("cox", "ag", "wlw", "pwp-total", "pwp-gap")


def fit_classical(kind: str, data: RecurrentData | SurvivalData, engine: str = "auto",
                  ties: str = "efron") -> ClassicalFit:
    """The classical fit of ``kind`` (one of :data:`CLASSICAL_MODELS`) on ``data``."""
    fitters = {"cox": fit_cox, "ag": fit_andersen_gill, "wlw": fit_wlw,
               "pwp-total": lambda d, **kw: fit_pwp(d, timescale="total", **kw),
               "pwp-gap": lambda d, **kw: fit_pwp(d, timescale="gap", **kw)}
    if kind not in fitters:
        raise InvalidParameterError(f"unknown classical model {kind!r}; choose from {list(fitters)}")
    return fitters[kind](data, engine=engine, ties=ties)
