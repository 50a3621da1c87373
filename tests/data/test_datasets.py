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


def test_digits_defaults_reproduce_earlier_arrays():
    """Values written down from load_digits_survival(seed=0) before the digits and censoring
    arguments existed: the defaults still give the same draws."""
    d = load_digits_survival(seed=0)
    assert len(d.time) == 901 and int(d.event.sum()) == 810
    assert d.time[:3].tolist() == [26.781358194379877, 218.28855293390893, 1.7240451666956538]
    assert float(d.time.sum()) == 135162.74002054258


def test_digits_selection_and_log_hazard():
    full = load_digits_survival(seed=1, digits=range(10))
    assert full.images.shape == (1797, 8, 8) and set(np.unique(full.digits)) == set(range(10))
    # the generating hazard is ln 2 / (365 exp(-0.9 digit)) per day
    np.testing.assert_allclose(full.log_hazard, np.log(np.log(2) / (365 * np.exp(-0.9 * full.digits))),
                               rtol=0, atol=1e-12)
    some = load_digits_survival(seed=1, digits=[7, 2])
    assert set(np.unique(some.digits)) == {2, 7}
    assert len(some.digits) == np.isin(full.digits, [2, 7]).sum()


def test_digits_exponential_censoring_matches_closed_form():
    """T ~ Exp(rate r_T) and C ~ Exp(rate r_C) independent: P(T <= C) = r_T / (r_T + r_C), with
    r_T = ln 2 / (365 exp(-0.9 digit)) and r_C = 2 / censor_max (mean censor_max / 2). Pooled
    over 20 seeds of all 1797 images, each digit's event share lies within 3 binomial SE."""
    M = 1000.0
    draws = [load_digits_survival(seed=s, censor_max=M, digits=range(10), censoring="exponential")
             for s in range(20)]
    digits = np.concatenate([d.digits for d in draws])
    events = np.concatenate([d.event for d in draws])
    for k in range(10):
        r_t, r_c = np.log(2) / (365 * np.exp(-0.9 * k)), 2.0 / M
        p = r_t / (r_t + r_c)
        n = (digits == k).sum()
        share = events[digits == k].mean()
        assert abs(share - p) < 3 * np.sqrt(p * (1 - p) / n), (k, share, p)


@pytest.mark.parametrize("kwargs,message", [
    (dict(digits=[3, 12]), r"digits must be integers in 0\.\.9, but was \[3, 12\] \(bad: \[12\]\)"),
    (dict(digits=[-1]), r"digits must be integers in 0\.\.9.*bad: \[-1\]"),
    (dict(digits=[]), r"digits must name at least one digit in 0\.\.9, but was \[\]"),
    (dict(digits=[1.5]), r"digits must be integers in 0\.\.9, but was \[1\.5\]"),
    (dict(digits=4), r"digits must be a collection of integers in 0\.\.9, but was 4"),
    (dict(censoring="weibull"), r"censoring must be 'uniform' or 'exponential', but was 'weibull'"),
    (dict(censor_max=0.0), r"censor_max must be positive, but was 0\.0"),
])
def test_digits_bad_arguments(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        load_digits_survival(**kwargs)
