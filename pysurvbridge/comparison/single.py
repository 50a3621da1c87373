"""``compare()`` on single-event and recurrent data: every model fitted on the same training
subjects and scored on the same held-out subjects (columns: :mod:`pysurvbridge.comparison.scoring`)."""
from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.comparison.registry import resolve
from pysurvbridge.comparison.result import Comparison
from pysurvbridge.comparison.execution import Execution
from pysurvbridge.comparison.runner import Cell, Plan, failure_notes, tuning_trials
from pysurvbridge.comparison.scheduler import SERIAL, run_cells
from pysurvbridge.comparison.bootstrap import resampled_single
from pysurvbridge.comparison.differences import choose_reference, compute_differences
from pysurvbridge.comparison.scoring import SINGLE_DEFINITIONS, SINGLE_METRICS, default_times, evaluate_single
from pysurvbridge.comparison.spec import ModelRun, ModelSpec
from pysurvbridge.comparison.splits import Split, first_event, seed_list, subject_split, subjects, subset
from pysurvbridge.comparison.splits import folds as fold_positions
from pysurvbridge.comparison.summary import summarise_single
from pysurvbridge.comparison.tuning import check_folds, tune_requests
from pysurvbridge.data.catalog import CatalogEntry
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError, StatisticalWarning

__all__ = ["plan_single", "run_single", "SinglePlan", "DEFAULT_MODELS"]

DEFAULT_MODELS = ("cox", "ag", "wlw", "pwp-total", "lstm-cox")


class SinglePlan(Plan):
    """Subject splits of single-event or recurrent data (``entry``: the catalogue entry when
    the data came by name, for its per-split preparation and the paper's inputs)."""

    def __init__(self, data: RecurrentData | SurvivalData, entry: CatalogEntry | None, test_size: float,
                 times: np.ndarray, epochs: int | None) -> None:
        self.data, self.entry, self.test_size, self.times, self.epochs = data, entry, test_size, times, epochs
        self.ids = subjects(data)
        self.leaky = entry.paper_inputs() if entry is not None and entry.paper_inputs is not None else None
        self.recurrent = isinstance(data, RecurrentData)
        # the report's survival plot: 40 times up to the 90% quantile of every subject's first-event
        # time (one grid for every split, so the curves compare)
        self.plot_grid = np.linspace(0, np.quantile(first_event(data).time, 0.9), 40)

    def split(self, seed: int) -> Split:
        train_ids, test_ids = subject_split(self.ids, self.test_size, seed)
        if self.entry is not None and self.entry.prepare_split is not None:
            position = pd.Index(self.ids)  # one row per subject: the rows of these ids in the raw data
            train, test = self.entry.prepare_split(np.sort(position.get_indexer(train_ids)),
                                                   np.sort(position.get_indexer(test_ids)))
        else:
            train, test = subset(self.data, train_ids, self.ids), subset(self.data, test_ids, self.ids)
        return Split(train, test, first_event(train), first_event(test), self.times, seed, self.epochs,
                     subset(self.leaky, train_ids, self.ids), subset(self.leaky, test_ids, self.ids))

    def check(self, spec: ModelSpec, split: Split) -> None:
        if spec.needs_recurrent and not self.recurrent:
            raise InvalidParameterError(f"{spec.name} needs recurrent-event data (a RecurrentData)")

    def evaluate(self, run: ModelRun, split: Split):
        return evaluate_single(run, split, self.plot_grid)



    def run_fields(self, run: ModelRun) -> dict:
        return dict(engine=run.engine, protocol=run.protocol, aic=run.aic, aic_counts=run.aic_counts,
                    n_params=run.n_params)

    def fingerprint(self) -> dict:
        from pysurvbridge.comparison.store import data_fingerprint, package_version

        return {"kind": "single", "data": data_fingerprint(self.data),
                "dataset": None if self.entry is None else self.entry.name,
                "paper_inputs": None if self.leaky is None else data_fingerprint(self.leaky),
                "test_size": self.test_size, "times": [float(t) for t in self.times], "epochs": self.epochs,
                "version": package_version()}

    tune_metrics = ("loss", "c_harrell")

    @property
    def n_train_subjects(self) -> int:
        return len(self.ids) - max(2, int(round(self.test_size * len(self.ids))))

    def inner_splits(self, split: Split, folds: int, seed: int) -> list[Split]:
        """``folds`` subject-level folds of the training subjects: each fold held out once."""
        data, leaky = split.train, split.leaky_train
        ids = subjects(data)
        out = []
        for held in fold_positions(len(ids), folds, seed):
            test_ids = ids[held]
            train_ids = np.delete(ids, held)
            train, test = subset(data, train_ids, ids), subset(data, test_ids, ids)
            out.append(Split(train, test, first_event(train), first_event(test), split.times, seed, split.epochs,
                             subset(leaky, train_ids, ids), subset(leaky, test_ids, ids)))
        return out

    def tune_score(self, run: ModelRun, split: Split, metric: str) -> float:
        """Harrell's C of the held-out fold (the only tune_metric besides the model's loss)."""
        from pysurvbridge.metrics import concordance_harrell

        te = split.test_first
        return float(concordance_harrell(run.subject_risk, te.time, te.event))


def _standing_notes(data, entry: CatalogEntry | None, table: pd.DataFrame, wanted: Sequence[str]) -> list[str]:
    notes = []
    if entry is not None and entry.split_note:
        notes.append(entry.split_note)
    if isinstance(data, RecurrentData) and "aic" in wanted:
        notes.append("AIC: each model's likelihood uses its own response construction (time to first event, "
                     "(start, stop] rows, stratified layouts, subject time for lstm-cox-paper); AICs are not "
                     "comparable across models; k counts Cox coefficients only (see aic_counts)")
    if any(str(p).startswith("paper") for p in table.get("protocol", [])):
        notes.append("lstm-cox-paper uses the paper's leaky protocol: its inputs (stop, recur, rtumor, rsize) carry "
                     "the outcome; its numbers are not evidence of predictive skill")
    return notes


def plan_single(data: RecurrentData | SurvivalData, entry: CatalogEntry | None, *, split: str,
                test_size: float | None, times: Sequence[float] | None, epochs: int | None) -> SinglePlan:
    """The splits of a single-event or recurrent comparison, arguments checked (as
    :func:`pysurvbridge.compare` documents them)."""
    test_size = 0.3 if test_size is None else test_size
    if split != "subject":
        raise InvalidParameterError(f"split must be 'subject', but was {split!r}")
    if not 0 < test_size < 1:
        raise InvalidParameterError(f"test_size must be in (0, 1), but was {test_size!r}")
    grid = np.asarray(times, dtype=np.float64) if times is not None else default_times(first_event(data))
    return SinglePlan(data, entry, test_size, grid, epochs)


def run_single(plan: SinglePlan, models: Sequence | None, *, dataset: str, seeds, metrics: Sequence[str] | None,
               verbose: bool, crosscheck: bool | None, crosscheck_reference: Callable | None,
               crosscheck_label: str | None, reference: str | None = None, bootstrap: int = 2000, tune: Any = None,
               tune_trials: int = 20,
               tune_folds: int = 3, tune_metric: str | None = None, execution: Execution = SERIAL,
               store: Any = None) -> Comparison:
    """Every (seed, model) cell of ``plan``, the table, the notes and the engines' agreement."""
    seeds = seed_list(seeds)
    wanted = list(SINGLE_METRICS) if metrics is None else list(metrics)
    unknown = [m for m in wanted if m not in SINGLE_METRICS]
    if unknown:
        raise InvalidParameterError(f"unknown metrics {unknown}; choose from {list(SINGLE_METRICS)}")
    specs = [resolve(m, multi_event=False) for m in (DEFAULT_MODELS if models is None else models)]
    if not specs:
        raise InvalidParameterError("models must name at least one model")
    reference, reference_notes = choose_reference(specs, reference)
    requests, tune_notes = tune_requests(specs, tune, tune_trials, tune_folds, tune_metric, plan.tune_metrics)
    check_folds(requests, tune_folds, plan.n_train_subjects)
    data = plan.data
    notes: list[str] = [f"data: {n}" for n in data.notes] if plan.recurrent else []
    cells = [Cell(seed, spec, requests.get(spec.name)) for seed in seeds for spec in specs]
    done, splits, store_notes = run_cells(plan, cells, verbose=verbose, execution=execution, store=store)
    notes += store_notes
    runs, first_runs, last_predictions = {}, {}, {}
    for result in done:
        notes += result.notes
        if result.run is not None:
            runs[result.cell.spec.name] = result.run
            if result.cell.seed == seeds[0]:
                first_runs[result.cell.spec.name] = result.run
        if result.predictions is not None and result.cell.seed == seeds[-1]:
            last_predictions[result.cell.spec.name] = result.predictions
    results = pd.DataFrame([r.row for r in done])
    notes += failure_notes(results)
    table = summarise_single(results, wanted)
    differences, difference_notes = compute_differences(done, splits, results, reference, resampled_single,
                                                        lambda s: len(s.test_first), lambda s: len(s.train_first),
                                                        verbose=verbose, resamples=bootstrap)
    notes += reference_notes + difference_notes + tune_notes + _standing_notes(data, plan.entry, table, wanted)
    from pysurvbridge.crosscheck import check_split

    agreement, agreement_notes, alarms = check_split(splits[seeds[0]], first_runs, specs, requested=crosscheck,
                                                     reference=crosscheck_reference, label=crosscheck_label)
    result = Comparison(table, results, list(dict.fromkeys(notes + agreement_notes)), data, runs, plan.times,
                        dataset, dict(SINGLE_DEFINITIONS), splits[seeds[-1]], agreement, differences, reference,
                        tuning_trials(done), last_predictions)
    for text in alarms:  # visible, not only a note
        warnings.warn(text, StatisticalWarning, stacklevel=3)
    return result
