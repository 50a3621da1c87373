"""Nested, leakage-free tuning of one model on one outer split, with Optuna.

On each outer split the search sees the training subjects only: they are cut into
``tune_folds`` subject-level folds (stratified on the observed-event pattern for multi-event
data, with each inner training part keeping its own validation part for early stopping), a
configuration is fitted on k - 1 folds and judged on the held-out fold, and the mean over the
folds is what the search optimises. The best configuration is then refitted on the whole
training part and scored once on the outer test subjects, like every untuned model.

Search: Optuna's TPE sampler seeded with the split's seed, a median pruner that stops a
configuration after a fold when it is worse than the median of the finished ones at that fold
(after 5 trials), one in-memory study per (model, split), Optuna's logging quiet. Every tuned
model gets the same number of trials.

Metric (``tune_metric``): "loss" (default) is the fitted model's own loss on the held-out fold
(each model's ``loss`` method): the negative log partial likelihood of
the fold's risk sets for the Cox-type models, the discrete likelihood for Nnet-survival,
MENSA's likelihood, CoxVAE's combined loss; "c_harrell" (single-event and recurrent data) or
"c_global" (multi-event data) uses the held-out concordance instead.

A search space maps parameter names of the model's estimator to a list of values (any values,
tuples too) or to ("log" | "float" | "int", low, high).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.comparison.spec import ModelSpec
from pysurvbridge.errors import InvalidParameterError, SurvBridgeError

__all__ = ["TuneRequest", "TuneOutcome", "tune_requests", "tune", "check_space", "check_folds", "is_range", "jsonable",
           "METRICS"]

#: tune_metric values per kind of data: (which data, direction)
METRICS = {"loss": "minimize", "c_harrell": "maximize", "c_global": "maximize"}
#: estimator parameters a search may not touch (the comparison sets them)
FIXED = ("verbose", "random_state", "device", "validation")
RANGE_KINDS = ("log", "float", "int")
#: what a configuration may raise while being fitted: the trial fails, the search goes on
FAILURES = (SurvBridgeError, ValueError, RuntimeError, ArithmeticError)


@dataclass(frozen=True)
class TuneRequest:
    """What to tune for one model: its search ``space`` (checked), ``trials``, ``folds``,
    ``metric`` ("loss" or a concordance name)."""

    space: Mapping[str, Any]
    trials: int
    folds: int
    metric: str


@dataclass
class TuneOutcome:
    """``params`` (JSON-serialisable: tuples as lists), ``estimator`` (configured with them),
    ``seconds``, ``trials`` (one row per trial: number, state, value, params as JSON),
    ``metric``."""

    params: dict
    estimator: Any
    seconds: float
    trials: pd.DataFrame = field(repr=False)
    metric: str = "loss"


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: tuples and arrays as lists, NumPy scalars as numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_range(values: Any) -> bool:
    """Whether a space entry is a range ("log" | "float" | "int", low, high) (a tuple, or a list
    as it arrives from R) rather than a list of values."""
    return isinstance(values, (tuple, list)) and len(values) == 3 and isinstance(values[0], str) and \
        values[0] in RANGE_KINDS


def check_space(model: str, estimator: Any, space: Mapping[str, Any]) -> dict[str, Any]:
    """The space, checked: every name a parameter of the model's estimator (not one the
    comparison sets), lists not empty, ranges (kind, low, high) with low < high (and low > 0
    for "log")."""
    if not isinstance(space, Mapping) or not space:
        raise InvalidParameterError(f"the search space of {model!r} must be a non-empty dict of parameter -> values, "
                                    f"but was {space!r}")
    valid = sorted(k for k in estimator.get_params(deep=False) if k not in FIXED)
    for name, values in space.items():
        if name not in valid:
            raise InvalidParameterError(f"{model!r} has no hyper-parameter {name!r} to tune; its parameters are {valid}")
        if is_range(values):
            kind, low, high = values
            if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and low < high):
                raise InvalidParameterError(f"{model!r}: the range of {name!r} must be (kind, low, high) with "
                                            f"low < high, but was {values!r}")
            if kind == "log" and low <= 0:
                raise InvalidParameterError(f"{model!r}: a log range of {name!r} needs low > 0, but was {values!r}")
            continue
        if isinstance(values, (tuple, list)) and values and isinstance(values[0], str) and values[0] in RANGE_KINDS \
                and len(values) != 3:
            raise InvalidParameterError(f"{model!r}: the range of {name!r} must be (kind, low, high), but was {values!r}")
        if not isinstance(values, (list, tuple)) or len(values) == 0:
            raise InvalidParameterError(f"{model!r}: the values of {name!r} must be a non-empty list (or a range "
                                        f"('log' | 'float' | 'int', low, high)), but were {values!r}")
    return dict(space)


def tune_requests(specs: Sequence[ModelSpec], tune: Any, trials: int, folds: int, metric: str | None,
                  metrics: Sequence[str]) -> tuple[dict[str, TuneRequest], list[str]]:
    """({model name: request}, notes) from compare()'s tuning arguments. ``tune``: None or
    "none" (no tuning), "default" (every model with a declared space), or a dict {model:
    space or None} (a space replaces the model's default one; None leaves it untuned; models
    not named are tuned over their default spaces). ``metrics``: the tune_metric values this
    kind of data offers."""
    deep = [s.name for s in specs if s.family == "deep"]
    if tune is None or tune == "none":
        return {}, ([f"untuned: {', '.join(deep)} ran with fixed default hyper-parameters; tune='default' tunes "
                     "them on each split's training subjects (a fairer verdict)"] if deep else [])
    if not (tune == "default" or isinstance(tune, Mapping)):
        raise InvalidParameterError(f"tune must be None, 'none', 'default' or a dict of model -> search space, "
                                    f"but was {tune!r}")
    if not isinstance(trials, (int, np.integer)) or isinstance(trials, bool) or trials < 1:
        raise InvalidParameterError(f"tune_trials must be a positive integer, but was {trials!r}")
    if not isinstance(folds, (int, np.integer)) or isinstance(folds, bool) or folds < 2:
        raise InvalidParameterError(f"tune_folds must be an integer >= 2 (inner cross-validation), but was {folds!r}")
    metric = "loss" if metric is None else metric
    if metric not in metrics:
        raise InvalidParameterError(f"tune_metric must be one of {list(metrics)} (or None for 'loss'), but was "
                                    f"{metric!r}")
    given = dict(tune) if isinstance(tune, Mapping) else {}
    names = [s.name for s in specs]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InvalidParameterError(f"tune names models {unknown} that are not among the models {names}")
    requests, notes, nothing = {}, [], []
    for spec in specs:
        if spec.name in given and given[spec.name] is None:
            continue
        if spec.tuning is None:
            if spec.name in given or spec.family == "classical":
                nothing.append(spec.name)
            continue
        space = given.get(spec.name, spec.tuning.space)
        requests[spec.name] = TuneRequest(check_space(spec.name, spec.tuning.estimator, space), int(trials),
                                          int(folds), metric)
    if nothing:
        notes.append(f"tuning: {', '.join(nothing)} {'has' if len(nothing) == 1 else 'have'} nothing to tune (a "
                     "classical fit has no hyper-parameters; a reference rule none either) and ran as given")
    for name, req in requests.items():
        spec = next(s for s in specs if s.name == name)
        aim = f"minimising {spec.tuning.loss_name}" if req.metric == "loss" else f"maximising {req.metric}"
        source = "" if name in given else f"; ranges: {spec.tuning.source}"
        notes.append(f"tuning: {name}: {req.trials} trials x {req.folds}-fold inner cross-validation on each split's "
                     f"training subjects (Optuna TPE seeded with the split's seed, median pruning), {aim}; the best "
                     f"configuration refitted on the whole training part{source}")
    untuned = [d for d in deep if d not in requests]
    if untuned:
        notes.append(f"untuned: {', '.join(untuned)} ran with fixed default hyper-parameters")
    return requests, notes


def check_folds(requests: Mapping[str, TuneRequest], folds: int, n_train: int) -> None:
    """Refuse more inner folds than the training subjects allow (at least 2 held out each)."""
    if requests and folds > n_train // 2:
        raise InvalidParameterError(f"tune_folds={folds} is larger than the training subjects allow: each split trains "
                                    f"on {n_train} subjects, so at most {n_train // 2} folds of 2 or more subjects")


def _suggest(trial, space: Mapping[str, Any]) -> dict:
    params = {}
    for name, values in space.items():
        if is_range(values):
            kind, low, high = values
            if kind == "int":
                params[name] = trial.suggest_int(name, int(low), int(high))
            else:
                params[name] = trial.suggest_float(name, float(low), float(high), log=kind == "log")
        else:
            labels = [repr(v) for v in values]  # Optuna takes plain choices; tuples go by their repr
            params[name] = list(values)[labels.index(trial.suggest_categorical(name, labels))]
    return params


def tune(spec: ModelSpec, split: Any, request: TuneRequest, inner_splits: Callable[[Any, int, int], list],
         score: Callable[[Any, Any, str], float]) -> TuneOutcome:
    """Search ``spec``'s configurations on the training subjects of ``split`` (see the
    module docstring); ``inner_splits(split, folds, seed)`` gives the inner splits, the
    model's own ``tuning.loss`` judges a fit on one of them, or ``score(run, inner_split,
    metric)`` for a concordance metric."""
    import optuna
    from sklearn.base import clone

    t0 = time.perf_counter()
    inner = inner_splits(split, request.folds, split.seed)
    direction = METRICS[request.metric]

    def objective(trial) -> float:
        estimator = clone(spec.tuning.estimator).set_params(**_suggest(trial, request.space))
        run_on = spec.tuning.make_run(estimator)
        values = []
        for step, part in enumerate(inner):
            try:
                run = run_on(part)
                value = spec.tuning.loss(run, part) if request.metric == "loss" else score(run, part, request.metric)
            except FAILURES as exc:  # a configuration that cannot be fitted: a failed trial, the search goes on
                trial.set_user_attr("error", f"{type(exc).__name__}: {str(exc)[:200]}")
                raise
            if np.isfinite(value):
                values.append(value)
            if values:
                trial.report(float(np.mean(values)), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        if not values:
            raise SurvBridgeError(f"no fold of {spec.name}'s inner cross-validation gave a finite {request.metric}")
        return float(np.mean(values))

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are recorded below, not logged
    try:
        study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=split.seed),
                                    pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0))
        study.optimize(objective, n_trials=request.trials, catch=FAILURES)
    finally:
        optuna.logging.set_verbosity(verbosity)
    trials = pd.DataFrame([{"trial": t.number, "state": t.state.name.lower(), "value": t.value,
                            "params": json.dumps(jsonable(_decoded(t.params, request.space)), sort_keys=True),
                            "error": t.user_attrs.get("error")}
                           for t in study.trials])
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        reasons = "; ".join(sorted({str(e) for e in trials["error"].dropna()}))[:400]
        raise SurvBridgeError(f"tuning {spec.name}: none of its {len(study.trials)} trials finished ({reasons})")
    best = _decoded(study.best_trial.params, request.space)
    estimator = clone(spec.tuning.estimator).set_params(**best)
    return TuneOutcome(jsonable(best), estimator, time.perf_counter() - t0, trials, request.metric)


def _decoded(params: Mapping[str, Any], space: Mapping[str, Any]) -> dict:
    """Optuna's stored choices back to the space's values (tuples were suggested by repr)."""
    out = {}
    for name, value in params.items():
        values = space[name]
        if is_range(values):
            out[name] = value
        else:
            out[name] = list(values)[[repr(v) for v in values].index(value)]
    return out
