"""Every validation error of the data containers: right class, words, column and rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.data import MultiEventData, RecurrentData, SurvivalData
from pysurvbridge.errors import InvalidSurvivalDataError


def recurrent_frame() -> pd.DataFrame:
    """Three subjects; subject 7 has two events, subject 8 none, subject 9 one."""
    return pd.DataFrame({
        "pid": [7, 7, 7, 8, 9, 9],
        "t0": [0.0, 3.0, 5.0, 0.0, 0.0, 2.0],
        "t1": [3.0, 5.0, 9.0, 4.0, 2.0, 6.0],
        "status": [1, 1, 0, 0, 1, 0],
        "age": [50.0, 50.0, 50.0, 61.0, 45.0, 45.0],
        "dose": [1.0, 2.0, 2.0, 1.0, 0.0, 0.0],
    })


def build(df: pd.DataFrame, **kw) -> RecurrentData:
    args = dict(id="pid", start="t0", stop="t1", event="status", covariates=["age", "dose"])
    args.update(kw)
    return RecurrentData.from_frame(df, **args)


def test_valid_recurrent_data_and_event_numbers():
    rec = build(recurrent_frame())
    assert rec.n_subjects == 3 and rec.n_events == 3 and len(rec) == 6
    # enum = 1 + events before the row
    assert rec.frame["enum"].tolist() == [1, 2, 3, 1, 1, 2]
    assert rec.time_varying == ("dose",) and rec.time_fixed == ("age",)
    assert rec.events_per_subject().to_dict() == {7: 2, 8: 0, 9: 1}


@pytest.mark.parametrize("role,col", [("id", "pid"), ("start", "t0"), ("stop", "t1"),
                                      ("event", "status")])
def test_missing_column_names_role_and_column(role, col):
    df = recurrent_frame().drop(columns=[col])
    with pytest.raises(InvalidSurvivalDataError, match=rf"column '{col}' \(given as {role}=\) is not in the data"):
        build(df)


def test_missing_covariate_column():
    with pytest.raises(InvalidSurvivalDataError, match=r"'weight' \(given as covariates\[1\]=\)"):
        build(recurrent_frame(), covariates=["age", "weight"])


@pytest.mark.parametrize("col", ["pid", "t0", "t1", "status"])
def test_nan_names_column_and_rows(col):
    df = recurrent_frame().astype({col: float})
    df.loc[4, col] = np.nan
    with pytest.raises(InvalidSurvivalDataError, match=rf"column '{col}'.*missing values \(NaN\) in rows \[4\]"):
        build(df)


def test_nan_in_covariate():
    df = recurrent_frame()
    df.loc[2, "age"] = np.nan
    with pytest.raises(InvalidSurvivalDataError, match=r"'age' has missing values \(NaN\) in rows \[2\] \(id \[7\]\)"):
        build(df)


def test_infinite_time():
    df = recurrent_frame()
    df.loc[3, "t1"] = np.inf
    with pytest.raises(InvalidSurvivalDataError, match=r"'t1' has infinite values in rows \[3\]"):
        build(df)


def test_negative_times():
    df = recurrent_frame()
    df.loc[0, "t0"] = -1.0
    with pytest.raises(InvalidSurvivalDataError, match=r"'t0' has negative times in rows \[0\] \(id \[7\]\)"):
        build(df)


def test_stop_before_start():
    df = recurrent_frame()
    df.loc[5, ["t0", "t1"]] = [6.0, 2.0]
    with pytest.raises(InvalidSurvivalDataError, match=r"stop is before start in rows \[5\] \(id \[9\]\)"):
        build(df)


def test_zero_length_is_an_error_by_default():
    df = recurrent_frame()
    df.loc[3, "t1"] = 0.0
    with pytest.raises(InvalidSurvivalDataError, match=r"zero-length intervals.*rows \[3\].*drop_zero_length=True"):
        build(df)


def test_drop_zero_length_reports_what_it_dropped():
    df = recurrent_frame()
    df.loc[3, "t1"] = 0.0  # subject 8's only row
    rec = build(df, drop_zero_length=True)
    assert rec.n_subjects == 2 and len(rec) == 5
    assert rec.notes == ("dropped 1 zero-length interval(s) (start == stop); subject(s) [8] "
                         "had no other rows and were removed",)
    assert len(df) == 6, "the caller's frame is untouched"


def test_overlapping_intervals():
    df = recurrent_frame()
    df.loc[1, "t0"] = 2.0  # (2, 5] overlaps (0, 3]
    with pytest.raises(InvalidSurvivalDataError, match=r"overlap.*rows \[1\] \(id \[7\]\)"):
        build(df)


def test_unsorted_intervals():
    df = recurrent_frame().iloc[[1, 0, 2, 3, 4, 5]]
    with pytest.raises(InvalidSurvivalDataError, match=r"not in time order.*rows \[0\] \(id \[7\]\)"):
        build(df)


def test_interleaved_subjects_are_grouped_not_rejected():
    df = recurrent_frame().iloc[[0, 3, 1, 4, 2, 5]]
    rec = build(df)
    assert rec.frame["id"].tolist() == [7, 7, 7, 8, 9, 9]


def test_event_codes_outside_allowed_set():
    df = recurrent_frame()
    df.loc[[1, 4], "status"] = 2
    with pytest.raises(InvalidSurvivalDataError, match=r"event codes \[2.0\] outside the allowed set \[0, 1\] in rows \[1, 4\]"):
        build(df)


def test_no_events_at_all():
    df = recurrent_frame().assign(status=0)
    with pytest.raises(InvalidSurvivalDataError, match="no events at all"):
        build(df)


def test_non_numeric_covariate_needs_an_encoding():
    df = recurrent_frame().assign(arm=["a", "a", "a", "b", "c", "c"])
    with pytest.raises(InvalidSurvivalDataError, match=r"covariate 'arm' is not numeric.*one_hot=\['arm'\]"):
        build(df, covariates=["age", "arm"])
    rec = build(df, covariates=["age", "arm"], one_hot=["arm"])
    assert rec.covariates == ("age", "arm[b]", "arm[c]")
    assert rec.frame["arm[c]"].tolist() == [0, 0, 0, 0, 1, 1]


def test_reserved_covariate_name():
    df = recurrent_frame().rename(columns={"dose": "enum"})
    with pytest.raises(InvalidSurvivalDataError, match="reserved"):
        build(df, covariates=["age", "enum"])


def test_wlw_refuses_time_varying_covariates():
    with pytest.raises(InvalidSurvivalDataError, match=r"time-fixed covariates.*\['dose'\]"):
        build(recurrent_frame()).wlw(2)


# ---------------------------------------------------------------- single event


def survival_frame() -> pd.DataFrame:
    return pd.DataFrame({"sid": [1, 2, 3, 4], "time": [5.0, 3.0, 8.0, 1.0],
                         "dead": [1, 0, 1, 0], "x": [0.1, 0.2, 0.3, 0.4]})


def test_survival_data_valid():
    srv = SurvivalData.from_frame(survival_frame(), time="time", event="dead", covariates=["x"], id="sid")
    assert len(srv) == 4 and srv.n_events == 2 and srv.X.shape == (4, 1)
    with pytest.raises(ValueError):
        srv.time[0] = 1.0  # arrays are read-only


def test_survival_duplicate_ids():
    df = survival_frame().assign(sid=[1, 2, 2, 4])
    with pytest.raises(InvalidSurvivalDataError, match=r"duplicate ids in rows \[1, 2\]"):
        SurvivalData.from_frame(df, time="time", event="dead", id="sid")


@pytest.mark.parametrize("col,value,message", [
    ("time", np.nan, r"'time' has missing values \(NaN\) in rows \[2\]"),
    ("time", -2.0, r"'time' has negative times in rows \[2\]"),
    ("dead", 3, r"'dead' has event codes \[3.0\] outside the allowed set \[0, 1\] in rows \[2\]"),
    ("dead", np.nan, r"'dead' has missing values \(NaN\) in rows \[2\]"),
])
def test_survival_bad_values(col, value, message):
    df = survival_frame().astype({col: float})
    df.loc[2, col] = value
    with pytest.raises(InvalidSurvivalDataError, match=message):
        SurvivalData.from_frame(df, time="time", event="dead")


def test_survival_no_events():
    with pytest.raises(InvalidSurvivalDataError, match="no events at all"):
        SurvivalData.from_frame(survival_frame().assign(dead=0), time="time", event="dead")


def test_survival_not_a_frame():
    with pytest.raises(InvalidSurvivalDataError, match="expects a pandas DataFrame, got ndarray"):
        SurvivalData.from_frame(np.zeros((3, 2)), time="time", event="dead")


# ---------------------------------------------------------------- multi-event


def test_competing_risks_coding_expands_to_k_columns():
    df = pd.DataFrame({"t": [2.0, 4.0, 6.0, 8.0], "cause": [0, 1, 2, 1], "x": [1.0, 2.0, 3.0, 4.0]})
    me = MultiEventData.from_competing_risks(df, time="t", event="cause", covariates=["x"])
    assert me.n_event_types == 2
    assert me.events.tolist() == [[0, 0], [1, 0], [0, 1], [1, 0]]
    assert me.times.tolist() == [[2.0, 2.0], [4.0, 4.0], [6.0, 6.0], [8.0, 8.0]]


def test_competing_risks_codes_outside_range():
    df = pd.DataFrame({"t": [2.0, 4.0, 6.0], "cause": [0, 1, 5]})
    with pytest.raises(InvalidSurvivalDataError, match=r"event codes \[5.0\] outside the allowed set \[0, 1, 2\] in rows \[2\]"):
        MultiEventData.from_competing_risks(df, time="t", event="cause", n_events=2)


def test_multi_event_columns_and_codes():
    df = pd.DataFrame({"tr": [1.0, 2.0], "td": [3.0, 2.0], "er": [1, 0], "ed": [0, 2]})
    with pytest.raises(InvalidSurvivalDataError, match=r"'ed' has event codes outside .* rows \[1\]"):
        MultiEventData.from_frame(df, times=["tr", "td"], events=["er", "ed"])
    with pytest.raises(InvalidSurvivalDataError, match="same number"):
        MultiEventData.from_frame(df, times=["tr", "td"], events=["er"])
    with pytest.raises(InvalidSurvivalDataError, match="no events at all"):
        MultiEventData.from_frame(df.assign(er=0, ed=0), times=["tr", "td"], events=["er", "ed"])
