"""``compare()`` on multi-event data: classical, deep and reference models on the same
subjects, the same splits and the same metrics (MENSA's appendix B).

Definitions (each column of :attr:`MultiEventComparison.table`; the report prints them):

- ``c_harrell_<event>``: Harrell's C of minus the predicted median time of that event.
- ``c_global``: the mean of the per-event C (eq. 10); ``c_local``: the within-subject C over
  event types (eq. 11), both on predicted median times.
- ``ibs_<event>``: integrated IPCW Brier score over 50 equally spaced times up to the 90%
  quantile of that event's training times, censoring weights from that event's *own*
  training times; ``ibs``: the mean over events.
- ``mae_margin_<event>``: MAE of the predicted median against the observed time, censored
  subjects at their margin time from that event's own training Kaplan-Meier; ``mae_margin``:
  the mean over events.
- ``dcal_p_<event>``: D-calibration p-value (10 bins); ``dcal``: the count of (seed, event)
  pairs with p > 0.05, as the paper's "17/20".
- Medians come from every model's curves on one grid (200 points to the largest training
  time) by :func:`pysurvbridge.metrics.median_time` (linear between points, linear tail).
"""
from __future__ import annotations

import time as clock
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from pysurvbridge.compare import TableReport, run_isolated
from pysurvbridge.data.events import MultiEventData, topological_order
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.multi_event_registry import (
    MultiModelSpec,
    MultiRun,
    MultiSplit,
    multi_spec_for,
    multi_spec_from_model,
)

__all__ = ["compare_multi_event", "MultiEventComparison", "stratified_split", "MULTI_DATASETS"]

#: data set name -> (loader, known orderings by event name, competing risks?)
MULTI_DATASETS = {
    "rotterdam-multi": ("rotterdam_multi_event", (("recurrence", "death"),), False),
    "rotterdam-competing": ("rotterdam_competing", (), True),
}
DEFAULT_MODELS = ("cox-per-event", "multistate-cox", "deepsurv-per-event", "mensa", "earlier-event-first")
MEDIAN_GRID_POINTS = 200
IBS_POINTS = 50


@dataclass(eq=False)
class MultiEventComparison(TableReport):
    """Result of :func:`compare_multi_event`: ``table`` (one row per model, means over seeds
    and ``<column>_sd``), ``results`` (one row per model and seed), ``notes``, ``data``,
    ``runs`` and ``split`` (the last seed's, for the plots), ``definitions``."""

    table: pd.DataFrame
    results: pd.DataFrame
    notes: list[str]
    data: MultiEventData
    runs: dict[str, MultiRun]
    split: MultiSplit
    dataset: str = "data"
    definitions: dict[str, str] = field(default_factory=dict)
    keep_column_order = True  # summary columns, then per event, then size and time

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(self.data.event_names)

    def _render_html(self) -> str:
        """Table by family, predicted P(event by t) against the Aalen-Johansen / Kaplan-Meier
        estimates, global and local C with the local-C floor, definitions, notes."""
        from pysurvbridge.report_multi_event import html_multi_event_report

        return html_multi_event_report(self)

    def __repr__(self) -> str:
        return f"MultiEventComparison({len(self.table)} models)\n{self.to_markdown()}"


def stratified_split(pattern: np.ndarray, test_size: float, validation_size: float, seed: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) sorted row positions; within each value of ``pattern`` (the
    observed-event pattern) a seeded shuffle puts round(share x size) rows in test and
    validation (the paper's stratification on the event indicators)."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for value in np.unique(pattern):
        rows = rng.permutation(np.flatnonzero(pattern == value))
        n_test, n_val = int(round(test_size * len(rows))), int(round(validation_size * len(rows)))
        parts[2].append(rows[:n_test])
        parts[1].append(rows[n_test:n_test + n_val])
        parts[0].append(rows[n_test + n_val:])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)


def _resolve(data, trajectories, competing):
    if isinstance(data, str):
        from pysurvbridge.data import datasets

        if data not in MULTI_DATASETS:
            raise InvalidParameterError(f"multi-event data set {data!r} is unknown; choose from {list(MULTI_DATASETS)}")
        loader, known, is_competing = MULTI_DATASETS[data]
        return (getattr(datasets, loader)(), known if trajectories is None else trajectories,
                is_competing if competing is None else competing, data)
    if not isinstance(data, MultiEventData):
        raise InvalidParameterError(f"data must be a MultiEventData or a data set name, but was {type(data).__name__}")
    return data, trajectories or (), bool(competing), "data"


def _index_pairs(data: MultiEventData, trajectories) -> tuple[tuple[int, int], ...]:
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


def _risk_from_median(median: np.ndarray) -> np.ndarray:
    """Minus the median (higher = earlier); a median of +inf ranks last (finite stand-in)."""
    return np.where(np.isinf(median), -np.finfo(np.float64).max, -median)


def _score(run: MultiRun, split: MultiSplit) -> dict[str, float]:
    from pysurvbridge import metrics

    tr, te = split.train, split.test
    names = te.event_names
    K = te.n_event_types
    grid = np.linspace(0.0, float(tr.times.max()), MEDIAN_GRID_POINTS + 1)[1:]
    S_grid = run.survival_fn(grid)
    median = np.column_stack([metrics.median_time(S_grid[:, k], grid) for k in range(K)])
    risk = run.risk if run.risk is not None else _risk_from_median(median)
    out: dict[str, float] = {}
    c_global, per_event = metrics.concordance_global(risk, te.times, te.events, return_per_event=True)
    out["c_global"] = c_global
    out["c_local"] = metrics.concordance_local(risk, te.times, te.events) if K > 1 else float("nan")
    ibs, mae = [], []
    for k, name in enumerate(names):
        t_k, e_k = te.times[:, k], te.events[:, k]
        kw = dict(train_time=tr.times[:, k], train_event=tr.events[:, k])
        out[f"c_harrell_{name}"] = float(per_event[k])
        horizon = min(float(np.quantile(tr.times[:, k], 0.9)), float(t_k.max()))
        ibs_grid = np.linspace(horizon / IBS_POINTS, horizon, IBS_POINTS)
        out[f"ibs_{name}"] = metrics.integrated_brier_score(run.survival_fn(ibs_grid)[:, k], ibs_grid, t_k, e_k, **kw)
        out[f"mae_margin_{name}"] = metrics.mae_margin(median[:, k], t_k, e_k, **kw)
        own, position = np.unique(t_k, return_inverse=True)
        s_own = run.survival_fn(own)[np.arange(len(t_k)), k, position]
        out[f"dcal_p_{name}"] = metrics.d_calibration(np.clip(s_own, 0.0, 1.0), e_k).p_value
        ibs.append(out[f"ibs_{name}"])
        mae.append(out[f"mae_margin_{name}"])
    out["ibs"], out["mae_margin"] = float(np.mean(ibs)), float(np.mean(mae))
    return out


def compare_multi_event(
    data,
    models: Sequence[str | MultiModelSpec] = DEFAULT_MODELS,
    *,
    trajectories: Sequence[tuple] | None = None,
    competing: bool | None = None,
    test_size: float = 0.2,
    validation_size: float = 0.1,
    seeds: Sequence[int] | int = (0,),
    epochs: int | None = None,
    verbose: bool = True,
) -> MultiEventComparison:
    """Fit every model on the same training subjects and score it on the same test subjects.

    Args:
        data: a :class:`MultiEventData`, "rotterdam-multi" (recurrence and death, ordering
            recurrence -> death) or "rotterdam-competing" (recurrence-free survival: recurrence
            vs death without recurrence).
        models: names ("cox-per-event", "multistate-cox", "deepsurv-per-event", "mensa",
            "mensa-no-trajectory", "earlier-event-first"), specs, or configured MENSA objects.
        trajectories: known orderings (A, B) by event name or index (default: the data set's).
        competing: the events are exclusive causes at one time (default: the data set's).
        test_size, validation_size: shares of all subjects, split within each observed-event
            pattern (stratified, as the paper's 70/10/20); the validation part is used only
            for early stopping of the deep models; every model trains on the same training part.
        seeds: a list, or n meaning 0..n-1. epochs: a cap on the deep models' epochs (default:
            up to 1000 with early stopping, patience 10).
    """
    from pysurvbridge.models.training import progress_bar

    for name, share in (("test_size", test_size), ("validation_size", validation_size)):
        if not 0 <= share < 1:
            raise InvalidParameterError(f"{name} must be in [0, 1), but was {share!r}")
    if test_size == 0 or test_size + validation_size >= 1:
        raise InvalidParameterError(f"test_size + validation_size must leave training subjects and test_size > 0; "
                                    f"got {test_size} and {validation_size}")
    seed_list = list(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not seed_list:
        raise InvalidParameterError("seeds must hold at least one seed")
    data, trajectories, competing, dataset = _resolve(data, trajectories, competing)
    pairs = _index_pairs(data, trajectories)
    specs = [m if isinstance(m, MultiModelSpec) else multi_spec_for(m) if isinstance(m, str)
             else multi_spec_from_model(m) for m in models]
    if not specs:
        raise InvalidParameterError("models must name at least one model")
    notes: list[str] = []
    rows, runs = [], {}
    split = None
    bar = progress_bar(verbose, total=len(seed_list) * len(specs), desc="compare", leave=True)
    for seed in seed_list:
        tr_rows, va_rows, te_rows = stratified_split(data.event_pattern(), test_size, validation_size, seed)
        split = MultiSplit(data.subset(tr_rows), data.subset(va_rows) if len(va_rows) else None,
                           data.subset(te_rows), seed, pairs, epochs, competing)
        for spec in specs:
            bar.set_postfix_str(f"seed {seed}: {spec.name}")
            row = {"model": spec.name, "family": spec.family, "seed": seed}

            def fit_and_score(spec=spec, split=split) -> tuple[dict, MultiRun]:
                t0 = clock.perf_counter()
                run = spec.run(split)
                fields = {"fit_seconds": clock.perf_counter() - t0, **_score(run, split)}
                fields.update(engine=run.engine, n_params=run.n_params, flops=run.flops)
                return fields, run
            run_isolated(row, runs, notes, spec.name, seed, fit_and_score)
            rows.append(row)
            bar.update(1)
    bar.close()
    results = pd.DataFrame(rows)
    if "error" in results:
        notes += [f"{r['model']} failed on seed {r['seed']}: {r['error']}"
                  for _, r in results.dropna(subset=["error"]).iterrows()]
    notes += _standing_notes(data, specs, competing, validation_size)
    table = _summarise(results, data.event_names)
    return MultiEventComparison(table, results, list(dict.fromkeys(notes)), data, runs, split, dataset,
                                _definitions())


def _standing_notes(data: MultiEventData, specs, competing: bool, validation_size: float) -> list[str]:
    names = {s.name for s in specs}
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


def _summarise(results: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    metric_cols = ["c_global", "c_local", "ibs", "mae_margin"]
    per_event = [f"{m}_{n}" for n in names for m in ("c_harrell", "ibs", "mae_margin", "dcal_p")]
    out = []
    for model, part in results.groupby("model", sort=False):
        ok = part[part["error"].isna()] if "error" in part else part
        row = {"model": model, "family": part["family"].iloc[0],
               "engine": ok["engine"].iloc[0] if len(ok) else "", "n_seeds": len(ok)}
        for c in metric_cols + per_event:
            vals = pd.to_numeric(ok[c], errors="coerce") if c in ok else pd.Series(dtype=float)
            row[c] = vals.mean() if len(vals) else float("nan")
            if c in metric_cols:
                row[f"{c}_sd"] = vals.std() if len(vals) > 1 else float("nan")
        pvals = ok[[f"dcal_p_{n}" for n in names if f"dcal_p_{n}" in ok]].to_numpy(dtype=float)
        row["dcal"] = f"{int((pvals > 0.05).sum())}/{pvals.size}"
        row = {**{k: v for k, v in row.items() if k not in per_event}, **{c: row[c] for c in per_event}}
        for c in ("n_params", "flops"):
            row[c] = ok[c].iloc[0] if len(ok) and c in ok else None
        row["fit_seconds"] = ok["fit_seconds"].mean() if len(ok) and "fit_seconds" in ok else float("nan")
        out.append(row)
    order = {"classical": 0, "deep": 1, "reference": 2}
    table = pd.DataFrame(out)
    return table.sort_values("family", kind="stable", key=lambda s: s.map(order)).reset_index(drop=True)


def _definitions() -> dict[str, str]:
    return {
        "c_harrell_<event>": "Harrell's C of minus the predicted median time of the event",
        "c_global": "mean over events of the per-event Harrell's C (MENSA eq. 10)",
        "c_local": "within-subject C over event types on predicted medians (MENSA eq. 11)",
        "ibs_<event>, ibs": f"integrated IPCW Brier score, {IBS_POINTS} times up to the 90% quantile of the event's "
                            "training times, the event's own training censoring; ibs = mean over events",
        "mae_margin_<event>, mae_margin": "MAE of the predicted median, censored subjects at their margin time "
                                          "(the event's own training Kaplan-Meier); mean over events",
        "dcal_p_<event>, dcal": "D-calibration p-value (10 bins); dcal = (seed, event) pairs with p > 0.05",
        "median": f"from each model's curves on {MEDIAN_GRID_POINTS} times to the largest training time, linear "
                  "between points, linear tail through (0, 1) (metrics.median_time)",
    }
