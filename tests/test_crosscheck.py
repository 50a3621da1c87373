"""compare()'s agreement between engines (pysurvbridge.crosscheck).

References: R ``survival::coxph`` through rpy2 (survival 3.5-3, R 4.2.2 here), the same fits
tests/classical hold the native engine to (1e-6; measured ~1e-9 on bladder1); the Brier score
of ``metrics.brier_score(engine="r")`` (ipred::sbrier, G from the scored data), which
tests/metrics/test_brier.py holds to the Python engine at 1e-10. Positive controls: a reference
whose coefficients are the native ones + 1e-3 must be caught; a failing reference must be a
row, not an exception.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge import crosscheck, rbridge
from pysurvbridge.classical.r_engine import RResult
from pysurvbridge.comparison import compare
from pysurvbridge.errors import StatisticalWarning
from pysurvbridge.classical import fit_classical

MODELS = ["cox", "ag", "wlw", "pwp-total"]


@pytest.fixture(scope="module")
def checked(r_session):
    return compare("bladder1", MODELS, seeds=1, verbose=False, bootstrap=200)  # the report's verdict: a quick B


@pytest.fixture(scope="module")
def unchecked():
    return compare("bladder1", MODELS, seeds=1, verbose=False, crosscheck=False, bootstrap=200)


def perturbed_reference(shift: float):
    """An ExternalFitter returning the native estimates with every coefficient + ``shift``."""
    def fitter(kind, train, ties):
        fit = fit_classical(kind, train, engine="native", ties=ties)
        return RResult(beta=fit.coef.to_numpy() + shift, var=fit.var.to_numpy(), robust_var=fit.robust_var.to_numpy(),
                       loglik=fit.loglik, loglik_null=fit.loglik_null, iterations=fit.iterations,
                       concordance=float("nan"), r_call="")
    return fitter


@pytest.mark.r
def test_every_classical_model_agrees_with_r_on_bladder1(checked):
    a = checked.agreement
    assert list(a.columns) == crosscheck.COLUMNS
    fits = a[a["check"] == "classical fit"]
    assert set(zip(fits["model"], fits["quantity"])) == {(m, q) for m in MODELS for q in crosscheck.QUANTITIES}
    assert (fits["engines"] == "native vs R survival via rpy2").all()
    assert (fits["tolerance"] == 1e-6).all() and (fits["max_abs_diff"] < 1e-6).all() and fits["agrees"].all()
    for model in MODELS:
        assert any(n.startswith(f"agreement: {model} native vs R survival via rpy2: max |coef diff| ")
                   and n.endswith("(within 1e-6)") for n in checked.notes), model
    assert not any(n.startswith("WARNING:") for n in checked.notes)


@pytest.mark.r
def test_brier_python_equals_r_on_the_first_split(checked):
    row = checked.agreement[checked.agreement["check"] == "brier score"]
    assert len(row) == 1 and row["model"].item() == "cox" and row["quantity"].item() == "brier"
    assert row["max_abs_diff"].item() <= 1e-10 and bool(row["agrees"].item())
    assert "test subjects" in row["detail"].item()
    # the same numbers by hand: both engines, G from the scored (test) subjects
    from pysurvbridge import metrics

    te, run = checked.split.test_first, checked.runs["cox"]
    weight_at = "t" if rbridge.has_r_package("ipred") else "t-"
    py = metrics.brier_score(run.survival, checked.times, te.time, te.event, censoring_weight_at=weight_at)
    r = metrics.brier_score(run.survival, checked.times, te.time, te.event, censoring_weight_at=weight_at, engine="r")
    assert row["max_abs_diff"].item() == pytest.approx(np.max(np.abs(py - r)), abs=1e-15)
    np.testing.assert_allclose(py, r, atol=1e-10)


@pytest.mark.r
def test_crosscheck_changes_no_column_of_the_table(checked, unchecked):
    assert unchecked.agreement is None
    assert not any(n.startswith("agreement") for n in unchecked.notes)
    # fit_seconds is wall time (differs between any two runs); every other column is identical
    pd.testing.assert_frame_equal(checked.table.drop(columns="fit_seconds"),
                                  unchecked.table.drop(columns="fit_seconds"))
    pd.testing.assert_frame_equal(checked.results.drop(columns="fit_seconds"),
                                  unchecked.results.drop(columns="fit_seconds"))


def test_a_perturbed_reference_is_caught():
    with pytest.warns(StatisticalWarning, match="engines disagree"):
        res = compare("bladder1", ["cox", "ag"], seeds=1, verbose=False,
                      crosscheck_reference=perturbed_reference(1e-3), crosscheck_label="perturbed")
    fits = res.agreement[res.agreement["check"] == "classical fit"]
    coef = fits[fits["quantity"] == "coef"]
    assert (coef["engines"] == "native vs perturbed").all()
    assert coef["max_abs_diff"].to_numpy() == pytest.approx([1e-3, 1e-3], abs=1e-12)
    assert (coef["agrees"] == False).all()  # noqa: E712
    assert fits[fits["quantity"] == "se"]["agrees"].all()  # only the coefficients were moved
    warnings_ = [n for n in res.notes if n.startswith("WARNING:")]
    assert len(warnings_) == 2 and "cox native vs perturbed: max |coef diff| 1.0e-3" in warnings_[0]
    assert "above 1e-6 for coef" in warnings_[0]


def test_a_failing_reference_is_a_row_not_an_exception():
    def broken(kind, train, ties):
        raise RuntimeError("R said no")

    res = compare("bladder1", ["cox"], seeds=1, verbose=False, crosscheck_reference=broken)
    row = res.agreement[res.agreement["check"] == "classical fit"]
    assert len(row) == 1 and row["quantity"].item() == "fit" and pd.isna(row["agrees"].item())
    assert np.isnan(row["max_abs_diff"].item()) and "RuntimeError: R said no" in row["detail"].item()
    assert any("agreement: cox native vs external reference: not checked: RuntimeError: R said no" in n
               for n in res.notes)
    assert res.table.loc[0, "c_harrell"] > 0.5  # the comparison itself went on


@pytest.mark.r
def test_report_and_markdown_show_the_agreement(checked, unchecked):
    text = checked.to_html()
    assert '<h2 id="agreement-between-engines">Agreement between engines</h2>' in text
    section = text.split('<table id="agreement">')[1].split("</table>")[0]
    assert section.count("<tr>") == 1 + len(checked.agreement)  # header + one row per check
    assert "must agree to 1e-6" in text
    md = checked.agreement_markdown()
    assert md.startswith("Agreement between engines: each classical model (cox, ag, wlw, pwp-total)")
    assert "| classical fit | ag | robust_se | native vs R survival via rpy2 |" in md
    assert unchecked.agreement_markdown() == "" and "Not checked" in unchecked.to_html()


def test_without_r_the_default_is_off_and_true_is_a_note(monkeypatch):
    monkeypatch.setattr(rbridge, "is_available", lambda: False)
    off = compare("bladder1", ["cox"], seeds=1, verbose=False)
    assert off.agreement is None and not any(n.startswith("agreement") for n in off.notes)
    on = compare("bladder1", ["cox"], seeds=1, verbose=False, crosscheck=True)
    assert on.agreement is None
    assert any(n.startswith("agreement: not checked: R is not usable (") for n in on.notes)
    pd.testing.assert_frame_equal(off.table.drop(columns="fit_seconds"), on.table.drop(columns="fit_seconds"))


@pytest.mark.r
def test_cli_prints_the_agreement_unless_told_not_to(r_session, capsys):
    from pysurvbridge.cli import main

    args = ["compare", "bladder1", "--models", "cox", "--seeds", "1", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("| model | family |") and "| classical fit | cox | coef |" in out
    assert main([*args, "--no-crosscheck"]) == 0
    out = capsys.readouterr().out
    assert "Agreement between engines" not in out and "note: agreement" not in out
