"""The shared training loop (models/base.py): seeds, early stopping, errors, progress, devices.

Model-independent behaviour is checked on DeepSurv and NnetSurvival; numbers come from the
loop's own contract (identical weights under one seed, the restored epoch's recorded loss).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pysurvbridge.data import SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError, TrainingError
from pysurvbridge.models import DeepSurv, NnetSurvival
from pysurvbridge.models.base import SurvivalModel

from ._data import weibull_ph


@pytest.fixture(scope="module")
def data() -> SurvivalData:
    return weibull_ph(600, seed=3)


def _weights(model):
    return {k: v.clone() for k, v in model.network_.state_dict().items()}


@pytest.mark.parametrize("make", [lambda: DeepSurv(hidden=(8,), dropout=0.2),
                                  lambda: NnetSurvival(10, hidden=(8,), dropout=0.2)])
def test_same_seed_same_weights_and_global_rng_untouched(data, make):
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = make().fit(data, epochs=5, batch_size=128, lr=1e-2, seed=7, verbose=False)
    after = torch.rand(3)
    b = make().fit(data, epochs=5, batch_size=128, lr=1e-2, seed=7, verbose=False)
    c = make().fit(data, epochs=5, batch_size=128, lr=1e-2, seed=8, verbose=False)
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)
    assert torch.equal(before, after)  # fit forks the global generator and gives it back


def test_early_stopping_restores_a_copy_of_the_best_weights(data):
    # a learning rate high enough that the validation loss rises after its minimum
    m = DeepSurv(hidden=(64, 64), dropout=0.0).fit(
        data, epochs=200, lr=3e-2, validation=0.3, patience=5, verbose=False)
    hist = m.history_
    best = int(hist["val_loss"].idxmin())
    assert m.best_epoch_ == hist["epoch"][best]
    assert len(hist) == m.best_epoch_ + 5 < 200  # stopped 5 epochs after the best
    # the restored weights reproduce the best epoch's validation loss, not the last one
    train, val = __import__("pysurvbridge.models.batches", fromlist=["x"]).split_validation(data, 0.3, 0)
    X, t, e = m._tensors(val, m.device_)
    with torch.no_grad():
        restored = float(m._loss(m.network_(X), m._targets(t, e)))
    assert restored == pytest.approx(hist["val_loss"][best], rel=1e-6)
    assert restored < hist["val_loss"].iloc[-1]


def test_validation_data_object_and_history(data):
    val = weibull_ph(200, seed=4)
    m = NnetSurvival(8).fit(data, epochs=3, lr=1e-2, validation=val, verbose=False)
    assert list(m.history_.columns) == ["epoch", "train_loss", "val_loss"]
    assert m.history_["epoch"].tolist() == [1, 2, 3] and m.history_["val_loss"].notna().all()


class NanOnFifthTrainingCall(torch.nn.Module):
    """A feature extractor whose 5th training-mode forward pass returns NaN."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 4)
        self.calls = 0

    def forward(self, x):
        out = self.linear(x)
        if self.training:
            self.calls += 1
            if self.calls == 5:
                out = out * float("nan")
        return out


def test_nan_loss_names_epoch_and_batch(data):
    # 600 rows in batches of 200: the 5th training batch is epoch 2, batch 2
    with pytest.raises(TrainingError, match=r"became nan at epoch 2, batch 2"):
        NnetSurvival(8, network=NanOnFifthTrainingCall()).fit(data, epochs=3, batch_size=200, verbose=False)


def test_progress_bar_shows_losses(data, capsys):
    NnetSurvival(8).fit(data, epochs=2, lr=1e-2, validation=0.2, verbose=True)
    err = capsys.readouterr().err
    assert "NnetSurvival" in err and "train_loss" in err and "val_loss" in err
    NnetSurvival(8).fit(data, epochs=2, lr=1e-2, verbose=False)
    assert capsys.readouterr().err == ""


def test_data_move_to_the_device_once(data, monkeypatch):
    calls = []
    original = SurvivalModel._tensors
    monkeypatch.setattr(SurvivalModel, "_tensors", lambda self, d, dev: calls.append(len(d)) or original(self, d, dev))
    NnetSurvival(8).fit(data, epochs=4, batch_size=50, lr=1e-2, validation=0.25, verbose=False)
    assert sorted(calls) == [150, 450]  # training and validation parts, once each for 4 epochs x 9 batches


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": 0}, "batch_size"),
    ({"lr": -1.0}, "lr must be positive"),
    ({"patience": 3}, "patience .* needs a validation set"),
    ({"validation": 1.5}, "validation must be a fraction"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"device": "tpu"}, "device must be"),
])
def test_bad_fit_arguments(data, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        NnetSurvival(8).fit(data, **{"epochs": 1, "verbose": False, **kwargs})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when CUDA is absent")
def test_cuda_requested_without_cuda(data):
    with pytest.raises(InvalidParameterError, match="no CUDA device"):
        NnetSurvival(8).fit(data, epochs=1, device="cuda", verbose=False)


def test_auto_device_is_cpu_without_cuda(data):
    m = NnetSurvival(8).fit(data, epochs=1, verbose=False)
    assert m.device_.type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_matches_cpu_predictions(data):
    kw = dict(epochs=20, lr=1e-2, seed=0, verbose=False)
    cpu = NnetSurvival(8, head="proportional").fit(data, device="cpu", **kw)
    gpu = NnetSurvival(8, head="proportional").fit(data, device="cuda", **kw)
    assert gpu.device_.type == "cuda"
    np.testing.assert_allclose(gpu.predict_survival(data.X, [100, 400]).to_numpy(),
                               cpu.predict_survival(data.X, [100, 400]).to_numpy(), atol=1e-4)


def test_no_events_and_one_shot_iterators_are_refused(data):
    censored = data.subset(data.event == 0)
    with pytest.raises(InvalidSurvivalDataError, match="no events"):
        NnetSurvival([0, 100, 200]).fit(censored, epochs=1, verbose=False)
    gen = ((data.X[i:i + 100], data.time[i:i + 100], data.event[i:i + 100]) for i in range(0, 600, 100))
    with pytest.raises(InvalidParameterError, match="one-shot iterator"):
        NnetSurvival([0, 100, 200]).fit(gen, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="needs its training data in memory"):
        DeepSurv().fit([(data.X, data.time, data.event)], epochs=1, verbose=False)


def test_prediction_input_errors(data):
    import pandas as pd

    m = DeepSurv(hidden=(4,)).fit(data, epochs=2, verbose=False)
    frame = pd.DataFrame(data.X, columns=list(data.covariates))
    with pytest.raises(InvalidSurvivalDataError, match=r"lacks the covariate columns \['x2'\]"):
        m.predict_survival(frame.drop(columns="x2"), times=[100])
    X = data.X[:5].copy()
    X[3, 1] = np.nan
    with pytest.raises(InvalidSurvivalDataError, match=r"missing or infinite values in rows \[3\]"):
        m.predict_risk(X)
    with pytest.raises(InvalidSurvivalDataError, match=r"shape \(n, 3\)"):
        m.predict_risk(np.zeros((2, 4)))
    with pytest.raises(InvalidParameterError, match="not fitted yet"):
        DeepSurv().predict_risk(X)


def test_quiet_calls_never_import_tqdm_auto():
    """verbose=False must print nothing, also in a Jupyter kernel, where importing tqdm.auto
    without ipywidgets prints "TqdmWarning: IProgress not found" (found rendering the vignettes)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from pysurvbridge import compare\n"
            "from pysurvbridge.data import prepared\n"
            "from pysurvbridge.models import DeepSurv\n"
            "compare('bladder1', ['cox'], seeds=1, verbose=False, crosscheck=False)\n"
            "DeepSurv(hidden=(4,)).fit(prepared('bladder1').first_event(), epochs=2, verbose=False)\n"
            "print('tqdm.auto' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
