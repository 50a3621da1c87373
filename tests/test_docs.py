"""The documentation site builds and works: every public name documented, every link resolves,
nothing is fetched from the network, and its pages open in headless Chromium without errors.

The fixture builds the whole site in fast mode (``DOCS_FAST=1 scripts/build_docs.sh``): Sphinx
with warnings as errors and checked cross-references (``-W --keep-going -n``), the five Python
vignettes executed by myst-nb, and the R package's pkgdown site under ``r/``. A vignette cell that
raises, a docstring that does not parse or a reference that does not resolve fails the build and
so this test. Set ``PYSURVBRIDGE_SITE`` to a folder built already (``make docs`` writes
``docs/_build/html``) to check that one instead.
"""
from __future__ import annotations

import html.parser
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.test_report import _driver

ROOT = Path(__file__).resolve().parents[1]
VIGNETTES = ["recurrent-bladder", "nnet-survival", "coxvae", "mensa-multi-event", "simulation-study"]
GUIDE = ["install", "quickstart", "setup", "data", "classical", "metrics", "neural", "coxvae", "sklearn",
         "compare", "multi-event", "simulation", "r", "scaling", "troubleshooting", "vignettes",
         "r-reference", "benchmarks", "architecture", "changelog"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("PYSURVBRIDGE_SITE")
    if given:
        return Path(given).resolve()
    has_pkgdown = shutil.which("Rscript") and subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('pkgdown', quietly = TRUE))"],
        capture_output=True, check=False).returncode == 0
    if not has_pkgdown:  # the site links its R reference; without it every r/ link would dangle
        pytest.skip("the site includes the R package's pkgdown reference: needs R and pkgdown "
                    "(scripts/install_r.sh installs r-cran-pkgdown; make test has both)")
    out = tmp_path_factory.mktemp("site") / "html"
    env = {**os.environ, "DOCS_FAST": "1", "PYTHON": sys.executable,
           "SURVBRIDGE_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "build_docs.sh"), str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, f"the site did not build:\n{done.stdout[-4000:]}\n{done.stderr[-8000:]}"
    return out


# --- the pages are there ------------------------------------------------------------------------

def test_every_page_is_built(site):
    missing = [p for p in ["index.html", "api/index.html", "r/index.html", "r/reference/index.html",
                           "r/articles/survbridge.html", "_static/mathjax/tex-svg-full.js",
                           *(f"{g}.html" for g in GUIDE), *(f"vignettes/{v}.html" for v in VIGNETTES)]
               if not (site / p).is_file()]
    assert not missing, f"pages not built: {missing}"


def _public_names() -> list[tuple[str, str, object]]:
    """(module, name, object) for every name of every ``__all__`` of the package."""
    import pkgutil

    import pysurvbridge

    modules = [pysurvbridge] + [importlib.import_module(m.name)
                                for m in pkgutil.walk_packages(pysurvbridge.__path__, "pysurvbridge.")]
    return [(m.__name__, name, getattr(m, name)) for m in modules for name in getattr(m, "__all__", [])]


def _inventory(site: Path) -> dict[str, str]:
    """Sphinx's objects.inv: documented Python name -> the page (with anchor) documenting it."""
    from sphinx.util.inventory import InventoryFile

    with open(site / "objects.inv", "rb") as fh:
        inventory = InventoryFile.load(fh, "", lambda base, uri: uri)
    data = inventory.data if hasattr(inventory, "data") else inventory
    return {name: (item.uri if hasattr(item, "uri") else item[2])
            for role, items in data.items() if role.startswith("py:") for name, item in items.items()}


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_every_public_name_is_in_the_api_reference(site):
    """Each name exported by an ``__all__`` is documented: some inventory entry resolves to the
    very same object (constants: an entry of the same name)."""
    inventory = _inventory(site)
    documented: dict[int, list[str]] = {}
    for name in inventory:
        try:
            documented.setdefault(id(_resolve(name)), []).append(name)
        except (ImportError, AttributeError):
            continue
    names = _public_names()
    assert len(names) > 400, len(names)  # the package exports about 485 names
    undocumented = [f"{module}.{name}" for module, name, obj in names
                    if not any(d.rsplit(".", 1)[-1] == name or callable(obj) or isinstance(obj, type)
                               for d in documented.get(id(obj), []))]
    assert not undocumented, f"{len(undocumented)} public names missing from the API reference: {undocumented[:20]}"
    # the equations of the docstrings are typeset (MathJax), not left as reST
    losses = (site / "api" / "losses.html").read_text()
    assert 'class="math' in losses and "\\log L" in losses


# --- links and loads --------------------------------------------------------------------------------

class _Links(html.parser.HTMLParser):
    """The references of one page: (tag, attribute, value) of every href/src, and its ids."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None:
                self.refs.append((tag, key, attrs[key]))


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    return parser


def test_every_internal_link_and_image_resolves_and_nothing_loads_from_the_network(site):
    """Crawl every page of the site: each href/src inside it names a file that exists (and, for a
    link with #anchor to a page, an id on that page); no script, style sheet, image or frame
    comes from another host (links a reader may follow elsewhere are allowed)."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 60, len(pages)
    parsed = {p: _parse(p) for p in pages}
    broken, remote, checked = [], [], 0
    for page, links in parsed.items():
        for tag, attr, value in links.refs:
            url = urlsplit(value)
            loads = tag in ("script", "img", "iframe", "source") or (tag == "link" and attr == "href")
            if url.scheme in ("http", "https") or value.startswith("//"):
                if loads:
                    remote.append(f"{page.relative_to(site)}: <{tag} {attr}={value}>")
                continue
            if url.scheme in ("mailto", "data", "javascript") or not (url.path or url.fragment):
                continue
            if url.scheme or url.path.startswith("/"):  # file:///..., /usr/share/...: outside the site
                broken.append(f"{page.relative_to(site)}: {value} (outside the site)")
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {value}")
            elif url.fragment and target.suffix == ".html" and target in parsed:
                if unquote(url.fragment) not in parsed[target].ids and url.fragment != "top":
                    broken.append(f"{page.relative_to(site)}: {value} (no id {url.fragment!r})")
    assert checked > 1000, checked
    assert not broken, f"{len(broken)} links that do not resolve: {broken[:15]}"
    assert not remote, f"{len(remote)} resources fetched from the network: {remote[:10]}"


# --- in a browser -------------------------------------------------------------------------------------

def _network_requests(driver) -> list[str]:
    """The URLs the page asked for (Chrome's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _undecoded(images, shown_only: bool = False) -> list[str]:
    """The sources (shortened) of the images (or only the displayed ones) that did not decode."""
    return [(img.get_attribute("src") or "")[:80] for img in images
            if (img.is_displayed() or not shown_only) and int(img.get_attribute("naturalWidth") or 0) == 0]


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.webdriver import WebDriver

    driver: WebDriver = _driver(performance_log=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.parametrize("page", ["index.html", "api/comparison.html", "api/losses.html", "compare.html",
                                  "vignettes/recurrent-bladder.html", "r/reference/index.html"])
def test_page_opens_in_chromium_without_errors_or_requests_elsewhere(site, browser, page):
    from selenium.webdriver.common.by import By

    browser.get((site / page).as_uri())
    assert browser.find_element(By.TAG_NAME, "h1").text.strip(), page
    errors = _console_errors(browser)
    assert errors == [], (page, errors)
    requests = _network_requests(browser)
    assert requests, "the performance log recorded no request at all"
    away = [u for u in requests if not u.startswith(("file://", "data:", "blob:", "about:"))]
    assert away == [], (page, away)
    broken = _undecoded(browser.find_elements(By.TAG_NAME, "img"), shown_only=True)
    assert not broken, (page, broken)
    if page == "api/losses.html":  # MathJax, from the site itself, typeset the equations
        assert browser.find_elements(By.CSS_SELECTOR, "mjx-container svg"), "no typeset equation"


# --- the vignettes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", VIGNETTES)
def test_vignette_page(site, browser, name):
    """Each vignette opens with its question and the mode that made its numbers, shows figures
    and tables, no traceback, and ends with the session information."""
    from selenium.webdriver.common.by import By

    browser.get((site / "vignettes" / f"{name}.html").as_uri())
    article = browser.find_element(By.TAG_NAME, "article")
    assert article.find_element(By.TAG_NAME, "h1").text.strip()
    text = article.text
    assert "Question" in text, name
    assert ("Fast mode" in text) or ("Full mode" in text), f"{name} does not say which mode ran it"
    assert "session information" in text.lower(), name
    shown = [line for line in text.splitlines()
             if "Traceback (most recent call last)" in line or "CellExecutionError" in line]
    assert not shown, (name, shown[:3])
    images = article.find_elements(By.TAG_NAME, "img")
    assert images, f"{name} has no figure"
    broken = _undecoded(images)
    assert not broken, f"{name}: figures that do not decode: {broken}"
    tables = article.find_elements(By.TAG_NAME, "table")
    assert tables, f"{name} has no table"
    empty = [i for i, t in enumerate(tables) if not t.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert not empty, f"{name}: tables without rows: {empty}"
    errors = _console_errors(browser)
    assert errors == [], errors


def test_vignettes_page_lists_run_times(site):
    """The vignettes' index shows each vignette's execution time of this build (myst-nb)."""
    page = (site / "vignettes.html").read_text()
    for name in VIGNETTES:
        assert f"vignettes/{name}" in page, name
    assert "Run times of this build" in page and page.count("<tr") >= 2 * len(VIGNETTES)
