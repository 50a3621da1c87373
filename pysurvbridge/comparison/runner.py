"""The cell: one (seed, model) of a comparison, for every kind of data.

:func:`run_cell` takes a cell and its split and gives one scored row, with failure isolation
(an exception becomes an ``error`` field and the other cells go on), the package's warnings
captured as notes, the fit's wall time and, when asked, the tuning that came first.
:mod:`pysurvbridge.comparison.scheduler` runs the cells of a comparison (here, in worker
processes or on Dask, with the result store).

What differs between kinds of data is a :class:`Plan`: how a seed's split is made, which
models it refuses, how a run is scored and which facts of the run join the row. The
single-event/recurrent and multi-event comparisons each give one
(:mod:`pysurvbridge.comparison.single`, :mod:`pysurvbridge.comparison.multi_event`).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

from pysurvbridge.comparison.spec import ModelSpec
from pysurvbridge.errors import SurvBridgeWarning

__all__ = ["Cell", "CellResult", "Plan", "run_cell", "failure_notes", "tuning_trials"]


@dataclass(frozen=True, eq=False)
class Cell:
    """One (seed, model) of a comparison; ``tune`` (a
    :class:`~pysurvbridge.comparison.tuning.TuneRequest`) when the model is tuned first."""

    seed: int
    spec: ModelSpec
    tune: Any = None

    @property
    def key(self) -> tuple[int, str]:
        return self.seed, self.spec.name


@dataclass
class CellResult:
    """What one cell gave: ``row`` (model, family, seed, then either ``fit_seconds``, the
    scores and the run's facts, or ``error``), ``run`` (None when it failed), ``notes`` (the
    run's own notes, then the package's warnings raised while fitting and scoring),
    ``predictions`` (the per-subject predictions the scores were computed from)."""

    cell: Cell
    row: dict[str, Any]
    run: Any = None
    notes: list[str] = field(default_factory=list)
    predictions: Any = None  # what scoring read, per test subject (for the paired bootstrap)
    tuning: Any = None  # the tuning trials (a DataFrame) when the model was tuned

    @property
    def failed(self) -> bool:
        return "error" in self.row


class Plan:
    """What the runner needs to know about one kind of comparison (subclasses implement it)."""

    def split(self, seed: int) -> Any:
        """The split of ``seed`` (the same subjects for every model)."""
        raise NotImplementedError

    def check(self, spec: ModelSpec, split: Any) -> None:
        """Raise when ``spec`` cannot run on this data (the cell then fails with the reason)."""

    def evaluate(self, run: Any, split: Any) -> tuple[dict[str, float], Any]:
        """(the metric columns of a run on its split, the per-subject predictions they came from)."""
        raise NotImplementedError

    def run_fields(self, run: Any) -> dict[str, Any]:
        """The run's own facts for the row (engine, parameter count, ...)."""
        return {}

    def fingerprint(self) -> dict:
        """What every cell of this comparison shares, for the result store's key: the data, the
        split and metric arguments, the package version."""
        raise NotImplementedError

    #: the tune_metric values this kind of data offers
    tune_metrics: tuple[str, ...] = ("loss",)

    def inner_splits(self, split: Any, folds: int, seed: int) -> list:
        """The inner cross-validation splits of ``split``'s training subjects (for tuning)."""
        raise NotImplementedError

    def tune_score(self, run: Any, split: Any, metric: str) -> float:
        """A fit's score on an inner split: its loss on the held-out fold, or a concordance."""
        raise NotImplementedError


def run_cell(plan: Plan, cell: Cell, split: Any) -> CellResult:
    """Fit ``cell.spec`` on ``split`` and score it. A failure becomes an ``error`` field (one
    failing model must not abort the others); every SurvBridgeWarning raised meanwhile becomes
    a note, after the run's own notes."""
    spec = cell.spec
    row: dict[str, Any] = {"model": spec.name, "family": spec.family, "seed": cell.seed}
    run = predictions = trials = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurvBridgeWarning)
        try:
            plan.check(spec, split)
            tuned, tune_seconds, fit = None, float("nan"), spec.run
            if cell.tune is not None:
                from pysurvbridge.comparison.tuning import tune

                outcome = tune(spec, split, cell.tune, plan.inner_splits, plan.tune_score)
                tuned, tune_seconds, trials = outcome.params, outcome.seconds, outcome.trials
                fit = spec.tuning.make_run(outcome.estimator)
            t0 = time.perf_counter()
            run = fit(split)
            seconds = time.perf_counter() - t0
            scores, predictions = plan.evaluate(run, split)
            fields = {"fit_seconds": seconds, **scores, **plan.run_fields(run), "tuned_params": tuned,
                      "tune_seconds": tune_seconds}
        except Exception as exc:  # reported in the notes by the caller
            fields, run, predictions = {"error": f"{type(exc).__name__}: {exc}"}, None, None
    row.update(fields)
    notes = list(run.notes) if run is not None else []
    if trials is not None and trials["error"].notna().any():
        failed = trials["error"].dropna()
        notes.append(f"{spec.name} (seed {cell.seed}): {len(failed)} of {len(trials)} tuning trials could not be "
                     f"fitted (first: {failed.iloc[0]}); the search went on without them")
    notes += [f"{spec.name} (seed {cell.seed}): {w.category.__name__}: {str(w.message)[:200]}"
              for w in caught if issubclass(w.category, SurvBridgeWarning)]
    return CellResult(cell, row, run, notes, predictions, trials)


def failure_notes(results) -> list[str]:
    """One note per failed (model, seed) of a results frame."""
    if "error" not in results:
        return []
    return [f"{r['model']} failed on seed {r['seed']}: {r['error']}" for _, r in results.dropna(subset=["error"]).iterrows()]


def tuning_trials(done: Sequence[CellResult]):
    """One row per tuning trial of every tuned cell (model, seed, trial, state, value, params),
    or None when nothing was tuned."""
    import pandas as pd

    parts = [r.tuning.assign(model=r.cell.spec.name, seed=r.cell.seed) for r in done if r.tuning is not None]
    if not parts:
        return None
    out = pd.concat(parts, ignore_index=True)
    return out[["model", "seed", "trial", "state", "value", "params", "error"]]

