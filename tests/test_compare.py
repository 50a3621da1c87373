"""compare(): the same splits for every model, the numbers equal direct calls, failures isolated.

References: the package's own validated pieces called directly on the same subject split
(fit_cox equals R coxph, tests/classical; concordance_harrell equals R and scikit-survival,
tests/metrics); the closed form C = 0.5 for a constant risk (every comparable pair tied).
"""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge import metrics
from pysurvbridge.classical import fit_andersen_gill, fit_cox
from pysurvbridge.comparison import compare
from pysurvbridge.data import bladder1_recurrent
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.comparison import REGISTRY, ModelRun, ModelSpec, register


@pytest.fixture(scope="module")
def result():
    return compare("bladder1", models=["cox", "ag", "lstm-cox", "lstm-cox-paper"], seeds=2, epochs=20, verbose=False)


def _split(data, seed, test_size=0.3):
    ids = np.asarray(data.ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    n_test = int(round(test_size * len(ids)))
    return data.subset(ids[order[n_test:]]), data.subset(ids[order[:n_test]])


def test_table_columns_and_rows(result):
    t = result.table
    assert t["model"].tolist() == ["cox", "ag", "lstm-cox", "lstm-cox-paper"]
    assert t["family"].tolist() == ["classical", "classical", "deep", "deep"]
    for col in ("engine", "protocol", "c_harrell", "c_harrell_sd", "c_intervals", "c_uno", "ibs", "aic",
                "aic_counts", "n_params", "fit_seconds"):
        assert col in t, col
    assert any(c.startswith("brier_") for c in t)
    assert (t["n_seeds"] == 2).all()
    assert "leaky protocol" in t.loc[t["model"] == "lstm-cox-paper", "protocol"].item()


def test_numbers_equal_direct_calls_on_the_same_split(result):
    data = bladder1_recurrent()
    per_seed = result.results.set_index(["model", "seed"])
    for seed in (0, 1):
        train, test = _split(data, seed)
        first = test.first_event()
        cox = fit_cox(train)
        c = metrics.concordance_harrell(cox.predict_log_risk(first.to_frame()), first.time, first.event)
        assert per_seed.loc[("cox", seed), "c_harrell"] == pytest.approx(c, abs=1e-12)
        ag = fit_andersen_gill(train)
        f = test.frame
        ci = metrics.concordance_recurrent(ag.predict_log_risk(f), f["start"], f["stop"], f["event"])
        assert per_seed.loc[("ag", seed), "c_intervals"] == pytest.approx(ci, abs=1e-12)
        assert per_seed.loc[("ag", seed), "aic"] == pytest.approx(ag.aic, rel=1e-10)
    assert result.table.loc[0, "c_harrell"] == pytest.approx(per_seed.loc["cox", "c_harrell"].mean())


def test_notes_name_every_caveat(result):
    text = " ".join(result.notes)
    assert "not comparable across models" in text
    assert "leaky protocol" in text
    assert "zero-length" in text  # bladder1's preparation


def test_a_failing_model_is_reported_and_others_go_on():
    def broken(split):
        raise RuntimeError("boom")

    res = compare("bladder1", models=["cox", ModelSpec("broken", "deep", broken)], seeds=1, verbose=False)
    assert res.table.loc[res.table["model"] == "cox", "c_harrell"].notna().all()
    assert any("broken failed on seed 0: RuntimeError: boom" in n for n in res.notes)


def test_registering_a_model_takes_one_line():
    def constant(split):
        n = len(split.test_first)
        return ModelRun(np.zeros(n), None, None, engine="none")

    register(ModelSpec("constant", "deep", constant))
    try:
        res = compare("bladder1", models=["constant"], seeds=1, verbose=False)
        assert res.table.loc[0, "c_harrell"] == 0.5  # every comparable pair tied in risk
    finally:
        REGISTRY.pop("constant")


def test_single_event_data():
    from lifelines.datasets import load_rossi

    from pysurvbridge.data import SurvivalData

    df = load_rossi()
    data = SurvivalData.from_frame(df, time="week", event="arrest", covariates=["fin", "age", "prio"])
    res = compare(data, models=["cox", "deepsurv", "ag"], seeds=1, epochs=30, verbose=False)
    assert res.table.loc[res.table["model"] == "cox", "c_harrell"].item() > 0.55
    assert np.isnan(res.table.loc[res.table["model"] == "cox", "c_intervals"].item())
    assert any("ag needs recurrent-event data" in n for n in res.notes)


@pytest.mark.parametrize("kwargs,match", [
    ({"models": ["nope"]}, "unknown model 'nope'"),
    ({"split": "row"}, "split must be 'subject'"),
    ({"test_size": 1.5}, "test_size must be in"),
    ({"metrics": ["accuracy"]}, "unknown metrics"),
    ({"seeds": []}, "at least one seed"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        compare("bladder1", **{"verbose": False, **kwargs})
    with pytest.raises(InvalidParameterError, match="not a recurrent-event data set"):
        compare("colon", verbose=False)


def test_markdown_and_latex(result):
    md = result.to_markdown()
    verdict, table = md.split("## Results\n\n")
    assert verdict.startswith("## Verdict") and "ag (untuned: nothing to tune) vs cox" in verdict  # the verdict first
    assert table.splitlines()[0].startswith("| model | family | engine | protocol | c_harrell")
    assert len(table.splitlines()) == 2 + 4 and " ± " in table
    tex = result.to_latex()
    assert tex.startswith(r"\paragraph{Verdict}") and r"\paragraph{Results}" in tex
    table_tex = tex.split(r"\paragraph{Results}")[1]
    assert r"\begin{tabular}" in table_tex and r"c\_harrell" in table_tex and r"$\pm$" in table_tex


def test_configured_objects_and_rotterdam():
    from pysurvbridge.models import DeepSurv, LSTMCox

    res = compare("bladder1", models=["cox", LSTMCox(hidden_size=8, dropout=0.0)], seeds=1, epochs=10, verbose=False)
    assert res.table["model"].tolist() == ["cox", "lstm-cox"]
    assert res.runs["lstm-cox"].fitted.hidden_size == 8
    rot = compare("rotterdam", models=["cox", DeepSurv(hidden=(8,))], seeds=1, epochs=10, verbose=False)
    # R: coxph(Surv(rtime, recur) ~ age + meno + factor(size) + grade + nodes + pgr + er + hormon
    #    + chemo, rotterdam)$concordance = 0.679 in sample; held out (30% of 2982) within 0.03
    assert rot.table.loc[0, "c_harrell"] == pytest.approx(0.679, abs=0.03)
    assert "ag" not in rot.table["model"].tolist()
