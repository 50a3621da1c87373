"""The subjects of each seed: held-out subject splits, the stratified multi-event split with
its validation part, and the :class:`Split` / :class:`MultiSplit` every model of a cell sees.

A split is a function of (data, seed, shares) only, so every model, every process and every
rerun of a comparison gets the same subjects.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pysurvbridge.data.events import MultiEventData, SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError

__all__ = ["Split", "MultiSplit", "subject_split", "stratified_split", "subjects", "subset", "first_event",
           "check_shares", "seed_list", "folds", "stratified_folds"]


@dataclass(frozen=True, eq=False)
class Split:
    """One seed's train/test subjects. ``train``/``test`` are the data as given (RecurrentData or
    SurvivalData); ``train_first``/``test_first`` their time-to-first-event SurvivalData (index
    = subject order of ``test_first``); ``leaky_train``/``leaky_test`` the LSTM-Cox paper's
    inputs when the data set provides them (bladder1), else None; ``times`` the Brier times."""

    train: RecurrentData | SurvivalData
    test: RecurrentData | SurvivalData
    train_first: SurvivalData
    test_first: SurvivalData
    times: np.ndarray
    seed: int
    epochs: int | None = None
    leaky_train: RecurrentData | None = None
    leaky_test: RecurrentData | None = None

    @property
    def recurrent(self) -> bool:
        return isinstance(self.train, RecurrentData)


@dataclass(frozen=True, eq=False)
class MultiSplit:
    """One seed's subjects of multi-event data: ``train`` fits every model, ``validation`` (or
    None) is used only for early stopping by the deep models, ``test`` is scored.
    ``trajectories``: known orderings as event-index pairs (A, B); ``epochs``: a cap for the
    deep models (None: their own budget with early stopping); ``competing``: the events are
    exclusive causes at one observed time (MENSA then runs in its competing-risks mode)."""

    train: MultiEventData
    validation: MultiEventData | None
    test: MultiEventData
    seed: int
    trajectories: tuple[tuple[int, int], ...] = ()
    epochs: int | None = None
    competing: bool = False


def seed_list(seeds) -> list[int]:
    """A list of seeds from a list, or from n meaning 0..n-1; at least one."""
    out = list(range(int(seeds))) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not out:
        raise InvalidParameterError("seeds must hold at least one seed")
    return out


def subjects(data: RecurrentData | SurvivalData) -> np.ndarray:
    """The subject ids, one per subject (positions 0..n-1 for single-event data without ids)."""
    if isinstance(data, RecurrentData):
        return np.asarray(data.ids)
    return np.arange(len(data)) if data.ids is None else np.asarray(data.ids)


def subset(data, ids: np.ndarray, all_ids: np.ndarray):
    """The subjects ``ids`` of ``data`` (None stays None); ``all_ids`` from :func:`subjects`."""
    if data is None:
        return None
    if isinstance(data, RecurrentData):
        return data.subset(ids)
    return data.subset(np.isin(all_ids, ids))


def first_event(data: RecurrentData | SurvivalData) -> SurvivalData:
    """Time to first event (single-event data as they are)."""
    return data if isinstance(data, SurvivalData) else data.first_event()


def subject_split(ids: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training ids, test ids): a seeded permutation of the subjects, the first
    max(2, round(test_size x n)) held out."""
    order = np.random.default_rng(seed).permutation(len(ids))
    n_test = max(2, int(round(test_size * len(ids))))
    return ids[order[n_test:]], ids[order[:n_test]]


def stratified_split(pattern: np.ndarray, test_size: float, validation_size: float, seed: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) sorted row positions; within each value of ``pattern`` (the
    observed-event pattern) a seeded shuffle puts round(share x size) rows in test and
    validation (the paper's stratification on the event indicators)."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for value in np.unique(pattern):
        rows = rng.permutation(np.flatnonzero(pattern == value))
        n_test, n_val = int(round(test_size * len(rows))), int(round(validation_size * len(rows)))
        parts[2].append(rows[:n_test])
        parts[1].append(rows[n_test:n_test + n_val])
        parts[0].append(rows[n_test + n_val:])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)


def check_shares(test_size: float, validation_size: float) -> None:
    """Both shares in [0, 1), test_size > 0, and training subjects left over."""
    for name, share in (("test_size", test_size), ("validation_size", validation_size)):
        if not 0 <= share < 1:
            raise InvalidParameterError(f"{name} must be in [0, 1), but was {share!r}")
    if test_size == 0 or test_size + validation_size >= 1:
        raise InvalidParameterError(f"test_size + validation_size must leave training subjects and test_size > 0; "
                                    f"got {test_size} and {validation_size}")


def folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint sorted position sets covering 0..n-1 after a seeded shuffle (sizes
    differing by at most one): the test parts of a k-fold split."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, k)]


def stratified_folds(pattern: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """``k`` folds with each value of ``pattern`` (the observed-event pattern) spread evenly:
    within each value a seeded shuffle is dealt out round-robin, starting at the fold after the
    last one dealt."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for value in np.unique(pattern):
        rows = rng.permutation(np.flatnonzero(pattern == value))
        for i, row in enumerate(rows):
            parts[(start + i) % k].append(int(row))
        start = (start + len(rows)) % k
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]

