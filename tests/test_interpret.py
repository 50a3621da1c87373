"""Interpretation tools against closed forms: a linear risk r = sum_{l,j} W_lj X_lj over real
steps has gradient W (and W * X with multiply_by_input), and a weighted least-squares surrogate
of a linear function recovers W exactly with R^2 = 1; PCA of points on a line has one component.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.interpret import feature_embedding, input_gradients, input_gradients_raw, local_surrogate

W = torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]])  # (L = 3, p = 2)


def linear_risk(X, mask):
    return (X * W.to(X.dtype) * mask.unsqueeze(2).to(X.dtype)).sum(dim=(1, 2))


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(6, 3, 2)), dtype=torch.float32)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=torch.bool)
    X[~mask] = 0.0
    return X, mask


def test_gradients_of_a_linear_risk_are_its_weights(batch):
    X, mask = batch
    before = X.clone()
    raw = input_gradients_raw(linear_risk, X, mask)
    expected = (W.numpy()[None] * mask.numpy()[:, :, None])
    np.testing.assert_allclose(raw, expected, rtol=1e-6)
    assert torch.equal(X, before) and not X.requires_grad
    times_x = input_gradients_raw(linear_risk, X, mask, multiply_by_input=True)
    np.testing.assert_allclose(times_x, expected * X.numpy(), rtol=1e-6)
    left = input_gradients(linear_risk, X, mask, feature_names=["a", "b"], align="left")
    mean_abs = np.abs(expected).mean(axis=0)  # (L, p)
    np.testing.assert_allclose(left["mean_abs_gradient"].to_numpy(), mean_abs.ravel(), rtol=1e-6)
    assert left[["step", "feature"]].values.tolist()[:2] == [[0, "a"], [0, "b"]]


def test_right_alignment_puts_the_last_real_step_last(batch):
    X, mask = batch
    right = input_gradients(linear_risk, X, mask, align="right").set_index(["step", "feature"])["mean_abs_gradient"]
    # the last real step of a sequence of length k carries W[k - 1]; lengths are 3, 2, 1, 3, 1, 2
    lengths = mask.sum(1).numpy()
    last = np.abs(W.numpy()[lengths - 1]).mean(axis=0)
    np.testing.assert_allclose([right[(2, "x0")], right[(2, "x1")]], last, rtol=1e-6)


def test_local_surrogate_recovers_a_linear_function(batch):
    X, mask = batch
    s = local_surrogate(linear_risk, X[1], mask[1], n_samples=200, seed=1)
    got = {(int(r.step), r.feature): r.coefficient for r in s.coefficients.itertuples()}
    for step in (0, 1):  # sequence 1 has two real steps
        for j, name in enumerate(("x0", "x1")):
            assert got[(step, name)] == pytest.approx(float(W[step, j]), abs=1e-6)  # float32 risk
    assert len(got) == 4 and s.r2 == pytest.approx(1.0) and s.intercept == pytest.approx(0.0, abs=1e-6)
    assert s.prediction == pytest.approx(float(linear_risk(X[1:2], mask[1:2])[0]))


def test_local_surrogate_slope_of_a_square_is_the_local_derivative():
    """f = sum x^2: with symmetric noise the weighted LS slope is unbiased for 2 x."""
    x = torch.tensor([[0.8, -0.4]])
    mask = torch.tensor([True])
    s = local_surrogate(lambda X, m: (X ** 2).sum(dim=(1, 2)), x, mask, n_samples=4000, scale=[0.05, 0.05], seed=0)
    got = dict(zip(s.coefficients["feature"], s.coefficients["coefficient"]))
    assert got["x0"] == pytest.approx(1.6, abs=0.15) and got["x1"] == pytest.approx(-0.8, abs=0.15)
    again = local_surrogate(lambda X, m: (X ** 2).sum(dim=(1, 2)), x, mask, n_samples=4000, scale=[0.05, 0.05], seed=0)
    assert again.coefficients.equals(s.coefficients)


def test_feature_embedding(tmp_path):
    t = np.linspace(-1, 1, 40)
    line = np.outer(t, [1.0, 2.0, -1.0, 0.5, 3.0]) + 7.0
    emb = feature_embedding(line, t, method="pca")
    assert emb.explained_variance_ratio[0] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(emb.coordinates[:, 1], 0.0, atol=1e-10)
    assert (emb.group == np.where(t > np.median(t), "high", "low")).all()
    rng = np.random.default_rng(0)
    ts = feature_embedding(rng.normal(size=(60, 6)), rng.normal(size=60), method="tsne")
    assert ts.coordinates.shape == (60, 2)
    ts.save(tmp_path / "tsne.png")
    assert (tmp_path / "tsne.png").stat().st_size > 5000


def test_errors(batch):
    X, mask = batch
    with pytest.raises(InvalidParameterError, match=r"X must have shape \(n, L, p\)"):
        input_gradients(linear_risk, X[0], mask)
    with pytest.raises(InvalidParameterError, match=r"mask must have shape \(6, 3\)"):
        input_gradients(linear_risk, X, mask[:, :2])
    bad = mask.clone()
    bad[4] = False
    with pytest.raises(InvalidParameterError, match=r"mask rows \[4\] have no real step"):
        input_gradients(linear_risk, X, bad)
    with pytest.raises(InvalidParameterError, match="feature_names has 3 names for 2 features"):
        input_gradients(linear_risk, X, mask, feature_names=["a", "b", "c"])
    with pytest.raises(InvalidParameterError, match=r"must return shape \(6,\), but returned \(6, 3\)"):
        input_gradients(lambda x, m: x.sum(2), X, mask)
    with pytest.raises(InvalidParameterError, match="n_samples must be an integer >= 10"):
        local_surrogate(linear_risk, X[0], mask[0], n_samples=5)
    with pytest.raises(InvalidParameterError, match="method must be 'pca' or 'tsne'"):
        feature_embedding(np.zeros((5, 2)), np.zeros(5), method="umap")
    with pytest.raises(InvalidParameterError, match="must match"):
        feature_embedding(np.zeros((5, 2)), np.zeros(4))
    nan = X.clone()
    nan[2, 0, 1] = float("nan")
    with pytest.raises(InvalidParameterError, match=r"missing or infinite values in rows \[2\]"):
        input_gradients(linear_risk, nan, mask)
