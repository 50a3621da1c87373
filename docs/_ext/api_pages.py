"""The API reference, generated from the package's ``__all__`` lists at every build.

Every name in every ``__all__`` of pysurvbridge is documented exactly once, on the page of the
package it belongs to (``pysurvbridge.<package>``), under its shortest public path: a name that
``pysurvbridge.comparison`` re-exports from ``pysurvbridge.comparison.single`` is documented as
``pysurvbridge.comparison.compare``; the root package's re-exports are listed on the root page
with links. The pages are written to ``docs/api/`` (generated, not committed) before Sphinx reads
its sources, and rewritten only when their text changes.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

from sphinx.application import Sphinx

ROOT = "pysurvbridge"

#: the order of the packages on the reference's index: from what users call to the ground floor
ORDER = ["comparison", "report", "models", "estimator", "classical", "data", "metrics", "simulate",
         "crosscheck", "losses", "interpret", "copulas", "distributed", "rbridge", "rhost", "errors"]


@dataclass
class Entry:
    """One documented object: its public paths (shortest first) and its kind."""

    paths: list[str] = field(default_factory=list)
    kind: str = "data"

    @property
    def canonical(self) -> str:
        if self.kind == "data":  # a constant is documented where it is assigned (its ``#:`` comment)
            assigned = [p for p in self.paths if _assigns(*p.rsplit(".", 1))]
            if assigned:
                return min(assigned, key=lambda p: (p.count("."), p))

        def rank(path: str) -> tuple:
            parts = path.split(".")
            # the root's re-exports are shortcuts: document the object in its own package
            return (len(parts) == 2 and len(self.paths) > 1, len(parts), path)
        return min(self.paths, key=rank)

    @property
    def package(self) -> str:
        parts = self.canonical.split(".")
        return parts[1] if len(parts) > 2 else ROOT


def _assigns(module: str, name: str) -> bool:
    """Whether ``module``'s source assigns ``name`` at its top level."""
    import ast

    source = inspect.getsource(importlib.import_module(module))
    for node in ast.parse(source).body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def all_modules() -> list[str]:
    """Every module of the package, by dotted name (the targets of ``:mod:`` references)."""
    root = importlib.import_module(ROOT)
    return [ROOT] + [info.name for info in pkgutil.walk_packages(root.__path__, ROOT + ".")]


def public_modules() -> dict[str, object]:
    """Every module of the package that declares ``__all__``, by dotted name."""
    root = importlib.import_module(ROOT)
    found = {ROOT: root}
    for info in pkgutil.walk_packages(root.__path__, ROOT + "."):
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            found[info.name] = module
    return found


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "data"


def collect() -> dict[object, Entry]:
    """Each public object once, with every ``module.name`` under which an ``__all__`` exports it."""
    entries: dict[object, Entry] = {}
    for module_name, module in public_modules().items():
        for name in module.__all__:
            obj = getattr(module, name)
            # classes and functions are one object wherever re-exported; a constant is the same
            # constant where its name and value agree
            key = id(obj) if _kind(obj) != "data" else (name, id(obj))
            entry = entries.setdefault(key, Entry(kind=_kind(obj)))
            entry.paths.append(f"{module_name}.{name}")
    return entries


def _directive(entry: Entry) -> str:
    path = entry.canonical
    if entry.kind in ("class", "exception"):
        return f".. auto{entry.kind}:: {path}\n   :members:\n   :show-inheritance:\n"
    if entry.kind == "function":
        return f".. autofunction:: {path}\n"
    obj_repr_long = len(repr(_resolve(path))) > 120
    return f".. autodata:: {path}\n" + ("   :no-value:\n" if obj_repr_long else "")


def _resolve(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _title(text: str, under: str = "=") -> str:
    return f"{text}\n{under * len(text)}\n"


def pages() -> dict[str, str]:
    """File name -> reST text of every page of the reference."""
    entries = list(collect().values())
    by_package: dict[str, list[Entry]] = {}
    for entry in entries:
        by_package.setdefault(entry.package, []).append(entry)
    packages = [p for p in ORDER if p in by_package] + sorted(set(by_package) - set(ORDER) - {ROOT})
    out: dict[str, str] = {}
    for package in packages:
        module = f"{ROOT}.{package}"
        body = [_title(f"``{module}``"), f".. automodule:: {module}\n"]
        for entry in sorted(by_package[package], key=lambda e: (e.canonical.count("."), e.canonical.lower())):
            body.append(_directive(entry))
        submodules = [m for m in all_modules() if m.startswith(module + ".")]
        if submodules:
            body.append("Modules\n-------\n\nWhat each module of the package does (its own docstring).\n")
            for sub in submodules:
                body.append(f".. automodule:: {sub}\n   :no-members:\n")
        out[f"{package}.rst"] = "\n".join(body)
    root_entries = by_package.get(ROOT, [])
    shortcuts = sorted(p for e in entries for p in e.paths if p.count(".") == 1 and p != e.canonical)
    rows = "\n".join(f"   * - ``{p}``\n     - :py:obj:`{_canonical_of(entries, p)}`" for p in shortcuts)
    index = [
        _title("API reference"),
        "Every name that an ``__all__`` of the package exports, documented once, grouped by "
        "package: the shortest public path is the one shown. Shapes, units and equations are "
        "those of the docstrings; this reference is generated from them at every build.\n",
        f".. automodule:: {ROOT}\n",
        *(_directive(e) for e in root_entries),
        "Shortcuts at the top level\n--------------------------\n",
        ".. list-table::\n   :header-rows: 1\n\n   * - import as\n     - documented as\n" + rows + "\n",
        ".. toctree::\n   :maxdepth: 1\n   :caption: Packages\n\n" + "\n".join(f"   {p}" for p in packages) + "\n",
    ]
    out["index.rst"] = "\n".join(index)
    return out


def _canonical_of(entries: list[Entry], path: str) -> str:
    return next(e.canonical for e in entries if path in e.paths)


def _write(app: Sphinx) -> None:
    folder = Path(app.srcdir) / "api"
    folder.mkdir(exist_ok=True)
    wanted = pages()
    for old in folder.glob("*.rst"):
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        path = folder / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def _aliases() -> dict[str, str]:
    """Every public path of a documented object -> the path it is documented under."""
    return {path: e.canonical for e in collect().values() for path in e.paths}


def _resolve_missing(app: Sphinx, env, node, contnode):
    """Resolve a Python reference that Sphinx could not: another public path of a documented
    object (``pysurvbridge.compare``), or a short name (``ClassicalFit``) that ends exactly one
    documented name. Anything else stays unresolved, and ``-n`` reports it."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    domain = env.get_domain("py")
    if not hasattr(app, "_api_aliases"):
        app._api_aliases = _aliases()
    aliases = app._api_aliases
    if target in domain.objects:
        return None
    names = {canonical for path, canonical in aliases.items() if path == target or path.endswith("." + target)}
    # members of documented classes, and anything else Sphinx knows under a longer name
    names |= {n for n, o in domain.objects.items() if n.endswith("." + target) and not o.aliased}
    if len(names) != 1 or next(iter(names)) not in domain.objects:
        return None
    names = list(names)
    from sphinx.util.nodes import make_refnode

    obj = domain.objects[names[0]]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, names[0])


def _clean_docstring(app: Sphinx, what: str, name: str, obj, options, lines: list[str]) -> None:
    """A constant without its own documentation would show its type's docstring (dict's, tuple's):
    drop it. A constant's or attribute's first line "label: text" is prose, not napoleon's
    "type: description": a blank first line keeps napoleon from reading the label as a type."""
    if what in ("data", "attribute", "property") and lines:
        doc = getattr(type(obj), "__doc__", None)
        own = inspect.cleandoc(doc).splitlines() if isinstance(doc, str) else []
        if [line.rstrip() for line in lines if line.strip()] == [line.rstrip() for line in own if line.strip()]:
            lines[:] = []


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _write)
    app.connect("missing-reference", _resolve_missing)
    app.connect("autodoc-process-docstring", _clean_docstring, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
