"""The HTML report of a :class:`MultiEventComparison`, on the shared page of
:mod:`pysurvbridge.report.page`.

The plots are drawn on :class:`matplotlib.figure.Figure` objects directly, so the global
matplotlib backend is left as the caller set it.

The "P(event by t)" figure sets every model's mean predicted probability beside two
nonparametric estimates from the same test subjects: 1 - Kaplan-Meier of the event's own
(time, status), the other events censoring (the *net* probability), and, where another event
can pre-empt this one, the Aalen-Johansen cumulative incidence on the first-event data (the
*crude* probability). Which event pre-empts which: with competing risks every other cause;
with known orderings (A, B) the later event B (and, transitively, what follows B) pre-empts A;
B after A does not.
"""
from __future__ import annotations

import html
from typing import Sequence

import numpy as np
import pandas as pd

from pysurvbridge.comparison.result import MultiEventComparison
from pysurvbridge.data.events import MultiEventData
from pysurvbridge.report.page import definitions_html, figure_html, notes_html, page
from pysurvbridge.report.tables import display_table
from pysurvbridge.report.verdict import verdict_html

__all__ = ["html_multi_event_report", "pre_empting_events", "first_event"]

FAMILIES = ("classical", "deep", "reference")
SUMMARY = ("c_global", "c_local", "ibs", "mae_margin")
PER_EVENT = ("c_harrell", "ibs", "mae_margin", "dcal_p")
GRID_POINTS = 100
#: models whose P(event by t) is crude (the other event competing) rather than net
CRUDE = frozenset({"multistate-cox"})
EXTRA_CSS = """figure{margin:1.5em 0}figcaption{font-size:13px;color:#444;max-width:1000px}
tr.failed td{color:#999}th.span{text-align:center;background:#f6f6f6}div.wide{overflow-x:auto}
#results{font-size:12px}#results td{white-space:nowrap;padding:3px 5px}"""


# ---------------------------------------------------------------------- reference estimates
def pre_empting_events(n_events: int, trajectories: Sequence[tuple[int, int]], competing: bool
                       ) -> list[tuple[int, ...]]:
    """For each event k, the events whose earlier occurrence makes k unobservable: every other
    cause with competing risks; else the events that follow k in a known ordering (A, B), the
    orderings followed transitively (A -> B -> C: B and C pre-empt A)."""
    if competing:
        return [tuple(j for j in range(n_events) if j != k) for k in range(n_events)]
    out = []
    for k in range(n_events):
        later, frontier = set(), {k}
        while frontier:
            frontier = {b for a, b in trajectories if a in frontier} - later
            later |= frontier
        out.append(tuple(sorted(later - {k})))
    return out


def first_event(data: MultiEventData, k: int, rivals: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(time, cause) of the first of event ``k`` and its pre-empting ``rivals``: cause 1 = k,
    2 = a rival, 0 = censored. The time is the earliest observed of these events; a rival at the
    same time as k does not pre-empt it (k counts); a subject with none observed is censored
    at the earliest of their censoring times (event-free of all of them up to there)."""
    cols = [k, *rivals]
    T = data.times[:, cols]
    E = data.events[:, cols].astype(bool)
    t_k = np.where(E[:, 0], T[:, 0], np.inf)
    t_rival = np.where(E[:, 1:], T[:, 1:], np.inf).min(axis=1) if rivals else np.full(len(T), np.inf)
    cause = np.where(t_k <= t_rival, 1, 2)
    time = np.minimum(t_k, t_rival)
    none = ~np.isfinite(time)
    return np.where(none, T.min(axis=1), time), np.where(none, 0, cause)


# ---------------------------------------------------------------------- table
def _table(comp: MultiEventComparison) -> tuple[str, str]:
    """(thead, tbody) HTML: text columns, summary metrics, dcal, each event's columns, size."""
    table = comp.table
    names = list(comp.event_names)
    summary = [c for c in SUMMARY if c in table]
    per_event = {n: [f"{m}_{n}" for m in PER_EVENT if f"{m}_{n}" in table] for n in names}
    numeric = summary + [c for cols in per_event.values() for c in cols]
    sds = [f"{c}_sd" for c in numeric if f"{c}_sd" in table]
    tail = [c for c in ("n_params", "fit_seconds") if c in table]
    # display_table formats numbers only ("dcal" is text); MAE in the data's time unit, no decimals
    shown = display_table(table[["model", "family", "engine", *numeric, *sds, *tail]])
    mae = [c for c in numeric if c.startswith("mae_margin")]
    if mae:
        shown[mae] = display_table(table[mae + [f"{c}_sd" for c in mae if f"{c}_sd" in table]], digits=0)[mae]
    shown["dcal"] = table["dcal"].fillna("").astype(str) if "dcal" in table else ""
    shown["flops"] = table["flops"].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}") if "flops" in table else ""
    n_seeds = comp.results["seed"].nunique() if "seed" in comp.results else 0
    partial = "n_seeds" in table and (table["n_seeds"] < n_seeds).any()
    if partial:
        shown["seeds"] = [f"{int(s)}/{n_seeds}" for s in table["n_seeds"]]
    text = ["model", "family", "engine"] + (["seeds"] if partial else [])
    groups = [("", len(text)), ("all events", len(summary) + 1)] + [(n, len(c)) for n, c in per_event.items()]
    order = text + summary + ["dcal"] + [c for cols in per_event.values() for c in cols] + tail + ["flops"]
    groups.append(("size and time", len(tail) + 1))
    shown = shown[order]
    spans = "".join(f'<th class="span" colspan="{w}">{html.escape(g)}</th>' for g, w in groups if w)
    # under an event's group heading its columns are named by the metric alone
    label = {c: c[: -len(n) - 1] for n, cols in per_event.items() for c in cols}
    head = f"<tr>{spans}</tr><tr>" + "".join(f'<th title="{html.escape(c)}">{html.escape(label.get(c, c))}</th>'
                                             for c in order) + "</tr>"
    body = []
    known = [f for f in FAMILIES if (table["family"] == f).any()]
    for family in known + sorted(set(table["family"]) - set(known)):
        part = shown[table["family"] == family]
        body.append(f'<tr class="group"><td colspan="{len(order)}">{html.escape(str(family))}</td></tr>')
        for i, row in part.iterrows():
            failed = "n_seeds" in table and table.at[i, "n_seeds"] == 0
            if failed:
                row = row.copy()
                row["engine"] = "failed (see notes)"
            cells = "".join(f'<td class="t">{html.escape(str(v))}</td>' if c in text or c == "dcal"
                            else f"<td>{html.escape(str(v))}</td>" for c, v in row.items())
            body.append(('<tr class="failed">' if failed else "<tr>") + f"{cells}</tr>")
    return head, "".join(body)


# ---------------------------------------------------------------------- plots
def _runs_to_draw(comp: MultiEventComparison, remarks: list[str]) -> dict:
    """What each model of the last seed predicted (``comp.predictions``); a model that failed
    on the last seed is named in the remarks and not drawn."""
    res = comp.results
    for name in dict.fromkeys(res["model"]):
        last = res[(res["model"] == name) & (res["seed"] == comp.split.seed)]
        if "error" in last and last["error"].notna().any():
            remarks.append(f"P(event by t): {name} failed on the last seed ({comp.split.seed}) and is not drawn")
    return dict(comp.predictions)


def _event_probability(comp: MultiEventComparison, remarks: list[str]):
    from matplotlib.figure import Figure

    from pysurvbridge.metrics import cumulative_incidence, kaplan_meier

    test, split = comp.split.test, comp.split
    K, names = test.n_event_types, list(test.event_names)
    runs = _runs_to_draw(comp, remarks)
    colour = {m: f"C{i % 10}" for i, m in enumerate(comp.table["model"])}
    rivals = pre_empting_events(K, split.trajectories, split.competing)
    fig = Figure(figsize=(min(4.6 * K + 2.6, 17), 4.0), layout="constrained")
    axes = fig.subplots(1, K, squeeze=False)[0]
    for k, ax in enumerate(axes):
        grid = np.linspace(0.0, float(np.quantile(test.times[:, k], 0.95)), GRID_POINTS)
        for name, pred in runs.items():
            if pred.plot_mean is None or len(pred.plot_grids[k]) != len(grid) or not np.allclose(pred.plot_grids[k], grid):
                remarks.append(f"P(event by t): {name} not drawn for {names[k]}: no curve on the plot's grid")
                continue
            ax.plot(grid, 1.0 - pred.plot_mean[k], color=colour.get(name), lw=1.6, label=name)
        ax.step(grid, 1.0 - kaplan_meier(test.times[:, k], test.events[:, k], grid), where="post", color="black",
                ls="--", lw=1.4, label="1 - KM (other events censor)")
        if rivals[k]:
            time, cause = first_event(test, k, rivals[k])
            cif = cumulative_incidence(time, cause, grid)
            ax.step(grid, cif[0] if len(cif) else np.zeros_like(grid), where="post", color="black", lw=1.4,
                    label="Aalen-Johansen (competing)")
        ax.set_title(names[k])
        ax.set_xlabel("time")
        ax.set_ylim(0.0, None)
        ax.set_xlim(0.0, grid[-1])
    axes[0].set_ylabel("P(event by t)")
    legend = {}
    for ax in axes:  # one legend for all panels, outside them
        for handle, text in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(text, handle)
    fig.legend(list(legend.values()), list(legend), loc="outside right upper", fontsize="small")
    fig.suptitle(f"P(event by t): mean over the last seed's {len(test)} test subjects (seed {split.seed})")
    return fig


def _caption(comp: MultiEventComparison) -> str:
    split, names = comp.split, list(comp.event_names)
    rivals = pre_empting_events(len(names), split.trajectories, split.competing)
    drawn = _runs_to_draw(comp, [])
    crude = sorted(CRUDE & set(drawn))
    net = [m for m in drawn if m not in CRUDE]
    text = [f"Coloured lines: each model's 1 - S_k(t | x) averaged over the last seed's {len(split.test)} test "
            f"subjects, up to the 95% quantile of that event's test times. Dashed black: 1 - Kaplan-Meier of the "
            "event's own (time, status), the other events censoring; it estimates the net (marginal) probability, "
            "the probability of the event if nothing pre-empted it. The per-event models, MENSA and the reference "
            f"({', '.join(net) or 'none here'}) estimate net probabilities: compare them with 1 - KM."]
    with_aj = [names[k] for k in range(len(names)) if rivals[k]]
    if with_aj:
        how = ("every other cause competes" if split.competing else
               "; ".join(f"{', '.join(names[j] for j in rivals[k])} before {names[k]} pre-empts {names[k]}"
                         for k in range(len(names)) if rivals[k]))
        text.append(f"Solid black (drawn for {', '.join(with_aj)}): the Aalen-Johansen cumulative incidence on the "
                    f"first-event data ({how}; the time of the first observed of these events, a tie counted for "
                    "the event itself); it estimates the crude probability, the event seen before anything "
                    "pre-empts it. multistate-cox gives crude probabilities: compare it with Aalen-Johansen"
                    + ("" if crude else " (not in this comparison)") + ".")
        test = split.test
        for k in range(len(names)):
            if rivals[k]:  # censored for k before a rival was observed: pre-empted for one, censored for the other
                later = (test.events[:, list(rivals[k])] == 1) & (test.times[:, list(rivals[k])] > test.times[:, [k]])
                n_gap = int(((test.events[:, k] == 0) & later.any(axis=1)).sum())
                if n_gap:
                    text.append(f"{n_gap} test subjects were censored for {names[k]} before an observed "
                                f"{', '.join(names[j] for j in rivals[k])}: Aalen-Johansen counts them as pre-empted "
                                f"at that time, 1 - KM as censored at their {names[k]} time.")
        without = [names[k] for k in range(len(names)) if not rivals[k]]
        if without:
            text.append(f"No event pre-empts {', '.join(without)}: there crude and net coincide and every curve "
                        "compares with 1 - KM.")
    else:
        text.append("No event pre-empts another here (no known ordering, not competing risks): crude and net "
                    "probabilities coincide and only 1 - KM is drawn.")
    return " ".join(text)


def _concordance(comp: MultiEventComparison, remarks: list[str]):
    from matplotlib.figure import Figure

    t = comp.table
    cols = [c for c in ("c_global", "c_local") if c in t and t[c].notna().any()]
    if not cols:
        remarks.append("concordance: no model has a c_global or c_local to plot")
        return None
    fig = Figure(figsize=(max(6.0, 1.2 * len(t) + 4), 3.9), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(t))
    width = 0.8 / len(cols)
    for j, c in enumerate(cols):
        sd = t[f"{c}_sd"].fillna(0.0) if f"{c}_sd" in t else None
        ax.bar(x + (j - (len(cols) - 1) / 2) * width, t[c].fillna(0.0), width, yerr=sd, capsize=3,
               color=f"C{j}", label=c)
    for i in np.flatnonzero(t[cols].isna().all(axis=1).to_numpy()):
        ax.text(x[i], 0.42, "no result", ha="center", fontsize="small", color="grey")
    ref = t[(t["family"] == "reference") & t["c_local"].notna()] if "c_local" in t else t.iloc[:0]
    if len(ref):
        floor = float(ref["c_local"].iloc[0])
        ax.axhline(floor, color="black", ls=":", lw=1.4,
                   label=f"local-C floor: {ref['model'].iloc[0]} c_local = {floor:.3f}")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, t["model"], rotation=15)
    ax.set_ylim(0.4, 1.0)
    ax.set_ylabel("concordance (test subjects)")
    n = int(t["n_seeds"].max()) if "n_seeds" in t and len(t) else 0
    ax.set_title("Global and local C by model" + (f" (mean ± sd over {n} seeds)" if n > 1 else ""))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _concordance_caption(comp: MultiEventComparison) -> str:
    text = "c_global: mean of the per-event Harrell's C; c_local: the within-subject C over event types."
    if (comp.table["family"] == "reference").any():
        text += (" The dotted line is the reference rule's local C, which orders the events from their known "
                 "ordering alone, without covariates: a model's local C says something only above it.")
    return text


# ---------------------------------------------------------------------- HTML
def html_multi_event_report(comp: MultiEventComparison) -> str:
    """The comparison as one self-contained HTML page: data and split, the metric table by
    family, P(event by t) against Kaplan-Meier / Aalen-Johansen, the concordance bars, the
    definitions and the notes (with any plot that could not be drawn)."""
    remarks: list[str] = []
    head, body = _table(comp)
    figures = []
    for title, make, caption in (
            ("P(event by t)", _event_probability, _caption),
            ("Concordance", _concordance, _concordance_caption)):
        try:
            fig = make(comp, remarks)
            text = caption(comp)
        except Exception as exc:  # a plot that fails is reported, the report is still written
            remarks.append(f"plot '{title}' could not be drawn: {type(exc).__name__}: {exc}")
            continue
        if fig is not None:
            figures.append(figure_html(title, fig, text))
    body_html = f"""<h1>Multi-event models on {html.escape(comp.dataset)}</h1>
<p>{html.escape(_describe(comp))}</p>
{verdict_html(comp)}
<h2 id="results-table">Results</h2>
<div class="wide"><table id="results"><thead>{head}</thead><tbody>{body}</tbody></table></div>
<h2>Plots</h2>{''.join(figures)}
{definitions_html(comp.definitions)}
{notes_html([*comp.notes, *remarks])}"""
    return page(f"pysurvbridge multi-event comparison: {comp.dataset}", body_html, extra_css=EXTRA_CSS)


def _describe(comp: MultiEventComparison) -> str:
    data, split = comp.data, comp.split
    names = list(data.event_names)
    counts = ", ".join(f"{n}: {int(data.events[:, k].sum())}" for k, n in enumerate(names))
    if split.competing:
        structure = "competing risks (one cause per subject)"
    elif split.trajectories:
        structure = "known ordering " + ", ".join(f"{names[a]} → {names[b]}" for a, b in split.trajectories)
    else:
        structure = "no known ordering between the events"
    seeds = sorted(int(s) for s in comp.results["seed"].unique()) if "seed" in comp.results else []
    parts = [("training", split.train), ("validation", split.validation), ("test", split.test)]
    n = sum(len(p) for _, p in parts if p is not None)
    shares = ", ".join(f"{label} {len(p)} ({len(p) / n:.0%})" for label, p in parts if p is not None)
    return (f"{len(data)} subjects; events {counts}; {structure}; {len(data.covariates)} covariates "
            f"({', '.join(data.covariates)}). Seeds {', '.join(map(str, seeds))}: each seed splits the subjects "
            f"within each observed-event pattern into {shares} (the last seed's sizes); every model is fitted on "
            "the same training subjects and scored on the same test subjects.")
