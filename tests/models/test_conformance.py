"""One API-conformance test over every neural model (scikit-survival's practice).

Each model must: keep its hyper-parameters as given (fit never rewrites them), return self
from fit, expose learned state ending in "_", predict survival as a DataFrame of probabilities
that never rise in time, score with the metrics package, and survive save/load with identical
predictions, the state read with torch.load(weights_only=True).
"""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.models import MENSA, CoxVAE, DeepSurv, NnetSurvival, small_cnn

from ._data import weibull_ph

MODELS = {
    "deepsurv": lambda: DeepSurv(hidden=(8,), dropout=0.1),
    "deepsurv-linear": lambda: DeepSurv(hidden=(), dropout=0.0, ties="breslow"),
    "nnet-flexible": lambda: NnetSurvival(12, hidden=(8,)),
    "nnet-proportional": lambda: NnetSurvival([0, 100, 250, 500, 900, 1400, 1800], head="proportional"),
    "mensa-single": lambda: MENSA(n_dists=2, hidden=(8,), mode="single"),
    "coxvae": lambda: CoxVAE(latent_dim=2, hidden=(8,), reconstruction="gaussian", lr_autoencoder=1e-2, lr_cox=1e-2),
}


@pytest.fixture(scope="module")
def data():
    return weibull_ph(500, seed=11)


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request, data):
    model = MODELS[request.param]()
    params = {k: v for k, v in model.get_params().items()}
    lr = {} if request.param == "coxvae" else {"lr": 1e-2}  # CoxVAE: two learning rates in __init__
    out = model.fit(data, epochs=5, batch_size=None if "deepsurv" in request.param else 100, verbose=False, **lr)
    assert out is model
    assert model.get_params() == params
    return model


def test_learned_state_and_predictions(fitted, data):
    for attr in ("network_", "device_", "n_features_", "history_", "covariates_", "scaler_"):
        assert hasattr(fitted, attr), attr
    frame = pd.DataFrame(data.X[:7], columns=list(data.covariates), index=list("abcdefg"))
    times = [10.0, 100.0, 400.0, 900.0]
    surv = fitted.predict_survival(frame, times=times)
    assert surv.shape == (7, 4) and list(surv.index) == list("abcdefg") and list(surv.columns) == times
    values = surv.to_numpy()
    assert ((values >= 0) & (values <= 1)).all() and (np.diff(values, axis=1) <= 1e-12).all()
    # arrays and tensors give the same answers as the frame
    np.testing.assert_array_equal(fitted.predict_survival(data.X[:7], times).to_numpy(), values)
    np.testing.assert_array_equal(fitted.predict_survival(torch.tensor(data.X[:7]), times).to_numpy(), values)
    assert fitted.predict_risk(frame).shape == (7,)


def test_score(fitted, data):
    from pysurvbridge import metrics

    s = fitted.evaluate(data)
    assert set(s) == {"c_harrell", "ibs", "n"} and 0 <= s["ibs"] <= 1
    assert s["c_harrell"] == pytest.approx(metrics.concordance_harrell(fitted.predict_risk(data.X), data.time, data.event))
    assert fitted.score(data) == s["c_harrell"]  # scikit-survival's score: Harrell's C


def test_save_load_round_trip(fitted, data, tmp_path):
    path = fitted.save(tmp_path / "model")
    assert (path / "config.json").exists() and (path / "state.pt").exists()
    torch.load(path / "state.pt", weights_only=True)  # plain tensors and containers only
    again = type(fitted).load(path)
    times = [10.0, 100.0, 400.0]
    pd.testing.assert_frame_equal(again.predict_survival(data.X[:20], times), fitted.predict_survival(data.X[:20], times))
    np.testing.assert_array_equal(again.predict_risk(data.X[:20]), fitted.predict_risk(data.X[:20]))
    assert again.get_params() == fitted.get_params()
    pd.testing.assert_frame_equal(again.history_, fitted.history_, check_dtype=False)


def test_load_refuses_code_in_the_state_file(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")

    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))
    with open(path / "state.pt", "wb") as fh:
        pickle.dump({"network": Payload()}, fh, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        type(fitted).load(path)


def test_load_errors(tmp_path, data):
    with pytest.raises(InvalidParameterError, match="holds no saved model"):
        DeepSurv.load(tmp_path)
    m = NnetSurvival(6, network=small_cnn((1, 3), channels=(), n_features=4)).fit(data, epochs=1, verbose=False)
    m.save(tmp_path / "cnn")
    with pytest.raises(InvalidParameterError, match=r"pass the same architecture again"):
        NnetSurvival.load(tmp_path / "cnn")
    with pytest.raises(InvalidParameterError, match="holds a NnetSurvival, not a DeepSurv"):
        DeepSurv.load(tmp_path / "cnn")
    again = NnetSurvival.load(tmp_path / "cnn", network=small_cnn((1, 3), channels=(), n_features=4))
    np.testing.assert_array_equal(again.predict_risk(data.X[:5]), m.predict_risk(data.X[:5]))
