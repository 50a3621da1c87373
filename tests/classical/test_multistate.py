"""Per-event Cox and the illness-death multi-state Cox model on Rotterdam.

References (R 4.2.2, survival 3.5-3):

* the multi-state fit: a direct ``Rscript`` run of ``coxph(Surv(tstart, tstop, state) ~ ...,
  id = id)`` and ``survfit(fit, newdata)`` on the same rows (R code in ``MULTISTATE_R``);
* the per-event fit: ``coxph(Surv(rtime, recur) ~ ...)`` on R's own ``rotterdam`` (``PER_EVENT_R``);
* the layout counts: ``with(rotterdam, table(recur, death))`` = 1269, 195 / 441, 1077;
  ``with(rotterdam, sum(recur == 1 & death == 1 & rtime == dtime))`` = 2;
  ``with(rotterdam, sum(recur == 1 & death == 0 & rtime == dtime))`` = 11; and ``?rotterdam``:
  "There are 43 subjects who have died without recurrence, but whose death time is greater
  than the censoring time for recurrence".

survival 3.5-3 cannot fit ``coxph(Surv(tstart, tstop, state) ~ 1, id = id)`` to multi-state
data (``Error in dmap[dterm, , ] : incorrect number of dimensions``), so the no-covariate
occupancy is not compared with the Aalen-Johansen ``survfit(Surv(...) ~ 1)``; the covariate
fit's occupancy is compared with R's own ``survfit(fit, newdata)`` instead.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.classical import fit_cox
from pysurvbridge.classical.multistate import (fit_cox_per_event, fit_multistate_cox,
                                               illness_death_rows)
from pysurvbridge.data.datasets import prepared
from pysurvbridge.data.events import MultiEventData, SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

from tests._helpers import run_without_rpy2

COVS = ["age", "meno", "grade", "nodes", "pgr", "hormon"]
TRANSITIONS = ["1:2", "1:3", "2:4"]  # R's names: (s0) -> recurrence, (s0) -> death, rec -> death

MULTISTATE_R = """
args <- commandArgs(trailingOnly = TRUE)
library(survival)
d <- read.csv(args[1])
d$state <- factor(d$state, levels = c("censored", "recurrence", "death", "death after recurrence"))
nd <- read.csv(args[2])
fit <- coxph(Surv(tstart, tstop, state) ~ age + meno + grade + nodes + pgr + hormon,
             data = d, id = id, ties = "efron")
write.csv(data.frame(name = names(coef(fit)), coef = coef(fit), se = sqrt(diag(fit$naive.var)),
                     robust = sqrt(diag(fit$var))), args[3], row.names = FALSE)
writeLines(sprintf("%.17g", fit$loglik), args[4])
sf <- survfit(fit, newdata = nd)
write.csv(data.frame(time = sf$time, matrix(sf$pstate, nrow = length(sf$time))), args[5],
          row.names = FALSE)
"""

PER_EVENT_R = """
args <- commandArgs(trailingOnly = TRUE)
library(survival)
fit <- coxph(Surv(rtime, recur) ~ age + meno + grade + nodes + pgr + hormon, data = rotterdam,
             ties = "efron")
writeLines(sprintf("%.17g", c(coef(fit), fit$loglik[2])), args[1])
"""


def rscript(code: str, tmp_path, *args: str) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not on PATH")
    script = tmp_path / "reference.R"
    script.write_text(code)
    out = subprocess.run(["Rscript", str(script), *args], capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.returncode == 0, out.stderr


def subset(data: MultiEventData, rows: np.ndarray) -> MultiEventData:
    return MultiEventData(data.times[rows], data.events[rows], data.X[rows], data.covariates,
                          data.event_names, None if data.ids is None else data.ids[rows])


@pytest.fixture(scope="module")
def rot():
    return prepared("rotterdam")


@pytest.fixture(scope="module")
def sub(rot):
    """400 random subjects plus the 2 with recurrence and death on the same day."""
    rng = np.random.default_rng(20240517)
    tied = np.flatnonzero((rot.events == 1).all(axis=1) & (rot.times[:, 0] == rot.times[:, 1]))
    rows = np.union1d(rng.choice(len(rot), 400, replace=False), tied)
    return subset(rot, rows)


@pytest.fixture(scope="module")
def ms_fit(r_session, sub):
    return fit_multistate_cox(sub, COVS)


# ------------------------------------------------------------------ layout (no R needed)


def test_rotterdam_layout_counts(rot):
    rows, notes = illness_death_rows(rot, COVS)
    # states entered: recurrence = all 1518 recurrences; death without recurrence = 195;
    # death after recurrence = 1077 (the 2 same-day cases included); second rows = 1518 - 11
    counts = rows["state"].value_counts()
    assert counts["recurrence"] == 441 + 1077
    assert counts["death"] == 195
    assert counts["death after recurrence"] == 1077
    assert len(rows) == 2982 + 1518 - 11
    assert counts["censored"] == len(rows) - 1518 - 195 - 1077
    assert notes[0].startswith("2 subject(s) with recurrence and death at the same time")
    assert notes[1].startswith("43 subject(s) with death but no recurrence")
    # the 2 ties: recurrence moved back half a day (the smallest gap between days is 1)
    tied = np.flatnonzero((rot.events == 1).all(axis=1) & (rot.times[:, 0] == rot.times[:, 1]))
    assert len(tied) == 2
    for i in tied:
        r = rows.loc[rows["id"] == i + 1]
        t = rot.times[i, 0]
        assert r[["tstart", "tstop"]].to_numpy().tolist() == [[0.0, t - 0.5], [t - 0.5, t]]
        assert r["state"].tolist() == ["recurrence", "death after recurrence"]
    # the 43: event-free until death
    gap = np.flatnonzero((rot.events[:, 0] == 0) & (rot.events[:, 1] == 1)
                         & (rot.times[:, 0] < rot.times[:, 1]))
    assert len(gap) == 43
    last = rows.drop_duplicates("id", keep="last").set_index("id")
    assert (last.loc[gap + 1, "tstop"].to_numpy() == rot.times[gap, 1]).all()
    assert (last.loc[gap + 1, "state"] == "death").all()
    assert (rows["tstop"] > rows["tstart"]).all()


def test_explicit_tie_shift_and_rules_on_a_hand_case():
    # subjects: A then B; A only; B only; censored; A and B tied at 10; A with B censored at tA
    times = np.array([[2.0, 5.0], [3.0, 8.0], [4.0, 6.0], [7.0, 9.0], [10.0, 10.0], [6.0, 6.0]])
    events = np.array([[1, 1], [1, 0], [0, 1], [0, 0], [1, 1], [1, 0]])
    data = MultiEventData(times, events, np.arange(6.0)[:, None], ("x",), ("A", "B"))
    rows, _ = illness_death_rows(data, tie_shift=0.25)
    table = rows[["id", "tstart", "tstop", "state"]].to_numpy()
    got = [(int(i), s, t, str(st)) for i, s, t, st in table]
    assert got == [(1, 0.0, 2.0, "A"), (1, 2.0, 5.0, "B after A"), (2, 0.0, 3.0, "A"),
                   (2, 3.0, 8.0, "censored"), (3, 0.0, 6.0, "B"), (4, 0.0, 9.0, "censored"),
                   (5, 0.0, 9.75, "A"), (5, 9.75, 10.0, "B after A"), (6, 0.0, 6.0, "A")]
    # default shift: half the smallest gap between distinct times {0, 2, ..., 10} = 0.5
    rows, notes = illness_death_rows(data)
    assert rows.loc[rows["id"] == 5, "tstop"].tolist() == [9.5, 10.0]
    assert "moved back by 0.5" in notes[0]


def test_errors(rot):
    three = MultiEventData(np.ones((3, 3)), np.ones((3, 3), dtype=np.int64), np.zeros((3, 1)),
                           ("x",), ("a", "b", "c"))
    with pytest.raises(InvalidParameterError, match="K = 3"):
        fit_multistate_cox(three)
    with pytest.raises(InvalidParameterError, match="must differ"):
        fit_multistate_cox(rot, COVS, entry_event=1, terminal_event="death")
    with pytest.raises(InvalidParameterError, match=r"\['tumour size'\]"):
        fit_multistate_cox(rot, ["age", "tumour size"])
    with pytest.raises(InvalidParameterError, match=r"\['tumour size'\]"):
        fit_cox_per_event(rot, ["tumour size"])
    with pytest.raises(InvalidParameterError, match="entry_event"):
        fit_multistate_cox(rot, COVS, entry_event=2)
    with pytest.raises(InvalidParameterError, match="at least one covariate"):
        fit_multistate_cox(rot, [])
    backwards = MultiEventData(np.array([[5.0, 3.0], [2.0, 4.0]]), np.array([[1, 1], [1, 1]]),
                               np.zeros((2, 1)), ("x",), ("A", "B"), np.array([101, 102]))
    with pytest.raises(InvalidSurvivalDataError, match=r"ids \[101\]"):
        fit_multistate_cox(backwards)


def test_without_r_says_there_is_no_native_engine():
    code = (
        "from pysurvbridge.classical.multistate import fit_multistate_cox\n"
        "from pysurvbridge.data.datasets import prepared\n"
        "from pysurvbridge.errors import RUnavailableError\n"
        "try:\n"
        "    fit_multistate_cox(prepared('rotterdam', source='csv'), ['age', 'nodes'])\n"
        "except RUnavailableError as e:\n"
        "    print('ERR', e)\n"
    )
    out = run_without_rpy2(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR multi-state Cox has no native engine, only R")


# ------------------------------------------------------------------ against R


@pytest.mark.r
def test_multistate_equals_direct_r(ms_fit, tmp_path):
    rows = ms_fit.rows.drop(columns=["subject"])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    newdata = rows.drop_duplicates("id")[COVS].iloc[[0, 50, 100, 200, 300]].reset_index(drop=True)
    newdata.to_csv(tmp_path / "new.csv", index=False)
    names = ("rows.csv", "new.csv", "coef.csv", "loglik.txt", "pstate.csv")
    files = [str(tmp_path / f) for f in names]
    rscript(MULTISTATE_R, tmp_path, *files)
    ref = pd.read_csv(files[2])
    table = ms_fit.coefficients
    code = {t: c for t, c in zip(table["transition"].unique(), TRANSITIONS)}
    pairs = zip(table["transition"], table["covariate"])
    assert ref["name"].tolist() == [f"{v}_{code[t]}" for t, v in pairs]
    np.testing.assert_allclose(table["coef"], ref["coef"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(table["se(coef)"], ref["se"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(table["robust se"], ref["robust"], rtol=0, atol=1e-8)
    loglik = np.loadtxt(files[3])
    assert ms_fit.loglik == pytest.approx(loglik[1], abs=1e-8)
    assert ms_fit.loglik_null == pytest.approx(loglik[0], abs=1e-8)
    assert ms_fit.n_params == 3 * len(COVS) and ms_fit.engine == "r"
    # occupancy at R's own times, R layout pstate[time, row, state] read column-major
    pstate = pd.read_csv(files[4])
    time = pstate["time"].to_numpy()
    expected = pstate.drop(columns="time").to_numpy().reshape(len(time), 4, len(newdata))
    expected = expected.transpose(2, 0, 1)  # (row, time, state)
    for method in ("survfit", "baseline"):
        got = ms_fit.predict_occupancy(newdata, time, method=method)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8)


@pytest.mark.r
def test_baseline_method_equals_survfit_per_row(ms_fit, sub):
    X = sub.X[:30][:, [sub.covariates.index(c) for c in COVS]]
    times = np.concatenate([[0.0, 1.0], np.unique(ms_fit.rows["tstop"]), [1e5]])
    fast = ms_fit.predict_occupancy(X, times)
    slow = ms_fit.predict_occupancy(X, times, method="survfit")
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-10)


@pytest.mark.r
@pytest.mark.parametrize("method", ["baseline", "survfit"])
def test_occupancy_is_a_distribution_and_event_probabilities_grow(ms_fit, sub, method):
    X = pd.DataFrame(sub.X[:25], columns=list(sub.covariates))
    times = np.linspace(0, 8000, 161)
    occ = ms_fit.predict_occupancy(X, times, method=method)
    assert occ.shape == (25, 161, 4)
    assert (occ >= 0).all() and (occ <= 1).all()
    np.testing.assert_allclose(occ.sum(axis=2), 1.0, rtol=0, atol=1e-10)
    first = ms_fit.rows["tstop"].min()
    assert (occ[:, times < first] == [1.0, 0.0, 0.0, 0.0]).all()
    prob = ms_fit.predict_event_probability(X, times, method=method)
    assert prob.shape == (25, 2, 161)
    assert (np.diff(prob, axis=2) >= -1e-14).all()
    np.testing.assert_allclose(prob[:, 0], occ[..., 1] + occ[..., 3], rtol=0, atol=0)
    np.testing.assert_allclose(prob[:, 1], occ[..., 2] + occ[..., 3], rtol=0, atol=0)
    np.testing.assert_allclose(ms_fit.predict_survival(X, times, method=method), 1 - prob, atol=0)


@pytest.mark.r
def test_event_columns_follow_the_data_order(ms_fit, sub):
    swapped = MultiEventData(sub.times[:, ::-1], sub.events[:, ::-1], sub.X, sub.covariates,
                             sub.event_names[::-1], sub.ids)
    fit = fit_multistate_cox(swapped, COVS, entry_event="recurrence", terminal_event="death")
    assert fit.event_columns == (1, 0)
    np.testing.assert_allclose(fit.coefficients["coef"], ms_fit.coefficients["coef"], atol=1e-12)
    X = pd.DataFrame(sub.X[:5], columns=list(sub.covariates))
    times = [500.0, 2000.0]
    np.testing.assert_allclose(fit.predict_event_probability(X, times)[:, ::-1],
                               ms_fit.predict_event_probability(X, times), atol=1e-12)


@pytest.mark.r
def test_per_event_cox_equals_fit_cox_and_direct_r(r_session, rot, tmp_path):
    per = fit_cox_per_event(rot, COVS)
    cols = [rot.covariates.index(c) for c in COVS]
    for k in range(2):
        single = SurvivalData.from_arrays(rot.times[:, k], rot.events[:, k], rot.X[:, cols], COVS)
        np.testing.assert_array_equal(per.fits[k].coef, fit_cox(single, COVS).coef)
    rscript(PER_EVENT_R, tmp_path, str(tmp_path / "out.txt"))
    ref = np.loadtxt(tmp_path / "out.txt")
    np.testing.assert_allclose(per.fits[0].coef.to_numpy(), ref[:-1], rtol=0, atol=1e-8)
    assert per.fits[0].loglik == pytest.approx(ref[-1], abs=1e-8)
    assert per.n_params == 2 * len(COVS) and per.engine == "r"
    times = [365.0, 1825.0, 3650.0]
    S = per.predict_survival(rot.X[:4, cols], times)
    assert S.shape == (4, 2, 3)
    death = per.fits[1].predict_survival(rot.X[:4, cols], times).to_numpy()
    np.testing.assert_array_equal(S[:, 1], death)
