"""Data containers (validated once), and loaders for the real data sets."""
from pysurvbridge.data.datasets import (
    DigitsSurvival,
    bladder1_recurrent,
    load_bladder,
    load_bladder1,
    load_bladder2,
    load_cgd,
    load_digits_survival,
    load_rotterdam,
    load_support,
    prepared,
    rotterdam_competing,
    rotterdam_multi_event,
)
from pysurvbridge.data.events import MultiEventData, SurvivalData
from pysurvbridge.data.preprocessing import TabularPreprocessor, support_preprocessor
from pysurvbridge.data.recurrent import RecurrentData

__all__ = [
    "SurvivalData", "RecurrentData", "MultiEventData",
    "load_bladder", "load_bladder1", "load_bladder2", "load_cgd", "load_rotterdam",
    "load_digits_survival", "bladder1_recurrent", "prepared", "DigitsSurvival",
    "rotterdam_multi_event", "rotterdam_competing", "load_support", "TabularPreprocessor",
    "support_preprocessor",
]
