"""engine="reda" (R's reda::simEventData) against the native engine and the closed forms.

Sources of every number:
- the other engine: two-sample tests between native and reda draws of the same design
  (scipy's chi2_contingency on events per subject; scipy's ks_2samp statistic on gap times,
  its p-value from permuting whole subjects between the samples);
- closed forms: E[N] = (tau/s)^k E[exp(x'beta)] E[z] (``expected_events``; for tau ~ U(a, b),
  E[tau^k] = (b^(k+1) - a^(k+1)) / ((k+1)(b-a))); given x, tau (and no frailty) the count is
  Poisson with mean (tau/s)^k exp(x'beta);
- R: reda 0.5's thinning algorithm replayed with R's own random numbers (R/simEvent.R of
  reda 0.5.6), and R's set.seed for reproducibility;
- the truth: coefs (0.5, -0.5) of the design, inside the 99.9% robust confidence interval of
  the Andersen-Gill fit (Lin, Wei, Yang & Ying 2000 for its marginal-rate reading).

Level: every check of agreement uses alpha = 0.001 (z = 3.29 for means and intervals). There
are 6 two-sample tests (3 designs x 2), 6 means, 4 conditional Poisson sums and 12 interval
checks, so a correct engine fails any one of them for a new seed with probability at most
28 x 0.001 ~ 3% (Bonferroni), while the positive controls show that at these sample sizes the
same tests reject plausible engine errors (another shape, a flipped coefficient, a frailty
ignored): counts with p < 1e-10, gaps with no permutation reaching the observed statistic.
The seeds are fixed, so each run gives the same verdict.

Sizes: 3000 reda subjects per design (reda simulates subject by subject in R, about 1.5 ms
each) against 9000 native subjects (vectorised, milliseconds).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests._helpers import marked_example, printed

from pysurvbridge.classical import fit_andersen_gill
from pysurvbridge.simulate import (_covariates, _end_times, _frailty, expected_events,
                                   simulate_recurrent)

pytestmark = pytest.mark.r

README = Path(__file__).resolve().parents[1] / "docs" / "simulation.md"  # moved from the README with its example
README_MARKER = "<!-- tested by tests/test_simulate_reda.py::test_readme_reda_example -->"
REDA_MISSING = (
    "R package reda is not installed, so engine='reda' cannot run: `make setup` installs it "
    "(scripts/install_r_extras.sh) from the CRAN-style repository named by PYSURVBRIDGE_CRAN "
    "(an internal CRAN mirror, or a local folder such as ../shared/cran), then from CRAN"
)

ALPHA = 0.001
Z = stats.norm.ppf(1 - ALPHA / 2)  # 3.29: two-sided normal quantile at the same level
SHAPE, SCALE, COEFS = 1.5, 10.0, (0.5, -0.5)  # simulate_recurrent's defaults, written out
N_REDA, N_NATIVE = 3000, 9000
B_PERM = 1999  # permutations for the gap-time KS test: smallest p-value 1/2000 < ALPHA

DESIGNS = {
    "default": {},
    "frailty": {"frailty": ("gamma", 0.5)},
    "uniform": {"end_time": ("uniform", 5.0, 20.0)},
}
SEEDS = {"default": (401, 501), "frailty": (402, 502), "uniform": (403, 503)}  # (reda, native)


@pytest.fixture(scope="module")
def reda(r_session):
    if not r_session.has_r_package("reda"):
        pytest.skip(REDA_MISSING)
    return r_session


@pytest.fixture(scope="module")
def draws(reda):
    """Each design drawn once per engine, with different seeds (independent samples)."""
    cache = {}

    def get(design: str, engine: str):
        if (design, engine) not in cache:
            seed = SEEDS[design][engine == "native"]
            n = N_REDA if engine == "reda" else N_NATIVE
            cache[design, engine] = simulate_recurrent(
                n, shape=SHAPE, scale=SCALE, coefs=COEFS, engine=engine, seed=seed,
                **DESIGNS[design])
        return cache[design, engine]

    return get


# ---------------------------------------------------------------- the two-sample tests


def counts_test(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Chi-square test of homogeneity of the events-per-subject distributions of two samples.

    Categories 0, 1, ..., K-1 and ">= K", with K the largest value for which every expected
    cell (row total x column total / N) is at least 5, the usual validity rule of the
    chi-square approximation. Subjects are independent, so the test has its nominal level.
    """
    top = int(max(a.max(), b.max()))
    for k in range(top + 1, 0, -1):
        table = np.array([[np.sum(np.minimum(x, k) == c) for c in range(k + 1)] for x in (a, b)])
        table = table[:, table.sum(axis=0) > 0]
        expected = stats.contingency.expected_freq(table)
        if expected.min() >= 5:
            break
    assert expected.min() >= 5 and table.shape[1] >= 3, table
    return stats.chi2_contingency(table, correction=False).pvalue, table


def gaps(rec) -> tuple[np.ndarray, np.ndarray]:
    """Gap times (stop - start of the event rows) and the subject of each."""
    f = rec.frame[rec.frame["event"] == 1]
    return (f["stop"] - f["start"]).to_numpy(), f["id"].to_numpy()


def gap_test(rec_a, rec_b, seed: int = 0) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test of the gap times, calibrated by permutation.

    The statistic is scipy.stats.ks_2samp's. Its own p-value assumes independent gaps, but a
    subject's gaps share its covariates, frailty and end time, which makes that p-value too
    small. Under the null hypothesis (both engines draw the same process) whole subjects are
    exchangeable between the samples, so the p-value here comes from B_PERM permutations of
    the engine labels of subjects, which has the stated level whatever the dependence within
    a subject.
    """
    ga, sa = gaps(rec_a)
    gb, sb = gaps(rec_b)
    observed = stats.ks_2samp(ga, gb).statistic
    n_a = rec_a.n_subjects
    pooled = np.concatenate([ga, gb])
    subject = np.concatenate([sa, sb + n_a])  # subjects 0..n_a-1 from a, then b's
    assert len(np.unique(pooled)) == len(pooled)  # continuous: no ties, the ECDFs jump singly
    order = np.argsort(pooled, kind="stable")
    subject = subject[order]
    n_subjects = n_a + rec_b.n_subjects
    steps = np.arange(1, len(pooled) + 1)

    def statistic(labels: np.ndarray) -> np.ndarray:  # (m, n_subjects) bool -> (m,) KS D
        c_a = np.cumsum(labels[:, subject], axis=1, dtype=np.int32)  # gaps of a up to each
        n_in_a = c_a[:, -1:].astype(np.float64)
        n_in_b = len(pooled) - n_in_a
        diff = c_a * (1 / n_in_a + 1 / n_in_b) - steps / n_in_b  # F_a - F_b at each gap
        return np.maximum(diff.max(axis=1), -diff.min(axis=1))

    identity = (np.arange(n_subjects) < n_a)[None, :]
    assert statistic(identity)[0] == pytest.approx(observed, abs=1e-12)  # our D is scipy's
    rng = np.random.default_rng(seed)
    exceed = 0
    for start in range(0, B_PERM, 100):
        m = min(100, B_PERM - start)
        labels = rng.permuted(np.tile(identity, (m, 1)), axis=1)  # random subject splits
        exceed += int(np.sum(statistic(labels) >= observed - 1e-12))
    return (1 + exceed) / (B_PERM + 1), observed


def closed_form_mean(design: str) -> float:
    """E[N] per subject; for tau ~ U(a, b), E[(tau/s)^k] = E[tau^k] / s^k with
    E[tau^k] = (b^(k+1) - a^(k+1)) / ((k+1)(b-a)); the gamma frailty has mean one."""
    kind, *params = DESIGNS[design].get("end_time", ("fixed", 20.0))
    if kind == "fixed":
        return expected_events(SHAPE, SCALE, COEFS, params[0])
    a, b = params
    tau_k = (b ** (SHAPE + 1) - a ** (SHAPE + 1)) / ((SHAPE + 1) * (b - a))
    return expected_events(SHAPE, SCALE, COEFS, 1.0) * tau_k


def subject_table(rec) -> pd.DataFrame:
    """Per subject: covariates, end of follow-up (the last row's stop) and the event count."""
    last = rec.frame.groupby("id", sort=True).tail(1).set_index("id").sort_index()
    out = last[["x1", "x2", "stop"]].rename(columns={"stop": "tau"})
    out["events"] = rec.events_per_subject().sort_index()
    return out


# ---------------------------------------------------------------- a. agreement in distribution


@pytest.mark.parametrize("design", list(DESIGNS))
def test_engines_agree_in_distribution(draws, design):
    native, reda_rec = draws(design, "native"), draws(design, "reda")
    count_p, table = counts_test(native.events_per_subject().to_numpy(),
                                 reda_rec.events_per_subject().to_numpy())
    gap_p, d = gap_test(native, reda_rec)
    assert count_p > ALPHA, (design, count_p, table)
    assert gap_p > ALPHA, (design, gap_p, d)


@pytest.mark.parametrize("design", list(DESIGNS))
def test_mean_events_equal_the_closed_form(draws, design):
    expected = closed_form_mean(design)
    for engine in ("native", "reda"):
        per = draws(design, engine).events_per_subject()
        se = per.std(ddof=1) / np.sqrt(len(per))
        assert abs(per.mean() - expected) < Z * se, (design, engine, per.mean(), expected, se)


@pytest.mark.parametrize("design", ["default", "uniform"])
def test_counts_given_covariates_are_poisson_with_the_closed_form_mean(draws, design):
    """Without frailty, N_i given (x_i, tau_i) is Poisson((tau_i/s)^k exp(x_i'beta)): the total
    count has that sum as mean and variance. Sharper than the marginal mean (no covariate
    noise), and it checks reda's covariates, coefficients and end times subject by subject."""
    for engine in ("native", "reda"):
        t = subject_table(draws(design, engine))
        mu = (t["tau"] / SCALE) ** SHAPE * np.exp(COEFS[0] * t["x1"] + COEFS[1] * t["x2"])
        z = (t["events"].sum() - mu.sum()) / np.sqrt(mu.sum())
        assert abs(z) < Z, (design, engine, t["events"].sum(), mu.sum(), z)


# ---------------------------------------------------------------- b. positive controls


@pytest.mark.parametrize("change,both", [
    ({"shape": 1.2}, False),
    ({"coefs": (0.5, 0.5)}, True),
    ({"frailty": ("gamma", 0.5)}, True),
])
def test_the_tests_reject_a_different_design(draws, change, both):
    """Power: reda's default draw against a native draw of a changed design (shape 1.2 for
    1.5; the sign of x2's coefficient flipped; a frailty the other engine would have ignored),
    at the sizes and levels of the agreement tests. The count test rejects all three far beyond
    ALPHA; the gap-time test rejects the last two with no permutation reaching the observed
    statistic. (A shape of 1.2 moves the gap times less: KS D about 0.03-0.04 against a 5%
    critical value near 0.025, p between 0.0005 and 0.005 over reda seeds, so it is not
    asserted at ALPHA for gaps.)"""
    other = simulate_recurrent(N_NATIVE, **{"shape": SHAPE, "scale": SCALE, "coefs": COEFS,
                                            "seed": 504, **change})
    reda_rec = draws("default", "reda")
    count_p, table = counts_test(other.events_per_subject().to_numpy(),
                                 reda_rec.events_per_subject().to_numpy())
    assert count_p < 1e-10, (change, count_p, table)
    if both:
        gap_p, d = gap_test(other, reda_rec)
        assert gap_p == 1 / (B_PERM + 1), (change, gap_p, d)


def test_a_mean_check_alone_misses_an_ignored_frailty(draws):
    """Why the distribution is compared, not only the mean (as tests/test_simulate.py does):
    the frailty has mean one, so a draw with and a draw without it both match the closed-form
    mean, while the count test above tells them apart (p < 1e-10)."""
    expected = closed_form_mean("default")
    for rec in (draws("frailty", "native"), draws("default", "reda")):
        per = rec.events_per_subject()
        assert abs(per.mean() - expected) < Z * per.std(ddof=1) / np.sqrt(len(per))


# ---------------------------------------------------------------- c. coefficient recovery


@pytest.mark.parametrize("design", list(DESIGNS))
@pytest.mark.parametrize("engine", ["native", "reda"])
def test_andersen_gill_recovers_the_coefficients(draws, design, engine):
    """The truth lies in the 99.9% interval coef +- 3.29 robust SE.

    With the gamma frailty the AG coefficient is read as a marginal rate ratio (Lin, Wei,
    Yang & Ying 2000): the frailty is independent of x and follow-up ends at tau whatever the
    events, so E[dN(t) | x] = E[z] rho(t) exp(x'beta) dt = rho(t) exp(x'beta) dt exactly, and the
    AG estimating equation stays unbiased for beta. (It is a hazard of a first event, or follow
    -up that stops at an event, that a frailty attenuates.) What the frailty breaks is the
    naive, model-based SE: the counts are overdispersed (Var(N | x) = mu + v mu^2 > mu), so
    only the robust (sandwich) SE is valid, and it is larger than the naive one.
    """
    fit = fit_andersen_gill(draws(design, engine), engine="native")
    truth = pd.Series(COEFS, index=["x1", "x2"])
    z = (fit.coef - truth) / fit.robust_se
    assert (z.abs() < Z).all(), (design, engine, fit.coef.to_dict(), fit.robust_se.to_dict())
    if design == "frailty":
        assert (fit.robust_se > fit.se).all(), (fit.se.to_dict(), fit.robust_se.to_dict())


# ---------------------------------------------------------------- exactness and reproducibility


def test_reda_draws_the_native_process_exactly(reda):
    """Replay reda's thinning (R/simEvent.R of reda 0.5.6) with R's random numbers, from the
    native parametrisation: rate (k/s)(t/s)^(k-1) exp(x'beta) z on (0, tau], bound rho(tau).
    The event times equal reda's to rounding (1e-12 relative), so reda gets the same
    covariates, coefficients, frailties and end times as the native engine, and the same
    Weibull rate."""
    version = reda.package_version("reda")
    if not version.startswith("0.5."):
        pytest.skip(f"the replay follows reda 0.5's simEvent; reda {version} is installed")
    n, seed = 100, 17
    design = {"covariates": ("normal", "bernoulli"), "frailty": ("gamma", 0.5),
              "end_time": ("uniform", 5.0, 20.0)}
    rec = simulate_recurrent(n, shape=SHAPE, scale=SCALE, coefs=COEFS, engine="reda",
                             seed=seed, **design)
    rng = np.random.default_rng(seed)  # the native engine's draws, in its order
    X = _covariates(design["covariates"], n, rng)
    z = _frailty(design["frailty"], n, rng)
    tau = _end_times(design["end_time"], n, rng)
    t = subject_table(rec)
    np.testing.assert_array_equal(t[["x1", "x2"]].to_numpy(), X)
    np.testing.assert_array_equal(t["tau"].to_numpy(), tau)
    multiplier = np.exp(X @ np.asarray(COEFS)) * z

    def r(fun, *args, **kwargs):
        return np.asarray(reda.call(fun, *args, package="stats", **kwargs), dtype=np.float64)

    reda.call("set.seed", seed, package="base")
    for i in range(n):
        rate = lambda u: (SHAPE / SCALE) * (u / SCALE) ** (SHAPE - 1) * multiplier[i]  # noqa: E731
        bound = rate(tau[i])
        batch = int(np.ceil(tau[i] / r("qexp", 0.8, bound)[0]))
        candidates, last = np.empty(0), 0.0
        while last < tau[i]:
            candidates = np.r_[candidates, last + np.cumsum(r("rexp", batch, bound))]
            last = candidates[-1]
        candidates = candidates[candidates <= tau[i]]
        if len(candidates):
            candidates = candidates[r("runif", len(candidates)) <= rate(candidates) / bound]
        got = rec.frame.loc[(rec.frame["id"] == i) & (rec.frame["event"] == 1), "stop"].to_numpy()
        np.testing.assert_allclose(got, candidates, rtol=1e-12, atol=0, err_msg=f"subject {i}")


def test_same_seed_same_reda_data(reda):
    kwargs = {"frailty": ("gamma", 0.5), "end_time": ("uniform", 5.0, 20.0), "engine": "reda"}
    a = simulate_recurrent(200, seed=5, **kwargs)
    b = simulate_recurrent(200, seed=6, **kwargs)  # moves R's generator on
    c = simulate_recurrent(200, seed=5, **kwargs)  # set.seed(5) again
    pd.testing.assert_frame_equal(a.frame, c.frame)
    assert a.notes == c.notes
    assert not a.frame["stop"].equals(b.frame["stop"])


# ---------------------------------------------------------------- the README example


def test_readme_reda_example(reda):
    """The README's engine='reda' example prints exactly what the README shows."""
    code, shown = marked_example(README, README_MARKER)
    assert printed(code, README.name) == shown
