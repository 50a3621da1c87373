"""SUPPORT: the shipped copy equals SurvSet's frame; the paper's preprocessing, fitted on the
training part only.

Sources of the expected numbers:
- [V] Vanderbilt Biostatistics' support2.csv (hbiostat.org/data; a copy is data/support2.csv in
  github.com/MGensheimer/nnet-survival): 9105 rows; sum(death) = 6201; the missing counts per
  column (e.g. alb 3372, glucose 4500, bun 4352, urine 4862, adlp 5641). SurvSet's support2 has
  the same rows, order and values (checked when the copy was exported).
- [P] Gensheimer & Narasimhan (2019), Nnet-survival, "Performance evaluation: SUPPORT study":
  9,105 patients; variables missing for more than 4,000 patients dropped; laboratory normal
  values; 39 predictors.
- [PF] the paper's processed file, data/support_parsed.csv of the same repository, written by
  its support_study_parse_data.R; the column sums below were computed from it with
  ``math.fsum(pd.read_csv("support_parsed.csv")[col])``.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.data import datasets as ds
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.preprocessing import (
    SUPPORT_MAX_MISSING_SHARE,
    SUPPORT_NORMAL_VALUES,
    TabularPreprocessor,
    support_preprocessor,
)
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError, OptionalDependencyError

DROPPED = ("num_glucose", "num_bun", "num_urine", "num_adlp")  # [V] 4500, 4352, 4862, 5641 > 4000
KEPT_LABS = ("num_alb", "num_pafi", "num_bili", "num_crea", "num_wblc")  # [P] normal values


@pytest.fixture(scope="module")
def support() -> pd.DataFrame:
    return ds.load_support(source="csv")


@pytest.fixture(scope="module")
def split(support):
    """A 70/30 split as the paper's (seeded here; the paper's own split is not published)."""
    rng = np.random.default_rng(2019)
    train = rng.random(len(support)) < 0.7
    return support.loc[train].copy(), support.loc[~train].copy()


# -- the loader ----------------------------------------------------------------------------
def test_rows_outcome_and_coding(support):
    assert support.shape == (9105, 38)  # [V], [P]: 9,105 patients
    assert list(support.columns[:3]) == ["pid", "event", "time"]
    assert support["pid"].tolist() == list(range(9105))
    assert support["event"].dtype == np.int64 and set(support["event"]) == {0, 1}
    assert int(support["event"].sum()) == 6201  # [V] sum(death); [PF] sum(dead) is 6201 too
    assert support["time"].dtype == np.int64
    assert (support["time"].min(), support["time"].max()) == (3, 2029)  # [V] range of d.time (days)


def test_missing_counts_as_documented(support):
    # [V]: the same counts as summary(support2) on Vanderbilt's file
    na = support.isna().sum()
    expected = {"num_edu": 1634, "num_wblc": 212, "num_pafi": 2325, "num_alb": 3372,
                "num_bili": 2601, "num_crea": 67, "num_ph": 2284, "num_glucose": 4500,
                "num_bun": 4352, "num_urine": 4862, "num_adlp": 5641, "num_adls": 2867}
    assert {c: int(na[c]) for c in expected} == expected
    assert (na[[c for c in support.columns if c.startswith("fac_")]] == 0).all()
    # SurvSet codes missing categories as a level: race 42, dnr 30, sfdm2 1400, income 2982 [V]
    counts = {c: int((support[c] == "missing").sum())
              for c in ("fac_race", "fac_dnr", "fac_sfdm2", "fac_income")}
    assert counts == {"fac_race": 42, "fac_dnr": 30, "fac_sfdm2": 1400, "fac_income": 2982}


def test_factor_levels_keep_survsets_order_and_integer_levels(support):
    assert list(support["fac_ca"].cat.categories) == ["metastatic", "no", "yes"]
    assert list(support["fac_race"].cat.categories) == ["asian", "black", "hispanic", "other",
                                                         "white", "missing"]
    assert list(support["fac_num_co"].cat.categories) == list(range(10))
    assert support["fac_num_co"].cat.categories.dtype == np.int64
    assert (support["fac_num_co"].astype(int) == support["num_num_co"]).all()


def test_csv_equals_installed_survset(support):
    pytest.importorskip("SurvSet", reason="SurvSet is not installed (pip install SurvSet, 47 MB)")
    pd.testing.assert_frame_equal(ds.load_support(source="survset"), support, check_exact=True)


def test_csv_equals_survset_wheel(support):
    wheel = os.environ.get("PYSURVBRIDGE_SURVSET_WHEEL")
    if not wheel or not os.path.exists(wheel):
        pytest.skip("set PYSURVBRIDGE_SURVSET_WHEEL to a SurvSet wheel (pip download --no-deps SurvSet)")
    pd.testing.assert_frame_equal(ds._support_from_survset(wheel), support, check_exact=True)


def test_survset_source_without_survset_says_how_to_install():
    try:
        import SurvSet  # noqa: F401
    except ImportError:
        with pytest.raises(OptionalDependencyError, match="pip install SurvSet"):
            ds.load_support(source="survset")
    else:
        pytest.skip("SurvSet is installed")


def test_bad_sources():
    with pytest.raises(InvalidParameterError, match="source must be 'auto', 'csv' or 'survset', but was 'r'"):
        ds.load_support(source="r")
    with pytest.raises(InvalidParameterError, match="source for 'support'"):
        ds.prepared("support", source="r")


# -- the paper's preprocessing ---------------------------------------------------------------
def test_full_data_drops_the_papers_columns_and_counts_predictors(support):
    pre = support_preprocessor().fit(support)
    assert pre.dropped_ == DROPPED
    assert max(pre.missing_share_[c] for c in pre.numeric_) == 3372 / 9105  # alb, kept
    X, names = pre.transform(support)
    assert X.shape == (9105, 39) and X.dtype == np.float64 and not np.isnan(X).any()
    assert len(names) == 39 and names[:2] == ["num_age", "num_num_co"]
    assert "fac_sex[male]" in names and not any(
        n.startswith(("num_surv", "fac_sfdm2", "fac_dnr", "fac_dzclass", "fac_num_co")) for n in names)
    paper = support_preprocessor(paper_inputs=True).fit(support)
    assert paper.dropped_ == DROPPED
    assert len(paper.feature_names_out_) == 37  # [P] 39 less avtisst and aps (not in SurvSet)


def test_paper_inputs_reproduce_the_papers_processed_file(support):
    """Fitted on all rows, as the paper did: the shared columns have [PF]'s column sums."""
    pre = support_preprocessor(paper_inputs=True).fit(support)
    X, names = pre.transform(support)
    col = dict(zip(names, X.T))
    paper_sums = {  # [PF] math.fsum of each column
        "num_num_co": 17014.0, "num_edu": 107375.0, "num_scoma": 109781.0,
        "num_sps": 232411.4382743, "num_hday": 40062.0, "num_meanbp": 769787.5,
        "num_wblc": 111715.88958791, "num_hrt": 884614.698243, "num_resp": 212423.0,
        "num_temp": 337825.51235, "num_pafi": 2398929.59324, "num_alb": 28717.3288976,
        "num_bili": 19241.23685501, "num_crea": 16073.61255369, "num_sod": 1252561.0,
        "num_ph": 67527.300719, "num_adls": 13081.0,
    }
    for name, total in paper_sums.items():
        assert math.fsum(col[name]) == pytest.approx(total, rel=1e-12, abs=0), name
    paper_counts = {  # [PF] sums of its indicator columns
        "fac_dzgroup[CHF]": 1387, "fac_dzgroup[Cirrhosis]": 508, "fac_dzgroup[Colon Cancer]": 512,
        "fac_dzgroup[Coma]": 596, "fac_dzgroup[COPD]": 967, "fac_dzgroup[Lung Cancer]": 908,
        "fac_dzgroup[MOSF w/Malig]": 712, "fac_race[black]": 1391, "fac_race[hispanic]": 290,
        "fac_race[other]": 112, "fac_race[missing]": 42, "fac_race[white]": 7191,
        "fac_diabetes[1]": 1778, "fac_dementia[1]": 296, "fac_ca[no]": 5995, "fac_ca[yes]": 1252,
        # the paper's income reference is ">$50k"; ours is SurvSet's first level, "$11-$25k"
        "fac_income[$25-$50k]": 1057, "fac_income[under $11k]": 2855, "fac_income[missing]": 2982,
    }
    assert {n: int(col[n].sum()) for n in paper_counts} == paper_counts


def test_labs_get_the_normal_values_others_the_training_median(split):
    train, test = split
    pre = support_preprocessor().fit(train)
    for lab in KEPT_LABS:
        assert pre.fill_source_[lab] == "given"
        assert pre.fill_values_[lab] == SUPPORT_NORMAL_VALUES[lab]
    assert SUPPORT_NORMAL_VALUES == {"num_alb": 3.5, "num_pafi": 333.3, "num_bili": 1.01,
                                     "num_crea": 1.01, "num_bun": 6.51, "num_wblc": 9.0,
                                     "num_urine": 2502.0}  # [P] / Vanderbilt's recommended values
    for col in ("num_edu", "num_ph", "num_adls", "num_sps"):
        assert pre.fill_source_[col] == "median"
        assert pre.fill_values_[col] == np.nanmedian(train[col].to_numpy(dtype=float))
    X, names = pre.transform(test)
    j = names.index("num_alb")
    assert (X[test["num_alb"].isna().to_numpy(), j] == 3.5).all()
    j = names.index("num_ph")
    assert (X[test["num_ph"].isna().to_numpy(), j] == pre.fill_values_["num_ph"]).all()
    assert pre.dropped_ == DROPPED  # the share rule drops the same four on a 70% part


def test_statistics_come_from_the_training_part_only(split):
    train, test = split
    pre = support_preprocessor().fit(train)
    fills, levels, dropped = dict(pre.fill_values_), dict(pre.levels_), pre.dropped_
    planted = test.copy()
    planted["num_edu"] = 1e6                # would move the median of edu if test were used
    planted.loc[planted.index[:5], "num_sps"] = np.nan
    planted["num_alb"] = np.nan             # 100% missing in the test part: still kept
    planted["fac_race"] = planted["fac_race"].cat.add_categories(["martian"])
    planted.loc[planted.index[:3], "fac_race"] = "martian"
    X, names = pre.transform(planted)
    assert pre.fill_values_ == fills and pre.levels_ == levels and pre.dropped_ == dropped
    assert not np.isnan(X).any()
    assert (X[:5, names.index("num_sps")] == np.nanmedian(train["num_sps"].to_numpy(dtype=float))).all()
    assert (X[:, names.index("num_alb")] == 3.5).all()
    race = [j for j, n in enumerate(names) if n.startswith("fac_race[")]
    assert (X[:3][:, race] == 0).all()      # an unseen level: all indicators 0
    # the same plant inside the fitted part does move the statistics
    moved = support_preprocessor().fit(pd.concat([train, planted]))
    assert moved.fill_values_["num_edu"] != fills["num_edu"]
    data = pre.to_survival_data(planted)
    assert isinstance(data, SurvivalData) and len(data) == len(test)
    assert any("fac_race" in note and "martian" in note and "3 rows" in note for note in data.notes)


def test_to_survival_data_and_prepared(support):
    data = ds.prepared("support")
    assert isinstance(data, SurvivalData)
    assert len(data) == 9105 and data.n_events == 6201 and data.X.shape == (9105, 39)
    assert not np.isnan(data.X).any()
    np.testing.assert_array_equal(data.time, support["time"].to_numpy(dtype=float))
    np.testing.assert_array_equal(data.ids, support["pid"].to_numpy())
    assert any("fitted on all 9105 rows" in note for note in data.notes)
    assert ds.prepared("support", paper_inputs=True).X.shape == (9105, 37)


def test_missing_share_threshold_is_the_papers_4000_of_9105():
    assert SUPPORT_MAX_MISSING_SHARE == 4000 / 9105
    frame = pd.DataFrame({"a": [1.0, np.nan, np.nan, 4.0], "b": [np.nan] * 3 + [1.0],
                          "time": [1, 2, 3, 4], "event": [1, 0, 1, 1]})
    pre = TabularPreprocessor(numeric=["a", "b"], max_missing_share=0.5).fit(frame)
    assert pre.dropped_ == ("b",) and pre.fill_values_ == {"a": 2.5}  # 50% kept, 75% dropped
    pre = TabularPreprocessor(numeric=["a"], categorical=[], drop_first=False,
                              fill_values={"a": -1.0}).fit(frame)
    X, _ = pre.transform(frame)
    assert X[:, 0].tolist() == [1.0, -1.0, -1.0, 4.0]


# -- errors ---------------------------------------------------------------------------------
def test_missing_column_is_named(support, split):
    pre = support_preprocessor().fit(split[0])
    with pytest.raises(InvalidSurvivalDataError, match=r"required column\(s\) \['num_alb'\]"):
        pre.transform(support.drop(columns=["num_alb"]))
    with pytest.raises(InvalidSurvivalDataError, match=r"\['fac_ca'\]"):
        support_preprocessor().fit(support.drop(columns=["fac_ca"]))
    with pytest.raises(InvalidSurvivalDataError, match=r"\['time'\]"):
        pre.to_survival_data(support.drop(columns=["time"]))
    pre.transform(support.drop(columns=list(DROPPED)))  # dropped columns are not required


def test_bad_inputs_and_parameters(support):
    with pytest.raises(InvalidParameterError, match="not fitted yet"):
        support_preprocessor().transform(support)
    bad = support.copy()
    bad["fac_ca"] = bad["fac_ca"].astype(object)
    bad.loc[7, "fac_ca"] = np.nan
    with pytest.raises(InvalidSurvivalDataError, match=r"'fac_ca' has missing values \(NaN\) in rows \[7\]"):
        support_preprocessor().fit(bad)
    bad = support.assign(num_age=support["num_age"].astype(str))
    with pytest.raises(InvalidSurvivalDataError, match="'num_age' is declared numeric"):
        support_preprocessor().fit(bad)
    with pytest.raises(InvalidParameterError,
                       match=r"max_missing_share must be a number in \[0, 1\], but was 1\.5"):
        TabularPreprocessor(numeric=["num_age"], max_missing_share=1.5).fit(support)
    with pytest.raises(InvalidParameterError,
                       match=r"fill_values names columns that are not numeric inputs: \['x'\]"):
        TabularPreprocessor(numeric=["num_age"], fill_values={"x": 1.0}).fit(support)
    with pytest.raises(InvalidParameterError, match="named twice"):
        TabularPreprocessor(numeric=["num_age"], categorical=["num_age"]).fit(support)
