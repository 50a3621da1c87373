"""Model-agnostic interpretation of sequence models (LSTM-Cox's "gradient test", a local
surrogate, and a 2-D map of learned features).

Every tool takes ``risk_fn(X, mask) -> (n,)``: a differentiable log-risk of n sequences X
(n, L, p) (L steps, oldest first; p features) with a boolean mask (n, L) of real steps.

- :func:`input_gradients`: d risk / d X per sequence, step and feature (the paper's gradient
  test), summarised as mean absolute values per (step, feature).
- :func:`local_surrogate`: a LIME-style local linear surrogate around one sequence. The
  ``lime`` package is optional and not installed here, so this is our own documented version of
  its tabular method: Gaussian perturbations of the real steps, an exponential kernel on the
  standardised distance (LIME's default width 0.75 sqrt(d)), and weighted least squares.
- :func:`feature_embedding`: PCA (numpy SVD) or t-SNE (scikit-learn) of learned features,
  coloured by high vs low predicted risk.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from pysurvbridge.errors import InvalidParameterError

__all__ = ["input_gradients", "input_gradients_raw", "local_surrogate", "LocalSurrogate",
           "feature_embedding", "FeatureEmbedding"]

RiskFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
CHUNK = 4096


def _checked(X, mask, feature_names) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    X = torch.as_tensor(X).detach()
    if X.dim() != 3:
        raise InvalidParameterError(f"X must have shape (n, L, p), but has {tuple(X.shape)}")
    mask = torch.as_tensor(mask).detach().bool()
    if tuple(mask.shape) != tuple(X.shape[:2]):
        raise InvalidParameterError(f"mask must have shape {tuple(X.shape[:2])}, but has {tuple(mask.shape)}")
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        raise InvalidParameterError(f"mask rows {torch.nonzero(empty).squeeze(1)[:5].tolist()} have no real step")
    bad = ~torch.isfinite(X.float()).reshape(X.shape[0], -1).all(dim=1)
    if bool(bad.any()):
        raise InvalidParameterError(f"X has missing or infinite values in rows {torch.nonzero(bad).squeeze(1)[:5].tolist()}")
    names = [f"x{j}" for j in range(X.shape[2])] if feature_names is None else list(feature_names)
    if len(names) != X.shape[2]:
        raise InvalidParameterError(f"feature_names has {len(names)} names for {X.shape[2]} features")
    return X, mask, names


def _risk(risk_fn: RiskFn, X: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r = risk_fn(X, mask)
    if tuple(r.shape) not in ((X.shape[0],), (X.shape[0], 1)):
        raise InvalidParameterError(f"risk_fn must return shape ({X.shape[0]},), but returned {tuple(r.shape)}")
    return r.reshape(-1)


def input_gradients_raw(risk_fn: RiskFn, X, mask, *, multiply_by_input: bool = False) -> np.ndarray:
    """(n, L, p) d risk_i / d X_i (times X_i when ``multiply_by_input``); 0 on padded steps.
    X is copied, never modified."""
    X, mask, _ = _checked(X, mask, None)
    out = []
    for k in range(0, X.shape[0], CHUNK):
        x = X[k:k + CHUNK].clone().float().requires_grad_(True)
        m = mask[k:k + CHUNK]
        (grad,) = torch.autograd.grad(_risk(risk_fn, x, m).sum(), x)
        g = grad * x.detach() if multiply_by_input else grad
        out.append((g * m.unsqueeze(2)).detach().cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def input_gradients(risk_fn: RiskFn, X, mask, *, feature_names: Sequence[str] | None = None,
                    multiply_by_input: bool = False, align: str = "right") -> pd.DataFrame:
    """Mean absolute attribution per (step, feature) over sequences: columns step, feature, and
    mean_abs_gradient (or mean_abs_gradient_x_input). Padded steps count as 0.

    ``align="right"`` (default) shifts each sequence so its last real step is step L-1 (the most
    recent, e.g. the interval being predicted) and step L-1-k is k steps earlier; "left" keeps
    the input positions (step 0 = each sequence's first real step).
    """
    if align not in ("right", "left"):
        raise InvalidParameterError(f"align must be 'right' or 'left', but was {align!r}")
    _, m, names = _checked(X, mask, feature_names)
    raw = np.abs(input_gradients_raw(risk_fn, X, mask, multiply_by_input=multiply_by_input))
    if align == "right":
        L = raw.shape[1]
        shift = L - m.numpy().sum(axis=1)
        source = np.arange(L)[None, :] - shift[:, None]  # right-aligned position <- input position
        valid = source >= 0
        raw = np.where(valid[:, :, None], raw[np.arange(len(raw))[:, None], np.clip(source, 0, None)], 0.0)
    g = raw.mean(axis=0)
    column = "mean_abs_gradient_x_input" if multiply_by_input else "mean_abs_gradient"
    steps, feats = np.meshgrid(np.arange(g.shape[0]), np.arange(g.shape[1]), indexing="ij")
    return pd.DataFrame({"step": steps.ravel(), "feature": [names[j] for j in feats.ravel()],
                         column: g.ravel()}).sort_values(["step", "feature"], ignore_index=True)


@dataclass(frozen=True)
class LocalSurrogate:
    """Weighted linear fit of the risk around one sequence: ``coefficients`` (step, feature,
    coefficient; largest |coefficient| first), ``intercept``, ``r2`` (weighted R^2), and
    ``prediction`` (the model's risk at the sequence itself)."""

    coefficients: pd.DataFrame
    intercept: float
    r2: float
    prediction: float

    def plot(self, ax=None, top: int = 10):
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 3.5))[1]
        part = self.coefficients.head(top).iloc[::-1]
        labels = [f"{f} (step {s})" for s, f in zip(part["step"], part["feature"])]
        ax.barh(labels, part["coefficient"], color=np.where(part["coefficient"] > 0, "C3", "C0"))
        ax.set_xlabel("local effect on log-risk per unit of input")
        ax.set_title(f"local surrogate (weighted R^2 = {self.r2:.2f})")
        return ax


def local_surrogate(risk_fn: RiskFn, x, mask_row, *, n_samples: int = 1000, kernel_width: float | None = None,
                    scale=None, seed: int = 0, feature_names: Sequence[str] | None = None) -> LocalSurrogate:
    """LIME-style surrogate around one sequence ``x`` (L, p) with ``mask_row`` (L,).

    Samples x + N(0, scale_j^2) on the real steps (``scale`` (p,), default 1), weights them by
    exp(-d^2 / kernel_width^2) with d the Euclidean distance of the standardised perturbation
    (default width 0.75 sqrt(number of perturbed entries), as LIME), and fits weighted least
    squares of the risk on the perturbed entries plus an intercept. Deterministic under ``seed``.
    """
    X, mask, names = _checked(torch.as_tensor(x).unsqueeze(0), torch.as_tensor(mask_row).unsqueeze(0), feature_names)
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 10:
        raise InvalidParameterError(f"n_samples must be an integer >= 10, but was {n_samples!r}")
    L, p = X.shape[1:]
    sd = np.ones(p) if scale is None else np.asarray(scale, dtype=np.float64)
    if sd.shape != (p,) or not (sd > 0).all():
        raise InvalidParameterError(f"scale must be {p} positive values, but was {scale!r}")
    steps = np.flatnonzero(mask[0].numpy())
    d = len(steps) * p
    z = np.random.default_rng(seed).standard_normal((n_samples, len(steps), p))
    base = X[0].double().numpy()
    samples = np.repeat(base[None], n_samples, axis=0)
    samples[:, steps, :] += z * sd
    width = 0.75 * np.sqrt(d) if kernel_width is None else float(kernel_width)
    w = np.exp(-(z.reshape(n_samples, -1) ** 2).sum(axis=1) / width ** 2)
    masks = mask.expand(n_samples, -1)
    with torch.no_grad():
        risk = torch.cat([_risk(risk_fn, torch.from_numpy(samples[k:k + CHUNK]).to(X.dtype), masks[k:k + CHUNK])
                          for k in range(0, n_samples, CHUNK)]).double().cpu().numpy()
        at_x = float(_risk(risk_fn, X, mask)[0])
    design = np.column_stack([np.ones(n_samples), samples[:, steps, :].reshape(n_samples, -1)])
    root = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(design * root[:, None], risk * root, rcond=None)
    fitted = design @ beta
    mean = np.average(risk, weights=w)
    r2 = 1.0 - np.average((risk - fitted) ** 2, weights=w) / max(np.average((risk - mean) ** 2, weights=w), 1e-300)
    coef = pd.DataFrame({"step": np.repeat(steps, p), "feature": names * len(steps), "coefficient": beta[1:]})
    coef = coef.reindex(coef["coefficient"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    return LocalSurrogate(coef, float(beta[0]), float(r2), at_x)


@dataclass(frozen=True)
class FeatureEmbedding:
    """``coordinates`` (n, 2), ``group`` (n,) "high"/"low" predicted risk, ``method``, and
    ``explained_variance_ratio`` (PCA: all components, largest first; t-SNE: None)."""

    coordinates: np.ndarray
    group: np.ndarray
    method: str
    explained_variance_ratio: np.ndarray | None

    def plot(self, ax=None, title: str | None = None):
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5, 4))[1]
        for label, colour in (("low", "C0"), ("high", "C3")):
            pts = self.coordinates[self.group == label]
            ax.scatter(pts[:, 0], pts[:, 1], s=12, alpha=0.7, color=colour, label=f"{label} predicted risk")
        ax.set_title(title or f"learned features ({ {'pca': 'PCA', 'tsne': 't-SNE'}[self.method] })")
        ax.legend()
        return ax

    def save(self, path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        ax = self.plot()
        ax.figure.savefig(path, dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(ax.figure)


def feature_embedding(features, risk, *, method: str = "pca", seed: int = 0,
                      high_risk_quantile: float = 0.5) -> FeatureEmbedding:
    """2-D map of ``features`` (n, d); points with risk above its ``high_risk_quantile``
    quantile are "high". PCA: centred SVD; t-SNE: sklearn TSNE(init="pca", random_state=seed)."""
    F = np.asarray(torch.as_tensor(features).detach().cpu().double().numpy() if isinstance(features, torch.Tensor)
                   else features, dtype=np.float64)
    r = np.asarray(risk.detach().cpu().numpy() if isinstance(risk, torch.Tensor) else risk, dtype=np.float64)
    if method not in ("pca", "tsne"):
        raise InvalidParameterError(f"method must be 'pca' or 'tsne', but was {method!r}")
    if F.ndim != 2 or len(F) != len(r):
        raise InvalidParameterError(f"features (n, d) and risk (n,) must match; got {F.shape} and {r.shape}")
    group = np.where(r > np.quantile(r, high_risk_quantile), "high", "low")
    if method == "pca":
        centred = F - F.mean(axis=0)
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
        coords = u[:, :2] * s[:2]
        if coords.shape[1] < 2:
            coords = np.column_stack([coords, np.zeros(len(F))])
        var = s ** 2
        return FeatureEmbedding(coords, group, method, var / var.sum() if var.sum() > 0 else var)
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, random_state=seed, init="pca", perplexity=min(30.0, (len(F) - 1) / 3))
    return FeatureEmbedding(tsne.fit_transform(F), group, method, None)
