"""The shared HTML page of every report: one self-contained file (styles inline, figures as
base64 PNG data URIs, no scripts), with the table, definitions, notes and the agreement
section built the same way for every kind of comparison."""
from __future__ import annotations

import base64
import html
import io
from importlib.metadata import PackageNotFoundError, version
from typing import Iterable, Mapping

import pandas as pd

__all__ = ["CSS", "png_base64", "figure_html", "definitions_html", "notes_html", "agreement_html", "page",
           "package_version"]

CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 7px;text-align:right}
td.t,th{text-align:left}tr.group td{background:#eef;font-weight:bold;text-align:left}
img{max-width:100%;display:block;margin:1em 0}.note{color:#733}code{background:#f4f4f4}
td.bad{color:#a00;font-weight:bold}ul.verdict li{margin:0.3em 0}details{margin:0.5em 0 1em}"""


def package_version() -> str:
    try:
        return version("pysurvbridge")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def png_base64(fig) -> str:
    """A matplotlib figure as base64 PNG (100 dpi); the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(title: str, fig, caption: str | None = None) -> str:
    """A titled figure as an embedded image (with a caption inside a ``<figure>`` when given)."""
    img = f'<h3>{html.escape(title)}</h3><img alt="{html.escape(title)}" src="data:image/png;base64,{png_base64(fig)}">'
    if caption is None:
        return img
    return f"<figure>{img}<figcaption>{html.escape(caption)}</figcaption></figure>"


def definitions_html(definitions: Mapping[str, str]) -> str:
    items = "".join(f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>" for k, v in definitions.items())
    return f'<h2>Definitions</h2><ul id="definitions">{items}</ul>'


def notes_html(notes: Iterable[str]) -> str:
    items = "".join(f'<li class="note">{html.escape(n)}</li>' for n in notes) or "<li>none</li>"
    return f'<h2>Notes</h2><ul id="notes">{items}</ul>'


def agreement_html(agreement: pd.DataFrame | None) -> str:
    """The "Agreement between engines" section: a sentence (what was compared, the tolerance)
    and one table row per (check, model, quantity); one line when nothing was checked."""
    from pysurvbridge.crosscheck import COLUMNS, describe, format_difference, format_tolerance

    head = '<h2 id="agreement-between-engines">Agreement between engines</h2>'
    if agreement is None or not len(agreement):
        return head + ("<p>Not checked (crosscheck=False, or neither R nor a reference engine was usable; "
                       "see the notes).</p>")
    rows = []
    for r in agreement.itertuples(index=False):
        agrees = "n/a" if pd.isna(r.agrees) else ("yes" if r.agrees else "NO")
        cls = "t bad" if agrees != "yes" else "t"
        cells = [f'<td class="t">{html.escape(str(v))}</td>' for v in (r.check, r.model, r.quantity, r.engines)]
        cells += [f"<td>{format_difference(r.max_abs_diff)}</td>", f"<td>{format_tolerance(r.tolerance)}</td>",
                  f'<td class="{cls}">{agrees}</td>', f'<td class="t">{html.escape(str(r.detail))}</td>']
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f"{head}<p>{html.escape(describe(agreement))}</p><table id=\"agreement\"><thead><tr>"
            + "".join(f"<th>{c}</th>" for c in COLUMNS) + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def page(title: str, body: str, *, extra_css: str = "") -> str:
    """The whole document: ``title`` in the head, ``body`` (HTML), the package version at the end."""
    style = CSS + ("\n" + extra_css if extra_css else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{style}</style></head><body>
{body}
<p><small>pysurvbridge {package_version()}</small></p></body></html>
"""
