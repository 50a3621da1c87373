"""Classical Cox-type models for recurrent events, with an R engine and a native engine."""
from pysurvbridge.classical.by_name import CLASSICAL_MODELS, fit_classical
from pysurvbridge.classical.coxph import CoxPH
from pysurvbridge.classical.mcf import MeanCumulativeFunction, mean_cumulative_function
from pysurvbridge.classical.multistate import (MultiStateCoxFit, PerEventCox, fit_cox_per_event,
                                               fit_multistate_cox)
from pysurvbridge.classical.recurrent import fit_andersen_gill, fit_cox, fit_pwp, fit_wlw
from pysurvbridge.classical.results import ClassicalFit

__all__ = ["CoxPH", "fit_cox", "fit_classical", "CLASSICAL_MODELS", "fit_andersen_gill", "fit_wlw", "fit_pwp", "ClassicalFit",
           "mean_cumulative_function", "MeanCumulativeFunction", "fit_cox_per_event",
           "PerEventCox", "fit_multistate_cox", "MultiStateCoxFit"]
