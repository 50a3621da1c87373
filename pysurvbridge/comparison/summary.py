"""From one row per (model, seed) to one row per model: means over the seeds where the model
ran, ``<column>_sd``, ``n_seeds``, the run's facts from its first successful seed and the mean
fit time; rows ordered by family (classical, deep, reference), models in their given order."""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

__all__ = ["summarise_single", "summarise_multi_event", "FAMILY_ORDER"]

FAMILY_ORDER = {"classical": 0, "deep": 1, "reference": 2}
SINGLE_COLUMNS = ("c_harrell", "c_intervals", "c_uno", "ibs", "aic")
MULTI_EVENT_SUMMARY = ("c_global", "c_local", "ibs", "mae_margin")
MULTI_EVENT_PER_EVENT = ("c_harrell", "ibs", "mae_margin", "dcal_p")


def _succeeded(part: pd.DataFrame) -> pd.DataFrame:
    return part[part["error"].isna()] if "error" in part else part


def _first(ok: pd.DataFrame, column: str, default: Any) -> Any:
    return ok[column].iloc[0] if len(ok) and column in ok else default


def _values(ok: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(ok[column], errors="coerce") if column in ok else pd.Series(dtype=float)


def _mean(values: pd.Series) -> float:
    return values.mean() if len(values) else float("nan")


def _sd(values: pd.Series) -> float:
    return values.std() if len(values) > 1 else float("nan")


def _mean_fit_seconds(ok: pd.DataFrame) -> float:
    return ok["fit_seconds"].mean() if len(ok) and "fit_seconds" in ok else float("nan")


def _tuning_columns(ok: pd.DataFrame) -> dict[str, Any]:
    """``tuned_params``: the configuration chosen most often over the seeds (JSON, with how
    often) or "" when untuned; ``tune_seconds``: the total tuning time."""
    import json

    if "tuned_params" not in ok or not ok["tuned_params"].notna().any():
        return {"tuned_params": "", "tune_seconds": float("nan")}
    chosen = [json.dumps(p, sort_keys=True) for p in ok["tuned_params"] if p is not None]
    counts = pd.Series(chosen).value_counts(sort=True)
    top = counts.index[0]
    return {"tuned_params": f"{top} ({counts.iloc[0]}/{len(chosen)} seeds)",
            "tune_seconds": float(pd.to_numeric(ok["tune_seconds"], errors="coerce").sum())}


def _by_family(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    return table.sort_values("family", kind="stable", key=lambda s: s.map(FAMILY_ORDER)).reset_index(drop=True)


def summarise_single(results: pd.DataFrame, wanted: Sequence[str]) -> pd.DataFrame:
    """The single-event / recurrent table: the metric columns among ``wanted`` ("brier" keeps
    every ``brier_<t>``, "ici" every ``ici_<t>``), then aic_counts (with "aic"), n_params,
    fit_seconds."""
    metric_cols = [c for c in results.columns if c in SINGLE_COLUMNS or c.startswith(("brier_", "ici_"))]
    keep = [c for c in metric_cols if c in wanted or (c.startswith("brier_") and "brier" in wanted)
            or (c.startswith("ici_") and "ici" in wanted)]
    out = []
    for name, part in results.groupby("model", sort=False):
        ok = _succeeded(part)
        row = {"model": name, "family": part["family"].iloc[0], "engine": _first(ok, "engine", ""),
               "protocol": _first(ok, "protocol", ""), "n_seeds": len(ok)}
        for c in keep:
            values = _values(ok, c)
            row[c], row[f"{c}_sd"] = _mean(values), _sd(values)
        if "aic" in wanted:
            row["aic_counts"] = _first(ok, "aic_counts", "")
        row["n_params"] = _first(ok, "n_params", None)
        row["fit_seconds"] = _mean_fit_seconds(ok)
        row.update(_tuning_columns(ok))
        out.append(row)
    return _by_family(out)


def summarise_multi_event(results: pd.DataFrame, event_names: Sequence[str]) -> pd.DataFrame:
    """The multi-event table: the summary metrics with their SDs, ``dcal`` ("passed/pairs" of
    D-calibration p > 0.05), each event's columns, then n_params, flops, fit_seconds."""
    per_event = [f"{m}_{n}" for n in event_names for m in MULTI_EVENT_PER_EVENT]
    out = []
    for model, part in results.groupby("model", sort=False):
        ok = _succeeded(part)
        row = {"model": model, "family": part["family"].iloc[0], "engine": _first(ok, "engine", ""),
               "n_seeds": len(ok)}
        for c in MULTI_EVENT_SUMMARY:
            values = _values(ok, c)
            row[c], row[f"{c}_sd"] = _mean(values), _sd(values)
        pvals = ok[[f"dcal_p_{n}" for n in event_names if f"dcal_p_{n}" in ok]].to_numpy(dtype=float)
        row["dcal"] = f"{int((pvals > 0.05).sum())}/{pvals.size}"
        for c in per_event:
            row[c] = _mean(_values(ok, c))
        for c in ("n_params", "flops"):
            row[c] = _first(ok, c, None)
        row["fit_seconds"] = _mean_fit_seconds(ok)
        row.update(_tuning_columns(ok))
        out.append(row)
    return _by_family(out)

