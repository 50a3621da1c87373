"""Agreement checks between engines: the same fit or score computed twice, by two engines,
and the largest absolute difference set against a tolerance.

- :func:`classical_agreement`: each classical model fitted by the native engine and by a
  reference (R's ``survival::coxph`` through rpy2, or an external fitter such as the R session
  hosting Python); coefficients, SEs, robust SEs and log partial likelihood compared.
- :func:`brier_agreement`: the IPCW Brier score of one model's predictions computed in Python
  and in R (``metrics.brier_score(engine="r")``: ipred, riskRegression or pec).

Every check returns rows with the columns of :data:`COLUMNS`. A check that cannot run (R
missing, an error in either engine) gives a row with ``agrees`` NA and the error in
``detail``; it never raises. :func:`agreement_notes` turns the rows into compare()'s notes.
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.recurrent import RecurrentData

__all__ = ["classical_agreement", "brier_agreement", "check_split", "agreement_notes", "applicable_models",
           "markdown", "describe", "format_difference", "format_tolerance", "r_unusable_reason", "COLUMNS",
           "QUANTITIES", "TOLERANCE", "BRIER_TOLERANCE", "R_LABEL"]

#: classical fits: native and R agree to ~1e-9 on bladder/bladder2 (tests/classical); 1e-6 is the promise
TOLERANCE = 1e-6
#: Brier score: the same formula in two languages; tests/metrics/test_brier.py holds them to 1e-10
BRIER_TOLERANCE = 1e-10
R_LABEL = "R survival via rpy2"
QUANTITIES = ("coef", "robust_se", "se", "loglik")
COLUMNS = ["check", "model", "quantity", "engines", "max_abs_diff", "tolerance", "agrees", "detail"]
_NOTE_NAMES = {"coef": "coef", "robust_se": "robust se", "se": "se", "loglik": "loglik"}


def r_unusable_reason() -> str | None:
    """None when R and its survival package are usable through rpy2; else why not."""
    from pysurvbridge import rbridge
    from pysurvbridge.errors import RUnavailableError

    if not rbridge.is_available():
        try:
            rbridge.start()
        except RUnavailableError as exc:
            return str(exc)
        return "embedded R could not be started (rbridge.is_available() is False)"
    if not rbridge.has_r_package("survival"):
        return "the R package survival is not installed"
    return None


def applicable_models(models: Sequence[str], data: SurvivalData | RecurrentData) -> list[str]:
    """The classical model names among ``models`` (deduplicated, in order) that apply to
    ``data``: only "cox" on single-event data."""
    from pysurvbridge.classical.by_name import CLASSICAL_MODELS

    recurrent = isinstance(data, RecurrentData)
    return [m for m in dict.fromkeys(models) if m in CLASSICAL_MODELS and (recurrent or m == "cox")]


def _frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["max_abs_diff"] = out["max_abs_diff"].astype(np.float64)
    out["tolerance"] = out["tolerance"].astype(np.float64)
    out["agrees"] = out["agrees"].astype("boolean")
    out["detail"] = out["detail"].fillna("").astype(str)
    return out


def _failed(check: str, model: str, quantity: str, engines: str, tolerance: float, exc: BaseException) -> dict:
    return dict(check=check, model=model, quantity=quantity, engines=engines, max_abs_diff=np.nan,
                tolerance=tolerance, agrees=pd.NA, detail=f"not checked: {type(exc).__name__}: {exc}")


def _quiet(fn: Callable[[], object]) -> tuple[object, list[str]]:
    """``fn()`` with the package's warnings recorded (returned as text), not raised."""
    from pysurvbridge.errors import SurvBridgeWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurvBridgeWarning)
        value = fn()
    return value, [f"{w.category.__name__}: {str(w.message)[:200]}" for w in caught
                   if issubclass(w.category, SurvBridgeWarning)]


def classical_agreement(train: SurvivalData | RecurrentData, models: Sequence[str], *,
                        reference: Callable | None = None, reference_label: str = R_LABEL,
                        ties: str = "efron") -> pd.DataFrame:
    """Each classical model of ``models`` that applies to ``train`` fitted by the native
    engine and by the reference: R through rpy2 (``engine="r"``) or, when ``reference`` (an
    :data:`~pysurvbridge.classical.external.ExternalFitter`) is given, its estimates. One row
    per (model, quantity) for coef, robust_se, se, loglik (max ``|difference|`` over
    coefficients); one row with quantity "fit" when either engine fails. The fits' own
    warnings are silenced here (compare() notes them from its own fits)."""
    from pysurvbridge.classical.external import fit_from_estimates
    from pysurvbridge.classical.by_name import fit_classical

    engines = f"native vs {reference_label}"
    rows: list[dict] = []
    for kind in applicable_models(models, train):
        try:
            native, _ = _quiet(lambda: fit_classical(kind, train, engine="native", ties=ties))
            if reference is None:
                other, _ = _quiet(lambda: fit_classical(kind, train, engine="r", ties=ties))
            else:
                other, _ = _quiet(lambda: fit_from_estimates(kind, train, reference(kind, train, ties), ties=ties,
                                                             engine=reference_label))
            pairs = {q: (getattr(native, q), getattr(other, q)) for q in QUANTITIES}
            diffs = {}
            for q, (a, b) in pairs.items():
                if isinstance(a, pd.Series):
                    if list(a.index) != list(b.index):
                        raise ValueError(f"{q}: coefficient names differ: {list(a.index)} vs {list(b.index)}")
                    a, b = a.to_numpy(), b.to_numpy()
                diffs[q] = float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))
        except Exception as exc:  # a failing engine is a row, never an exception out of compare()
            rows.append(_failed("classical fit", kind, "fit", engines, TOLERANCE, exc))
            continue
        rows += [dict(check="classical fit", model=kind, quantity=q, engines=engines, max_abs_diff=d,
                      tolerance=TOLERANCE, agrees=bool(d <= TOLERANCE), detail="") for q, d in diffs.items()]
    return _frame(rows)


def _brier_convention() -> tuple[str, str]:
    """(censoring_weight_at, R package) for the R engine: ipred's G(T_i) when installed (the
    table's own convention), else riskRegression's or pec's G(T_i-)."""
    from pysurvbridge import rbridge

    if rbridge.has_r_package("ipred"):
        return "t", "ipred::sbrier"
    if rbridge.has_r_package("riskRegression"):
        return "t-", "riskRegression::Score"
    if rbridge.has_r_package("pec"):
        return "t-", "pec::pec"
    from pysurvbridge.errors import RUnavailableError

    raise RUnavailableError("engine='r' of the Brier score needs the R package ipred, riskRegression or pec")


def brier_agreement(survival: np.ndarray, times: ArrayLike, test_time: ArrayLike, test_event: ArrayLike,
                    train_time: ArrayLike | None = None, train_event: ArrayLike | None = None,
                    model: str = "") -> pd.DataFrame:
    """The IPCW Brier score of ``survival`` (subjects x ``times``) on the test subjects,
    computed by ``metrics.brier_score`` in Python and with ``engine="r"``; one row, quantity
    "brier" (max ``|difference|`` over times, tolerance :data:`BRIER_TOLERANCE`).

    Both engines use the convention R's engines support: the censoring distribution G is the
    Kaplan-Meier of the scored (test) subjects, cases weighted at G(T_i) (ipred) or, without
    ipred, G(T_i-) (riskRegression, pec). compare()'s own ``brier_<t>`` columns use the
    training subjects' G (``train_time``/``train_event``), which R's engines cannot take; the
    check compares the implementations, not those numbers (``train_time`` only enters
    ``detail``)."""
    from pysurvbridge import metrics

    engines = "Python vs R"
    try:
        weight_at, package = _brier_convention()
        engines = f"Python vs R ({package})"
        kw = dict(censoring_weight_at=weight_at)
        python = metrics.brier_score(survival, times, test_time, test_event, **kw)
        r, w = _quiet(lambda: metrics.brier_score(survival, times, test_time, test_event, engine="r", **kw))
        d = float(np.max(np.abs(np.asarray(python, dtype=np.float64) - np.asarray(r, dtype=np.float64))))
    except Exception as exc:  # R missing or failing: a row, never an exception out of compare()
        return _frame([_failed("brier score", model, "brier", engines, BRIER_TOLERANCE, exc)])
    n_train = "" if train_time is None else f"; the table's brier columns use the {len(train_time)} training subjects'"
    detail = (f"times {', '.join(f'{x:g}' for x in np.atleast_1d(times))}; G = censoring Kaplan-Meier of the "
              f"{len(test_time)} test subjects, cases weighted at G(T_i{'-' if weight_at == 't-' else ''})"
              f"{n_train}" + ("; " + "; ".join(w) if w else ""))
    return _frame([dict(check="brier score", model=model, quantity="brier", engines=engines, max_abs_diff=d,
                        tolerance=BRIER_TOLERANCE, agrees=bool(d <= BRIER_TOLERANCE), detail=detail)])


def format_difference(x: float) -> str:
    """3.1e-12 (a difference); "nan" when not computed."""
    if not np.isfinite(x):
        return "nan"
    return "0" if x == 0 else np.format_float_scientific(x, precision=1, exp_digits=1, unique=False)


def format_tolerance(x: float) -> str:
    """1e-6 (a tolerance)."""
    return np.format_float_scientific(x, trim="-", exp_digits=1)


def agreement_notes(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(notes, warnings): one note per (check, model) as compare() prints them; a check with a
    difference above its tolerance gives a note beginning "WARNING:" and its text in
    ``warnings`` (the caller issues them)."""
    notes, alarms = [], []
    for (check, model, engines), part in frame.groupby(["check", "model", "engines"], sort=False):
        what = model if check == "classical fit" else f"brier score of {model}"
        if part["agrees"].isna().all():
            notes.append(f"agreement: {what} {engines}: {part['detail'].iloc[0]}")
            continue
        figures = ", ".join(f"{'max ' if i == 0 else ''}|{_NOTE_NAMES.get(q, q)} diff| {format_difference(d)}"
                            for i, (q, d) in enumerate(zip(part["quantity"], part["max_abs_diff"])))
        tol = format_tolerance(part["tolerance"].iloc[0])
        bad = part[part["agrees"] == False]  # noqa: E712 (nullable boolean)
        if len(bad):
            text = (f"WARNING: agreement: {what} {engines}: {figures}; above {tol} for "
                    f"{', '.join(bad['quantity'])}: the engines disagree")
            notes.append(text)
            alarms.append(text[len("WARNING: "):])
        else:
            notes.append(f"agreement: {what} {engines}: {figures} (within {tol})")
    return notes, alarms


def markdown(frame: pd.DataFrame) -> str:
    """The agreement rows as a Markdown table (differences in scientific notation)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in frame.itertuples(index=False):
        agrees = "n/a" if pd.isna(r.agrees) else ("yes" if r.agrees else "NO")
        cells = [r.check, r.model, r.quantity, r.engines, format_difference(r.max_abs_diff),
                 format_tolerance(r.tolerance), agrees, r.detail]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def describe(frame: pd.DataFrame) -> str:
    """One sentence: what was compared and to which tolerance."""
    parts = []
    classical = frame[frame["check"] == "classical fit"]
    if len(classical):
        models, engines = ", ".join(dict.fromkeys(classical["model"])), "; ".join(dict.fromkeys(classical["engines"]))
        parts.append(f"each classical model ({models}) was fitted on the first seed's training subjects by both "
                     f"engines ({engines}); coefficients, SEs, robust SEs and log partial likelihood must agree to "
                     f"{format_tolerance(TOLERANCE)} (largest absolute difference)")
    brier = frame[frame["check"] == "brier score"]
    if len(brier):
        engines = brier["engines"].iloc[0].replace(" vs ", " and in ")
        parts.append(f"the Brier score of {brier['model'].iloc[0]} on that split's test subjects was computed in "
                     f"{engines}, to agree to {format_tolerance(BRIER_TOLERANCE)}")
    return ("Agreement between engines: " + "; ".join(parts) + ".") if parts else ""


def check_split(split, runs: dict, specs: Sequence, *, requested: bool | None, reference: Callable | None = None,
                label: str | None = None) -> tuple[pd.DataFrame | None, list[str], list[str]]:
    """compare()'s checks on one split: :func:`classical_agreement` for every classical model
    name among ``specs`` on ``split.train``, :func:`brier_agreement` for the first classical
    spec with a run in ``runs`` on ``split.test_first`` at ``split.times``. ``requested``:
    None = when R is usable or ``reference`` is given; False = never; True = always (a note
    says why not when it cannot run). Returns (rows or None, notes, warning texts)."""
    import time

    from pysurvbridge.classical.by_name import CLASSICAL_MODELS

    if requested is False:
        return None, [], []
    names = [s.name for s in specs if s.name in CLASSICAL_MODELS]
    brier_run = next(((s.name, runs[s.name]) for s in specs if s.family == "classical" and s.name in runs
                      and runs[s.name].survival is not None), None)
    if not names and brier_run is None:
        return None, (["agreement: not checked: no classical model among the models"] if requested else []), []
    why_not = r_unusable_reason()
    if why_not is not None and reference is None:
        return None, ([f"agreement: not checked: R is not usable ({why_not}) and no crosscheck_reference was "
                       "given"] if requested else []), []
    t0 = time.perf_counter()
    parts = []
    if names:
        kw = {} if reference is None else {"reference": reference, "reference_label": label or "external reference"}
        parts.append(classical_agreement(split.train, names, **kw))
    if brier_run is not None:
        tr, te = split.train_first, split.test_first
        parts.append(brier_agreement(brier_run[1].survival, split.times, te.time, te.event, tr.time, tr.event,
                                     model=brier_run[0]))
    frame = _frame([]) if not parts else pd.concat(parts, ignore_index=True)
    seconds = time.perf_counter() - t0
    frame.attrs["seconds"] = seconds
    frame.attrs["seed"] = split.seed
    notes, alarms = agreement_notes(frame)
    notes.append(f"agreement checks: seed {split.seed}'s split, {seconds:.2f} s (not part of any fit_seconds)")
    return frame, notes, alarms
