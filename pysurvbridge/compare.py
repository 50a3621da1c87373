"""``compare()``: classical and deep models on the same subjects, the same splits and the same
metrics, in one table.

Definitions (each column of :attr:`Comparison.table`; the report prints them beside the numbers):

- ``c_harrell``: Harrell's C of each test subject's risk on time to first event (for
  recurrent data: the risk at the subject's first interval; "cox" is the Cox model of time to
  first event, as a naive analyst would fit it).
- ``c_intervals`` (recurrent data): the counting-process C of each test interval's risk on
  Surv(start, stop, event), survival::concordance's definition; NaN for models without a
  per-interval risk.
- ``c_uno``: Uno's C on time to first event with the training data's censoring distribution.
- ``brier_<t>`` and ``ibs``: IPCW Brier score of P(no event by t) on time to first event
  (censoring weights from the training subjects; ``ibs`` over 20 times from the 5% to the 80%
  quantile of the training first-event times).
- ``aic`` with ``aic_counts``: on the training fit; the likelihood differs between models
  (first event, (start, stop] rows, stratified layouts): never comparable across them.

:attr:`Comparison.agreement` (not a column): the engines checked against each other on the
first seed's split (:mod:`pysurvbridge.crosscheck`).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError, StatisticalWarning, SurvBridgeWarning
from pysurvbridge.registry import ModelRun, ModelSpec, Split, spec_for, spec_from_model

__all__ = ["compare", "Comparison", "TableReport", "run_isolated"]

DATASETS = ("bladder1", "bladder", "cgd", "rotterdam", "support", "surv-digits", "lesions")
METRICS = ("c_harrell", "c_intervals", "c_uno", "brier", "ibs", "aic")


class TableReport:
    """``to_markdown``, ``to_latex`` and ``to_html`` of a result with a ``table``; subclasses
    name their HTML renderer (a function of the result returning the page)."""

    #: print the table's columns in its own order (else report.SHOWN's order first)
    keep_column_order = False

    def _render_html(self) -> str:
        raise NotImplementedError

    def to_markdown(self, digits: int = 3) -> str:
        from pysurvbridge.report import markdown_table

        return markdown_table(self.table, digits, keep_order=self.keep_column_order)

    def to_latex(self, digits: int = 3) -> str:
        from pysurvbridge.report import latex_table

        return latex_table(self.table, digits, keep_order=self.keep_column_order)

    def to_html(self, path: str | None = None) -> str:
        """A self-contained HTML report (table by family, embedded plots, definitions, notes);
        written to ``path`` when given. Returns the HTML text."""
        html = self._render_html()
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(html)
        return html


@dataclass(eq=False)
class Comparison(TableReport):
    """Result of :func:`compare`.

    ``table``: one row per model, means over seeds and ``<column>_sd``; ``results``: one row per
    (model, seed); ``notes``: every caveat found; ``data``: the compared data; ``runs``: the last
    seed's :class:`ModelRun` per model (fitted objects for the plots); ``times``: Brier times;
    ``agreement``: the engines checked against each other on the first seed's split (rows of
    :data:`pysurvbridge.crosscheck.COLUMNS`), or None when not checked.
    """

    table: pd.DataFrame
    results: pd.DataFrame
    notes: list[str]
    data: RecurrentData | SurvivalData
    runs: dict[str, ModelRun]
    times: np.ndarray
    dataset: str = "data"
    definitions: dict[str, str] = field(default_factory=dict)
    split: Split | None = None  # the last seed's split (test subjects of ``runs``)
    agreement: pd.DataFrame | None = None

    def _render_html(self) -> str:
        from pysurvbridge.report import html_report

        return html_report(self)

    def agreement_markdown(self) -> str:
        """The agreement between engines as a sentence and a Markdown table ("" when not checked)."""
        if self.agreement is None or not len(self.agreement):
            return ""
        from pysurvbridge.crosscheck import describe, markdown

        return f"{describe(self.agreement)}\n\n{markdown(self.agreement)}"

    def __repr__(self) -> str:
        return f"Comparison({len(self.table)} models)\n{self.to_markdown()}"


def _resolve_data(data) -> tuple[RecurrentData | SurvivalData, RecurrentData | None, str]:
    if isinstance(data, str):
        from pysurvbridge.data.datasets import bladder1_recurrent, prepared

        if data not in DATASETS:
            raise InvalidParameterError(f"data set {data!r} is not a recurrent-event data set compare() knows (nor a "
                                        f"multi-event one); choose from "
                                        f"{list(DATASETS) + ['rotterdam-multi', 'rotterdam-competing']} or pass a container")
        leaky = bladder1_recurrent(paper_inputs=True) if data == "bladder1" else None
        if data in ("surv-digits", "lesions"):
            return _image_data(data), None, data
        if data == "support":
            from pysurvbridge.data.datasets import prepared as prepare

            return prepare("support"), None, data
        if data == "rotterdam":
            return _rotterdam_recurrence(), None, data
        return prepared(data), leaky, data
    if isinstance(data, (RecurrentData, SurvivalData)):
        return data, None, "data"
    raise InvalidParameterError(f"data must be a RecurrentData, a SurvivalData or a data set name, "
                                f"but was {type(data).__name__}")


def _rotterdam_recurrence() -> SurvivalData:
    """rotterdam as single-event data: recurrence-free time (rtime, recur), covariates age, meno,
    size (one-hot), grade, nodes, pgr, er, hormon, chemo (the recurrence part of
    ``prepared("rotterdam")``; death is MENSA's second event and is not used here)."""
    from pysurvbridge.data.datasets import load_rotterdam

    cov = ["age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon", "chemo"]
    return SurvivalData.from_frame(load_rotterdam(), time="rtime", event="recur", covariates=cov, id="pid",
                                   one_hot=["size"])


def _support_split(train_rows: np.ndarray, test_rows: np.ndarray) -> tuple[SurvivalData, SurvivalData]:
    """SUPPORT for one split: the preprocessing (columns dropped for missingness, imputation
    medians, one-hot levels) is fitted on the training subjects only, then applied to both."""
    from pysurvbridge.data.datasets import load_support
    from pysurvbridge.data.preprocessing import support_preprocessor

    raw = load_support()
    train_frame, test_frame = raw.iloc[train_rows], raw.iloc[test_rows]
    prep = support_preprocessor().fit(train_frame)
    return prep.to_survival_data(train_frame), prep.to_survival_data(test_frame)


#: data sets whose preprocessing is learned per split (name -> (train rows, test rows) -> data)
PER_SPLIT = {"support": _support_split}


def _image_data(name: str) -> SurvivalData:
    """CoxVAE's public stand-ins as single-event image data (pixels as covariates):
    "surv-digits" (all 1797 8x8 digits, exponential times, log-hazard 0.9 x digit + const) and
    "lesions" (1500 simulated 32x32 organ images, hazard driven by the lesion area, seed 0)."""
    if name == "surv-digits":
        from pysurvbridge.data.datasets import load_digits_survival

        d = load_digits_survival(seed=0, digits=range(10))
        return SurvivalData.from_arrays(d.time, d.event, d.images.reshape(len(d.images), -1))
    from pysurvbridge.simulate import simulate_lesion_images

    return simulate_lesion_images(1500, size=32, seed=0).data


def _first_event(data: RecurrentData | SurvivalData) -> SurvivalData:
    if isinstance(data, SurvivalData):
        return data
    return data.first_event()


def _subjects(data) -> np.ndarray:
    if isinstance(data, RecurrentData):
        return np.asarray(data.ids)
    return np.arange(len(data)) if data.ids is None else np.asarray(data.ids)


def _subset(data, ids: np.ndarray, all_ids: np.ndarray):
    if data is None:
        return None
    if isinstance(data, RecurrentData):
        return data.subset(ids)
    return data.subset(np.isin(all_ids, ids))


def _default_times(first: SurvivalData) -> np.ndarray:
    t = first.time[first.event == 1]
    return np.unique(np.round(np.quantile(t, [0.25, 0.5, 0.75]), 6))


def _score(run: ModelRun, split: Split) -> dict[str, float]:
    from pysurvbridge import metrics

    tr, te = split.train_first, split.test_first
    out: dict[str, float] = {}
    out["c_harrell"] = metrics.concordance_harrell(run.subject_risk, te.time, te.event)
    tau = float(np.quantile(tr.time[tr.event == 1], 0.9))
    out["c_uno"] = metrics.concordance_uno(run.subject_risk, te.time, te.event, train_time=tr.time,
                                           train_event=tr.event, tau=tau)
    if split.recurrent and run.row_risk is not None:
        f = split.test.frame
        out["c_intervals"] = metrics.concordance_recurrent(run.row_risk, f["start"], f["stop"], f["event"])
    else:
        out["c_intervals"] = float("nan")
    kw = dict(train_time=tr.time, train_event=tr.event)
    if run.survival is not None:
        bs = metrics.brier_score(run.survival, split.times, te.time, te.event, **kw)
        out.update({f"brier_{t:g}": float(b) for t, b in zip(split.times, bs)})
        grid = np.unique(np.quantile(tr.time, np.linspace(0.05, 0.8, 20)))
        grid = grid[grid < te.time.max()]
        if run.survival_fn is not None and len(grid) >= 2:
            out["ibs"] = metrics.integrated_brier_score(run.survival_fn(grid), grid, te.time, te.event, **kw)
    return out


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
):
    """Fit every model on the same training subjects and score it on the same test subjects.

    Multi-event data (a :class:`~pysurvbridge.data.MultiEventData`, "rotterdam-multi" or
    "rotterdam-competing") go to :func:`pysurvbridge.multi_event_compare.compare_multi_event`
    (test_size 0.2 by default, ``validation_size`` and ``trajectories`` as it documents; the
    default models are cox-per-event, multistate-cox, deepsurv-per-event, mensa and the
    earlier-event-first reference) and return a ``MultiEventComparison``. Otherwise:

    Args:
        data: a RecurrentData, a SurvivalData, or "bladder1", "bladder", "cgd" (prepared as
            :func:`pysurvbridge.data.prepared` documents; bladder1 also supplies the LSTM-Cox
            paper's inputs for "lstm-cox-paper"), "rotterdam" (recurrence-free time, single
            event), "support" (SUPPORT, 9105 patients; its preprocessing is fitted on each
            split's training subjects only), or the image stand-ins "surv-digits" and "lesions"
            (for "coxvae" and "cox-embedding", a Cox model on CoxVAE's embedding).
        models: registry names ("cox", "ag", "wlw", "pwp-total", "pwp-gap", "deepsurv",
            "nnet-survival", "lstm-cox", "lstm-cox-paper"), :class:`ModelSpec` objects, or
            configured model objects (``LSTMCox(hidden_size=40)``, ``DeepSurv(hidden=(64,))``).
        split: "subject" (the only sound split for recurrent events: all rows of a subject on
            one side). test_size: fraction of subjects held out (default 0.3). seeds: a list of seeds, or a
            number n meaning seeds 0..n-1; several give mean and sd.
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

    A model that fails is reported in ``notes`` with its error; the others go on.
    """
    from pysurvbridge.models.training import progress_bar

    from pysurvbridge.data.events import MultiEventData
    from pysurvbridge.multi_event_compare import DEFAULT_MODELS, MULTI_DATASETS, compare_multi_event

    if isinstance(data, MultiEventData) or (isinstance(data, str) and data in MULTI_DATASETS):
        if times is not None or metrics is not None:
            raise InvalidParameterError("times and metrics are not options of the multi-event comparison "
                                        "(its metrics and grids are fixed; see multi_event_compare)")
        return compare_multi_event(data, DEFAULT_MODELS if models is None else models, trajectories=trajectories,
                                   test_size=0.2 if test_size is None else test_size,
                                   validation_size=validation_size, seeds=seeds, epochs=epochs, verbose=verbose)
    if models is None:
        models = ("cox", "ag", "wlw", "pwp-total", "lstm-cox")
    if test_size is None:
        test_size = 0.3
    if split != "subject":
        raise InvalidParameterError(f"split must be 'subject', but was {split!r}")
    if not 0 < test_size < 1:
        raise InvalidParameterError(f"test_size must be in (0, 1), but was {test_size!r}")
    seed_list = list(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not seed_list:
        raise InvalidParameterError("seeds must hold at least one seed")
    wanted = list(METRICS) if metrics is None else list(metrics)
    unknown = [m for m in wanted if m not in METRICS]
    if unknown:
        raise InvalidParameterError(f"unknown metrics {unknown}; choose from {list(METRICS)}")
    specs = [m if isinstance(m, ModelSpec) else spec_for(m) if isinstance(m, str) else spec_from_model(m)
             for m in models]
    if not specs:
        raise InvalidParameterError("models must name at least one model")
    data, leaky, dataset = _resolve_data(data)
    recurrent = isinstance(data, RecurrentData)
    notes: list[str] = []
    if recurrent:
        notes += [f"data: {n}" for n in data.notes]
    first_all = _first_event(data)
    grid = np.asarray(times, dtype=np.float64) if times is not None else _default_times(first_all)
    ids = _subjects(data)
    rows, runs = [], {}
    first_split, first_runs = None, {}
    bar = progress_bar(verbose, total=len(seed_list) * len(specs), desc="compare", leave=True)
    for seed in seed_list:
        order = np.random.default_rng(seed).permutation(len(ids))
        n_test = max(2, int(round(test_size * len(ids))))
        test_ids, train_ids = ids[order[:n_test]], ids[order[n_test:]]
        if dataset in PER_SPLIT:  # one row per subject: the rows of these ids in the raw data
            position = pd.Index(ids)
            train, test = PER_SPLIT[dataset](np.sort(position.get_indexer(train_ids)),
                                             np.sort(position.get_indexer(test_ids)))
        else:
            train, test = _subset(data, train_ids, ids), _subset(data, test_ids, ids)
        sp = Split(train, test, _first_event(train), _first_event(test), grid, seed, epochs,
                   _subset(leaky, train_ids, ids), _subset(leaky, test_ids, ids))
        for spec in specs:
            bar.set_postfix_str(f"seed {seed}: {spec.name}")
            row = {"model": spec.name, "family": spec.family, "seed": seed}

            def fit_and_score(spec=spec, sp=sp) -> tuple[dict, ModelRun]:
                if spec.needs_recurrent and not recurrent:
                    raise InvalidParameterError(f"{spec.name} needs recurrent-event data (a RecurrentData)")
                t0 = time.perf_counter()
                run = spec.run(sp)
                fields = {"fit_seconds": time.perf_counter() - t0, **_score(run, sp)}
                fields.update(engine=run.engine, protocol=run.protocol, aic=run.aic, aic_counts=run.aic_counts,
                              n_params=run.n_params)
                return fields, run
            run_isolated(row, runs, notes, spec.name, seed, fit_and_score)
            rows.append(row)
            bar.update(1)
        if first_split is None:
            first_split, first_runs = sp, dict(runs)
    bar.close()
    results = pd.DataFrame(rows)
    for _, r in results.dropna(subset=["error"]).iterrows() if "error" in results else []:
        notes.append(f"{r['model']} failed on seed {r['seed']}: {r['error']}")
    table = _summarise(results, wanted)
    if dataset in PER_SPLIT:
        notes.append(f"{dataset}: preprocessing (columns dropped for missingness, imputation values, one-hot levels) "
                     "fitted on each split's training subjects only, then applied to its test subjects")
    if recurrent and "aic" in wanted:
        notes.append("AIC: each model's likelihood uses its own response construction (time to first event, "
                     "(start, stop] rows, stratified layouts, subject time for lstm-cox-paper); AICs are not "
                     "comparable across models; k counts Cox coefficients only (see aic_counts)")
    if any(str(p).startswith("paper") for p in table.get("protocol", [])):
        notes.append("lstm-cox-paper uses the paper's leaky protocol: its inputs (stop, recur, rtumor, rsize) carry "
                     "the outcome; its numbers are not evidence of predictive skill")
    from pysurvbridge.crosscheck import check_split

    agreement, agreement_notes, alarms = check_split(first_split, first_runs, specs, requested=crosscheck,
                                                     reference=crosscheck_reference, label=crosscheck_label)
    result = Comparison(table, results, _dedupe(notes + agreement_notes), data, runs, grid, dataset, _definitions(),
                        sp, agreement)
    for text in alarms:  # visible, not only a note
        warnings.warn(text, StatisticalWarning, stacklevel=2)
    return result


def run_isolated(row: dict, runs: dict, notes: list[str], name: str, seed: int,
                 fit_and_score: Callable[[], tuple[dict, Any]]) -> None:
    """Run one (model, seed) into the caller's ``row``, ``runs`` and ``notes``:
    ``fit_and_score()`` returns (row fields, run). A failure becomes an ``error`` field (one
    failing model must not abort the others; the caller lists failures in its notes); every
    SurvBridgeWarning raised meanwhile becomes a note, as do the run's own notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurvBridgeWarning)
        try:
            fields, run = fit_and_score()
        except Exception as exc:  # reported in the notes by the caller
            fields, run = {"error": f"{type(exc).__name__}: {exc}"}, None
    row.update(fields)
    if run is not None:
        runs[name] = run
        notes += [n for n in run.notes if n not in notes]
    notes += [f"{name} (seed {seed}): {w.category.__name__}: {str(w.message)[:200]}"
              for w in caught if issubclass(w.category, SurvBridgeWarning)]


def _summarise(results: pd.DataFrame, wanted: list[str]) -> pd.DataFrame:
    metric_cols = [c for c in results.columns if c in ("c_harrell", "c_intervals", "c_uno", "ibs", "aic")
                   or c.startswith("brier_")]
    keep = [c for c in metric_cols if c in wanted or (c.startswith("brier_") and "brier" in wanted)]
    out = []
    for name, part in results.groupby("model", sort=False):
        ok = part.drop(columns=["error"], errors="ignore") if "error" not in part else part[part["error"].isna()]
        row = {"model": name, "family": part["family"].iloc[0],
               "engine": ok["engine"].iloc[0] if len(ok) and "engine" in ok else "",
               "protocol": ok["protocol"].iloc[0] if len(ok) and "protocol" in ok else "",
               "n_seeds": len(ok)}
        for c in keep:
            vals = pd.to_numeric(ok[c], errors="coerce") if c in ok else pd.Series(dtype=float)
            row[c] = vals.mean() if len(vals) else float("nan")
            row[f"{c}_sd"] = vals.std() if len(vals) > 1 else float("nan")
        if "aic" in wanted:
            row["aic_counts"] = ok["aic_counts"].iloc[0] if len(ok) and "aic_counts" in ok else ""
        row["n_params"] = ok["n_params"].iloc[0] if len(ok) and "n_params" in ok else None
        row["fit_seconds"] = ok["fit_seconds"].mean() if len(ok) and "fit_seconds" in ok else float("nan")
        out.append(row)
    table = pd.DataFrame(out)
    return table.sort_values("family", kind="stable", key=lambda s: s.map({"classical": 0, "deep": 1})).reset_index(drop=True)


def _dedupe(notes: list[str]) -> list[str]:
    return list(dict.fromkeys(notes))


def _definitions() -> dict[str, str]:
    return {
        "c_harrell": "Harrell's C of each test subject's first-interval risk on time to first event",
        "c_intervals": "counting-process C of each test interval's risk on Surv(start, stop, event) "
                       "(survival::concordance)",
        "c_uno": "Uno's C on time to first event, censoring weights from the training subjects, tau = 90% "
                 "quantile of training event times",
        "brier_<t>": "IPCW Brier score of P(no event by t) on time to first event (training censoring KM)",
        "ibs": "integrated IPCW Brier score over 20 times, 5% to 80% quantiles of training first-event times",
        "aic": "training fit: -2 log partial likelihood + 2k (k in aic_counts); not comparable across models",
    }
