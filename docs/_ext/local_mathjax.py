"""MathJax served from the site itself, never from a CDN.

Sphinx's ``mathjax`` extension points every page with mathematics at ``mathjax_path``; this
extension sets it to ``_static/mathjax/tex-svg-full.js`` and copies that one file (MathJax 3.2,
TeX input with every extension built in, SVG output with its fonts inside: nothing else is
fetched) from the ``django-static-mathjax`` distribution, which carries MathJax's files and
nothing else (the ``docs`` extra installs it).
"""
from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ConfigError

FILE = "tex-svg-full.js"


def _source() -> Path:
    spec = find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("MathJax is not installed: pip install 'pysurvbridge[docs]' "
                          "(django-static-mathjax carries MathJax 3 for the site)")
    path = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5" / FILE
    if not path.is_file():
        raise ConfigError(f"{path} is missing: reinstall django-static-mathjax")
    return path


def _point_at_local_copy(app: Sphinx, config) -> None:
    _source()  # fail at the start of the build, not after it
    config.mathjax_path = f"mathjax/{FILE}"
    # no menu, no speech/explorer components: those would be loaded lazily from beside the file
    config.mathjax3_config = {"options": {"enableMenu": False}, "loader": {"load": []}}


def _copy(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_source(), target / FILE)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _point_at_local_copy)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
