"""Metrics that know nothing about which model made a prediction.

Inputs are numpy arrays, pandas objects or torch tensors (the O(n x len(times)) work of the
Brier score and td-AUC runs on the tensors' device). Each function states the convention it
follows and the peer it equals; README "Metrics" has the mapping table.
"""
from pysurvbridge.metrics.auc import cumulative_dynamic_auc
from pysurvbridge.metrics.brier import brier_score, brier_terms, integrated_brier_score
from pysurvbridge.metrics.calibration import (
    DCalibration,
    GroupCalibration,
    calibration_in_the_large,
    d_calibration,
    decile_calibration,
    group_calibration,
)
from pysurvbridge.metrics.competing import cumulative_incidence
from pysurvbridge.metrics.censoring import CensoringKaplanMeier, kaplan_meier
from pysurvbridge.metrics.concordance import (
    concordance_counting,
    concordance_harrell,
    concordance_uno,
    prefix_rank_counts,
)
from pysurvbridge.metrics.information import AIC, aic
from pysurvbridge.metrics.multi_event import concordance_global, concordance_local
from pysurvbridge.metrics.prediction_error import mae_margin, mae_margin_terms, margin_time, median_time, survival_l1
from pysurvbridge.metrics.recurrent import concordance_recurrent, gaps_after_landmark, landmark_brier_score

__all__ = [
    "AIC", "CensoringKaplanMeier", "DCalibration", "GroupCalibration", "aic", "group_calibration", "decile_calibration",
    "calibration_in_the_large", "brier_score", "brier_terms", "concordance_counting",
    "concordance_global", "concordance_harrell", "concordance_local", "concordance_recurrent",
    "concordance_uno", "cumulative_dynamic_auc", "cumulative_incidence", "d_calibration", "gaps_after_landmark",
    "integrated_brier_score", "kaplan_meier", "landmark_brier_score", "mae_margin", "mae_margin_terms",
    "margin_time", "median_time", "prefix_rank_counts", "survival_l1",
]
