"""Tuning inside compare(): nested, leakage-free, seeded, on the same budget for every model.

References: Optuna's own study API (the trials the search records); the leakage argument itself
(values planted in the outer test subjects cannot reach a search that sees only the training
subjects: the chosen configuration and the fitted model must be identical); closed-form fold
sizes; a direct refit of the chosen configuration on the same training subjects.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge.comparison import compare
from pysurvbridge.comparison.splits import folds, stratified_folds, subject_split
from pysurvbridge.data import SurvivalData
from pysurvbridge.errors import InvalidParameterError

SMALL = {"deepsurv": {"hidden": [(4,), (8,)], "lr": ("log", 1e-3, 1e-1)}}


def weibull(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = 10 * (rng.exponential(size=n) * np.exp(-X @ [0.8, -0.5, 0.3])) ** (1 / 1.5)
    c = rng.uniform(0, 25, n)
    return SurvivalData.from_arrays(np.minimum(t, c), (t <= c).astype(int), X, ["a", "b", "c"])


def test_folds_cover_the_subjects_once():
    parts = folds(23, 3, seed=1)
    assert sorted(np.concatenate(parts).tolist()) == list(range(23)) and [len(p) for p in parts] == [8, 8, 7]
    pattern = np.array([0] * 10 + [1] * 7 + [2] * 5)
    strat = stratified_folds(pattern, 3, seed=2)
    assert sorted(np.concatenate(strat).tolist()) == list(range(22))
    for p in strat:  # each pattern dealt out as evenly as round-robin allows
        counts = np.bincount(pattern[p], minlength=3)
        assert (np.abs(counts - np.array([10, 7, 5]) / 3) <= 1).all()


@pytest.fixture(scope="module")
def tuned():
    return compare(weibull(), models=["cox", "deepsurv"], seeds=2, epochs=20, tune=SMALL, tune_trials=3,
                   tune_folds=2, verbose=False, crosscheck=False)


def test_results_record_the_configuration_and_the_cost(tuned):
    res = tuned.results.set_index(["model", "seed"])
    for seed in (0, 1):
        chosen = res.loc[("deepsurv", seed), "tuned_params"]
        assert set(chosen) == {"hidden", "lr"} and chosen["hidden"] in ([4], [8]) and 1e-3 <= chosen["lr"] <= 1e-1
        assert res.loc[("deepsurv", seed), "tune_seconds"] > 0
        assert res.loc[("cox", seed), "tuned_params"] is None and np.isnan(res.loc[("cox", seed), "tune_seconds"])
    trials = tuned.tuning
    assert len(trials) == 6 and set(trials["model"]) == {"deepsurv"}  # the same budget on each split
    row = tuned.table.set_index("model").loc["deepsurv"]
    assert row["tuned_params"].endswith("seeds)") and row["tune_seconds"] == pytest.approx(
        res.loc["deepsurv", "tune_seconds"].sum())
    text = " ".join(tuned.notes)
    assert "3 trials x 2-fold inner cross-validation" in text and "cox has nothing to tune" in text


def test_the_chosen_configuration_is_the_refit_scored(tuned):
    """The deep row of seed 1 equals a direct fit of the chosen configuration on the same
    training subjects."""
    from pysurvbridge.models import DeepSurv
    from pysurvbridge import metrics

    data = weibull()
    train_ids, test_ids = subject_split(np.arange(len(data)), 0.3, 1)
    train, test = data.subset(np.isin(np.arange(len(data)), train_ids)), data.subset(np.isin(np.arange(len(data)), test_ids))
    chosen = tuned.results.set_index(["model", "seed"]).loc[("deepsurv", 1), "tuned_params"]
    m = DeepSurv(hidden=tuple(chosen["hidden"]), lr=chosen["lr"], dropout=0.1, epochs=20, random_state=1,
                 verbose=False).fit(train)
    c = metrics.concordance_harrell(m.predict_risk(test.X), test.time, test.event)
    assert tuned.results.set_index(["model", "seed"]).loc[("deepsurv", 1), "c_harrell"] == pytest.approx(c, abs=1e-12)


def test_values_planted_in_the_test_subjects_change_nothing():
    data = weibull()
    _, test_ids = subject_split(np.arange(len(data)), 0.3, 0)
    X, time, event = data.X.copy(), data.time.copy(), data.event.copy()
    X[test_ids] = 50.0  # absurd covariates and shuffled outcomes for every test subject of seed 0
    time[test_ids], event[test_ids] = time[test_ids][::-1], event[test_ids][::-1]  # (same times: same Brier grid)
    planted = SurvivalData.from_arrays(time, event, X, list(data.covariates))
    kw = dict(models=["deepsurv"], seeds=[0], epochs=15, tune=SMALL, tune_trials=3, tune_folds=2, verbose=False,
              crosscheck=False)
    a, b = compare(data, **kw), compare(planted, **kw)
    assert a.results["c_harrell"].iloc[0] != b.results["c_harrell"].iloc[0]  # the test subjects did change
    assert a.results["tuned_params"].iloc[0] == b.results["tuned_params"].iloc[0]
    pd.testing.assert_frame_equal(a.tuning, b.tuning)
    probe = np.random.default_rng(3).normal(size=(20, 3))
    np.testing.assert_array_equal(a.runs["deepsurv"].fitted.predict_risk(probe),
                                  b.runs["deepsurv"].fitted.predict_risk(probe))


def test_the_search_is_seeded():
    kw = dict(models=["deepsurv"], seeds=[4], epochs=10, tune=SMALL, tune_trials=3, tune_folds=2, verbose=False,
              crosscheck=False)
    pd.testing.assert_frame_equal(compare(weibull(), **kw).tuning, compare(weibull(), **kw).tuning)


def test_concordance_as_the_tuning_metric():
    res = compare(weibull(), models=["deepsurv"], seeds=[0], epochs=10, tune=SMALL, tune_trials=2, tune_folds=2,
                  tune_metric="c_harrell", verbose=False, crosscheck=False)
    assert res.tuning["value"].between(0, 1).all()  # held-out C, not a loss
    assert any("maximising c_harrell" in n for n in res.notes)


def test_multi_event_models_are_tuned_with_their_validation_part():
    from pysurvbridge.simulate import simulate_multi_event

    sim = simulate_multi_event(300, K=2, seed=1).data
    res = compare(sim, models=["cox-per-event", "mensa"], trajectories=[(0, 1)], seeds=[0], epochs=3,
                  tune={"mensa": {"n_dists": [1, 2]}}, tune_trials=2, tune_folds=2, verbose=False)
    chosen = res.results.set_index("model").loc["mensa", "tuned_params"]
    assert chosen["n_dists"] in (1, 2) and res.runs["mensa"].fitted.n_dists == chosen["n_dists"]
    assert len(res.tuning) == 2


@pytest.mark.parametrize("kwargs, match", [
    ({"tune": {"deepsurv": {"width": [4, 8]}}}, r"'deepsurv' has no hyper-parameter 'width' to tune; its parameters are"),
    ({"tune": {"deepsurv": {"hidden": []}}}, "must be a non-empty list"),
    ({"tune": {"deepsurv": {"lr": ("log", 0.0, 1.0)}}}, "log range of 'lr' needs low > 0"),
    ({"tune": {"deepsurv": {"random_state": [1, 2]}}}, "no hyper-parameter 'random_state'"),
    ({"tune": {"mensa": {"n_dists": [1]}}}, "not among the models"),
    ({"tune": "all"}, "tune must be None, 'none', 'default'"),
    ({"tune": "default", "tune_folds": 1}, "tune_folds must be an integer >= 2"),
    ({"tune": "default", "tune_folds": 200}, "tune_folds=200 is larger than the training subjects allow"),
    ({"tune": "default", "tune_metric": "auc"}, "tune_metric must be one of"),
    ({"tune": "default", "tune_trials": 0}, "tune_trials must be a positive integer"),
])
def test_bad_tuning_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        compare(weibull(60), models=["cox", "deepsurv"], seeds=1, verbose=False, crosscheck=False, **kwargs)


def test_a_model_with_nothing_to_tune_is_a_note_not_an_error():
    res = compare(weibull(80), models=["cox", "deepsurv"], seeds=1, epochs=3, tune={"cox": {"ties": ["efron"]}},
                  tune_trials=1, tune_folds=2, verbose=False, crosscheck=False)
    assert any("cox has nothing to tune" in n for n in res.notes)
    assert res.results.set_index("model").loc["deepsurv", "tuned_params"] is not None  # tuned by default


def test_configurations_that_cannot_be_fitted_are_failed_trials():
    """A dropout of 1.5 is refused when the network is fitted: every trial fails, the search
    says why, and the cell fails with that reason while the others go on."""
    res = compare(weibull(80), models=["cox", "deepsurv"], seeds=[0], epochs=5, tune={"deepsurv": {"dropout": [1.5]}},
                  tune_trials=2, tune_folds=2, verbose=False, crosscheck=False)
    row = res.results.set_index("model").loc["deepsurv"]
    assert "tuning deepsurv: none of its 2 trials finished" in row["error"] and "dropout must be in [0, 1)" in row["error"]
    assert res.tuning is None  # the failed cell has no chosen configuration to report
    assert res.table.set_index("model").loc["cox", "c_harrell"] > 0.5
