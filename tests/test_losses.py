"""cox_nll against R's coxph log partial likelihood at fixed coefficients, and its properties.

Reference: survival::coxph(formula, data, init = beta, ties = ..., weights = ...,
control = coxph.control(iter.max = 0))$loglik[1], evaluated live through the bridge.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pysurvbridge.data import load_bladder2
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses import cox_nll


def heavy_ties_frame(seed: int = 0, n: int = 300) -> pd.DataFrame:
    """Random (start, stop] data on an integer grid of 8 times: heavy ties everywhere."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 4, n).astype(float)
    stop = start + rng.integers(1, 5, n)
    return pd.DataFrame({
        "start": start, "stop": stop, "event": rng.binomial(1, 0.6, n).astype(float),
        "x1": rng.normal(size=n), "x2": rng.binomial(1, 0.4, n).astype(float),
        "g": rng.integers(1, 4, n), "w": rng.uniform(0.2, 3.0, n),
    })


def r_loglik(r, df, covs, beta, *, ties, start=True, strata=None, weights=None):
    lhs = ["start", "stop", "event"] if start else ["stop", "event"]
    f = r.formula("Surv", lhs, covs, specials=[("strata", strata)] if strata else [],
                  namespace="survival")
    ctrl = r.call("coxph.control", **{"iter.max": 0}, package="survival")
    kw = {"weights": df[weights].to_numpy()} if weights else {}
    fit = r.call("coxph", f, data=r.to_r(df), init=np.asarray(beta, float), ties=ties,
                 control=ctrl, package="survival", **kw)
    return float(r.to_numpy(fit.rx2("loglik"))[0])


def ours(df, covs, beta, *, ties, start=True, strata=None, weights=None, dtype=torch.float64):
    t = lambda c: torch.tensor(df[c].to_numpy(), dtype=dtype)  # noqa: E731
    eta = torch.tensor(df[covs].to_numpy(float) @ np.asarray(beta, float), dtype=dtype)
    return -cox_nll(eta, t("stop"), t("event"), start=t("start") if start else None,
                    strata=torch.tensor(df[strata].to_numpy()) if strata else None,
                    weights=t(weights) if weights else None, ties=ties, reduction="sum").item()


CASES = [(ties, start, strata) for ties in ("efron", "breslow") for start in (True, False)
         for strata in (None, "g")]


@pytest.mark.r
@pytest.mark.parametrize("ties,start,strata", CASES)
def test_equals_r_on_heavy_ties(r_session, ties, start, strata):
    df = heavy_ties_frame()
    beta = [0.7, -0.4]
    expected = r_loglik(r_session, df, ["x1", "x2"], beta, ties=ties, start=start, strata=strata)
    assert ours(df, ["x1", "x2"], beta, ties=ties, start=start, strata=strata) == pytest.approx(expected, abs=1e-8)


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_equals_r_with_case_weights(r_session, ties):
    df = heavy_ties_frame(seed=3)
    expected = r_loglik(r_session, df, ["x1", "x2"], [0.3, 0.5], ties=ties, strata="g", weights="w")
    got = ours(df, ["x1", "x2"], [0.3, 0.5], ties=ties, strata="g", weights="w")
    assert got == pytest.approx(expected, abs=1e-8)


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("strata", [None, "enum"])
def test_equals_r_on_bladder2(r_session, ties, strata):
    df = load_bladder2().astype(float)
    covs, beta = ["rx", "number", "size"], [-0.4, 0.15, -0.02]
    expected = r_loglik(r_session, df, covs, beta, ties=ties, strata=strata)
    assert ours(df, covs, beta, ties=ties, strata=strata) == pytest.approx(expected, abs=1e-8)


def test_breslow_by_hand():
    """Three subjects, times 1 < 2 < 3, all events, no ties: the product of the three
    risk-set ratios r1/(r1+r2+r3) * r2/(r2+r3) * r3/r3 (Cox 1972)."""
    eta = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    r = eta.exp()
    expected = -(torch.log(r[0] / r.sum()) + torch.log(r[1] / (r[1] + r[2])))
    got = cox_nll(eta, torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 1, 1]), reduction="sum")
    assert got.item() == pytest.approx(expected.item(), abs=1e-14)


def test_efron_two_tied_events_by_hand():
    """Two tied events among three at risk: Efron's denominators are S and S - (r1+r2)/2."""
    eta = torch.tensor([0.3, -0.2, 0.9], dtype=torch.float64)
    r = eta.exp()
    s = r.sum()
    expected = -(eta[0] + eta[1] - torch.log(s) - torch.log(s - (r[0] + r[1]) / 2))
    got = cox_nll(eta, torch.tensor([1.0, 1.0, 2.0]), torch.tensor([1, 1, 0]), reduction="sum")
    assert got.item() == pytest.approx(expected.item(), abs=1e-14)


def test_start_time_convention_is_open_on_the_left():
    """A row (1, 2] is not at risk at t = 1: adding it must not change the t = 1 term."""
    eta = torch.tensor([0.0, 0.4, 5.0], dtype=torch.float64)
    base = cox_nll(eta[:2], torch.tensor([1.0, 3.0]), torch.tensor([1, 0]),
                   start=torch.tensor([0.0, 0.0]), reduction="sum")
    more = cox_nll(eta, torch.tensor([1.0, 3.0, 2.0]), torch.tensor([1, 0, 0]),
                   start=torch.tensor([0.0, 0.0, 1.0]), reduction="sum")
    assert more.item() == pytest.approx(base.item(), abs=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_gradcheck(ties):
    df = heavy_ties_frame(n=40)
    eta = torch.tensor(np.random.default_rng(1).normal(size=40), dtype=torch.float64, requires_grad=True)
    args = (torch.tensor(df["stop"].to_numpy()), torch.tensor(df["event"].to_numpy()))
    kw = dict(start=torch.tensor(df["start"].to_numpy()), strata=torch.tensor(df["g"].to_numpy()),
              ties=ties, weights=torch.tensor(df["w"].to_numpy()))
    assert torch.autograd.gradcheck(lambda e: cox_nll(e, *args, **kw), (eta,))


@pytest.mark.parametrize("shift,scale", [(100.0, 1.0), (-700.0, 1.0), (0.0, 50.0)])
def test_stable_under_shift_and_scale(shift, scale):
    """The exact loss is shift invariant; large scores must stay finite (no inf/nan)."""
    df = heavy_ties_frame(n=500)
    eta = torch.tensor(np.random.default_rng(2).normal(size=500), dtype=torch.float64) * scale
    args = (torch.tensor(df["stop"].to_numpy()), torch.tensor(df["event"].to_numpy()))
    kw = dict(start=torch.tensor(df["start"].to_numpy()), ties="efron")
    base = cox_nll(eta, *args, **kw)
    moved = cox_nll(eta + shift, *args, **kw)
    assert torch.isfinite(moved) and moved.item() == pytest.approx(base.item(), rel=1e-10)


def test_float32_close_to_float64():
    df = heavy_ties_frame(n=2000)
    beta = [0.7, -0.4]
    f64 = ours(df, ["x1", "x2"], beta, ties="efron")
    f32 = ours(df, ["x1", "x2"], beta, ties="efron", dtype=torch.float32)
    assert f32 == pytest.approx(f64, rel=1e-5)


def test_mean_is_sum_over_events():
    df = heavy_ties_frame(n=100)
    eta = torch.zeros(100, dtype=torch.float64)
    args = (torch.tensor(df["stop"].to_numpy()), torch.tensor(df["event"].to_numpy()))
    total = cox_nll(eta, *args, reduction="sum")
    mean = cox_nll(eta, *args, reduction="mean")
    assert mean.item() == pytest.approx(total.item() / df["event"].sum(), rel=1e-14)


def test_bad_arguments():
    eta = torch.zeros(3)
    with pytest.raises(InvalidParameterError, match="ties must be 'efron' or 'breslow', but was 'exact'"):
        cox_nll(eta, torch.ones(3), torch.ones(3), ties="exact")
    with pytest.raises(InvalidParameterError, match=r"stop must have shape \(3,\)"):
        cox_nll(eta, torch.ones(4), torch.ones(3))
    with pytest.raises(InvalidParameterError, match="non-negative"):
        cox_nll(eta, torch.ones(3), torch.ones(3), weights=-torch.ones(3))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_equals_cpu(dtype):
    df = heavy_ties_frame(n=5000)
    t = lambda c, dev: torch.tensor(df[c].to_numpy(), dtype=dtype, device=dev)  # noqa: E731
    out = {}
    for dev in ("cpu", "cuda"):
        eta = torch.tensor(np.random.default_rng(4).normal(size=5000), dtype=dtype, device=dev,
                           requires_grad=True)
        loss = cox_nll(eta, t("stop", dev), t("event", dev), start=t("start", dev),
                       strata=torch.tensor(df["g"].to_numpy(), device=dev), ties="efron")
        loss.backward()
        out[dev] = (loss.item(), eta.grad.cpu().numpy())
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    assert out["cuda"][0] == pytest.approx(out["cpu"][0], rel=tol)
    np.testing.assert_allclose(out["cuda"][1], out["cpu"][1], rtol=tol, atol=tol)


@pytest.mark.parametrize("with_start,with_strata", [(False, False), (True, False), (True, True)])
def test_linear_and_log_paths_agree(with_start, with_strata):
    """The two ways of summing risk sets give the same log S0 and the same gradient."""
    from pysurvbridge.losses.cox import _log_s0, cox_risk_sets

    df = heavy_ties_frame(n=400, seed=9)
    t = lambda c: torch.tensor(df[c].to_numpy(), dtype=torch.float64)  # noqa: E731
    rs = cox_risk_sets(t("stop"), t("event"), t("start") if with_start else None,
                       torch.tensor(df["g"].to_numpy()) if with_strata else None)
    out = {}
    for method in ("linear", "log"):
        eta = torch.tensor(np.random.default_rng(0).normal(size=400) * 3, requires_grad=True)
        value = _log_s0(eta, rs, method)
        value.sum().backward()
        out[method] = (value.detach().numpy(), eta.grad.numpy())
    np.testing.assert_allclose(out["linear"][0], out["log"][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["linear"][1], out["log"][1], rtol=1e-10, atol=1e-12)


def test_integer_weights_equal_repeated_rows_under_breslow_ties():
    """Closed form: with Breslow ties a weight k is k copies of the row (np.repeat), (start,
    stop] rows and strata included, for "sum" and "mean" (per weighted event = per repeated
    event). Efron does not have this property by design (R's weighted Efron treats a row of
    weight k as one event of weight k, not as k tied events); R's values are checked above."""
    df = heavy_ties_frame(n=120)
    k = np.random.default_rng(5).integers(1, 4, 120)
    eta = np.random.default_rng(6).normal(size=120)
    rep = df.loc[df.index.repeat(k)]
    t = lambda a: torch.tensor(np.asarray(a, dtype=float))  # noqa: E731
    for reduction in ("sum", "mean"):
        weighted = cox_nll(t(eta), t(df["stop"]), t(df["event"]), start=t(df["start"]), strata=t(df["g"]),
                           ties="breslow", weights=t(k), reduction=reduction)
        repeated = cox_nll(t(np.repeat(eta, k)), t(rep["stop"]), t(rep["event"]), start=t(rep["start"]),
                           strata=t(rep["g"]), ties="breslow", reduction=reduction)
        assert weighted.item() == pytest.approx(repeated.item(), rel=1e-12)
    # censored rows alone repeated: Efron too (no event is copied, so no tie is made)
    k_cens = np.where(df["event"] == 1, 1, k)
    rep = df.loc[df.index.repeat(k_cens)]
    weighted = cox_nll(t(eta), t(df["stop"]), t(df["event"]), start=t(df["start"]), weights=t(k_cens))
    repeated = cox_nll(t(np.repeat(eta, k_cens)), t(rep["stop"]), t(rep["event"]), start=t(rep["start"]))
    assert weighted.item() == pytest.approx(repeated.item(), rel=1e-12)
