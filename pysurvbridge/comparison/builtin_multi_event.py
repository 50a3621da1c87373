"""The built-in models for multi-event data: how each fits on a training split and the
survival curves it predicts for the test subjects (a :class:`MultiRun`). Scoring is the
comparison's, so every model gets the same metrics.

Built in: "cox-per-event" and "multistate-cox" (classical), "deepsurv-per-event", "mensa" and
"mensa-no-trajectory" (deep), and "earlier-event-first" (reference: each event's training
Kaplan-Meier curve, with a constant risk that ranks the earlier event of each known ordering
first; it shows the floor of the local C).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pysurvbridge.comparison.spec import ModelSpec, MultiRun
from pysurvbridge.comparison.splits import MultiSplit
from pysurvbridge.errors import InvalidParameterError

__all__ = ["builtin_specs", "spec_from_model", "MENSA_FIT", "DEEPSURV_FIT", "MAX_EPOCHS"]

MULTI_EVENT = ("multi-event",)


def spec_from_model(model: Any) -> ModelSpec | None:
    """A spec for a configured, unfitted :class:`~pysurvbridge.models.MENSA` (None for anything
    else); each seed fits a fresh copy with its hyper-parameters, and the split's trajectories
    are used when the object names none."""
    from pysurvbridge.models import MENSA

    if isinstance(model, MENSA):
        params = model.get_params()
        name = "mensa" if params["trajectories"] else "mensa-no-trajectory"
        return ModelSpec(name, "deep", _mensa(params, use_split_trajectories=not params["trajectories"]),
                         accepts=MULTI_EVENT)
    return None


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
        m = DeepSurv(hidden=(100,), dropout=0.25).fit(split.train.event_data(k), validation=val, random_state=split.seed,
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
        m = MENSA(**p).fit(split.train, validation=split.validation, random_state=split.seed, verbose=False, **kw)
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


def builtin_specs() -> list[ModelSpec]:
    """The built-in models for multi-event data."""
    def spec(name: str, family: str, run: Callable, description: str) -> ModelSpec:
        return ModelSpec(name, family, run, description=description, accepts=MULTI_EVENT)

    return [
        spec("cox-per-event", "classical", _cox_per_event, "one Cox model per event, each on its own (time, status)"),
        spec("multistate-cox", "classical", _multistate, "R survival's illness-death multi-state Cox model"),
        spec("deepsurv-per-event", "deep", _deepsurv_per_event, "one DeepSurv per event (hidden 100, dropout 0.25)"),
        spec("mensa", "deep", _mensa({}), "MENSA with the known trajectories"),
        spec("mensa-no-trajectory", "deep", _mensa({}, use_split_trajectories=False),
             "MENSA without the trajectory term (the paper's ablation)"),
        spec("earlier-event-first", "reference", _earlier_event_first,
             "constant earlier-event-first rule with Kaplan-Meier curves"),
    ]
