"""The Verdict: what the paired differences of a comparison allow one to conclude, first in
every report (HTML, Markdown, LaTeX) and in the CLI.

Per model, one sentence built from the numbers alone, e.g. "deepsurv (tuned) vs cox (untuned:
nothing to tune), Harrell's C: +0.004 (95% CI -0.012 to +0.020; corrected t over 10 splits)
- no difference shown." A model is called better only when the 95% interval excludes 0. A
calibration sentence (ICI) follows for models with survival curves, a forest plot per metric
shows every difference with its interval, and the caveats that weaken the verdict close it.
"""
from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["sentences", "caveats", "verdict_markdown", "verdict_latex", "verdict_html", "metric_label",
           "PRIMARY", "forest"]

#: the metric each kind of comparison states its verdict on
PRIMARY = {"single": "c_harrell", "multi-event": "c_global"}
LABELS = {"c_harrell": "Harrell's C", "c_uno": "Uno's C", "c_intervals": "counting-process C", "ibs": "IBS",
          "c_global": "global C", "c_local": "local C", "mae_margin": "margin MAE"}


def metric_label(metric: str) -> str:
    """A reader's name for a column: "Harrell's C", "Brier score at 365", "ICI at 365", ..."""
    if metric in LABELS:
        return LABELS[metric]
    for prefix, label in (("brier_", "Brier score at "), ("ici_", "ICI at "), ("ibs_", "IBS of "),
                          ("mae_margin_", "margin MAE of "), ("c_harrell_", "Harrell's C of ")):
        if metric.startswith(prefix):
            return label + metric[len(prefix):]
    return metric


def _kind(result: Any) -> str:
    return "multi-event" if hasattr(result, "event_names") else "single"


def _status(result: Any, model: str) -> str:
    res = result.results
    part = res[res["model"] == model]
    tuned = "tuned_params" in part and part["tuned_params"].notna().any()
    family = part["family"].iloc[0] if len(part) else ""
    if tuned:
        return "tuned"
    return "untuned: nothing to tune" if family in ("classical", "reference") else "untuned"


def _method(row: pd.Series, result: Any) -> str:
    if row["method"].startswith("corrected"):
        return f"corrected t over {int(row['n_splits'])} splits"
    if row["method"].startswith("paired bootstrap"):
        n = len(result.split.test_first) if _kind(result) == "single" else len(result.split.test)
        return f"paired bootstrap over {n} test subjects of 1 split"
    return row["method"] or "no interval"


def _conclusion(row: pd.Series) -> str:
    if row["better"] == "model":
        return f"{row['model']} better"
    if row["better"] == "reference":
        return f"{row['reference']} better"
    return "no difference shown"


def _sentence(row: pd.Series, result: Any) -> str:
    model, ref = row["model"], row["reference"]
    head = f"{model} ({_status(result, model)}) vs {ref} ({_status(result, ref)}), {metric_label(row['metric'])}"
    if not np.isfinite(row["estimate"]):
        return f"{head}: not estimable (no split where both ran)."
    if not np.isfinite(row["ci_low"]):
        return f"{head}: {row['estimate']:+.3f} ({_method(row, result)}) — no interval, so no conclusion."
    return (f"{head}: {row['estimate']:+.3f} (95% CI {row['ci_low']:+.3f} to {row['ci_high']:+.3f}; "
            f"{_method(row, result)}) — {_conclusion(row)}.")


def _middle_ici(diff: pd.DataFrame) -> str | None:
    ici = sorted({m for m in diff["metric"] if m.startswith("ici_")}, key=lambda m: float(m.split("_", 1)[1]))
    return ici[len(ici) // 2] if ici else None


def sentences(result: Any) -> list[str]:
    """One sentence per model on the primary metric, then one on calibration (ICI at the
    middle Brier time) for models with survival curves."""
    diff = result.differences
    if diff is None or diff.empty:
        return []
    primary = PRIMARY[_kind(result)]
    out = [_sentence(row, result) for _, row in diff[diff["metric"] == primary].iterrows()]
    ici = _middle_ici(diff)
    if ici is not None:
        out += [_sentence(row, result).replace(f", {metric_label(ici)}:", f", calibration ({metric_label(ici)}, "
                                                                          "lower is better):")
                for _, row in diff[diff["metric"] == ici].iterrows() if np.isfinite(row["estimate"])]
    return out


def caveats(result: Any) -> list[str]:
    """What weakens the verdict: few splits, untuned deep models, failed fits, the leaky protocol."""
    out = []
    res = result.results
    n = res["seed"].nunique()
    if n < 5:
        out.append(f"only {n} split{'s' if n != 1 else ''}: " + ("the intervals come from a bootstrap over one test "
                   "set and leave out the variation between training sets" if n == 1 else
                   "the corrected t intervals are wide and rough") + "; 5 or more seeds are better")
    untuned = [m for m in dict.fromkeys(res["model"]) if _status(result, m) == "untuned"
               and (res.loc[res["model"] == m, "family"] == "deep").any()]
    if untuned:
        out.append(f"untuned deep models ({', '.join(untuned)}): their defaults may not suit these data; "
                   "tune='default' gives every deep model the same tuning budget")
    if "error" in res:
        failed = sorted(set(res.loc[res["error"].notna(), "model"]))
        if failed:
            out.append(f"failed on some splits: {', '.join(failed)} (their differences use the splits where they ran)")
    if "protocol" in res and res["protocol"].astype(str).str.startswith("paper").any():
        out.append("lstm-cox-paper uses the paper's leaky protocol: its scores are not evidence of predictive skill")
    return out


def _table(result: Any) -> pd.DataFrame:
    diff = result.differences
    fmt = lambda v, spec: "" if not np.isfinite(v) else format(v, spec)  # noqa: E731
    return pd.DataFrame({
        "model": diff["model"], "metric": [metric_label(m) for m in diff["metric"]],
        "difference": [fmt(v, "+.3f") for v in diff["estimate"]],
        "95% CI": ["" if not np.isfinite(lo) else f"{lo:+.3f} to {hi:+.3f}" for lo, hi in zip(diff["ci_low"], diff["ci_high"])],
        "p": [fmt(v, ".3g") for v in diff["p_value"]], "p (Holm)": [fmt(v, ".3g") for v in diff["p_adjusted"]],
        "splits": diff["n_splits"].astype(int).astype(str), "better": diff["better"]})


def verdict_markdown(result: Any) -> str:
    """The Verdict as Markdown ("" without differences)."""
    if result.differences is None or result.differences.empty:
        return ""
    lines = ["## Verdict", "", *[f"- {s}" for s in sentences(result)], ""]
    lines += [f"Differences from {result.reference} (model minus reference, same test subjects):", ""]
    t = _table(result)
    lines += ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in t.itertuples(index=False)]
    lines += ["", *[f"Caveat: {c}." for c in caveats(result)]]
    return "\n".join(lines).rstrip() + "\n"


def _tex(text: str) -> str:
    return (str(text).replace("\\", r"\textbackslash{}").replace("&", r"\&").replace("%", r"\%")
            .replace("_", r"\_").replace("#", r"\#").replace("—", "---").replace("±", r"$\pm$"))


def verdict_latex(result: Any) -> str:
    """The Verdict as LaTeX: a paragraph of sentences, the differences as a tabular, the caveats."""
    if result.differences is None or result.differences.empty:
        return ""
    out = [r"\paragraph{Verdict}", r"\begin{itemize}"]
    out += [rf"\item {_tex(s)}" for s in sentences(result)] + [r"\end{itemize}"]
    t = _table(result)
    out += [r"\begin{tabular}{ll" + "r" * (len(t.columns) - 2) + "}", r"\hline", " & ".join(_tex(c) for c in t.columns)
            + r" \\", r"\hline"]
    out += [" & ".join(_tex(v) for v in row) + r" \\" for row in t.itertuples(index=False)]
    out += [r"\hline", r"\end{tabular}"]
    out += [rf"\par\noindent Caveat: {_tex(c)}." for c in caveats(result)]
    return "\n".join(out) + "\n"


def _forest_metrics(result: Any) -> list[str]:
    metrics = list(dict.fromkeys(result.differences["metric"]))
    if _kind(result) == "single":
        keep = ["c_harrell", "c_uno", "c_intervals", "ibs"] + [m for m in metrics if m.startswith("ici_")]
    else:
        keep = ["c_global", "c_local", "ibs", "mae_margin"]
    return [m for m in keep if m in metrics and result.differences.loc[result.differences["metric"] == m,
                                                                        "estimate"].notna().any()]


def forest(result: Any):
    """One panel per metric: each model's difference from the reference with its 95% interval
    (green: the model better, red: the reference better, grey: no difference shown)."""
    from matplotlib.figure import Figure

    metrics = _forest_metrics(result)
    if not metrics:
        return None
    diff = result.differences
    models = list(dict.fromkeys(diff["model"]))
    cols = min(3, len(metrics))
    rows = int(np.ceil(len(metrics) / cols))
    fig = Figure(figsize=(4.3 * cols, 0.6 + (0.45 * len(models) + 0.9) * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    colour = {"model": "tab:green", "reference": "tab:red", "neither": "grey"}
    for ax, metric in zip(axes, metrics):
        part = diff[diff["metric"] == metric].set_index("model").reindex(models)
        y = np.arange(len(models))[::-1]
        for yi, (name, row) in zip(y, part.iterrows()):
            if not np.isfinite(row["estimate"]):
                continue
            lo = row["ci_low"] if np.isfinite(row["ci_low"]) else row["estimate"]
            hi = row["ci_high"] if np.isfinite(row["ci_high"]) else row["estimate"]
            ax.errorbar(row["estimate"], yi, xerr=[[row["estimate"] - lo], [hi - row["estimate"]]], fmt="o", ms=4,
                        capsize=3, color=colour.get(row["better"], "grey"))
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_yticks(y, models)
        better = "higher" if not metric.startswith(("ibs", "brier_", "ici_", "mae_margin")) else "lower"
        ax.set_title(f"{metric_label(metric)} ({better} is better)", fontsize="medium")
        ax.set_xlabel(f"minus {result.reference}")
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(f"Differences from {result.reference} with 95% intervals")
    return fig


def verdict_html(result: Any) -> str:
    """The Verdict section of an HTML report ("" without differences)."""
    from pysurvbridge.report.page import figure_html

    if result.differences is None or result.differences.empty:
        return ""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences(result))
    parts = [f'<h2 id="verdict">Verdict</h2><ul class="verdict">{items}</ul>']
    fig = forest(result)
    if fig is not None:
        parts.append(figure_html("Differences from the reference", fig,
                                 "Each model minus the reference on the same test subjects; bars are 95% intervals "
                                 "(corrected resampled t over splits, or a paired bootstrap over the test subjects of "
                                 "one split). Green: the model better; red: the reference better; grey: no "
                                 "difference shown."))
    t = _table(result)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f'<td class="t">{html.escape(str(v))}</td>' if i in (0, 1, 7) else
                                    f"<td>{html.escape(str(v))}</td>" for i, v in enumerate(row)) + "</tr>"
                   for row in t.itertuples(index=False))
    parts.append(f'<details><summary>All differences from {html.escape(str(result.reference))}</summary>'
                 f'<table id="differences"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>')
    cav = caveats(result)
    if cav:
        parts.append('<ul class="caveats">' + "".join(f'<li class="note">Caveat: {html.escape(c)}.</li>' for c in cav)
                     + "</ul>")
    return "".join(parts)
