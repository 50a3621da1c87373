"""history_sequences: hand-worked rows of R's bladder1 and the no-leakage property.

bladder1 (R survival 3.5-3): subject 6 (placebo, number 4, size 1) has rows (0, 6] with a
recurrence and (6, 10] censored; subject 10 has rows (0, 12] event, (12, 16] event, (16, 18].
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.data import RecurrentData, bladder1_recurrent
from pysurvbridge.data.sequences import history_sequences
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError


@pytest.fixture(scope="module")
def bladder1():
    return bladder1_recurrent()


def _rows_of(seq, subject):
    return np.flatnonzero(seq.ids == subject)


def test_hand_worked_subject_6(bladder1):
    seq = history_sequences(bladder1, seq_len=3)
    assert seq.features == ("treatment[pyridoxine]", "treatment[thiotepa]", "number", "size", "recurrences")
    first, second = _rows_of(seq, 6)
    np.testing.assert_array_equal(seq.X[first], [[0, 0, 4, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(seq.X[second], [[0, 0, 4, 1, 0], [0, 0, 4, 1, 1], [0, 0, 0, 0, 0]])
    assert seq.mask[second].tolist() == [True, True, False] and seq.lengths[second] == 2
    assert (seq.start[second], seq.stop[second], seq.event[second]) == (6.0, 10.0, 0)


def test_long_histories_keep_the_last_steps(bladder1):
    seq = history_sequences(bladder1, seq_len=2)
    rows = _rows_of(seq, 10)
    # third row of subject 10 sees rows 2 and 3 (recurrences 1 and 2 before them)
    assert seq.X[rows[2]][:, -1].tolist() == [1.0, 2.0] and seq.mask[rows[2]].all()


def test_no_step_depends_on_how_the_interval_ends(bladder1):
    """A row's sequence is unchanged when its own end and everything after it are rewritten."""
    seq = history_sequences(bladder1, seq_len=3)
    f = bladder1.frame
    rng = np.random.default_rng(0)
    for row in rng.choice(len(f), 40, replace=False):
        subject = f["id"].iloc[row]
        keep = (f["id"] != subject) | (f.index <= row)
        cut = f.loc[keep].copy()
        cut.loc[row, "stop"] = cut.loc[row, "start"] + 0.5  # a different end and no event
        cut.loc[row, "event"] = 0
        again = RecurrentData.from_frame(cut, id="id", start="start", stop="stop", event="event",
                                         covariates=list(bladder1.covariates))
        other = history_sequences(again, seq_len=3)
        k = np.flatnonzero((other.ids == subject) & (other.start == f["start"].iloc[row]))[0]
        np.testing.assert_array_equal(other.X[k], seq.X[row])


def test_errors_name_the_problem(bladder1):
    with pytest.raises(InvalidParameterError, match="seq_len must be an integer >= 1, but was 0"):
        history_sequences(bladder1, seq_len=0)
    with pytest.raises(InvalidSurvivalDataError, match=r"features \['age'\] are neither covariates"):
        history_sequences(bladder1, ["number", "age"])
    leaky = bladder1_recurrent(paper_inputs=True)
    with pytest.raises(InvalidParameterError, match=r"features \['recur', 'rtumor'\] carry the outcome"):
        history_sequences(leaky, ["number", "recur", "rtumor"])
    with pytest.raises(InvalidParameterError, match="needs a RecurrentData"):
        history_sequences(pd.DataFrame({"a": [1]}))


def test_paper_inputs_code_missing_recurrent_tumours_as_zero():
    leaky = bladder1_recurrent(paper_inputs=True)
    f = leaky.frame
    # R: bladder1$rtumor is "." (no recurrence at that stop) on censored rows, and missing on
    # three recurrence rows: subset(bladder1, status == 1 & rtumor == ".")$id is 47, 65, 103
    assert set(f.loc[f["event"] == 0, "rtumor"]) == {0.0}
    unknown = f.loc[(f["event"] == 1) & (f["rtumor"] == 0), "id"].tolist()
    assert unknown == [47, 65, 103]
