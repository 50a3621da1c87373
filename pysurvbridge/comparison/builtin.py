"""The built-in models for single-event and recurrent data: how each fits on a training split
and what it predicts for the test subjects (a :class:`ModelRun`). Scoring is the comparison's.

Classical: "cox" (time to first event on recurrent data), "ag", "wlw", "pwp-total", "pwp-gap",
and "cox-embedding" (Cox on CoxVAE's embedding). Deep: "deepsurv", "cox-nnet",
"nnet-survival", "coxvae", "lstm-cox" (history protocol) and "lstm-cox-paper" (the paper's
leaky protocol).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from pysurvbridge.classical.by_name import CLASSICAL_MODELS, fit_classical
from pysurvbridge.comparison.spec import ModelRun, ModelSpec, Tuning
from pysurvbridge.comparison.splits import Split
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.errors import InvalidParameterError

__all__ = ["builtin_specs", "builtin_deep_models", "spec_from_model", "external_classical_spec", "coxvae_architecture",
           "fresh"]


def spec_from_model(model: Any) -> ModelSpec | None:
    """A spec for a configured (unfitted) LSTMCox, DeepSurv, NnetSurvival or CoxVAE object (None
    for anything else): ``LSTMCox(...)`` trains on the recurrent rows, the others on time to
    first event. Each seed fits a clone of the object with all its settings, training options
    included; the comparison sets only the seed, quiet training and, when ``compare(epochs=)``
    is given, the epochs."""
    from pysurvbridge.models import CoxVAE, DeepSurv, LSTMCox, NnetSurvival

    cox_loss = "negative log partial likelihood per event"
    if isinstance(model, CoxVAE):
        return ModelSpec("coxvae", "deep", _coxvae(model),
                         tuning=_tuning("coxvae", model, _coxvae, _first_event_loss, "CoxVAE's loss"))
    if isinstance(model, LSTMCox):
        return ModelSpec(model.registry_name, "deep", _lstm(model), needs_recurrent=True,
                         tuning=_tuning(model.registry_name, model, _lstm, _lstm_loss, cox_loss))
    if isinstance(model, (DeepSurv, NnetSurvival)):
        loss = cox_loss if isinstance(model, DeepSurv) else "discrete-time negative log-likelihood per subject"
        return ModelSpec(model.name, "deep", _first_event_model(model),
                         tuning=_tuning(model.name, model, _first_event_model, _first_event_loss, loss))
    return None


def fresh(model, split) -> Any:
    """A clone of the configured ``model`` for one split: its seed, quiet training, and the
    comparison's epochs when it sets them."""
    from sklearn.base import clone

    settings = {"random_state": split.seed, "verbose": False}
    if split.epochs:
        settings["epochs"] = split.epochs
    return clone(model).set_params(**settings)


def external_classical_spec(kind: str, fitter: Callable, engine: str = "r-host", ties: str = "efron") -> ModelSpec:
    """A classical model whose coxph estimates come from ``fitter(kind, train, ties)`` (an
    :data:`~pysurvbridge.classical.external.ExternalFitter`, e.g. the R session hosting Python);
    prediction and scoring are the built-in ones, so its row is scored like every other."""
    if kind not in CLASSICAL_MODELS:
        raise InvalidParameterError(f"unknown classical model {kind!r}; choose from {list(CLASSICAL_MODELS)}")

    def fit(train):
        from pysurvbridge.classical.external import fit_from_estimates

        return fit_from_estimates(kind, train, fitter(kind, train, ties), ties=ties, engine=engine)
    return ModelSpec(kind, "classical", _classical(kind, fit), needs_recurrent=kind != "cox",
                     description=f"{kind} fitted by {engine}")


def _classical(kind: str, fit_fn: Callable | None = None) -> Callable[[Split], ModelRun]:
    def run(split: Split) -> ModelRun:
        fit = fit_fn(split.train) if fit_fn is not None else fit_classical(kind, split.train)
        first = split.test_first.to_frame()
        responses = {"cox": "Cox partial likelihood of time to first event",
                     "ag": "Andersen-Gill (start, stop] partial likelihood",
                     "wlw": "WLW stratified marginal likelihood (events 1-4 from time 0)",
                     "pwp-total": "PWP likelihood stratified by event number (total time)",
                     "pwp-gap": "PWP likelihood stratified by event number (gap time)"}
        return ModelRun(
            subject_risk=fit.predict_log_risk(first),
            row_risk=fit.predict_log_risk(split.test.frame) if split.recurrent else None,
            survival=fit.predict_survival(first, split.times).to_numpy(),
            survival_fn=lambda t: fit.predict_survival(first, t).to_numpy(),
            aic=fit.aic, aic_counts=f"k = {fit.n_params} coefficients; {responses[kind]}",
            n_params=fit.n_params, engine=fit.engine, protocol="classical", fitted=fit,
            notes=[] if fit.engine != "native" else ["R engine unavailable or not chosen: native engine used "
                                                     "(equal to R to 1e-6, tests/classical)"],
        )
    return run


def _first_event_model(model) -> Callable[[Split], ModelRun]:
    """A configured DeepSurv / NnetSurvival, fitted on time to first event."""
    def run(split: Split) -> ModelRun:
        m = fresh(model, split).fit(split.train_first)
        first = split.test_first.X
        horizon_cap = getattr(m, "breaks_", None)
        cap = (lambda t: np.minimum(t, horizon_cap[-1])) if horizon_cap is not None else (lambda t: t)
        covs = list(split.train_first.covariates)
        return ModelRun(
            subject_risk=m.predict_risk(first),
            row_risk=m.predict_risk(split.test.frame[covs]) if split.recurrent else None,
            survival=m.predict_survival(first, cap(split.times)).to_numpy(),
            survival_fn=lambda t: m.predict_survival(first, cap(np.asarray(t, dtype=np.float64))).to_numpy(),
            aic_counts="not defined (no likelihood-based parameter count for a network)",
            n_params=sum(p.numel() for p in m.network_.parameters()), engine="torch",
            protocol="time to first event", fitted=m)
    return run


def _lstm(model) -> Callable[[Split], ModelRun]:
    """A configured LSTMCox on the recurrent rows (history protocol) or, for the paper's
    protocol, on bladder1's leaky inputs."""
    protocol = model.protocol

    def run(split: Split) -> ModelRun:
        train, test = split.train, split.test
        if protocol == "paper":
            if split.leaky_train is None:
                raise InvalidParameterError("lstm-cox-paper needs the paper's inputs (recur, rtumor, rsize), "
                                            "which only the bladder1 data set provides")
            train, test = split.leaky_train, split.leaky_test
        m = fresh(model, split).fit(train)
        subject = m.predict_subject_risk(test).loc[split.test_first.ids]
        surv = m.predict_survival(test, split.times).loc[split.test_first.ids].to_numpy()

        def survival_fn(t, m=m, test=test, ids=split.test_first.ids):
            return m.predict_survival(test, t).loc[ids].to_numpy()
        notes = [f"lstm-cox-paper: {m.protocol_label_}"] if protocol == "paper" else []
        return ModelRun(
            subject_risk=subject.to_numpy(),
            row_risk=m.predict_risk(test) if protocol == "history" else None,
            survival=surv, survival_fn=survival_fn, aic=m.aic_, aic_counts=m.aic_counts_,
            n_params=sum(p.numel() for p in m.network_.parameters()), engine="torch",
            protocol=m.protocol_label_, fitted=m, notes=notes)
    return run


def coxvae_architecture(data: SurvivalData) -> dict[str, str]:
    """CoxVAE's encoder, decoder and reconstruction for ``data`` when none is given: the conv
    encoder and Bernoulli decoder for square pixel rows in [0, 1] (8x8 or larger), else MLPs
    with a Gaussian reconstruction."""
    p = data.X.shape[1]
    side = int(round(np.sqrt(p)))
    images = p >= 64 and side * side == p and bool(((data.X >= 0) & (data.X <= 1)).all())
    return {"encoder": "conv" if images else "mlp", "decoder": "conv" if images else "mlp",
            "reconstruction": "bernoulli" if images else "gaussian"}


_VAE_CACHE: dict[tuple, tuple] = {}


def _fitted_coxvae(split: Split, model, auto_architecture: bool):
    """One CoxVAE per (split, configuration): "coxvae" and "cox-embedding" share the fit. With
    ``auto_architecture`` the encoder, decoder and reconstruction follow the data
    (:func:`coxvae_architecture`)."""
    key = (id(split.train_first), repr(sorted(model.get_params(deep=False).items())), auto_architecture)
    cached = _VAE_CACHE.get(key)
    if cached is not None and cached[0] is split.train_first:
        return cached[1]
    m = fresh(model, split)
    if auto_architecture:
        m.set_params(**coxvae_architecture(split.train_first))
    m.fit(split.train_first)
    _VAE_CACHE.clear()  # keep one fit alive, not one per seed
    _VAE_CACHE[key] = (split.train_first, m)
    return m


def _coxvae(model, auto_architecture: bool = False) -> Callable[[Split], ModelRun]:
    def run(split: Split) -> ModelRun:
        m = _fitted_coxvae(split, model, auto_architecture)
        X = split.test_first.X
        return ModelRun(
            subject_risk=m.predict_risk(X), row_risk=None, survival=m.predict_survival(X, split.times).to_numpy(),
            survival_fn=lambda t: m.predict_survival(X, np.asarray(t, dtype=np.float64)).to_numpy(),
            aic_counts="not defined (no likelihood-based parameter count for a network)",
            n_params=sum(p.numel() for p in m.network_.parameters()), engine="torch",
            protocol=f"time to first event; tau = {m.tau}", fitted=m)
    return run


def _cox_on_embedding(model, auto_architecture: bool = True) -> Callable[[Split], ModelRun]:
    """The classical side on image data: a Cox model (R or native engine) on CoxVAE's
    posterior-mean embedding of the training subjects."""
    def run(split: Split) -> ModelRun:
        from pysurvbridge.classical import fit_cox

        m = _fitted_coxvae(split, model, auto_architecture)
        tr = split.train_first
        Z_train = m.embed(tr.X).to_numpy()
        names = list(m.embed(tr.X[:1]).columns)
        fit = fit_cox(SurvivalData.from_arrays(tr.time, tr.event, Z_train, names))
        Z_test = pd.DataFrame(m.embed(split.test_first.X).to_numpy(), columns=names)
        return ModelRun(
            subject_risk=fit.predict_log_risk(Z_test), row_risk=None,
            survival=fit.predict_survival(Z_test, split.times).to_numpy(),
            survival_fn=lambda t: fit.predict_survival(Z_test, t).to_numpy(),
            aic=fit.aic, aic_counts=f"k = {fit.n_params} coefficients on the embedding (the encoder not counted)",
            n_params=fit.n_params, engine=fit.engine, protocol="Cox on the CoxVAE embedding", fitted=fit,
            notes=["cox-embedding: a Cox model on CoxVAE's posterior-mean embedding of the training subjects; it reuses "
                   "the coxvae fit of the same split when both run (its fit_seconds then excludes the VAE)"])
    return run


#: the deep models of the registry, as configured estimators (compare clones one per split)
def builtin_deep_models() -> dict[str, Any]:
    from pysurvbridge.models import CoxVAE, DeepSurv, LSTMCox, NnetSurvival

    return {
        "deepsurv": DeepSurv(hidden=(16,), dropout=0.1, lr=1e-2),
        "cox-nnet": DeepSurv(hidden=(7,), dropout=0.0, activation="tanh", lr=1e-2),
        "nnet-survival": NnetSurvival(breaks=10, head="proportional", hidden=(16,), lr=1e-2, batch_size=64),
        "coxvae": CoxVAE(tau=0.5, batch_size=64),
        "lstm-cox": LSTMCox(protocol="history", lr=1e-2),
        "lstm-cox-paper": LSTMCox(protocol="paper", lr=1e-2),
    }


#: search spaces of compare(tune="default"), beside the models they tune, with their sources.
#: Every range keeps the tuning loss comparable between configurations: Nnet-survival's
#: breaks (the likelihood's own discretisation) and CoxVAE's tau (the weight between its two
#: losses) are left fixed.
SPACES = {
    "deepsurv": ({"hidden": [(16,), (32,), (64,), (32, 32)], "dropout": ("float", 0.0, 0.5),
                  "lr": ("log", 1e-4, 1e-1), "weight_decay": [0.0, 1e-4, 1e-3, 1e-2]},
                 "DeepSurv (Katzman et al. 2018) tunes the number and width of its layers, dropout, the learning "
                 "rate and the L2 penalty by random search; these are ranges of those parameters"),
    "cox-nnet": ({"weight_decay": [0.0, 1e-4, 1e-3, 1e-2, 1e-1], "lr": ("log", 1e-3, 1e-1)},
                 "Nnet-survival paper (Gensheimer & Narasimhan 2019), SUPPORT: Cox-nnet's L2 strength chosen by "
                 "cross-validation on the log-likelihood, one hidden layer of 7 kept"),
    "nnet-survival": ({"weight_decay": [0.0, 1e-4, 1e-3, 1e-2, 1e-1], "hidden": [(), (7,), (16,)],
                       "lr": ("log", 1e-3, 1e-1)},
                      "Nnet-survival paper (Gensheimer & Narasimhan 2019), SUPPORT: the L2 strength chosen by 10-fold "
                      "cross-validation on the log-likelihood; no hidden layer or one of 7 (the paper's), or 16 (ours)"),
    "coxvae": ({"latent_dim": [4, 8, 16], "lr_autoencoder": ("log", 1e-4, 1e-2), "lr_cox": ("log", 1e-5, 1e-3)},
               "CoxVAE paper (Weber et al. 2021) section 3: latent dimension 8, learning rates 1e-4 (encoder and "
               "decoder) and 1e-5 (Cox head); up to 100x larger here for our 100-epoch budget"),
    "lstm-cox": ({"hidden_size": [10, 20, 40], "dropout": ("float", 0.0, 0.6), "lr": ("log", 1e-3, 1e-1)},
                 "LSTM-Cox paper section 2.5.1: tuning 'the number of LSTM units, dropout ratio, and optimizer "
                 "learning rate' around its 20 units and dropout 0.5"),
}
SPACES["lstm-cox-paper"] = SPACES["lstm-cox"]


def _first_event_loss(run: ModelRun, split: Split) -> float:
    return run.fitted.loss(split.test_first)


def _lstm_loss(run: ModelRun, split: Split) -> float:
    paper = run.fitted.protocol == "paper"
    return run.fitted.loss(split.leaky_test if paper else split.test)


def _tuning(name: str, model, make_run, loss, loss_name: str) -> Tuning:
    space, source = SPACES[name]
    return Tuning(model, make_run, space, source, loss, loss_name)


def builtin_specs() -> list[ModelSpec]:
    """The built-in models for single-event and recurrent data."""
    deep = builtin_deep_models()
    specs = [ModelSpec(name, "classical", _classical(name), needs_recurrent=name != "cox")
             for name in CLASSICAL_MODELS]
    cox_loss = "negative log partial likelihood per event"
    vae = lambda model: _coxvae(model, auto_architecture=True)  # noqa: E731
    return specs + [
        ModelSpec("deepsurv", "deep", _first_event_model(deep["deepsurv"]),
                  description="MLP Cox model of time to first event",
                  tuning=_tuning("deepsurv", deep["deepsurv"], _first_event_model, _first_event_loss, cox_loss)),
        ModelSpec("cox-nnet", "deep", _first_event_model(deep["cox-nnet"]),
                  description="Cox-nnet (Ching et al. 2018): one tanh hidden layer of 7, Cox loss, full batch",
                  tuning=_tuning("cox-nnet", deep["cox-nnet"], _first_event_model, _first_event_loss, cox_loss)),
        ModelSpec("nnet-survival", "deep", _first_event_model(deep["nnet-survival"]),
                  description="discrete-time model of time to first event",
                  tuning=_tuning("nnet-survival", deep["nnet-survival"], _first_event_model, _first_event_loss,
                                 "discrete-time negative log-likelihood per subject (eq. 13)")),
        ModelSpec("coxvae", "deep", vae(deep["coxvae"]),
                  description="CoxVAE (tau 0.5) of time to first event; conv encoder on square images",
                  tuning=_tuning("coxvae", deep["coxvae"], vae, _first_event_loss,
                                 "CoxVAE's loss: tau x negative ELBO + (1 - tau) x Cox loss")),
        ModelSpec("cox-embedding", "classical", _cox_on_embedding(deep["coxvae"], auto_architecture=True),
                  description="Cox model on the CoxVAE embedding"),
        ModelSpec("lstm-cox", "deep", _lstm(deep["lstm-cox"]), needs_recurrent=True,
                  description="LSTM-Cox, history-only inputs",
                  tuning=_tuning("lstm-cox", deep["lstm-cox"], _lstm, _lstm_loss, cox_loss)),
        ModelSpec("lstm-cox-paper", "deep", _lstm(deep["lstm-cox-paper"]), needs_recurrent=True,
                  description="LSTM-Cox, the paper's leaky two-stage protocol",
                  tuning=_tuning("lstm-cox-paper", deep["lstm-cox-paper"], _lstm, _lstm_loss, cox_loss)),
    ]
