"""The HTML comparison report rendered in headless Chromium (Debian chromium + chromium-driver,
installed by `make test` via scripts/install_browser.sh): the table rows and the embedded
images are present and load, and the page logs no errors. A screenshot is saved."""
from __future__ import annotations

import shutil

import pytest

from pysurvbridge.comparison import compare

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
    # the verdict's differences, concordance bars, forest plot, MCF, survival, classical bands
    assert text.count("data:image/png;base64,") == 6
    assert "Classical curves with 95% bands" in text
    assert text.index('id="verdict"') < text.index('id="results"')  # the verdict comes first


def _driver(performance_log: bool = False):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (dev extra)")
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip("chromium/chromedriver not found: run `bash scripts/install_browser.sh` (make test does)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,2400"):
        opts.add_argument(arg)
    opts.binary_location = chromium
    # the performance log carries every network request (tests/test_docs.py: nothing leaves the machine)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", **({"performance": "ALL"} if performance_log else {})})
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
        assert len(images) == 6
        assert all(int(img.get_attribute("naturalWidth")) > 100 for img in images)  # decoded, not broken
        notes = driver.find_elements(By.CSS_SELECTOR, "#notes li")
        assert len(notes) == len(result.notes)
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    finally:
        driver.quit()


# ---------------------------------------------------------------------- multi-event report
MULTI_MODELS = {"cox-per-event": "classical", "multistate-cox": "classical", "mensa": "deep",
                "earlier-event-first": "reference"}


@pytest.fixture(scope="module")
def multi_report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report_multi_event.html"
    result = compare("rotterdam-multi", models=list(MULTI_MODELS), seeds=2, epochs=3, verbose=False)
    result.to_html(path)
    return path, result


def test_first_event_data_of_the_multi_event_report():
    import numpy as np

    from pysurvbridge.data import datasets
    from pysurvbridge.data.events import MultiEventData
    from pysurvbridge.report.multi_event import first_event, pre_empting_events

    assert pre_empting_events(3, [(0, 1), (1, 2)], competing=False) == [(1, 2), (2,), ()]
    assert pre_empting_events(2, [], competing=False) == [(), ()]
    assert pre_empting_events(3, [], competing=True) == [(1, 2), (0, 2), (0, 1)]
    # by hand: A at 2 (B later), A and B tied at 3 (A counts), B at 1 before A, neither (censored
    # at the earlier censoring time), A censored at 4 then B at 6 (B: first observed event)
    data = MultiEventData(np.array([[2.0, 5], [3, 3], [4, 1], [7, 6], [4, 6]]),
                          np.array([[1, 1], [1, 1], [0, 1], [0, 0], [0, 1]]), np.zeros((5, 0)), (), ("A", "B"))
    time, cause = first_event(data, 0, (1,))
    assert time.tolist() == [2, 3, 1, 6, 6] and cause.tolist() == [1, 1, 2, 0, 2]
    # Rotterdam: the first-event data of recurrence (death pre-empting) are exactly the
    # recurrence-free coding of datasets.rotterdam_competing (its 2 same-day ties included)
    multi, competing = datasets.rotterdam_multi_event(), datasets.rotterdam_competing()
    time, cause = first_event(multi, 0, (1,))
    assert np.array_equal(time, competing.times[:, 0])
    assert np.array_equal(cause, np.where(competing.events[:, 0] == 1, 1, np.where(competing.events[:, 1] == 1, 2, 0)))


def test_multi_event_report_is_self_contained(multi_report):
    path, _ = multi_report
    text = path.read_text()
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert text.count("<img") == text.count("<figure>") == 3  # differences, P(event by t), concordance bars
    assert text.count("data:image/png;base64,") == 3
    assert text.index('id="verdict"') < text.index('id="results"')
    for model in MULTI_MODELS:
        assert f"<td class=\"t\">{model}</td>" in text, model
    assert "Aalen-Johansen" in text and "multistate-cox gives crude probabilities" in text


def test_multi_event_report_renders_in_chromium(multi_report, tmp_path):
    from selenium.webdriver.common.by import By

    path, result = multi_report
    driver = _driver()
    try:
        driver.get(path.as_uri())
        family, seen, groups = None, {}, []
        for row in driver.find_elements(By.CSS_SELECTOR, "#results tbody tr"):
            cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
            if row.get_attribute("class") == "group":
                family = cells[0]
                groups.append(family)
            else:
                assert cells[1] == family  # listed under its own family's heading
                seen[cells[0]] = family
        assert groups == ["classical", "deep", "reference"] and seen == MULTI_MODELS
        images = driver.find_elements(By.TAG_NAME, "img")
        assert len(images) == 3
        assert all(int(img.get_attribute("naturalWidth")) > 100 for img in images)  # decoded, not broken
        notes = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "#notes li")]
        assert notes == result.notes
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        shot = tmp_path / "report_multi_event.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    finally:
        driver.quit()


def test_classical_bands_are_survfit_bands_of_the_average_test_subject(report):
    """A band is drawn for every classical fit and for no deep model; it holds its curve, which
    does not rise (the band itself is predict_survival(conf_level=0.95), equal to R's survfit in
    tests/classical/test_survfit.py)."""
    import numpy as np

    _, result = report
    drawn = {n: p for n, p in result.predictions.items() if p.plot_band is not None}
    assert set(drawn) == {m for m in MODELS if m in ("cox", "ag", "wlw", "pwp-total", "pwp-gap")}
    for name, pred in drawn.items():
        surv, lower, upper = pred.plot_band
        assert np.all(lower <= surv + 1e-15) and np.all(surv <= upper + 1e-15)
        assert np.all(np.diff(surv) <= 1e-15)  # a survival curve does not rise
