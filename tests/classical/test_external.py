"""Classical fits with external estimates (the R session hosting Python, through the survbridge R
package): the same ClassicalFit and the same compare() row as the built-in engines.

Reference: the built-in R engine (rpy2 coxph), whose estimates the external fitter returns here;
for the native engine, R agreement is established in test_engines.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge import compare
from pysurvbridge.classical.design import build_problem
from pysurvbridge.classical.external import estimates_from_mapping, fit_from_estimates
from pysurvbridge.classical.native import fit_newton
from pysurvbridge.data import prepared
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.classical import fit_classical
from pysurvbridge.comparison.builtin import external_classical_spec


def _native_fitter(kind, train, ties):
    return fit_newton(build_problem(kind, train), ties)


@pytest.mark.filterwarnings("ignore:stratum:pysurvbridge.errors.StatisticalWarning")  # bladder1 enum 10: 1 row, no event
@pytest.mark.parametrize("kind", ["cox", "ag", "wlw", "pwp-total", "pwp-gap"])
def test_external_estimates_give_the_engines_fit(kind):
    data = prepared("bladder1")
    native = fit_classical(kind, data, engine="native")
    external = fit_from_estimates(kind, data, _native_fitter(kind, data, "efron"), engine="r-host")
    assert external.engine == "r-host"
    np.testing.assert_array_equal(external.coef, native.coef)
    np.testing.assert_array_equal(external.robust_se, native.robust_se)
    times = [5.0, 20.0]
    first = data.first_event().to_frame()
    np.testing.assert_allclose(external.predict_survival(first, times), native.predict_survival(first, times),
                               rtol=0, atol=1e-12)


def test_compare_rows_from_an_external_fitter_equal_the_builtin_rows():
    """Every metric column of a compare() row built from external (here native) estimates equals the
    built-in native row exactly: the scoring path is shared."""
    specs = [external_classical_spec(k, _native_fitter, engine="native") for k in ("cox", "ag", "wlw")]
    ext = compare("bladder1", specs, seeds=2, verbose=False, crosscheck=False)
    own = compare("bladder1", ["cox", "ag", "wlw"], seeds=2, verbose=False, crosscheck=False)
    own_native = own.table  # the built-in rows use R when it is available: compare metrics only to 1e-6
    cols = [c for c in ext.table.columns if c.startswith(("c_", "brier", "ibs", "aic")) and not c.endswith("counts")]
    np.testing.assert_allclose(ext.table[cols].to_numpy(float), own_native[cols].to_numpy(float), rtol=0, atol=1e-6)


def test_mapping_checks_names_and_sizes():
    values = {"coef": [0.1, 0.2], "var": [1, 0, 0, 1], "robust_var": [1, 0, 0, 1], "loglik": [-10.0, -9.0],
              "loglik_null": -10.0, "iterations": 3, "names": ["a", "b"]}
    est = estimates_from_mapping(values, ["a", "b"])
    assert est.loglik == -9.0 and est.loglik_null == -10.0 and est.var.shape == (2, 2)
    with pytest.raises(InvalidParameterError, match=r"coefficients \['a', 'b'\].*covariates are \['b', 'a'\]"):
        estimates_from_mapping(values, ["b", "a"])
    with pytest.raises(InvalidParameterError, match="robust_var has 3 values"):
        estimates_from_mapping({**values, "robust_var": [1, 0, 1]})
    with pytest.raises(InvalidParameterError, match="lack"):
        estimates_from_mapping({"coef": [0.1]})
