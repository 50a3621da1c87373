"""The calibration curve and ICI at one time (Austin, Harrell & van Klaveren 2020).

References: R's rms 6.5 (``cph(Surv(time, event) ~ rcs(cll, 3), method = "breslow")`` and
``survest(..., times = t0)``, the paper's own recipe, run by Rscript on the same numbers);
Hmisc's knot rule (checked through ``attr(rcs(x, 3), "parms")``); closed form: a perfectly
calibrated prediction (the true survival of an exponential model) has an ICI that shrinks
toward 0 as the sample grows.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from pysurvbridge.classical.calibration import calibration_at_time, rcs_basis, rcs_knots

R_CODE = """
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(rms))
d <- read.csv(args[1])
t0 <- as.numeric(args[2])
d$cll <- log(-log(d$s))
fit <- cph(Surv(time, event) ~ rcs(cll, 3), data = d, method = "breslow", x = TRUE, y = TRUE, surv = TRUE,
           eps = 1e-12, iter.max = 100)  # converged as tightly as ours (cph stops at eps = 1e-4 by default)
obs <- 1 - survest(fit, newdata = d, times = t0)$surv
gap <- abs((1 - d$s) - obs)
out <- list(knots = attr(rcs(d$cll, 3), "parms"), observed = obs, ici = mean(gap), e50 = median(gap),
            e90 = unname(quantile(gap, 0.9)))
writeLines(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE), args[3])
"""


def r_reference(tmp_path, s, time, event, t0):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not on PATH")
    probe = subprocess.run(["Rscript", "-e", "quit(status = !requireNamespace('rms', quietly = TRUE))"])
    if probe.returncode != 0:
        pytest.skip("R package rms is not installed (Debian r-cran-rms)")
    csv, script, out = tmp_path / "d.csv", tmp_path / "ici.R", tmp_path / "out.json"
    np.savetxt(csv, np.column_stack([s, time, event]), delimiter=",", header="s,time,event", comments="", fmt="%.17g")
    script.write_text(R_CODE)
    run = subprocess.run(["Rscript", str(script), str(csv), repr(float(t0)), str(out)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(out.read_text())


def miscalibrated(n, seed):
    """Exponential times with rate exp(x); a model that predicts S(t0) from 0.6 x (shrunk):
    miscalibrated at both ends, by an amount the ICI should see."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.exponential(np.exp(-x))
    c = rng.uniform(0, 3, n)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    t0 = 0.8
    s = np.exp(-t0 * np.exp(0.6 * x))
    return s, time, event, t0, np.exp(-t0 * np.exp(x))


@pytest.mark.parametrize("n", [300, 60])  # 60: below 100 values the outer knots move (Hmisc's rule)
def test_equals_rms(tmp_path, n):
    s, time, event, t0, _ = miscalibrated(n, seed=n)
    ours = calibration_at_time(s, time, event, t0)
    ref = r_reference(tmp_path, s, time, event, t0)
    np.testing.assert_allclose(rcs_knots(np.log(-np.log(s))), ref["knots"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.observed, ref["observed"], rtol=0, atol=1e-8)
    for k in ("ici", "e50", "e90"):
        assert getattr(ours, k) == pytest.approx(ref[k], abs=1e-8), k


def test_the_index_sees_miscalibration_and_not_its_absence():
    s, time, event, t0, truth = miscalibrated(4000, seed=1)
    wrong, right = calibration_at_time(s, time, event, t0), calibration_at_time(truth, time, event, t0)
    assert wrong.ici > 0.03 and right.ici < 0.015
    assert right.e50 <= right.e90 and wrong.e50 <= wrong.e90


def test_basis_is_linear_beyond_the_last_knot():
    knots = np.array([-1.0, 0.0, 2.0])
    x = np.linspace(3, 6, 7)
    second = np.diff(rcs_basis(x, knots)[:, 1], 2)  # restricted: linear in the tails
    np.testing.assert_allclose(second, 0.0, atol=1e-12)
    assert np.all(rcs_basis(np.array([-5.0, -1.0]), knots)[:, 1] == 0.0)


def test_degenerate_predictions_give_nan():
    s = np.full(50, 0.7)
    out = calibration_at_time(s, np.arange(1.0, 51.0), np.tile([1, 0], 25), 10.0)
    assert np.isnan(out.ici)

