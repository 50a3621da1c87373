"""Out-of-core training: minibatches read from disk (chunked parquet, memory-mapped arrays).

Reference: the in-memory fit. A source that yields the whole data set as one batch per epoch
must give the weights of ``fit(SurvivalData)`` with full batches (same loss, same steps); a
chunked source must reach the paper's calibration (check 1: within 0.03 of Kaplan-Meier).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pysurvbridge import metrics
from pysurvbridge.data.intervals import breaks_equal_width
from pysurvbridge.data.streaming import ParquetMinibatches, write_parquet_chunks
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.models import NnetSurvival

from ._data import exponential_two_groups

BREAKS = breaks_equal_width(5 * 365, width=365 / 8)


@pytest.fixture(scope="module")
def data():
    return exponential_two_groups(5000, seed=2)


def _frame(data) -> pd.DataFrame:
    return pd.DataFrame({"time": data.time, "event": data.event, "x": data.X[:, 0]})


def test_one_batch_per_epoch_equals_the_in_memory_fit(data, tmp_path):
    np.save(tmp_path / "X.npy", data.X.astype(np.float32))
    np.save(tmp_path / "time.npy", data.time)
    np.save(tmp_path / "event.npy", data.event.astype(np.float64))
    mm = [torch.from_numpy(np.load(tmp_path / f"{k}.npy", mmap_mode="r+")) for k in ("X", "time", "event")]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*mm), batch_size=len(data))
    kw = dict(epochs=15, lr=0.05, seed=3, verbose=False)
    streamed = NnetSurvival(BREAKS, standardize=False).fit(loader, **kw)
    memory = NnetSurvival(BREAKS, standardize=False).fit(data, **kw)
    for (k, a), b in zip(streamed.network_.state_dict().items(), memory.network_.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=k)
    assert streamed.train_time_ is None and streamed.covariates_ is None


def test_trains_from_parquet_chunks_on_disk(data, tmp_path):
    frame = _frame(data).sample(frac=1.0, random_state=0)  # files are read in order: shuffle once
    chunks = (frame.iloc[k:k + 1000] for k in range(0, len(frame), 1000))
    paths = write_parquet_chunks(tmp_path / "chunks", chunks)
    assert len(paths) == 5
    source = ParquetMinibatches(tmp_path / "chunks", time="time", event="event", covariates=["x"],
                                batch_size=256, shuffle_files=True)
    assert len(source) == 5 * 4  # 1000 rows per file in batches of 256: 4 per file
    m = NnetSurvival(BREAKS, standardize=False).fit(source, epochs=30, lr=0.02, verbose=False)
    surv = m.predict_survival(data.X, BREAKS).to_numpy()
    cal = metrics.group_calibration(surv, BREAKS, data.time, data.event, data.X[:, 0])
    assert cal.max_abs_difference < 0.03


def test_streamed_standardization_equals_in_memory(data, tmp_path):
    X = np.column_stack([data.X[:, 0] * 50 + 1000, np.linspace(-3, 9, len(data))])
    frame = pd.DataFrame({"time": data.time, "event": data.event, "a": X[:, 0], "b": X[:, 1]})
    write_parquet_chunks(tmp_path / "c", (frame.iloc[k:k + 700] for k in range(0, len(frame), 700)))
    source = ParquetMinibatches(tmp_path / "c", time="time", event="event", covariates=["a", "b"], batch_size=300)
    m = NnetSurvival(BREAKS).fit(source, epochs=1, verbose=False)
    # batches arrive as float32 (ParquetMinibatches), so agreement is to float32 precision
    np.testing.assert_allclose(m.scaler_.mean.numpy(), X.mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(m.scaler_.scale.numpy(), X.std(axis=0), rtol=1e-6)


def test_bad_streams_are_named(data, tmp_path):
    frame = _frame(data).iloc[:100]
    frame.to_parquet(tmp_path / "one.parquet", index=False)
    with pytest.raises(InvalidSurvivalDataError, match=r"lacks the columns \['age'\]"):
        ParquetMinibatches(tmp_path / "one.parquet", time="time", event="event", covariates=["age"])
    bad = [(data.X[:50], data.time[:50], data.event[:50]), (data.X[50:100], -data.time[50:100], data.event[50:100])]
    with pytest.raises(InvalidSurvivalDataError, match=r"minibatch 2: time is negative in rows \[0, 1"):
        NnetSurvival(BREAKS).fit(bad, epochs=1, verbose=False)
    codes = [(data.X[:50], data.time[:50], np.full(50, 2.0))]
    with pytest.raises(InvalidSurvivalDataError, match="minibatch 1: event must be 0/1"):
        NnetSurvival(BREAKS).fit(codes, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="give breaks as an array"):
        NnetSurvival(10).fit([(data.X[:50], data.time[:50], data.event[:50])], epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="validation must be a SurvivalData"):
        NnetSurvival(BREAKS).fit([(data.X[:50], data.time[:50], data.event[:50])], epochs=1,
                                 validation=0.2, verbose=False)
