"""A model's side of a comparison cell: the :class:`ModelSpec` (its name, family, the data it
accepts and how it fits on a split) and what the fitted model says about the split's test
subjects, :class:`ModelRun` (single-event and recurrent data) or :class:`MultiRun`
(multi-event data). The scoring functions turn a run into the table's columns, so every model
is scored alike."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from pysurvbridge.errors import InvalidParameterError

__all__ = ["ModelSpec", "Tuning", "ModelRun", "MultiRun", "FAMILIES", "DATA_KINDS"]

FAMILIES = ("classical", "deep", "reference")
#: kinds of data a model may accept; "single" and "recurrent" share a comparison (and its split)
DATA_KINDS = ("single", "recurrent", "multi-event")


@dataclass(frozen=True)
class Tuning:
    """How a model is tuned: ``estimator`` (the configured estimator; a configuration is a
    clone with some parameters set), ``make_run(estimator) -> run(split)``, ``space`` (the
    default search space: name -> list of values, or ("log" | "float" | "int", low, high)),
    ``source`` (where those ranges come from), ``loss(run, split)`` (the fitted model's loss on
    ``split``'s test subjects: what tuning minimises by default) and ``loss_name``."""

    estimator: Any
    make_run: Callable[[Any], Callable[[Any], Any]]
    space: dict
    source: str
    loss: Callable[[Any, Any], float]
    loss_name: str


@dataclass(frozen=True)
class ModelSpec:
    """``name`` (what users type), ``family`` ("classical", "deep" or "reference"),
    ``run(split) -> ModelRun | MultiRun``, ``needs_recurrent`` (refuses single-event data: the
    same as ``accepts=("recurrent",)``), ``description``, ``accepts`` (the kinds of data in
    :data:`DATA_KINDS` it takes; default single-event and recurrent), ``tuning`` (how it is
    tuned, or None: nothing to tune)."""

    name: str
    family: str
    run: Callable[[Any], Any]
    needs_recurrent: bool = False
    description: str = ""
    accepts: tuple[str, ...] | None = None
    tuning: Tuning | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise InvalidParameterError(f"family must be one of {list(FAMILIES)}, but was {self.family!r}")
        accepts = self.accepts or (("recurrent",) if self.needs_recurrent else ("single", "recurrent"))
        unknown = [k for k in accepts if k not in DATA_KINDS]
        if unknown:
            raise InvalidParameterError(f"accepts names unknown kinds of data {unknown}; choose from {list(DATA_KINDS)}")
        if "multi-event" in accepts and len(accepts) > 1:
            raise InvalidParameterError("a model takes either multi-event data or single-event/recurrent data, "
                                        f"not both (accepts={tuple(accepts)})")
        object.__setattr__(self, "accepts", tuple(accepts))
        object.__setattr__(self, "needs_recurrent", tuple(accepts) == ("recurrent",))

    @property
    def multi_event(self) -> bool:
        """Whether the model takes multi-event data (else single-event or recurrent data)."""
        return self.accepts == ("multi-event",)


@dataclass(eq=False)
class ModelRun:
    """What a fitted model says about the test subjects.

    ``subject_risk`` (m,) log-risk (or any risk score, higher = earlier first event) in the order
    of ``split.test_first``; ``row_risk`` (rows of ``split.test``) for recurrent data, or None
    when the model has no per-interval risk; ``survival`` (m, len(times)) P(no event by t) on
    ``split.times`` or None; ``aic``/``aic_counts``; ``n_params``; ``engine``; ``protocol``;
    ``fitted`` the fitted object (for plots); ``notes`` caveats found while fitting.
    """

    subject_risk: np.ndarray
    row_risk: np.ndarray | None
    survival: np.ndarray | None
    survival_fn: Callable[[np.ndarray], np.ndarray] | None = None
    aic: float = float("nan")
    aic_counts: str = ""
    n_params: int | None = None
    engine: str = ""
    protocol: str = ""
    fitted: Any = None
    notes: list[str] = field(default_factory=list)


@dataclass(eq=False)
class MultiRun:
    """What a fitted model says about ``split.test``: ``survival_fn(times (m,)) -> (n_test, K, m)``
    marginal S_k(t | x); optional ``risk`` (n_test, K) that replaces the median-based risk (the
    reference rule); ``n_params``; ``flops`` per subject (fvcore convention) when known;
    ``engine``; ``fitted``; ``notes``."""

    survival_fn: Callable[[np.ndarray], np.ndarray]
    n_params: int | None = None
    flops: float | None = None
    engine: str = ""
    risk: np.ndarray | None = None
    fitted: Any = None
    notes: list[str] = field(default_factory=list)
