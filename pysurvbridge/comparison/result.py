"""What ``compare()`` returns: plain data (tables, notes, the fitted runs of the last seed),
importing nothing above the comparison layer.

Rendering (Markdown, LaTeX, the HTML report) belongs to :mod:`pysurvbridge.report`, which sits
above this layer and registers its renderers here with :func:`register_renderer` when it is
imported (the package root imports it). ``to_markdown``/``to_latex``/``to_html`` look the
renderer up, so a result renders itself without this module importing the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from pysurvbridge.errors import SurvBridgeError

if TYPE_CHECKING:
    from pysurvbridge.comparison.spec import ModelRun, MultiRun
    from pysurvbridge.comparison.splits import MultiSplit, Split
    from pysurvbridge.data.events import MultiEventData, SurvivalData
    from pysurvbridge.data.recurrent import RecurrentData

__all__ = ["TableReport", "Comparison", "MultiEventComparison", "register_renderer"]

#: (result class name, format) -> renderer(result, **options) -> text; filled by pysurvbridge.report
_RENDERERS: dict[tuple[str, str], Callable[..., str]] = {}
FORMATS = ("markdown", "latex", "html")


def register_renderer(result_type: type, fmt: str, renderer: Callable[..., str]) -> None:
    """Render results of ``result_type`` (and its subclasses) in ``fmt`` with ``renderer``."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, but was {fmt!r}")
    _RENDERERS[(result_type.__name__, fmt)] = renderer


def _renderer(result: object, fmt: str) -> Callable[..., str]:
    for cls in type(result).__mro__:
        found = _RENDERERS.get((cls.__name__, fmt))
        if found is not None:
            return found
    raise SurvBridgeError(f"no {fmt} renderer is registered for {type(result).__name__} "
                          "(import pysurvbridge.report, which registers them)")


class TableReport:
    """``to_markdown``, ``to_latex`` and ``to_html`` of a result with a ``table``, and its
    ``differences`` (computed on first use when they need a bootstrap)."""

    _differences: Any = None

    @property
    def differences(self) -> pd.DataFrame | None:
        """One row per (model, metric) against ``reference`` (see
        :data:`pysurvbridge.comparison.inference.COLUMNS`); empty with one model. With one
        split the intervals come from a paired bootstrap, run the first time they are asked
        for (by this attribute, a report or the CLI)."""
        if callable(self._differences):
            self._differences = self._differences()
        return self._differences

    def to_markdown(self, digits: int = 3) -> str:
        return _renderer(self, "markdown")(self, digits=digits)

    def to_latex(self, digits: int = 3) -> str:
        return _renderer(self, "latex")(self, digits=digits)

    def to_html(self, path: str | None = None) -> str:
        """A self-contained HTML report (table by family, embedded plots, definitions, notes);
        written to ``path`` when given. Returns the HTML text."""
        html = _renderer(self, "html")(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(html)
        return html


@dataclass(eq=False)
class Comparison(TableReport):
    """Result of :func:`~pysurvbridge.compare` on single-event or recurrent data.

    ``table``: one row per model, means over seeds and ``<column>_sd``; ``results``: one row per
    (model, seed); ``notes``: every caveat found; ``data``: the compared data; ``runs``: the last
    seed's :class:`ModelRun` per model (fitted objects for the plots); ``times``: Brier times;
    ``agreement``: the engines checked against each other on the first seed's split (rows of
    :data:`pysurvbridge.crosscheck.COLUMNS`), or None when not checked; ``differences``: one
    row per (model, metric) against ``reference`` with the columns of
    :data:`pysurvbridge.comparison.inference.COLUMNS` (empty with one model); ``tuning``:
    one row per tuning trial (model, seed, trial, state, value, params), or None;
    ``predictions``: what each model of the last seed said about its test subjects
    (:class:`~pysurvbridge.comparison.scoring.SinglePredictions`): what the report draws.
    ``runs`` holds the fitted objects of the models fitted in this process.
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
    _differences: Any = field(default=None, repr=False)
    reference: str | None = None
    tuning: pd.DataFrame | None = None
    predictions: dict[str, Any] = field(default_factory=dict, repr=False)

    def agreement_markdown(self) -> str:
        """The agreement between engines as a sentence and a Markdown table ("" when not checked)."""
        if self.agreement is None or not len(self.agreement):
            return ""
        from pysurvbridge.crosscheck import describe, markdown

        return f"{describe(self.agreement)}\n\n{markdown(self.agreement)}"

    def __repr__(self) -> str:
        return f"Comparison({len(self.table)} models)\n{self.to_markdown()}"


@dataclass(eq=False)
class MultiEventComparison(TableReport):
    """Result of :func:`~pysurvbridge.compare` on multi-event data: ``table`` (one row per
    model, means over seeds and ``<column>_sd``), ``results`` (one row per model and seed),
    ``notes``, ``data``, ``runs`` and ``split`` (the last seed's, for the plots),
    ``definitions``."""

    table: pd.DataFrame
    results: pd.DataFrame
    notes: list[str]
    data: MultiEventData
    runs: dict[str, MultiRun]
    split: MultiSplit
    dataset: str = "data"
    definitions: dict[str, str] = field(default_factory=dict)
    _differences: Any = field(default=None, repr=False)
    reference: str | None = None
    tuning: pd.DataFrame | None = None
    predictions: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(self.data.event_names)

    def __repr__(self) -> str:
        return f"MultiEventComparison({len(self.table)} models)\n{self.to_markdown()}"
