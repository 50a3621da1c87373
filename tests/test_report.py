"""The HTML comparison report rendered in headless Chromium (Debian chromium + chromium-driver,
installed by `make test` via scripts/install_browser.sh): the table rows and the embedded
images are present and load, and the page logs no errors. A screenshot is saved."""
from __future__ import annotations

import shutil

import pytest

from pysurvbridge.compare import compare

MODELS = ["cox", "ag", "wlw", "lstm-cox"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    result = compare("bladder1", models=MODELS, seeds=2, epochs=20, verbose=False)
    result.to_html(path)
    return path, result


def test_report_is_self_contained(report):
    path, _ = report
    text = path.read_text()
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert text.count("data:image/png;base64,") == 4  # concordance bars, forest plot, MCF, survival


def _driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (dev extra)")
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip("chromium/chromedriver not found: run `bash scripts/install_browser.sh` (make test does)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,2400"):
        opts.add_argument(arg)
    opts.binary_location = chromium
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=opts)


def test_report_renders_in_chromium(report, tmp_path):
    from selenium.webdriver.common.by import By

    path, result = report
    driver = _driver()
    try:
        driver.get(path.as_uri())
        rows = driver.find_elements(By.CSS_SELECTOR, "#results tbody tr")
        texts = [r.text for r in rows]
        assert texts[0] == "classical" and "deep" in texts
        for model in MODELS:
            assert any(t.startswith(model + " ") for t in texts), model
        images = driver.find_elements(By.TAG_NAME, "img")
        assert len(images) == 4
        assert all(int(img.get_attribute("naturalWidth")) > 100 for img in images)  # decoded, not broken
        notes = driver.find_elements(By.CSS_SELECTOR, "#notes li")
        assert len(notes) == len(result.notes)
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    finally:
        driver.quit()
