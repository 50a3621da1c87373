"""Mean cumulative function against R's survfit on (start, stop] data.

Reference: survfit(Surv(start, stop, event) ~ rx, data = bladder2, id = id): $cumhaz and
$std.chaz (infinitesimal jackknife, robust) at the event times; without id, $std.chaz is the
Poisson (Nelson-Aalen) standard error.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from pysurvbridge.classical import mean_cumulative_function
from pysurvbridge.data import RecurrentData, load_bladder2
from pysurvbridge.errors import InvalidParameterError


@pytest.fixture(scope="module")
def rec():
    return RecurrentData.from_frame(load_bladder2(), id="id", start="start", stop="stop",
                                    event="event", covariates=["rx", "number", "size"])


@pytest.mark.r
@pytest.mark.parametrize("variance", ["robust", "poisson"])
def test_equals_r_survfit(r_session, rec, variance):
    r = r_session
    b2 = load_bladder2("r")
    f = r.formula("Surv", ["start", "stop", "event"], ["rx"], namespace="survival")
    kw = {"id": b2["id"].to_numpy()} if variance == "robust" else {}
    sf = r.call("survfit", f, data=r.to_r(b2), package="survival", **kw)
    has_event = r.to_numpy(sf.rx2("n.event")) > 0
    ours = mean_cumulative_function(rec, by="rx", variance=variance).table
    np.testing.assert_allclose(ours["mcf"], r.to_numpy(sf.rx2("cumhaz"))[has_event], atol=1e-12)
    np.testing.assert_allclose(ours["se"], r.to_numpy(sf.rx2("std.chaz"))[has_event], atol=1e-12)
    np.testing.assert_allclose(ours["n_risk"], r.to_numpy(sf.rx2("n.risk"))[has_event])


def test_closed_form_for_one_group(rec):
    """Without censoring before t, MCF(t) is the mean number of events per subject by t."""
    m = mean_cumulative_function(rec)
    first = rec.frame.groupby("id")["stop"].max().min()  # everyone is followed to this time
    t = m.table.loc[m.table["time"] <= first, "time"].max()
    events_by_t = ((rec.frame["stop"] <= t) & (rec.frame["event"] == 1)).sum()
    assert m.at([t])[0] == pytest.approx(events_by_t / rec.n_subjects)
    assert m.at([0.0])[0] == 0.0


def test_group_by_mapping_and_errors(rec):
    halves = {i: ("low" if i <= 40 else "high") for i in rec.ids}
    m = mean_cumulative_function(rec, by=halves)
    assert set(m.table["group"]) == {"low", "high"}
    with pytest.raises(InvalidParameterError, match="not a covariate"):
        mean_cumulative_function(rec, by="age")
    with pytest.raises(InvalidParameterError, match="no group for subject"):
        mean_cumulative_function(rec, by={1: "a"})
    with pytest.raises(InvalidParameterError, match="variance must be"):
        mean_cumulative_function(rec, variance="bootstrap")


def test_plot_draws_one_step_curve_per_group(rec, tmp_path):
    ax = mean_cumulative_function(rec, by="rx").plot()
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rx = 1.0", "rx = 2.0"]
    ax.figure.savefig(tmp_path / "mcf.png")
    assert (tmp_path / "mcf.png").stat().st_size > 1000
