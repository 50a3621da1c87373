"""Real data sets: R survival's recurrence data, SUPPORT, and an image-survival design on digits.

Each R ``load_*`` returns the raw DataFrame exactly as R's survival 3.5-3 has it. With
``source="auto"`` it comes from R when R and survival are usable, otherwise from the CSV copy
shipped in ``pysurvbridge/data/csv`` (exported by ``scripts/export_datasets.py``; the two paths
give identical frames, dtypes included). The data are from the survival package (LGPL >= 2),
originally published as cited in each docstring. :func:`load_support` returns SurvSet's
``support2`` frame the same way, from a CSV copy exported by ``scripts/export_support.py``.
"""
from __future__ import annotations

import dataclasses
import io
import json
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.errors import InvalidParameterError, OptionalDependencyError, RUnavailableError

__all__ = [
    "load_bladder1", "load_bladder", "load_bladder2", "load_cgd", "load_rotterdam",
    "load_digits_survival", "bladder1_recurrent", "prepared", "DigitsSurvival", "R_DATASETS",
    "rotterdam_multi_event", "rotterdam_competing", "load_support", "SUPPORT_LEAKY",
]

R_DATASETS = ("bladder1", "bladder", "bladder2", "cgd", "rotterdam")
CSV_DIR = Path(__file__).parent / "csv"
Source = Literal["auto", "r", "csv"]
SupportSource = Literal["auto", "csv", "survset"]


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


def schema_entry(s: pd.Series) -> dict:
    """The schema.json entry of a column: name, kind and, for a factor, its levels (as text),
    whether it is ordered and ``"level_kind": "int"`` when the levels are integers."""
    kind = column_kind(s)
    entry: dict = {"name": str(s.name), "kind": kind}
    if kind == "factor":
        entry["levels"] = [str(x) for x in s.cat.categories]
        entry["ordered"] = bool(s.cat.ordered)
        if pd.api.types.is_integer_dtype(s.cat.categories.dtype):
            entry["level_kind"] = "int"
    return entry


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
            cat = pd.Categorical(s.where(~na, None), categories=col["levels"], ordered=col["ordered"])
            if col.get("level_kind") == "int":
                cat = cat.rename_categories([int(x) for x in col["levels"]])
            out[col["name"]] = cat
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


#: SUPPORT columns that are not baseline information: each one is (partly) the outcome
SUPPORT_LEAKY = {
    "num_surv2m": "the SUPPORT prognostic model's own 2-month survival estimate, fitted to these "
                  "patients' outcomes (Knaus et al. 1995)",
    "num_surv6m": "the SUPPORT prognostic model's own 6-month survival estimate, as num_surv2m",
    "fac_sfdm2": "functional disability assessed during follow-up; its level '<2 mo. follow-up' "
                 "means the patient died within 2 months (all 3123 such patients died)",
    "fac_dnr": "do-not-resuscitate order; 'dnr after sadm' is an order written after study entry "
               "(2956 patients, 92.6% died, median follow-up 20 days)",
}
SUPPORT_PICKLE = "SurvSet/resources/pickles/support2.pickle"


def _support_from_survset(wheel: str | Path | None = None) -> pd.DataFrame:
    """SurvSet's support2 frame: from the installed SurvSet, or from the wheel file ``wheel``."""
    if wheel is not None:
        with zipfile.ZipFile(wheel) as zf:
            return pd.read_pickle(io.BytesIO(zf.read(SUPPORT_PICKLE)))
    try:
        from SurvSet.data import SurvLoader
    except ImportError as exc:
        raise OptionalDependencyError(
            "load_support(source='survset') needs SurvSet (pip install SurvSet, a 47 MB wheel); "
            f"the shipped copy, source='csv', is the same frame ({exc})"
        ) from exc
    with warnings.catch_warnings():  # SurvSet's pickles name numpy.core (numpy 1.x): harmless here
        warnings.filterwarnings("ignore", message="numpy.core.numeric is deprecated",
                                category=DeprecationWarning)
        return SurvLoader().load_dataset("support2")["df"]


def load_support(source: SupportSource = "auto") -> pd.DataFrame:
    """SUPPORT: 9105 seriously ill hospitalised adults, time to death (SurvSet's ``support2``).

    The frame exactly as SurvSet 0.2.11 has it (38 columns, dtypes, factor levels and their
    order). ``source="auto"`` and ``"csv"`` read the copy shipped in ``pysurvbridge/data/csv``
    (exported by ``scripts/export_support.py``); ``"survset"`` reads the installed SurvSet.

    Outcome: ``time`` (int, days from study entry to death or last follow-up, 3..2029);
    ``event`` (1 = death, 6201 patients; 0 = alive at last follow-up, 2904). ``pid`` is the
    row number 0..9104 in Vanderbilt's ``support2.csv`` (same order).

    Covariates (SurvSet's ``num_`` / ``fac_`` prefix + the SUPPORT name; missing counts of 9105
    in brackets, none where not given). Numeric: age (years); num_co (number of comorbidities);
    edu (years of education) [1634]; scoma (SUPPORT coma score, Glasgow-based) [1]; hday (day in
    hospital at study entry); sps (SUPPORT physiology score, day 3) [1]; surv2m, surv6m (the
    SUPPORT model's 2- and 6-month survival estimates) [1 each]; meanbp (mean arterial blood
    pressure, day 3) [1]; wblc (white blood count, thousands) [212]; hrt (heart rate) [1]; resp
    (respiration rate) [1]; temp (temperature, Celsius) [1]; pafi (PaO2/FiO2, mmHg) [2325];
    alb (serum albumin, g/dl) [3372]; bili (bilirubin, mg/dl) [2601]; crea (creatinine, mg/dl)
    [67]; sod (sodium, mEq/l) [1]; ph (arterial pH) [2284]; glucose (mg/dl) [4500]; bun (blood
    urea nitrogen, mg/dl) [4352]; urine (urine output, ml/day) [4862]; adlp (activities of daily
    living, patient) [5641]; adls (ADL, surrogate) [2867]. Factors (no NaN: SurvSet codes a
    missing category as the level ``"missing"``): sex; dzgroup (8 disease groups); dzclass (4
    classes grouping dzgroup); num_co (num_co again, levels 0..9); race (+ missing 42);
    diabetes, dementia (0/1); ca (cancer: metastatic, no, yes); dnr (+ missing 30); sfdm2
    (+ missing 1400); income (+ missing 2982).

    Leaky columns, in :data:`SUPPORT_LEAKY`: surv2m and surv6m (prognostic estimates of the
    SUPPORT model fitted to these patients' outcomes), sfdm2 (functional disability during
    follow-up; '<2 mo. follow-up' means death within 2 months) and dnr ('dnr after sadm' is
    written after study entry, often shortly before death: 92.6% of those patients died; median
    follow-up 20 days). The Nnet-survival paper (Gensheimer & Narasimhan 2019) used none of
    them: its text gives only the count, 39; the model formula of its
    ``support_study_parse_data.R`` lists them: dzgroup, num.co, edu, income, scoma,
    avtisst, race, sps, aps, hday, diabetes, dementia, ca and 12 physiology/laboratory values
    (it also has no age or sex). :func:`pysurvbridge.data.preprocessing.support_preprocessor`
    leaves the leaky columns out.

    Source: Knaus WA et al. (1995), The SUPPORT prognostic model, Ann Intern Med 122:191-203;
    data from the Vanderbilt Department of Biostatistics (hbiostat.org/data, ``support2``) via
    SurvSet 0.2.11 (Drysdale 2022), which kept Vanderbilt's rows, their order and values, dropped
    11 of the 47 columns (hospdead, slos, charges, totcst, totmcst, avtisst, aps, prg2m, prg6m,
    dnrday, adlsc), renamed the rest and coded death/d.time as event/time.
    """
    if source not in ("auto", "csv", "survset"):
        raise InvalidParameterError(f"source must be 'auto', 'csv' or 'survset', but was {source!r}")
    if source == "survset":
        return _support_from_survset()
    return _from_csv("support")


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


def prepared(name: str, source: Source = "auto", *, paper_inputs: bool = False):
    """A data set by name, prepared as the container its models need.

    - ``support``: :class:`SurvivalData` of :func:`load_support` (time in days, event = death),
      covariates from :func:`~pysurvbridge.data.preprocessing.support_preprocessor` (39 baseline
      predictors; ``paper_inputs=True``: the Nnet-survival paper's 37 available ones) FITTED ON
      ALL 9105 ROWS, as the paper did: for exploration only. ``compare()`` and any held-out
      evaluation must fit the preprocessor on the training part alone
      (``support_preprocessor().fit(train).to_survival_data(test)``). ``source``: "auto" or
      "csv" (SUPPORT has no R source).

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

    if name == "support":
        from pysurvbridge.data.preprocessing import support_preprocessor

        if source not in ("auto", "csv"):
            raise InvalidParameterError(
                f"source for 'support' must be 'auto' or 'csv', but was {source!r}")
        df = load_support(source)
        data = support_preprocessor(paper_inputs=paper_inputs).fit(df).to_survival_data(df)
        return dataclasses.replace(data, notes=data.notes + (
            "preprocessor fitted on all 9105 rows (exploration only; fit on the training part "
            "for evaluation)",))
    if paper_inputs and name != "bladder1":
        raise InvalidParameterError(f"paper_inputs applies to 'support' and 'bladder1', not {name!r}")
    if name == "bladder1":
        return bladder1_recurrent(source=source, paper_inputs=paper_inputs)
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
        f"unknown data set {name!r}; choose one of {list(R_DATASETS) + ['support']}"
    )
