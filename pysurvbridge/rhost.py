"""The R package's door into Python (``r/``, survbridge over reticulate).

Data cross the boundary as plain typed vectors with an explicit NA mask, never through a
converter's guesses (reticulate turns ``NA_integer_`` into -2147483648 and NA into True/"NA" in some
types). A frame payload is a dict::

    {"names": [...], "nrow": n, "columns": {name: {"kind": kind, "values": array, "na": bool array,
                                                   "levels": [...], "ordered": bool, "tz": str,
                                                   "parts": {...}}}}

with kind one of double, integer, logical, character, factor, Date, POSIXct, Surv. Values of NA
cells are placeholders (0 or ""); the mask is the truth, and a column without NA may leave "na"
out (the R package sends it only when there is one; a Surv part always has it). R's NaN stays
NaN (a value), R's NA becomes pandas' NA (masked dtypes) or NaT/None, and back.

Fitted models cross as the bytes of :meth:`SurvivalModel.save` (a tar of its folder), so an R
object holding them survives ``saveRDS``.
"""
from __future__ import annotations

import io
import tarfile
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError, RWarning

__all__ = ["decode_frame", "encode_frame", "DEEP_MODELS", "fit_model", "predict", "model_to_bytes",
           "model_from_bytes", "host_fitter", "compare_from_r", "comparison_tables", "dataset_names"]

R_SURV_ATTR = "r_surv"  # frame.attrs[...] = {column: {"type": ..., "parts": [component columns]}}
R_DATE_ATTR = "r_dates"  # frame.attrs[...] = [columns that were R Dates]
SURV_PARTS = {"right": ("time", "status"), "left": ("time", "status"), "interval": ("time1", "time2", "status"),
              "counting": ("start", "stop", "status"), "mright": ("time", "status"),
              "mcounting": ("start", "stop", "status")}


# ---------------------------------------------------------------- R -> pandas
def _vector(values: Any, dtype) -> np.ndarray:
    return np.asarray(values, dtype=dtype).reshape(-1)


def _strings(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=object).reshape(-1)
    return np.array([str(v) for v in arr], dtype=object)


def _decode_column(name: str, col: Mapping[str, Any], nrow: int) -> pd.Series | pd.DataFrame:
    kind = str(col["kind"])
    na = _vector(col.get("na", np.zeros(nrow, bool)), bool)
    if kind == "Surv":
        return _decode_surv(name, col, nrow)
    if kind == "double":
        values = _vector(col["values"], np.float64)
        out = pd.array(values, dtype="float64") if not na.any() else pd.arrays.FloatingArray(values, na)
    elif kind == "integer":
        values = _vector(col["values"], np.int64)
        out = values if not na.any() else pd.arrays.IntegerArray(values, na)
    elif kind == "logical":
        values = _vector(col["values"], np.int64).astype(bool)
        out = values if not na.any() else pd.arrays.BooleanArray(values, na)
    elif kind == "character":
        values = _strings(col["values"])
        values[na] = None
        out = values
    elif kind == "factor":
        codes = _vector(col["values"], np.int64) - 1
        codes[na] = -1
        levels = list(_strings(col.get("levels", [])))
        out = pd.Categorical.from_codes(codes, categories=levels, ordered=bool(col.get("ordered", False)))
    elif kind == "Date":
        days = _vector(col["values"], np.float64)
        out = pd.to_datetime(np.where(na, np.nan, days), unit="D")
    elif kind == "POSIXct":
        seconds = _vector(col["values"], np.float64)
        out = pd.to_datetime(np.where(na, np.nan, seconds), unit="s", utc=True)
        tz = str(col.get("tz", "") or "")
        out = out.tz_convert(tz) if tz else out.tz_convert(None)
    else:
        raise InvalidParameterError(f"column {name!r}: unknown kind {kind!r} in the R payload")
    series = pd.Series(out, name=name)
    if len(series) != nrow:
        raise InvalidParameterError(f"column {name!r} has {len(series)} values, the frame {nrow} rows")
    return series


def _decode_surv(name: str, col: Mapping[str, Any], nrow: int) -> pd.DataFrame:
    kind = str(col["type"])
    parts = col["parts"]
    out = {}
    for part in SURV_PARTS.get(kind, tuple(parts)):
        values = _vector(parts[part]["values"], np.float64)
        na = _vector(parts[part]["na"], bool)
        out[f"{name}[{part}]"] = values if not na.any() else pd.arrays.FloatingArray(values, na)
    frame = pd.DataFrame(out)
    spec = {"type": kind, "parts": list(out)}
    if col.get("states") is not None:  # multi-state Surv: the names of the status codes
        spec["states"] = [str(x) for x in np.asarray(col["states"], dtype=object).reshape(-1)]
    frame.attrs[R_SURV_ATTR] = {name: spec}
    if len(frame) != nrow:
        raise InvalidParameterError(f"Surv column {name!r} has {len(frame)} rows, the frame {nrow}")
    return frame


def decode_frame(payload: Mapping[str, Any]) -> pd.DataFrame:
    """A pandas DataFrame from the R package's frame payload (see the module docstring).

    Factors become Categorical (levels and order kept), integers int64 (Int64 with NA), logicals
    bool (boolean with NA), characters object (None for NA), Dates datetime64 (NaT; listed in
    ``attrs["r_dates"]``), Surv columns one float column per part, ``name[time]`` ... (listed
    in ``attrs["r_surv"]``)."""
    names = [str(n) for n in np.asarray(payload["names"], dtype=object).reshape(-1)]
    nrow = int(np.asarray(payload["nrow"]).reshape(-1)[0])
    columns = payload["columns"]
    pieces, surv, dates = [], {}, []
    for name in names:
        piece = _decode_column(name, columns[name], nrow)
        if isinstance(piece, pd.DataFrame):
            surv.update(piece.attrs[R_SURV_ATTR])
        elif str(columns[name]["kind"]) == "Date":
            dates.append(name)
        pieces.append(piece)
    frame = pd.concat(pieces, axis=1) if pieces else pd.DataFrame(index=pd.RangeIndex(nrow))
    frame.index = pd.RangeIndex(nrow)
    frame.attrs[R_SURV_ATTR] = surv
    frame.attrs[R_DATE_ATTR] = dates
    return frame


# ---------------------------------------------------------------- pandas -> R
def _encode_column(name: str, s: pd.Series, dates: Sequence[str]) -> dict:
    na = s.isna().to_numpy(dtype=bool)
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy(dtype=np.int32) + 1
        codes[na] = 0
        return {"kind": "factor", "values": codes, "na": na, "ordered": bool(dtype.ordered),
                "levels": np.array([str(c) for c in dtype.categories], dtype=str)}
    if pd.api.types.is_bool_dtype(dtype):
        return {"kind": "logical", "values": s.fillna(False).to_numpy(dtype=np.int32), "na": na}
    if pd.api.types.is_integer_dtype(dtype):
        values = s.fillna(0).to_numpy(dtype=np.int64)
        if values.size and (values.max() > 2**31 - 1 or values.min() < -(2**31 - 1)):
            return {"kind": "double", "values": values.astype(np.float64), "na": na}
        return {"kind": "integer", "values": values.astype(np.int32), "na": na}
    if pd.api.types.is_float_dtype(dtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        if isinstance(s.array, pd.arrays.FloatingArray):  # NaN values and NA cells are distinct
            values = np.where(na, 0.0, s.array._data)
        else:  # numpy float: NaN is pandas' missing value
            values = np.where(na, 0.0, values)
        return {"kind": "double", "values": values, "na": na}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        utc = s.dt.tz_convert("UTC") if s.dt.tz is not None else s
        seconds = (utc.astype("datetime64[ns]" if s.dt.tz is None else "datetime64[ns, UTC]")
                   .to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9)
        seconds = np.where(na, 0.0, seconds)
        if name in dates:
            return {"kind": "Date", "values": np.floor(seconds / 86400.0), "na": na}
        return {"kind": "POSIXct", "values": seconds, "na": na, "tz": str(s.dt.tz or "")}
    if dtype == object or pd.api.types.is_string_dtype(dtype):
        values = s.to_numpy(dtype=object)
        bad = [i for i, v in enumerate(values) if not na[i] and not isinstance(v, str)]
        if bad:
            raise InvalidParameterError(f"column {name!r} mixes strings with {type(values[bad[0]]).__name__} values "
                                        f"(rows {bad[:5]}); convert it to one type before sending it to R")
        return {"kind": "character", "values": np.array(["" if m else v for v, m in zip(values, na)], dtype=str),
                "na": na}
    raise InvalidParameterError(f"column {name!r} has dtype {dtype}, which survbridge cannot send to R; convert it")


def encode_frame(frame: pd.DataFrame) -> dict:
    """The payload of :func:`decode_frame` for ``frame`` (the R package rebuilds the data.frame;
    columns listed in ``attrs["r_surv"]`` become Surv columns again, ``attrs["r_dates"]`` Dates)."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    surv = dict(frame.attrs.get(R_SURV_ATTR, {}))
    dates = list(frame.attrs.get(R_DATE_ATTR, []))
    in_surv = {part: name for name, spec in surv.items() for part in spec["parts"]}
    names, columns = [], {}
    for col in frame.columns:
        name = str(col)
        if name in in_surv:
            owner = in_surv[name]
            if owner in columns:
                continue
            spec = surv[owner]
            parts = {}
            for part_col, part in zip(spec["parts"], SURV_PARTS.get(spec["type"], spec["parts"])):
                s = frame[part_col]
                na = s.isna().to_numpy(dtype=bool)
                parts[part] = {"values": np.where(na, 0.0, s.to_numpy(dtype=np.float64, na_value=np.nan)), "na": na}
            names.append(owner)
            columns[owner] = {"kind": "Surv", "type": spec["type"], "parts": parts}
            if spec.get("states") is not None:
                columns[owner]["states"] = np.array(spec["states"], dtype=str)
            continue
        names.append(name)
        columns[name] = _encode_column(name, frame[col], dates)
    return {"names": np.array(names, dtype=str), "nrow": int(len(frame)), "columns": columns}


# ---------------------------------------------------------------- neural models from R
def _deep_models() -> dict[str, type]:
    from pysurvbridge.models import MENSA, CoxVAE, DeepSurv, LSTMCox, NnetSurvival

    return {"lstm-cox": LSTMCox, "deepsurv": DeepSurv, "nnet-survival": NnetSurvival, "coxvae": CoxVAE,
            "mensa": MENSA}


DEEP_MODELS = ("lstm-cox", "deepsurv", "nnet-survival", "coxvae", "mensa")


def _design(X: Mapping) -> pd.DataFrame:
    """The design from the R package: {"matrix": (n, p) float64, "names": p names} (model.matrix
    columns, numeric without NA), or a frame payload."""
    if "matrix" in X:
        names = [str(n) for n in np.asarray(X["names"], dtype=object).reshape(-1)]
        values = np.asarray(X["matrix"], dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise InvalidParameterError(f"design matrix of shape {values.shape} for {len(names)} names")
        return pd.DataFrame(values, columns=names)
    return decode_frame(X)


def _numeric_design(X: pd.DataFrame) -> np.ndarray:
    bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])]
    if bad:
        raise InvalidParameterError(f"design columns {bad} are not numeric (the R side sends model.matrix columns)")
    return X.to_numpy(dtype=np.float64)


def _training_data(model: str, X: pd.DataFrame, response: pd.DataFrame, predicting: bool = False):
    from pysurvbridge.data.events import MultiEventData, SurvivalData
    from pysurvbridge.data.recurrent import RecurrentData

    covs = [str(c) for c in X.columns]
    design = _numeric_design(X)
    if model == "lstm-cox":
        if "start" not in response:
            raise InvalidParameterError("lstm-cox needs counting-process data: a formula "
                                        "Surv(start, stop, event) ~ ... + cluster(id)")
        frame = pd.DataFrame(design, columns=covs)
        frame.insert(0, "id", response["id"].to_numpy())
        for c in ("start", "stop", "event"):
            frame[c] = response[c].to_numpy(dtype=np.float64)
        return RecurrentData.from_frame(frame, id="id", start="start", stop="stop", event="event", covariates=covs,
                                        allow_no_events=predicting)
    if "start" in response:
        raise InvalidParameterError(f"{model} models time to one event: give Surv(time, status), not "
                                    "Surv(start, stop, event)")
    events = _surv_events(response)
    if events:  # multi-event: one Surv column per event (Surv(t1, e1) + Surv(t2, e2) ~ x in R)
        if model != "mensa":
            raise InvalidParameterError(f"{model} is a single-event model; several events "
                                        "(Surv(t1, e1) + Surv(t2, e2) ~ x) need model = 'mensa'")
        frame = pd.DataFrame(design, columns=covs)
        for parts in events.values():
            for part in parts:
                frame[part] = response[part].to_numpy(dtype=np.float64)
        return MultiEventData.from_frame(frame, times=[p[0] for p in events.values()],
                                         events=[p[1] for p in events.values()], covariates=covs,
                                         event_names=list(events))
    if "cause" in response:  # competing risks: Surv(time, factor(status)) -> MENSA competing mode
        if model != "mensa":
            raise InvalidParameterError(f"{model} is a single-event model; competing risks "
                                        "(Surv(time, factor(status))) need model = 'mensa'")
        causes = [str(c) for c in np.asarray(response.attrs.get("causes", []), dtype=object)]
        frame = pd.DataFrame(design, columns=covs)
        frame["time"] = response["time"].to_numpy(dtype=np.float64)
        frame["cause"] = response["cause"].to_numpy(dtype=np.int64)
        data = MultiEventData.from_competing_risks(frame, time="time", event="cause",
                                                   n_events=len(causes) or None, covariates=covs)
        if len(causes) == len(data.event_names):
            import dataclasses

            data = dataclasses.replace(data, event_names=tuple(causes))
        return data
    return SurvivalData.from_arrays(response["time"].to_numpy(dtype=np.float64),
                                    response["event"].to_numpy(dtype=np.float64), design, covs)


def _surv_events(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """The events of a multi-event response: {event name: (time column, status column)} for a
    frame of two or more right-censored Surv columns (one per event, named after it); {} for
    any other frame."""
    surv = frame.attrs.get(R_SURV_ATTR) or {}
    if len(surv) < 2:
        return {}
    bad = {name: spec["type"] for name, spec in surv.items() if spec["type"] != "right"}
    if bad:
        raise InvalidParameterError(f"multi-event data need one right-censored Surv(time, status) per event; "
                                    f"got Surv types {bad}")
    return {str(name): (spec["parts"][0], spec["parts"][1]) for name, spec in surv.items()}


def fit_model(model: str, X: Mapping, response: Mapping, params: Mapping | None = None,
              fit_args: Mapping | None = None, seed: int = 0) -> Any:
    """Fit a neural model from the R package: ``X`` the design (model.matrix columns, n rows; see
    ``_design``), ``response`` a frame payload of time/event (or start/stop/event/id, or
    time/cause with ``causes``, or two or more Surv columns, one per event, for MENSA's
    multi-event mode), ``params`` hyper-parameters, ``fit_args`` training options
    (epochs, lr, batch_size, ...). Returns the fitted model."""
    models = _deep_models()
    if model not in models:
        raise InvalidParameterError(f"model must be one of {list(DEEP_MODELS)}, but was {model!r}")
    design = _design(X)
    resp = decode_frame(response)
    resp.attrs["causes"] = list(np.asarray(response.get("causes", []), dtype=object).reshape(-1))
    data = _training_data(model, design, resp)
    params = {k: _from_r(v) for k, v in dict(params or {}).items()}
    if model == "coxvae" and "encoder" not in params:  # compare()'s rule: conv only for square images in [0, 1]
        from pysurvbridge.comparison.builtin import coxvae_architecture

        params.update(coxvae_architecture(data))
    if model == "mensa" and "mode" not in params:
        params["mode"] = "multi" if _surv_events(resp) else "competing" if "cause" in resp else "single"
    fit_args = {k: _from_r(v) for k, v in dict(fit_args or {}).items()}
    fit_args.setdefault("verbose", False)
    try:
        estimator = models[model](**params)
    except TypeError as exc:
        raise InvalidParameterError(f"{model}: {exc}") from None
    try:
        return estimator.fit(data, random_state=int(seed), **fit_args)
    except TypeError as exc:
        raise InvalidParameterError(f"{model}.fit: {exc}") from None


def _from_r(value: Any) -> Any:
    """R scalars arrive as floats: integral epochs/batch sizes become int; vectors become tuples
    (a list of vectors, such as trajectories = list(c("recur", "death")), a tuple of tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_from_r(v) for v in value)
    if isinstance(value, np.ndarray):
        items = [_from_r(v) for v in np.asarray(value, dtype=object).reshape(-1)]
        return tuple(items)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def predict(model: Any, X: Mapping, response: Mapping | None = None, type: str = "lp",
            times: Sequence[float] | None = None) -> dict:
    """Predictions for the R package: {"values": (n, k) float64 array, "rows": row labels (subject
    ids for LSTM-Cox; None otherwise: R names the rows after newdata), "columns": column labels}. ``type``: "lp" (log-risk; per counting-process row for LSTM-Cox),
    "risk" (exp(lp)), "survival" (P(no event by t), rows subjects, columns ``times``; for
    competing-risks MENSA, per cause: columns "cause:time")."""
    if type not in ("lp", "risk", "survival"):
        raise InvalidParameterError(f"type must be 'lp', 'risk' or 'survival', but was {type!r}")
    from pysurvbridge.models import LSTMCox

    design = _design(X)
    if isinstance(model, LSTMCox):
        if response is None:
            raise InvalidParameterError("an LSTM-Cox prediction needs the counting-process rows: "
                                        "newdata with start, stop, event and the id")
        resp = decode_frame(response)
        data = _training_data("lstm-cox", design, resp, predicting=True)
        if type == "survival":
            frame = model.predict_survival(data, _times(times))
            return _matrix(frame.to_numpy(), [str(i) for i in frame.index], frame.columns)
        lp = model.predict_risk(data)
        rows = [str(i) for i in data.frame["id"]]
    else:
        Xn = _numeric_design(design)
        if type == "survival":
            surv = model.predict_survival(Xn, _times(times))
            if isinstance(surv, dict):  # MENSA, one frame per event
                values = np.hstack([f.to_numpy() for f in surv.values()])
                cols = [f"{event}:{t:g}" for event, f in surv.items() for t in f.columns]
                return {"values": values, "rows": None, "columns": np.array(cols, dtype=str)}
            return _matrix(surv.to_numpy(), None, surv.columns)
        lp = model.predict_risk(Xn)
        rows = None
    values = np.asarray(lp, dtype=np.float64)
    columns = [type]
    if values.ndim == 2:  # MENSA with K events (multi-event or competing): one column per event
        columns = [str(e) for e in model.event_names_]
    values = values.reshape(len(values), -1)
    if type == "risk":
        values = np.exp(values)
    return {"values": values, "rows": None if rows is None else np.array(rows, dtype=str),
            "columns": np.array(columns, dtype=str)}


def _times(times) -> np.ndarray:
    if times is None:
        raise InvalidParameterError("type = 'survival' needs times = (a numeric vector of times)")
    grid = np.asarray(times, dtype=np.float64).reshape(-1)
    if not len(grid) or not np.isfinite(grid).all() or (grid < 0).any():
        raise InvalidParameterError(f"times must be finite non-negative numbers, but were {grid.tolist()}")
    return grid


def _matrix(values: np.ndarray, rows: Sequence[str] | None, columns) -> dict:
    return {"values": np.asarray(values, dtype=np.float64), "rows": None if rows is None else np.asarray(rows, dtype=str),
            "columns": np.array([f"{float(c):g}" for c in columns], dtype=str)}


def model_to_bytes(model: Any) -> bytes:
    """The model's ``save()`` folder as the bytes of an uncompressed tar."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / "model")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path in sorted(Path(folder).iterdir()):
                tar.add(path, arcname=path.name)
        return buffer.getvalue()


def model_from_bytes(blob: bytes) -> Any:
    """The model saved by :func:`model_to_bytes` (its class is read from the saved config)."""
    import json

    from pysurvbridge.models.base import CONFIG_FILE

    models = {cls.__name__: cls for cls in _deep_models().values()}
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(bytes(blob)), mode="r") as tar:
            for member in tar.getmembers():
                if not member.isfile() or "/" in member.name or member.name.startswith("."):
                    raise InvalidParameterError(f"saved model holds an unexpected entry {member.name!r}")
            tar.extractall(tmp)
        config = json.loads((Path(tmp) / CONFIG_FILE).read_text())
        cls = models.get(config.get("class"))
        if cls is None:
            raise InvalidParameterError(f"saved model is a {config.get('class')!r}; survbridge restores "
                                        f"{sorted(models)}")
        return cls.load(tmp)


# ---------------------------------------------------------------- compare() from R
def host_fitter(r_function: Callable) -> Callable:
    """An :data:`~pysurvbridge.classical.external.ExternalFitter` that calls ``r_function(kind,
    train_payload, ties)`` in the R session hosting Python: the R side fits coxph on its own
    layout of the training rows and returns coef, var, robust_var (column-major), loglik,
    loglik_null, iterations, concordance and names."""
    from pysurvbridge.classical.external import estimates_from_mapping
    from pysurvbridge.data.recurrent import RecurrentData

    def fit(kind: str, train, ties: str):
        frame = train.frame if isinstance(train, RecurrentData) else train.to_frame()
        if not isinstance(train, RecurrentData) and "id" not in frame:
            frame.insert(0, "id", np.arange(len(frame)))
        values = r_function(kind, encode_frame(frame), ties)
        values = {str(k): v for k, v in dict(values).items()}
        for text in np.asarray(values.get("warnings") or [], dtype=object).reshape(-1):
            warnings.warn(f"R warning in the R session's coxph ({kind}): {text}", RWarning, stacklevel=2)
        return estimates_from_mapping(values, list(train.covariates), r_call=str(values.get("call", "")))
    return fit


def compare_from_r(data: Any, models: Sequence[str], fitter: Callable | None, *, seeds: Any = 3,
                   crosscheck: bool = False, **kwargs) -> Any:
    """``compare()`` for the R package. ``data``: a data-set name, or a frame payload of
    counting-process rows (id, start, stop, event, covariates), of (time, event, covariates),
    or of two or more Surv columns (one per event, named after it) and covariates (multi-event);
    classical models among ``models`` are fitted by ``fitter`` (the R session), the neural ones
    here; with ``crosscheck`` the R session's coxph is compared with the native engine."""
    from pysurvbridge.classical.by_name import CLASSICAL_MODELS
    from pysurvbridge.comparison import compare
    from pysurvbridge.comparison.builtin import external_classical_spec

    data = _comparison_data(data)
    names = [str(m) for m in np.asarray(models, dtype=object).reshape(-1)]
    external = host_fitter(fitter) if fitter is not None else None
    specs = [external_classical_spec(m, external, engine="r-host") if external is not None and m in CLASSICAL_MODELS
             else m for m in names]
    seeds = _from_r(seeds)
    if isinstance(seeds, tuple):
        seeds = [int(s) for s in seeds]
    options = {k: _from_r(v) for k, v in kwargs.items() if k != "tune"}
    if "tune" in kwargs:
        options["tune"] = _tune_from_r(kwargs["tune"])
    if crosscheck and external is not None:
        options.update(crosscheck=True, crosscheck_reference=external,
                       crosscheck_label="the R session's coxph (survbridge)")
    else:
        options["crosscheck"] = bool(crosscheck)
    return compare(data, specs, seeds=seeds, **options)


def _tune_from_r(tune: Any) -> Any:
    """compare()'s ``tune`` from R: "default"/"none"/NULL as they are; a named list of spaces
    with ranges list("log", low, high) and value lists in which a vector is one tuple value
    (``hidden = list(16, c(32, 32))``: a number stands for a one-layer tuple where the model's
    parameter is a tuple)."""
    from pysurvbridge.comparison.registry import spec_for
    from pysurvbridge.comparison.tuning import is_range

    if tune is None or isinstance(tune, str):
        return tune
    out = {}
    for model, space in dict(tune).items():
        if space is None:
            out[str(model)] = None
            continue
        spec = spec_for(str(model))
        defaults = spec.tuning.estimator.get_params(deep=False) if spec.tuning is not None else {}
        converted = {}
        for name, values in dict(space).items():
            values = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]
            if is_range(values):
                converted[name] = (str(values[0]), float(values[1]), float(values[2]))
                continue
            as_tuple = isinstance(defaults.get(name), tuple)
            choices = []
            for v in values:
                v = _from_r(v)
                choices.append((v,) if as_tuple and not isinstance(v, tuple) else v)
            converted[name] = choices
        out[str(model)] = converted
    return out


def _comparison_data(data: Any):
    from pysurvbridge.data.events import SurvivalData
    from pysurvbridge.data.recurrent import RecurrentData

    if isinstance(data, str):
        from pysurvbridge.data import catalog

        return catalog.entry(data).name  # an unknown name lists the catalogue's names
    frame = decode_frame(data)
    events = _surv_events(frame)
    if events:  # one Surv column per event: multi-event data
        from pysurvbridge.data.events import MultiEventData

        parts = {p for pair in events.values() for p in pair}
        covs = [c for c in frame.columns if c not in parts and c != "id"]
        return MultiEventData.from_frame(frame, times=[p[0] for p in events.values()],
                                         events=[p[1] for p in events.values()], covariates=covs,
                                         id="id" if "id" in frame else None, event_names=list(events))
    covs = [c for c in frame.columns if c not in ("id", "start", "stop", "event", "time", "enum")]
    if "start" in frame:
        return RecurrentData.from_frame(frame, id="id", start="start", stop="stop", event="event", covariates=covs)
    if "time" in frame:
        return SurvivalData.from_frame(frame, time="time", event="event", covariates=covs,
                                       id="id" if "id" in frame else None)
    raise InvalidSurvivalDataError("compare data need columns id, start, stop, event (recurrent) or time, event")


def dataset_names() -> list[str]:
    """The names ``sb_compare()`` takes for data: the catalogue's (:mod:`pysurvbridge.data.catalog`)."""
    from pysurvbridge.data import catalog

    return catalog.names()


def comparison_tables(comparison: Any) -> dict:
    """A comparison's table, per-seed results (tuned configurations as JSON text), notes,
    agreement, differences, verdict sentences and tuning trials as payloads for R."""
    import json

    from pysurvbridge.report.verdict import sentences

    results = comparison.results.copy()
    if "tuned_params" in results:
        results["tuned_params"] = [None if p is None or (isinstance(p, float) and np.isnan(p)) else
                                   json.dumps(p, sort_keys=True) for p in results["tuned_params"]]
    out = {"table": encode_frame(_plain(comparison.table)), "results": encode_frame(_plain(results)),
           "notes": np.array(list(comparison.notes), dtype=str)}
    agreement = getattr(comparison, "agreement", None)
    out["agreement"] = encode_frame(_plain(agreement)) if agreement is not None else None
    differences = comparison.differences
    out["differences"] = encode_frame(_plain(differences)) if differences is not None and len(differences) else None
    out["verdict"] = np.array(sentences(comparison), dtype=str)
    out["reference"] = comparison.reference
    tuning = getattr(comparison, "tuning", None)
    out["tuning"] = encode_frame(_plain(tuning)) if tuning is not None else None
    return out


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of mixed None/number (n_params) as floats, so every column has one type."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            values = out[c].tolist()
            if all(v is None or isinstance(v, (int, float, np.integer, np.floating)) for v in values):
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(np.float64)
            elif all(v is None or isinstance(v, (bool, np.bool_)) for v in values):
                out[c] = out[c].astype("boolean")
            else:
                out[c] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]
    return out
