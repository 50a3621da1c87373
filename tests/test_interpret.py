"""Interpretation tools against closed forms.

- A linear risk r(X) = sum_{l,j} W_lj X_lj m_l (m = mask) has d r / d X_lj = W_lj m_l exactly, and
  gradient x input W_lj X_lj m_l.
- Weighted least squares of an exactly linear function on its own inputs has zero residuals, so it
  returns the slopes W and R^2 = 1 (up to rounding).
- For f(x) = x^2 around x0 with symmetric noise e: f = x0^2 + 2 x0 e + e^2; the e^2 term is even in
  e and the kernel weights depend on |e| only, so E[w e e^2] = 0 and the WLS slope is unbiased 2 x0.
- Points x_i = c + t_i v on a line have a centred matrix of rank 1: one principal component with
  explained-variance ratio 1 and PCA coordinates ((t_i - mean t) ||v||, 0).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from pysurvbridge.errors import InvalidParameterError  # noqa: E402
from pysurvbridge.interpret import (  # noqa: E402
    LocalSurrogate, feature_embedding, input_gradients, input_gradients_raw, local_surrogate,
)

W = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]])  # (L = 3 steps, p = 2 features)


def linear_risk(X, mask):
    """r = sum_{l,j} W_lj X_lj over real steps: gradient W * mask."""
    return (X * torch.as_tensor(W, dtype=X.dtype) * mask.unsqueeze(2).to(X.dtype)).sum(dim=(1, 2))


def square_risk(X, mask):
    """r = sum_{l,j} X_lj^2 over real steps: gradient 2 X * mask."""
    return (X ** 2 * mask.unsqueeze(2).to(X.dtype)).sum(dim=(1, 2))


@pytest.fixture
def batch():
    """6 sequences, L = 3, p = 2 (float64), right-padded with lengths 3, 2, 1, 3, 1, 2."""
    X = torch.tensor(np.random.default_rng(0).normal(size=(6, 3, 2)))
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=torch.bool)
    return X, mask


def test_mean_abs_gradient_of_a_linear_risk_is_abs_w_on_real_steps(batch):
    X, _ = batch
    mask = torch.tensor([[True, True, False]] * 6)  # the most recent step is padding in every sequence
    before = X.clone()
    out = input_gradients(linear_risk, X, mask, feature_names=["a", "b"])
    assert list(out.columns) == ["step", "feature", "mean_abs_gradient"]
    assert out[["step", "feature"]].values.tolist() == [[0, "a"], [0, "b"], [1, "a"], [1, "b"], [2, "a"], [2, "b"]]
    # closed form: |W| on the real steps 0, 1 and 0 on the padded step 2
    expected = np.abs(W) * np.array([1.0, 1.0, 0.0])[:, None]
    np.testing.assert_allclose(out["mean_abs_gradient"].to_numpy(), expected.ravel(), rtol=0, atol=1e-12)
    assert torch.equal(X, before) and not X.requires_grad and X.grad is None  # caller's X untouched


def test_raw_gradients_and_gradient_x_input_with_mixed_padding(batch):
    X, mask = batch
    m = mask.numpy()[:, :, None]
    raw = input_gradients_raw(linear_risk, X, mask)
    assert raw.shape == (6, 3, 2) and raw.dtype == np.float64
    np.testing.assert_array_equal(raw, W[None] * m)  # d r / d X = W * mask, exactly
    # mean over sequences with padding as 0: |W| times the share of sequences with that step real
    share = m.mean(axis=0)  # steps 0, 1, 2 are real in 6/6, 4/6, 2/6 sequences
    out = input_gradients(linear_risk, X, mask)
    np.testing.assert_allclose(out["mean_abs_gradient"].to_numpy(), (np.abs(W) * share).ravel(), atol=1e-12)
    # gradient x input: mean over sequences of |W X m|
    times_x = input_gradients(linear_risk, X, mask, multiply_by_input=True)
    expected = np.abs(W[None] * X.numpy() * m).mean(axis=0)
    assert "mean_abs_gradient_x_input" in times_x.columns
    np.testing.assert_allclose(times_x["mean_abs_gradient_x_input"].to_numpy(), expected.ravel(), atol=1e-12)
    assert not X.requires_grad


def test_gradients_work_under_no_grad_and_on_float32(batch):
    X, mask = batch
    X32 = X.float()
    with torch.no_grad():
        raw = input_gradients_raw(square_risk, X32, mask)
        assert not torch.is_grad_enabled()  # the caller's grad mode is restored
    np.testing.assert_allclose(raw, 2 * X32.numpy() * mask.numpy()[:, :, None], rtol=1e-6)  # d x^2 = 2x


def test_right_alignment_puts_the_last_real_step_last(batch):
    X, mask = batch
    right = input_gradients(linear_risk, X, mask, align="right").set_index(["step", "feature"])["mean_abs_gradient"]
    # the last real step of a sequence of length k carries W[k - 1]; lengths are 3, 2, 1, 3, 1, 2
    lengths = mask.sum(1).numpy()
    last = np.abs(W[lengths - 1]).mean(axis=0)
    np.testing.assert_allclose([right[(2, "x0")], right[(2, "x1")]], last, atol=1e-12)


def test_local_surrogate_recovers_a_linear_function(batch):
    X, mask = batch
    x = X[1].clone()
    x[2] = 5.0  # padded step: must never be perturbed nor get a coefficient
    seen = []

    def risk(Xb, mb):
        seen.append(Xb[:, 2, :].clone())
        return linear_risk(Xb, mb)

    s = local_surrogate(risk, x, mask[1], n_samples=200, seed=1)
    assert isinstance(s, LocalSurrogate) and len(s.coefficients) == 4  # 2 real steps x 2 features
    got = {(int(r.step), r.feature): r.coefficient for r in s.coefficients.itertuples()}
    for step in (0, 1):
        for j, name in enumerate(("x0", "x1")):
            assert got[(step, name)] == pytest.approx(W[step, j], abs=1e-8)  # exact slopes of a plane
    assert s.r2 == pytest.approx(1.0, abs=1e-10) and s.intercept == pytest.approx(0.0, abs=1e-8)
    assert s.prediction == pytest.approx(float((W[:2] * x[:2].numpy()).sum()), abs=1e-12)  # r(x)
    assert all(torch.equal(v, torch.full_like(v, 5.0)) for v in seen)
    coef = s.coefficients["coefficient"].abs().to_numpy()
    assert (np.diff(coef) <= 0).all()  # largest |coefficient| first
    ax = s.plot()
    assert len(ax.patches) == 4
    plt.close(ax.figure)


def test_local_surrogate_slope_of_a_square_is_the_local_derivative():
    """f = sum x^2 on the real steps; the WLS slope is unbiased for 2 x0 (module docstring). With
    scale 0.05 the quadratic term has SD ~ sqrt(2) 0.05^2 ~ 0.0035, so a slope's standard error is
    ~ 0.0035 / (0.05 sqrt(n_eff ~ 1000)) ~ 0.002; the tolerance 0.15 is > 50 standard errors."""
    x = torch.tensor([[0.8, -0.4], [0.3, 1.2], [9.0, 9.0]], dtype=torch.float64)
    mask = torch.tensor([True, True, False])
    s = local_surrogate(square_risk, x, mask, n_samples=4000, scale=[0.05, 0.05], seed=0)
    got = {(int(r.step), r.feature): r.coefficient for r in s.coefficients.itertuples()}
    for (step, name), x0 in {(0, "x0"): 0.8, (0, "x1"): -0.4, (1, "x0"): 0.3, (1, "x1"): 1.2}.items():
        assert got[(step, name)] == pytest.approx(2 * x0, abs=0.15)
    assert s.r2 > 0.99  # the quadratic term is tiny next to the linear one at this scale
    # plane at input 0: f(x0) - 2 x0 . x0 = -sum x0^2 = -2.33 (+ the weighted mean of e^2, ~0.01)
    assert s.intercept == pytest.approx(-(0.8 ** 2 + 0.4 ** 2 + 0.3 ** 2 + 1.2 ** 2), abs=0.05)
    again = local_surrogate(square_risk, x, mask, n_samples=4000, scale=[0.05, 0.05], seed=0)
    assert again.coefficients.equals(s.coefficients) and again.intercept == s.intercept and again.r2 == s.r2
    other = local_surrogate(square_risk, x, mask, n_samples=4000, scale=[0.05, 0.05], seed=1)
    assert not np.allclose(other.coefficients.sort_values(["step", "feature"])["coefficient"],
                           s.coefficients.sort_values(["step", "feature"])["coefficient"], rtol=0, atol=1e-12)


def test_feature_embedding_pca_tsne_and_png(tmp_path):
    t = np.linspace(-1, 1, 40)
    v = np.array([1.0, 2.0, -1.0, 0.5, 3.0])
    line = np.outer(t, v) + 7.0  # 40 points on a line in 5-D
    emb = feature_embedding(torch.tensor(line), t, method="pca")
    assert emb.method == "pca" and emb.coordinates.shape == (40, 2)
    assert emb.explained_variance_ratio[0] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(emb.coordinates[:, 1], 0.0, atol=1e-10)
    # first coordinate = (t - mean t) ||v||, sign fixed by the largest loading (3.0 > 0)
    np.testing.assert_allclose(emb.coordinates[:, 0], (t - t.mean()) * np.linalg.norm(v), atol=1e-10)
    assert (emb.group == np.where(t > np.median(t), "high", "low")).all() and (emb.group == "high").sum() == 20
    rng = np.random.default_rng(0)
    ts = feature_embedding(rng.normal(size=(60, 6)), rng.normal(size=60), method="tsne", seed=0)
    assert ts.coordinates.shape == (60, 2) and ts.explained_variance_ratio is None
    ts.save(tmp_path / "tsne.png")
    png = (tmp_path / "tsne.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    ax = emb.plot(title="line")
    assert ax.get_title() == "line" and ax.get_legend() is not None
    plt.close(ax.figure)


def test_errors_name_the_argument_and_the_bad_value(batch):
    X, mask = batch
    with pytest.raises(InvalidParameterError, match=r"X must have shape \(n, L, p\), but has shape \(3, 2\)"):
        input_gradients(linear_risk, X[0], mask)
    with pytest.raises(InvalidParameterError, match=r"mask must have shape \(n, L\) = \(6, 3\), but has shape \(6, 2\)"):
        input_gradients(linear_risk, X, mask[:, :2])
    bad = mask.clone()
    bad[[1, 4]] = False
    with pytest.raises(InvalidParameterError, match=r"mask rows \[1, 4\] have no real step"):
        input_gradients(linear_risk, X, bad)
    with pytest.raises(InvalidParameterError, match=r"mask rows \[0, 1, 2, 3, 4\] have no real step"):
        input_gradients_raw(linear_risk, X, torch.zeros(6, 3, dtype=torch.bool))  # first 5 of 6
    with pytest.raises(InvalidParameterError, match="feature_names has 3 names for 2 features"):
        input_gradients(linear_risk, X, mask, feature_names=["a", "b", "c"])
    with pytest.raises(InvalidParameterError, match=r"risk_fn must return shape \(6,\), but returned \(6, 3\)"):
        input_gradients(lambda x, m: x.sum(2), X, mask)
    with pytest.raises(InvalidParameterError, match=r"risk_fn must return shape \(50,\), but returned \(50, 3, 2\)"):
        local_surrogate(lambda x, m: x, X[0], mask[0], n_samples=50)
    with pytest.raises(InvalidParameterError, match="not differentiable"):
        input_gradients(lambda x, m: linear_risk(x, m).detach(), X, mask)
    nan = X.clone()
    nan[2, 0, 1] = float("nan")
    with pytest.raises(InvalidParameterError, match=r"X has NaN or infinite values in rows \[2\]"):
        input_gradients(linear_risk, nan, mask)
    with pytest.raises(InvalidParameterError, match="n_samples must be an integer >= 10, but was 5"):
        local_surrogate(linear_risk, X[0], mask[0], n_samples=5)
    with pytest.raises(InvalidParameterError, match=r"scale must hold 2 positive finite values"):
        local_surrogate(linear_risk, X[0], mask[0], scale=[1.0, -1.0])
    with pytest.raises(InvalidParameterError, match="method must be 'pca' or 'tsne', but was 'umap'"):
        feature_embedding(np.zeros((5, 2)), np.zeros(5), method="umap")
    with pytest.raises(InvalidParameterError, match="features and risk must have the same length, but have 5 and 4"):
        feature_embedding(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(InvalidParameterError, match="align must be 'input' or 'right', but was 'left'"):
        input_gradients(linear_risk, X, mask, align="left")
