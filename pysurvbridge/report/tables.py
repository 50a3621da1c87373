"""The comparison table as text: each metric as "mean ± sd" over seeds, in Markdown and LaTeX
(the HTML pages use :func:`display_table` too)."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["display_table", "markdown_table", "latex_table", "SHOWN"]

SHOWN = ["model", "family", "engine", "protocol", "c_harrell", "c_intervals", "c_uno", "ibs", "aic",
         "aic_counts", "n_params", "fit_seconds"]


def display_table(table: pd.DataFrame, digits: int = 3, *, keep_order: bool = False) -> pd.DataFrame:
    """Metric columns as 'mean ± sd' strings (sd omitted with one seed); text columns as is.
    Columns follow SHOWN, then the rest, unless ``keep_order`` (the table's own order)."""
    untuned = "tuned_params" not in table or not table["tuned_params"].astype(str).str.len().gt(0).any()
    cols = [c for c in table.columns if not c.endswith("_sd") and c != "n_seeds"
            and not (untuned and c in ("tuned_params", "tune_seconds"))]
    order = cols if keep_order else [c for c in SHOWN if c in cols] + [c for c in cols if c not in SHOWN]
    by_time = (lambda prefix: sorted([c for c in order if c.startswith(prefix)], key=lambda c: float(c.split("_", 1)[1])))
    brier, ici = by_time("brier_"), by_time("ici_")
    order = [c for c in order if not c.startswith(("brier_", "ici_"))]
    order[order.index("ibs") if "ibs" in order else len(order):0] = brier
    order[order.index("ibs") + 1 if "ibs" in order else len(order):0] = ici  # calibration after discrimination and Brier
    out = pd.DataFrame(index=table.index)
    for c in order:
        if c in ("model", "family", "engine", "protocol", "aic_counts", "dcal", "tuned_params"):
            out[c] = table[c].fillna("").astype(str)
        elif c in ("n_params", "flops"):
            out[c] = table[c].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(int(v)))
        elif c in ("fit_seconds", "tune_seconds"):
            out[c] = table[c].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        else:
            sd = table.get(f"{c}_sd")
            d = 1 if c == "aic" else digits
            out[c] = [("" if pd.isna(m) else f"{m:.{d}f}" + ("" if sd is None or pd.isna(s) else f" ± {s:.{d}f}"))
                      for m, s in zip(table[c], sd if sd is not None else [np.nan] * len(table))]
    return out


def markdown_table(table: pd.DataFrame, digits: int = 3, *, keep_order: bool = False) -> str:
    t = display_table(table, digits, keep_order=keep_order)
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join(lines)


def latex_table(table: pd.DataFrame, digits: int = 3, *, keep_order: bool = False) -> str:
    t = display_table(table, digits, keep_order=keep_order).drop(columns=["aic_counts", "protocol"], errors="ignore")
    esc = lambda s: str(s).replace("\\", r"\textbackslash{}").replace("&", r"\&").replace("%", r"\%").replace(  # noqa: E731
        "_", r"\_").replace("#", r"\#").replace("±", r"$\pm$")
    lines = [r"\begin{tabular}{" + "l" * 3 + "r" * (len(t.columns) - 3) + "}", r"\hline",
             " & ".join(esc(c) for c in t.columns) + r" \\", r"\hline"]
    lines += [" & ".join(esc(v) for v in row) + r" \\" for row in t.itertuples(index=False)]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)
