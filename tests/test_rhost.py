"""pysurvbridge.rhost, the R package's door into Python, tested from Python. The R side of the
same protocol is tested by r/tests/testthat (R -> pandas -> R identical() for every column type).

References: pandas' own dtypes and NA semantics; the model's own predictions before its bytes
were saved; the built-in R engine's estimates for the host fitter.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge import rhost
from pysurvbridge.data import prepared
from pysurvbridge.errors import InvalidParameterError


def _payload(columns: dict, nrow: int) -> dict:
    return {"names": np.array(list(columns), dtype=str), "nrow": nrow, "columns": columns}


def test_every_kind_decodes_with_its_na_mask():
    na = np.array([False, True, False])
    frame = rhost.decode_frame(_payload({
        "i": {"kind": "integer", "values": np.array([1, 0, -5], np.int32), "na": na},
        "d": {"kind": "double", "values": np.array([1.5, 0.0, np.nan]), "na": na},
        "f": {"kind": "factor", "values": np.array([2, 0, 1], np.int32), "na": na, "levels": np.array(["b", "a"]),
              "ordered": False},
        "l": {"kind": "logical", "values": np.array([1, 0, 0], np.int32), "na": na},
        "s": {"kind": "character", "values": np.array(["x", "", "z"]), "na": na},
        "t": {"kind": "Date", "values": np.array([0.0, 0.0, 18262.0]), "na": na},
    }, 3))
    assert str(frame["i"].dtype) == "Int64" and frame["i"].isna().tolist() == [False, True, False]
    assert frame["i"][2] == -5
    assert frame["d"].isna().tolist() == [False, True, False] and np.isnan(frame["d"].array._data[2])
    assert list(frame["f"].cat.categories) == ["b", "a"] and frame["f"].tolist()[0] == "a" and pd.isna(frame["f"][1])
    assert str(frame["l"].dtype) == "boolean" and frame["l"].tolist()[::2] == [True, False] and pd.isna(frame["l"][1])
    assert frame["s"].tolist() == ["x", None, "z"]
    assert frame["t"][2] == pd.Timestamp("2020-01-01") and pd.isna(frame["t"][1])
    assert frame.attrs["r_dates"] == ["t"]


def test_encode_decode_round_trip_keeps_types_and_na():
    df = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64"), "b": [1.5, np.nan, 2.0],
                       "f": pd.Categorical(["x", None, "y"], categories=["y", "x"], ordered=True),
                       "s": ["u", None, "w"], "l": pd.array([True, None, False], dtype="boolean"),
                       "z": pd.to_datetime(["2020-01-01 10:00", None, "1969-12-31 00:00"]).tz_localize("Europe/Paris")})
    back = rhost.decode_frame(rhost.encode_frame(df))
    assert back["a"].tolist()[::2] == [1, 3] and back["a"].isna().tolist() == [False, True, False]
    assert back["f"].cat.ordered and list(back["f"].cat.categories) == ["y", "x"]
    assert back["s"].tolist() == ["u", None, "w"]
    assert back["l"].isna().tolist() == [False, True, False]
    assert back["z"].dt.tz is not None and back["z"][0] == df["z"][0] and pd.isna(back["z"][1])
    np.testing.assert_array_equal(back["b"].to_numpy(dtype=float, na_value=np.nan), df["b"].to_numpy())


def test_surv_columns_round_trip_with_states():
    col = {"kind": "Surv", "type": "mright", "states": np.array(["relapse", "death"]),
           "parts": {"time": {"values": np.array([5.0, 8.0]), "na": np.array([False, False])},
                     "status": {"values": np.array([0.0, 2.0]), "na": np.array([False, False])}}}
    frame = rhost.decode_frame(_payload({"y": col}, 2))
    assert list(frame.columns) == ["y[time]", "y[status]"]
    assert frame.attrs["r_surv"]["y"]["states"] == ["relapse", "death"]
    again = rhost.encode_frame(frame)
    assert list(again["names"]) == ["y"] and again["columns"]["y"]["type"] == "mright"
    assert list(again["columns"]["y"]["states"]) == ["relapse", "death"]


def test_unsendable_columns_are_named():
    with pytest.raises(InvalidParameterError, match="column 'm' mixes strings with int"):
        rhost.encode_frame(pd.DataFrame({"m": ["a", 3]}))
    with pytest.raises(InvalidParameterError, match="column 'c' has dtype complex"):
        rhost.encode_frame(pd.DataFrame({"c": [1 + 2j]}))


def _design_payload(X: np.ndarray, names) -> dict:
    return rhost.encode_frame(pd.DataFrame(X, columns=names))


def test_fit_predict_and_bytes_round_trip():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    time = rng.exponential(np.exp(-X[:, 0]))
    event = (rng.uniform(size=200) < 0.7).astype(float)
    resp = rhost.encode_frame(pd.DataFrame({"time": time, "event": event}))
    model = rhost.fit_model("deepsurv", _design_payload(X, ["a", "b", "c"]), resp, {"hidden": (8.0,)},
                            {"epochs": 5.0}, seed=1)
    assert model.hidden == (8,)  # R's numbers arrive as floats: integral ones become int
    before = rhost.predict(model, _design_payload(X, ["a", "b", "c"]), type="survival", times=[0.5, 1.0])
    restored = rhost.model_from_bytes(rhost.model_to_bytes(model))
    after = rhost.predict(restored, _design_payload(X, ["a", "b", "c"]), type="survival", times=[0.5, 1.0])
    np.testing.assert_array_equal(before["values"], after["values"])
    assert list(before["columns"]) == ["0.5", "1"] and before["values"].shape == (200, 2)
    lp = rhost.predict(model, _design_payload(X, ["a", "b", "c"]), type="lp")["values"][:, 0]
    risk = rhost.predict(model, _design_payload(X, ["a", "b", "c"]), type="risk")["values"][:, 0]
    np.testing.assert_allclose(risk, np.exp(lp), rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="times"):
        rhost.predict(model, _design_payload(X, ["a", "b", "c"]), type="survival")
    with pytest.raises(InvalidParameterError, match="model must be one of"):
        rhost.fit_model("svm", _design_payload(X, ["a", "b", "c"]), resp)
    with pytest.raises(InvalidParameterError, match="deepsurv: .*hiden"):
        rhost.fit_model("deepsurv", _design_payload(X, ["a", "b", "c"]), resp, {"hiden": 3})


def test_model_bytes_refuse_unexpected_entries(tmp_path):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        path = tmp_path / "x"
        path.write_text("{}")
        tar.add(path, arcname="../evil")
    with pytest.raises(InvalidParameterError, match="unexpected entry"):
        rhost.model_from_bytes(buffer.getvalue())


def test_host_fitter_passes_the_training_rows_and_reads_estimates_back():
    """A stand-in for the R session: it receives the training rows as a payload, fits natively,
    and answers as R does (column-major variance, coefficient names)."""
    from pysurvbridge.classical.design import build_problem
    from pysurvbridge.classical.native import fit_newton
    from pysurvbridge.data.recurrent import RecurrentData

    seen = {}

    def r_function(kind, payload, ties):
        frame = rhost.decode_frame(payload)
        seen["columns"] = list(frame.columns)
        covs = [c for c in frame.columns if c not in ("id", "start", "stop", "event", "enum")]
        data = RecurrentData.from_frame(frame, id="id", start="start", stop="stop", event="event", covariates=covs)
        res = fit_newton(build_problem(kind, data), ties)
        return {"coef": res.beta, "names": np.array(covs), "var": res.var.ravel(order="F"),
                "robust_var": res.robust_var.ravel(order="F"), "loglik": [res.loglik_null, res.loglik],
                "loglik_null": res.loglik_null, "iterations": res.iterations, "warnings": ["a warning from R"]}

    data = prepared("bladder")
    fitter = rhost.host_fitter(r_function)
    from pysurvbridge.errors import RWarning

    with pytest.warns(RWarning, match="a warning from R"):
        est = fitter("ag", data, "efron")
    assert seen["columns"][:5] == ["id", "start", "stop", "event", "enum"]
    native = fit_newton(build_problem("ag", data), "efron")
    np.testing.assert_array_equal(est.beta, native.beta)
    np.testing.assert_array_equal(est.robust_var, native.robust_var)


def _surv_payload_column(time: np.ndarray, status: np.ndarray) -> dict:
    no_na = np.zeros(len(time), bool)
    return {"kind": "Surv", "type": "right",
            "parts": {"time": {"values": np.asarray(time, float), "na": no_na},
                      "status": {"values": np.asarray(status, float), "na": no_na}}}


def _two_events(n: int = 150, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    t1 = rng.exponential(np.exp(-X[:, 0]))
    t2 = t1 + rng.exponential(1.0, size=n)
    e1 = (rng.uniform(size=n) < 0.6).astype(float)
    e2 = (rng.uniform(size=n) < 0.5).astype(float)
    return X, t1, e1, t2, e2


def test_multi_event_response_fits_mensa_in_multi_mode_as_python_does():
    """The R side's Surv(t1, e1) + Surv(t2, e2) ~ x: one Surv column per event, named after it.
    Reference: MENSA fitted directly on MultiEventData.from_frame of the same columns and seed."""
    from pysurvbridge.data.events import MultiEventData
    from pysurvbridge.models import MENSA

    X, t1, e1, t2, e2 = _two_events()
    resp = _payload({"recur": _surv_payload_column(t1, e1), "death": _surv_payload_column(t2, e2)}, len(t1))
    params = {"trajectories": [["recur", "death"]], "hidden": [8.0]}  # list(c("recur", "death")) from R
    model = rhost.fit_model("mensa", _design_payload(X, ["a", "b"]), resp, params, {"epochs": 3.0}, seed=2)
    assert model.mode == "multi" and model.event_names_ == ("recur", "death")
    assert model.trajectories == (("recur", "death"),)  # nested R lists keep their structure
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "t1": t1, "e1": e1, "t2": t2, "e2": e2})
    data = MultiEventData.from_frame(frame, times=["t1", "t2"], events=["e1", "e2"], covariates=["a", "b"],
                                     event_names=["recur", "death"])
    ref = MENSA(hidden=(8,), trajectories=[("recur", "death")], mode="multi").fit(data, epochs=3, random_state=2,
                                                                              verbose=False)
    out = rhost.predict(model, _design_payload(X, ["a", "b"]), type="survival", times=[0.5, 1.0])
    expected = ref.predict_survival(X, [0.5, 1.0])
    np.testing.assert_array_equal(out["values"], np.hstack([expected["recur"].to_numpy(),
                                                            expected["death"].to_numpy()]))
    assert list(out["columns"]) == ["recur:0.5", "recur:1", "death:0.5", "death:1"]
    lp = rhost.predict(model, _design_payload(X, ["a", "b"]), type="lp")
    assert list(lp["columns"]) == ["recur", "death"]
    np.testing.assert_array_equal(lp["values"], ref.predict_risk(X))
    with pytest.raises(InvalidParameterError, match="need model = 'mensa'"):
        rhost.fit_model("deepsurv", _design_payload(X, ["a", "b"]), resp)


def test_multi_event_frame_compares_as_multi_event_data():
    """compare_from_r on one Surv column per event equals compare() on the MultiEventData built
    from the same columns in Python."""
    from pysurvbridge import compare
    from pysurvbridge.data.events import MultiEventData

    X, t1, e1, t2, e2 = _two_events(200, seed=3)
    cols = {"recur": _surv_payload_column(t1, e1), "death": _surv_payload_column(t2, e2)}
    cols.update({"a": {"kind": "double", "values": X[:, 0]}, "b": {"kind": "double", "values": X[:, 1]}})
    data = rhost._comparison_data(_payload(cols, len(t1)))
    assert isinstance(data, MultiEventData) and data.event_names == ("recur", "death")
    assert data.covariates == ("a", "b")
    np.testing.assert_array_equal(data.times, np.column_stack([t1, t2]))
    models = ["mensa", "earlier-event-first"]
    got = rhost.compare_from_r(_payload(cols, len(t1)), np.array(models), None, seeds=1.0, epochs=2.0,
                               trajectories=[["recur", "death"]], verbose=False)
    ref = compare(data, models, seeds=1, epochs=2, trajectories=[("recur", "death")], verbose=False)
    metric = [c for c in ref.table.columns if c.startswith(("c_", "ibs"))]
    pd.testing.assert_frame_equal(got.table[metric], ref.table[metric])
    bad = dict(cols, death={**cols["death"], "type": "mright"})
    with pytest.raises(InvalidParameterError, match="right-censored"):
        rhost._comparison_data(_payload(bad, len(t1)))
