"""The vignettes render (fast mode, DOCS_FAST=1) and every page works in headless Chromium.

The fixture runs ``vignettes/render.py --fast`` for all six vignettes into a temporary folder,
so a vignette that breaks fails here (set PYSURVBRIDGE_VIGNETTES to a folder rendered already,
e.g. by ``make docs``, to check those pages instead). Per page: it opens with its title and
question and states its run time and mode; no script or network address; in Chromium, no
console errors, every image decodes, every table has rows, and no output shows a Python or R
traceback; it ends with the session information.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_report import _driver

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "vignettes"))
from render import VIGNETTES  # noqa: E402


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    given = os.environ.get("PYSURVBRIDGE_VIGNETTES")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("vignettes")
    done = subprocess.run([sys.executable, str(ROOT / "vignettes" / "render.py"), "--fast", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"rendering failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return out


def test_every_vignette_rendered_with_its_run_time(pages):
    index = {r["name"]: r for r in json.loads((pages / "index.json").read_text())}
    assert set(VIGNETTES) <= set(index)
    for name, (title, question) in VIGNETTES.items():
        page = (pages / f"{name}.html").read_text()
        assert "run time" in page and ("fast mode" in page or "full mode" in page), name
        assert index[name]["seconds"] > 0
        assert "<script" not in page.replace("<script type=\"math/tex", ""), name  # nothing to run or fetch
        assert "src=\"http" not in page and "href=\"http" not in page.replace("href=\"https://github.com", ""), name
        assert "Session information" in page or "session information" in page.lower(), name


@pytest.mark.parametrize("name", list(VIGNETTES))
def test_vignette_page_in_chromium(pages, name, tmp_path):
    from selenium.webdriver.common.by import By

    driver = _driver()
    try:
        driver.get((pages / f"{name}.html").as_uri())
        assert driver.find_element(By.TAG_NAME, "h1").text.strip()
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Question" in body, name
        shown = [line for line in body.splitlines()
                 if "Traceback (most recent call last)" in line or "CellExecutionError" in line
                 or line.lstrip("# ").startswith(("Error in ", "Error: "))]  # Python's and R's
        assert not shown, (name, shown[:3])
        images = driver.find_elements(By.TAG_NAME, "img")
        assert images, f"{name} has no figure"
        broken = [img.get_attribute("alt") or i for i, img in enumerate(images)
                  if int(img.get_attribute("naturalWidth") or 0) == 0]
        assert not broken, f"{name}: images that do not decode: {broken}"
        tables = driver.find_elements(By.TAG_NAME, "table")
        assert tables, f"{name} has no table"
        empty = [i for i, t in enumerate(tables) if not t.find_elements(By.CSS_SELECTOR, "tbody tr")]
        assert not empty, f"{name}: tables without rows: {empty}"
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == [], errors
        shot = tmp_path / f"{name}.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
