"""Every cell of a comparison, once: the cells already in the result store are read back, the
others run where ``execution`` says (this process, worker processes, Dask; see
:mod:`pysurvbridge.comparison.execution`), each stored as it finishes, with one progress bar
over them. The results come back in the cells' order whatever order they finished in.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from pysurvbridge.comparison.execution import Execution, finish, run_remote, warm_up
from pysurvbridge.comparison.runner import Cell, CellResult, Plan, run_cell
from pysurvbridge.comparison.store import ResultStore, spec_fingerprint

__all__ = ["run_cells", "StoredRun", "SERIAL"]

SERIAL = Execution()


class StoredRun:
    """What a cell that ran elsewhere (a worker, or an earlier run through the store) leaves
    of its run: the predictions the scores came from and, where saved, the fitted model."""

    def __init__(self, predictions: Any, fitted: Any = None) -> None:
        self.predictions, self.fitted = predictions, fitted
        self.survival = getattr(predictions, "survival", None)
        self.subject_risk = getattr(predictions, "risk", None)
        self.row_risk = getattr(predictions, "row_risk", None)
        self.survival_fn = None
        self.notes: list[str] = []


def _load_model(folder: Path) -> Any:
    """A model saved by the store: one ``save()`` folder, or numbered folders of several."""
    import pysurvbridge.models as models

    def one(path: Path):
        cls = json.loads((path / "config.json").read_text())["class"]
        return getattr(models, cls).load(path)
    if (folder / "config.json").exists():
        return one(folder)
    return [one(p) for p in sorted(folder.iterdir(), key=lambda p: int(p.name))]


def _result(cell: Cell, record: dict, store: ResultStore | None) -> CellResult:
    from pysurvbridge.comparison.records import result_parts

    parts = result_parts(record)
    fitted = None
    if store is not None and parts["model_dir"]:
        try:
            fitted = _load_model(store.dir / parts["model_dir"])
        except Exception:  # a model that no longer loads: the row and predictions still stand
            fitted = None
    run = None if "error" in parts["row"] else StoredRun(parts["predictions"], fitted)
    return CellResult(cell, parts["row"], run, parts["notes"], parts["predictions"], parts["tuning"])


def _expected_cost(cell: Cell) -> int:
    """Longest first, so that no worker starts a long cell when the others are done: tuned
    cells (tens of fits each), then deep ones, then classical (a stable sort keeps the seeds'
    order within each)."""
    return 2 * (cell.tune is not None) + (cell.spec.family == "deep")


def run_cells(plan: Plan, cells: Sequence[Cell], *, verbose: bool = True, execution: Execution = SERIAL,
              store: Path | None = None) -> tuple[list[CellResult], dict, list[str]]:
    """(the results in the cells' order, the split of each seed, notes about the store)."""
    from pysurvbridge.models.training import progress_bar

    warm_up(execution)
    splits: dict[int, Any] = {}
    for cell in cells:
        if cell.seed not in splits:
            splits[cell.seed] = plan.split(cell.seed)
    last_seed = cells[-1].seed if cells else None
    results: list[CellResult | None] = [None] * len(cells)
    notes: list[str] = []
    result_store = None if store is None else ResultStore(store, plan.fingerprint())
    options: list[dict] = [{} for _ in cells]
    if result_store is not None:
        for i, cell in enumerate(cells):
            cell_parts = {**spec_fingerprint(cell.spec, cell.tune), "seed": int(cell.seed)}
            options[i] = {"store": {"root": str(result_store.root), "parts": result_store.parts,
                                    "cell_parts": cell_parts, "save_model": cell.seed == last_seed}}
            record, problem = result_store.load(cell.spec.name, cell.seed, cell_parts)
            if problem:
                notes.append(problem)
            if record is not None:
                results[i] = _result(cell, record, result_store)
        n_stored = sum(r is not None for r in results)
        notes.append(f"{n_stored} of {len(cells)} cells from the store")
    pending = [i for i, r in enumerate(results) if r is None]
    bar = progress_bar(verbose, total=len(cells), initial=len(cells) - len(pending), desc="compare", leave=True)
    if execution.in_process:
        for i in pending:
            cell = cells[i]
            bar.set_postfix_str(f"seed {cell.seed}: {cell.spec.name}")
            result = run_cell(plan, cell, splits[cell.seed])
            if result_store is not None:
                finish(result, options[i]["store"])
            results[i] = result
            bar.update(1)
    elif pending:
        order = sorted(pending, key=lambda i: _expected_cost(cells[i]), reverse=True)
        records = run_remote(plan, [cells[i] for i in order], [options[i] for i in order], execution, bar)
        for i, record in zip(order, records):
            results[i] = _result(cells[i], record, result_store)
    bar.close()
    return list(results), splits, notes
