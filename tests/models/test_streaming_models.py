"""Out-of-core CoxVAE and MENSA: minibatches read from parquet files.

References: the in-memory fit with the same batches. Unshuffled parquet batches equal the
in-memory loop's when (a) each epoch is one batch of all subjects (``fit(data)`` with
``batch_size=None``: no permutation) or (b) the file holds the subjects in the order of the
loop's first-epoch permutation, ``torch.randperm(n, generator=torch.Generator().manual_seed(seed))``
(``_memory_batches`` in models/base.py), for one epoch. The streamed Breslow baseline is
checked against :meth:`BreslowBaseline.fit` (itself checked against R ``basehaz(coxph(ties =
"breslow"), centered = FALSE)`` in test_deepsurv.py) on the same log-risks, 1e-10.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pysurvbridge.data import MultiEventData, SurvivalData
from pysurvbridge.data.streaming import ParquetMinibatches, write_parquet_chunks
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.models import MENSA, CoxVAE
from pysurvbridge.models.baseline import BreslowBaseline
from pysurvbridge.models.batches import EventTimeGrid, StreamedBreslow
from pysurvbridge.simulate import simulate_multi_event

from ._data import weibull_ph

COVS = ["x1", "x2", "x3"]
TIMES, EVENTS = ["time_e0", "time_e1"], ["event_e0", "event_e1"]


def _single(n: int = 300, seed: int = 4) -> SurvivalData:
    """weibull_ph with times rounded to whole weeks (tied event times, and censoring at event times)."""
    d = weibull_ph(n, seed)
    return SurvivalData.from_arrays(np.ceil(d.time / 7) * 7, d.event, d.X, COVS)


def _first_epoch_order(n: int, seed: int) -> np.ndarray:
    """The in-memory loop's first-epoch permutation (models/base.py ``_memory_batches``)."""
    return torch.randperm(n, generator=torch.Generator(device="cpu").manual_seed(seed)).numpy()


def _single_frame(d: SurvivalData, rows=None) -> pd.DataFrame:
    rows = np.arange(len(d)) if rows is None else rows
    frame = pd.DataFrame(d.X[rows], columns=COVS)
    frame["time"], frame["event"] = d.time[rows], d.event[rows].astype(np.float64)
    return frame


def _assert_same_fit(streamed, memory, rtol: float, atol: float) -> None:
    for (k, a), b in zip(streamed.network_.state_dict().items(), memory.network_.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=k)
    np.testing.assert_allclose(streamed.history_["train_loss"], memory.history_["train_loss"], rtol=rtol)


def _vae() -> CoxVAE:
    return CoxVAE(latent_dim=2, hidden=(8,), reconstruction="gaussian", standardize=False)


# ---------------------------------------------------------------------------------- CoxVAE
def test_coxvae_one_batch_per_epoch_equals_in_memory_and_baseline(tmp_path):
    d = _single()
    _single_frame(d).to_parquet(tmp_path / "all.parquet", index=False)
    source = ParquetMinibatches(tmp_path / "all.parquet", time="time", event="event", covariates=COVS,
                                batch_size=len(d))
    kw = dict(epochs=5, seed=3, verbose=False)
    streamed, memory = _vae().fit(source, **kw), _vae().fit(d, **kw)
    _assert_same_fit(streamed, memory, rtol=1e-6, atol=1e-7)
    assert streamed.train_time_ is None and streamed.covariates_ is None
    # same weights: the stream's baseline equals Breslow on the model's own log-risks in memory
    ref = BreslowBaseline.fit(streamed.predict_risk(d.X), d.time, d.event)
    np.testing.assert_array_equal(streamed.baseline_.times, ref.times)
    np.testing.assert_allclose(streamed.baseline_.cumhaz, ref.cumhaz, rtol=1e-10, atol=0)
    assert streamed.predict_survival(d.X[:4], [30.0, 300.0]).shape == (4, 2)
    loaded = CoxVAE.load(streamed.save(tmp_path / "saved"))
    np.testing.assert_array_equal(loaded.predict_survival(d.X, [30.0, 300.0]).to_numpy(),
                                  streamed.predict_survival(d.X, [30.0, 300.0]).to_numpy())


def test_coxvae_minibatches_from_parquet_equal_in_memory_minibatches(tmp_path):
    d, seed = _single(), 5
    order = _first_epoch_order(len(d), seed)
    _single_frame(d, order).to_parquet(tmp_path / "perm.parquet", index=False)
    source = ParquetMinibatches(tmp_path / "perm.parquet", time="time", event="event", covariates=COVS, batch_size=64)
    kw = dict(epochs=1, seed=seed, verbose=False)
    streamed, memory = _vae().fit(source, **kw), _vae().fit(d, batch_size=64, **kw)
    _assert_same_fit(streamed, memory, rtol=1e-6, atol=1e-7)


def test_coxvae_baseline_from_several_files_and_batches(tmp_path):
    d = _single(400, seed=6)
    frame = _single_frame(d)
    write_parquet_chunks(tmp_path / "c", (frame.iloc[k:k + 130] for k in range(0, len(d), 130)))
    source = ParquetMinibatches(tmp_path / "c", time="time", event="event", covariates=COVS, batch_size=50)
    m = _vae().fit(source, epochs=2, verbose=False)
    # the reference log-risks come batch by batch as the stream gives them: float32 matrix
    # products of a few rows may differ in the last bit from a product over all rows (measured 3e-7)
    eta = np.concatenate([m.predict_risk(X) for X, _, _ in source])
    ref = BreslowBaseline.fit(eta, d.time, d.event)
    np.testing.assert_array_equal(m.baseline_.times, ref.times)
    np.testing.assert_allclose(m.baseline_.cumhaz, ref.cumhaz, rtol=1e-10, atol=0)


def test_streamed_breslow_equals_the_in_memory_baseline():
    rng = np.random.default_rng(0)
    n = 3000
    time = np.round(rng.exponential(size=n), 2)  # about 350 distinct event times, many ties
    event = rng.binomial(1, 0.6, n)
    eta = rng.normal(size=n) * 2
    eta[2000:] += 500.0  # the running shift (largest eta so far) jumps mid-stream: earlier sums rescaled
    grid = EventTimeGrid()
    grid.MERGE_AT = 10  # merge often
    for k in range(0, n, 97):
        grid.add(time[k:k + 97], event[k:k + 97])
    acc = StreamedBreslow(grid.times())
    for b, k in enumerate(range(0, n, 113)):
        acc.add(eta[k:k + 113], time[k:k + 113], event[k:k + 113], b + 1)
    got, ref = acc.baseline(), BreslowBaseline.fit(eta, time, event)
    np.testing.assert_array_equal(got.times, ref.times)
    np.testing.assert_allclose(got.cumhaz, ref.cumhaz, rtol=1e-10, atol=0)


class _Drifting:
    """A source whose times change from one pass to the next (not the same subjects)."""

    def __init__(self, d: SurvivalData) -> None:
        self.d, self.passes = d, 0

    def __iter__(self):
        self.passes += 1
        yield self.d.X.astype(np.float32), self.d.time + self.passes, self.d.event


def test_coxvae_stream_errors(tmp_path):
    d = _single(100)
    frame = _single_frame(d)
    frame["t2"], frame["e2"] = frame["time"], frame["event"]
    frame.to_parquet(tmp_path / "f.parquet", index=False)
    multi = ParquetMinibatches(tmp_path / "f.parquet", time=["time", "t2"], event=["event", "e2"], covariates=COVS)
    with pytest.raises(InvalidParameterError, match=r"one event per subject, but the source gives 2"):
        _vae().fit(multi, epochs=1, verbose=False)
    two_d = [(d.X, np.column_stack([d.time, d.time]), np.column_stack([d.event, d.event]))]
    with pytest.raises(InvalidSurvivalDataError, match=r"minibatch 1: time has shape \(100, 2\).*multi-event"):
        _vae().fit(two_d, epochs=1, verbose=False)
    with pytest.raises(InvalidSurvivalDataError, match=r"minibatch 1: reconstruction='bernoulli' needs .*\[0, 1\]"):
        CoxVAE(latent_dim=2, hidden=(8,)).fit([(d.X, d.time, d.event)], epochs=1, verbose=False)
    with pytest.raises(InvalidSurvivalDataError, match="no events: every subject in the source is censored"):
        _vae().fit([(d.X, d.time, np.zeros(len(d)))], epochs=1, verbose=False)
    with pytest.raises(InvalidSurvivalDataError, match="event times the first pass did not see"):
        _vae().fit(_Drifting(d), epochs=1, verbose=False)
    with pytest.raises(InvalidSurvivalDataError, match=r"lacks the columns \['age'\]"):
        ParquetMinibatches(tmp_path / "f.parquet", time="time", event="event", covariates=["age"])
    with pytest.raises(InvalidParameterError, match=r"CoxVAE.fit\(X\) needs y"):  # a frame alone is X without y
        _vae().fit(frame, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="both be column names or both lists"):
        ParquetMinibatches(tmp_path / "f.parquet", time=["time", "t2"], event="event", covariates=COVS)


# ---------------------------------------------------------------------------------- MENSA
def _multi_frame(data: MultiEventData, rows=None) -> pd.DataFrame:
    frame = data.to_frame()
    return frame if rows is None else frame.iloc[rows].reset_index(drop=True)


def _multi_source(path, batch_size: int) -> ParquetMinibatches:
    return ParquetMinibatches(path, time=TIMES, event=EVENTS, covariates=[f"x{j + 1}" for j in range(5)],
                              batch_size=batch_size)


def test_mensa_one_batch_per_epoch_equals_in_memory(tmp_path):
    sim = simulate_multi_event(200, K=2, seed=1)
    _multi_frame(sim.data).to_parquet(tmp_path / "m.parquet", index=False)
    kw = dict(epochs=4, seed=2, verbose=False)
    make = (lambda: MENSA(trajectories=[("event_e0", "event_e1")], standardize=False))
    streamed = make().fit(_multi_source(tmp_path / "m.parquet", 200), **kw)
    named = MultiEventData(sim.data.times, sim.data.events, sim.data.X, sim.data.covariates, ("event_e0", "event_e1"))
    memory = MENSA(trajectories=[(0, 1)], standardize=False).fit(named, **kw)
    _assert_same_fit(streamed, memory, rtol=1e-10, atol=1e-12)  # float64 network
    assert streamed.event_names_ == memory.event_names_ == ("event_e0", "event_e1")
    assert streamed.n_states_ == 3 and streamed.trajectory_index_ == memory.trajectory_index_ == ((0, 1),)
    assert streamed.time_unit_ == pytest.approx(memory.time_unit_, rel=1e-14)
    assert streamed.train_times_ is None
    frames = streamed.predict_survival(sim.data.X[:3], [1.0, 5.0])
    assert list(frames) == ["event_e0", "event_e1"] and frames["event_e1"].shape == (3, 2)
    loaded = MENSA.load(streamed.save(tmp_path / "saved"))
    np.testing.assert_array_equal(loaded.predict_survival_array(sim.data.X, [2.0]),
                                  streamed.predict_survival_array(sim.data.X, [2.0]))


def test_mensa_minibatches_with_a_last_batch_of_one_row(tmp_path):
    sim, seed = simulate_multi_event(65, K=2, seed=2), 7  # 65 = 2 x 32 + 1: the last row joins batch 2
    _multi_frame(sim.data, _first_epoch_order(65, seed)).to_parquet(tmp_path / "p.parquet", index=False)
    kw = dict(epochs=1, seed=seed, verbose=False)
    streamed = MENSA(standardize=False).fit(_multi_source(tmp_path / "p.parquet", 32), **kw)
    memory = MENSA(standardize=False).fit(sim.data, batch_size=32, **kw)
    _assert_same_fit(streamed, memory, rtol=1e-10, atol=1e-12)


def test_mensa_streamed_scaler_and_single_mode(tmp_path):
    sim = simulate_multi_event(300, K=2, seed=3)
    write_parquet_chunks(tmp_path / "c", (_multi_frame(sim.data).iloc[k:k + 100] for k in range(0, 300, 100)))
    m = MENSA().fit(_multi_source(tmp_path / "c", 64), epochs=1, verbose=False)
    # batches arrive as float32 (ParquetMinibatches): agreement to float32 precision
    X = sim.data.X.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(m.scaler_.mean.numpy(), X.mean(axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(m.scaler_.scale.numpy(), X.std(axis=0), rtol=1e-6)
    single = ParquetMinibatches(tmp_path / "c", time="time_e0", event="event_e0",
                                covariates=[f"x{j + 1}" for j in range(5)], batch_size=64)
    held_out = SurvivalData.from_arrays(sim.data.times[:50, 0], sim.data.events[:50, 0], sim.data.X[:50])
    one = MENSA(mode="single").fit(single, epochs=2, validation=held_out, verbose=False)
    assert one.event_names_ == ("event_e0",) and one.predict_survival(sim.data.X[:2], [1.0]).shape == (2, 1)
    assert np.isfinite(one.history_["val_loss"]).all()


def test_mensa_stream_errors(tmp_path):
    sim = simulate_multi_event(100, K=2, seed=0)
    frame = _multi_frame(sim.data)
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    covs = [f"x{j + 1}" for j in range(5)]
    with pytest.raises(InvalidSurvivalDataError, match=r"lacks the columns \['time_e2'\]"):
        ParquetMinibatches(tmp_path / "m.parquet", time=TIMES + ["time_e2"], event=EVENTS + ["event_e1"],
                           covariates=covs)
    single = ParquetMinibatches(tmp_path / "m.parquet", time="time_e0", event="event_e0", covariates=covs)
    with pytest.raises(InvalidParameterError, match=r"mode='multi' needs at least two .*the source gives K = 1"):
        MENSA().fit(single, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match=r"mode='single' needs one event type, but the source gives K = 2"):
        MENSA(mode="single").fit(_multi_source(tmp_path / "m.parquet", 50), epochs=1, verbose=False)
    with pytest.raises(InvalidSurvivalDataError, match=r"minibatch 1: mode='competing' needs one observed time"):
        MENSA(mode="competing").fit(_multi_source(tmp_path / "m.parquet", 50), epochs=1, verbose=False)
    quiet = frame.assign(event_e1=0)
    quiet.to_parquet(tmp_path / "q.parquet", index=False)
    with pytest.raises(InvalidSurvivalDataError, match="event 'event_e1' has no observed events in the source"):
        MENSA().fit(_multi_source(tmp_path / "q.parquet", 50), epochs=1, verbose=False)
    zero = frame.copy()
    zero.loc[60, "time_e0"], zero.loc[60, "event_e0"] = 0.0, 1
    zero.to_parquet(tmp_path / "z.parquet", index=False)
    with pytest.raises(InvalidSurvivalDataError, match=r"minibatch 2: observed event times must be > 0.*rows \[10\]"):
        MENSA().fit(_multi_source(tmp_path / "z.parquet", 50), epochs=1, verbose=False)
    X, T, E = sim.data.X, sim.data.times, sim.data.events
    ragged = [(X[:50], T[:50], E[:50]),
              (X[50:], np.column_stack([T[50:], T[50:, :1]]), np.column_stack([E[50:], E[50:, :1]]))]
    with pytest.raises(InvalidSurvivalDataError, match="minibatch 2 has 3 event times per subject, but 2"):
        MENSA().fit(ragged, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="one-shot iterator"):
        MENSA().fit((b for b in [(X, T, E)]), epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="a fraction cannot be held out of a stream"):
        MENSA().fit(_multi_source(tmp_path / "m.parquet", 50), epochs=1, validation=0.2, verbose=False)
    three = simulate_multi_event(30, K=3, seed=2).data
    with pytest.raises(InvalidSurvivalDataError, match="validation has 3 event types, the streamed training data 2"):
        MENSA().fit(_multi_source(tmp_path / "m.parquet", 50), epochs=1, validation=three, verbose=False)


def test_mensa_streamed_with_a_multi_event_validation_set(tmp_path):
    """A MultiEventData validation set beside a stream: the validation loss equals the in-memory
    fit's with the same single batch (same weights: see the one-batch test), and early stopping
    restores the best epoch."""
    sim = simulate_multi_event(200, K=2, seed=1)
    held_out = simulate_multi_event(80, K=2, seed=3).data
    _multi_frame(sim.data).to_parquet(tmp_path / "m.parquet", index=False)
    kw = dict(epochs=6, seed=2, verbose=False, validation=held_out, patience=2)
    streamed = MENSA(standardize=False).fit(_multi_source(tmp_path / "m.parquet", 200), **kw)
    memory = MENSA(standardize=False).fit(sim.data, **kw)
    np.testing.assert_allclose(streamed.history_["val_loss"], memory.history_["val_loss"], rtol=0, atol=1e-10)
    assert streamed.best_epoch_ == memory.best_epoch_
