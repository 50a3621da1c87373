"""Data-generating processes with known truth: recurrent, single and multiple events.

Recurrent events (:func:`simulate_recurrent`) follow a non-homogeneous Poisson process with
intensity lambda_i(t) = (k / s) (t / s)^(k-1) exp(x_i' beta) z_i (Weibull baseline, shape k,
scale s, gamma frailty z_i). Given the expected count mu_i = Lambda_i(tau_i) on [0, tau_i], the
number of events is Poisson(mu_i) and the cumulative intensities of the events are uniform
order statistics on [0, mu_i]; inverting Lambda_i (closed form for Weibull) gives the times.
Everything is vectorised over subjects; no Python loop per subject.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np
import pandas as pd

from pysurvbridge import copulas
from pysurvbridge.data.events import MultiEventData, SurvivalData, topological_order
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.data.validation import positive_number
from pysurvbridge.errors import InvalidParameterError, RUnavailableError
# the organ-with-lesions images are a named data set (the catalogue's "lesions"), so they live in
# the data layer; re-exported here, where the other generators are
from pysurvbridge.data.lesion_images import SimulatedImages, lesion_area, simulate_lesion_images  # noqa: F401

__all__ = ["simulate_recurrent", "paper_validation", "simulate_survival", "simulate_multi_event",
           "SimulatedSurvival", "SimulatedMultiEvent", "expected_events", "simulate_lesion_images",
           "SimulatedImages", "lesion_area"]

EndTime = tuple


# ---------------------------------------------------------------- shared pieces


_positive = positive_number


def _covariates(specs: Sequence, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, p) covariates: "normal" N(0, 1), ("normal", mean, sd), "bernoulli" B(0.5), ("bernoulli", p)."""
    cols = []
    for spec in specs:
        kind, *params = (spec,) if isinstance(spec, str) else spec
        if kind == "normal":
            mean, sd = (params + [0.0, 1.0][len(params):]) if params else (0.0, 1.0)
            cols.append(rng.normal(mean, _positive("normal sd", sd), n))
        elif kind == "bernoulli":
            p = params[0] if params else 0.5
            if not 0.0 <= p <= 1.0:
                raise InvalidParameterError(f"bernoulli probability must be in [0, 1], but was {p!r}")
            cols.append(rng.binomial(1, p, n).astype(np.float64))
        else:
            raise InvalidParameterError(f"covariate kind must be 'normal' or 'bernoulli', but was {kind!r}")
    return np.column_stack(cols) if cols else np.zeros((n, 0))


def _frailty(spec, n: int, rng: np.random.Generator) -> np.ndarray:
    if spec is None:
        return np.ones(n)
    kind, variance = spec
    if kind != "gamma":
        raise InvalidParameterError(f"frailty must be None or ('gamma', variance), but was {spec!r}")
    if not (np.isfinite(variance) and variance >= 0):
        raise InvalidParameterError(f"frailty variance must be non-negative, but was {variance!r}")
    if variance == 0:
        return np.ones(n)
    return rng.gamma(1.0 / variance, variance, n)  # mean 1, variance `variance`


def _end_times(spec: EndTime, n: int, rng: np.random.Generator) -> np.ndarray:
    kind, *params = spec
    if kind == "fixed" and len(params) == 1:
        return np.full(n, _positive("fixed end time", params[0]))
    if kind == "uniform" and len(params) == 2:
        low, high = params
        if not 0 <= low < high:
            raise InvalidParameterError(f"uniform end time needs 0 <= low < high, got {params!r}")
        return rng.uniform(low, high, n) + (low == 0) * 1e-12
    if kind == "normal" and len(params) == 2:
        mean, sd = _positive("normal end-time mean", params[0]), _positive("normal end-time sd", params[1])
        out = rng.normal(mean, sd, n)
        bad = out <= 0
        while bad.any():  # truncated at 0: redraw the non-positive ones
            out[bad] = rng.normal(mean, sd, int(bad.sum()))
            bad = out <= 0
        return out
    raise InvalidParameterError(
        f"end_time must be ('fixed', t), ('normal', mean, sd) or ('uniform', low, high); got {spec!r}"
    )


def expected_events(shape: float, scale: float, coefs: Sequence[float], end_time: float,
                    covariates: Sequence = ("normal", "bernoulli"), frailty=None) -> float:
    """Closed-form E[N] per subject for a fixed end time: (tau/s)^k E[exp(x'beta)] E[z].

    E[exp(b x)] is exp(b m + b^2 sd^2 / 2) for N(m, sd^2) and 1 - p + p e^b for Bernoulli(p);
    the gamma frailty has mean 1.
    """
    factor = 1.0
    for spec, b in zip(covariates, coefs):
        kind, *params = (spec,) if isinstance(spec, str) else spec
        if kind == "normal":
            mean, sd = (params + [0.0, 1.0][len(params):]) if params else (0.0, 1.0)
            factor *= np.exp(b * mean + 0.5 * b**2 * sd**2)
        else:
            p = params[0] if params else 0.5
            factor *= 1.0 - p + p * np.exp(b)
    return float((end_time / scale) ** shape * factor)


# ---------------------------------------------------------------- recurrent events


def simulate_recurrent(
    n: int,
    *,
    shape: float = 1.5,
    scale: float = 10.0,
    coefs: Sequence[float] = (0.5, -0.5),
    baseline: Literal["weibull"] = "weibull",
    covariates: Sequence = ("normal", "bernoulli"),
    frailty: tuple | None = None,
    end_time: EndTime = ("fixed", 20.0),
    max_events: int | None = None,
    seed: int | None = None,
    engine: Literal["native", "reda"] = "native",
) -> RecurrentData:
    """Recurrent events from a Weibull-baseline proportional-intensity process (see module doc).

    Args:
        n: number of subjects.
        shape, scale: Weibull baseline, cumulative rate (t / scale)^shape.
        coefs: one coefficient per covariate; ``covariates`` gives each covariate's law
            ("normal", "bernoulli", or tuples with parameters). Covariates are named x1..xp.
        frailty: None or ("gamma", variance): a mean-one gamma multiplier per subject.
        end_time: end of follow-up: ("fixed", t), ("normal", mean, sd) truncated at 0, or
            ("uniform", low, high).
        max_events: stop following a subject at its ``max_events``-th event.
        seed: seed of numpy's default generator (same seed, same data).
        engine: "native", or "reda" (R's reda::simEventData on the same covariates, end times
            and frailties, with R's random numbers seeded by ``seed``; thinning for shape >= 1,
            inversion for shape < 1; needs R and the reda package). Both engines draw the
            same process: tests/test_simulate_reda.py compares them in distribution.

    Returns a :class:`RecurrentData` in (start, stop] form with covariates x1..xp; its ``notes``
    record the truth.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidParameterError(f"n must be a positive integer, but was {n!r}")
    if baseline != "weibull":
        raise InvalidParameterError(f"baseline must be 'weibull', but was {baseline!r}")
    shape, scale = _positive("shape", shape), _positive("scale", scale)
    coefs = np.asarray(coefs, dtype=np.float64)
    if len(coefs) != len(covariates):
        raise InvalidParameterError(
            f"coefs has {len(coefs)} values but covariates describes {len(covariates)}: one "
            "coefficient per covariate"
        )
    if max_events is not None and (not isinstance(max_events, (int, np.integer)) or max_events < 1):
        raise InvalidParameterError(f"max_events must be a positive integer, but was {max_events!r}")
    if engine not in ("native", "reda"):
        raise InvalidParameterError(f"engine must be 'native' or 'reda', but was {engine!r}")
    rng = np.random.default_rng(seed)
    X = _covariates(covariates, n, rng)
    z = _frailty(frailty, n, rng)
    tau = _end_times(end_time, n, rng)
    names = [f"x{j + 1}" for j in range(X.shape[1])]
    if engine == "reda":
        rows = _reda_rows(X, coefs, shape, scale, z, tau, seed)
    else:
        rows = _native_rows(X @ coefs, z, tau, shape, scale, max_events, rng)
    if engine == "reda" and max_events is not None:
        rows = _truncate(rows, max_events)
    frame = pd.DataFrame(rows)
    for j, name in enumerate(names):
        frame[name] = X[frame["id"].to_numpy(), j]
    truth = (f"simulated ({engine}): Weibull shape {shape:g}, scale {scale:g}; coefs "
             f"{dict(zip(names, coefs.round(6).tolist()))}; frailty {frailty}; end_time {end_time}; "
             f"max_events {max_events}; seed {seed}")
    rec = RecurrentData.from_frame(frame, id="id", start="start", stop="stop", event="event",
                                   covariates=names)
    return RecurrentData(rec.frame, rec.covariates, (truth,))


def _native_rows(eta: np.ndarray, z: np.ndarray, tau: np.ndarray, shape: float, scale: float,
                 max_events: int | None, rng: np.random.Generator) -> dict:
    n = len(eta)
    multiplier = np.exp(eta) * z
    mu = (tau / scale) ** shape * multiplier
    count = rng.poisson(mu)
    subj = np.repeat(np.arange(n), count)
    cum = rng.uniform(size=count.sum()) * mu[subj]  # uniform order statistics once sorted
    order = np.lexsort((cum, subj))
    subj, cum = subj[order], cum[order]
    times = scale * (cum / multiplier[subj]) ** (1.0 / shape)
    rank = np.arange(len(subj)) - np.repeat(np.cumsum(count) - count, count)
    if max_events is not None:
        keep = rank < max_events
        subj, times, rank = subj[keep], times[keep], rank[keep]
        count = np.minimum(count, max_events)
    start = np.where(rank == 0, 0.0, np.r_[0.0, times[:-1]])
    censored = np.flatnonzero(count < (max_events if max_events is not None else np.inf))
    last = np.zeros(n)
    has = count > 0
    last_pos = np.cumsum(count) - 1
    last[has] = times[last_pos[has]]
    ids = np.concatenate([subj, censored])
    out = {
        "id": ids,
        "start": np.concatenate([start, last[censored]]),
        "stop": np.concatenate([times, tau[censored]]),
        "event": np.concatenate([np.ones(len(subj), dtype=np.int64), np.zeros(len(censored), dtype=np.int64)]),
    }
    order = np.lexsort((out["stop"], ids))
    return {k: v[order] for k, v in out.items()}


def _truncate(rows: dict, max_events: int) -> dict:
    """Keep each subject's rows up to its max_events-th event (follow-up ends there)."""
    df = pd.DataFrame(rows)
    prior = df.groupby("id")["event"].cumsum() - df["event"]
    keep = (prior < max_events).to_numpy()
    return {k: np.asarray(v)[keep] for k, v in rows.items()}


def reda_to_counting(df: pd.DataFrame) -> dict:
    """reda::simEventData output (one row per event, then a censoring row per subject; columns
    ID, time, event, origin) to (start, stop] rows with 0-based ids."""
    df = df.sort_values(["ID", "time", "event"], ascending=[True, True, False], kind="stable")
    ids = pd.factorize(df["ID"])[0]
    stop = df["time"].to_numpy(dtype=np.float64)
    first = np.r_[True, ids[1:] != ids[:-1]]
    start = np.where(first, df["origin"].to_numpy(dtype=np.float64), np.r_[0.0, stop[:-1]])
    return {"id": ids, "start": start, "stop": stop, "event": df["event"].to_numpy().astype(np.int64)}


def _reda_rows(X, coefs, shape, scale, z, tau, seed) -> dict:
    """reda::simEventData on the native engine's covariates X, end times tau and frailties z.

    reda's intensity is frailty x rho(t) x exp(z'zCoef) from ``origin`` to ``endTime``, with
    rho the Weibull rate (k/s)(t/s)^(k-1), the native engine's parametrisation. For shape >= 1
    the rate is non-decreasing, so reda's thinning bound (its optim of the rate over
    [0, tau_i]) is the exact supremum rho_i(tau_i) and thinning gives exact event times. reda's
    inversion method solves each time with uniroot at its default tolerance (about 1e-4):
    times off by up to ~3e-5 in 3000 subjects and 6-7x slower, so it serves only shape < 1,
    whose rate is unbounded at 0 (reda's thinning would fall back to it with a warning).
    """
    from pysurvbridge import rbridge

    if not rbridge.has_r_package("reda"):
        raise RUnavailableError(
            "engine='reda' needs the R package reda, which Debian does not package: `make setup` "
            "installs it from the CRAN-style repository named by PYSURVBRIDGE_CRAN, then CRAN "
            "(or Rscript -e 'install.packages(\"reda\")'); engine='native' simulates the same design"
        )
    if seed is not None:
        rbridge.call("set.seed", int(seed) % (2**31 - 1), package="base")
    out = rbridge.call(
        "simEventData", len(tau), package="reda", z=X, zCoef=coefs,
        rho=rbridge.helper("weibull_rate"), arguments={"rho": {"shape": shape, "scale": scale}},
        origin=0.0, endTime=tau, frailty=z, method="thinning" if shape >= 1.0 else "inversion",
    )
    return reda_to_counting(rbridge.to_pandas(out))


def paper_validation(seed: int | None = None) -> RecurrentData:
    """The LSTM-Cox paper's simulated data set: 50 subjects, x1 ~ N(0, 1), x2 ~ Bernoulli(0.5),
    Weibull proportional intensity, end of follow-up normal, about 40% of subjects censored
    (no event).

    The paper does not give its parameters; we use shape 1.5, scale 8.8, coefs (0.5, -0.5),
    end of follow-up N(10, 2): the expected share of subjects without an event,
    E[exp(-(tau/8.8)^1.5 exp(x'beta))], is then 0.40 (2e6-draw Monte Carlo: scale 8.81 gives
    0.400; the tests check the simulated share).
    """
    return simulate_recurrent(50, shape=1.5, scale=8.8, coefs=(0.5, -0.5),
                              covariates=("normal", "bernoulli"), end_time=("normal", 10.0, 2.0),
                              seed=seed)


# ---------------------------------------------------------------- single event, dependent censoring


@dataclass(frozen=True, eq=False)
class SimulatedSurvival:
    """data (observed), X, the latent event and censoring times, the true S(t | x), and the
    copula sample (u, v) = (S_T(T | x), S_C(C | x)) whose Kendall's tau is the target."""

    data: SurvivalData
    X: np.ndarray
    event_time: np.ndarray
    censor_time: np.ndarray
    true_survival: Callable[[np.ndarray], np.ndarray]  # times (m,) -> (n, m)
    u: np.ndarray
    v: np.ndarray


def _weibull_inverse(u: np.ndarray, eta: np.ndarray, shape: float, scale: float) -> np.ndarray:
    """t with S(t | x) = exp(-(t/scale)^shape e^eta) = u."""
    return scale * (-np.log(u) / np.exp(eta)) ** (1.0 / shape)


def _risk(X: np.ndarray, beta: np.ndarray, kind: str) -> np.ndarray:
    if kind == "linear":
        return X @ beta
    if kind == "nonlinear":
        # MENSA-style non-linear risk: interactions and curvature on top of the linear part
        return X @ beta + 0.5 * np.sin(2 * X[:, 0]) * X[:, 1] + 0.3 * (X[:, 2] ** 2 - 1.0)
    raise InvalidParameterError(f"risk must be 'linear' or 'nonlinear', but was {kind!r}")


def simulate_survival(
    n: int,
    *,
    risk: Literal["linear", "nonlinear"] = "linear",
    copula: Literal["clayton", "frank"] | None = None,
    kendall_tau: float = 0.0,
    n_features: int = 10,
    event_shape: float = 2.0,
    event_scale: float = 10.0,
    censor_shape: float = 1.5,
    censor_scale: float = 15.0,
    seed: int | None = None,
) -> SimulatedSurvival:
    """Single-event data with possibly dependent censoring (MENSA's synthetic design).

    X ~ N(0, I) with ``n_features`` columns; event T and censoring C are Weibull proportional
    hazards (defaults T: shape 2, scale 10; C: shape 1.5, scale 15; MENSA's appendix D uses
    T: shape 4, scale 18; C: shape 5, scale 17; each with its own coefficients);
    their dependence is the copula of (S_T(T | x), S_C(C | x)) with Kendall's tau
    ``kendall_tau`` (None: independent), i.e. the dependence given x (the marginal tau of T
    and C also reflects their covariates). Returns the observed data and the true S_T(t | x).
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise InvalidParameterError(f"n must be an integer >= 2, but was {n!r}")
    if n_features < 3:
        raise InvalidParameterError(f"n_features must be at least 3, but was {n_features!r}")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    beta_t = np.linspace(0.8, -0.8, n_features) / np.sqrt(n_features / 3)
    beta_c = np.linspace(-0.3, 0.3, n_features) / np.sqrt(n_features / 3)
    eta_t, eta_c = _risk(X, beta_t, risk), X @ beta_c
    if copula is None:
        if kendall_tau != 0:
            raise InvalidParameterError("kendall_tau needs a copula ('clayton' or 'frank')")
        u, v = rng.uniform(size=n), rng.uniform(size=n)
    else:
        u, v = copulas.sample(copula, kendall_tau, n, rng)
    for name, value in (("event_shape", event_shape), ("event_scale", event_scale),
                        ("censor_shape", censor_shape), ("censor_scale", censor_scale)):
        _positive(name, value)
    t = _weibull_inverse(u, eta_t, event_shape, event_scale)
    c = _weibull_inverse(v, eta_c, censor_shape, censor_scale)
    time = np.minimum(t, c)
    event = (t <= c).astype(np.int64)
    data = SurvivalData.from_arrays(time, event, X, [f"x{j + 1}" for j in range(n_features)])

    def true_survival(times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=np.float64)
        return np.exp(-np.outer(np.exp(eta_t), (times / event_scale) ** event_shape))

    return SimulatedSurvival(data, X, t, c, true_survival, u, v)


# ---------------------------------------------------------------- multiple events


@dataclass(frozen=True, eq=False)
class SimulatedMultiEvent:
    """data (observed), X, and the latent times (n, K) before censoring."""

    data: MultiEventData
    X: np.ndarray
    event_times: np.ndarray
    censor_time: np.ndarray


def simulate_multi_event(
    n: int,
    K: int = 2,
    *,
    orderings: Sequence[tuple[int, int]] = ((0, 1),),
    n_features: int = 5,
    censor_max: float = 30.0,
    seed: int | None = None,
) -> SimulatedMultiEvent:
    """K event types per subject with known orderings (e.g. illness (0) before death (1)).

    Each event type k has Weibull proportional-hazards time with its own coefficients; for each
    (a, b) in ``orderings`` the time of b is the time of a plus a Weibull gap, so a always
    precedes b. Censoring is Uniform(0, ``censor_max``) and common to all K events.
    """
    if not isinstance(K, (int, np.integer)) or K < 2:
        raise InvalidParameterError(f"K must be an integer >= 2, but was {K!r}")
    for a, b in orderings:
        if not (0 <= a < K and 0 <= b < K) or a == b:
            raise InvalidParameterError(f"ordering {(a, b)!r} must name two different events in 0..{K - 1}")
    order = _topological(K, orderings)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    T = np.empty((n, K))
    parents = {b: [a for a, bb in orderings if bb == b] for b in range(K)}
    for k in order:
        beta = rng.normal(scale=0.5, size=n_features)
        own = _weibull_inverse(rng.uniform(size=n), X @ beta, 1.5, 10.0)
        before = [T[:, a] for a in parents[k]]
        T[:, k] = (np.max(before, axis=0) + own / 2.0) if before else own
    C = rng.uniform(0.0, _positive("censor_max", censor_max), n)
    times = np.minimum(T, C[:, None])
    events = (T <= C[:, None]).astype(np.int64)
    frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(n_features)])
    for k in range(K):
        frame[f"t{k}"], frame[f"e{k}"] = times[:, k], events[:, k]
    data = MultiEventData.from_frame(frame, times=[f"t{k}" for k in range(K)],
                                     events=[f"e{k}" for k in range(K)],
                                     covariates=[f"x{j + 1}" for j in range(n_features)])
    return SimulatedMultiEvent(data, X, T, C)


def _topological(K: int, orderings: Sequence[tuple[int, int]]) -> list[int]:
    order = topological_order(K, orderings)
    if order is None:
        raise InvalidParameterError(f"orderings {list(orderings)!r} contain a cycle")
    return order
