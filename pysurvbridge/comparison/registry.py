"""ONE registry for every model ``compare()`` can run, whatever the data.

A :class:`ModelSpec` says what users type (``name``), which family it belongs to, which kinds
of data it accepts (``accepts``: "single" and "recurrent" — time to first event or the
(start, stop] rows — or "multi-event") and how to fit it on one split: ``run(split)`` returns a
:class:`~pysurvbridge.comparison.spec.ModelRun` (or a ``MultiRun`` for multi-event data);
scoring is the comparison's, so every model gets the same metrics. A new model is one
:func:`register` call; a configured model object (``DeepSurv(hidden=(64,))``, ``MENSA(...)``)
becomes a spec through :func:`spec_from_model`.
"""
from __future__ import annotations

from typing import Any

from pysurvbridge.comparison.spec import DATA_KINDS, FAMILIES, ModelSpec
from pysurvbridge.errors import InvalidParameterError

__all__ = ["ModelSpec", "REGISTRY", "FAMILIES", "DATA_KINDS", "register", "spec_for", "spec_from_model", "resolve",
           "names"]

REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add (or replace) a model under ``spec.name``."""
    if not isinstance(spec, ModelSpec):
        raise InvalidParameterError(f"register takes a ModelSpec, but got {type(spec).__name__}")
    _load_builtin()
    REGISTRY[spec.name] = spec
    return spec


def names(multi_event: bool | None = None) -> list[str]:
    """Registered model names (only those for multi-event data, or only the others, when given)."""
    _load_builtin()
    return [n for n, s in REGISTRY.items() if multi_event is None or s.multi_event == multi_event]


def spec_for(name: str, *, multi_event: bool | None = None) -> ModelSpec:
    """The spec registered as ``name``; with ``multi_event`` given, one for that kind of data
    (a model for the other kind is an error that says which kind it takes)."""
    _load_builtin()
    if name not in REGISTRY:
        known = names(multi_event)
        kind = "" if multi_event is None else ("multi-event " if multi_event else "")
        raise InvalidParameterError(f"unknown {kind}model {name!r}; choose from {sorted(known)}")
    spec = REGISTRY[name]
    if multi_event is not None and spec.multi_event != multi_event:
        wanted = "multi-event data" if spec.multi_event else "single-event or recurrent data"
        have = "multi-event data" if multi_event else "single-event or recurrent data"
        raise InvalidParameterError(f"model {name!r} takes {wanted}, but this comparison has {have}; choose from "
                                    f"{sorted(names(multi_event))}")
    return spec


def spec_from_model(model: Any, *, multi_event: bool | None = None) -> ModelSpec:
    """A spec for a configured (unfitted) model object: ``LSTMCox(...)`` trains on the recurrent
    rows; ``DeepSurv(...)``/``NnetSurvival(...)``/``CoxVAE(...)`` on time to first event;
    ``MENSA(...)`` on multi-event data (the split's trajectories when it names none). Each seed
    fits a fresh copy with the object's hyper-parameters."""
    from pysurvbridge.comparison import builtin, builtin_multi_event

    spec = builtin.spec_from_model(model) or builtin_multi_event.spec_from_model(model)
    if spec is None:
        raise InvalidParameterError(f"models must be names, ModelSpec or LSTMCox/DeepSurv/NnetSurvival/CoxVAE/MENSA "
                                    f"objects, but got {type(model).__name__}")
    if multi_event is not None and spec.multi_event != multi_event:
        kind = "multi-event data" if spec.multi_event else "single-event or recurrent data"
        raise InvalidParameterError(f"{type(model).__name__} takes {kind}, which this comparison does not have")
    return spec


def resolve(model: Any, *, multi_event: bool) -> ModelSpec:
    """A spec from a name, a spec or a configured model object."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return spec_for(model, multi_event=multi_event)
    return spec_from_model(model, multi_event=multi_event)


_LOADED = False


def _load_builtin() -> None:
    """Register the built-in models once (their modules import the model classes lazily)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from pysurvbridge.comparison import builtin, builtin_multi_event

    for spec in (*builtin.builtin_specs(), *builtin_multi_event.builtin_specs()):
        REGISTRY.setdefault(spec.name, spec)
