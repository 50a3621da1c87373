"""compare() on CoxVAE's image stand-ins: the deep model and the classical Cox model on its
embedding, on the same split.

Reference: the classical engine called directly (fit_cox on the CoxVAE embedding of the same
training subjects; coefficients 1e-10, held-out C 1e-12).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pysurvbridge import compare, metrics
from pysurvbridge.classical import fit_cox
from pysurvbridge.data import SurvivalData


@pytest.fixture(scope="module")
def result():
    return compare("surv-digits", models=["coxvae", "cox-embedding"], seeds=1, epochs=3, verbose=False)


def test_both_sides_run_on_the_image_data(result):
    assert list(result.table["model"]) == ["cox-embedding", "coxvae"]
    assert list(result.table["family"]) == ["classical", "deep"]
    assert result.table["c_harrell"].notna().all() and (result.table["n_seeds"] == 1).all()
    assert len(result.data) == 1797


def test_cox_on_the_embedding_equals_a_direct_fit(result):
    vae = result.runs["coxvae"].fitted
    cox = result.runs["cox-embedding"].fitted
    ids = np.random.default_rng(0).permutation(1797)  # compare's split for seed 0 (ids 0..n-1)
    n_test = int(round(0.3 * 1797))
    train_rows, test_rows = np.sort(ids[n_test:]), np.sort(ids[:n_test])
    tr, te = result.data.subset(train_rows), result.data.subset(test_rows)
    Z = vae.embed(tr.X)
    direct = fit_cox(SurvivalData.from_arrays(tr.time, tr.event, Z.to_numpy(), list(Z.columns)))
    np.testing.assert_allclose(cox.coef.to_numpy(), direct.coef.to_numpy(), atol=1e-10)
    risk = direct.predict_log_risk(pd.DataFrame(vae.embed(te.X).to_numpy(), columns=Z.columns))
    c = metrics.concordance_harrell(risk, te.time, te.event)
    assert result.results.set_index("model").loc["cox-embedding", "c_harrell"] == pytest.approx(c, abs=1e-12)
