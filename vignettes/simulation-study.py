# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Simulating recurrent events and checking the classical estimators
#
# **Question:** Do the native and reda simulators agree, and do AG, PWP and WLW keep their coverage under frailty and dependent censoring?
#
# Simulation with a known truth is where an estimator can be checked rather than believed.
# This page (a) draws the same Weibull recurrent-event design with the package's native
# simulator and with R's `reda::simEventData` and compares the two samples, (b) runs a small
# Monte-Carlo study of the Andersen-Gill (AG), Prentice-Williams-Peterson (PWP) and
# Wei-Lin-Weissfeld (WLW) estimators with and without a gamma frailty, saying for each what it
# estimates, and (c) shows how the naive Cox estimate drifts when censoring depends on the
# event time through a Clayton copula. Everything is executed when the page is rendered
# (`make docs`; `DOCS_FAST=1` for the quick version), or execute it into a notebook with jupytext (see the vignettes page).

# %%
from IPython.display import Markdown

from _common import mode_note, pick, session_info

Markdown(mode_note())

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from pysurvbridge.classical import fit_andersen_gill, fit_cox, fit_pwp, fit_wlw
from pysurvbridge.simulate import expected_events, simulate_recurrent, simulate_survival

pd.set_option("display.precision", 3)
Z = stats.norm.ppf(0.975)

# %% [markdown]
# ## (a) Native and reda simulators: the same process?
#
# `simulate_recurrent` draws a non-homogeneous Poisson process with Weibull baseline rate
# (k/s)(t/s)^(k-1), shape k = 1.5 and scale s = 10, times exp(0.5 x1 - 0.5 x2) with
# x1 ~ N(0, 1) and x2 ~ Bernoulli(0.5), times a mean-one gamma frailty of variance 0.5, each
# subject followed to month 20. The native engine inverts the cumulative rate in closed form;
# `engine="reda"` hands the same covariates, frailties and end times to R's
# `reda::simEventData`, which draws by thinning. Do the two give the same distribution of
# events per subject and of gap times between events?

# %%
N_REDA = pick(1000, 3000)
N_NATIVE = 3 * N_REDA
design = dict(shape=1.5, scale=10, coefs=(0.5, -0.5), covariates=("normal", "bernoulli"),
              frailty=("gamma", 0.5), end_time=("fixed", 20))
samples = {"native": simulate_recurrent(N_NATIVE, seed=1, **design),
           "reda": simulate_recurrent(N_REDA, engine="reda", seed=2, **design)}


def completed_gaps(rec) -> pd.DataFrame:
    """Gap times that ended in an event (stop - start of event rows), with their subject."""
    f = rec.frame.loc[rec.frame["event"] == 1]
    return pd.DataFrame({"id": f["id"].to_numpy(), "gap": (f["stop"] - f["start"]).to_numpy()})


counts = {name: rec.events_per_subject().to_numpy() for name, rec in samples.items()}
gaps = {name: completed_gaps(rec) for name, rec in samples.items()}


def theoretical_pmf(k: np.ndarray, theta: float = 0.5, cumulative_rate: float = (20 / 10) ** 1.5) -> np.ndarray:
    """P(N = k): given x, N is negative binomial (Poisson with a gamma(1/theta) mean); averaged
    over x1 ~ N(0, 1) by Gauss-Hermite quadrature and over x2 ~ Bernoulli(0.5)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    out = np.zeros(len(k))
    for x2 in (0.0, 1.0):
        mu = cumulative_rate * np.exp(0.5 * nodes - 0.5 * x2)
        out += 0.5 * (weights[:, None] * stats.nbinom.pmf(k[None, :], 1 / theta, 1 / (1 + theta * mu[:, None]))).sum(0)
    return out


support = np.arange(0, 400)
pmf = theoretical_pmf(support)
closed_form = expected_events(1.5, 10, (0.5, -0.5), 20, covariates=("normal", "bernoulli"))
table = {name: {"subjects": f"{len(c)}", "events": f"{int(c.sum())}",
                "events per subject, mean (se)": f"{c.mean():.3f} ({c.std(ddof=1) / np.sqrt(len(c)):.3f})",
                "events per subject, sd": f"{c.std(ddof=1):.3f}",
                "share with no event": f"{(c == 0).mean():.3f}",
                "gap time, median": f"{gaps[name]['gap'].median():.3f}",
                "gap time, mean": f"{gaps[name]['gap'].mean():.3f}"}
         for name, c in counts.items()}
table["theory"] = {"subjects": "", "events": "", "events per subject, mean (se)": f"{closed_form:.3f} (closed form)",
                   "events per subject, sd": f"{np.sqrt((pmf * support**2).sum() - closed_form**2):.3f}",
                   "share with no event": f"{pmf[0]:.3f}", "gap time, median": "", "gap time, mean": ""}
pd.DataFrame(table)

# %% [markdown]
# The theory column is exact: given x and the frailty the count is Poisson, so given x it is
# negative binomial, averaged here over the covariates by quadrature. The tests respect that a
# subject's events are dependent (they share its frailty): events per subject (one number per
# subject) by chi-square tests on the counts 0, 1, ..., 7 and 8 or more, the two engines against
# each other and each against the theory; gap times by the Kolmogorov-Smirnov statistic with a
# permutation p-value that reassigns whole *subjects* between the engines, since the gaps of
# one subject are not independent and the textbook KS p-value would be too small.

# %%
N_PERM = pick(199, 999)
bins = np.minimum(np.concatenate(list(counts.values())), 8)
labels = np.repeat(list(counts), [len(c) for c in counts.values()])
chi2, chi2_p, dof, _ = stats.chi2_contingency(pd.crosstab(labels, bins).to_numpy())
expected_share = np.append(pmf[:8], pmf[8:].sum())
fit_to_theory = {name: stats.chisquare(np.bincount(np.minimum(c, 8), minlength=9), expected_share * len(c))
                 for name, c in counts.items()}


def subject_permutation_ks(a: pd.DataFrame, b: pd.DataFrame, n_perm: int, seed: int = 0) -> tuple[float, float]:
    """KS statistic between the gaps of a and b; p-value from reassigning whole subjects."""
    gap = np.concatenate([a["gap"], b["gap"]])
    subject = np.concatenate([pd.factorize(a["id"])[0], a["id"].nunique() + pd.factorize(b["id"])[0]])
    n_subjects, n_b = subject.max() + 1, b["id"].nunique()
    observed = stats.ks_2samp(a["gap"], b["gap"]).statistic
    rng, hits = np.random.default_rng(seed), 0
    for _ in range(n_perm):
        in_b = np.zeros(n_subjects, dtype=bool)
        in_b[rng.choice(n_subjects, size=n_b, replace=False)] = True
        hits += stats.ks_2samp(gap[~in_b[subject]], gap[in_b[subject]]).statistic >= observed
    return float(observed), (hits + 1) / (n_perm + 1)


ks, ks_p = subject_permutation_ks(gaps["native"], gaps["reda"], N_PERM)
pd.DataFrame([{"quantity": "events per subject", "test": f"native vs reda: chi-square on 0..7, 8+ ({dof} df)",
               "statistic": chi2, "p-value": chi2_p},
              *[{"quantity": "events per subject", "test": f"{name} vs theory: chi-square goodness of fit (8 df)",
                 "statistic": r.statistic, "p-value": r.pvalue} for name, r in fit_to_theory.items()],
              {"quantity": "gap times (events only)", "test": f"KS, subject permutation ({N_PERM} draws)",
               "statistic": ks, "p-value": ks_p}]).set_index("quantity")

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.5))
k = np.arange(0, 9)
for j, (name, c) in enumerate(counts.items()):
    share = np.bincount(np.minimum(c, 8), minlength=9) / len(c)
    a1.bar(k + (j - 0.5) * 0.4, share, width=0.4, label=f"{name} (n = {len(c)})")
    g = np.sort(gaps[name]["gap"].to_numpy())
    a2.step(g, np.arange(1, len(g) + 1) / len(g), where="post", label=name)
a1.plot(k, expected_share, "k_", ms=14, mew=2, label="theory")
a1.set_xticks(k, [str(i) for i in k[:-1]] + ["8+"])
a1.set(xlabel="events per subject", ylabel="share of subjects", title="events per subject")
a1.legend(fontsize=8)
a2.set_xscale("log")
a2.set(xlabel="gap time between events (log scale)", ylabel="ECDF", title="gap times")
a2.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Fast mode draws 1,000 reda and 3,000 native subjects and 199 permutations; the full render
# 3,000 and 9,000 and 999. If both engines draw the designed process, all four p-values are
# draws from a uniform distribution: one below 0.05 is expected about once in five pages of
# four tests, and a p-value that is not small says the data give no reason to doubt agreement
# (it cannot prove it). The package's own test, `tests/test_simulate_reda.py`, compares the
# engines on several designs with larger samples.

# %% [markdown]
# ## (b) Coverage of AG, PWP and WLW under a gamma frailty
#
# Do the robust 95% confidence intervals of the three classical models cover the truth, and
# which truth? Each replicate draws 200 subjects from the design of section (a) (followed to
# month 20), without a frailty and with a gamma frailty of variance 0.5, and fits AG (all
# events), PWP in total time and WLW (both on the first four events, `max_events=4`) with the
# native engine; every interval uses the robust (cluster by subject) SE. For AG the naive SE is
# shown too.
#
# What each coefficient estimates in this design:
#
# - **AG with robust SE** is a model for the *marginal rate* E[dN(t) | x] = exp(x'beta) dmu0(t)
#   (Lin, Wei, Yang and Ying 2000). The frailty has mean one and is independent of x, so the
#   marginal rate is exactly exp(x'beta) times the Weibull rate: AG targets the data-generating
#   beta = (0.5, -0.5) with or without frailty. Its *naive* SE assumes a Poisson process and is
#   too small under frailty.
# - **PWP** models the hazard of the k-th event among subjects who had k-1, given the history.
#   Without frailty the process is Poisson, the history carries no information, and PWP
#   targets beta. With frailty, subjects reaching the k-th stratum are selected for high frailty
#   and the intensity given the history is exp(x'beta) E[z | history]: PWP's coefficients are
#   pulled towards zero, and its target is not beta.
# - **WLW** models the *marginal* hazard of the time to the k-th event from time 0, one
#   stratum per k. For k >= 2, and for every k under frailty, that hazard is not proportional in
#   x, so WLW's coefficient is a weighted average log hazard ratio over strata and time, which
#   differs from beta in both scenarios.
#
# Where no closed form exists the "truth" of a misspecified model is its large-sample limit
# (its pseudo-true value). We approximate it by fitting each model to one very large sample
# from the same design, and report coverage both of beta and of that limit.

# %%
REPLICATES = pick(20, 200)
N_SUBJECTS = 200
N_LARGE = pick(20_000, 50_000)
BETA = pd.Series({"x1": 0.5, "x2": -0.5})
SCENARIOS = {"no frailty": None, "gamma frailty, variance 0.5": ("gamma", 0.5)}
FITS = {"AG": lambda d: fit_andersen_gill(d, engine="native"),
        "PWP (total time)": lambda d: fit_pwp(d, timescale="total", max_events=4, engine="native"),
        "WLW": lambda d: fit_wlw(d, max_events=4, engine="native")}
mc_design = {key: value for key, value in design.items() if key != "frailty"}

pseudo_true = {}
for scenario, frailty in SCENARIOS.items():
    large = simulate_recurrent(N_LARGE, frailty=frailty, seed=10_000, **mc_design)
    for model, fit in FITS.items():
        f = fit(large)
        for cov in BETA.index:
            pseudo_true[scenario, model, cov] = (f.coef[cov], f.robust_se[cov])

rows = []
with warnings.catch_warnings(record=True) as caught:  # counted below, not printed
    warnings.simplefilter("always")
    for scenario, frailty in SCENARIOS.items():
        for rep in range(REPLICATES):
            data = simulate_recurrent(N_SUBJECTS, frailty=frailty, seed=rep, **mc_design)
            for model, fit in FITS.items():
                f = fit(data)
                for cov in BETA.index:
                    rows.append({"scenario": scenario, "model": model, "covariate": cov, "rep": rep,
                                 "coef": f.coef[cov], "robust_se": f.robust_se[cov], "se": f.se[cov]})
                    if model == "AG":  # the same fit with its naive (model-based) SE
                        rows.append({**rows[-1], "model": "AG, naive SE", "robust_se": f.se[cov]})
mc = pd.DataFrame(rows)
mc["scenario"] = pd.Categorical(mc["scenario"], categories=list(SCENARIOS), ordered=True)
mc["model"] = pd.Categorical(mc["model"], categories=["AG", "AG, naive SE", *list(FITS)[1:]], ordered=True)
Markdown(f"{REPLICATES} replicates per scenario (fast mode: 20, full render: 200) of {N_SUBJECTS} subjects; "
         f"pseudo-true values from one sample of {N_LARGE:,} subjects per scenario; "
         f"{len(caught)} warnings from the {REPLICATES * len(SCENARIOS) * len(FITS)} fits.")

# %%
mc["truth"] = mc["covariate"].map(BETA)
mc["limit"] = [pseudo_true[s, str(m).replace(", naive SE", ""), c][0]
               for s, m, c in zip(mc["scenario"], mc["model"], mc["covariate"])]
mc["covers truth"] = (mc["coef"] - Z * mc["robust_se"] <= mc["truth"]) & (mc["truth"] <= mc["coef"] + Z * mc["robust_se"])
mc["covers limit"] = (mc["coef"] - Z * mc["robust_se"] <= mc["limit"]) & (mc["limit"] <= mc["coef"] + Z * mc["robust_se"])
summary = mc.groupby(["scenario", "model", "covariate"], observed=True).agg(
    truth=("truth", "first"), pseudo_true=("limit", "first"), mean_estimate=("coef", "mean"),
    empirical_sd=("coef", "std"), mean_se=("robust_se", "mean"),
    coverage_of_truth=("covers truth", "mean"), coverage_of_pseudo_true=("covers limit", "mean"))
summary.insert(3, "bias vs truth", summary["mean_estimate"] - summary["truth"])
summary.insert(5, "MC se of bias", summary["empirical_sd"] / np.sqrt(REPLICATES))
summary.rename(columns=lambda c: c.replace("_", " ")).rename(columns={"mean se": "mean SE used"})

# %% [markdown]
# Coverage with its Monte-Carlo 95% interval (Wilson's, over the replicates) against the
# nominal 0.95 line; filled markers: coverage of the data-generating beta, open markers:
# coverage of the model's own large-sample limit.

# %%
def wilson(p: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Wilson 95% interval for a binomial share p out of n: (lower, upper)."""
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


fig, axes = plt.subplots(1, 2, figsize=(8, 4.2), sharey=True)
models = list(mc["model"].cat.categories)
for ax, scenario in zip(axes, SCENARIOS):
    part = summary.loc[scenario]
    for j, cov in enumerate(BETA.index):
        y = np.arange(len(models)) + (j - 0.5) * 0.3
        for column, filled in (("coverage_of_truth", True), ("coverage_of_pseudo_true", False)):
            p = part.xs(cov, level="covariate").loc[models, column].to_numpy()
            lower, upper = wilson(p, REPLICATES)
            ax.errorbar(p, y + (0 if filled else 0.1), xerr=[p - lower, upper - p], fmt="o" if filled else "s",
                        ms=5, capsize=2,
                        color=f"C{j}", mfc=f"C{j}" if filled else "white",
                        label=f"{cov}: {'truth beta' if filled else 'pseudo-true'}")
    ax.axvline(0.95, color="C3", ls="--", lw=1)
    ax.set_yticks(range(len(models)), models)
    ax.set_title(scenario, fontsize=10)
    ax.set_xlabel("coverage of the 95% CI")
axes[0].invert_yaxis()
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=4, frameon=False)
plt.tight_layout(rect=(0, 0.08, 1, 1))
plt.show()

# %%
ag_frail = summary.loc[("gamma frailty, variance 0.5", "AG")]
pwp_frail = summary.loc[("gamma frailty, variance 0.5", "PWP (total time)")]
naive_frail = summary.loc[("gamma frailty, variance 0.5", "AG, naive SE")]


def share_range(values: pd.Series) -> str:
    lo, hi = f"{values.min():.0%}", f"{values.max():.0%}"
    return lo if lo == hi else f"{lo} to {hi}"


Markdown(
    f"Under the frailty, AG's robust intervals cover beta in {share_range(ag_frail['coverage_of_truth'])} of the "
    f"replicates (x1, x2) and its mean estimates are {', '.join(f'{v:.3f}' for v in ag_frail['mean_estimate'])} "
    f"for beta = (0.5, -0.5); the naive SE covers {share_range(naive_frail['coverage_of_truth'])}. "
    f"PWP's mean estimates under the frailty are {', '.join(f'{v:.3f}' for v in pwp_frail['mean_estimate'])} "
    f"(large-sample limit {', '.join(f'{v:.3f}' for v in pwp_frail['pseudo_true'])}).")

# %% [markdown]
# How to read it: AG with the robust SE is the one model here whose coefficient *is* beta
# under the frailty, and its coverage should sit near 0.95; the naive SE ignores the
# within-subject dependence and undercovers. PWP and WLW are not "biased" in the usual sense:
# they answer different questions (the hazard of the next event given the past; the marginal
# hazard of the k-th event), so their coverage of beta is low by design while their coverage
# of their own large-sample limit is what checks the robust SE. The robust (sandwich) SE is a
# large-sample result: compare the columns "empirical sd" and "mean SE used" above; with 200
# subjects it tends to be a little small, which costs a point or two of coverage. With 20
# replicates (fast mode) a coverage is known only to about ± 0.1; the 200 of the full render
# narrow that to ± 0.03.

# %% [markdown]
# ## (c) Dependent censoring: the naive Cox estimate drifts
#
# What happens to a Cox fit when censoring is not independent of the event time given the
# covariates? `simulate_survival` draws Weibull event times T and Weibull censoring times C,
# each proportional hazards in three standard normal covariates, coupled through a Clayton
# copula of (S_T(T | x), S_C(C | x)) with Kendall's tau given x. The naive Cox model of the
# observed (min(T, C), T <= C) assumes independent censoring. The true coefficients are read off
# the simulator's true survival curves: log(-log S_T(t | x)) is linear in x with slope beta.

# %%
TAUS = pick([0.0, 0.3, 0.6], [0.0, 0.15, 0.3, 0.45, 0.6, 0.75])
COPULA_REPS = pick(20, 100)
N_COPULA = 1000

reference = simulate_survival(N_COPULA, n_features=3, seed=0)
loglog = np.log(-np.log(reference.true_survival(np.array([5.0]))[:, 0]))
true_beta = pd.Series(np.linalg.lstsq(np.column_stack([np.ones(N_COPULA), reference.X]), loglog, rcond=None)[0][1:],
                      index=reference.data.covariates).round(10)

rows = []
for tau in TAUS:
    for rep in range(COPULA_REPS):
        sim = simulate_survival(N_COPULA, n_features=3, copula="clayton" if tau > 0 else None, kendall_tau=tau,
                                seed=100 + rep)
        f = fit_cox(sim.data, engine="native")
        for cov in true_beta.index:
            lo, hi = f.coef[cov] - Z * f.robust_se[cov], f.coef[cov] + Z * f.robust_se[cov]
            rows.append({"tau": tau, "covariate": cov, "coef": f.coef[cov], "covers": lo <= true_beta[cov] <= hi,
                         "censored": 1 - sim.data.event.mean()})
cop = pd.DataFrame(rows)
drift = cop.groupby(["covariate", "tau"]).agg(mean_estimate=("coef", "mean"), sd=("coef", "std"),
                                              coverage=("covers", "mean"), share_censored=("censored", "mean"))
drift.insert(0, "truth", drift.index.get_level_values("covariate").map(true_beta))
drift.insert(2, "bias", drift["mean_estimate"] - drift["truth"])
drift.round(3).rename(columns=lambda c: c.replace("_", " ")).rename_axis(
    index=["covariate", "Kendall's tau"]).rename(columns={"coverage": "coverage of 95% CI"})

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for j, cov in enumerate(true_beta.index):
    each = cop.loc[cop["covariate"] == cov]
    ax.scatter(each["tau"] + 0.012 * (j - 1), each["coef"], s=6, alpha=0.25, color=f"C{j}", lw=0)
    d = drift.loc[cov]
    half = Z * d["sd"] / np.sqrt(COPULA_REPS)
    ax.errorbar(d.index, d["mean_estimate"], yerr=half, fmt="o-", capsize=3, color=f"C{j}",
                label=f"{cov}: mean naive Cox estimate")
    ax.axhline(true_beta[cov], color=f"C{j}", ls="--", lw=1)
ax.plot([], [], "k--", lw=1, label="true coefficient")
ax.set(xlabel="Kendall's tau of the Clayton copula (event, censoring | x)", ylabel="coefficient",
       title=f"naive Cox, {N_COPULA} subjects, {COPULA_REPS} replicates per tau")
ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
plt.tight_layout()
plt.show()

# %%
x1 = drift.loc["x1"]
Markdown(f"For x1 (true coefficient {true_beta['x1']:.2f}) the mean naive estimate moves from "
         f"{x1['mean_estimate'].iloc[0]:.3f} at tau = {x1.index[0]:g} to {x1['mean_estimate'].iloc[-1]:.3f} at tau = "
         f"{x1.index[-1]:g}, and the coverage of its robust 95% interval from {x1['coverage'].iloc[0]:.0%} to "
         f"{x1['coverage'].iloc[-1]:.0%}.")

# %% [markdown]
# Fast mode: tau 0, 0.3, 0.6 with 20 replicates each; the full render: six values of tau and 100
# replicates (small dots: single replicates; error bars: 95% Monte-Carlo intervals of the mean). At tau = 0 censoring is
# independent given x and the Cox fit recovers the true coefficients. As tau grows, the
# partial likelihood of the observed events estimates the *crude* hazard of an event among
# those still uncensored, which under dependence is no longer the *net* hazard of T; the
# ratio of crude hazards across x is then not exp(beta), the estimates leave the dashed lines
# while x2 (true coefficient 0) stays near zero, and more data only narrows the interval around
# the wrong value. No method that uses only the observed data can detect this: the copula is
# not identifiable from (min(T, C), T <= C), which is why a sensitivity analysis over tau is the
# honest report.

# %% [markdown]
# ## Session information

# %%
session_info()
