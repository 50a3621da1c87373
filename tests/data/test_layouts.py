"""AG, PWP and WLW layouts built from bladder1 reproduce R survival's bladder and bladder2.

Reference: survival 3.5-3's own data sets `bladder` (WLW layout) and `bladder2` (AG layout),
read from R when it is available and otherwise from the shipped CSV copies of the same frames.
The survival help page ?bladder defines them: the 85 placebo/thiotepa subjects with nonzero
follow-up, first four recurrences, deaths censor, no follow-up kept after the 4th recurrence.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysurvbridge.data import RecurrentData, load_bladder, load_bladder1, load_bladder2


@pytest.fixture(scope="module", params=["csv", "r"])
def source(request):
    if request.param == "r":
        request.getfixturevalue("r_session")
    return request.param


@pytest.fixture(scope="module")
def bladder_subset(source):
    """bladder1 restricted as ?bladder describes, with R's rx coding (1 placebo, 2 thiotepa)."""
    b1 = load_bladder1(source)
    df = b1.loc[b1["treatment"] != "pyridoxine"].copy()
    df["event"] = (df["status"] == 1).astype(int)
    df["rx"] = np.where(df["treatment"] == "placebo", 1, 2)
    rec = RecurrentData.from_frame(df, id="id", start="start", stop="stop", event="event",
                                   covariates=["rx", "number", "size"], drop_zero_length=True)
    renumber = {old: new for new, old in enumerate(rec.ids, start=1)}  # R's ids run 1..85
    return rec, renumber


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame, renumber, cols):
    ours = ours.assign(id=ours["id"].map(renumber))
    pd.testing.assert_frame_equal(ours[cols].astype(float).reset_index(drop=True),
                                  theirs[cols].astype(float).reset_index(drop=True),
                                  check_exact=True)


def test_preparation_matches_help_page(bladder_subset):
    rec, _ = bladder_subset
    assert rec.n_subjects == 85
    assert rec.notes == ("dropped 1 zero-length interval(s) (start == stop); subject(s) [1] had "
                         "no other rows and were removed",)


def test_andersen_gill_equals_bladder2(bladder_subset, source):
    rec, renumber = bladder_subset
    ag = rec.andersen_gill(max_events=4)
    assert len(ag) == 178
    _compare(ag, load_bladder2(source), renumber,
             ["id", "rx", "number", "size", "start", "stop", "event", "enum"])


def test_pwp_total_and_gap_equal_bladder2(bladder_subset, source):
    rec, renumber = bladder_subset
    b2 = load_bladder2(source)
    cols = ["id", "rx", "number", "size", "start", "stop", "event", "enum"]
    _compare(rec.pwp("total", max_events=4), b2, renumber, cols)
    gap = b2.assign(stop=b2["stop"] - b2["start"], start=0)  # gap time: clock reset at each event
    _compare(rec.pwp("gap", max_events=4), gap, renumber, cols)


def test_wlw_equals_bladder(bladder_subset, source):
    rec, renumber = bladder_subset
    wlw = rec.wlw(max_events=4)
    assert len(wlw) == 340 and (wlw["start"] == 0).all()
    _compare(wlw, load_bladder(source), renumber, ["id", "rx", "number", "size", "stop", "event", "enum"])


def test_without_truncation_the_12_extra_follow_ups_appear(bladder_subset):
    """?bladder: keeping follow-up beyond the 4th recurrence adds time for 12 subjects."""
    rec, _ = bladder_subset
    full = rec.andersen_gill()
    capped = rec.andersen_gill(max_events=4)
    extra = full.loc[full["enum"] > 4, "id"].unique()
    with_extra_time = [i for i in extra
                       if full.loc[full["id"] == i, "stop"].max() > capped.loc[capped["id"] == i, "stop"].max()]
    assert len(with_extra_time) == 12


@st.composite
def counting_process(draw):
    n = draw(st.integers(1, 8))
    rows = []
    for i in range(n):
        k = draw(st.integers(1, 6))
        cuts = sorted(set(draw(st.lists(st.integers(1, 100), min_size=k, max_size=k))))
        start = 0
        for j, c in enumerate(cuts):
            last = j == len(cuts) - 1
            rows.append((i, start, c, draw(st.integers(0, 1)) if last else 1, float(i % 2)))
            start = c
    df = pd.DataFrame(rows, columns=["id", "start", "stop", "event", "x"])
    if df["event"].sum() == 0:
        df.loc[0, "event"] = 1
    return df


@settings(max_examples=60, deadline=None)
@given(counting_process(), st.integers(1, 5))
def test_layout_invariants(df, k):
    rec = RecurrentData.from_frame(df, id="id", start="start", stop="stop", event="event", covariates=["x"])
    per = rec.events_per_subject()
    wlw = rec.wlw(k)
    assert len(wlw) == k * rec.n_subjects
    assert wlw["event"].sum() == np.minimum(per, k).sum()
    ag = rec.andersen_gill(max_events=k)
    assert ag["event"].sum() == np.minimum(per, k).sum()
    assert (ag["stop"] > ag["start"]).all()
    gap = rec.pwp("gap")
    np.testing.assert_array_equal(gap["stop"], rec.frame["stop"] - rec.frame["start"])
    # every WLW stop is either an event time of the subject or its end of follow-up
    end = rec.frame.groupby("id")["stop"].max()
    censored = wlw.loc[wlw["event"] == 0]
    np.testing.assert_array_equal(censored["stop"], censored["id"].map(end))
