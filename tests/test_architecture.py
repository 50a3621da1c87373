"""The architecture of docs/architecture.md, checked: import-linter's contracts hold, no module
imports another in a circle, and a new upward import is caught (positive control).

References: the contracts in pyproject.toml (read by import-linter itself); the module graph
from grimp (import-linter's own graph builder), searched for cycles by Tarjan's algorithm.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (pip install -e .[dev])")


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True)


def test_contracts_are_kept():
    out = _lint(ROOT, ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def _cycles(graph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    adj = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in modules) for m in modules}
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(adj[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        component.append(m)
                        if m == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(adj[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def test_no_module_imports_another_in_a_circle():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("pysurvbridge")
    # the package root re-exports from every layer and belongs to none
    modules = {m for m in graph.modules if m != "pysurvbridge"}
    assert _cycles(graph, modules) == []


def test_the_cycle_search_finds_a_planted_cycle():
    grimp = pytest.importorskip("grimp")
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.z")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph, {"a.x", "a.y", "a.z"}) == [["a.x", "a.y", "a.z"]]


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    """Positive control: a copy of the package in which data imports the report fails the
    contract, and the message names the offending import."""
    shutil.copytree(ROOT / "pysurvbridge", tmp_path / "pysurvbridge",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "pysurvbridge" / "data" / "catalog.py"
    target.write_text(target.read_text() + "\n\ndef _upward():\n    from pysurvbridge.report import page  # noqa: F401\n")
    out = _lint(tmp_path, tmp_path)
    assert out.returncode != 0
    assert "BROKEN" in out.stdout
    assert "pysurvbridge.data.catalog -> pysurvbridge.report" in out.stdout
