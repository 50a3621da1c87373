"""Several processes: data-parallel training and the exact Cox likelihood over torch.distributed.

The only module that touches ``torch.distributed``. Three things live here:

- **Process groups.** :func:`ensure_process_group` uses the initialised default group, or starts
  one from the environment ``torchrun`` sets (gloo on the CPU, NCCL on CUDA), or says how to
  start one (:class:`DistributedSetupError`).
- **Data-parallel training** (``SurvivalModel.fit(..., distributed=True)``, via
  :class:`TrainingContext`). Every process is given the same data and arguments and draws the
  same epoch permutation; each global batch (``batch_size`` rows, or all rows) is cut into one
  contiguous part per process, the network is wrapped in DistributedDataParallel, and each
  process back-propagates ``world_size x`` its *share* of the batch loss (shares add up to the
  loss of the whole batch; DDP averages gradients). So the weights equal a one-process fit with
  the same batches, up to rounding, for networks without dropout, BatchNorm or latent sampling
  (those draw their random numbers, or batch statistics, per process). A model's share comes
  from its ``_loss_share`` hook: by default a mean-over-rows loss times the process's fraction
  of the rows (Nnet-survival, MENSA, CoxVAE's ELBO); DeepSurv and LSTM-Cox use the exact Cox
  share below. CoxVAE's Cox term is still computed within each process's part of the batch.
- **The Cox partial likelihood across processes, exactly.** :func:`distributed_risk_sets` builds
  one grid of the distinct (stratum, event time) pairs of all processes (an all_gather of each
  process's event times); :func:`cox_nll_share` sums each process's exp(eta) over its rows at risk
  at every grid time, adds the sums over processes (an autograd-aware all_reduce), and returns
  this process's share of the negative log partial likelihood: value and gradient equal
  :func:`pysurvbridge.losses.cox_nll` on the pooled rows (Breslow and Efron, (start, stop],
  strata, weights). :func:`fit_cox_distributed` runs the native Newton-Raphson fit on per-time
  risk-set sums added over processes (naive and robust variance, Breslow baseline).

Every process must make the same calls in the same order (collectives; backward too). An input
error found in one process only leaves the others waiting until the group's timeout.
"""
from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import scipy.linalg
import torch
import torch.distributed as dist
from torch import nn

from pysurvbridge.classical.native import NativeResult
from pysurvbridge.classical.newton import newton_maximise, warn_if_infinite
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError, SurvBridgeError
from pysurvbridge.losses.cox import LINEAR_SPREAD, _log_sub_exp

__all__ = ["DistributedSetupError", "ensure_process_group", "close_process_group", "rank_and_size",
           "communication_log", "DistributedRiskSets", "distributed_risk_sets", "cox_nll_share", "distributed_cox_nll",
           "fit_cox_distributed", "newton_cox_distributed", "TrainingContext", "BatchPart"]

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
HOW_TO_START = (
    "start the script with torchrun, e.g. `torchrun --nproc_per_node=2 train.py` (it sets RANK, "
    "WORLD_SIZE, MASTER_ADDR and MASTER_PORT, and pysurvbridge then starts the group), or call "
    "torch.distributed.init_process_group('gloo', init_method='tcp://HOST:PORT', rank=r, "
    "world_size=w) in every process first ('nccl' for CUDA)")


class DistributedSetupError(SurvBridgeError, RuntimeError):
    """No usable torch.distributed process group; the message says how to start one."""


# ---------------------------------------------------------------------- process groups
def ensure_process_group(device: torch.device | None = None) -> tuple[int, int]:
    """(rank, world size) of the default process group, starting it from torchrun's environment
    when it is not initialised yet (backend gloo, or NCCL for a CUDA ``device``)."""
    if not dist.is_available():
        raise DistributedSetupError(f"this torch build ({torch.__version__}) has no torch.distributed")
    if not dist.is_initialized():
        missing = [v for v in TORCHRUN_VARS if v not in os.environ]
        if missing:
            raise DistributedSetupError(
                f"distributed training needs a torch.distributed process group, but none is initialised "
                f"and the torchrun variables {missing} are not set: {HOW_TO_START}")
        backend = "nccl" if device is not None and device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=10))
    return dist.get_rank(), dist.get_world_size()


def close_process_group() -> None:
    """Destroy the default process group (at the end of a script or a test worker)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_and_size(group=None) -> tuple[int, int]:
    """(rank, world size) in ``group`` (default: the default group); raises when none is set up."""
    if not (dist.is_available() and dist.is_initialized()):
        raise DistributedSetupError(f"no torch.distributed process group is initialised: {HOW_TO_START}")
    return dist.get_rank(group), dist.get_world_size(group)


def _comm_device(group) -> torch.device:
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


_COMM = {"all_reduce": 0, "all_gather": 0, "broadcast": 0}


@contextlib.contextmanager
def communication_log() -> Iterator[dict[str, int]]:
    """Counts the bytes of the tensors this module sends to collectives inside the block
    (payload sizes per process: all_reduce / all_gather input, broadcast tensor; autograd
    backward all_reduces included). DDP's own gradient all_reduce is not counted: it moves the
    parameters' gradients (the parameters' byte size) every step."""
    start = dict(_COMM)
    out: dict[str, int] = {}
    try:
        yield out
    finally:
        out.update({k: _COMM[k] - start[k] for k in _COMM})


def _all_reduce(t: torch.Tensor, group, op=None) -> torch.Tensor:
    """all_reduce (no autograd) of a copy of a tensor on any device; returns it on t's device."""
    dev = _comm_device(group)
    buf = t.detach().to(dev).clone(memory_format=torch.contiguous_format)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM if op is None else op, group=group)
    _COMM["all_reduce"] += buf.numel() * buf.element_size()
    return buf.to(t.device)


def _all_gather_rows(t: torch.Tensor, group) -> torch.Tensor:
    """Concatenation over processes (rank order) of (m_r, ...) tensors of different lengths."""
    dev = _comm_device(group)
    world = dist.get_world_size(group)
    size = torch.tensor([t.shape[0]], dtype=torch.int64, device=dev)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size, group=group)
    sizes_l = [int(s) for s in sizes]
    padded = torch.zeros((max(sizes_l),) + tuple(t.shape[1:]), dtype=t.dtype, device=dev)
    padded[: t.shape[0]] = t.to(dev)
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded, group=group)
    _COMM["all_gather"] += size.element_size() + padded.numel() * padded.element_size()
    return torch.cat([p[:m] for p, m in zip(parts, sizes_l)]).to(t.device)


class _SumAcrossProcesses(torch.autograd.Function):
    """all_reduce(SUM) whose backward is the all_reduce(SUM) of the incoming gradients: the
    gradient of sum_k f_k(S) with S = sum_r s_r reaches every process's s_r."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        return _all_reduce(tensor, group)

    @staticmethod
    def backward(ctx, grad):
        return _all_reduce(grad.contiguous(), ctx.group), None


class _GatherAcrossProcesses(torch.autograd.Function):
    """(W, ...) stack of every process's same-shape tensor; backward sums the gradients of all
    processes for this process's slice."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        ctx.rank = dist.get_rank(group)
        dev = _comm_device(group)
        buf = tensor.detach().to(dev).contiguous()
        parts = [torch.empty_like(buf) for _ in range(dist.get_world_size(group))]
        dist.all_gather(parts, buf, group=group)
        _COMM["all_gather"] += buf.numel() * buf.element_size()
        return torch.stack(parts).to(tensor.device)

    @staticmethod
    def backward(ctx, grad):
        return _all_reduce(grad.contiguous(), ctx.group)[ctx.rank], None


# ---------------------------------------------------------------------- risk sets
@dataclass(frozen=True, eq=False)
class DistributedRiskSets:
    """This process's rows placed on the global grid of event groups (times only).

    Groups are the distinct (stratum, event time) pairs of all processes, sorted by stratum,
    then time (``group_strata``, ``group_time``; ``bounds`` delimits each stratum's block).
    Row i is at risk for groups ``lo[i] <= g < hi[i]`` (all inside its stratum's block, which
    starts at ``block_start[i]``); ``event_rows`` are this process's events and ``event_group``
    their groups; ``group_size`` counts the events of every process in each group.
    """

    n: int
    group_strata: np.ndarray
    group_time: np.ndarray
    group_size: np.ndarray
    bounds: tuple[int, ...]
    lo: np.ndarray
    hi: np.ndarray
    block_start: np.ndarray
    event_rows: np.ndarray
    event_group: np.ndarray
    has_start: bool
    has_strata: bool
    rank: int
    world_size: int
    _tensors: dict = field(default_factory=dict, repr=False)

    @property
    def n_groups(self) -> int:
        return len(self.group_time)

    def slots(self, ties: str) -> tuple[np.ndarray, np.ndarray]:
        """(group, k/d) of every tied-event slot (one per event of all processes); k/d = 0
        for Breslow."""
        d = self.group_size
        group = np.repeat(np.arange(len(d)), d)
        k = np.arange(len(group)) - np.repeat(np.cumsum(d) - d, d)
        return group, (k / d[group] if ties == "efron" else np.zeros(len(group)))

    def on(self, device: torch.device, dtype: torch.dtype = torch.float64) -> dict[str, Any]:
        """Index tensors on ``device`` (built once per device)."""
        key = (str(device), dtype)
        if key not in self._tensors:
            lt = lambda a: torch.as_tensor(np.asarray(a, dtype=np.int64), device=device)  # noqa: E731
            active = self.lo < self.hi
            starts = active & (self.lo > self.block_start)
            out = {"hi_rows": lt(np.flatnonzero(active)), "hi_bucket": lt(self.hi[active] - 1),
                   "lo_rows": lt(np.flatnonzero(starts)), "lo_bucket": lt(self.lo[starts] - 1),
                   "event_rows": lt(self.event_rows), "event_group": lt(self.event_group)}
            for ties in ("efron", "breslow"):
                g, frac = self.slots(ties)
                out[f"slot_group_{ties}"] = lt(g)
                out[f"slot_frac_{ties}"] = torch.as_tensor(frac, dtype=dtype, device=device)
            out["group_size"] = torch.as_tensor(self.group_size, dtype=dtype, device=device)
            # the log path: rows sorted by hi (and those entering late by lo), so that the
            # rows with hi > g (lo > g) in g's stratum are a tail of its stratum's block
            g = np.arange(self.n_groups)
            stratum = np.repeat(np.arange(len(self.bounds) - 1), np.diff(self.bounds))
            for name, rows, key_ in (("hi", np.flatnonzero(active), self.hi), ("lo", np.flatnonzero(starts), self.lo)):
                order = rows[np.argsort(key_[rows], kind="stable")]
                keys = key_[order]
                blocks = np.searchsorted(keys, np.asarray(self.bounds), "right")
                first = np.searchsorted(keys, g, "right")
                out.update({f"{name}_order": lt(order), f"{name}_blocks": blocks.tolist(), f"{name}_from": lt(first),
                            f"{name}_nonempty": torch.as_tensor(first < blocks[1:][stratum], device=device)})
            self._tensors[key] = out
        return self._tensors[key]


def _numpy(x, name: str, n: int | None, dtype=np.float64, like: str = "risk") -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1 else a
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = "(n,)" if n is None else f"({n},) like {like}"
        raise InvalidParameterError(f"{name} must have shape {want}, but has {tuple(a.shape)}")
    return a.astype(dtype)


def _strata_codes(strata, n: int) -> np.ndarray:
    s = strata.detach().cpu().numpy() if isinstance(strata, torch.Tensor) else np.asarray(strata)
    if s.ndim != 1 or s.shape[0] != n:
        raise InvalidParameterError(f"strata must have shape ({n},) like risk, but has {tuple(s.shape)}")
    if s.dtype.kind not in "iub" and not (s.dtype.kind == "f" and np.all(np.isfinite(s)) and np.all(s == np.round(s))):
        bad = np.flatnonzero(~np.isfinite(s) | (s != np.round(s))) if s.dtype.kind == "f" else np.arange(min(n, 5))
        raise InvalidParameterError(
            f"strata must be integer stratum codes (the same codes in every process), but has "
            f"{s.dtype} values {s[bad[:5]].tolist()} in rows {bad[:5].tolist()}")
    s = s.astype(np.int64)
    if n and np.abs(s).max() >= 2 ** 53:
        raise InvalidParameterError("strata codes must be below 2**53 in absolute value")
    return s


def distributed_risk_sets(stop, event, start=None, strata=None, *, group=None) -> DistributedRiskSets:
    """Place this process's rows on the grid of all processes' event groups (one all_gather
    of the distinct local (stratum, event time) pairs with their counts). Every process of
    ``group`` must call it. ``strata`` are integer codes, the same in every process."""
    rank, world = rank_and_size(group)
    stop_np = _numpy(stop, "stop", None)
    n = len(stop_np)
    event_np = _numpy(event, "event", n)
    if not np.isin(event_np, (0.0, 1.0)).all():
        bad = np.flatnonzero(~np.isin(event_np, (0.0, 1.0)))[:5]
        raise InvalidParameterError(f"event must be 0 or 1, but has {event_np[bad].tolist()} in rows {bad.tolist()}")
    start_np = None if start is None else _numpy(start, "start", n)
    s_np = np.zeros(n, dtype=np.int64) if strata is None else _strata_codes(strata, n)
    for name, a in (("stop", stop_np), ("start", start_np)):
        if a is not None and not np.isfinite(a).all():
            bad = np.flatnonzero(~np.isfinite(a))[:5].tolist()
            raise InvalidParameterError(f"{name} has missing or infinite values in rows {bad}")
    ev = np.flatnonzero(event_np == 1)
    local = pd.DataFrame({"s": s_np[ev], "t": stop_np[ev]}).value_counts().reset_index()
    packed = torch.from_numpy(local[["s", "t", "count"]].to_numpy(np.float64))
    every = _all_gather_rows(packed, group).numpy()
    grid = pd.DataFrame(every, columns=["s", "t", "count"]).groupby(["s", "t"], sort=True)["count"].sum()
    g_strata = grid.index.get_level_values(0).to_numpy().astype(np.int64)
    g_time = grid.index.get_level_values(1).to_numpy(np.float64)
    values, first = np.unique(g_strata, return_index=True)
    bounds = tuple(first.tolist()) + (len(g_time),)
    code = np.searchsorted(values, s_np)
    known = np.zeros(n, bool)
    if len(values):  # rows of strata without events in any process are at risk for nothing
        known = (code < len(values)) & (values[np.minimum(code, len(values) - 1)] == s_np)
    code = np.where(known, code, 0)
    times = np.unique(np.concatenate([g_time, stop_np] + ([] if start_np is None else [start_np])))
    width = len(times) + 2
    rank_of = lambda t: np.searchsorted(times, t) + 1  # noqa: E731  exact: t is one of `times`
    g_code = np.searchsorted(values, g_strata)
    g_key = g_code * width + rank_of(g_time)
    stop_key = code * width + rank_of(stop_np)
    start_key = code * width + (0 if start_np is None else rank_of(start_np))
    hi = np.where(known, np.searchsorted(g_key, stop_key, "right"), 0)
    lo = np.where(known, np.searchsorted(g_key, start_key, "right"), 0)
    block_start = np.asarray(bounds[:-1], dtype=np.int64)[code] if len(values) else np.zeros(n, np.int64)
    return DistributedRiskSets(
        n=n, group_strata=g_strata, group_time=g_time, group_size=grid.to_numpy().astype(np.int64),
        bounds=bounds, lo=lo, hi=hi, block_start=block_start, event_rows=ev,
        event_group=np.searchsorted(g_key, stop_key[ev]), has_start=start_np is not None,
        has_strata=strata is not None, rank=rank, world_size=world)


def _tail_within(v: torch.Tensor, bounds: Sequence[int]) -> torch.Tensor:
    """For each position, the sum of v from it to the end of its stratum block (dim 0)."""
    parts = [v[b0:b1].flip(0).cumsum(0).flip(0) for b0, b1 in zip(bounds[:-1], bounds[1:])]
    return torch.cat(parts) if parts else v


def _log_tails(log_r: torch.Tensor, ix: dict, name: str) -> torch.Tensor:
    """(G,) log of the sum of exp(log_r) over the rows whose ``name`` index (hi or lo) is > g
    in g's stratum: a reverse logcumsumexp restarted in every stratum block (no cancellation
    across strata); -inf, with zero gradient, where there are none."""
    v = log_r[ix[f"{name}_order"]]
    blocks = ix[f"{name}_blocks"]
    parts = [torch.logcumsumexp(v[b0:b1].flip(0), 0).flip(0) for b0, b1 in zip(blocks[:-1], blocks[1:])]
    tail = torch.cat(parts + [torch.full((1,), float("-inf"), dtype=v.dtype, device=v.device)])
    first = ix[f"{name}_from"].clamp(max=tail.shape[0] - 1)
    nonempty = ix[f"{name}_nonempty"]
    return torch.where(nonempty, tail[first], torch.full_like(tail[first], float("-inf")))


def _safe_segment_logsumexp(values: torch.Tensor, segment: torch.Tensor, n: int) -> torch.Tensor:
    """log sum exp over segments; -inf (with zero gradient, never nan) for empty segments."""
    peak = torch.full((n,), float("-inf"), dtype=values.dtype, device=values.device)
    peak = peak.scatter_reduce(0, segment, values.detach(), reduce="amax", include_self=True)
    present = torch.isfinite(peak)
    safe_peak = torch.where(present, peak, torch.zeros_like(peak))
    total = torch.zeros(n, dtype=values.dtype, device=values.device)
    total = total.index_add(0, segment, torch.exp(values - safe_peak[segment]))
    total = torch.where(present, total, torch.ones_like(total))
    return torch.where(present, torch.log(total) + safe_peak, torch.full_like(total, float("-inf")))


def _check_loss_args(risk, ties, reduction) -> torch.Tensor:
    if ties not in ("efron", "breslow"):
        raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {ties!r}")
    if reduction not in ("mean", "sum"):
        raise InvalidParameterError(f"reduction must be 'mean' or 'sum', but was {reduction!r}")
    if not isinstance(risk, torch.Tensor):
        raise InvalidParameterError(f"risk must be a torch tensor, but was {type(risk).__name__}")
    if risk.dim() == 2 and risk.shape[1] == 1:
        risk = risk.squeeze(1)
    if risk.dim() != 1:
        raise InvalidParameterError(f"risk must have shape (n,) or (n, 1), but has {tuple(risk.shape)}")
    return risk


def cox_nll_share(risk: torch.Tensor, stop, event, *, start=None, strata=None, ties: str = "efron",
                  weights=None, reduction: str = "mean", group=None,
                  risk_sets: DistributedRiskSets | None = None) -> torch.Tensor:
    """This process's share of the Cox negative log partial likelihood of the rows of all
    processes: the shares of the processes add up to :func:`pysurvbridge.losses.cox_nll` of
    the pooled rows, and backward (which every process must call: it all_reduces) gives each
    process the exact gradient for its own ``risk``. Arguments as ``cox_nll`` (``strata`` as
    integer codes, the same in every process), plus the process ``group`` and ``risk_sets``
    from :func:`distributed_risk_sets` to reuse across calls on the same times.

    The share is the process's own events' -w_i eta_i plus 1/world_size of the risk-set
    terms, which depend only on the per-group sums of w exp(eta) added over processes.
    """
    risk = _check_loss_args(risk, ties, reduction)
    n, dev = risk.shape[0], risk.device
    for name, x in (("stop", stop), ("event", event), ("start", start)):
        if x is not None:
            _numpy(x, name, n)
    if weights is not None:
        w = torch.as_tensor(weights, device=dev)
        if w.dim() != 1 or w.shape[0] != n:
            raise InvalidParameterError(f"weights must have shape ({n},) like risk, but has {tuple(w.shape)}")
        if bool((w < 0).any()):
            raise InvalidParameterError("weights must be non-negative")
        w = w.to(torch.float64)
    rs = risk_sets if risk_sets is not None else distributed_risk_sets(stop, event, start, strata, group=group)
    if rs.n != n:
        raise InvalidParameterError(f"risk_sets describe {rs.n} rows, but risk has {n}")
    world = rs.world_size
    ix = rs.on(dev)
    if rs.n_groups == 0:  # no events in any process: every process returns here
        return risk.sum() * 0.0
    eta = risk.to(torch.float64)
    log_r = eta if weights is None else eta + torch.log(w)
    G = rs.n_groups
    ev, ev_grp = ix["event_rows"], ix["event_group"]
    # constants: weighted events per group and in all (from the grid without weights)
    if weights is None:
        sum_w = ix["group_size"]
        total_w = sum_w.sum()
    else:
        local = torch.zeros(G + 1, dtype=torch.float64, device=dev).index_add(0, ev_grp, w[ev])
        local[G] = w[ev].sum()
        both = _all_reduce(local, group)
        sum_w, total_w = both[:G], both[G]
    # one shift for all processes, and whether exp() is safe in float64 (as cox_nll decides)
    finite = log_r.detach()[torch.isfinite(log_r.detach())]
    ext = torch.full((2,), float("-inf"), dtype=torch.float64, device=dev)
    if finite.numel():
        ext = torch.stack([finite.max(), -finite.min()])
    ext = _all_reduce(ext, group, dist.ReduceOp.MAX)
    shift, spread = ext[0], float(ext[0] + ext[1])
    if spread <= LINEAR_SPREAD and len(rs.bounds) - 1 <= 64:
        r = torch.exp(log_r - shift)

        def per_group(rows, groups):  # sums of r over rows, into (G,) by group
            return torch.zeros(G, dtype=torch.float64, device=dev).index_add(0, groups, r[rows])
        s0 = _tail_within(per_group(ix["hi_rows"], ix["hi_bucket"]), rs.bounds)  # rows with hi > g
        if rs.has_start:  # minus rows with lo > g (entering after g)
            s0 = s0 - _tail_within(per_group(ix["lo_rows"], ix["lo_bucket"]), rs.bounds)
        S = _SumAcrossProcesses.apply(torch.stack([s0, per_group(ev, ev_grp)]), group)
        log_s0, ratio = torch.log(S[0]) + shift, S[1] / S[0]
    else:  # log-sum-exp throughout; the processes' sums are gathered and added in log space
        log_s0 = _log_tails(log_r, ix, "hi")
        if rs.has_start:
            log_s0 = _log_sub_exp(log_s0, _log_tails(log_r, ix, "lo"))
        log_tied = _safe_segment_logsumexp(log_r[ev], ev_grp, G)
        L = torch.logsumexp(_GatherAcrossProcesses.apply(torch.stack([log_s0, log_tied]), group), dim=0)
        log_s0, ratio = L[0], torch.exp(L[1] - L[0])
    slot_g, frac = ix[f"slot_group_{ties}"], ix[f"slot_frac_{ties}"]
    log_den = log_s0[slot_g]
    if ties == "efron":
        log_den = log_den + torch.log1p(-frac * ratio[slot_g])
    mean_w = (sum_w / ix["group_size"])[slot_g]
    own = eta[ev] if weights is None else w[ev] * eta[ev]
    share = (mean_w * log_den).sum() / world - own.sum()
    if reduction == "mean":
        share = share / total_w
    return share.to(risk.dtype)


def distributed_cox_nll(risk: torch.Tensor, stop, event, *, start=None, strata=None, ties: str = "efron",
                        weights=None, reduction: str = "mean", group=None,
                        risk_sets: DistributedRiskSets | None = None) -> torch.Tensor:
    """:func:`pysurvbridge.losses.cox_nll` of the rows of all processes, on every process: the
    value is the global negative log partial likelihood and backward (called by every
    process) gives each process the exact gradient for its own ``risk``. See
    :func:`cox_nll_share` for the arguments."""
    share = cox_nll_share(risk, stop, event, start=start, strata=strata, ties=ties, weights=weights,
                          reduction=reduction, group=group, risk_sets=risk_sets)
    total = _all_reduce(share.detach().reshape(1), group)[0]
    return share + (total - share.detach())


# ---------------------------------------------------------------------- classical Newton fit
class _GlobalCox:
    """Per-group risk-set sums over all processes at a coefficient vector (numpy, float64)."""

    def __init__(self, X: np.ndarray, rs: DistributedRiskSets, ties: str, group) -> None:
        self.X, self.rs, self.ties, self.group = X, rs, ties, group
        self.slot_g, self.frac = rs.slots(ties)
        self.d = rs.group_size.astype(np.float64)
        active = rs.lo < rs.hi
        self.hi_rows, self.hi_b = np.flatnonzero(active), rs.hi[active] - 1
        starts = active & (rs.lo > rs.block_start)
        self.lo_rows, self.lo_b = np.flatnonzero(starts), rs.lo[starts] - 1
        ev = rs.event_rows
        self.x_events = self._sum(np.concatenate([X[ev].sum(axis=0), [len(ev)]]))

    def _sum(self, a: np.ndarray, op=None) -> np.ndarray:
        """all_reduce (SUM, or ``op``) of a float64 array over the processes."""
        return _all_reduce(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)), self.group, op).numpy()

    def _bucket(self, rows, buckets, v) -> np.ndarray:
        """(G, ...) sums of v[rows] by bucket."""
        G = self.rs.n_groups
        if v.ndim == 1:
            return np.bincount(buckets, weights=v[rows], minlength=G)
        cols = [np.bincount(buckets, weights=v[rows, j], minlength=G) for j in range(v.shape[1])]
        return np.column_stack(cols).reshape(G, v.shape[1])

    def _tail(self, v: np.ndarray) -> np.ndarray:
        """Reverse cumulative sums restarted in every stratum block."""
        b = self.rs.bounds
        return np.concatenate([np.cumsum(v[b0:b1][::-1], axis=0)[::-1] for b0, b1 in zip(b[:-1], b[1:])])

    def sums(self, beta: np.ndarray) -> dict:
        """S0, S1 (at risk) and their tied-event parts per group, added over processes; the
        Efron slots' denominators and means; the log partial likelihood."""
        X, rs, G, p = self.X, self.rs, self.rs.n_groups, self.X.shape[1]
        eta = X @ beta
        shift = float(self._sum(np.array([eta.max() if len(eta) else -np.inf]), dist.ReduceOp.MAX)[0])
        r = np.exp(eta - shift)
        rx = np.column_stack([r, r[:, None] * X])
        at_risk = self._tail(self._bucket(self.hi_rows, self.hi_b, rx))
        if rs.has_start:
            at_risk = at_risk - self._tail(self._bucket(self.lo_rows, self.lo_b, rx))
        tied = self._bucket(rs.event_rows, rs.event_group, rx)
        packed = np.concatenate([at_risk.ravel(), tied.ravel(), [eta[rs.event_rows].sum()]])
        total = self._sum(packed)
        at_risk, tied = total[:G * (p + 1)].reshape(G, p + 1), total[G * (p + 1):-1].reshape(G, p + 1)
        g, frac = self.slot_g, self.frac
        num = at_risk[g] - frac[:, None] * tied[g]
        den = num[:, 0]
        xbar = num[:, 1:] / den[:, None]
        loglik = total[-1] - (np.log(den) + shift).sum()
        return {"eta": eta, "r": r, "den": den, "xbar": xbar, "loglik": float(loglik), "s0": at_risk[:, 0],
                "shift": shift}

    def _per_group(self, v: np.ndarray) -> np.ndarray:
        G = self.rs.n_groups
        if v.ndim == 1:
            return np.bincount(self.slot_g, weights=v, minlength=G)
        return np.column_stack([np.bincount(self.slot_g, weights=v[:, j], minlength=G)
                                for j in range(v.shape[1])])

    def _over_groups(self, v: np.ndarray) -> np.ndarray:
        c = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(v, axis=0)])
        return c[self.rs.hi] - c[self.rs.lo]

    def row_terms(self, s: dict) -> tuple[np.ndarray, np.ndarray | None]:
        """a_i = sum over the slots row i is at risk for of c/den (c = 1 - k/d for its own
        tied slots), and, for residuals, b_i = the same sum of c xbar / den."""
        rs, inv = self.rs, 1.0 / s["den"]
        ev, grp = rs.event_rows, rs.event_group
        a = self._over_groups(self._per_group(inv))
        a[ev] -= self._per_group(self.frac * inv)[grp]
        xi = s["xbar"] * inv[:, None]
        b = self._over_groups(self._per_group(xi))
        b[ev] -= self._per_group(self.frac[:, None] * xi)[grp]
        return a, b

    def score_info(self, s: dict) -> tuple[np.ndarray, np.ndarray]:
        a, _ = self.row_terms(s)
        X, p = self.X, self.X.shape[1]
        local = (X * (s["r"] * a)[:, None]).T @ X
        info = self._sum(local.ravel()).reshape(p, p) - s["xbar"].T @ s["xbar"]
        score = self.x_events[:p] - s["xbar"].sum(axis=0)
        return score, info

    def residuals(self, s: dict) -> np.ndarray:
        """(n, p) score residuals of this process's rows (local once the group sums are known)."""
        a, b = self.row_terms(s)
        rs, X = self.rs, self.X
        resid = -s["r"][:, None] * (X * a[:, None] - b)
        mean_xbar = self._per_group(s["xbar"]) / self.d[:, None]
        resid[rs.event_rows] += X[rs.event_rows] - mean_xbar[rs.event_group]
        return resid


@dataclass(frozen=True)
class DistributedCoxResult(NativeResult):
    """Output of :func:`newton_cox_distributed` (identical in every process): the native
    engine's result, with the counts over all processes."""

    n_rows: int
    n_events: int
    n_subjects: int


def _cluster_keys(cluster: np.ndarray) -> np.ndarray:
    return pd.util.hash_array(np.asarray(pd.unique(cluster), dtype=object)).view(np.int64)


def newton_cox_distributed(X: np.ndarray, stop: np.ndarray, event: np.ndarray, *, start=None, strata=None,
                           cluster=None, ties: str = "efron", group=None, max_iter: int = 30,
                           eps: float = 1e-12, names: Sequence[str] | None = None) -> DistributedCoxResult:
    """Newton-Raphson on the partial likelihood of the rows of all processes (each passes its
    own rows; every process of ``group`` must call it with the same ``ties``).

    Per iteration: one all_reduce of the per-group sums S0 and S1 of this process's rows at
    risk (and their tied-event parts; G (2 + 2p) numbers on the shared grid of event times),
    and one of the p x p sum of r_i a_i x_i x_i' (a_i needs the global denominators; S2 is
    never formed per group). Step halving, the convergence rule and the warnings are the native
    engine's (``classical.newton``). ``cluster`` (subject ids; default: one
    per row) must put each subject's rows in one process: the robust sandwich then adds
    per-process sums of per-subject score residuals.
    """
    if ties not in ("efron", "breslow"):
        raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {ties!r}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InvalidParameterError(f"X must be a 2-D (n, p) array, but has shape {X.shape}")
    n, p = X.shape
    if not np.isfinite(X).all():
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))[:5].tolist()
        raise InvalidParameterError(f"X has missing or infinite values in rows {bad}")
    stop = _numpy(stop, "stop", n, like="X")
    for name, a in (("event", event), ("start", start)):
        if a is not None:
            _numpy(a, name, n, like="X")
    rs = distributed_risk_sets(stop, event, start, strata, group=group)
    if cluster is None:  # one subject per row
        n_subjects = int(_all_reduce(torch.tensor([n], dtype=torch.float64), group)[0])
        cluster = np.arange(n)
    else:
        cluster = np.asarray(cluster)
        if cluster.shape != (n,):
            raise InvalidParameterError(f"cluster must have shape ({n},) like X, but has {cluster.shape}")
        keys = _all_gather_rows(torch.from_numpy(_cluster_keys(cluster)), group).numpy()
        if len(np.unique(keys)) < len(keys):
            raise InvalidParameterError(
                "cluster: some subject ids appear in more than one process; give each process whole "
                "subjects (all rows of a subject in one process) for the robust variance")
        n_subjects = len(keys)
    if rs.n_groups == 0:
        raise InvalidSurvivalDataError("no process has an event: the partial likelihood is empty")
    model = _GlobalCox(X, rs, ties, group)
    fit = newton_maximise(model.sums, lambda sums: sums["loglik"], model.score_info, p,
                          max_iter=max_iter, eps=eps, stacklevel=3)
    beta, sums, converged = fit.beta, fit.state, fit.converged
    with np.errstate(all="ignore") if not converged else contextlib.nullcontext():
        score, info = model.score_info(sums)
        resid = model.residuals(sums)
    var = np.linalg.inv(info)
    codes = pd.factorize(cluster)[0]
    n_clusters = codes.max(initial=-1) + 1
    by_cluster = np.column_stack([np.bincount(codes, weights=resid[:, j], minlength=n_clusters) for j in range(p)])
    meat = model._sum((by_cluster.T @ by_cluster).ravel()).reshape(p, p)
    hazard = rs.group_size / (sums["s0"] * np.exp(sums["shift"]))
    baseline = pd.DataFrame({"stratum": rs.group_strata if rs.has_strata else None,
                             "time": rs.group_time, "hazard": hazard})
    baseline["cumhaz"] = baseline.groupby("stratum", dropna=False)["hazard"].cumsum()
    counts = model._sum(np.array([n]))
    if converged:
        warn_if_infinite(beta, score @ var, names or [f"column {j}" for j in range(p)], stacklevel=2)
    return DistributedCoxResult(beta, var, var @ meat @ var, fit.loglik, fit.loglik_null, fit.iterations, converged,
                                baseline, int(counts[0]), int(model.x_events[p]), n_subjects)


def _check_design_global(X: np.ndarray, names: Sequence[str], group) -> None:
    """design._check_design on the rows of all processes (constant, then collinear columns)."""
    p = X.shape[1]
    ext = np.concatenate([X.max(axis=0, initial=-np.inf), -X.min(axis=0, initial=np.inf)])
    ext = _all_reduce(torch.from_numpy(ext), group, dist.ReduceOp.MAX).numpy()
    constant = [nm for nm, hi, lo in zip(names, ext[:p], -ext[p:]) if hi == lo]
    if constant:
        raise InvalidSurvivalDataError(
            f"covariate(s) {constant} are constant in the data of all processes; a Cox model has no "
            "intercept, so they cannot be estimated: drop them")
    # shifted by the global midrange for accuracy, then centred with the global mean
    mid = (ext[:p] - ext[p:]) / 2
    Z = X - mid
    local = np.concatenate([(Z.T @ Z).ravel(), Z.sum(axis=0), [len(Z)]])
    tot = _all_reduce(torch.from_numpy(local), group).numpy()
    m = tot[p * p:p * p + p] / tot[-1]
    gram = tot[:p * p].reshape(p, p) - tot[-1] * np.outer(m, m)
    scale = np.sqrt(np.diag(gram))
    _, r, piv = scipy.linalg.qr(gram / np.outer(scale, scale), pivoting=True)
    rank = int(np.sum(np.abs(np.diag(r)) > 1e-10 * abs(r[0, 0])))
    if rank < p:
        dependent, others = [names[j] for j in piv[rank:]], [names[j] for j in piv[:rank]]
        raise InvalidSurvivalDataError(
            f"covariate(s) {dependent} are collinear with {others} (a linear combination of them, up "
            "to a constant); drop one of them")


def fit_cox_distributed(data, covariates: Sequence[str] | None = None, *, model: str = "cox",
                        ties: str = "efron", max_events: int | None = None, group=None):
    """The native classical fit of ``model`` ("cox", "ag", "pwp-total", "pwp-gap", "wlw") on
    the subjects of all processes: each process passes a container with *its own subjects*
    (whole subjects; a SurvivalData or RecurrentData as :func:`pysurvbridge.classical.fit_cox`
    and friends take), and every process gets the same :class:`ClassicalFit`: coefficients,
    naive and robust (cluster-by-subject) variance, log-likelihoods and the Breslow baseline
    equal the one-process ``engine="native"`` fit on the pooled data (tests: 1e-9).
    ``concordance`` is not computed across processes (NaN); ``engine`` is "native-distributed".
    """
    from pysurvbridge.classical.design import MODEL_LABELS, CoxProblem, _choose_covariates
    from pysurvbridge.classical.r_engine import r_call_text
    from pysurvbridge.classical.recurrent import _result
    from pysurvbridge.data.events import SurvivalData
    from pysurvbridge.data.recurrent import RecurrentData

    if model not in MODEL_LABELS:
        raise InvalidParameterError(f"model must be one of {list(MODEL_LABELS)}, but was {model!r}")
    if ties not in ("efron", "breslow"):
        raise InvalidParameterError(f"ties must be 'efron' or 'breslow', but was {ties!r}")
    if getattr(data, "weights", None) is not None:
        raise InvalidParameterError(
            "fit_cox_distributed does not take case weights yet: the data have weights; fit them "
            "with fit_cox/fit_andersen_gill (one process), which equal coxph(..., weights =)")
    if isinstance(data, SurvivalData):
        if model != "cox":
            raise InvalidSurvivalDataError(
                f"{MODEL_LABELS[model]} needs recurrent-event data (RecurrentData), got SurvivalData")
        frame = data.to_frame().rename(columns={"time": "stop"})
        if "id" not in frame:
            rank, _ = rank_and_size(group)
            frame.insert(0, "id", [f"{rank}:{i}" for i in range(len(frame))])
    elif isinstance(data, RecurrentData):
        layouts: dict[str, Callable[[], pd.DataFrame]] = {
            "cox": lambda: data.first_event().to_frame().rename(columns={"time": "stop"}),
            "ag": lambda: data.andersen_gill(max_events), "pwp-total": lambda: data.pwp("total", max_events),
            "pwp-gap": lambda: data.pwp("gap", max_events),
            "wlw": lambda: data.wlw(4 if max_events is None else max_events)}
        frame = layouts[model]()
    else:
        raise InvalidSurvivalDataError(f"data must be SurvivalData or RecurrentData, got {type(data).__name__}")
    frame = frame.reset_index(drop=True)
    names = _choose_covariates(covariates, data.covariates)
    X = frame[list(names)].to_numpy(dtype=np.float64)
    _check_design_global(X, names, group)
    counting = model in ("ag", "pwp-total")
    strata = frame["enum"].to_numpy() if model in ("pwp-total", "pwp-gap", "wlw") else None
    problem = CoxProblem(model=model, frame=frame, covariates=names, X=X,
                         stop=frame["stop"].to_numpy(np.float64), event=frame["event"].to_numpy(np.float64),
                         start=frame["start"].to_numpy(np.float64) if counting else None,
                         strata=strata, cluster=frame["id"].to_numpy())
    res = newton_cox_distributed(X, problem.stop, problem.event, start=problem.start, strata=strata,
                                 cluster=problem.cluster, ties=ties, group=group, names=list(names))
    return _result(problem, "native-distributed", ties, res.beta, res.var, res.robust_var, res.loglik,
                   res.loglik_null, res.iterations, float("nan"), r_call_text(problem, ties), res.baseline,
                   counts=(res.n_subjects, res.n_rows, res.n_events))


# ---------------------------------------------------------------------- data-parallel training
@dataclass(eq=False)
class BatchPart:
    """This process's part of one global batch: ``rows`` of ``global_rows``; ``fraction`` =
    rows / global_rows (the weight of a per-row mean loss). ``cox_nll_share`` gives a
    Cox-type model its share of the exact partial likelihood of the whole batch (risk sets
    over all processes), reusing the risk sets while the batch is the same (full batch)."""

    rows: int
    global_rows: int
    group: Any = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def fraction(self) -> float:
        return self.rows / self.global_rows

    def cox_nll_share(self, risk, stop, event, *, start=None, ties: str = "efron") -> torch.Tensor:
        if "risk_sets" not in self._cache:
            self._cache["risk_sets"] = distributed_risk_sets(stop, event, start, group=self.group)
        return cox_nll_share(risk, stop, event, start=start, ties=ties, group=self.group,
                             risk_sets=self._cache["risk_sets"])


class _ForwardModule(nn.Module):
    """The model's own forward (``SurvivalModel._forward``) as a module holding the network,
    so that DistributedDataParallel sees every parameter used in it."""

    def __init__(self, network: nn.Module, forward: Callable) -> None:
        super().__init__()
        self.network = network
        self._model_forward = forward

    def forward(self, inputs):
        return self._model_forward(inputs)


def _tie_outputs(output) -> torch.Tensor:
    """0 x the sum of every output tensor: keeps all parameters used in the forward pass in the
    graph (DDP expects a gradient for each), adding exactly 0 to the loss and its gradient."""
    tensors = [output] if isinstance(output, torch.Tensor) else [t for t in output if isinstance(t, torch.Tensor)]
    tied = [t.sum() for t in tensors if t.requires_grad and t.is_floating_point()]
    if not tied:
        return torch.zeros((), dtype=torch.float64)
    return 0.0 * torch.stack([t.to(torch.float64) for t in tied]).sum()


class TrainingContext:
    """What ``SurvivalModel.fit(distributed=True)`` asks of this module: the device, DDP, this
    process's part of every batch, the loss share's backward and the reductions of the loop's
    statistics. See the module docstring for the scheme."""

    def __init__(self, device: torch.device, group=None) -> None:
        self.rank, self.world = dist.get_rank(group), dist.get_world_size(group)
        self.device, self.group = device, group
        self.ddp: nn.Module | None = None
        self.part: BatchPart | None = None
        self._full: BatchPart | None = None

    @classmethod
    def start(cls, device: torch.device) -> "TrainingContext":
        """Join (or start, under torchrun) the default process group; a CUDA device without an
        index becomes this process's local GPU (LOCAL_RANK)."""
        if device.type == "cuda" and device.index is None:
            if "LOCAL_RANK" in os.environ:
                local = int(os.environ["LOCAL_RANK"])
            else:
                rank, _ = rank_and_size()
                local = rank % max(torch.cuda.device_count(), 1)
            device = torch.device("cuda", local)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        ensure_process_group(device)
        return cls(device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model, seed: int) -> None:
        """DDP around the model's forward (parameters broadcast from process 0); then a
        per-process random stream for dropout and sampling (process 0 keeps ``seed``)."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        self.ddp = DistributedDataParallel(_ForwardModule(model.network_, model._forward), device_ids=ids,
                                           process_group=self.group)
        if self.rank:
            torch.manual_seed(int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0]))

    def _bounds(self, a: int, b: int) -> tuple[int, int]:
        m = b - a
        return a + self.rank * m // self.world, a + (self.rank + 1) * m // self.world

    def batches(self, inputs, targets: tuple[torch.Tensor, ...], batch_size: int | None,
                generator: torch.Generator, min_rows: int):
        """This process's part of each batch of ``_memory_batches`` (same permutation, same
        batches; a last batch under ``min_rows`` rows per process joins the one before)."""
        n = targets[0].shape[0]
        need = max(min_rows, 1) * self.world
        if n < need:
            raise InvalidParameterError(f"distributed training over {self.world} processes needs at least {need} "
                                        f"training rows ({max(min_rows, 1)} per process), but has {n}")
        take = (lambda x, rows: tuple(t[rows] for t in x) if isinstance(x, tuple) else x[rows])  # noqa: E731
        if batch_size is None or batch_size >= n:
            lo, hi = self._bounds(0, n)
            if self._full is None:
                self._full = BatchPart(hi - lo, n, self.group)
            self.part = self._full
            yield take(inputs, slice(lo, hi)), take(targets, slice(lo, hi))
            return
        order = torch.randperm(n, generator=generator).to(targets[0].device)
        starts = list(range(0, n, batch_size))
        if len(starts) > 1 and n - starts[-1] < need:
            starts.pop()
        for i, k in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else n
            lo, hi = self._bounds(k, end)
            rows = order[lo:hi]
            self.part = BatchPart(hi - lo, end - k, self.group)
            yield take(inputs, rows), take(targets, rows)

    def step(self, model, inputs, targets) -> torch.Tensor:
        """Forward through DDP, backward of world_size x this process's loss share (DDP then
        averages the gradients into those of the whole batch); returns the share, detached."""
        output = self.ddp(inputs)
        share = model._loss_share(output, targets, self.part)
        (self.world * share + _tie_outputs(output).to(share.dtype)).backward()
        return share.detach()

    def batch_losses(self, shares: torch.Tensor | None) -> torch.Tensor | None:
        """The loss of every global batch of the epoch ((batches,) float64): the shares added
        over processes (one all_reduce per epoch)."""
        if shares is None or not len(shares):
            return shares
        return _all_reduce(shares.to(torch.float64), self.group)

    def agree(self, value: float | None) -> float | None:
        """Process 0's value (e.g. the validation loss), so every process takes the same
        early-stopping decision."""
        if value is None:
            return None
        t = torch.tensor([value], dtype=torch.float64, device=_comm_device(self.group))
        dist.broadcast(t, src=dist.get_global_rank(self.group, 0) if self.group is not None else 0, group=self.group)
        _COMM["broadcast"] += t.element_size()
        return float(t[0])


