"""Dataset loaders: the R and CSV paths agree exactly; shapes and codings as documented."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.data import datasets as ds
from pysurvbridge.data import load_digits_survival
from pysurvbridge.errors import InvalidParameterError

LOADERS = {name: getattr(ds, f"load_{name}") for name in ds.R_DATASETS}


@pytest.mark.r
@pytest.mark.parametrize("name", ds.R_DATASETS)
def test_r_and_csv_paths_give_identical_frames(r_session, name):
    pd.testing.assert_frame_equal(LOADERS[name](source="r"), LOADERS[name](source="csv"),
                                  check_exact=True)


@pytest.mark.parametrize("name,shape", [
    # nrow/ncol from R: dim(survival::bladder1) etc. (survival 3.5-3)
    ("bladder1", (294, 11)), ("bladder", (340, 7)), ("bladder2", (178, 8)),
    ("cgd", (203, 16)), ("rotterdam", (2982, 15)),
])
def test_csv_shapes_and_integer_ids(name, shape):
    df = LOADERS[name](source="csv")
    assert df.shape == shape
    assert df.iloc[:, 0].dtype == np.int64


def test_bladder1_codings_from_help_page():
    b1 = ds.load_bladder1(source="csv")
    assert list(b1["treatment"].cat.categories) == ["placebo", "pyridoxine", "thiotepa"]
    assert b1["id"].nunique() == 118
    # table(bladder1$status) in R: 0:76 1:189 2:2 3:27
    assert b1["status"].value_counts().sort_index().to_dict() == {0.0: 76, 1.0: 189, 2.0: 2, 3.0: 27}
    assert sorted(b1.loc[b1["start"] == b1["stop"], "id"]) == [1, 49]


def test_prepared_bladder1_counts():
    rec = ds.prepared("bladder1", source="csv")
    assert rec.n_subjects == 116 and rec.n_events == 189  # 189 recurrences, as table(status)
    assert rec.covariates == ("treatment[pyridoxine]", "treatment[thiotepa]", "number", "size")


def test_prepared_rotterdam_is_multi_event():
    me = ds.prepared("rotterdam", source="csv")
    raw = ds.load_rotterdam(source="csv")
    assert me.event_names == ("recurrence", "death")
    assert me.events[:, 0].sum() == raw["recur"].sum() and me.events[:, 1].sum() == raw["death"].sum()


def test_unknown_names_and_sources():
    with pytest.raises(InvalidParameterError, match="unknown data set 'nope'"):
        ds.prepared("nope")
    with pytest.raises(InvalidParameterError, match="source must be"):
        ds.load_bladder(source="web")


def test_digits_survival_design():
    d = load_digits_survival(seed=3)
    assert d.images.shape == (len(d.digits), 8, 8) and set(np.unique(d.digits)) == {0, 1, 2, 3, 4}
    assert 0.0 <= d.images.min() and d.images.max() <= 1.0
    again = load_digits_survival(seed=3)
    np.testing.assert_array_equal(d.time, again.time)
    assert not np.array_equal(d.time, load_digits_survival(seed=4).time)


def test_digits_event_rate_matches_closed_form():
    """P(T <= C) for T ~ Exp(scale s), C ~ U(0, M) is 1 - (s/M)(1 - exp(-M/s)).

    Pooled over 40 seeds the observed event fraction of each digit lies within 3 standard
    errors of that closed form.
    """
    M = 2000.0
    draws = [load_digits_survival(seed=s, censor_max=M) for s in range(40)]
    digits = np.concatenate([d.digits for d in draws])
    events = np.concatenate([d.event for d in draws])
    for k in range(5):
        s = 365.0 * np.exp(-0.9 * k) / np.log(2.0)
        p = 1.0 - (s / M) * (1.0 - np.exp(-M / s))
        n = (digits == k).sum()
        assert abs(events[digits == k].mean() - p) < 3 * np.sqrt(p * (1 - p) / n), k
