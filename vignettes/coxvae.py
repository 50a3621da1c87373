# %% [markdown]
# # CoxVAE: a latent space with a Cox head
#
# **Question:** How does the weight tau between reconstruction and the Cox term change
# discrimination and the latent space?
#
# CoxVAE (Weber et al. 2021) is a variational autoencoder whose latent space also carries a
# linear, bias-free Cox model. Its loss (their eq. 3) is tau x the negative ELBO (reconstruct
# the image) + (1 - tau) x the Cox negative log partial likelihood of psi'z: **tau = 1 is a
# plain VAE** (the Cox head gets no gradient) and small tau lets survival shape the latent
# space. The paper's liver CTs are private, so this page uses the package's public image
# stand-ins: surv-digits (scikit-learn's 8x8 digits with exponential survival whose
# log-hazard rises by 0.9 per digit) and simulated 32x32 "organ with lesions" images whose
# hazard depends on the lesion area only. It shows (a) discrimination and the ordering of the
# latent space against tau, (b) the embeddings themselves for a pure VAE and for CoxVAEs, and
# (c) what the latent axes encode, by decoding along them. Everything is computed when the page
# is rendered (`make docs`; `DOCS_FAST=1` for the quick version), or execute it into a
# notebook with jupytext (see the vignettes page).

# %%
from IPython.display import Markdown

from _common import FAST, mode_note, pick, session_info

Markdown(mode_note())

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from pysurvbridge import metrics
from pysurvbridge.classical import fit_cox
from pysurvbridge.data import SurvivalData, load_digits_survival
from pysurvbridge.errors import ConvergenceWarning
from pysurvbridge.models import CoxVAE
from pysurvbridge.simulate import lesion_area, simulate_lesion_images

# small networks on a shared 2-core machine: one intra-op thread is much faster than two
# threads competing with other processes
torch.set_num_threads(1)
pd.set_option("display.precision", 3)

# %% [markdown]
# ## (a) The tau study: discrimination and risk ordering against tau
#
# *As tau moves from the Cox term to reconstruction, how much survival information does the
# latent space keep?* All 1797 surv-digits images (the paper's surv-MNIST design on 8x8
# digits), 30% of the images held out, conv encoder and decoder, 8 latent dimensions, batch
# 64, the package's default learning rates (autoencoder 1e-3, Cox head 1e-4, the paper's
# slower head). Three measures on the held-out images, each as mean ± SD over seeds (seed =
# split and initialisation):
#
# - **C of the Cox head**: Harrell's C of CoxVAE's own risk psi'mu(x);
# - **C of a Cox model on the embedding**: a classical Cox model (the package's native engine)
#   fitted on the training images' 8-D embeddings: how much linearly usable survival
#   information the latent space holds, whatever the head learned (at tau = 1 the head is
#   untrained, so only this measure is meaningful there);
# - **|Spearman(PC 1, digit)|**: whether the embedding's main axis of variation is the risk
#   (the digit is a monotone function of the true log-hazard), the paper's Fig. 4 reading.

# %%
d = load_digits_survival(seed=0, digits=range(10))
digits = SurvivalData.from_arrays(d.time, d.event, d.images.reshape(len(d.images), -1))
TAUS = pick((0.01, 0.5, 1.0), (0.01, 0.1, 0.5, 0.9, 0.99, 1.0))
SEEDS = pick(2, 3)
EPOCHS = pick(8, 30)


def split(n: int, seed: int, test: float = 0.3):
    order = np.random.default_rng(seed).permutation(n)
    k = int(round(test * n))
    return np.sort(order[k:]), np.sort(order[:k])


def pc1(Z: np.ndarray) -> np.ndarray:
    Zc = Z - Z.mean(axis=0)
    return Zc @ np.linalg.svd(Zc, full_matrices=False)[2][0]


def cox_on_embedding(Z_tr, Z_te, tr: SurvivalData, te: SurvivalData) -> float:
    """Held-out C of a Cox model fitted on the training embedding. Latent axes the encoder does
    not use (posterior collapse: nearly constant means) make the likelihood flat in them, so
    they are left out."""
    sd = Z_tr.std(axis=0)
    active = sd > 1e-2 * sd.max()
    names = [f"z{j + 1}" for j in range(Z_tr.shape[1]) if active[j]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # a NaN C below would show a failure
        fit = fit_cox(SurvivalData.from_arrays(tr.time, tr.event, Z_tr[:, active], names), engine="native")
    risk = fit.predict_log_risk(pd.DataFrame(Z_te[:, active], columns=names))
    return metrics.concordance_harrell(risk, te.time, te.event) if np.isfinite(risk).all() else np.nan


rows, fitted = [], {}
for seed in range(SEEDS):
    tr_rows, te_rows = split(len(digits), seed)
    tr, te = digits.subset(tr_rows), digits.subset(te_rows)
    oracle = metrics.concordance_harrell(d.log_hazard[te_rows], te.time, te.event)
    for tau in TAUS:
        m = CoxVAE(latent_dim=8, tau=tau, encoder="conv", decoder="conv").fit(
            tr, epochs=EPOCHS, batch_size=64, seed=seed, verbose=False)
        Z_tr, Z_te = m.embed(tr.X).to_numpy(), m.embed(te.X).to_numpy()
        rows.append({"tau": tau, "seed": seed,
                     "C of the Cox head": metrics.concordance_harrell(m.predict_risk(te.X), te.time, te.event),
                     "C of a Cox model on the embedding": cox_on_embedding(Z_tr, Z_te, tr, te),
                     "|Spearman(PC 1, digit)|": abs(spearmanr(pc1(Z_te), d.digits[te_rows])[0]),
                     "oracle C": oracle})
        if seed == 0:
            fitted[tau] = m
study = pd.DataFrame(rows)
Markdown(f"{len(TAUS)} values of tau x {SEEDS} seeds, {EPOCHS} epochs each"
         + (" (fast mode: 3 taus, 2 seeds and 8 epochs instead of 6 taus, 3 seeds and 30 epochs; the README's "
            "table used 5 seeds and 100 epochs)" if FAST else " (the README's table used 5 seeds and 100 epochs)")
         + f"; {len(te_rows)} held-out images per seed.")

# %%
MEASURES = ["C of the Cox head", "C of a Cox model on the embedding", "|Spearman(PC 1, digit)|"]
summary = study.groupby("tau")[MEASURES + ["oracle C"]].agg(["mean", "std"])
x = np.arange(len(TAUS))
fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))
for ax, col in zip(axes, MEASURES):
    ax.errorbar(x, summary[(col, "mean")], yerr=summary[(col, "std")], fmt="o-", capsize=3)
    if col.startswith("C"):
        ax.axhline(summary[("oracle C", "mean")].iloc[0], color="grey", ls="--", lw=0.8, label="oracle C")
        ax.axhline(0.5, color="grey", ls=":", lw=0.8)
        ax.legend(fontsize=7, loc="lower left")
    ax.set_xticks(x, [f"{t:g}" for t in TAUS])
    ax.set_xlabel("tau (weight of the ELBO)")
    ax.set_title(col, fontsize=9)
fig.suptitle(f"held-out surv-digits, mean ± SD over {SEEDS} seeds", fontsize=10)
fig.tight_layout()
plt.show()
table = pd.DataFrame({col: [f"{m:.3f} ± {s:.3f}" for m, s in zip(summary[(col, "mean")], summary[(col, "std")])]
                      for col in MEASURES}, index=pd.Index(TAUS, name="tau"))
paper_readme = {0.01: ("0.819 ± 0.006", "0.920 ± 0.006"), 0.5: ("0.703 ± 0.026", "0.157 ± 0.099"),
                0.99: ("0.524 ± 0.041", "0.054 ± 0.030")}
table["README (100 epochs, 5 seeds): C of the head / |rho|"] = [
    " / ".join(paper_readme[t]) if t in paper_readme else "" for t in TAUS]
table

# %% [markdown]
# Small tau gives the Cox head the C-index closest to the oracle, and the embedding's first
# principal component follows the digit, i.e. the risk: survival shapes the main axis of the
# latent space. As tau grows, the head's C falls towards 0.5 (at tau = 1 it is a random,
# untrained direction), and the first component stops tracking the risk: the embedding is
# then organised by what the images look like. A Cox model refitted on the embedding keeps
# more of the survival information than the head itself at large tau, since digits that look
# alike tend to be the same digit; the paper makes the same point in its Table 1 by fitting
# CoxPH and random forests on the embeddings. With the paper's slow head (learning rate
# 1e-4), short runs leave the head short of its optimum, so the head's C rises with epochs
# (the README's 100-epoch figures are in the last column).

# %% [markdown]
# ## (b) The embeddings: a plain VAE against CoxVAEs
#
# *What does the latent space look like with and without the Cox term?* The first two
# principal components of the held-out images' 8-D embeddings (seed 0 fits of section (a)),
# coloured by the true log-hazard (the digit; darker = lower risk), as the paper's Fig. 4.
# `CoxVAE.plot_embedding` draws one such panel; here three side by side.

# %%
te_rows = split(len(digits), 0)[1]
shown = [t for t in (0.01, 0.5, 1.0) if t in fitted]
fig, axes = plt.subplots(1, len(shown), figsize=(10, 3.4))
for ax, tau in zip(axes, shown):
    Z = fitted[tau].embed(digits.X[te_rows]).to_numpy()
    Zc = Z - Z.mean(axis=0)
    pcs = Zc @ np.linalg.svd(Zc, full_matrices=False)[2][:2].T
    points = ax.scatter(pcs[:, 0], pcs[:, 1], c=d.log_hazard[te_rows], cmap="viridis", s=7)
    label = "pure VAE" if tau == 1 else "CoxVAE"
    ax.set_title(f"tau = {tau:g} ({label})", fontsize=10)
    ax.set_xlabel("PC 1")
    ax.set_xticks([])
    ax.set_yticks([])
axes[0].set_ylabel("PC 2")
fig.colorbar(points, ax=axes, label="true log-hazard (per day)")
plt.show()

# %% [markdown]
# With tau = 0.01 the colours run along the first component: the embedding is a risk score
# with some spread around it. With tau = 1 (the plain VAE) the points form clusters of
# similar-looking digits whose colours are mixed along both components; the ordering by risk
# is gone, though the clusters still carry information a non-linear model could use.
# tau = 0.5 lies in between.

# %% [markdown]
# ## (c) Decoding along the latent axes: what does a unit of risk look like?
#
# *Which image features does the Cox head's hazard ratio refer to?* `CoxVAE.traverse(j, values)`
# decodes z = 0 with latent axis j set to each value, and `plot_traversal` draws a grid, one
# row per axis, labelled with the head's hazard ratio exp(psi_j) per unit (the paper's Fig. 3).
# First the digits model with tau = 0.01 from section (a), along its axis with the largest
# |log hazard ratio|:

# %%
m = fitted[min(fitted)]
hr = m.hazard_ratios()
axis = int(np.argmax(np.abs(np.log(hr.to_numpy()))))
values = np.linspace(-3, 3, 9) * np.sign(np.log(hr.iloc[axis]))    # left: low risk, right: high risk
images = m.traverse(axis, values)
fig, axes = plt.subplots(1, len(values), figsize=(9, 1.6))
for ax, img, v in zip(axes, images, values):
    ax.imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{v:+.1f}", fontsize=8)
fig.suptitle(f"surv-digits, tau = {min(fitted):g}: axis z{axis + 1} (HR {hr.iloc[axis]:.2f} per unit), "
             "from low to high predicted risk", fontsize=9)
plt.show()

# %% [markdown]
# Moving along the axis in the direction of higher hazard changes the decoded image from a
# low digit's shape towards the strokes of higher digits, the ones given a higher hazard (how
# clean the morph is depends on the training length; 8x8 decodes are coarse). The lesion
# images make the same check with a feature one can measure: their hazard depends on the
# total lesion area only, while organ size, tilt and brightness vary as nuisance. A CoxVAE
# with tau = 0.5 (the README's choice for this figure) on these images:

# %%
sim = simulate_lesion_images(pick(600, 2000), size=32, seed=0)
m_les = CoxVAE(latent_dim=8, tau=0.5, encoder="conv", decoder="conv").fit(
    sim.data, epochs=pick(8, 60), batch_size=64, seed=0, verbose=False)
values_les = np.linspace(-3, 3, 7)
fig = m_les.plot_traversal(values=values_les)
Markdown(f"{len(sim.data)} lesion images of 32x32, {pick(8, 60)} epochs"
         + (" (fast mode: 600 images and 8 epochs instead of 2000 and 60: the decoder has barely started, so "
            "the decoded images are grey blur)" if FAST else " (the README's figure: 2000 images, 100 epochs)")
         + f". True lesion areas: mean {sim.lesion_area.mean():.0f}, SD {sim.lesion_area.std():.0f} pixels.")

# %%
fig

# %%
hr_les = m_les.hazard_ratios()
top = int(np.argmax(np.abs(np.log(hr_les.to_numpy()))))
decoded = m_les.traverse(top, values_les)
# decoded Bernoulli means are blurred: besides the pixels above the lesion threshold (0.75),
# the brightness above the organ's ceiling (0.63) summed, in lesion-pixel units
soft = np.clip(decoded - 0.63, 0.0, None).sum(axis=1) / (1.0 - 0.63)
area = lesion_area(decoded)
pd.DataFrame({f"z{top + 1}": values_les, "decoded lesion area (pixels > 0.75)": area,
              "soft lesion area": soft,
              "head's hazard ratio against z = 0": hr_les.iloc[top] ** values_les,
              "true hazard ratio of the decoded area against z = 0": np.exp((area - area[len(area) // 2]) / sim.area_sd),
              }).set_index(f"z{top + 1}")

# %% [markdown]
# Each row of the grid is one latent axis with its hazard ratio per unit; an axis with
# HR > 1 should grow the lesions (left to right), one with HR < 1 shrink them. The table
# measures the decoded lesion area along the axis with the largest |log HR|: if the Cox term
# has done its job, bright lesions appear and grow along that axis in the direction of higher
# hazard while the organ stays put. Blurred Bernoulli means rarely exceed the lesion threshold,
# hence the soft area beside the thresholded one. The last column applies the simulation's own
# hazard (log-hazard linear in the lesion area, 1 per SD of area) to the decoded images: set
# beside the head's hazard ratio it shows whether one unit of the latent axis means as much
# risk as the images it decodes to. The decoder has learned only the average appearance of
# lesions, so expect the order, not the exact size, to match; and where z = 0 already decodes
# to an organ without visible lesions, the true hazard ratio cannot fall below 1 on the
# low-risk side. In the README's 100-epoch run
# the relation is clear but not monotone at the extremes (a small bright spot appears at -3).

# %% [markdown]
# ## Session information

# %%
session_info()
