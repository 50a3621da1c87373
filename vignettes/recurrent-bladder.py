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
# # Recurrent bladder tumours: classical and LSTM-Cox models
#
# **Question:** How do Andersen-Gill, WLW, PWP and LSTM-Cox compare on bladder1, and why is the LSTM-Cox paper's C of 0.90 not reproducible on held-out subjects?
#
# This page works through R's `bladder1` data (118 patients of the Veterans Administration
# bladder cancer trial, every recurrence recorded): (a) the three data layouts the classical
# recurrent-event models need, (b) the Andersen-Gill, Wei-Lin-Weissfeld (WLW) and
# Prentice-Williams-Peterson (PWP) fits by R's `survival::coxph` and by the package's native
# engine side by side, (c) the mean cumulative function by treatment arm, (d) LSTM-Cox trained
# on the history protocol, (e) the LSTM-Cox paper's Table 3 recomputed on held-out subjects,
# with the paper's leaky protocol beside the honest one, and (f) the paper's interpretation
# figures. Everything below is executed when the page is rendered (`make docs`; `DOCS_FAST=1`
# for the quick version), or execute it into a notebook with jupytext (see the vignettes page).

# %%
from IPython.display import Markdown

from _common import mode_note, pick, session_info

Markdown(mode_note())

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import pysurvbridge
from pysurvbridge import metrics
from pysurvbridge.classical import (fit_andersen_gill, fit_cox, fit_pwp, fit_wlw,
                                    mean_cumulative_function)
from pysurvbridge.data import bladder1_recurrent, prepared
from pysurvbridge.models import LSTMCox
from pysurvbridge.comparison import ModelSpec, spec_for

torch.set_num_threads(1)  # small networks: one thread is as fast and leaves the other cores alone
pd.set_option("display.precision", 4)

SEEDS = pick(2, 10)       # compare() seeds in section (e)
EPOCHS = pick(50, 100)    # LSTM-Cox epochs (the paper's 100 in the full render)

# %% [markdown]
# ## The data
#
# `prepared("bladder1")` is bladder1 as a `RecurrentData`: one (start, stop] row per interval,
# event = recurrence (deaths censor), treatment one-hot (placebo is the reference), the baseline
# number of tumours and size of the largest. Two subjects whose only rows have zero length are
# dropped, and the container says so.

# %%
rec = prepared("bladder1")
print(rec.describe())

# %% [markdown]
# ## (a) Three layouts for three questions
#
# Which rows does each classical model see? Andersen-Gill (AG) uses the (start, stop]
# intervals as they are: one baseline intensity, a subject is at risk of its k-th recurrence
# in the interval after its (k-1)-th. PWP stratifies by event number `enum`: in total time the
# rows are AG's, in gap time the clock restarts at 0 after each recurrence. WLW treats the 1st,
# ..., 4th recurrence as four marginal outcomes, each timed from randomisation: every subject
# gets four rows starting at 0, later events are cut (this is R's `bladder` data set). The
# rows below are those of two subjects, one with a single recurrence and one with five.

# %%
events = rec.frame.groupby("id")["event"].sum()
two = [events[events == 1].index[0], events[events == 5].index[0]]
show = ["id", "enum", "start", "stop", "event", "treatment[thiotepa]", "number"]
layouts = {"AG": rec.andersen_gill(), "PWP total time": rec.pwp(timescale="total"),
           "PWP gap time": rec.pwp(timescale="gap"), "WLW (max_events=4)": rec.wlw(max_events=4)}
pd.concat({name: f.loc[f["id"].isin(two), show].reset_index(drop=True) for name, f in layouts.items()},
          names=["layout", "row"])

# %% [markdown]
# The subject with five recurrences has six AG rows but only four WLW rows: WLW keeps the first
# four events, all measured from time 0, so its fifth recurrence does not enter the fit. In
# PWP gap time the same rows carry the time since the previous recurrence.

# %% [markdown]
# ## (b) The classical fits: R and the native engine agree
#
# Does the native engine (Newton-Raphson on the package's Cox likelihood, robust sandwich
# variance by subject) give R's `coxph` answers? Each model is fitted on all 116 subjects by
# both engines, covariates treatment, number and size; the robust (cluster by subject) SE is
# the one every confidence interval uses.

# %%
MODELS = {"cox (first event)": lambda **k: fit_cox(rec, **k),
          "ag": lambda **k: fit_andersen_gill(rec, **k),
          "wlw": lambda **k: fit_wlw(rec, max_events=4, **k),
          "pwp-total": lambda **k: fit_pwp(rec, timescale="total", **k),
          "pwp-gap": lambda **k: fit_pwp(rec, timescale="gap", **k)}
fits, fit_warnings = {}, []
for name, fit in MODELS.items():
    for engine in ("r", "native"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits[name, engine] = fit(engine=engine)
        fit_warnings += [f"{name} ({engine}): {w.category.__name__}: {w.message}" for w in caught]


def largest_difference(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))


agreement = pd.DataFrame([
    {"model": name,
     "max |coef diff|": largest_difference(fits[name, "r"].coef, fits[name, "native"].coef),
     "max |robust SE diff|": largest_difference(fits[name, "r"].robust_se, fits[name, "native"].robust_se),
     "max |naive SE diff|": largest_difference(fits[name, "r"].se, fits[name, "native"].se),
     "|loglik diff|": largest_difference(fits[name, "r"].loglik, fits[name, "native"].loglik),
     "events": fits[name, "r"].n_events, "rows": fits[name, "r"].n_rows}
    for name in MODELS]).set_index("model")
agreement["within 1e-6"] = agreement.iloc[:, :4].max(axis=1) <= 1e-6
agreement.assign(**{c: agreement[c].map("{:.1e}".format) for c in agreement.columns[:4]})

# %% [markdown]
# The R call each fit equals (the native engine prints the same text):

# %%
pd.DataFrame({"R call": {name: fits[name, "r"].r_call for name in MODELS}})

# %% [markdown]
# The warnings the fits raised, kept here rather than printed (PWP's last event stratum holds
# a single row and no event, so it adds nothing to the likelihood):

# %%
Markdown("\n".join(f"- {w}" for w in dict.fromkeys(fit_warnings)) or "No warnings.")

# %% [markdown]
# The coefficients themselves, as hazard ratios with robust 95% intervals (R engine):

# %%
fig, ax = plt.subplots(figsize=(8, 3.8))
covariates = list(fits["ag", "r"].coef.index)
offsets = np.linspace(-0.3, 0.3, len(MODELS))
for k, name in enumerate(MODELS):
    s = fits[name, "r"].summary
    y = np.arange(len(covariates)) + offsets[k]
    ax.errorbar(s["exp(coef)"], y, xerr=[s["exp(coef)"] - s["exp(coef) lower 95%"],
                                         s["exp(coef) upper 95%"] - s["exp(coef)"]],
                fmt="o", ms=4, capsize=2, label=name)
ax.axvline(1.0, color="0.4", lw=0.8)
ax.set_xscale("log")
ax.set_xticks([0.3, 0.5, 0.7, 1, 1.5, 2], ["0.3", "0.5", "0.7", "1", "1.5", "2"])
ax.minorticks_off()
ax.set_yticks(range(len(covariates)), covariates)
ax.invert_yaxis()
ax.set_xlabel("hazard ratio (robust 95% CI, log scale)")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
ax.set_title("bladder1: the same covariates in five Cox-type models")
plt.tight_layout()
plt.show()

# %% [markdown]
# The engines agree far inside the 1e-6 the package promises; the models do not agree with
# each other, and should not: AG estimates a rate ratio for all recurrences, WLW a ratio of
# marginal hazards of the k-th recurrence since randomisation, PWP a hazard ratio for the next
# recurrence among those who already had k-1. PWP's conditioning on the event history pulls its
# coefficients towards zero, as it does whenever subjects differ in unmeasured propensity.

# %% [markdown]
# ## (c) Mean cumulative function by treatment arm
#
# How many recurrences does a patient accumulate, on average, in each arm? The MCF is the
# Nelson-Aalen estimator for recurrent events; its bands use the robust (Lawless-Nadeau)
# variance, which, unlike the Poisson one, allows for patients who recur repeatedly.

# %%
f = rec.frame.drop_duplicates("id").set_index("id")
arm = pd.Series(np.select([f["treatment[thiotepa]"] == 1, f["treatment[pyridoxine]"] == 1],
                          ["thiotepa", "pyridoxine"], "placebo"), index=f.index)
mcf = mean_cumulative_function(rec, by=arm)
fig, ax = plt.subplots(figsize=(7, 3.8))
mcf.plot(ax=ax)
handles, labels = ax.get_legend_handles_labels()
ax.legend(handles, [label.replace("group = ", "") for label in labels], title="treatment arm")
ax.set_xlabel("months since randomisation")
plt.tight_layout()
plt.show()

# %%
at = [12, 24, 36, 48]
pd.DataFrame({g: mcf.at(at, group=g) for g in ("placebo", "pyridoxine", "thiotepa")},
             index=pd.Index(at, name="month")).round(2).rename_axis(columns="MCF by arm")

# %% [markdown]
# Thiotepa patients accumulate recurrences more slowly than placebo patients, and pyridoxine
# patients are close to placebo; the robust bands overlap widely, in line with the robust
# confidence intervals of section (b).

# %% [markdown]
# ## (d) LSTM-Cox with the history protocol
#
# Can a recurrent network use a patient's history to rank the next recurrence? The history
# protocol builds, for every at-risk interval, a sequence of that interval and up to two
# earlier ones, using only what was known when each began (treatment, number, size, the
# recurrences so far), and trains the LSTM end to end on the Andersen-Gill partial likelihood.
# It is trained on 70% of the subjects and scored on the other 30%, beside AG on the same split
# (fast mode: 50 epochs; the full render: the paper's 100).

# %%
ids = np.asarray(rec.ids)
order = np.random.default_rng(0).permutation(len(ids))
n_test = int(round(0.3 * len(ids)))
train, test = rec.subset(ids[order[n_test:]]), rec.subset(ids[order[:n_test]])
lstm = LSTMCox().fit(train, epochs=EPOCHS, lr=1e-2, seed=0, verbose=False)
ag_split = fit_andersen_gill(train)


def held_out_c(row_risk, data) -> dict:
    """C on time to first event (each subject's first-interval risk) and on the intervals."""
    fr, first = data.frame, data.first_event()
    first_row = ~fr["id"].duplicated().to_numpy()
    subject = pd.Series(row_risk[first_row], index=fr["id"].to_numpy()[first_row]).loc[first.ids]
    return {"C, first event": metrics.concordance_harrell(subject.to_numpy(), first.time, first.event),
            "C, intervals": metrics.concordance_recurrent(row_risk, fr["start"], fr["stop"], fr["event"])}


score = lstm.evaluate(test)
pd.DataFrame({"lstm-cox (history)": {"C, first event": score["c_first_event"], "C, intervals": score["c_intervals"]},
              "ag": held_out_c(ag_split.predict_log_risk(test.frame), test)}).T.rename_axis(
    f"{test.n_subjects} held-out subjects")

# %%
h = lstm.history_
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.plot(h["epoch"], h["train_loss"])
ax.set(xlabel="epoch", ylabel="-log partial likelihood\nper event (training)",
       title=f"LSTM-Cox, history protocol, {train.n_subjects} training subjects")
plt.tight_layout()
plt.show()

# %% [markdown]
# The network reads the running recurrence count, which the classical fits above do not use;
# that is where any advantage on the interval C comes from. On time to first event every
# subject's history is empty, so there the network has only the baseline covariates. One split
# is noisy: section (e) repeats it over several seeds.

# %% [markdown]
# ## (e) The paper's Table 3, recomputed on held-out subjects
#
# Does any model reach the paper's C on subjects it was not trained on? `compare()` fits every
# model on the same training subjects and scores it on the same held-out 30% of subjects, for
# each seed. The paper's protocol, `lstm-cox-paper`, runs too; we wrap its registry entry so
# that each split also records its C on the paper's own response (below).
#
# The paper's protocol is leaky. Its inputs include `stop` (the end of each interval: the
# recurrence or censoring time being predicted), `recur` (the patient's *total* number of
# recurrences over the whole follow-up, identical on every row, the first included), and
# `rtumor`/`rsize` (number and size of the tumours found *at* a recurrence). Its response is
# "survival time" = last stop - first start with status = the last row's event, and the
# sequences contain the first three intervals' `stop`, so the response is partly a function of
# the inputs. One subject's paper inputs show it:

# %%
leaky = bladder1_recurrent(paper_inputs=True)
leaky.frame.loc[leaky.frame["id"] == two[1], ["id", "start", "stop", "event", "recur", "rtumor", "rsize"]]

# %%
leaky_c = []


def paper_protocol_recording(split):
    """The registry's lstm-cox-paper, plus its C on the paper's own response for both sides."""
    run = spec_for("lstm-cox-paper").run(split)
    row = {"seed": split.seed}
    for side, d in (("training subjects", split.leaky_train), ("held-out subjects", split.leaky_test)):
        g = d.frame.groupby("id", sort=False)
        row[side] = metrics.concordance_harrell(run.fitted.predict_risk(d), g["stop"].max() - g["start"].min(),
                                                g["event"].last())
    leaky_c.append(row)
    return run


models = ["cox", "ag", "wlw", "pwp-total", "lstm-cox",
          ModelSpec("lstm-cox-paper", "deep", paper_protocol_recording, needs_recurrent=True)]
result = pysurvbridge.compare("bladder1", models=models, seeds=SEEDS, test_size=0.3, epochs=EPOCHS,
                              verbose=False)

PAPER_C = {"cox": 0.71, "ag": 0.78, "wlw": 0.78, "pwp-total": 0.74, "lstm-cox-paper": 0.90}  # paper Table 3
PAPER_AIC = {"cox": 1829.34, "ag": 212.94, "lstm-cox-paper": 221.63}                         # paper Table 3
table3 = result.table.set_index("model")
table3 = pd.DataFrame({
    "held-out C, first event": table3["c_harrell"].map("{:.3f}".format) + " ± " + table3["c_harrell_sd"].map("{:.3f}".format),
    "held-out C, intervals": (table3["c_intervals"].map("{:.3f}".format) + " ± "
                              + table3["c_intervals_sd"].map("{:.3f}".format)).where(table3["c_intervals"].notna(),
                                                                                  "n/a (one row per subject)"),
    "paper's C (Table 3)": pd.Series(PAPER_C).map("{:.2f}".format),
    "training AIC (ours)": table3["aic"].round(1),
    "paper's AIC (Table 3)": pd.Series(PAPER_AIC),
    "engine": table3["engine"], "seeds": table3["n_seeds"]}).reindex(table3.index)
table3.fillna({"paper's C (Table 3)": "-", "paper's AIC (Table 3)": "-"}).rename_axis(
    f"bladder1, {SEEDS} seeds × 30% of subjects held out")

# %% [markdown]
# Fast mode runs 2 seeds and 50 epochs, the full render 10 seeds and the paper's 100 epochs
# (mean ± sd over seeds). AICs use different
# responses (first event, (start, stop] rows, stratified layouts, the paper's subject time)
# and count only Cox coefficients: they are not comparable across rows, and our AICs are not
# on the paper's data either (it gives no split). The same in a picture, with the paper's
# figure as a cross:

# %%
t = result.table.set_index("model")
fig, ax = plt.subplots(figsize=(7, 3.5))
y = np.arange(len(t))
ax.errorbar(t["c_harrell"], y - 0.12, xerr=t["c_harrell_sd"].fillna(0), fmt="o", capsize=3,
            label="ours: held-out C, first event")
ax.errorbar(t["c_intervals"], y + 0.12, xerr=t["c_intervals_sd"].fillna(0), fmt="s", capsize=3,
            label="ours: held-out C, intervals")
ax.scatter([PAPER_C.get(m, np.nan) for m in t.index], y, marker="x", s=60, color="C3", zorder=3,
           label="paper, Table 3")
ax.axvline(0.5, color="0.5", lw=0.8, ls=":")
ax.set_yticks(y, t.index)
ax.invert_yaxis()
ax.set_xlabel("concordance (mean ± sd over seeds)")
ax.legend(fontsize=8, loc="lower left")
plt.tight_layout()
plt.show()

# %% [markdown]
# The caveats `compare()` collected while fitting (warnings of single fits, the leaky
# protocol, the AIC definitions):

# %%
Markdown("\n".join(f"- {note}" for note in result.notes))

# %% [markdown]
# Where the 0.90 comes from: the leaky protocol scored on its own response, on the subjects it
# was trained on and on held-out subjects, beside the honest model on the same splits.

# %%
lc = pd.DataFrame(leaky_c)
r = result.results.set_index("model")
honest = [
    ("lstm-cox-paper (leaky inputs)", "paper's response (subject time, last row's status)", "training subjects",
     lc["training subjects"]),
    ("lstm-cox-paper (leaky inputs)", "paper's response (subject time, last row's status)", "held-out subjects",
     lc["held-out subjects"]),
    ("lstm-cox-paper (leaky inputs)", "time to first recurrence", "held-out subjects",
     r.loc["lstm-cox-paper", "c_harrell"]),
    ("lstm-cox (history)", "time to first recurrence", "held-out subjects", r.loc["lstm-cox", "c_harrell"]),
    ("lstm-cox (history)", "every (start, stop] interval", "held-out subjects", r.loc["lstm-cox", "c_intervals"]),
]
rows = [{"model": m, "scored on": what, "subjects": who, "C": f"{np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}"}
        for m, what, who, v in honest]
rows.append({"model": "LSTM-Cox in the paper", "scored on": "not stated", "subjects": "\"test set\" (split not reported)",
             "C": "0.90 (paper Table 3)"})
pd.DataFrame(rows).rename(columns={"C": f"C (mean ± sd over {SEEDS} seeds)"})

# %% [markdown]
# On its own training subjects and its own response the leaky protocol comes near the paper's
# 0.90, because its inputs contain the answer (`stop` of the first three intervals, the total
# recurrence count); on held-out subjects it drops. On the question a clinician asks (who
# recurs first, from what is known at randomisation) it is compared with the Cox model of time
# to first event just below. The paper does not report a subject-level split or a held-out
# response, so its 0.90 cannot be obtained honestly: no model here, classical or neural, comes
# near it on held-out subjects.

# %%
best = result.table.set_index("model")["c_harrell"]
Markdown(f"Held-out C on time to first recurrence: leaky `lstm-cox-paper` {best['lstm-cox-paper']:.3f}, "
         f"`cox` {best['cox']:.3f}, history `lstm-cox` {best['lstm-cox']:.3f}; the best of all models, "
         f"`{best.idxmax()}`, reaches {best.max():.3f}, against the paper's 0.90.")

# %% [markdown]
# `compare()` also checked the engines against each other on the first seed's training
# subjects, native against R (max |difference| per quantity), and the Brier score in Python
# against R's `ipred::sbrier`:

# %%
checks = result.agreement
classical_checks = checks[checks["check"] == "classical fit"].pivot(index="model", columns="quantity",
                                                                  values="max_abs_diff")
brier = checks[checks["check"] == "brier score"]
Markdown(f"All {int(checks['agrees'].sum())} of {len(checks)} checks within tolerance; Brier score "
         f"{', '.join(f'{m}: max |difference| {d:.1e}' for m, d in zip(brier['model'], brier['max_abs_diff']))}.")

# %%
classical_checks.map("{:.1e}".format)

# %% [markdown]
# ### The verdict: does LSTM-Cox beat the classical models on held-out subjects?
#
# A table of means answers "what did each model score"; the question is whether the deep model
# beats the classical one, and by how much. `compare(reference=...)` takes every model's
# difference from a reference on the *same* test subjects of each split, with an interval that
# allows for the overlap of the training sets across splits (Nadeau and Bengio's corrected
# resampled t), and the report opens with one sentence per model built from those numbers. The
# reference is Andersen-Gill, the classical model of the same (start, stop] rows LSTM-Cox
# reads. In the full render LSTM-Cox is also **tuned** on each split's training subjects only
# (20 Optuna trials, 3-fold inner cross-validation over its units, dropout and learning rate,
# the ranges the paper names); fast mode runs it **untuned** (2 seeds), and says so below.

# %%
from pysurvbridge.report.verdict import forest, verdict_markdown

verdict = pysurvbridge.compare("bladder1", models=["cox", "ag", "wlw", "pwp-total", "lstm-cox"], seeds=SEEDS,
                               test_size=0.3, epochs=EPOCHS, verbose=False, crosscheck=False, reference="ag",
                               tune=pick(None, "default"), tune_trials=20, tune_folds=3)
Markdown(verdict_markdown(verdict))

# %%
fig = forest(verdict)
plt.show()

# %% [markdown]
# "Better" is said only where the 95% interval excludes 0, in the direction the metric rewards
# (higher C, lower IBS and ICI). The paper's LSTM-Cox C of 0.90 against Cox's 0.71 came from
# the leaky protocol and an untuned baseline; on held-out subjects, with the same budget of
# honesty for both sides, the verdict above is what the data support.

# %% [markdown]
# ## (f) What does LSTM-Cox look at?
#
# The paper explains its model with a gradient test, LIME and t-SNE of the learned features;
# `LSTMCox` offers the three through `pysurvbridge.interpret`. First the gradient test for the
# history model of section (d): the mean |d log-risk / d input| over the held-out intervals, per
# input and step (inputs standardised; step 2 is the interval being predicted, 1 and 0 the two
# before it), and beside it the same test for the leaky paper-protocol model fitted by
# `compare()` on its last seed.

# %%
def gradient_grid(model, data):
    g = model.input_attribution(data)
    return g.pivot(index="feature", columns="step", values=g.columns[-1])


paper_model = result.runs["lstm-cox-paper"].fitted
grids = {"history protocol (log-risk)": gradient_grid(lstm, test),
         "paper protocol (MSE head)": gradient_grid(paper_model, result.split.leaky_test)}
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, (title, grid) in zip(axes, grids.items()):
    im = ax.imshow(grid.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_yticks(range(len(grid)), grid.index, fontsize=8)
    ax.set_xticks(range(grid.shape[1]), [f"step {s}" for s in grid.columns], fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8)
fig.suptitle("mean |gradient| per input and step (held-out sequences)", fontsize=10)
plt.tight_layout()
plt.show()

# %%
top = {title: grid.max(axis=1).sort_values(ascending=False).head(3).index.tolist() for title, grid in grids.items()}
Markdown("\n".join(f"- {title}: largest gradients for {', '.join(f'`{x}`' for x in feats)}"
                   for title, feats in top.items()))

# %% [markdown]
# The paper reports that `stop`, `rsize` and `recur` dominate its LIME and gradient analyses and
# reads them as clinical risk factors; they are the leaky inputs. The history model can only use
# what was known before each interval.
#
# A LIME-style local surrogate around the held-out interval with the highest predicted risk
# (Gaussian perturbations of its real steps, exponential kernel, weighted least squares; the
# `lime` package itself is not needed):

# %%
row = int(np.argmax(lstm.predict_risk(test)))
surrogate = lstm.local_explanation(test, row, n_samples=2000, seed=0)
where = test.frame.iloc[row]
print(f"held-out interval {row}: subject {int(where['id'])}, months ({where['start']:g}, {where['stop']:g}], "
      f"at risk of recurrence number {int(where['enum'])}; predicted log-risk {surrogate.prediction:.2f}")
fig, ax = plt.subplots(figsize=(7, 3.5))
surrogate.plot(ax=ax, top=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The learned features of the held-out intervals in two dimensions, coloured by predicted risk
# above or below the median (the paper's Figure 3 is the t-SNE panel):

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, method in zip(axes, ("pca", "tsne")):
    lstm.feature_embedding(test, method=method, seed=0).plot(ax=ax)
plt.tight_layout()
plt.show()

# %% [markdown]
# The risk groups separate in both maps by construction: the risk is a linear function of
# these very features, so a clean split says nothing about prediction. What the held-out C of
# section (e) says is what counts.

# %% [markdown]
# ## Session information

# %%
session_info()
