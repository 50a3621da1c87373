"""The comparison layer: classical and deep models on the same subjects, the same splits and
the same metrics, in one table.

``compare(data, models, ...)`` finds the data (a container, or a name in
:mod:`pysurvbridge.data.catalog`), builds one :class:`~pysurvbridge.comparison.runner.Cell`
per (seed, model), runs them through :mod:`~pysurvbridge.comparison.runner` and returns a
:class:`Comparison` (single-event and recurrent data) or a :class:`MultiEventComparison`.
See ``docs/architecture.md`` for the modules and what each may import.
"""
from __future__ import annotations

from typing import Callable, Sequence

from pysurvbridge.comparison.multi_event import DEFAULT_MODELS as MULTI_EVENT_DEFAULTS
from pysurvbridge.comparison.differences import check_bootstrap
from pysurvbridge.comparison.execution import resolve_execution
from pysurvbridge.comparison.multi_event import compare_multi_event
from pysurvbridge.comparison.registry import REGISTRY, ModelSpec, register, spec_for
from pysurvbridge.comparison.result import Comparison, MultiEventComparison, TableReport
from pysurvbridge.comparison.single import plan_single, run_single
from pysurvbridge.comparison.spec import ModelRun, MultiRun
from pysurvbridge.comparison.splits import MultiSplit, Split, stratified_split
from pysurvbridge.comparison.store import check_store_argument
from pysurvbridge.data import catalog
from pysurvbridge.data.events import MultiEventData, SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError

__all__ = ["compare", "compare_multi_event", "Comparison", "MultiEventComparison", "TableReport", "ModelSpec",
           "ModelRun", "MultiRun", "Split", "MultiSplit", "register", "spec_for", "REGISTRY", "stratified_split"]


def compare(
    data,
    models: Sequence | None = None,
    *,
    split: str = "subject",
    test_size: float | None = None,
    seeds: Sequence[int] | int = (0,),
    times: Sequence[float] | None = None,
    metrics: Sequence[str] | None = None,
    epochs: int | None = None,
    verbose: bool = True,
    trajectories: Sequence[tuple] | None = None,
    validation_size: float = 0.1,
    crosscheck: bool | None = None,
    crosscheck_reference: Callable | None = None,
    crosscheck_label: str | None = None,
    reference: str | None = None,
    bootstrap: int = 2000,
    tune=None,
    tune_trials: int = 20,
    tune_folds: int = 3,
    tune_metric: str | None = None,
    store=None,
    n_jobs: int = 1,
    backend: str = "local",
    isolate: str | None = None,
    timeout: float | None = None,
) -> Comparison | MultiEventComparison:
    """Fit every model on the same training subjects and score it on the same test subjects.

    Multi-event data (a :class:`~pysurvbridge.data.MultiEventData`, "rotterdam-multi" or
    "rotterdam-competing") go to :func:`compare_multi_event` (test_size 0.2 by default,
    ``validation_size`` and ``trajectories`` as it documents; the default models are
    cox-per-event, multistate-cox, deepsurv-per-event, mensa and the earlier-event-first
    reference) and return a ``MultiEventComparison``. Otherwise:

    Args:
        data: a RecurrentData, a SurvivalData, or a name of :mod:`pysurvbridge.data.catalog`:
            "bladder1", "bladder", "cgd" (prepared as :func:`pysurvbridge.data.prepared`
            documents; bladder1 also supplies the LSTM-Cox paper's inputs for
            "lstm-cox-paper"), "rotterdam" (recurrence-free time, single event), "support"
            (SUPPORT, 9105 patients; its preprocessing is fitted on each split's training
            subjects only), or the image stand-ins "surv-digits" and "lesions" (for "coxvae"
            and "cox-embedding", a Cox model on CoxVAE's embedding).
        models: registry names ("cox", "ag", "wlw", "pwp-total", "pwp-gap", "deepsurv",
            "nnet-survival", "lstm-cox", "lstm-cox-paper"), :class:`ModelSpec` objects, or
            configured estimators (``LSTMCox(hidden_size=40)``, ``DeepSurv(hidden=(64,),
            lr=1e-2)``): each seed fits a clone with all its settings, training options
            included; the comparison sets only its seed, quiet training and ``epochs`` when
            given here.
        split: "subject" (the only sound split for recurrent events: all rows of a subject on
            one side). test_size: fraction of subjects held out (default 0.3). seeds: a list of
            seeds, or a number n meaning seeds 0..n-1; several give mean and sd.
        times: Brier-score times (default: quartiles of the first-event times with events).
        metrics: columns to keep (default all: c_harrell, c_intervals, c_uno, brier, ibs, aic).
        epochs: training epochs for the deep models (default: each model's own).
        verbose: a progress bar over (seed, model).
        crosscheck: check the engines against each other on the first seed's split (after all
            fits, so no table column changes): every classical model fitted natively and by the
            reference (coef, se, robust se, loglik to 1e-6), and the Brier score of the first
            classical model in Python and in R (to 1e-10); rows in ``agreement``, one note per
            check, and a note beginning "WARNING:" plus a StatisticalWarning for a difference
            above the tolerance. None (default): when R (with survival) is usable or
            ``crosscheck_reference`` is given; False: never; True: always (a note says why
            when it cannot run). Not used for multi-event data.
        crosscheck_reference: an :data:`~pysurvbridge.classical.external.ExternalFitter`
            ((model, training data, ties) -> coxph's estimates) to check the native engine
            against, instead of R through rpy2; ``crosscheck_label`` names it (default
            "external reference").

        reference: the model every other is compared with in ``result.differences`` (paired
            differences on the same test subjects, with intervals: see
            :mod:`pysurvbridge.comparison.inference`); default the first classical model.
        bootstrap: resamples B of the paired bootstrap over test subjects, the intervals of a
            one-split comparison (default 2000; fewer for a quick look, said in the notes).
        tune: None (no tuning), "default" (every deep model over the search space declared
            beside it in the registry, with its source), or {model: space or None} (a space
            replaces that model's default; None leaves it untuned). Nested and leakage-free:
            on each split the search sees the training subjects only
            (:mod:`pysurvbridge.comparison.tuning`). tune_trials: configurations tried per
            (model, split), the same for every model. tune_folds: inner folds. tune_metric:
            "loss" (default: the model's own held-out loss, the negative log partial
            likelihood for Cox-type models) or "c_harrell" ("c_global" for multi-event data).
            ``result.results`` gets ``tuned_params`` and ``tune_seconds``; ``result.tuning``
            every trial.
        store: a folder where every finished cell is written as it finishes
            (:mod:`pysurvbridge.comparison.store`); a rerun with the same arguments skips the
            finished cells and says "N of M cells from the store".
        n_jobs: cells at a time (-1: every core), in worker processes.
        backend: "local", or "dask" to run the cells on the active ``distributed.Client``.
        isolate: "process" (each cell in a child process: a crash or a timeout becomes that
            cell's failed row; the default with n_jobs > 1, Dask or a timeout) or "none".
        timeout: seconds a cell may run before it is stopped and reported as failed.

    A model that fails is reported in ``notes`` with its error; the others go on.
    """
    execution = resolve_execution(n_jobs, backend, isolate, timeout)
    store = check_store_argument(store)
    check_bootstrap(bootstrap)
    entry = None
    dataset = "data"
    if isinstance(data, str):
        if data not in catalog.names():
            raise InvalidParameterError(f"data set {data!r} is not a recurrent-event data set compare() knows (nor "
                                        f"a multi-event one); the catalogue has {catalog.names()}, or pass a container")
        entry, dataset = catalog.entry(data), data
        data = entry.load()
    if isinstance(data, MultiEventData):
        if times is not None or metrics is not None:
            raise InvalidParameterError("times and metrics are not options of the multi-event comparison "
                                        "(its metrics and grids are fixed; see pysurvbridge.comparison.scoring)")
        if entry is not None:
            trajectories = entry.trajectories if trajectories is None else trajectories
        competing = entry.competing if entry is not None else None
        return compare_multi_event(data, MULTI_EVENT_DEFAULTS if models is None else models,
                                   dataset=dataset, trajectories=trajectories, competing=competing,
                                   test_size=0.2 if test_size is None else test_size, validation_size=validation_size,
                                   seeds=seeds, epochs=epochs, verbose=verbose, reference=reference, bootstrap=bootstrap,
                                   tune=tune, tune_trials=tune_trials, tune_folds=tune_folds, tune_metric=tune_metric,
                                   store=store, n_jobs=n_jobs, backend=backend, isolate=isolate, timeout=timeout)
    if not isinstance(data, (RecurrentData, SurvivalData)):
        raise InvalidParameterError(f"data must be a RecurrentData, a SurvivalData or a data set name, "
                                    f"but was {type(data).__name__}")
    if data.weights is not None:
        raise InvalidParameterError(
            "compare() does not use case weights yet (the data have a weights column): the classical "
            "fits would use them and the neural fits and the scores would not. Fit the models "
            "directly (fit_cox(data), model.fit(data, sample_weight=...)), or rebuild the data without weights")
    plan = plan_single(data, entry, split=split, test_size=test_size, times=times, epochs=epochs)
    return run_single(plan, models, dataset=dataset, seeds=seeds, metrics=metrics, verbose=verbose,
                      crosscheck=crosscheck, crosscheck_reference=crosscheck_reference, crosscheck_label=crosscheck_label,
                      reference=reference, bootstrap=bootstrap, tune=tune, tune_trials=tune_trials,
                      tune_folds=tune_folds, tune_metric=tune_metric, execution=execution, store=store)
