"""The multi-event models of ``compare()``: a name -> how to fit it on a training split and the
survival curves it predicts for the test subjects. Scoring lives in
:mod:`pysurvbridge.multi_event_compare`, so every model gets the same metrics.

Built in: "cox-per-event" and "multistate-cox" (classical), "deepsurv-per-event", "mensa" and
"mensa-no-trajectory" (deep), and "earlier-event-first" (reference: each event's training
Kaplan-Meier curve, with a constant risk that ranks the earlier event of each known ordering
first; it shows the floor of the local C). A new model is one ``register_multi(...)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from pysurvbridge.data.events import MultiEventData
from pysurvbridge.errors import InvalidParameterError

__all__ = ["MultiSplit", "MultiRun", "MultiModelSpec", "register_multi", "MULTI_REGISTRY",
           "multi_spec_for", "multi_spec_from_model", "FAMILIES"]

FAMILIES = ("classical", "deep", "reference")


@dataclass(frozen=True, eq=False)
class MultiSplit:
    """One seed's subjects: ``train`` fits every model, ``validation`` (or None) is used only
    for early stopping by the deep models, ``test`` is scored. ``trajectories``: known
    orderings as event-index pairs (A, B); ``epochs``: a cap for the deep models (None: their
    own budget with early stopping); ``competing``: the events are exclusive causes at one
    observed time (MENSA then runs in its competing-risks mode)."""

    train: MultiEventData
    validation: MultiEventData | None
    test: MultiEventData
    seed: int
    trajectories: tuple[tuple[int, int], ...] = ()
    epochs: int | None = None
    competing: bool = False


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


@dataclass(frozen=True)
class MultiModelSpec:
    """``name``, ``family`` (classical, deep or reference), ``run(split) -> MultiRun``."""

    name: str
    family: str
    run: Callable[[MultiSplit], MultiRun]
    description: str = ""


MULTI_REGISTRY: dict[str, MultiModelSpec] = {}


def register_multi(spec: MultiModelSpec) -> MultiModelSpec:
    """Add (or replace) a multi-event model under ``spec.name``."""
    if spec.family not in FAMILIES:
        raise InvalidParameterError(f"family must be one of {list(FAMILIES)}, but was {spec.family!r}")
    MULTI_REGISTRY[spec.name] = spec
    return spec


def multi_spec_for(name: str) -> MultiModelSpec:
    _load_builtin()
    if name not in MULTI_REGISTRY:
        raise InvalidParameterError(f"unknown multi-event model {name!r}; choose from {sorted(MULTI_REGISTRY)}")
    return MULTI_REGISTRY[name]


def multi_spec_from_model(model: Any) -> MultiModelSpec:
    """A spec for a configured, unfitted :class:`~pysurvbridge.models.MENSA` (each seed fits a
    fresh copy with its hyper-parameters; the split's trajectories are used when the object
    names none)."""
    from pysurvbridge.models import MENSA

    if isinstance(model, MENSA):
        params = model.get_params()
        name = "mensa" if params["trajectories"] else "mensa-no-trajectory"
        return MultiModelSpec(name, "deep", _mensa(params, use_split_trajectories=not params["trajectories"]))
    raise InvalidParameterError(f"multi-event models must be names, MultiModelSpec or MENSA objects, "
                                f"but got {type(model).__name__}")


# ---------------------------------------------------------------------- built-in models
#: the paper's Table 10 (Rotterdam) and Table 11 (DeepSurv) training settings
MENSA_FIT = dict(batch_size=32, lr=1e-3, weight_decay=1e-3, patience=10)
DEEPSURV_FIT = dict(lr=1e-3, patience=10)
MAX_EPOCHS = 1000


def _epochs(split: MultiSplit) -> dict:
    epochs = split.epochs or MAX_EPOCHS
    kw: dict = {"epochs": epochs}
    if split.validation is None:
        kw["patience"] = None
    return kw


def _cox_per_event(split: MultiSplit) -> MultiRun:
    from pysurvbridge.classical.multistate import fit_cox_per_event

    fit = fit_cox_per_event(split.train)
    X = split.test.X
    return MultiRun(lambda t: fit.predict_survival(X, t), n_params=fit.n_params, engine=fit.engine,
                    fitted=fit)


def _multistate(split: MultiSplit) -> MultiRun:
    from pysurvbridge.classical.multistate import fit_multistate_cox

    if split.train.n_event_types != 2 or len(split.trajectories) != 1:
        raise InvalidParameterError("multistate-cox is the illness-death model: it needs K = 2 events and "
                                    "one known ordering (A, B), e.g. trajectories=[('recurrence', 'death')]")
    (a, b), = split.trajectories
    fit = fit_multistate_cox(split.train, entry_event=a, terminal_event=b)
    X = split.test.X
    return MultiRun(lambda t: fit.predict_survival(X, t), n_params=fit.n_params, engine=fit.engine,
                    fitted=fit)


def _deepsurv_per_event(split: MultiSplit) -> MultiRun:
    from pysurvbridge.models import DeepSurv

    fits = []
    for k in range(split.train.n_event_types):
        val = None if split.validation is None else split.validation.event_data(k)
        kw = {**DEEPSURV_FIT, **_epochs(split)}
        if val is None:
            kw.pop("patience", None)
        m = DeepSurv(hidden=(100,), dropout=0.25).fit(split.train.event_data(k), validation=val, seed=split.seed,
                                                     verbose=False, **kw)
        fits.append(m)
    X = split.test.X

    def survival_fn(t):
        return np.stack([m.predict_survival(X, np.asarray(t, dtype=np.float64)).to_numpy() for m in fits], axis=1)
    n_params = sum(sum(p.numel() for p in m.network_.parameters()) for m in fits)
    return MultiRun(survival_fn, n_params=n_params, engine="torch", fitted=fits)


def _mensa(params: dict | None = None, *, use_split_trajectories: bool = True) -> Callable[[MultiSplit], MultiRun]:
    def run(split: MultiSplit) -> MultiRun:
        from pysurvbridge.models import MENSA

        p = dict(params or {})
        if split.competing:
            p["mode"], p["trajectories"] = "competing", ()
        elif use_split_trajectories:
            p["trajectories"] = split.trajectories
        kw = {**MENSA_FIT, **_epochs(split)}
        if split.validation is None:
            kw.pop("patience", None)
        m = MENSA(**p).fit(split.train, validation=split.validation, seed=split.seed, verbose=False, **kw)
        X = split.test.X
        return MultiRun(lambda t: m.predict_survival_array(X, t), n_params=m.n_params_,
                        flops=m.flops_per_sample(), engine="torch", fitted=m,
                        notes=[f"mensa: trajectories {list(m.trajectory_index_)} (event indices)"] if m.trajectory_index_ else [])
    return run


def _earlier_event_first(split: MultiSplit) -> MultiRun:
    from pysurvbridge.metrics import kaplan_meier

    K = split.train.n_event_types
    rank = np.zeros(K)
    for a, b in split.trajectories:
        rank[a] = max(rank[a], rank[b] + 1)  # A ranked above B
    n = len(split.test)
    risk = np.tile(rank, (n, 1))
    tr = split.train

    def survival_fn(t):
        t = np.asarray(t, dtype=np.float64)
        curves = [kaplan_meier(tr.times[:, k], tr.events[:, k], t) for k in range(K)]
        return np.broadcast_to(np.stack(curves)[None], (n, K, len(t))).copy()
    return MultiRun(survival_fn, n_params=0, engine="numpy", risk=risk,
                    notes=["earlier-event-first: a constant rule (risk of A above B for each ordering, training "
                           "Kaplan-Meier curves); its local C is the floor a model must beat"])


def _load_builtin() -> None:
    if MULTI_REGISTRY:
        return
    register_multi(MultiModelSpec("cox-per-event", "classical", _cox_per_event,
                                  "one Cox model per event, each on its own (time, status)"))
    register_multi(MultiModelSpec("multistate-cox", "classical", _multistate,
                                  "R survival's illness-death multi-state Cox model"))
    register_multi(MultiModelSpec("deepsurv-per-event", "deep", _deepsurv_per_event,
                                  "one DeepSurv per event (hidden 100, dropout 0.25)"))
    register_multi(MultiModelSpec("mensa", "deep", _mensa({}), "MENSA with the known trajectories"))
    register_multi(MultiModelSpec("mensa-no-trajectory", "deep", _mensa({}, use_split_trajectories=False),
                                  "MENSA without the trajectory term (the paper's ablation)"))
    register_multi(MultiModelSpec("earlier-event-first", "reference", _earlier_event_first,
                                  "constant earlier-event-first rule with Kaplan-Meier curves"))
