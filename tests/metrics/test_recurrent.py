"""Recurrent-event C (R survival::concordance on counting-process data) and landmark Brier."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.data.datasets import load_bladder2
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics import brier_score, concordance_recurrent, gaps_after_landmark, landmark_brier_score


def bladder2_with_risk():
    df = load_bladder2(source="csv")
    # a risk that changes between a subject's intervals: the enum of the interval matters
    risk = 0.3 * df["number"].to_numpy() - 0.5 * (df["rx"].to_numpy() == 2) + 0.2 * df["enum"].to_numpy()
    return df, risk


@pytest.mark.r
def test_equals_r_concordance_on_counting_process_data(r_session):
    """survival::concordance(Surv(start, stop, event) ~ risk, data = bladder2, reverse = TRUE):
    counts and C."""
    df, risk = bladder2_with_risk()
    frame = pd.DataFrame({"start": df["start"], "stop": df["stop"], "event": df["event"], "risk": risk})
    f = r_session.formula("Surv", ["start", "stop", "event"], ["risk"], namespace="survival")
    fit = r_session.call("concordance", f, data=r_session.to_r(frame), reverse=True, package="survival")
    expected = float(r_session.to_numpy(fit.rx2("concordance"))[0])
    counts = r_session.to_numpy(fit.rx2("count"))
    c, got = concordance_recurrent(risk, df["start"], df["stop"], df["event"], return_counts=True)
    assert c == pytest.approx(expected, abs=1e-12)
    assert (got["concordant"], got["discordant"], got["tied_risk"]) == tuple(float(x) for x in counts[:3])


def test_gaps_after_landmark_by_hand():
    """Subject 1: events at 3 and 8, follow-up to 10. Subject 2: no event, follow-up to 4.
    Subject 3: entered at 6 (delayed entry). Subject 4: follow-up ended at 5.
    Landmark 5: subject 1 -> next event at 8, gap 3 (event); subject 2 ended at 4 (out);
    subject 3 not entered (out); subject 4 ended at 5 (out, its follow-up must pass 5)."""
    frame = pd.DataFrame({
        "id": [1, 1, 1, 2, 3, 4],
        "start": [0.0, 3.0, 8.0, 0.0, 6.0, 0.0],
        "stop": [3.0, 8.0, 10.0, 4.0, 9.0, 5.0],
        "event": [1, 1, 0, 0, 1, 0],
    })
    gaps = gaps_after_landmark(frame["start"], frame["stop"], frame["event"], frame["id"], landmark=5.0)
    assert gaps.to_dict("list") == {"id": [1], "time": [3.0], "event": [1]}
    gaps = gaps_after_landmark(frame["start"], frame["stop"], frame["event"], frame["id"], landmark=1.0)
    assert gaps.to_dict("list") == {"id": [1, 2, 4], "time": [2.0, 3.0, 4.0], "event": [1, 0, 0]}


def test_landmark_brier_is_the_brier_score_of_the_gaps():
    df, _ = bladder2_with_risk()
    landmark, horizons = 12.0, np.array([3.0, 6.0, 12.0])
    gaps = gaps_after_landmark(df["start"], df["stop"], df["event"], df["id"], landmark)
    S = np.exp(-np.outer(np.full(len(gaps), 0.05), horizons))
    np.testing.assert_allclose(
        landmark_brier_score(S, horizons, df["start"], df["stop"], df["event"], df["id"], landmark=landmark),
        brier_score(S, horizons, gaps["time"], gaps["event"]))


def test_bad_intervals_are_named():
    with pytest.raises(InvalidParameterError, match=r"start must be < stop; rows \[1\]"):
        concordance_recurrent([0.1, 0.2], [0.0, 3.0], [2.0, 3.0], [1, 0])
