"""Every estimator of the package under the scikit-learn and scikit-survival contract, in the
style of scikit-survival's tests/test_common.py: one discovered list of estimators
(``all_estimators()``), each held to clone/set_params, NumPy vs pandas input, GridSearchCV,
Pipeline, cross_val_score with scikit-survival's scorers, pickle and joblib, and clear errors.

References: scikit-learn's own ``clone``, ``GridSearchCV``, ``Pipeline``, ``cross_val_score``
and ``check_estimator``; scikit-survival's ``Surv``, ``OneHotEncoder``, scorers and
``concordance_index_censored`` (an independent Harrell's C); the package's ``fit_cox`` (equal
to R's coxph, tests/classical) for CoxPH; each estimator's own ``predict_survival`` for the
curve objects.
"""
from __future__ import annotations

import io
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sksurv.datasets import load_veterans_lung_cancer
from sksurv.metrics import (as_concordance_index_ipcw_scorer, as_cumulative_dynamic_auc_scorer,
                            as_integrated_brier_score_scorer, concordance_index_censored)
from sksurv.preprocessing import OneHotEncoder
from sksurv.util import Surv

from pysurvbridge.classical import CoxPH, fit_cox
from pysurvbridge.data import SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.estimator import NotFittedError
from pysurvbridge.models import MENSA, LSTMCox
from pysurvbridge.models.discovery import all_estimators

from ._data import weibull_ph

QUIET = dict(verbose=False)
#: a small, fast configuration of each estimator, and a grid of two values of one
#: hyper-parameter and (for the neural models) two of one training option
CONFIG = {
    "CoxPH": (dict(engine="native"), {"ties": ["efron", "breslow"]}),
    "DeepSurv": (dict(hidden=(8,), epochs=5, lr=1e-2, **QUIET), {"hidden": [(4,), (8,)], "lr": [1e-2, 3e-3]}),
    "NnetSurvival": (dict(breaks=5, hidden=(4,), epochs=5, batch_size=64, lr=1e-2, **QUIET),
                     {"breaks": [4, 6], "batch_size": [32, 64]}),
    "CoxVAE": (dict(latent_dim=2, hidden=(8,), reconstruction="gaussian", epochs=3, lr_autoencoder=1e-2,
                    lr_cox=1e-2, **QUIET), {"tau": [0.2, 0.8], "epochs": [2, 3]}),
    "MENSA": (dict(n_dists=1, hidden=(8,), mode="single", epochs=5, lr=1e-2, **QUIET),
              {"n_dists": [1, 2], "weight_decay": [0.0, 1e-3]}),
}
#: estimators that do not take fit(X, y), and why (each is tested on its own below)
NOT_XY = {"LSTMCox": "recurrent events: fit(RecurrentData); scikit-learn's splitters would split subjects' rows"}
XY = [cls for cls in all_estimators() if cls.__name__ not in NOT_XY]


def make(cls, **extra):
    kwargs, _ = CONFIG[cls.__name__]
    return cls(**{**kwargs, **extra})


@pytest.fixture(scope="module")
def xy():
    """Weibull proportional hazards (tests/models/_data.py), 300 subjects, 3 covariates."""
    data = weibull_ph(300, seed=3)
    return data.X.copy(), Surv.from_arrays(data.event.astype(bool), data.time, name_event="dead", name_time="days")


@pytest.fixture(scope="module")
def fitted(xy):
    X, y = xy
    return {cls.__name__: make(cls).fit(X, y) for cls in XY}


def test_every_estimator_is_discovered_and_configured():
    names = {cls.__name__ for cls in all_estimators()}
    assert names == set(CONFIG) | set(NOT_XY) == {"CoxPH", "CoxVAE", "DeepSurv", "LSTMCox", "MENSA", "NnetSurvival"}


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_clone_keeps_every_parameter_and_construction_never_checks(cls):
    est = make(cls)
    twin = clone(est)  # scikit-learn itself checks that each parameter is passed through unchanged
    assert twin.get_params() == est.get_params() and twin is not est
    assert cls(**{**est.get_params(), "random_state": None}) if "random_state" in est.get_params() else True
    # scikit-learn's rule: __init__ and set_params store, fit checks
    bad = {"CoxPH": {"ties": "exact-ish"}, "DeepSurv": {"hidden": "wide"}, "NnetSurvival": {"head": "cox"},
           "CoxVAE": {"tau": 3.0}, "MENSA": {"mode": "many"}}[cls.__name__]
    strange = clone(est).set_params(**bad)
    with pytest.raises(InvalidParameterError, match=f"{next(iter(bad))} must"):
        strange.fit(*_tiny())


def _tiny():
    data = weibull_ph(60, seed=9)
    return data.X, Surv.from_arrays(data.event.astype(bool), data.time)


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_set_params_then_fit(cls, xy):
    X, y = xy
    if cls is CoxPH:
        est = make(cls).set_params(ties="breslow").fit(X, y)
        assert est.fit_.ties == "breslow"
        return
    est = make(cls).set_params(epochs=2)
    assert est.fit(X, y) is est and est.get_params()["epochs"] == 2
    assert len(est.history_) == 2
    # a fit keyword overrides for one call and leaves the parameter alone
    est.fit(X, y, epochs=1)
    assert len(est.history_) == 1 and est.get_params()["epochs"] == 2


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_numpy_and_pandas_give_the_same_predictions(cls, xy, fitted):
    X, y = xy
    frame = pd.DataFrame(X, columns=["age", "bmi", "score"])
    y_frame = pd.DataFrame({"dead": y["dead"], "days": y["days"]})
    on_frame = make(cls).fit(frame, y_frame)
    np.testing.assert_array_equal(on_frame.predict(frame), fitted[cls.__name__].predict(X))
    assert list(on_frame.feature_names_in_) == ["age", "bmi", "score"] and on_frame.n_features_in_ == 3
    assert not hasattr(fitted[cls.__name__], "feature_names_in_")
    # the (event, time) tuple is the same y
    on_tuple = make(cls).fit(X, (y["dead"], y["days"]))
    np.testing.assert_array_equal(on_tuple.predict(X), fitted[cls.__name__].predict(X))
    # a DataFrame with its columns in another order is read by name
    np.testing.assert_array_equal(on_frame.predict(frame[["score", "age", "bmi"]]), on_frame.predict(frame))


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_predict_is_risk_and_score_is_harrell_c(cls, xy, fitted):
    X, y = xy
    est = fitted[cls.__name__]
    risk = est.predict(X)
    assert risk.shape == (len(X),)
    c = concordance_index_censored(y["dead"], y["days"], risk)[0]  # scikit-survival's Harrell's C
    assert est.score(X, y) == pytest.approx(c, abs=1e-12)
    assert c > 0.6  # true log-hazard 0.8 x1 - 0.5 x2 + 0.3 x3: a fitted risk ranks above chance
    assert est.score(SurvivalData.from_arrays(y["days"], y["dead"].astype(int), X)) == pytest.approx(c, abs=1e-12)


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_survival_functions_are_the_model_own_curves(cls, xy, fitted):
    X, _ = xy
    est = fitted[cls.__name__]
    grid = est.unique_times_
    assert np.all(np.diff(grid) > 0) and len(est.event_times_) == len(grid)
    arr = est.predict_survival_function(X[:5], return_array=True)
    np.testing.assert_allclose(arr, est.predict_survival(X[:5], grid).to_numpy(), rtol=0, atol=1e-12)
    fns = est.predict_survival_function(X[:5])
    between = np.sort(np.concatenate([(grid[:-1] + grid[1:]) / 2, [0.0, grid[0] / 2]]))[:200]
    batch = est.predict_survival(X[:5], between).to_numpy()
    for i, fn in enumerate(fns):
        # Cox-type curves are read from the tabulated batch, the others evaluate their row alone; a
        # float32 network's output moves in the last bits with the batch size, so each is compared
        # with the evaluation it makes
        expected = batch[i] if est._step_survival else est.predict_survival(X[i:i + 1], between).to_numpy()[0]
        np.testing.assert_allclose(fn(between), expected, rtol=0, atol=1e-12)
        assert fn(float(between[3])).shape == ()
    H = est.predict_cumulative_hazard_function(X[:5], return_array=True)
    np.testing.assert_allclose(H, -np.log(arr), rtol=1e-12, atol=1e-12)
    hfn = est.predict_cumulative_hazard_function(X[:1])[0]
    np.testing.assert_allclose(hfn(between[5:9]), -np.log(fns[0](between[5:9])), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_grid_search_over_a_hyper_parameter_and_a_training_option(cls, xy):
    X, y = xy
    _, grid = CONFIG[cls.__name__]
    search = GridSearchCV(make(cls), grid, cv=KFold(2, shuffle=True, random_state=0), error_score="raise").fit(X, y)
    n = int(np.prod([len(v) for v in grid.values()]))
    assert len(search.cv_results_["params"]) == n
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ in search.cv_results_["params"]
    assert search.best_estimator_.get_params()[next(iter(grid))] == search.best_params_[next(iter(grid))]


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_pipeline_with_one_hot_encoding_and_scaling(cls):
    X, y = load_veterans_lung_cancer()  # 137 subjects; Celltype, Prior_therapy, Treatment categorical
    pipe = make_pipeline(OneHotEncoder(), StandardScaler(), make(cls)).fit(X, y)
    risk = pipe.predict(X)
    assert risk.shape == (137,)
    assert pipe.score(X, y) == pytest.approx(concordance_index_censored(y["Status"], y["Survival_in_days"], risk)[0])
    assert pipe[-1].n_features_in_ == 8  # 3 numeric + 5 indicators (4 cell types, prior, treatment)


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_cross_val_score_with_scikit_survival_scorers(cls, xy):
    X, y = xy
    times = np.quantile(y["days"][y["dead"]], [0.2, 0.4, 0.6])
    cv = KFold(3, shuffle=True, random_state=1)
    for scorer in (as_concordance_index_ipcw_scorer(make(cls), tau=float(times[-1])),
                   as_integrated_brier_score_scorer(make(cls), times=times),
                   as_cumulative_dynamic_auc_scorer(make(cls), times=times)):
        scores = cross_val_score(scorer, X, y, cv=cv, error_score="raise")
        assert scores.shape == (3,) and np.isfinite(scores).all(), type(scorer).__name__


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_pickle_and_joblib_round_trips(cls, xy, fitted):
    X, _ = xy
    est = fitted[cls.__name__]
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.predict_survival_function(X[:3], return_array=True),
                                  est.predict_survival_function(X[:3], return_array=True))


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_n_features_in_is_checked_at_predict(cls, xy, fitted):
    X, _ = xy
    est = fitted[cls.__name__]
    assert est.n_features_in_ == 3
    with pytest.raises(ValueError, match=f"X has 2 features, but {cls.__name__} is expecting 3 features"):
        est.predict(X[:, :2])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        make(cls).predict(X)


def _bad_inputs(X, y):
    no_events = Surv.from_arrays(np.zeros(len(X), bool), y["days"])
    negative = y.copy()
    negative["days"][[4, 7]] = -1.0
    nan_X = X.copy()
    nan_X[5, 1] = np.nan
    return [
        ("no events", X, no_events, InvalidSurvivalDataError, "y has no events"),
        ("negative times", X, negative, InvalidSurvivalDataError, r"negative times in rows \[4, 7\]"),
        ("plain 1-D y", X, y["days"], InvalidSurvivalDataError, "a 1-D array of float64 .times alone"),
        ("lengths differ", X[:-10], y, InvalidSurvivalDataError, "X has 290 rows and y has 300"),
        ("NaN in X", nan_X, y, InvalidSurvivalDataError, r"missing \(NaN\) or infinite \(inf\) values in rows \[5\]"),
        ("no y", X, None, InvalidParameterError, "requires y to be passed"),
    ]


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_bad_input_gets_a_clear_error(cls, xy):
    X, y = xy
    for what, bad_X, bad_y, error, match in _bad_inputs(X, y):
        with pytest.raises(error, match=match):
            make(cls).fit(bad_X, bad_y)


# ---------------------------------------------------------------------- scikit-learn's check_estimator
#: checks that pass a classification or regression y (1-D labels or floats): a survival estimator
#: needs an (event, time) pair per subject, refuses such a y, and the check fails on that refusal
#: (scikit-survival runs none of them for the same reason). Each is asserted to fail for exactly
#: that reason; every other check must pass.
Y_CHECKS = (
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
    "check_pipeline_consistency", "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_fit2d_1sample",
    "check_fit2d_1feature", "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d",
    "check_estimators_nan_inf",  # its first part (NaN in fit is refused) passes; predict needs a fit on its y
    # the neural models' fit takes sample_weight, so these run too; tests/models/test_sample_weight.py
    # holds their survival versions (Series, list, array-like, shape, not overwritten, zeros, equivalence)
    "check_sample_weights_not_an_array", "check_sample_weights_list", "check_sample_weights_pandas_series",
    "check_sample_weights_shape", "check_sample_weights_not_overwritten", "check_all_zero_sample_weights_error",
    "check_sample_weight_equivalence_on_dense_data",
)


@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_scikit_learn_check_estimator(cls):
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(make(cls), on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert set(failed) <= set(Y_CHECKS), sorted(set(failed) - set(Y_CHECKS))
    for name, exc in failed.items():
        chain = [exc, exc.__cause__, exc.__context__]
        assert any("y must give each subject an event indicator and a time" in str(e) for e in chain if e), name
    for name in ("check_no_attributes_set_in_init", "check_parameters_default_constructible",
                 "check_get_params_invariance", "check_set_params", "check_estimators_unfitted",
                 "check_complex_data", "check_estimators_empty_data_messages",
                 "check_estimator_sparse_array", "check_requires_y_none", "check_do_not_raise_errors_in_init_or_set_params"):
        assert name in passed, name


# ---------------------------------------------------------------------- survival versions of the y checks
@pytest.mark.parametrize("cls", XY, ids=lambda c: c.__name__)
def test_fit_is_idempotent_leaves_parameters_and_orders(cls, xy, fitted):
    """What check_fit_idempotent, check_dont_overwrite_parameters and
    check_methods_subset_invariance ask, with a survival y."""
    X, y = xy
    est = make(cls)
    params = est.get_params()
    est.fit(X, y)
    assert est.get_params() == params
    np.testing.assert_array_equal(est.fit(X, y).predict(X), fitted[cls.__name__].predict(X))
    # float32 networks: the batch's composition moves the last bits of a row's output (1.5e-8
    # seen); the float64 Cox fit sums each row alone and is exact
    tol = 0.0 if cls is CoxPH else 1e-6
    rows = np.arange(0, len(X), 7)
    np.testing.assert_allclose(est.predict(X[rows]), est.predict(X)[rows], rtol=0, atol=tol)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(est.predict(X[order]), est.predict(X)[order], rtol=0, atol=tol)


# ---------------------------------------------------------------------- the classical estimator
@pytest.mark.parametrize("engine", ["native", pytest.param("r", marks=pytest.mark.r)])
def test_coxph_equals_fit_cox(engine, xy, request):
    if engine == "r":
        request.getfixturevalue("r_session")  # skips with the bridge's reason when R is unusable
    X, y = xy
    est = CoxPH(engine=engine, robust=True).fit(X, y)
    ref = fit_cox(SurvivalData.from_arrays(y["days"], y["dead"].astype(int), X), engine=engine)
    np.testing.assert_allclose(est.coef_, ref.coef.to_numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(est.se_, ref.robust_se.to_numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(est.predict(X), ref.predict_log_risk(X), rtol=0, atol=1e-10)
    assert est.fit_.engine == engine and list(est.summary_.columns[:3]) == ["coef", "exp(coef)", "robust se"]
    plain = CoxPH(engine=engine).fit(X, y)
    np.testing.assert_allclose(plain.se_, ref.se.to_numpy(), rtol=0, atol=1e-10)


# ---------------------------------------------------------------------- multi-event y (MENSA)
def test_mensa_takes_a_multi_event_y():
    from pysurvbridge import metrics
    from pysurvbridge.simulate import simulate_multi_event

    sim = simulate_multi_event(300, K=2, seed=4).data
    y = np.empty(len(sim), dtype=[("relapse", bool), ("relapse_time", float), ("death", bool), ("death_time", float)])
    y["relapse"], y["relapse_time"] = sim.events[:, 0] == 1, sim.times[:, 0]
    y["death"], y["death_time"] = sim.events[:, 1] == 1, sim.times[:, 1]
    est = MENSA(n_dists=1, hidden=(8,), trajectories=[("relapse", "death")], epochs=5, lr=1e-2, verbose=False)
    est.fit(sim.X, y)
    assert est.event_names_ == ("relapse", "death") and est.trajectory_index_ == ((0, 1),)
    risk = est.predict(sim.X)
    assert risk.shape == (300, 2)
    assert est.score(sim.X, y) == pytest.approx(metrics.concordance_global(risk, sim.times, sim.events), abs=1e-12)
    fns = est.predict_survival_function(sim.X[:4])
    assert fns.shape == (4, 2)
    t = np.array([0.3, 1.1, 2.5])
    np.testing.assert_allclose(fns[2, 1](t), est.predict_survival_array(sim.X[2:3], t)[0, 1], rtol=0, atol=1e-12)
    frame = pd.DataFrame({c: y[c] for c in y.dtype.names})
    again = MENSA(**est.get_params()).fit(pd.DataFrame(sim.X), frame)
    np.testing.assert_array_equal(again.predict(sim.X), risk)
    search = GridSearchCV(est, {"n_dists": [1, 2]}, cv=KFold(2, shuffle=True, random_state=0),
                          error_score="raise").fit(sim.X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with pytest.raises(InvalidSurvivalDataError, match="fields must come in"):
        est.fit(sim.X, y[["relapse", "relapse_time", "death"]])


# ---------------------------------------------------------------------- LSTM-Cox (recurrent data)
def test_lstm_cox_is_an_estimator_on_recurrent_data(tmp_path):
    from pysurvbridge.data import bladder1_recurrent

    data = bladder1_recurrent()
    est = LSTMCox(hidden_size=4, epochs=2, lr=1e-2, verbose=False)
    assert clone(est).get_params() == est.get_params()
    est.set_params(hidden_size=5).fit(data)
    assert est.network_.lstm.hidden_size == 5
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(data), est.predict(data))
    first = data.first_event()
    from pysurvbridge import metrics

    assert est.score(data) == pytest.approx(
        metrics.concordance_harrell(est.predict_subject_risk(data).loc[first.ids].to_numpy(), first.time, first.event))
    X = data.frame[["number", "size"]].to_numpy()
    with pytest.raises(InvalidParameterError, match="fit\\(X, y\\) is not offered"):
        est.fit(X, Surv.from_arrays(data.frame["event"].to_numpy() == 1, data.frame["stop"].to_numpy()))
