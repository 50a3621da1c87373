"""make_intervals and the break helpers, against hand-worked cases and the paper's numbers.

Source of the rules: Gensheimer & Narasimhan (2019), PeerJ 7:e6257, section "Model" and the
censoring rule of its make_surv_array (censored in the second half of an interval = survived it).
"""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge.data.intervals import (
    breaks_equal_width,
    breaks_event_quantiles,
    breaks_half_life,
    make_intervals,
)
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

BREAKS = [0.0, 10.0, 20.0, 30.0]  # intervals [0,10), [10,20), [20,30); midpoints 5, 15, 25


@pytest.mark.parametrize("time,event,survived,failed", [
    (12.0, 1, [1, 0, 0], [0, 1, 0]),   # event in interval 2: survived 1, failed 2
    (10.0, 1, [1, 0, 0], [0, 1, 0]),   # event exactly at a break belongs to the next interval
    (3.0, 1, [0, 0, 0], [1, 0, 0]),
    (35.0, 1, [1, 1, 1], [0, 0, 0]),   # event after the last break: survived all, no failure
    (14.0, 0, [1, 0, 0], [0, 0, 0]),   # censored in the first half of [10,20): no credit
    (15.0, 0, [1, 1, 0], [0, 0, 0]),   # censored at the midpoint: credit for [10,20)
    (19.0, 0, [1, 1, 0], [0, 0, 0]),
    (0.0, 0, [0, 0, 0], [0, 0, 0]),
    (40.0, 0, [1, 1, 1], [0, 0, 0]),
])
def test_hand_worked_rows(time, event, survived, failed):
    s, f = make_intervals([time], [event], BREAKS)
    assert s[0].tolist() == survived and f[0].tolist() == failed


def test_each_event_inside_the_breaks_fails_exactly_once():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 40, 500)
    e = rng.binomial(1, 0.6, 500)
    s, f = make_intervals(t, e, BREAKS)
    assert f.sum(axis=1).tolist() == ((e == 1) & (t < 30)).astype(int).tolist()
    assert not (s * f).any()  # never both in one interval
    # survival credit is a prefix: 1s then 0s
    assert (np.diff(s, axis=1) <= 0).all()


def test_paper_breaks():
    # paper, simulated-data example: np.arange(0., 365.*5, 365./8): 40 breaks, 39 intervals to 1779.4 days
    b = breaks_equal_width(5 * 365, width=365 / 8)
    assert len(b) == 40 and b[-1] == pytest.approx(39 * 365 / 8)
    # half-life spacing -ln(1 - x) * 365 / ln 2, x = 0, 0.05, ..., 0.95: last = 365 * log2(20) = 1577.5
    h = breaks_half_life(19)
    assert len(h) == 20 and h[-1] == pytest.approx(365 * np.log2(20))
    assert h[1] == pytest.approx(-np.log(0.95) * 365 / np.log(2))
    assert breaks_equal_width(100, 4).tolist() == [0, 25, 50, 75, 100]


def test_event_quantile_breaks_hold_equal_events():
    rng = np.random.default_rng(1)
    t = rng.exponential(100, 4000)
    e = np.ones(4000, dtype=int)
    b = breaks_event_quantiles(t, e, 8)
    _, f = make_intervals(t, e, b)
    assert len(b) == 9 and b[0] == 0
    assert f.sum() == 4000  # every event falls inside (the last break sits just past the maximum)
    assert np.ptp(f.sum(axis=0)) <= 2


@pytest.mark.parametrize("breaks,match", [
    ([0.0], "at least 2"), ([1.0, 2.0], "start at 0"), ([0.0, 5.0, 5.0], r"breaks\[1\] = 5.0"),
    ([0.0, np.nan], "finite"),
])
def test_bad_breaks(breaks, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_intervals([1.0], [1], breaks)


def test_bad_times_and_events_name_rows():
    with pytest.raises(InvalidSurvivalDataError, match=r"rows \[1\]"):
        make_intervals([1.0, -2.0], [1, 0], BREAKS)
    with pytest.raises(InvalidSurvivalDataError, match=r"event must be 0 or 1; bad values at rows \[0\]"):
        make_intervals([1.0, 2.0], [2, 0], BREAKS)
    with pytest.raises(InvalidSurvivalDataError, match="all subjects are censored"):
        breaks_event_quantiles([1.0, 2.0], [0, 0], 3)
