"""The README's and the guide's (docs/*.md) examples run as printed (their numbers are not
asserted: they only show the calls), then their models round-trip through save/load."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


class _Pages:
    """The README followed by every page of the guide in docs/, read as one text."""

    def read_text(self) -> str:
        return "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


README = _Pages()


def test_readme_neural_example_runs(tmp_path, monkeypatch):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (code,) = [b for b in blocks if "load_rotterdam" in b and "NnetSurvival(" in b]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code.replace(", seed=0)", ", seed=0, verbose=False)"), "README.md", "exec"), namespace)
    deep, nnet, test = namespace["deep"], namespace["nnet"], namespace["test"]
    assert set(deep.evaluate(test)) == {"c_harrell", "ibs", "n"}
    assert deep.score(test) == deep.evaluate(test)["c_harrell"]
    again = type(nnet).load(nnet.save(tmp_path / "nnet"))
    np.testing.assert_array_equal(again.predict_risk(test.X), nnet.predict_risk(test.X))


def test_readme_lstm_cox_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "LSTMCox()" in b]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    model, test = namespace["model"], namespace["test"]
    assert set(model.evaluate(test)) == {"c_first_event", "c_intervals"}
    assert model.score(test) == model.evaluate(test)["c_first_event"]


def test_readme_compare_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "pysurvbridge.compare(" in b and "test_size=0.3)" in b]  # the first compare example
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code.replace("test_size=0.3)", "test_size=0.3, verbose=False)"), "README.md", "exec"), namespace)
    assert (tmp_path / "report.html").exists() and len(namespace["result"].table) == 5


def test_readme_mensa_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "MENSA(" in b and "curves" in b]
    monkeypatch.chdir(tmp_path)
    code = code.replace("epochs=1000", "epochs=2").replace("seed=0)", "seed=0, verbose=False)")
    code = code.replace('compare("rotterdam-multi", seeds=3)', 'compare("rotterdam-multi", seeds=1, epochs=2, verbose=False)')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert set(namespace["curves"]) == {"recurrence", "death"}
    assert (tmp_path / "rotterdam.html").exists() and len(namespace["result"].table) == 5


def test_readme_coxvae_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "CoxVAE(" in b]
    monkeypatch.chdir(tmp_path)
    code = code.replace("epochs=100", "epochs=2").replace("seed=0)\n", "seed=0, verbose=False)\n")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["vae"].embed(namespace["data"].X[:5]).shape == (5, 8)
    assert (tmp_path / "embedding.png").exists() and (tmp_path / "traversal.png").exists()


def test_readme_scikit_learn_example_runs():
    """The "With scikit-learn" example (fewer epochs here; the README shows a full run)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "GridSearchCV(pipe" in b]
    namespace: dict = {}
    exec(compile(code.replace("epochs=100", "epochs=5"), "README.md", "exec"), namespace)
    search = namespace["search"]
    assert len(search.cv_results_["params"]) == 4 and np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert 0.5 < search.best_score_ < 1
