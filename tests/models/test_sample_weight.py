"""Case weights of the neural models: ``fit(..., sample_weight=)``.

References, each an independent computation: repeating rows (``np.repeat`` / ``subset`` of
repeated positions) for integer frequency weights, which the weighted losses equal in closed
form (tests/test_losses*.py); the unweighted fit for weights of 1 (bit for bit on the CPU);
numpy's own ``np.quantile`` of the repeated event times for the weighted quantile breaks; the
weighted Breslow estimator written out as a loop (sum of the weights of the events at s over
sum_{at risk} w exp(eta)); the model's own per-fold fits for scikit-learn's
``cross_validate(params=)``; ``validation_rows`` (the loop's seeded split) for the weights of a
validation fraction.
"""
from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_validate
from sksurv.util import Surv

from pysurvbridge.data import (
    MultiEventData,
    RecurrentData,
    SurvivalData,
    bladder1_recurrent,
)
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.losses import discrete_nll
from pysurvbridge.models import MENSA, CoxVAE, DeepSurv, LSTMCox, NnetSurvival
from pysurvbridge.models.base import SurvivalModel
from pysurvbridge.models.baseline import BreslowBaseline
from pysurvbridge.models.batches import validation_rows
from pysurvbridge.models.fused_step import FusedDiscreteStep
from pysurvbridge.models.nnet_survival import weighted_quantile

from ._data import weibull_ph

QUIET = dict(verbose=False, device="cpu")
N = 90


@pytest.fixture(scope="module")
def data() -> SurvivalData:
    return weibull_ph(N, seed=5)


@pytest.fixture(scope="module")
def multi() -> MultiEventData:
    """Two events per subject (the first tends to precede the second), independent censoring."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, 2))
    t1 = rng.exponential(np.exp(-0.5 * X[:, 0]))
    t2 = t1 + rng.exponential(1.0, N)
    c = rng.uniform(0.5, 3.0, N)
    times = np.column_stack([np.minimum(t1, c), np.minimum(t2, c)])
    events = np.column_stack([t1 <= c, t2 <= c]).astype(int)
    return MultiEventData(times, events, X, ("a", "b"), ("first", "second"))


@pytest.fixture(scope="module")
def recurrent() -> RecurrentData:
    """bladder1's first 40 subjects (R's survival::bladder1)."""
    data = bladder1_recurrent()
    return data.subset(np.asarray(data.ids)[:40])


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.network_.state_dict().items()}


def _identical(a, b) -> bool:
    sa, sb = _state(a), _state(b)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


#: name -> (a small, fast model, which data fixture it fits)
MODELS = {
    "DeepSurv": (lambda **kw: DeepSurv(hidden=(4,), dropout=0.0, **kw), "data"),
    "NnetSurvival-fused": (lambda **kw: NnetSurvival(4, hidden=(4,), **kw), "data"),
    "NnetSurvival-autograd": (lambda **kw: NnetSurvival(4, head="proportional", hidden=(4,), fused_step=False,
                                                        **kw), "data"),
    "MENSA-single": (lambda **kw: MENSA(n_dists=2, hidden=(4,), mode="single", dropout=0.0, **kw), "data"),
    "MENSA-multi": (lambda **kw: MENSA(n_dists=2, hidden=(4,), trajectories=[(0, 1)], dropout=0.0, **kw), "multi"),
    "CoxVAE": (lambda lr=1e-3, **kw: CoxVAE(latent_dim=2, hidden=(4,), reconstruction="gaussian", lr_autoencoder=lr,
                                            lr_cox=lr, **kw), "data"),
    "LSTMCox": (lambda **kw: LSTMCox(dropout=0.0, **kw), "recurrent"),
}


def _subjects(d) -> int:
    return d.n_subjects if isinstance(d, RecurrentData) else len(d)


# ---------------------------------------------------------------------- (b) weights of 1
@pytest.mark.parametrize("name,batch_size", [(name, None) for name in MODELS]
                         + [(name, 32) for name in MODELS if name not in ("MENSA-single", "LSTMCox")])
def test_unit_weights_give_the_unweighted_fit_bit_for_bit(name, batch_size, request):
    make, which = MODELS[name]
    d = request.getfixturevalue(which)
    kw = dict(epochs=2, lr=1e-2, batch_size=batch_size, random_state=3, **QUIET)
    plain = make(**kw).fit(d)
    unit = make(**kw).fit(d, sample_weight=np.ones(_subjects(d)))
    assert _identical(plain, unit)
    np.testing.assert_array_equal(plain.history_["train_loss"], unit.history_["train_loss"])
    if hasattr(plain, "baseline_"):
        np.testing.assert_array_equal(plain.baseline_.cumhaz, unit.baseline_.cumhaz)


# ---------------------------------------------------------------------- (c) weight 2 = a duplicate
def _doubled(d, chosen: np.ndarray):
    """(data with the chosen subjects repeated, weights 2 on them): frequency weights' reference."""
    n = _subjects(d)
    w = np.where(chosen, 2.0, 1.0)
    if isinstance(d, RecurrentData):
        f = d.frame
        copies = f.loc[f["id"].isin(np.asarray(d.ids)[chosen])].assign(id=lambda x: x["id"] + 100000)
        both = pd.concat([f, copies], ignore_index=True)
        return RecurrentData.from_frame(both, id="id", start="start", stop="stop", event="event",
                                        covariates=list(d.covariates)), w
    return d.subset(np.repeat(np.arange(n), w.astype(int))), w


#: name -> (model without randomness in its training loss, which subjects are doubled)
FREQUENCY = {
    # Breslow ties: a doubled event is two tied events, as a weight of 2 (Efron differs, by design)
    "DeepSurv": (lambda **kw: DeepSurv(hidden=(4,), dropout=0.0, ties="breslow", **kw), "data", "any"),
    # breaks as an array: quantile breaks from weights are scale-free, so near but not equal to
    # those of the repeated times (test_weighted_quantile_breaks below)
    "NnetSurvival": (lambda **kw: NnetSurvival([0, 300, 700, 1200, 1825], hidden=(4,), **kw), "data", "any"),
    # no hidden layer: BatchNorm's batch statistics are not weighted (see MENSA's docstring)
    "MENSA-single": (lambda **kw: MENSA(n_dists=2, hidden=(), mode="single", **kw), "data", "any"),
    "MENSA-multi": (lambda **kw: MENSA(n_dists=2, hidden=(), trajectories=[(0, 1)], **kw), "multi", "any"),
    # Efron (CoxVAE's only ties): doubling censored subjects makes no tie; the latent mean, not a draw
    "CoxVAE": (lambda lr=1e-3, **kw: CoxVAE(latent_dim=2, hidden=(4,), reconstruction="gaussian",
                                            sample_latent=False, lr_autoencoder=lr, lr_cox=lr, **kw),
               "data", "censored"),
    "LSTMCox": (lambda **kw: LSTMCox(dropout=0.0, ties="breslow", **kw), "recurrent", "any"),
}


def _censored(d) -> np.ndarray:
    return np.asarray(d.event) == 0


@pytest.mark.parametrize("name", list(FREQUENCY))
def test_weight_two_equals_a_duplicated_subject(name, request):
    """Same seed, same initial network; full batch: the first epoch's loss (at the initial
    parameters) is the same number, and so is the loss of the fitted weighted model on the
    duplicated data and on the weighted data (the same parameters)."""
    make, which, who = FREQUENCY[name]
    d = request.getfixturevalue(which)
    n = _subjects(d)
    chosen = np.arange(n) % 3 == 0
    if who == "censored":
        chosen &= _censored(d)
    dup, w = _doubled(d, chosen)
    kw = dict(epochs=3, lr=1e-2, random_state=4, **QUIET)
    weighted = make(**kw).fit(d, sample_weight=w)
    repeated = make(**kw).fit(dup)
    rel = 1e-10 if name.startswith("MENSA") else 1e-6  # MENSA is float64; the others' networks float32
    assert weighted.history_["train_loss"][0] == pytest.approx(repeated.history_["train_loss"][0], rel=rel)
    assert weighted.loss(d, sample_weight=w) == pytest.approx(weighted.loss(dup), rel=rel)
    assert weighted.loss(d, sample_weight=w) != pytest.approx(weighted.loss(d), rel=1e-4)  # the weights count
    if name.startswith("MENSA"):
        assert weighted.time_unit_ == pytest.approx(repeated.time_unit_, rel=1e-14)
    np.testing.assert_allclose(weighted.scaler_.mean.numpy(), repeated.scaler_.mean.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(weighted.scaler_.scale.numpy(), repeated.scaler_.scale.numpy(), rtol=1e-12)


def test_weight_two_full_batch_fits_agree_to_rounding(data):
    """Full batch and no randomness in the loss: the weighted and the duplicated fits follow
    one trajectory up to float rounding (sums in another order), not bit for bit."""
    chosen = np.arange(N) % 4 == 0
    dup, w = _doubled(data, chosen)
    make = FREQUENCY["DeepSurv"][0]
    kw = dict(epochs=5, lr=1e-2, random_state=1, **QUIET)
    weighted, repeated = make(**kw).fit(data, sample_weight=w), make(**kw).fit(dup)
    np.testing.assert_allclose(weighted.history_["train_loss"], repeated.history_["train_loss"], rtol=1e-5)
    # the Cox loss does not see a constant added to the log-risk: compare centred risks
    a, b = weighted.predict_risk(data.X), repeated.predict_risk(data.X)
    np.testing.assert_allclose(a - a.mean(), b - b.mean(), rtol=1e-3, atol=1e-4)


def test_weighted_quantile_breaks():
    """References: np.quantile itself (equal weights, any scale), np.quantile of np.repeat for
    integer weights that sum to n (e.g. 2 on one subject and 0 on another)."""
    rng = np.random.default_rng(0)
    q = np.r_[np.linspace(0, 1, 8)[1:], 0.5, 0.01]
    for _ in range(200):
        v = np.round(rng.exponential(10, rng.integers(2, 25)), 1)  # ties on purpose
        np.testing.assert_array_equal(weighted_quantile(v, np.full(len(v), 0.01), q), np.quantile(v, q))
        k = rng.multinomial(len(v), np.full(len(v), 1 / len(v)))  # integers summing to n
        np.testing.assert_array_equal(weighted_quantile(v, k, q), np.quantile(np.repeat(v, k), q))
        w = rng.uniform(0.1, 3, len(v))
        np.testing.assert_allclose(weighted_quantile(v, w * 1e-3, q), weighted_quantile(v, w, q), rtol=1e-12)
    # in a fit: weights of 1e-3 everywhere are the unweighted breaks and horizon; others move them
    data = weibull_ph(200, seed=2)
    plain = NnetSurvival(6, epochs=1, **QUIET).fit(data)
    small = NnetSurvival(6, epochs=1, **QUIET).fit(data, sample_weight=np.full(200, 1e-3))
    np.testing.assert_array_equal(small.breaks_, plain.breaks_)
    assert small.horizon_ == plain.horizon_
    late = np.where(data.time > np.median(data.time), 5.0, 1.0)
    moved = NnetSurvival(6, epochs=1, **QUIET).fit(data, sample_weight=late)
    assert moved.breaks_[3] > plain.breaks_[3]


# ---------------------------------------------------------------------- what the weights reach
def test_weighted_breslow_baseline_is_the_written_out_estimator():
    rng = np.random.default_rng(2)
    n = 40
    time = np.round(rng.exponential(5, n)) + 1  # ties
    event = rng.binomial(1, 0.7, n)
    eta, w = rng.normal(size=n), rng.uniform(0.3, 3.0, n)
    base = BreslowBaseline.fit(eta, time, event, weights=w)
    times = np.unique(time[event == 1])
    hazard = [w[(time == s) & (event == 1)].sum() / (w * np.exp(eta))[time >= s].sum() for s in times]
    np.testing.assert_array_equal(base.times, times)
    np.testing.assert_allclose(base.cumhaz, np.cumsum(hazard), rtol=1e-12)
    # (start, stop] rows: at risk when start < s <= stop
    start = np.where(rng.random(n) < 0.5, 0.0, np.maximum(time - 2, 0))
    base = BreslowBaseline.fit(eta, time, event, start, weights=w)
    hazard = [w[(time == s) & (event == 1)].sum() / (w * np.exp(eta))[(time >= s) & (start < s)].sum()
              for s in times]
    np.testing.assert_allclose(base.cumhaz, np.cumsum(hazard), rtol=1e-12)


def test_a_deepsurv_fit_keeps_the_weighted_baseline(data):
    w = np.random.default_rng(3).uniform(0.5, 2.0, N)
    m = DeepSurv(hidden=(4,), epochs=2, **QUIET).fit(data, sample_weight=w)
    eta = m.predict_risk(data.X)
    ref = BreslowBaseline.fit(eta, data.time, data.event, weights=w)
    np.testing.assert_allclose(m.baseline_.cumhaz, ref.cumhaz, rtol=1e-5)
    unweighted = BreslowBaseline.fit(eta, data.time, data.event)
    assert not np.allclose(m.baseline_.cumhaz, unweighted.cumhaz, rtol=1e-3)


class _Spy(DeepSurv):
    """Records the (targets, weights) each training batch's loss receives."""

    def _loss(self, output, targets, weights=None):
        if self.network_.training:
            self.seen.append((targets[0].clone(), None if weights is None else weights.clone()))
        return super()._loss(output, targets, weights)


def test_each_minibatch_carries_its_own_rows_weights(data):
    spy = _Spy(hidden=(4,), epochs=2, batch_size=16, **QUIET)
    spy.seen = []
    w = data.time + 1.0  # a weight that names its row
    spy.fit(data, sample_weight=w)
    assert len(spy.seen) == 2 * int(np.ceil(N / 16))
    for time, weights in spy.seen:
        assert torch.equal(weights, time + 1.0)
    first_epoch = torch.cat([wt for _, wt in spy.seen[: len(spy.seen) // 2]])
    np.testing.assert_array_equal(np.sort(first_epoch.numpy()), np.sort(w))


def test_a_validation_fraction_takes_its_subjects_weights(data):
    w = np.random.default_rng(4).uniform(0.2, 5.0, N)
    m = DeepSurv(hidden=(4,), dropout=0.0, epochs=4, lr=1e-2, validation=0.3, **QUIET).fit(data, sample_weight=w)
    _, val_rows = validation_rows(N, 0.3, 0)  # the loop's split under random_state=0
    best = m.history_["val_loss"][m.best_epoch_ - 1]
    val = data.subset(val_rows)
    assert m.loss(val, sample_weight=w[val_rows]) == pytest.approx(best, rel=1e-12)
    assert m.loss(val) != pytest.approx(best, rel=1e-4)


def test_fused_step_weighted_gradient_equals_autograd():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4))
    x = torch.randn(20, 3)
    n_survived = torch.randint(0, 4, (20,))
    failed = torch.where(torch.rand(20) < 0.5, n_survived, torch.full((20,), -1))
    w = torch.rand(20, dtype=torch.float64) * 3 + 0.1
    fused = FusedDiscreteStep.for_network(net)
    loss_fused = fused(x, n_survived, failed, weights=w)
    g_fused = [p.grad.clone() for p in net.parameters()]
    for p in net.parameters():
        p.grad = None
    J = torch.arange(4)
    s = (J < n_survived.unsqueeze(1)).float()
    f = (J == failed.unsqueeze(1)).float()
    loss = discrete_nll(net(x), s, f, weights=w)
    loss.backward()
    assert loss_fused.item() == pytest.approx(loss.item(), rel=1e-6)
    for a, p in zip(g_fused, net.parameters()):
        torch.testing.assert_close(a, p.grad, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------- (d) bad weights
BAD = [
    ("zero", lambda w: np.r_[w[:3], 0.0, w[4:]], r"sample_weight must be > 0, but is \[0.0\] in rows \[3\]"),
    ("negative", lambda w: np.r_[-1.0, w[1:5], -2.0, w[6:]], r"sample_weight must be > 0.*in rows \[0, 5\]"),
    ("nan", lambda w: np.r_[w[:7], np.nan, w[8:]], r"sample_weight has missing or infinite values in rows \[7\]"),
    ("inf", lambda w: np.r_[w[:1], np.inf, w[2:]], r"sample_weight has missing or infinite values in rows \[1\]"),
    ("short", lambda w: w[:-1], rf"sample_weight must have one weight per subject \({N}, .*shape \({N - 1},\)"),
    ("2-d", lambda w: w[:, None], r"sample_weight must have one weight per subject .*shape \(90, 1\)"),
    ("text", lambda w: np.array(["a"] * N), "sample_weight must be numbers"),
]


@pytest.mark.parametrize("what,make_bad,match", BAD, ids=[b[0] for b in BAD])
def test_bad_weights_are_named(data, what, make_bad, match):
    w = np.ones(N)
    bad = make_bad(w)
    X, y = data.X, Surv.from_arrays(data.event.astype(bool), data.time)
    for cls in (DeepSurv, NnetSurvival):
        with pytest.raises(InvalidParameterError, match=match):
            cls(epochs=1, **QUIET).fit(X, y, sample_weight=bad)
        with pytest.raises(InvalidParameterError, match=match):
            cls(epochs=1, **QUIET).fit(data, sample_weight=bad)


def test_the_callers_weights_are_neither_changed_nor_kept(data):
    w = np.random.default_rng(5).uniform(0.5, 2.0, N)
    before = w.copy()
    m = DeepSurv(hidden=(4,), epochs=1, **QUIET).fit(data, sample_weight=w)
    np.testing.assert_array_equal(w, before)
    assert not any(v is w for v in vars(m).values())


# ---------------------------------------------------------------------- (e) refusals
class _NoWeights(SurvivalModel):
    """A model written without case weights: a two-argument _loss, the default refusal."""

    def __init__(self, standardize=False, epochs=1, verbose=False, device="cpu", random_state=0):
        self.standardize = standardize
        self._set_training(epochs=epochs, verbose=verbose, device=device, random_state=random_state)

    def _build_network(self, n_features, example):
        return torch.nn.Linear(n_features, 1)

    def _loss(self, output, targets):
        return (output.squeeze(1) ** 2).mean()


def test_models_that_cannot_use_weights_say_so(data, recurrent):
    with pytest.raises(InvalidParameterError, match="_NoWeights does not support sample_weight: its loss takes no "
                                                    "case weights"):
        _NoWeights().fit(data, sample_weight=np.ones(N))
    assert _NoWeights().fit(data).history_.shape[0] == 1  # and it still trains without them
    with pytest.raises(InvalidParameterError, match=r"LSTMCox does not support sample_weight: protocol='paper' fits "
                                                    r"its second stage with the classical fit_cox"):
        LSTMCox(protocol="paper", epochs=1, **QUIET).fit(recurrent, sample_weight=np.ones(recurrent.n_subjects))


def test_streams_and_distributed_training_refuse_weights(data):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.tensor(data.X, dtype=torch.float32), torch.tensor(data.time), torch.tensor(data.event * 1.0)),
        batch_size=30)
    with pytest.raises(InvalidParameterError, match=r"sample_weight is not supported with a streamed source "
                                                    r"\(DataLoader\)"):
        NnetSurvival([0, 500, 1000, 2000], epochs=1, **QUIET).fit(loader, sample_weight=np.ones(N))
    with pytest.raises(InvalidParameterError, match="sample_weight is not supported with distributed=True"):
        DeepSurv(epochs=1, **QUIET).fit(data, sample_weight=np.ones(N), distributed=True)


def test_a_checkpoint_belongs_to_its_weights(data, tmp_path):
    w1, w2 = np.ones(N), np.r_[2.0, np.ones(N - 1)]
    kw = dict(hidden=(4,), epochs=2, **QUIET)
    first = DeepSurv(**kw).fit(data, sample_weight=w1, checkpoint=tmp_path / "a")
    again = DeepSurv(**kw).fit(data, sample_weight=w1.copy(), checkpoint=tmp_path / "a")  # same weights: resumes
    assert _identical(first, again)
    with pytest.raises(InvalidParameterError, match="belongs to another fit.*sample_weight: checkpoint weights"):
        DeepSurv(**kw).fit(data, sample_weight=w2, checkpoint=tmp_path / "a")
    with pytest.raises(InvalidParameterError, match="belongs to another fit.*sample_weight: checkpoint weights "
                                                    "[0-9a-f]+, this fit none"):
        DeepSurv(**kw).fit(data, checkpoint=tmp_path / "a")


# ---------------------------------------------------------------------- the data's own weights
def test_a_container_with_case_weights_trains_as_with_sample_weight(data):
    if "weights" not in inspect.signature(SurvivalData.from_arrays).parameters:
        pytest.skip("SurvivalData carries no case weights in this version")
    w = np.random.default_rng(6).uniform(0.5, 2.0, N)
    own = SurvivalData.from_arrays(data.time, data.event, data.X, weights=w)
    kw = dict(hidden=(4,), epochs=2, **QUIET)
    assert _identical(DeepSurv(**kw).fit(own), DeepSurv(**kw).fit(data, sample_weight=w))
    with pytest.raises(InvalidParameterError, match="give the weights once"):
        DeepSurv(**kw).fit(own, sample_weight=w)
    assert DeepSurv(**kw).fit(data).loss(own) == pytest.approx(DeepSurv(**kw).fit(data).loss(data, sample_weight=w),
                                                               rel=1e-12)


def test_recurrent_data_with_case_weights_trains_lstm_cox_as_with_sample_weight(recurrent):
    if "weights" not in inspect.signature(RecurrentData.from_frame).parameters:
        pytest.skip("RecurrentData carries no case weights in this version")
    ids = np.asarray(recurrent.ids)
    per_subject = pd.Series(np.random.default_rng(10).uniform(0.5, 2.0, len(ids)), index=ids)
    frame = recurrent.frame.assign(w=lambda f: f["id"].map(per_subject))
    own = RecurrentData.from_frame(frame, id="id", start="start", stop="stop", event="event",
                                   covariates=list(recurrent.covariates), weights="w")
    kw = dict(dropout=0.0, epochs=2, **QUIET)
    a = LSTMCox(**kw).fit(own)
    b = LSTMCox(**kw).fit(recurrent, sample_weight=per_subject.loc[ids].to_numpy())
    assert _identical(a, b)
    np.testing.assert_array_equal(a.baseline_.cumhaz, b.baseline_.cumhaz)


# ---------------------------------------------------------------------- (f) scikit-learn
XY_MODELS = {
    "DeepSurv": lambda: DeepSurv(hidden=(4,), epochs=2, **QUIET),
    "NnetSurvival": lambda: NnetSurvival(4, hidden=(4,), epochs=2, batch_size=32, **QUIET),
    "MENSA": lambda: MENSA(n_dists=1, hidden=(4,), mode="single", epochs=2, **QUIET),
    "CoxVAE": lambda: CoxVAE(latent_dim=2, hidden=(4,), reconstruction="gaussian", epochs=2, **QUIET),
}


@pytest.mark.parametrize("name", list(XY_MODELS))
def test_fit_x_y_sample_weight_is_the_container_fit(name, data):
    w = np.random.default_rng(8).uniform(0.5, 3.0, N)
    X, y = data.X, Surv.from_arrays(data.event.astype(bool), data.time)
    on_xy = XY_MODELS[name]().fit(X, y, sample_weight=w)
    on_data = XY_MODELS[name]().fit(data, sample_weight=w)
    assert _identical(on_xy, on_data)
    for same in (pd.Series(w, index=np.arange(N) + 50), list(w)):  # a Series is read by position
        assert _identical(XY_MODELS[name]().fit(X, y, sample_weight=same), on_xy)
    assert "sample_weight" in inspect.signature(type(on_xy).fit).parameters


def test_cross_validate_routes_sample_weight(data):
    """scikit-learn's cross_validate(params=) slices sample_weight with each fold, with or without
    metadata routing (then the estimator asks for it: set_fit_request); each fold's score is
    the one of the model fitted by hand on the fold with its weights."""
    import sklearn

    X, y = data.X, Surv.from_arrays(data.event.astype(bool), data.time)
    w = np.random.default_rng(9).integers(1, 4, N).astype(float)
    est = DeepSurv(hidden=(4,), epochs=2, **QUIET)
    cv = KFold(3)
    by_hand = [clone(est).fit(X[tr], y[tr], sample_weight=w[tr]).score(X[te], y[te]) for tr, te in cv.split(X)]
    plain = cross_validate(est, X, y, cv=cv, params={"sample_weight": w})["test_score"]
    np.testing.assert_array_equal(plain, by_hand)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = cross_validate(clone(est).set_fit_request(sample_weight=True), X, y, cv=cv,
                                params={"sample_weight": w})["test_score"]
    np.testing.assert_array_equal(routed, by_hand)
    assert clone(est).get_params() == est.get_params()
