"""CoxVAE: the two ends of tau, the two learning rates, the paper's tau claim on surv-digits,
a linear special case that must equal a Cox model's ranking, plots, persistence, bad input.

References: the loss definitions (eq. 3 at tau = 0 is the Cox loss: its recorded validation
loss equals losses.cox_nll of the predicted risks; at tau = 1 the head receives no gradient:
its weights stay at their seeded initial values); Adam's first step moves every parameter
with a non-zero gradient by its learning rate (Kingma & Ba 2015, bias-corrected m/sqrt(v) =
sign(g)); the native Cox engine's fit (fit_cox) for the linear case; scipy's Spearman.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from pysurvbridge import metrics
from pysurvbridge.classical import fit_cox
from pysurvbridge.data import SurvivalData, load_digits_survival
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError
from pysurvbridge.losses import cox_nll
from pysurvbridge.models import CoxVAE

from ._data import weibull_ph


@pytest.fixture(scope="module")
def digits():
    d = load_digits_survival(seed=0)  # digits 0-4, the Nnet-survival design
    X = d.images.reshape(len(d.images), -1)
    order = np.random.default_rng(0).permutation(len(X))
    return SurvivalData.from_arrays(d.time, d.event, X), d.digits, np.sort(order[250:]), np.sort(order[:250])


def _initial(model: CoxVAE, n_features: int, seed: int = 0) -> nn.Module:
    """The network as fit() initialises it (torch.manual_seed(seed) right before the build)."""
    torch.manual_seed(seed)
    return model._build_network(n_features, None)


def test_tau_one_is_a_plain_vae_the_head_gets_no_gradient(digits):
    data, _, tr, _ = digits
    m = CoxVAE(tau=1.0, latent_dim=4).fit(data.subset(tr), epochs=3, batch_size=64, verbose=False)
    init = _initial(m, data.X.shape[1])
    torch.testing.assert_close(m.network_.cox.weight, init.cox.weight, rtol=0, atol=0)
    assert not torch.equal(m.network_.decoder[0].weight, init.decoder[0].weight)


def test_tau_zero_is_the_cox_loss_alone(digits):
    data, _, tr, te = digits
    m = CoxVAE(tau=0.0, latent_dim=4, sample_latent=False).fit(
        data.subset(tr), validation=data.subset(te), epochs=1, verbose=False)
    init = _initial(m, data.X.shape[1])
    torch.testing.assert_close(m.network_.decoder[0].weight, init.decoder[0].weight, rtol=0, atol=0)
    val = data.subset(te)
    ref = cox_nll(torch.tensor(m.predict_risk(val.X)), torch.tensor(val.time), torch.tensor(val.event.astype(float)))
    assert m.history_["val_loss"].iloc[0] == pytest.approx(float(ref), rel=1e-5)


def test_each_parameter_group_steps_at_its_own_learning_rate(digits):
    data, _, tr, _ = digits
    m = CoxVAE(latent_dim=4, lr_autoencoder=1e-3, lr_cox=1e-5, sample_latent=False).fit(
        data.subset(tr), epochs=1, verbose=False)  # one full-batch Adam step
    init = _initial(m, data.X.shape[1])
    head = (m.network_.cox.weight - init.cox.weight).abs()
    enc = (m.network_.encoder[0].weight - init.encoder[0].weight).abs().detach()
    np.testing.assert_allclose(head.detach().numpy(), 1e-5, rtol=1e-3)
    assert float(enc.max()) == pytest.approx(1e-3, rel=1e-3)


def test_small_tau_orders_the_embedding_by_risk_on_surv_digits(digits, tmp_path):
    data, digit, tr, te = digits
    m = CoxVAE(tau=0.01, encoder="conv", decoder="conv").fit(data.subset(tr), epochs=40, batch_size=64, verbose=False)
    test = data.subset(te)
    c = metrics.concordance_harrell(m.predict_risk(test.X), test.time, test.event)
    assert c > 0.7  # measured 0.75; the oracle (the digit) scores about 0.80 here
    Z = m.embed(test.X).to_numpy()
    Zc = Z - Z.mean(axis=0)
    pc1 = Zc @ np.linalg.svd(Zc, full_matrices=False)[2][0]
    assert abs(spearmanr(pc1, digit[te])[0]) > 0.7  # measured 0.91 (0.13 at tau = 0.5)
    m.plot_embedding(test.X, color=digit[te], label="digit").savefig(tmp_path / "embedding.png")
    m.plot_traversal().savefig(tmp_path / "traversal.png")
    import matplotlib.image

    for name in ("embedding.png", "traversal.png"):
        assert matplotlib.image.imread(tmp_path / name).shape[0] > 200
    assert m.traverse(0, [-4, 0, 4]).shape == (3, 64)
    assert list(m.hazard_ratios().index) == [f"z{j}" for j in range(1, 9)]
    surv = m.predict_survival(test.X[:5], [30, 365])
    assert surv.shape == (5, 2) and (np.diff(surv.to_numpy(), axis=1) <= 0).all()


def test_linear_encoder_without_noise_recovers_the_cox_ranking():
    data = weibull_ph(800, seed=3)
    m = CoxVAE(latent_dim=2, tau=0.0, encoder=nn.Linear(3, 4), reconstruction="gaussian", sample_latent=False,
               lr_autoencoder=1e-2, lr_cox=1e-2).fit(data, epochs=400, verbose=False)
    eta_cox = fit_cox(data, engine="native").predict_log_risk(data.X)
    assert spearmanr(m.predict_risk(data.X), eta_cox)[0] > 0.999


def test_save_load_round_trip(digits, tmp_path):
    data, _, tr, te = digits
    m = CoxVAE(latent_dim=3).fit(data.subset(tr), epochs=2, verbose=False)
    again = CoxVAE.load(m.save(tmp_path / "m"))
    np.testing.assert_array_equal(again.embed(data.X[te]).to_numpy(), m.embed(data.X[te]).to_numpy())
    np.testing.assert_array_equal(again.predict_survival(data.X[te], [100]).to_numpy(),
                                  m.predict_survival(data.X[te], [100]).to_numpy())
    custom = CoxVAE(latent_dim=2, encoder=nn.Linear(64, 4)).fit(data.subset(tr), epochs=1, verbose=False)
    path = custom.save(tmp_path / "custom")
    with pytest.raises(InvalidParameterError, match="pass the same architecture again"):
        CoxVAE.load(path)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_matches_cpu(digits):
    data, _, tr, te = digits
    kw = dict(epochs=5, batch_size=64, seed=0, verbose=False)
    cpu = CoxVAE(sample_latent=False).fit(data.subset(tr), device="cpu", **kw)
    gpu = CoxVAE(sample_latent=False).fit(data.subset(tr), device="cuda", **kw)
    assert gpu.device_.type == "cuda"
    np.testing.assert_allclose(gpu.embed(data.X[te]).to_numpy(), cpu.embed(data.X[te]).to_numpy(), atol=1e-3)


def test_bad_input(digits):
    data, _, tr, _ = digits
    loud = SurvivalData.from_arrays(data.time, data.event, data.X * 16)
    with pytest.raises(InvalidSurvivalDataError, match=r"needs values in \[0, 1\]"):
        CoxVAE().fit(loud, epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="lr_autoencoder= and lr_cox="):
        CoxVAE().fit(data, epochs=1, lr=1e-3, verbose=False)
    with pytest.raises(InvalidParameterError, match="tau must be in"):
        CoxVAE(tau=1.5).fit(data, epochs=1, verbose=False)  # checked at fit, as scikit-learn asks
    with pytest.raises(InvalidParameterError, match="encoder must be"):
        CoxVAE(encoder="resnet").fit(data, epochs=1, verbose=False)
    odd = SurvivalData.from_arrays(data.time, data.event, data.X[:, :60])
    with pytest.raises(InvalidParameterError, match="not a square"):
        CoxVAE(encoder="conv", decoder="conv").fit(odd, epochs=1, verbose=False)
    m = CoxVAE(latent_dim=2).fit(data.subset(tr), epochs=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="dim must be a latent axis"):
        m.traverse(5)
