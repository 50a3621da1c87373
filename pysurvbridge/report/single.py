"""The HTML report of a single-event or recurrent :class:`Comparison`: the table by family,
concordance bars, the classical fits' hazard ratios, mean cumulative functions, predicted
survival against Kaplan-Meier, calibration, definitions, the agreement between engines and the
notes."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from pysurvbridge.comparison.result import Comparison
from pysurvbridge.report.page import agreement_html, definitions_html, figure_html, notes_html, page
from pysurvbridge.report.tables import display_table
from pysurvbridge.report.verdict import verdict_html

__all__ = ["html_report", "calibration_table"]


# ---------------------------------------------------------------------- plots
def _forest(comp: Comparison):
    import matplotlib.pyplot as plt

    fits = {n: p.hazard_ratios for n, p in comp.predictions.items() if p.hazard_ratios is not None}
    if not fits:
        return None
    covs = list(dict.fromkeys(c for f in fits.values() for c in f.index))
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(covs) * max(1, len(fits)) ** 0.5))
    width = 0.8 / len(fits)
    for k, (name, f) in enumerate(fits.items()):
        coef, se = f["coef"].to_numpy(), f["robust_se"].to_numpy()
        y = np.array([covs.index(c) for c in f.index]) + (k - (len(fits) - 1) / 2) * width
        lo, hi = np.exp(coef - 1.96 * se), np.exp(coef + 1.96 * se)
        ax.errorbar(np.exp(coef), y, xerr=[np.exp(coef) - lo, hi - np.exp(coef)], fmt="o", ms=4,
                    capsize=2, label=name)
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(covs)), covs)
    ax.invert_yaxis()
    ax.set_xlabel("hazard ratio (95% CI, robust SE; last seed's training fit)")
    ax.legend(fontsize="small")
    ax.set_title("Classical fits: hazard ratios")
    return fig


def _arm_of(data) -> pd.Series | None:
    """id -> group from one-hot 'name[level]' covariates (reference level for all zeros)."""
    one_hot = [c for c in data.covariates if "[" in c and c.endswith("]")]
    if not one_hot:
        return None
    prefix = one_hot[0].split("[")[0]
    cols = [c for c in one_hot if c.startswith(prefix + "[")]
    first = data.frame.groupby("id", sort=False)[cols].first()
    labels = np.where(first.to_numpy().any(axis=1), np.array([c[len(prefix) + 1:-1] for c in cols])[
        first.to_numpy().argmax(axis=1)], "reference")
    return pd.Series(labels, index=first.index, name=prefix)


def _mcf(comp: Comparison):
    from pysurvbridge.classical.mcf import mean_cumulative_function
    from pysurvbridge.data.recurrent import RecurrentData

    if not isinstance(comp.data, RecurrentData):
        return None
    arm = _arm_of(comp.data)
    mcf = mean_cumulative_function(comp.data, by=arm) if arm is not None else mean_cumulative_function(comp.data)
    ax = mcf.plot()
    ax.set_title("Mean cumulative number of events" + (f" by {arm.name}" if arm is not None else ""))
    return ax.figure


def _survival(comp: Comparison):
    import matplotlib.pyplot as plt

    from pysurvbridge.metrics import kaplan_meier

    curves = {n: p for n, p in comp.predictions.items() if p.plot_mean is not None}
    if not curves:
        return None
    first = comp.data.first_event() if hasattr(comp.data, "first_event") else comp.data
    grid = next(iter(curves.values())).plot_grid
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.step(grid, kaplan_meier(first.time, first.event, grid), where="post", color="black", lw=2,
            label="Kaplan-Meier (all subjects)")
    for name, pred in curves.items():
        ax.plot(pred.plot_grid, pred.plot_mean, label=f"{name} (mean over test subjects)")
    return _finish_survival_axes(ax, "Predicted survival to first event (last seed)")


def _bands(comp: Comparison):
    """Each classical fit's curve for the average test subject with its 95% band."""
    import matplotlib.pyplot as plt

    bands = {n: p for n, p in comp.predictions.items() if getattr(p, "plot_band", None) is not None}
    if not bands:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, pred in bands.items():
        surv, lower, upper = pred.plot_band
        (line,) = ax.step(pred.plot_grid, surv, where="post", label=name)
        ax.fill_between(pred.plot_grid, lower, upper, step="post", alpha=0.15, color=line.get_color())
    return _finish_survival_axes(ax, "Classical fits: the average test subject, 95% band (as survfit.coxph; last seed)")


def _finish_survival_axes(ax, title: str):
    """Labels, limits, title and legend of a plot of survival curves; returns its figure."""
    ax.set_xlabel("time")
    ax.set_ylabel("P(no event by t)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax.figure


def calibration_table(comp: Comparison) -> pd.DataFrame:
    """Calibration in the large of each model at each Brier time on the last seed's test
    subjects: mean predicted S(t) minus their Kaplan-Meier estimate (model, time, value)."""
    from pysurvbridge.metrics import calibration_in_the_large

    te = comp.split.test_first
    rows = [(name, t, calibration_in_the_large(pred.survival[:, j], te.time, te.event, t))
            for name, pred in comp.predictions.items() if pred.survival is not None for j, t in enumerate(comp.times)]
    return pd.DataFrame(rows, columns=["model", "time", "calibration_in_the_large"])


def _calibration(comp: Comparison):
    """Fig. 6 of Nnet-survival: per Brier time, deciles of predicted survival of the last
    seed's test subjects, mean predicted against Kaplan-Meier, one line per model. Single-event
    data only (recurrent comparisons show the first-event curves instead)."""
    from matplotlib.figure import Figure

    from pysurvbridge.metrics import decile_calibration

    if comp.split is None or comp.split.recurrent:
        return None
    preds = {n: p for n, p in comp.predictions.items() if p.survival is not None}
    if not preds:
        return None
    te = comp.split.test_first
    fig = Figure(figsize=(4.2 * len(comp.times), 4.2))
    axes = fig.subplots(1, len(comp.times), squeeze=False)[0]
    for j, (t, ax) in enumerate(zip(comp.times, axes)):
        for name, pred in preds.items():
            table = decile_calibration(pred.survival[:, j], te.time, te.event, t)
            ax.plot(table["predicted"], table["kaplan_meier"], "o-", ms=3, label=name)
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"mean predicted S({t:g})")
        ax.set_ylabel("Kaplan-Meier (decile of predictions)")
        ax.set_title(f"t = {t:g}")
    axes[0].legend(fontsize="small")
    fig.suptitle("Calibration by decile of predicted survival (last seed's test subjects)")
    fig.tight_layout()
    return fig


def _bars(comp: Comparison):
    import matplotlib.pyplot as plt

    cols = [c for c in ("c_harrell", "c_intervals", "c_uno") if c in comp.table and comp.table[c].notna().any()]
    if not cols:
        return None
    t = comp.table
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(t))
    width = 0.8 / len(cols)
    for k, c in enumerate(cols):
        sd = t.get(f"{c}_sd")
        ax.bar(x + (k - (len(cols) - 1) / 2) * width, t[c], width, yerr=None if sd is None else sd.fillna(0),
               capsize=2, label=c)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, t["model"], rotation=20)
    ax.set_ylim(0.3, 1.0)
    ax.set_ylabel("concordance (test subjects)")
    ax.set_title("Concordance by model (mean ± sd over seeds)")
    ax.legend(fontsize="small")
    return fig


# ---------------------------------------------------------------------- HTML
def html_report(comp: Comparison) -> str:
    import matplotlib

    matplotlib.use("Agg")
    t = display_table(comp.table)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    body = []
    for family in ("classical", "deep", "reference"):
        part = t[comp.table["family"] == family]
        if len(part):
            body.append(f'<tr class="group"><td colspan="{len(t.columns)}">{family}</td></tr>')
            for row in part.itertuples(index=False):
                cells = "".join(f'<td class="t">{html.escape(str(v))}</td>' if i < 4 or t.columns[i] == "aic_counts"
                                else f"<td>{html.escape(str(v))}</td>" for i, v in enumerate(row))
                body.append(f"<tr>{cells}</tr>")
    figures = []
    for title, make in (("Concordance", _bars), ("Hazard ratios", _forest), ("Mean cumulative function", _mcf),
                        ("Predicted survival", _survival), ("Classical curves with 95% bands", _bands),
                        ("Calibration", _calibration)):
        try:
            fig = make(comp)
        except Exception as exc:  # a plot that fails is reported, the report is still written
            comp.notes.append(f"plot '{title}' could not be drawn: {type(exc).__name__}: {exc}")
            continue
        if fig is not None:
            figures.append(figure_html(title, fig))
    if comp.split is not None and not comp.split.recurrent and comp.predictions:
        try:
            cal = calibration_table(comp).pivot(index="model", columns="time", values="calibration_in_the_large")
            cells = "".join(f"<tr><td class=\"t\">{html.escape(str(m))}</td>" + "".join(f"<td>{v:+.3f}</td>" for v in r)
                            + "</tr>" for m, r in zip(cal.index, cal.to_numpy()))
            figures.append("<h3>Calibration in the large</h3><p>mean predicted S(t) minus Kaplan-Meier, last seed's "
                           "test subjects</p><table id=\"calibration\"><thead><tr><th>model</th>"
                           + "".join(f"<th>t = {t:g}</th>" for t in cal.columns) + f"</tr></thead><tbody>{cells}</tbody></table>")
        except Exception as exc:  # reported, the report is still written
            comp.notes.append(f"calibration table could not be computed: {type(exc).__name__}: {exc}")
    seeds = int(comp.table["n_seeds"].max()) if len(comp.table) else 0
    body_html = f"""<h1>Classical and deep models on {html.escape(comp.dataset)}</h1>
<p>{html.escape(comp.data.describe().splitlines()[0])}. {seeds} seed(s); every model fitted on the same training
subjects and scored on the same held-out subjects; Brier times {', '.join(f'{x:g}' for x in comp.times)}.</p>
{verdict_html(comp)}
<h2 id="results-table">Results</h2>
<table id="results"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>
{definitions_html(comp.definitions)}
{agreement_html(comp.agreement)}
<h2>Plots</h2>{''.join(figures)}
{notes_html(comp.notes)}"""
    return page(f"pysurvbridge comparison: {comp.dataset}", body_html)
