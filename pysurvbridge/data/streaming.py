"""Out-of-core minibatch sources for ``fit``: data read from disk a batch at a time.

A source is re-iterable (one pass per epoch) and yields ``(X, time, event)`` numpy arrays:
time and event (b,) for one event per subject, (b, K) for K events (multi-event models, MENSA).
Only one batch (and pyarrow's read buffer) is in memory at a time. A torch ``DataLoader``
over a ``TensorDataset`` of ``torch.from_numpy(np.load(path, mmap_mode="r"))`` arrays is the
other route (README "Out-of-core training").
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError, OptionalDependencyError

__all__ = ["ParquetMinibatches", "write_parquet_chunks"]


def _parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise OptionalDependencyError('reading parquet needs pyarrow: pip install "pysurvbridge[parquet]"') from None
    return pq


class ParquetMinibatches:
    """Minibatches of ``batch_size`` rows from one or more parquet files, in file order.

    Args:
        paths: a parquet file, a directory of ``*.parquet`` files (sorted by name), or a list.
        time, event: column names: one each (batches ``(X (b, p), time (b,), event (b,))``), or
            lists of K names in matching order for K events per subject (batches ``(X (b, p),
            times (b, K), events (b, K))``, for MENSA).
        covariates: the covariate columns, in model order.
        batch_size: rows per batch (the last batch of each file may be smaller).
        shuffle_files: visit the files in a new random order each epoch (``seed`` + epoch);
            rows within a file keep their order, so write files already shuffled.

    ``event_names`` is the event column names (a tuple of K, or of one); ``n_events`` is K, or
    None for the single-event form.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path], *, time: str | Sequence[str],
                 event: str | Sequence[str], covariates: Sequence[str], batch_size: int = 256,
                 shuffle_files: bool = False, seed: int = 0) -> None:
        pq = _parquet()
        if isinstance(paths, (str, Path)) and Path(paths).is_dir():
            files = sorted(Path(paths).glob("*.parquet"))
        elif isinstance(paths, (str, Path)):
            files = [Path(paths)]
        else:
            files = [Path(p) for p in paths]
        if not files:
            raise InvalidParameterError(f"no parquet files found in {paths!s}")
        if int(batch_size) < 1:
            raise InvalidParameterError(f"batch_size must be >= 1, but was {batch_size!r}")
        single = [isinstance(c, str) for c in (time, event)]
        if single[0] != single[1]:
            raise InvalidParameterError(
                f"time and event must both be column names or both lists of K names, but were {time!r} and {event!r}")
        times, events = ([time], [event]) if single[0] else (list(time), list(event))
        if len(times) != len(events) or not times or not all(isinstance(c, str) for c in times + events):
            raise InvalidParameterError(
                f"time and event must list the same number (>= 1) of column names, but were {time!r} and {event!r}")
        self.files, self.time, self.event = files, time, event
        self.n_events = None if single[0] else len(times)
        self.event_names = tuple(events)
        self._targets = times + events
        self.covariates = list(covariates)
        self.batch_size, self.shuffle_files, self.seed = int(batch_size), shuffle_files, seed
        self._epoch = 0
        wanted = self._targets + self.covariates
        for f in files:
            names = pq.ParquetFile(f).schema_arrow.names
            missing = [c for c in wanted if c not in names]
            if missing:
                raise InvalidSurvivalDataError(f"{f} lacks the columns {missing} (it has {names})")

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        pq = _parquet()
        files = list(self.files)
        if self.shuffle_files:
            order = np.random.default_rng(self.seed + self._epoch).permutation(len(files))
            files = [files[i] for i in order]
        self._epoch += 1
        columns = self._targets + self.covariates
        K = len(self._targets) // 2
        for f in files:
            for rb in pq.ParquetFile(f).iter_batches(batch_size=self.batch_size, columns=columns):
                arrays = [rb.column(c).to_numpy(zero_copy_only=False) for c in columns]
                covs = arrays[2 * K:]
                X = np.column_stack(covs).astype(np.float32) if covs else np.zeros((rb.num_rows, 0), np.float32)
                if self.n_events is None:
                    yield X, arrays[0].astype(np.float64), arrays[1].astype(np.float64)
                else:
                    yield (X, np.column_stack(arrays[:K]).astype(np.float64),
                           np.column_stack(arrays[K:2 * K]).astype(np.float64))

    def __len__(self) -> int:
        pq = _parquet()
        rows = [pq.ParquetFile(f).metadata.num_rows for f in self.files]
        return int(sum(-(-r // self.batch_size) for r in rows))


def write_parquet_chunks(directory: str | Path, frames, *, prefix: str = "part") -> list[Path]:
    """Write an iterable of DataFrames as ``directory/prefix-00000.parquet``, ... (one file each,
    so data larger than memory can be written chunk by chunk). Returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, frame in enumerate(frames):
        p = directory / f"{prefix}-{k:05d}.parquet"
        frame.to_parquet(p, index=False)
        paths.append(p)
    return paths
