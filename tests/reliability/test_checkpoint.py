"""Training checkpoints: a training process killed with SIGKILL and started again with the same
checkpoint folder ends with the weights of a fit that was never interrupted (CPU, same seed:
compared with torch.equal, bit for bit); every neural estimator resumes (a fit of N epochs
continued to 2N equals a straight 2N-epoch fit), streamed fits resume at the epoch boundary,
and a checkpoint of another configuration, seed or data is refused, naming what differs."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import torch

from pysurvbridge.data import SurvivalData
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.models import MENSA, CoxVAE, DeepSurv, LSTMCox, NnetSurvival
from pysurvbridge.models.checkpoint import FILE_NAME
from pysurvbridge.simulate import simulate_recurrent

from tests.models._data import weibull_ph

KILLED = dict(hidden=(32, 32), dropout=0.1, epochs=60, batch_size=64, validation=0.2, lr=3e-3, verbose=False,
              random_state=11)


def same_fit(a, b) -> None:
    sa, sb = a.network_.state_dict(), b.network_.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        assert torch.equal(sa[name], sb[name]), f"{name} differs"
    pd.testing.assert_frame_equal(a.history_, b.history_)
    assert a.best_epoch_ == b.best_epoch_


def saved_epoch(folder) -> int:
    path = folder / FILE_NAME
    if not path.exists():
        return 0
    return int(torch.load(path, weights_only=True)["epoch"])


def test_killed_training_resumes_to_the_same_weights(tmp_path):
    data = weibull_ph(600, seed=5)
    np.savez(tmp_path / "data.npz", time=data.time, event=data.event, X=data.X)
    folder = tmp_path / "checkpoint"
    script = textwrap.dedent(f"""
        import numpy as np, torch
        from pysurvbridge.data import SurvivalData
        from pysurvbridge.models import DeepSurv
        torch.set_num_threads({torch.get_num_threads()})
        d = np.load({str(tmp_path / "data.npz")!r})
        data = SurvivalData.from_arrays(d["time"], d["event"], d["X"])
        DeepSurv(**{KILLED!r}).fit(data, checkpoint={str(folder)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while saved_epoch(folder) < 3:  # kill -9 after the third epoch's checkpoint
        assert proc.poll() is None, f"training ended before it could be killed: {proc.stderr.read()!r}"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = saved_epoch(folder)
    assert 3 <= killed_at < KILLED["epochs"], f"killed at epoch {killed_at}: not mid-way"
    resumed = DeepSurv(**KILLED).fit(data, checkpoint=folder)
    straight = DeepSurv(**KILLED).fit(data)
    same_fit(resumed, straight)
    assert len(resumed.history_) == KILLED["epochs"]
    # a finished checkpoint is kept: the same call again returns the same model without training
    again = DeepSurv(**KILLED).fit(data, checkpoint=folder)
    same_fit(again, straight)


def _survival(n=240, seed=2):
    return weibull_ph(n, seed=seed)


CASES = {  # every neural estimator, with a training state of its own worth resuming
    "DeepSurv": (lambda **k: DeepSurv(hidden=(8,), dropout=0.2, batch_size=32, validation=0.2, patience=50, **k),
                 _survival),
    "NnetSurvival": (lambda **k: NnetSurvival(breaks=5, hidden=(8,), dropout=0.1, batch_size=64, **k), _survival),
    "CoxVAE": (lambda **k: CoxVAE(latent_dim=2, hidden=(8,), reconstruction="gaussian", batch_size=64, **k),
               _survival),
    "MENSA": (lambda **k: MENSA(n_dists=2, hidden=(8,), mode="single", batch_size=64, validation=0.2, **k),
              _survival),
    "LSTMCox": (lambda **k: LSTMCox(hidden_size=4, **k), lambda: simulate_recurrent(60, seed=1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_neural_estimator_continues_where_it_stopped(tmp_path, name):
    make, data_of = CASES[name]
    data = data_of()
    quiet = dict(verbose=False, random_state=4, lr=1e-2) if name != "CoxVAE" else dict(verbose=False, random_state=4)
    make(epochs=4, **quiet).fit(data, checkpoint=tmp_path, checkpoint_every=2)
    assert saved_epoch(tmp_path) == 4
    continued = make(epochs=8, **quiet).fit(data, checkpoint=tmp_path, checkpoint_every=3)
    straight = make(epochs=8, **quiet).fit(data)
    same_fit(continued, straight)
    np.testing.assert_array_equal(continued.predict_survival(data if name == "LSTMCox" else data.X[:5],
                                                             np.array([100.0, 400.0]) if name != "LSTMCox" else
                                                             np.array([2.0, 5.0])),
                                  straight.predict_survival(data if name == "LSTMCox" else data.X[:5],
                                                            np.array([100.0, 400.0]) if name != "LSTMCox" else
                                                            np.array([2.0, 5.0])))


def _parquet_source(tmp_path, data):
    from pysurvbridge.data.streaming import ParquetMinibatches, write_parquet_chunks

    frame = pd.DataFrame(data.X, columns=["a", "b", "c"]).assign(time=data.time, event=data.event)
    write_parquet_chunks(tmp_path / "chunks", (frame.iloc[k:k + 100] for k in range(0, len(frame), 100)))
    return ParquetMinibatches(tmp_path / "chunks", time="time", event="event", covariates=["a", "b", "c"],
                              batch_size=50)


def _loader(tmp_path, data):  # shuffled: its order is drawn from torch's generator each epoch
    dataset = torch.utils.data.TensorDataset(torch.tensor(data.X, dtype=torch.float32), torch.tensor(data.time),
                                             torch.tensor(data.event, dtype=torch.float64))
    return torch.utils.data.DataLoader(dataset, batch_size=60, shuffle=True)


@pytest.mark.parametrize("source_of", [_parquet_source, _loader], ids=["parquet", "shuffled-dataloader"])
@pytest.mark.parametrize("model", ["NnetSurvival", "CoxVAE"])
def test_streamed_training_resumes_at_the_epoch_boundary(tmp_path, source_of, model):
    data = _survival(300, seed=8)
    source = source_of(tmp_path, data)
    make = {"NnetSurvival": lambda e: NnetSurvival(breaks=np.linspace(0, 1800, 8), hidden=(8,), dropout=0.2, epochs=e,
                                                   lr=1e-2, verbose=False, random_state=1),
            "CoxVAE": lambda e: CoxVAE(latent_dim=2, hidden=(8,), reconstruction="gaussian", epochs=e, verbose=False,
                                       random_state=1)}[model]
    make(3).fit(source, checkpoint=tmp_path / "ck")
    continued = make(6).fit(source, checkpoint=tmp_path / "ck")
    straight = make(6).fit(source)
    same_fit(continued, straight)
    if model == "CoxVAE":  # its baseline comes from the event times collected in the first epoch
        np.testing.assert_array_equal(continued.predict_survival(data.X[:5], np.array([200.0])),
                                      straight.predict_survival(data.X[:5], np.array([200.0])))


def test_a_checkpoint_of_another_fit_is_refused(tmp_path):
    data = _survival()
    base = dict(hidden=(8,), epochs=2, lr=1e-2, verbose=False, random_state=0)
    DeepSurv(**base).fit(data, checkpoint=tmp_path)
    other_data = SurvivalData.from_arrays(data.time * 2, data.event, data.X)
    for model, fit_data, match in [
        (DeepSurv(**{**base, "lr": 3e-3}), data, r"lr: checkpoint 0\.01, this fit 0\.003"),
        (DeepSurv(**{**base, "random_state": 1}), data, r"seed: checkpoint 0, this fit 1"),
        (DeepSurv(**{**base, "hidden": (4,)}), data, r"parameter hidden: checkpoint \(8,\), this fit \(4,\)"),
        (DeepSurv(**base), other_data, r"training data: checkpoint [0-9a-f]{8}"),
        (NnetSurvival(breaks=5, epochs=2, verbose=False), data, r"model: checkpoint DeepSurv, this fit NnetSurvival"),
    ]:
        with pytest.raises(InvalidParameterError, match="belongs to another fit") as info:
            model.fit(fit_data, checkpoint=tmp_path)
        assert re.search(match, str(info.value)), str(info.value)
        assert "delete checkpoint.pt there to start over" in str(info.value)
    # more epochs, another verbosity or device: the same training, continued
    DeepSurv(**{**base, "epochs": 3, "verbose": True, "device": "cpu"}).fit(data, checkpoint=tmp_path)


def test_unreadable_checkpoint_and_bad_arguments(tmp_path):
    data = _survival()
    (tmp_path / FILE_NAME).write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidParameterError, match="cannot be read .* delete it to start this training over"):
        DeepSurv(epochs=2, verbose=False).fit(data, checkpoint=tmp_path)
    for kwargs, match in [(dict(checkpoint_every=0), "checkpoint_every must be a positive integer"),
                          (dict(checkpoint=5), "checkpoint must be a folder path"),
                          (dict(checkpoint=tmp_path / FILE_NAME / "x"), "cannot be written")]:
        with pytest.raises(InvalidParameterError, match=match):
            DeepSurv(epochs=2, verbose=False).fit(data, **{"checkpoint": tmp_path / "ok", **kwargs})
