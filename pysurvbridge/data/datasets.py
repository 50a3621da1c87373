"""Real data sets: R survival's recurrence data and an image-survival design on sklearn digits.

Each ``load_*`` returns the raw DataFrame exactly as R's survival 3.5-3 has it. With
``source="auto"`` it comes from R when R and survival are usable, otherwise from the CSV copy
shipped in ``pysurvbridge/data/csv`` (exported by ``scripts/export_datasets.py``; the two paths
give identical frames, dtypes included). The data are from the survival package (LGPL >= 2),
originally published as cited in each docstring.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.errors import InvalidParameterError, RUnavailableError

__all__ = [
    "load_bladder1", "load_bladder", "load_bladder2", "load_cgd", "load_rotterdam",
    "load_digits_survival", "bladder1_recurrent", "prepared", "DigitsSurvival", "R_DATASETS",
    "rotterdam_multi_event", "rotterdam_competing",
]

R_DATASETS = ("bladder1", "bladder", "bladder2", "cgd", "rotterdam")
CSV_DIR = Path(__file__).parent / "csv"
Source = Literal["auto", "r", "csv"]


def column_kind(s: pd.Series) -> str:
    """The schema kind of a column: int, float, factor, string, date or bool."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return "factor"
    if pd.api.types.is_bool_dtype(s.dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "int"
    if pd.api.types.is_float_dtype(s.dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "date"
    return "string"


@lru_cache(maxsize=1)
def _schema() -> dict:
    return json.loads((CSV_DIR / "schema.json").read_text())


def _from_csv(name: str) -> pd.DataFrame:
    raw = pd.read_csv(CSV_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
    out = {}
    for col in _schema()["datasets"][name]:
        s = raw[col["name"]]
        na = (s == "NA").to_numpy()
        kind = col["kind"]
        if kind == "int":
            values = pd.to_numeric(s.where(~na, None))
            out[col["name"]] = values.astype("Int64" if na.any() else np.int64).to_numpy()
        elif kind == "float":
            out[col["name"]] = pd.to_numeric(s.where(~na, None)).astype(np.float64).to_numpy()
        elif kind == "factor":
            out[col["name"]] = pd.Categorical(s.where(~na, None), categories=col["levels"],
                                              ordered=col["ordered"])
        elif kind == "date":
            out[col["name"]] = pd.to_datetime(s.where(~na, None)).astype("datetime64[ns]").to_numpy()
        elif kind == "bool":
            out[col["name"]] = (s == "True").to_numpy()
        else:
            out[col["name"]] = np.array([None if m else x for x, m in zip(s, na)], dtype=object)
    return pd.DataFrame(out, columns=[c["name"] for c in _schema()["datasets"][name]])


def _load(name: str, source: Source) -> pd.DataFrame:
    if source not in ("auto", "r", "csv"):
        raise InvalidParameterError(f"source must be 'auto', 'r' or 'csv', but was {source!r}")
    if source == "csv":
        return _from_csv(name)
    from pysurvbridge import rbridge

    if source == "auto" and not (rbridge.is_available() and rbridge.has_r_package("survival")):
        return _from_csv(name)
    if source == "r":
        rbridge.start()  # raises with the reason (R, rpy2 or their versions) and the fix
    if source == "r" and not rbridge.has_r_package("survival"):
        raise RUnavailableError(
            "R's survival package is not usable; install it with "
            f"{rbridge.R_INSTALL_COMMAND}, or load the shipped copy with source='csv'"
        )
    return rbridge.load_r_dataset(name, "survival")


def load_bladder1(source: Source = "auto") -> pd.DataFrame:
    """All 118 subjects of the bladder cancer recurrence study (294 rows, (start, stop] form).

    Columns: id; treatment (placebo, pyridoxine, thiotepa); number (initial tumours, 8 = 8 or
    more); size (cm, largest initial tumour); recur (total recurrences); start, stop (months);
    status (0 censored, 1 recurrence, 2 death from bladder disease, 3 death other/unknown);
    rtumor, rsize (tumours and size at a recurrence, '.' when none); enum (row number within
    subject). Two rows have start == stop == 0 (ids 1 and 49).
    Source: Byar (1980); Andrews & Herzberg (1985); survival::bladder1.
    """
    return _load("bladder1", source)


def load_bladder(source: Source = "auto") -> pd.DataFrame:
    """The 85-subject, first-4-recurrences bladder data in WLW layout (340 rows).

    Columns: id (1..85); rx (1 placebo, 2 thiotepa); number; size; stop (months, recurrence or
    censoring time); event (1 recurrence, 0 otherwise, deaths included); enum (1..4).
    Source: Wei, Lin & Weissfeld (1989, JASA 84); survival::bladder.
    """
    return _load("bladder", source)


def load_bladder2(source: Source = "auto") -> pd.DataFrame:
    """The same 85 subjects as :func:`load_bladder` in (start, stop] (Andersen-Gill) layout.

    Columns: id, rx, number, size, start, stop (months), event (1 recurrence), enum. Follow-up
    after the 4th recurrence is not kept. Source: survival::bladder2.
    """
    return _load("bladder2", source)


def load_cgd(source: Source = "auto") -> pd.DataFrame:
    """Chronic granulomatous disease: recurrent serious infections, 128 subjects, 203 rows.

    Columns: id; center (factor); random (date of randomisation); treat (placebo, rIFN-g);
    sex; age (years); height (cm); weight (kg); inherit (X-linked, autosomal); steroids,
    propylac (0/1); hos.cat (hospital category); tstart, tstop (days); enum; status
    (1 infection, 0 censored). Source: Fleming & Harrington (1991); survival::cgd.
    """
    return _load("cgd", source)


def load_rotterdam(source: Source = "auto") -> pd.DataFrame:
    """Rotterdam breast cancer data: recurrence and death for 2982 patients.

    Columns: pid; year (of surgery); age; meno (0 pre, 1 post); size (<=20, 20-50, >50 mm);
    grade; nodes (positive nodes); pgr, er (receptors, fmol/l); hormon, chemo (0/1); rtime
    (days to relapse or last follow-up); recur (0/1); dtime (days to death or last follow-up);
    death (0/1). Source: Royston & Altman (2013); survival::rotterdam.
    """
    return _load("rotterdam", source)


#: MENSA's Rotterdam covariates (appendix D): size groups mapped to their approximate medians (mm)
ROTTERDAM_FEATURES = ("year", "age", "meno", "grade", "nodes", "pgr", "er", "hormon", "chemo", "size")
ROTTERDAM_SIZE_MM = {"<=20": 10.0, "20-50": 35.0, ">50": 75.0}


def _rotterdam_features(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["size"] = out["size"].astype(str).map(ROTTERDAM_SIZE_MM).astype(np.float64)
    return out


def rotterdam_multi_event(source: Source = "auto"):
    """Rotterdam as MENSA's multi-event data: recurrence (rtime, recur) and death (dtime,
    death), ten covariates year, age, meno, grade, nodes, pgr, er, hormon, chemo and size
    (<=20 -> 10, 20-50 -> 35, >50 -> 75 mm, appendix D). Death censors recurrence (a subject
    who died without recurrence is censored for recurrence at rtime); recurrence does not
    censor death. Covariates are not scaled here (models standardise on their training part)."""
    from pysurvbridge.data.events import MultiEventData

    return MultiEventData.from_frame(_rotterdam_features(load_rotterdam(source)), times=["rtime", "dtime"],
                                     events=["recur", "death"], covariates=list(ROTTERDAM_FEATURES), id="pid",
                                     event_names=["recurrence", "death"])


def rotterdam_competing(source: Source = "auto"):
    """Rotterdam as competing risks for recurrence-free survival (MENSA's Table 4): cause 1
    recurrence at rtime; else cause 2 death at dtime; else censored at dtime. The same ten
    covariates as :func:`rotterdam_multi_event`."""
    from pysurvbridge.data.events import MultiEventData

    df = _rotterdam_features(load_rotterdam(source))
    df["rfs_time"] = np.where(df["recur"] == 1, df["rtime"], df["dtime"])
    df["rfs_cause"] = np.where(df["recur"] == 1, 1, np.where(df["death"] == 1, 2, 0))
    data = MultiEventData.from_competing_risks(df, time="rfs_time", event="rfs_cause", n_events=2,
                                               covariates=list(ROTTERDAM_FEATURES), id="pid")
    return MultiEventData(data.times, data.events, data.X, data.covariates, ("recurrence", "death"), data.ids)


def bladder1_recurrent(
    arms: Sequence[str] = ("placebo", "pyridoxine", "thiotepa"), source: Source = "auto",
    *, paper_inputs: bool = False,
):
    """bladder1 prepared for recurrent-event models (a :class:`RecurrentData`).

    Preparation: event = recurrence (status 1); deaths (status 2, 3) censor; the zero-length
    rows are dropped and counted in ``notes``; covariates treatment (one-hot, placebo as
    reference), number and size; only subjects in ``arms``. ``paper_inputs=True`` adds the
    LSTM-Cox paper's outcome and post-baseline columns as covariates: ``recur`` (the subject's
    total number of recurrences), ``rtumor`` and ``rsize`` (number and size of the recurrent
    tumour at the row's stop; R's "." is coded 0: on censored rows it means no recurrence, on
    3 recurrence rows (subjects 47, 65, 103) it is missing). They leak the outcome: only
    ``LSTMCox(protocol="paper")`` accepts them.
    """
    from pysurvbridge.data.recurrent import RecurrentData

    df = load_bladder1(source)
    unknown = set(arms) - set(df["treatment"].cat.categories)
    if unknown:
        raise InvalidParameterError(f"unknown treatment arms {sorted(unknown)}")
    df = df.loc[df["treatment"].isin(arms)].copy()
    df["treatment"] = df["treatment"].cat.set_categories([a for a in df["treatment"].cat.categories if a in arms])
    df["event"] = (df["status"] == 1).astype(np.int64)
    covariates = (["treatment"] if len(arms) > 1 else []) + ["number", "size"]
    if paper_inputs:
        for col in ("rtumor", "rsize"):
            df[col] = pd.to_numeric(df[col].replace(".", "0"), errors="raise").astype(np.float64)
        covariates += ["recur", "rtumor", "rsize"]
    return RecurrentData.from_frame(
        df, id="id", start="start", stop="stop", event="event", covariates=covariates,
        one_hot=["treatment"] if len(arms) > 1 else [], drop_zero_length=True,
    )


class DigitsSurvival(NamedTuple):
    """images (n, 8, 8) float64 in [0, 1]; digits (n,) int64 (those kept); time (n,) days;
    event (n,); log_hazard (n,), the true log-hazard log(ln 2 / 365) + 0.9 digit (per day)."""

    images: np.ndarray
    digits: np.ndarray
    time: np.ndarray
    event: np.ndarray
    log_hazard: np.ndarray


def _digit_set(digits) -> np.ndarray:
    try:
        values = np.asarray(list(digits))
    except TypeError:
        raise InvalidParameterError(
            f"digits must be a collection of integers in 0..9, but was {digits!r}") from None
    if values.size == 0:
        raise InvalidParameterError(f"digits must name at least one digit in 0..9, but was {digits!r}")
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise InvalidParameterError(f"digits must be integers in 0..9, but was {digits!r}")
    bad = values[(values < 0) | (values > 9)]
    if bad.size:
        raise InvalidParameterError(
            f"digits must be integers in 0..9, but was {digits!r} (bad: {sorted(set(bad.tolist()))})")
    return np.unique(values)


def load_digits_survival(
    seed: int = 0, censor_max: float = 2000.0, *, digits: Sequence[int] = range(5),
    censoring: Literal["uniform", "exponential"] = "uniform",
) -> DigitsSurvival:
    """scikit-learn's 8x8 digits with simulated survival (Nnet-survival's MNIST design).

    Survival time T ~ Exponential(scale = 365 exp(-0.9 digit) / ln 2) days (median
    365 exp(-0.9 digit) days), so the true log-hazard per day is log(ln 2 / 365) + 0.9 digit
    (returned as ``log_hazard``) and the hazard rises by exp(0.9) per digit. Censoring C is
    independent of T: ``censoring="uniform"`` draws C ~ Uniform(0, ``censor_max``) days,
    ``"exponential"`` draws C ~ Exponential(mean ``censor_max / 2``), the same mean censoring
    time. time = min(T, C), event = 1{T <= C}. Then P(T <= C) is
    1 - (s / M)(1 - exp(-M / s)) (uniform; s the scale of T, M = ``censor_max``) or
    rate_T / (rate_T + rate_C) with rate_C = 2 / M (exponential).

    ``digits`` selects the images kept (default 0-4, 901 images; ``range(10)`` keeps all 1797),
    in scikit-learn's order. Deterministic for a given ``seed``; the defaults reproduce the
    arrays of earlier versions exactly.
    """
    from sklearn.datasets import load_digits

    if not censor_max > 0:
        raise InvalidParameterError(f"censor_max must be positive, but was {censor_max!r}")
    if censoring not in ("uniform", "exponential"):
        raise InvalidParameterError(
            f"censoring must be 'uniform' or 'exponential', but was {censoring!r}")
    keep_digits = _digit_set(digits)
    bunch = load_digits()
    keep = np.isin(bunch.target, keep_digits)
    digits = bunch.target[keep].astype(np.int64)
    images = bunch.images[keep].astype(np.float64) / 16.0
    rng = np.random.default_rng(seed)
    scale = 365.0 * np.exp(-0.9 * digits) / np.log(2.0)
    t = rng.exponential(scale)
    if censoring == "uniform":
        c = rng.uniform(0.0, censor_max, size=len(digits))
    else:
        c = rng.exponential(censor_max / 2.0, size=len(digits))
    log_hazard = np.log(np.log(2.0) / 365.0) + 0.9 * digits
    return DigitsSurvival(images, digits, np.minimum(t, c), (t <= c).astype(np.int64), log_hazard)


def prepared(name: str, source: Source = "auto"):
    """A data set by name, prepared as the container its models need.

    - ``bladder1``: :func:`bladder1_recurrent` (all three arms).
    - ``bladder`` / ``bladder2``: the 85-subject (start, stop] data of ``bladder2`` with rx
      (1 placebo, 2 thiotepa), number and size (``bladder`` is its WLW layout).
    - ``cgd``: (tstart, tstop] infections, covariates treat (rIFN-g vs placebo), sex, age,
      inherit, steroids, propylac.
    - ``rotterdam``: :class:`MultiEventData` with events recurrence (rtime, recur) and death
      (dtime, death), covariates age, meno, size (one-hot), grade, nodes, pgr, er, hormon, chemo.
    """
    from pysurvbridge.data.events import MultiEventData
    from pysurvbridge.data.recurrent import RecurrentData

    if name == "bladder1":
        return bladder1_recurrent(source=source)
    if name in ("bladder", "bladder2"):
        return RecurrentData.from_frame(load_bladder2(source), id="id", start="start", stop="stop",
                                        event="event", covariates=["rx", "number", "size"])
    if name == "cgd":
        cov = ["treat", "sex", "age", "inherit", "steroids", "propylac"]
        return RecurrentData.from_frame(load_cgd(source), id="id", start="tstart", stop="tstop",
                                        event="status", covariates=cov,
                                        one_hot=["treat", "sex", "inherit"])
    if name == "rotterdam":
        cov = ["age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon", "chemo"]
        return MultiEventData.from_frame(load_rotterdam(source), times=["rtime", "dtime"],
                                         events=["recur", "death"], covariates=cov, id="pid",
                                         event_names=["recurrence", "death"], one_hot=["size"])
    raise InvalidParameterError(
        f"unknown data set {name!r}; choose one of {list(R_DATASETS)}"
    )
