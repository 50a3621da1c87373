"""Model-agnostic interpretation of sequence models (used by LSTM-Cox).

Every tool takes ``risk_fn(X, mask) -> (n,)``: a log-risk per sequence, differentiable in X, for
n sequences X (n, L, p) (L steps, step 0 = oldest, L-1 = most recent; p features) and a boolean
mask (n, L) that is True on real (not padded) steps.

- :func:`input_gradients` / :func:`input_gradients_raw`: the LSTM-Cox paper's "gradient test",
  d risk / d X for every sequence, step and feature by torch.autograd (optionally gradient x
  input), summarised as the mean absolute attribution per (step, feature) over sequences.
- :func:`local_surrogate`: a LIME-style local linear surrogate around one sequence. The ``lime``
  package is optional (and not installed here), so this is our own documented implementation of
  its tabular recipe: Gaussian perturbations of the real steps, an exponential kernel
  exp(-d^2 / width^2) on the standardised distance d (default width 0.75 sqrt(#perturbed
  entries), LIME's default), and weighted least squares with an intercept.
- :func:`feature_embedding`: 2-D PCA (numpy SVD) or t-SNE (scikit-learn) map of learned
  features, coloured by high vs low predicted risk.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from pysurvbridge.errors import InvalidParameterError

__all__ = ["input_gradients", "input_gradients_raw", "local_surrogate", "LocalSurrogate",
           "feature_embedding", "FeatureEmbedding", "LIME_AVAILABLE"]

RiskFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
CHUNK = 4096  # sequences per autograd / evaluation batch
#: whether the optional ``lime`` package is importable (never required: see local_surrogate)
LIME_AVAILABLE = importlib.util.find_spec("lime") is not None


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def _rows(flags: torch.Tensor) -> list[int]:
    return torch.nonzero(flags).squeeze(1)[:5].tolist()


def _checked(X, mask, feature_names) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Validated copies: X as float32/float64 (float64 kept), mask as bool, p feature names."""
    X = torch.as_tensor(X).detach()
    if X.dim() != 3:
        raise InvalidParameterError(f"X must have shape (n, L, p), but has shape {tuple(X.shape)}")
    X = X if X.dtype == torch.float64 else X.to(torch.float32)  # chunks are cloned before autograd
    mask = torch.as_tensor(mask).detach().to(X.device).bool()
    if tuple(mask.shape) != tuple(X.shape[:2]):
        raise InvalidParameterError(f"mask must have shape (n, L) = {tuple(X.shape[:2])}, "
                                    f"but has shape {tuple(mask.shape)}")
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        raise InvalidParameterError(f"mask rows {_rows(empty)} have no real step (first 5 shown)")
    bad = ~torch.isfinite(X).reshape(X.shape[0], -1).all(dim=1)
    if bool(bad.any()):
        raise InvalidParameterError(f"X has NaN or infinite values in rows {_rows(bad)} (first 5 shown)")
    names = [f"x{j}" for j in range(X.shape[2])] if feature_names is None else [str(f) for f in feature_names]
    if len(names) != X.shape[2]:
        raise InvalidParameterError(f"feature_names has {len(names)} names for {X.shape[2]} features: {names}")
    return X, mask, names


def _risk(risk_fn: RiskFn, X: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r = risk_fn(X, mask)
    shape = tuple(r.shape) if isinstance(r, torch.Tensor) else type(r).__name__
    if shape not in ((X.shape[0],), (X.shape[0], 1)):
        raise InvalidParameterError(f"risk_fn must return shape ({X.shape[0]},), but returned {shape}")
    return r.reshape(-1)


def input_gradients_raw(risk_fn: RiskFn, X, mask, *, multiply_by_input: bool = False) -> np.ndarray:
    """(n, L, p) float64 array of d risk_i / d X_i[l, j] (times X_i[l, j] when ``multiply_by_input``),
    in log-risk units per input unit; 0 on padded steps. Works on a copy: X is never modified."""
    X, mask, _ = _checked(X, mask, None)
    return _raw(risk_fn, X, mask, multiply_by_input)


def _raw(risk_fn: RiskFn, X: torch.Tensor, mask: torch.Tensor, multiply_by_input: bool) -> np.ndarray:
    out = []
    with torch.enable_grad():  # context manager: the caller's grad mode is restored on exit
        for k in range(0, X.shape[0], CHUNK):
            x, m = X[k:k + CHUNK].clone().requires_grad_(True), mask[k:k + CHUNK]
            r = _risk(risk_fn, x, m)
            if not r.requires_grad:
                raise InvalidParameterError("risk_fn returned a tensor that is not differentiable in X")
            (grad,) = torch.autograd.grad(r.sum(), x, allow_unused=True)
            grad = torch.zeros_like(x) if grad is None else grad
            g = grad * x.detach() if multiply_by_input else grad
            out.append((g * m.unsqueeze(2).to(g.dtype)).detach().cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def input_gradients(risk_fn: RiskFn, X, mask, *, feature_names: Sequence[str] | None = None,
                    multiply_by_input: bool = False, align: str = "input") -> pd.DataFrame:
    """Mean over the n sequences of ``|d risk / d X|`` (or ``|gradient x input|``) per (step, feature).

    Returns a tidy frame with columns ``step`` (0 = oldest .. L-1 = most recent), ``feature`` and
    ``mean_abs_gradient`` (``mean_abs_gradient_x_input``), sorted by step then feature; padded steps
    count as 0. ``align="right"`` first shifts each right-padded sequence so its last real step is
    step L-1 (useful when lengths differ); the default ``"input"`` keeps the positions of X.
    """
    if align not in ("input", "right"):
        raise InvalidParameterError(f"align must be 'input' or 'right', but was {align!r}")
    X, m, names = _checked(X, mask, feature_names)
    raw = np.abs(_raw(risk_fn, X, m, multiply_by_input))
    if align == "right":
        n, L = m.shape
        last = L - 1 - np.argmax(m.cpu().numpy()[:, ::-1], axis=1)  # position of each last real step
        source = np.arange(L)[None, :] - (L - 1 - last)[:, None]
        raw = np.where((source >= 0)[:, :, None], raw[np.arange(n)[:, None], np.clip(source, 0, None)], 0.0)
    g = raw.mean(axis=0)
    column = "mean_abs_gradient_x_input" if multiply_by_input else "mean_abs_gradient"
    steps, feats = np.meshgrid(np.arange(g.shape[0]), np.arange(g.shape[1]), indexing="ij")
    frame = pd.DataFrame({"step": steps.ravel(), "feature": [names[j] for j in feats.ravel()], column: g.ravel()})
    return frame.sort_values(["step", "feature"], kind="mergesort", ignore_index=True)


@dataclass(frozen=True, eq=False)
class LocalSurrogate:
    """Weighted linear fit of the log-risk around one sequence.

    ``coefficients``: step, feature, coefficient (log-risk per input unit; largest ``|coefficient|``
    first); ``intercept``: the fitted plane at input 0; ``r2``: weighted R^2 of the fit on the
    perturbed samples; ``prediction``: risk_fn at the sequence itself.
    """

    coefficients: pd.DataFrame
    intercept: float
    r2: float
    prediction: float

    def plot(self, ax=None, top: int = 10):
        """Horizontal bar chart of the ``top`` largest ``|coefficients|``; returns the matplotlib Axes."""
        ax = _axes(ax, (6, 3.5))
        part = self.coefficients.head(top).iloc[::-1]
        labels = [f"{f} (step {s})" for s, f in zip(part["step"], part["feature"])]
        ax.barh(labels, part["coefficient"], color=np.where(part["coefficient"] > 0, "C3", "C0"))
        ax.axvline(0.0, color="0.3", lw=0.8)
        ax.set_xlabel("local effect on log-risk per input unit")
        ax.set_title(f"local surrogate (weighted R^2 = {self.r2:.2f})")
        return ax


def local_surrogate(risk_fn: RiskFn, x, mask_row, *, n_samples: int = 1000, kernel_width: float | None = None,
                    scale=None, seed: int = 0, feature_names: Sequence[str] | None = None) -> LocalSurrogate:
    """LIME-style linear surrogate around one sequence ``x`` (L, p) with ``mask_row`` (L,).

    Draws ``n_samples`` copies x + N(0, scale_j^2) noise on the real steps only (``scale`` (p,), e.g.
    per-feature SDs; default 1), evaluates risk_fn on them in batches (no autograd), weights sample s
    by exp(-d_s^2 / kernel_width^2), d_s = Euclidean norm of the standardised noise (default width
    0.75 sqrt(#perturbed entries), LIME's default; LIME itself takes the square root of this kernel),
    and fits weighted least squares of the risk on the perturbed entries plus an intercept (one
    coefficient per real (step, feature)). Noise from numpy.random.default_rng(seed): deterministic.
    """
    X, mask, names = _checked(torch.as_tensor(x).unsqueeze(0), torch.as_tensor(mask_row).unsqueeze(0), feature_names)
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 10:
        raise InvalidParameterError(f"n_samples must be an integer >= 10, but was {n_samples!r}")
    L, p = X.shape[1:]
    sd = np.ones(p) if scale is None else np.asarray(scale, dtype=np.float64).reshape(-1)
    if sd.shape != (p,) or not (np.isfinite(sd) & (sd > 0)).all():
        raise InvalidParameterError(f"scale must hold {p} positive finite values, but was {scale!r}")
    steps = np.flatnonzero(mask[0].cpu().numpy())
    n_entries = len(steps) * p
    width = 0.75 * np.sqrt(n_entries) if kernel_width is None else float(kernel_width)
    if not np.isfinite(width) or width <= 0:
        raise InvalidParameterError(f"kernel_width must be positive, but was {kernel_width!r}")
    z = np.random.default_rng(seed).standard_normal((n_samples, len(steps), p))
    base = X[0].cpu().double().numpy().copy()  # never a view of the caller's x
    samples = np.repeat(base[None], n_samples, axis=0)
    samples[:, steps, :] += z * sd
    w = np.exp(-(z.reshape(n_samples, -1) ** 2).sum(axis=1) / width ** 2)
    masks = mask.expand(n_samples, -1)
    with torch.no_grad():
        risk = torch.cat([_risk(risk_fn, torch.from_numpy(samples[k:k + CHUNK]).to(X.dtype), masks[k:k + CHUNK])
                          for k in range(0, n_samples, CHUNK)]).detach().double().cpu().numpy()
        at_x = float(_risk(risk_fn, X, mask)[0])
    # regress on the deviations from x (better conditioned; same slopes), then move the intercept to input 0
    dev = (samples - base[None])[:, steps, :].reshape(n_samples, -1)
    root, design = np.sqrt(w), np.column_stack([np.ones(n_samples), dev])
    beta, *_ = np.linalg.lstsq(design * root[:, None], risk * root, rcond=None)
    resid = risk - design @ beta
    ss_res, ss_tot = np.average(resid ** 2, weights=w), np.average((risk - np.average(risk, weights=w)) ** 2, weights=w)
    r2, slopes = (1.0 - ss_res / ss_tot if ss_tot > 1e-300 else 1.0), beta[1:]
    intercept = float(beta[0] - slopes @ base[steps, :].reshape(-1))
    coef = pd.DataFrame({"step": np.repeat(steps, p), "feature": names * len(steps), "coefficient": slopes})
    order = np.argsort(-np.abs(slopes), kind="stable")
    return LocalSurrogate(coef.iloc[order].reset_index(drop=True), intercept, float(r2), at_x)


@dataclass(frozen=True, eq=False)
class FeatureEmbedding:
    """``coordinates`` (n, 2), ``group`` (n,) "high"/"low" predicted risk, ``method`` ("pca" or
    "tsne"), ``explained_variance_ratio`` (PCA: every component, largest first; t-SNE: None)."""

    coordinates: np.ndarray
    group: np.ndarray
    method: str
    explained_variance_ratio: np.ndarray | None

    def plot(self, ax=None, title: str | None = None):
        """Scatter of the 2-D coordinates coloured by risk group, with a legend; returns the Axes."""
        ax = _axes(ax, (5, 4))
        for label, colour in (("low", "C0"), ("high", "C3")):
            pts = self.coordinates[self.group == label]
            ax.scatter(pts[:, 0], pts[:, 1], s=12, alpha=0.7, color=colour, label=f"{label} predicted risk")
        name = {"pca": "PCA", "tsne": "t-SNE"}[self.method]
        ax.set(xlabel=f"{name} 1", ylabel=f"{name} 2")
        ax.set_title(title or f"learned features ({name})")
        ax.legend()
        return ax

    def save(self, path, title: str | None = None) -> None:
        """Write the plot as a PNG (dpi 110) with the Agg canvas; no pyplot state is touched."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5, 4))
        FigureCanvasAgg(fig)
        self.plot(fig.add_subplot(), title=title)
        fig.savefig(path, dpi=110, bbox_inches="tight", format="png")


def _numpy(a) -> np.ndarray:
    return a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)


def feature_embedding(features, risk, *, method: str = "pca", seed: int = 0,
                      high_risk_quantile: float = 0.5) -> FeatureEmbedding:
    """2-D map of ``features`` (n, d) (numpy or tensor); risk (n,) above its ``high_risk_quantile``
    quantile is "high", else "low". PCA: centred SVD, components by decreasing variance, signs fixed
    so each axis's largest loading is positive; t-SNE: sklearn TSNE(init="pca", random_state=seed,
    perplexity=min(30, (n-1)/3))."""
    if method not in ("pca", "tsne"):
        raise InvalidParameterError(f"method must be 'pca' or 'tsne', but was {method!r}")
    F, r = _numpy(features), _numpy(risk).reshape(-1)
    if F.ndim != 2:
        raise InvalidParameterError(f"features must have shape (n, d), but has shape {F.shape}")
    if len(F) != len(r):
        raise InvalidParameterError(f"features and risk must have the same length, but have {len(F)} and {len(r)}")
    if not 0.0 <= high_risk_quantile <= 1.0:
        raise InvalidParameterError(f"high_risk_quantile must be in [0, 1], but was {high_risk_quantile!r}")
    group = np.where(r > np.quantile(r, high_risk_quantile), "high", "low")
    if method == "pca":
        u, s, vt = np.linalg.svd(F - F.mean(axis=0), full_matrices=False)
        sign = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
        coords = (u * s * np.where(sign == 0, 1.0, sign))[:, :2]
        coords = np.column_stack([coords, np.zeros((len(F), 2 - coords.shape[1]))])
        var = s ** 2
        return FeatureEmbedding(coords, group, method, var / var.sum() if var.sum() > 0 else var)
    if len(F) < 4:
        raise InvalidParameterError(f"method 'tsne' needs at least 4 points, but features has {len(F)}")
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, random_state=seed, init="pca", perplexity=min(30.0, (len(F) - 1) / 3))
    return FeatureEmbedding(tsne.fit_transform(F), group, method, None)
