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

from pysurvbridge.comparison.spec import ModelSpec, MultiRun, Tuning
from pysurvbridge.comparison.splits import MultiSplit
from pysurvbridge.errors import InvalidParameterError

__all__ = ["builtin_specs", "builtin_deep_models", "spec_from_model", "SPACES", "MAX_EPOCHS"]

MULTI_EVENT = ("multi-event",)


def spec_from_model(model: Any) -> ModelSpec | None:
    """A spec for a configured, unfitted :class:`~pysurvbridge.models.MENSA` (None for anything
    else); each seed fits a clone with all its settings (the comparison sets the seed, quiet
    training and, when given, the epochs), and the split's trajectories are used when the
    object names none."""
    from pysurvbridge.models import MENSA

    if isinstance(model, MENSA):
        own = bool(model.trajectories)
        name = "mensa" if own else "mensa-no-trajectory"
        make = lambda m: _mensa(m, use_split_trajectories=not own)  # noqa: E731
        return ModelSpec(name, "deep", make(model), accepts=MULTI_EVENT,
                         tuning=_tuning("mensa", model, make, _mensa_loss))
    return None


# ---------------------------------------------------------------------- built-in models
def builtin_deep_models() -> dict[str, Any]:
    """The deep multi-event models as configured estimators: MENSA with the paper's Table 10
    Rotterdam settings, DeepSurv per event with Table 11's; up to 1000 epochs, early stopping
    after 10 without a lower validation loss."""
    from pysurvbridge.models import MENSA, DeepSurv

    return {"deepsurv-per-event": DeepSurv(hidden=(100,), dropout=0.25, lr=1e-3, epochs=MAX_EPOCHS, patience=10),
            "mensa": MENSA(batch_size=32, lr=1e-3, weight_decay=1e-3, epochs=MAX_EPOCHS, patience=10)}


MAX_EPOCHS = 1000
#: compare(tune="default") search spaces, with their sources
SPACES = {
    "mensa": ({"hidden": [(32,), (64,), (128,)], "lr": [1e-3, 5e-4, 1e-4], "n_dists": [1, 3, 5],
               "weight_decay": [1e-3, 5e-3, 1e-2], "dropout": [0.0, 0.1, 0.25, 0.5], "batch_size": [32, 64, 128]},
              "MENSA paper section 4 (experimental setup): one layer of 32, 64 or 128 nodes, learning rates 1e-3, 5e-4, "
              "1e-4, 1, 3 or 5 Weibulls per event, weight decay 1e-3, 5e-3, 1e-2, dropout 0 to 0.5, batches of 32 to "
              "128, chosen on the validation log-likelihood"),
    "deepsurv-per-event": ({"hidden": [(32,), (100,)], "dropout": [0.0, 0.25, 0.5], "lr": ("log", 1e-4, 1e-2)},
                           "MENSA paper Table 11 (DeepSurv baseline: hidden 100, dropout 0.25, lr 1e-3): these ranges "
                           "hold its values"),
}


def _fresh(model, split: MultiSplit):
    """A clone of ``model`` for one split: its seed, quiet, the comparison's epochs when it sets
    them, and no early stopping without a validation part."""
    from sklearn.base import clone

    settings = {"random_state": split.seed, "verbose": False}
    if split.epochs:
        settings["epochs"] = split.epochs
    if split.validation is None:
        settings["patience"] = None
    return clone(model).set_params(**settings)


def _mensa_loss(run: MultiRun, split: MultiSplit) -> float:
    return run.fitted.loss(split.test)


def _per_event_loss(run: MultiRun, split: MultiSplit) -> float:
    return float(sum(m.loss(split.test.event_data(k)) for k, m in enumerate(run.fitted)))


def _tuning(name: str, model, make_run, loss) -> Tuning:
    space, source = SPACES[name]
    label = ("MENSA's negative log-likelihood per subject (mixture and trajectory terms)" if name == "mensa" else
             "negative log partial likelihood per event, summed over the events")
    return Tuning(model, make_run, space, source, loss, label)


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


def _deepsurv_per_event(model) -> Callable[[MultiSplit], MultiRun]:
    """One clone of the configured DeepSurv per event, each on that event's (time, status);
    the validation part's same event for early stopping."""
    def run(split: MultiSplit) -> MultiRun:
        fits = []
        for k in range(split.train.n_event_types):
            val = None if split.validation is None else split.validation.event_data(k)
            fits.append(_fresh(model, split).fit(split.train.event_data(k), validation=val))
        X = split.test.X

        def survival_fn(t):
            return np.stack([m.predict_survival(X, np.asarray(t, dtype=np.float64)).to_numpy() for m in fits], axis=1)
        n_params = sum(sum(p.numel() for p in m.network_.parameters()) for m in fits)
        return MultiRun(survival_fn, n_params=n_params, engine="torch", fitted=fits)
    return run


def _mensa(model, *, use_split_trajectories: bool = True) -> Callable[[MultiSplit], MultiRun]:
    """A clone of the configured MENSA; the split's known orderings when the object names none,
    its competing-risks mode for competing data."""
    def run(split: MultiSplit) -> MultiRun:
        m = _fresh(model, split)
        if split.competing:
            m.set_params(mode="competing", trajectories=())
        elif use_split_trajectories:
            m.set_params(trajectories=split.trajectories)
        m.fit(split.train, validation=split.validation)
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
    deep = builtin_deep_models()

    def spec(name: str, family: str, run: Callable, description: str, tuning: Tuning | None = None) -> ModelSpec:
        return ModelSpec(name, family, run, description=description, accepts=MULTI_EVENT, tuning=tuning)

    no_trajectory = lambda m: _mensa(m, use_split_trajectories=False)  # noqa: E731
    return [
        spec("cox-per-event", "classical", _cox_per_event, "one Cox model per event, each on its own (time, status)"),
        spec("multistate-cox", "classical", _multistate, "R survival's illness-death multi-state Cox model"),
        spec("deepsurv-per-event", "deep", _deepsurv_per_event(deep["deepsurv-per-event"]),
             "one DeepSurv per event (hidden 100, dropout 0.25)",
             _tuning("deepsurv-per-event", deep["deepsurv-per-event"], _deepsurv_per_event, _per_event_loss)),
        spec("mensa", "deep", _mensa(deep["mensa"]), "MENSA with the known trajectories",
             _tuning("mensa", deep["mensa"], _mensa, _mensa_loss)),
        spec("mensa-no-trajectory", "deep", no_trajectory(deep["mensa"]),
             "MENSA without the trajectory term (the paper's ablation)",
             _tuning("mensa", deep["mensa"], no_trajectory, _mensa_loss)),
        spec("earlier-event-first", "reference", _earlier_event_first,
             "constant earlier-event-first rule with Kaplan-Meier curves"),
    ]
