"""Every named data set in one place: name -> container, plus a per-split preparation where
one is learned from the training subjects (SUPPORT's preprocessing).

``compare()``, the CLI and the R package (through :mod:`pysurvbridge.rhost`) ask the
catalogue; a name it does not know gives an error listing the ones it does. A new data set is
one :func:`add` of a :class:`CatalogEntry`.

Kinds: "recurrent" (a :class:`RecurrentData`), "single" (a :class:`SurvivalData`, one row per
subject) and "multi-event" (a :class:`MultiEventData`). Loading is lazy: an entry holds
functions, and nothing is read until ``CatalogEntry.load`` is called.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from pysurvbridge.data.events import MultiEventData, SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError

__all__ = ["CatalogEntry", "CATALOG", "KINDS", "add", "entry", "names", "load"]

Kind = Literal["recurrent", "single", "multi-event"]
KINDS: tuple[str, ...] = ("recurrent", "single", "multi-event")
Container = RecurrentData | SurvivalData | MultiEventData
#: (training rows, test rows) positions in the raw table -> (training data, test data)
SplitPreparation = Callable[[np.ndarray, np.ndarray], tuple[SurvivalData, SurvivalData]]


@dataclass(frozen=True)
class CatalogEntry:
    """One named data set.

    ``load()`` gives the container; ``prepare_split`` (or None) rebuilds the training and
    test containers of one split from the raw rows, with whatever is learned (imputation,
    levels) fitted on the training rows only, and ``split_note`` says so in the notes;
    ``paper_inputs`` (or None) gives the LSTM-Cox paper's leaky inputs for the same subjects;
    ``trajectories`` (known orderings of multi-event data, by event name) and ``competing``
    (exclusive causes) describe multi-event data.
    """

    name: str
    kind: Kind
    description: str
    loader: Callable[[], Container]
    prepare_split: SplitPreparation | None = None
    split_note: str = ""
    paper_inputs: Callable[[], RecurrentData] | None = None
    trajectories: tuple[tuple[str, str], ...] = ()
    competing: bool = False

    def load(self) -> Container:
        return self.loader()


CATALOG: dict[str, CatalogEntry] = {}


def add(item: CatalogEntry) -> CatalogEntry:
    """Add (or replace) a data set under ``item.name``."""
    if item.kind not in KINDS:
        raise InvalidParameterError(f"kind must be one of {list(KINDS)}, but was {item.kind!r}")
    CATALOG[item.name] = item
    return item


def names(kind: str | None = None) -> list[str]:
    """The catalogue's names (of one kind, when given), in the order they were added."""
    if kind is not None and kind not in KINDS:
        raise InvalidParameterError(f"kind must be one of {list(KINDS)}, but was {kind!r}")
    return [n for n, e in CATALOG.items() if kind is None or e.kind == kind]


def entry(name: str) -> CatalogEntry:
    """The entry of ``name``; an unknown name lists the known ones."""
    if name not in CATALOG:
        raise InvalidParameterError(f"unknown data set {name!r}; the catalogue has {names()}")
    return CATALOG[name]


def load(name: str) -> Container:
    """The container of data set ``name``."""
    return entry(name).load()


# ---------------------------------------------------------------------- built-in data sets
def _prepared(name: str) -> Callable[[], Container]:
    def loader():
        from pysurvbridge.data.datasets import prepared

        return prepared(name)
    return loader


def _bladder1_paper_inputs() -> RecurrentData:
    from pysurvbridge.data.datasets import bladder1_recurrent

    return bladder1_recurrent(paper_inputs=True)


def _rotterdam_recurrence() -> SurvivalData:
    """rotterdam as single-event data: recurrence-free time (rtime, recur), covariates age, meno,
    size (one-hot), grade, nodes, pgr, er, hormon, chemo (the recurrence part of
    ``prepared("rotterdam")``; death is MENSA's second event and is not used here)."""
    from pysurvbridge.data.datasets import load_rotterdam

    cov = ["age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon", "chemo"]
    return SurvivalData.from_frame(load_rotterdam(), time="rtime", event="recur", covariates=cov, id="pid",
                                   one_hot=["size"])


def _support_split(train_rows: np.ndarray, test_rows: np.ndarray) -> tuple[SurvivalData, SurvivalData]:
    """SUPPORT for one split: the preprocessing (columns dropped for missingness, imputation
    medians, one-hot levels) is fitted on the training subjects only, then applied to both."""
    from pysurvbridge.data.datasets import load_support
    from pysurvbridge.data.preprocessing import support_preprocessor

    raw = load_support()
    train_frame, test_frame = raw.iloc[train_rows], raw.iloc[test_rows]
    prep = support_preprocessor().fit(train_frame)
    return prep.to_survival_data(train_frame), prep.to_survival_data(test_frame)


def _digits() -> SurvivalData:
    """All 1797 8x8 digits, exponential times, log-hazard 0.9 x digit + const; pixels as covariates."""
    from pysurvbridge.data.datasets import load_digits_survival

    d = load_digits_survival(seed=0, digits=range(10))
    return SurvivalData.from_arrays(d.time, d.event, d.images.reshape(len(d.images), -1))


def _lesions() -> SurvivalData:
    """1500 simulated 32x32 organ images, hazard driven by the lesion area, seed 0."""
    from pysurvbridge.data.lesion_images import simulate_lesion_images

    return simulate_lesion_images(1500, size=32, seed=0).data


def _multi(loader_name: str) -> Callable[[], MultiEventData]:
    def loader():
        from pysurvbridge.data import datasets

        return getattr(datasets, loader_name)()
    return loader


for _item in (
    CatalogEntry("bladder1", "recurrent", "bladder1 (R survival): recurrences, deaths censor, zero-length rows "
                 "dropped; three arms", _prepared("bladder1"), paper_inputs=_bladder1_paper_inputs),
    CatalogEntry("bladder", "recurrent", "R's bladder2: 85 subjects, (start, stop] rows, rx, number, size",
                 _prepared("bladder")),
    CatalogEntry("cgd", "recurrent", "chronic granulomatous disease infections (R survival's cgd)", _prepared("cgd")),
    CatalogEntry("rotterdam", "single", "Rotterdam recurrence-free time (single event; death not used)",
                 _rotterdam_recurrence),
    CatalogEntry("support", "single", "SUPPORT (9105 patients, time to death); preprocessing learned per split",
                 _prepared("support"), prepare_split=_support_split,
                 split_note="support: preprocessing (columns dropped for missingness, imputation values, one-hot "
                            "levels) fitted on each split's training subjects only, then applied to its test subjects"),
    CatalogEntry("surv-digits", "single", "scikit-learn's 8x8 digits with simulated times (CoxVAE's stand-in)",
                 _digits),
    CatalogEntry("lesions", "single", "simulated 32x32 organ-with-lesions images (CoxVAE's stand-in)", _lesions),
    CatalogEntry("rotterdam-multi", "multi-event", "Rotterdam recurrence and death, recurrence -> death",
                 _multi("rotterdam_multi_event"), trajectories=(("recurrence", "death"),)),
    CatalogEntry("rotterdam-competing", "multi-event", "Rotterdam recurrence-free survival as competing risks",
                 _multi("rotterdam_competing"), competing=True),
):
    add(_item)
