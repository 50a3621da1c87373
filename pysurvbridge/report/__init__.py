"""Reports of a comparison: the table as Markdown and LaTeX, and one self-contained HTML page
per kind of comparison (:mod:`~pysurvbridge.report.single`, :mod:`~pysurvbridge.report.multi_event`)
on the shared page of :mod:`~pysurvbridge.report.page`.

The report depends on :mod:`pysurvbridge.comparison.result` only. Importing this package
registers its renderers with the result types, so ``result.to_markdown()``, ``to_latex()`` and
``to_html()`` work without the comparison layer importing the report (the package root
imports it).
"""
from __future__ import annotations

from pysurvbridge.comparison.result import Comparison, MultiEventComparison, register_renderer
from pysurvbridge.report.multi_event import first_event, html_multi_event_report, pre_empting_events
from pysurvbridge.report.page import agreement_html
from pysurvbridge.report.single import calibration_table, html_report
from pysurvbridge.report.tables import display_table, latex_table, markdown_table
from pysurvbridge.report.verdict import verdict_html, verdict_latex, verdict_markdown

__all__ = ["markdown_table", "latex_table", "display_table", "html_report", "html_multi_event_report",
           "calibration_table", "agreement_html", "pre_empting_events", "first_event", "verdict_markdown",
           "verdict_latex", "verdict_html"]


def _text(render, verdict, heading: str, *, keep_order: bool):
    """The table as text, preceded by the Verdict (when the comparison has differences)."""
    def renderer(result, digits: int = 3) -> str:
        table = render(result.table, digits, keep_order=keep_order)
        first = verdict(result)
        return table if not first else f"{first}\n{heading}\n{table}"
    return renderer


# the single-event table puts its columns in report order; the multi-event table keeps its own
# order (summary columns, then per event, then size and time)
for _type, _keep, _html in ((Comparison, False, html_report), (MultiEventComparison, True, html_multi_event_report)):
    register_renderer(_type, "markdown", _text(markdown_table, verdict_markdown, "## Results\n", keep_order=_keep))
    register_renderer(_type, "latex", _text(latex_table, verdict_latex, r"\paragraph{Results}", keep_order=_keep))
    register_renderer(_type, "html", _html)
