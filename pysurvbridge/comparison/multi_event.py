"""``compare()`` on multi-event data: classical, deep and reference models on the same
subjects, the same splits and the same metrics (MENSA's appendix B; columns:
:mod:`pysurvbridge.comparison.scoring`)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.comparison.registry import resolve
from pysurvbridge.comparison.result import MultiEventComparison
from pysurvbridge.comparison.execution import resolve_execution
from pysurvbridge.comparison.runner import Cell, Plan, failure_notes, tuning_trials
from pysurvbridge.comparison.scheduler import run_cells
from pysurvbridge.comparison.store import check_store_argument
from pysurvbridge.comparison.bootstrap import resampled_multi_event
from pysurvbridge.comparison.differences import check_bootstrap, choose_reference, compute_differences
from pysurvbridge.comparison.scoring import MULTI_EVENT_DEFINITIONS, evaluate_multi_event, multi_event_predictions
from pysurvbridge.comparison.spec import MultiRun
from pysurvbridge.comparison.splits import MultiSplit, check_shares, seed_list, stratified_folds, stratified_split
from pysurvbridge.comparison.summary import summarise_multi_event
from pysurvbridge.comparison.tuning import check_folds, tune_requests
from pysurvbridge.data.events import MultiEventData, topological_order
from pysurvbridge.errors import InvalidParameterError

__all__ = ["compare_multi_event", "MultiEventPlan", "DEFAULT_MODELS", "index_pairs"]

DEFAULT_MODELS = ("cox-per-event", "multistate-cox", "deepsurv-per-event", "mensa", "earlier-event-first")


def index_pairs(data: MultiEventData, trajectories) -> tuple[tuple[int, int], ...]:
    """Known orderings (A, B) by event name or index as index pairs; refuses unknown events
    and cycles."""
    names = list(data.event_names)
    out = []
    for pair in trajectories:
        if len(pair) != 2:
            raise InvalidParameterError(f"trajectories must be pairs (A, B), but got {pair!r}")
        idx = []
        for v in pair:
            if isinstance(v, str):
                if v not in names:
                    raise InvalidParameterError(f"trajectory names event {v!r}, which is not one of {names}")
                idx.append(names.index(v))
            elif isinstance(v, (int, np.integer)) and 0 <= v < len(names):
                idx.append(int(v))
            else:
                raise InvalidParameterError(f"trajectory names event {v!r}, which does not exist")
        out.append(tuple(idx))
    if topological_order(len(names), out) is None:
        raise InvalidParameterError(f"trajectories {list(trajectories)} contain a cycle")
    return tuple(out)


class MultiEventPlan(Plan):
    """Splits stratified on the observed-event pattern, with a validation part for early stopping."""

    def __init__(self, data: MultiEventData, test_size: float, validation_size: float,
                 pairs: tuple[tuple[int, int], ...], epochs: int | None, competing: bool) -> None:
        self.data, self.test_size, self.validation_size = data, test_size, validation_size
        self.pairs, self.epochs, self.competing = pairs, epochs, competing

    def split(self, seed: int) -> MultiSplit:
        tr, va, te = stratified_split(self.data.event_pattern(), self.test_size, self.validation_size, seed)
        return MultiSplit(self.data.subset(tr), self.data.subset(va) if len(va) else None, self.data.subset(te),
                          seed, self.pairs, self.epochs, self.competing)

    def evaluate(self, run: MultiRun, split: MultiSplit):
        return evaluate_multi_event(run, split)

    def run_fields(self, run: MultiRun) -> dict:
        return dict(engine=run.engine, n_params=run.n_params, flops=run.flops)

    def fingerprint(self) -> dict:
        from pysurvbridge.comparison.store import data_fingerprint, package_version

        return {"kind": "multi-event", "data": data_fingerprint(self.data), "test_size": self.test_size,
                "validation_size": self.validation_size, "trajectories": [list(p) for p in self.pairs],
                "competing": self.competing, "epochs": self.epochs, "version": package_version()}

    tune_metrics = ("loss", "c_global")

    @property
    def n_train_subjects(self) -> int:
        return len(stratified_split(self.data.event_pattern(), self.test_size, self.validation_size, 0)[0])

    def inner_splits(self, split: MultiSplit, folds: int, seed: int) -> list[MultiSplit]:
        """``folds`` folds of the training subjects, stratified on the observed-event pattern;
        with a validation part outside, each inner training part keeps one of the same share
        for early stopping."""
        data = split.train
        n_val = 0 if split.validation is None else len(split.validation)
        share = n_val / (len(data) + n_val)
        out = []
        for held in stratified_folds(data.event_pattern(), folds, seed):
            rest = np.delete(np.arange(len(data)), held)
            part = data.subset(rest)
            tr, va, _ = stratified_split(part.event_pattern(), 0.0, share, seed)
            out.append(MultiSplit(part.subset(tr), part.subset(va) if len(va) else None, data.subset(held), seed,
                                  split.trajectories, split.epochs, split.competing))
        return out

    def tune_score(self, run: MultiRun, split: MultiSplit, metric: str) -> float:
        """The global C of the held-out fold (the only tune_metric besides the model's loss)."""
        from pysurvbridge import metrics

        te = split.test
        return float(metrics.concordance_global(multi_event_predictions(run, split).risk, te.times, te.events))


def _standing_notes(names: set[str], competing: bool, validation_size: float) -> list[str]:
    out = []
    if "earlier-event-first" in names:
        out.append("local C floor: the constant earlier-event-first rule orders events within a subject without "
                   "looking at covariates; a model's local C is informative only above that row's value")
    if "multistate-cox" in names and not competing:
        out.append("multistate-cox predicts P(event by t) with the other event competing (the crude probability, "
                   "from state occupancy); the per-event metrics treat the other event as censoring (a net "
                   "probability, the estimand of the per-event and MENSA curves): they agree only where few "
                   "subjects die before the earlier event")
    if validation_size > 0:
        out.append(f"the validation part ({validation_size:.0%} of subjects) is used only for early stopping of "
                   "the deep models; every model is fitted on the same training part")
    return out


def compare_multi_event(
    data: MultiEventData,
    models: Sequence = DEFAULT_MODELS,
    *,
    dataset: str = "data",
    trajectories: Sequence[tuple] | None = None,
    competing: bool | None = None,
    test_size: float = 0.2,
    validation_size: float = 0.1,
    seeds: Sequence[int] | int = (0,),
    epochs: int | None = None,
    verbose: bool = True,
    reference: str | None = None,
    bootstrap: int = 2000,
    tune: Any = None,
    tune_trials: int = 20,
    tune_folds: int = 3,
    tune_metric: str | None = None,
    store: Any = None,
    n_jobs: int = 1,
    backend: str = "local",
    isolate: str | None = None,
    timeout: float | None = None,
) -> MultiEventComparison:
    """Fit every model on the same training subjects and score it on the same test subjects.

    Args:
        data: a :class:`MultiEventData` (data sets by name go through
            :func:`pysurvbridge.compare`, which takes their trajectories from the catalogue).
        models: names ("cox-per-event", "multistate-cox", "deepsurv-per-event", "mensa",
            "mensa-no-trajectory", "earlier-event-first"), specs, or configured MENSA objects.
        trajectories: known orderings (A, B) by event name or index (default none).
        competing: the events are exclusive causes at one time (default False).
        test_size, validation_size: shares of all subjects, split within each observed-event
            pattern (stratified, as the paper's 70/10/20); the validation part is used only
            for early stopping of the deep models; every model trains on the same training part.
        seeds: a list, or n meaning 0..n-1. epochs: a cap on the deep models' epochs (default:
            up to 1000 with early stopping, patience 10).
        reference: the model the others are compared with in ``differences`` (default: the
            first classical model). bootstrap: as :func:`pysurvbridge.compare`.
        tune, tune_trials, tune_folds, tune_metric: as :func:`pysurvbridge.compare`
            ("c_global" instead of "c_harrell" as the concordance metric).
        store, n_jobs, backend, isolate, timeout: as :func:`pysurvbridge.compare`.
    """
    check_shares(test_size, validation_size)
    seeds = seed_list(seeds)
    execution = resolve_execution(n_jobs, backend, isolate, timeout)
    store = check_store_argument(store)
    check_bootstrap(bootstrap)
    if not isinstance(data, MultiEventData):
        raise InvalidParameterError(f"data must be a MultiEventData or a data set name, but was {type(data).__name__}")
    pairs = index_pairs(data, trajectories or ())
    competing = bool(competing)
    specs = [resolve(m, multi_event=True) for m in models]
    if not specs:
        raise InvalidParameterError("models must name at least one model")
    reference, reference_notes = choose_reference(specs, reference)
    plan = MultiEventPlan(data, test_size, validation_size, pairs, epochs, competing)
    requests, tune_notes = tune_requests(specs, tune, tune_trials, tune_folds, tune_metric, plan.tune_metrics)
    check_folds(requests, tune_folds, plan.n_train_subjects)
    cells = [Cell(seed, spec, requests.get(spec.name)) for seed in seeds for spec in specs]
    done, splits, store_notes = run_cells(plan, cells, verbose=verbose, execution=execution, store=store)
    notes: list[str] = list(store_notes)
    runs, last_predictions = {}, {}
    for result in done:
        notes += result.notes
        if result.run is not None:
            runs[result.cell.spec.name] = result.run
        if result.predictions is not None and result.cell.seed == seeds[-1]:
            last_predictions[result.cell.spec.name] = result.predictions
    results = pd.DataFrame([r.row for r in done])
    notes += failure_notes(results)
    differences, difference_notes = compute_differences(
        done, splits, results, reference, resampled_multi_event, lambda s: len(s.test), lambda s: len(s.train),
        verbose=verbose, resamples=bootstrap)
    notes += reference_notes + difference_notes + tune_notes
    notes += _standing_notes({s.name for s in specs}, competing, validation_size)
    table = summarise_multi_event(results, data.event_names)
    return MultiEventComparison(table, results, list(dict.fromkeys(notes)), data, runs, splits[seeds[-1]], dataset,
                                dict(MULTI_EVENT_DEFINITIONS), differences, reference, tuning_trials(done),
                                last_predictions)
