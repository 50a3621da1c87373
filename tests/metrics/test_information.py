"""aic against R's AIC() on a coxph fit."""
from __future__ import annotations

import pytest

from pysurvbridge.data.datasets import load_bladder
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.metrics import aic


@pytest.mark.r
def test_equals_r_aic_of_coxph(r_session):
    """stats::AIC(coxph(Surv(stop, event) ~ rx + size + number, bladder[bladder$enum == 1, ]))
    and fit$loglik[2]: AIC counts the 3 coefficients of the partial likelihood."""
    df = load_bladder(source="csv")
    df = df[df["enum"] == 1]
    f = r_session.formula("Surv", ["stop", "event"], ["rx", "size", "number"], namespace="survival")
    fit = r_session.call("coxph", f, data=r_session.to_r(df), package="survival")
    loglik = float(r_session.to_numpy(fit.rx2("loglik"))[1])
    expected = float(r_session.to_numpy(r_session.call("AIC", fit, package="stats"))[0])
    result = aic(loglik, 3)
    assert result.value == pytest.approx(expected, abs=1e-10)
    assert float(result) == result.value
    assert "partial likelihood; counted: regression coefficients" in str(result)


def test_bad_input():
    with pytest.raises(InvalidParameterError, match="n_params must be a non-negative integer"):
        aic(-10.0, 2.5)
    with pytest.raises(InvalidParameterError, match="loglik must be finite"):
        aic(float("nan"), 2)
