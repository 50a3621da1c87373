"""The model registry of ``compare()``: a name -> how to fit it on a training split and what it
predicts for the test split. A new model plugs in with one ``register(ModelSpec(...))``.

Every runner receives a :class:`Split` and returns a :class:`ModelRun`; ``compare`` scores all
runs with the same metrics, so no runner computes a metric itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from pysurvbridge.data.events import SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError

__all__ = ["Split", "ModelRun", "ModelSpec", "register", "REGISTRY", "spec_for", "spec_from_model", "fit_classical",
           "external_classical_spec", "CLASSICAL_MODELS"]


@dataclass(frozen=True, eq=False)
class Split:
    """One seed's train/test subjects. ``train``/``test`` are the data as given (RecurrentData or
    SurvivalData); ``train_first``/``test_first`` their time-to-first-event SurvivalData (index
    = subject order of ``test_first``); ``leaky_train``/``leaky_test`` the LSTM-Cox paper's
    inputs when the data set provides them (bladder1), else None; ``times`` the Brier times."""

    train: RecurrentData | SurvivalData
    test: RecurrentData | SurvivalData
    train_first: SurvivalData
    test_first: SurvivalData
    times: np.ndarray
    seed: int
    epochs: int | None = None
    leaky_train: RecurrentData | None = None
    leaky_test: RecurrentData | None = None

    @property
    def recurrent(self) -> bool:
        return isinstance(self.train, RecurrentData)


@dataclass(eq=False)
class ModelRun:
    """What a fitted model says about the test subjects.

    ``subject_risk`` (m,) log-risk (or any risk score, higher = earlier first event) in the order
    of ``split.test_first``; ``row_risk`` (rows of ``split.test``) for recurrent data, or None
    when the model has no per-interval risk; ``survival`` (m, len(times)) P(no event by t) on
    ``split.times`` or None; ``aic``/``aic_counts``; ``n_params``; ``engine``; ``protocol``;
    ``fitted`` the fitted object (for plots); ``notes`` caveats found while fitting.
    """

    subject_risk: np.ndarray
    row_risk: np.ndarray | None
    survival: np.ndarray | None
    survival_fn: Callable[[np.ndarray], np.ndarray] | None = None
    aic: float = float("nan")
    aic_counts: str = ""
    n_params: int | None = None
    engine: str = ""
    protocol: str = ""
    fitted: Any = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelSpec:
    """``name`` (what users type), ``family`` ("classical" or "deep"), ``run(split) -> ModelRun``,
    ``needs_recurrent`` (refuses single-event data), ``description``."""

    name: str
    family: str
    run: Callable[[Split], ModelRun]
    needs_recurrent: bool = False
    description: str = ""


REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add (or replace) a model under ``spec.name``."""
    if spec.family not in ("classical", "deep"):
        raise InvalidParameterError(f"family must be 'classical' or 'deep', but was {spec.family!r}")
    REGISTRY[spec.name] = spec
    return spec


def spec_for(name: str) -> ModelSpec:
    _load_builtin()
    if name not in REGISTRY:
        raise InvalidParameterError(f"unknown model {name!r}; choose from {sorted(REGISTRY)}")
    return REGISTRY[name]


def spec_from_model(model: Any) -> ModelSpec:
    """A spec for a configured (unfitted) model object: ``LSTMCox(...)`` trains on the recurrent
    rows; ``DeepSurv(...)``/``NnetSurvival(...)`` on time to first event. Each seed fits a fresh
    copy with the object's hyper-parameters."""
    from pysurvbridge.models import CoxVAE, DeepSurv, LSTMCox, NnetSurvival

    if isinstance(model, CoxVAE):
        return ModelSpec("coxvae", "deep", _coxvae(model.get_params()))
    if isinstance(model, LSTMCox):
        run = _lstm(model.protocol, model.get_params())
        return ModelSpec(model.registry_name, "deep", run, needs_recurrent=True)
    if isinstance(model, (DeepSurv, NnetSurvival)):
        return ModelSpec(model.name, "deep", _first_event_model(type(model), model.get_params()))
    raise InvalidParameterError(f"models must be names, ModelSpec or LSTMCox/DeepSurv/NnetSurvival/CoxVAE objects, "
                                f"but got {type(model).__name__}")


# ---------------------------------------------------------------------- built-in models
def _covariate_frame(data: RecurrentData | SurvivalData) -> pd.DataFrame:
    return data.frame if isinstance(data, RecurrentData) else data.to_frame()


CLASSICAL_MODELS = ("cox", "ag", "wlw", "pwp-total", "pwp-gap")


def fit_classical(kind: str, data: RecurrentData | SurvivalData, engine: str = "auto", ties: str = "efron"):
    """The classical fit of registry name ``kind`` on ``data`` (a :class:`ClassicalFit`)."""
    from pysurvbridge.classical import fit_andersen_gill, fit_cox, fit_pwp, fit_wlw

    fitters = {"cox": fit_cox, "ag": fit_andersen_gill, "wlw": fit_wlw,
               "pwp-total": lambda d, **kw: fit_pwp(d, timescale="total", **kw),
               "pwp-gap": lambda d, **kw: fit_pwp(d, timescale="gap", **kw)}
    if kind not in fitters:
        raise InvalidParameterError(f"unknown classical model {kind!r}; choose from {list(fitters)}")
    return fitters[kind](data, engine=engine, ties=ties)


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


def _first_event_model(cls, params: dict, fit_kwargs: dict | None = None) -> Callable[[Split], ModelRun]:
    """DeepSurv / NnetSurvival of time to first event with the given hyper-parameters."""
    def run(split: Split) -> ModelRun:
        kwargs = {"epochs": split.epochs or 100, "lr": 1e-2, **(fit_kwargs or {})}
        m = cls(**params).fit(split.train_first, seed=split.seed, verbose=False, **kwargs)
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


def _lstm(protocol: str, params: dict | None = None) -> Callable[[Split], ModelRun]:
    def run(split: Split) -> ModelRun:
        from pysurvbridge.models import LSTMCox

        train, test = split.train, split.test
        if protocol == "paper":
            if split.leaky_train is None:
                raise InvalidParameterError("lstm-cox-paper needs the paper's inputs (recur, rtumor, rsize), "
                                            "which only the bladder1 data set provides")
            train, test = split.leaky_train, split.leaky_test
        m = LSTMCox(**{**(params or {}), "protocol": protocol}).fit(
            train, epochs=split.epochs or 100, lr=1e-2, seed=split.seed, verbose=False)
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


def _looks_like_images(data: SurvivalData) -> bool:
    """Square pixel rows in [0, 1] (8x8 or larger): the conv encoder and Bernoulli decoder fit."""
    p = data.X.shape[1]
    side = int(round(np.sqrt(p)))
    return p >= 64 and side * side == p and bool(((data.X >= 0) & (data.X <= 1)).all())


_VAE_CACHE: dict[tuple, tuple] = {}


def _fitted_coxvae(split: Split, params: dict):
    """One CoxVAE per (split, hyper-parameters): "coxvae" and "cox-embedding" share the fit."""
    from pysurvbridge.models import CoxVAE

    key = (id(split.train_first), tuple(sorted((k, repr(v)) for k, v in params.items())))
    cached = _VAE_CACHE.get(key)
    if cached is not None and cached[0] is split.train_first:
        return cached[1]
    kw = dict(params)
    if "encoder" not in kw:
        images = _looks_like_images(split.train_first)
        kw.update(encoder="conv" if images else "mlp", decoder="conv" if images else "mlp",
                  reconstruction="bernoulli" if images else "gaussian")
    model = CoxVAE(**kw).fit(split.train_first, epochs=split.epochs or 100, batch_size=64, seed=split.seed,
                             verbose=False)
    _VAE_CACHE.clear()  # keep one fit alive, not one per seed
    _VAE_CACHE[key] = (split.train_first, model)
    return model


def _coxvae(params: dict) -> Callable[[Split], ModelRun]:
    def run(split: Split) -> ModelRun:
        m = _fitted_coxvae(split, params)
        X = split.test_first.X
        return ModelRun(
            subject_risk=m.predict_risk(X), row_risk=None, survival=m.predict_survival(X, split.times).to_numpy(),
            survival_fn=lambda t: m.predict_survival(X, np.asarray(t, dtype=np.float64)).to_numpy(),
            aic_counts="not defined (no likelihood-based parameter count for a network)",
            n_params=sum(p.numel() for p in m.network_.parameters()), engine="torch",
            protocol=f"time to first event; tau = {m.tau}", fitted=m)
    return run


def _cox_on_embedding(params: dict) -> Callable[[Split], ModelRun]:
    """The classical side on image data: a Cox model (R or native engine) on CoxVAE's
    posterior-mean embedding of the training subjects."""
    def run(split: Split) -> ModelRun:
        from pysurvbridge.classical import fit_cox

        m = _fitted_coxvae(split, params)
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


def _load_builtin() -> None:
    if REGISTRY:
        return
    for name in CLASSICAL_MODELS:
        register(ModelSpec(name, "classical", _classical(name), needs_recurrent=name != "cox"))
    from pysurvbridge.models import DeepSurv, NnetSurvival

    register(ModelSpec("deepsurv", "deep", _first_event_model(DeepSurv, {"hidden": (16,), "dropout": 0.1}),
                       description="MLP Cox model of time to first event"))
    register(ModelSpec("cox-nnet", "deep",
                       _first_event_model(DeepSurv, {"hidden": (7,), "dropout": 0.0, "activation": "tanh"}),
                       description="Cox-nnet (Ching et al. 2018): one tanh hidden layer of 7, Cox loss, full batch"))
    register(ModelSpec("nnet-survival", "deep",
                       _first_event_model(NnetSurvival, {"breaks": 10, "head": "proportional", "hidden": (16,)},
                                          {"batch_size": 64}),
                       description="discrete-time model of time to first event"))
    register(ModelSpec("coxvae", "deep", _coxvae({"tau": 0.5}),
                       description="CoxVAE (tau 0.5) of time to first event; conv encoder on square images"))
    register(ModelSpec("cox-embedding", "classical", _cox_on_embedding({"tau": 0.5}),
                       description="Cox model on the CoxVAE embedding"))
    register(ModelSpec("lstm-cox", "deep", _lstm("history"), needs_recurrent=True,
                       description="LSTM-Cox, history-only inputs"))
    register(ModelSpec("lstm-cox-paper", "deep", _lstm("paper"), needs_recurrent=True,
                       description="LSTM-Cox, the paper's leaky two-stage protocol"))
