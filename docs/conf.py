"""Sphinx configuration of the pysurvbridge documentation site (``make docs``).

Pages are MyST Markdown (``docs/*.md``); the Python vignettes are the jupytext scripts in
``vignettes/`` (reached through the ``docs/vignettes`` link), executed by myst-nb at build time
(``DOCS_FAST=1``: fewer seeds and epochs, said on each page); the API reference is generated from
every ``__all__`` of the package (``_ext/api_pages.py``). Build with warnings as errors and
checked cross-references:

    .venv/bin/python -m sphinx -W --keep-going -n -b html docs docs/_build/html

Nothing on the built pages loads from the network: MathJax is served from the site
(``_ext/local_mathjax.py``), the theme (furo) uses the system's fonts.
"""
from __future__ import annotations

import os
import sys
from importlib.metadata import version as _version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "pysurvbridge"
author = "pysurvbridge developers"
copyright = "2026, pysurvbridge developers"
release = _version("pysurvbridge")
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "api_pages",
    "local_mathjax",
]

# --- sources ---------------------------------------------------------------------------------
exclude_patterns = [
    "_build", "_ext", "_static", "**/.ipynb_checkpoints", "conf.py",
    "vignettes/_build", "vignettes/_common.py", "vignettes/render.py", "vignettes/*.Rmd",
]
# the vignettes are jupytext percent scripts; conf.py and the helpers above are excluded
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3

# --- execution of the vignettes ---------------------------------------------------------------
#: DOCS_FAST=1 (make test) runs the vignettes with fewer seeds and epochs; each page says which
FAST = os.environ.get("DOCS_FAST") == "1"
os.environ["DOCS_FAST"] = "1" if FAST else "0"
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
nb_execution_mode = os.environ.get("DOCS_EXECUTE", "force")  # "off": pages without outputs
# an unexecuted notebook carries no language_info, so myst-nb cannot name the cells' lexer: a
# DOCS_EXECUTE=off build (for editing text quickly) says nothing about it; executed builds warn
suppress_warnings = ["myst-nb.lexer"] if nb_execution_mode == "off" else []
nb_execution_timeout = 3600
nb_execution_raise_on_error = True  # a cell that raises fails the build, with the cell's error
nb_execution_show_tb = True
nb_merge_streams = True

# --- autodoc ----------------------------------------------------------------------------------
autodoc_member_order = "bysource"
# the signature keeps its annotations; Sphinx's own typehints support (no extra extension)
autodoc_typehints = "signature"
autodoc_typehints_format = "short"

# --- cross-references: internal ones are checked (-n); external packages have no inventory
# offline (intersphinx would fetch them), so references into them are not checked
nitpicky = True
_EXTERNAL = ("numpy", "np", "pandas", "pd", "torch", "nn", "scipy", "matplotlib", "plt", "sklearn",
             "optuna", "dask", "distributed", "pyarrow", "rpy2", "collections", "typing", "types",
             "pathlib", "os", "io", "datetime", "concurrent", "multiprocessing", "enum", "abc",
             "dataclasses", "numbers", "tqdm", "cloudpickle", "argparse", "contextlib", "subprocess",
             "typing_extensions", "warnings", "logging", "json", "functools", "re", "threading")
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(_EXTERNAL)})(\..*)?"),
    (r"py:.*", r"(int|float|str|bytes|bool|None|object|list|dict|tuple|set|frozenset|type|callable|"
               r"Callable|Iterable|Iterator|Sequence|Mapping|Any|Optional|Union|Literal|Path|"
               r"Exception|ValueError|TypeError|RuntimeError|KeyError|ImportError|OSError|Warning|"
               r"UserWarning|NotImplementedError|FileNotFoundError|TimeoutError|np\.\w+|pd\.\w+|"
               r"ndarray|DataFrame|Series|Tensor|Module|Figure|Axes|Generator|Hashable|"
               r"ArrayLike|NDArray|TextIO|Self|ellipsis|Ellipsis|EllipsisType|slice|range|property|True|False)"),
    # private result types named in annotations of public functions: not part of the API
    # Sphinx 9 splits the dataclass signature ClassicalFit(..., strata_columns: tuple[str, ...] = ())
    # at the comma inside the brackets; the text renders, the half-type "tuple[str" cannot resolve
    (r"py:class", r"tuple\[str"),
    (r"py:class", r"pysurvbridge\.(classical\.r_engine\.RResult|distributed\.DistributedCoxResult)"),
]

# --- the site ---------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"pysurvbridge {release}"
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_last_updated_fmt = None
html_show_sourcelink = False
html_theme_options = {"navigation_with_keys": True}


def _skip_generated_sklearn_members(app, what, name, obj, skip, options):
    """scikit-learn writes ``set_fit_request``/``set_score_request`` onto every estimator class
    (metadata routing); they are scikit-learn's, documented there, not ours."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def _google_sections(app, what, name, obj, options, lines):
    """The functions' and classes' ``Args:``/``Returns:`` sections (Google style) become field
    lists, as napoleon does; constants, attributes and properties are left alone, since their
    first line ("classical fits: native and R agree ...") is prose, not napoleon's "type: text"."""
    if what in ("data", "attribute", "property"):
        return
    from sphinx.ext.napoleon import Config, GoogleDocstring

    config = Config(napoleon_use_param=True, napoleon_use_rtype=True,
                    napoleon_custom_sections=[("Training options", "params_style")])
    lines[:] = GoogleDocstring(lines, config, app, what, name, obj, options).lines()


def setup(app):
    app.connect("autodoc-skip-member", _skip_generated_sklearn_members)
    app.connect("autodoc-process-docstring", _google_sections)
