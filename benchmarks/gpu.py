"""Everything this project measures on one lent NVIDIA GPU (H100/H200), in one run of < 8 min.

    .venv/bin/python benchmarks/gpu.py [--out benchmarks/gpu_results.json] [--budget-seconds 420]
        [--with-cpu] [--only device,gpu_tests,cox_nll,metrics,training] [--device auto]
    .venv/bin/python benchmarks/gpu.py --smoke --out /tmp/gpu_smoke.json    # tiny sizes, any device

Sections (run in this order; the JSON and Markdown list them the same way):

1. ``device``: name, memory, compute capability, torch / CUDA / cuDNN versions, driver (from
   nvidia-smi when present), the peak memory bandwidth from NVIDIA's datasheets
   (:data:`PEAK_BANDWIDTH`) and the bandwidth of a large device-to-device copy
   (``dst.copy_(src)``, 2 x bytes / time, best of 10), both reported.
2. ``gpu_tests``: ``python -m pytest -q -m gpu tests`` (the ``gpu`` marker of pyproject.toml;
   every CUDA test in tests/ carries it) and its pytest summary line.
3. ``cox_nll``: forward + backward of :func:`pysurvbridge.losses.cox_nll` on 1e6 and 1e7
   counting-process rows ((start, stop], 4 strata, about 30% events, integer times 1..5000 as
   in benchmarks/bench_classical.py), Efron and Breslow, float32 and float64 risks, with the
   risk-set structure built inside the call (what DeepSurv / LSTM-Cox / CoxVAE do per batch)
   and passed in (``risk_sets=``, cached across calls). Median of repeats timed with CUDA
   events after ``torch.cuda.synchronize()``; peak memory above the inputs
   (``torch.cuda.max_memory_allocated``); beside each time the memory-bandwidth floor of the
   bytes-moved model below and the ratio measured / floor (goal: at most 5 at 1e7 rows).
4. ``metrics``: IPCW Brier score and cumulative/dynamic td-AUC of 1e6 subjects at 10 times,
   from numpy inputs (the CPU path) and from CUDA tensors (both metrics accept tensors on any
   device and do their (n x times) work there), with the largest difference between the two.
5. ``training``: samples per second of Nnet-survival (1e6 subjects, batch 256 and 4096),
   DeepSurv (1e6 subjects, batch 1024 and full batch), LSTM-Cox (1e5 simulated recurrent-event
   subjects, bladder-like: ~3.5 intervals each, sequences of 3, full batch), MENSA (1e5
   subjects, 2 events, batch 1024) and CoxVAE (1e5 lesion images 32x32, conv, batch 256).
   Seconds per epoch = (fit of 1 + e epochs - fit of 1 epoch) / e after a warm-up fit on a
   subset (set-up and data transfer cancel). ``--with-cpu`` adds the same configurations on
   the CPU (off by default: it roughly doubles the run).

``--budget-seconds`` (default 420) bounds the run: a section or item whose estimated time does
not fit in what is left is skipped with the reason in the output, so one run stays inside the
device limit. ``--smoke`` runs every section at tiny sizes (about a minute on 2 CPU cores);
tests/test_gpu_script.py runs it so this script cannot rot. Without CUDA and without
``--smoke`` (or ``--device cpu``) the script refuses to run rather than overwrite GPU figures.

Bytes-moved model of ``cox_nll`` (the floor = bytes / peak bandwidth). n rows, E event rows,
G event groups (distinct (stratum, stop) pairs with an event), B = 2 sorted branches with
``start`` (the stop and start orders), 1 without; f = 4 or 8 bytes per risk; times, events
and indices 8 bytes; a "pass over m rows of b bytes" moves m b bytes (reads + writes). Counted:
minimal reads of the inputs and one write of the gradient, and the sort, scan, gather and
scatter passes the implementation needs; not counted: the elementwise temporaries (flips,
concatenations, dtype casts, masks) and kernel launches, which are what the ratio exposes.

- inputs: read stop, event, start, strata once (8 bytes each, built variant only) and the risk
  twice (the max for the shift, then exp: f each); write the gradient once (f).
- each radix sort of m keys of k bytes with an int64 index (what torch.sort / torch.unique do
  on CUDA: CUB LSD radix sort, 8-bit digits over all key bits): one histogram read (m k) plus
  k passes that read and write key and index (2 (k + 8) m each): 264 m bytes for int64 keys.
- built variant only: time ranks = a sort of the B n times + an inverse scatter (16 bytes a
  row); stratum codes = a sort of n + inverse scatter; B sorts of the n (stratum, time) keys;
  event groups = the E event rows written, 2 sorts of E keys + inverse; 2 B G searchsorted
  probes of log2(n) 8-byte reads.
- loss, per branch: forward gather exp(risk) into sorted order (read index, read value, write:
  24 n), reverse cumulative sum (16 n); backward the adjoint scan (16 n) and the scatter back
  to row order (24 n); plus exp: write r (8 n), backward read r and its gradient (16 n).
- event terms: forward 4 passes over E rows of 16 bytes (gathers of risk, log S0, group and
  rank), backward the same: 128 E.

The "inputs-only" floor (every argument read once, the gradient written once) is shown too:
no algorithm can beat it. GPU figures exist only from a lent machine; this file invents none.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

SECTIONS = ("device", "gpu_tests", "cox_nll", "metrics", "training")
DEFAULT_OUT = HERE / "gpu_results.json"

#: peak DRAM bandwidth (bytes/s) from NVIDIA's product datasheets; the first rule whose
#: pattern matches torch's device name (upper case) wins, so the more specific come first
PEAK_BANDWIDTH = (
    (r"H200", 4.8e12, "H200 (SXM and NVL), HBM3e: 4.8 TB/s", "NVIDIA H200 Tensor Core GPU datasheet"),
    (r"H100.*PCIE", 2.0e12, "H100 PCIe, HBM2e: 2.0 TB/s", "NVIDIA H100 Tensor Core GPU datasheet"),
    (r"H100.*NVL", 3.9e12, "H100 NVL, HBM3: 3.9 TB/s", "NVIDIA H100 Tensor Core GPU datasheet"),
    (r"H100", 3.35e12, "H100 SXM, HBM3: 3.35 TB/s", "NVIDIA H100 Tensor Core GPU datasheet"),
    (r"A100.*80GB.*PCIE|A100.*PCIE.*80GB", 1.935e12, "A100 80GB PCIe: 1.935 TB/s",
     "NVIDIA A100 Tensor Core GPU datasheet"),
    (r"A100.*80GB", 2.039e12, "A100 80GB SXM: 2.039 TB/s", "NVIDIA A100 Tensor Core GPU datasheet"),
    (r"A100", 1.555e12, "A100 40GB: 1.555 TB/s", "NVIDIA A100 Tensor Core GPU datasheet"),
    (r"\bL4\b", 300e9, "L4: 300 GB/s", "NVIDIA L4 Tensor Core GPU datasheet"),
    (r"\bT4\b", 320e9, "T4: 320 GB/s", "NVIDIA T4 Tensor Core GPU datasheet"),
)

#: sizes of a full run (a lent GPU) and of --smoke (any device, about a minute on 2 CPU cores)
FULL = dict(
    copy_bytes=2 << 30, copy_repeats=10,
    cox_rows=(1_000_000, 10_000_000), cox_repeats=10, cox_warmup=2,
    metrics_n=1_000_000, metrics_times=10, metrics_repeats=3,
    nnet_n=1_000_000, nnet_batches=(256, 4096), deepsurv_n=1_000_000, deepsurv_batch=1024,
    lstm_subjects=100_000, mensa_n=100_000, mensa_batch=1024,
    coxvae_n=100_000, coxvae_unique=10_000, coxvae_size=32, coxvae_batch=256,
    extra_epochs=2, warm_fraction=0.05,
)
SMOKE = dict(
    copy_bytes=16 << 20, copy_repeats=3,
    cox_rows=(2_000, 20_000), cox_repeats=3, cox_warmup=1,
    metrics_n=20_000, metrics_times=5, metrics_repeats=2,
    nnet_n=3_000, nnet_batches=(256,), deepsurv_n=3_000, deepsurv_batch=512,
    lstm_subjects=300, mensa_n=2_000, mensa_batch=256,
    coxvae_n=400, coxvae_unique=200, coxvae_size=16, coxvae_batch=64,
    extra_epochs=1, warm_fraction=0.2,
)
#: seconds a section needs at least before it is started (full run; smoke: 1 s each)
#: the gpu-marked tests take well under a minute; a hang must not eat the whole budget
GPU_TESTS_LIMIT_S = 180
SECTION_MIN_SECONDS = {"device": 5, "gpu_tests": 45, "cox_nll": 20, "metrics": 15, "training": 20}


# ---------------------------------------------------------------- budget and timing


class Budget:
    """Wall-clock seconds left of ``--budget-seconds`` since the script started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.t0 = time.perf_counter()

    def used(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.seconds - self.used()

    def refuse(self, need: float, what: str) -> str | None:
        """None when ``need`` seconds fit in what is left, else the skip reason."""
        if need <= self.left():
            return None
        return (f"budget: {what} needs about {need:.0f} s but {max(self.left(), 0):.0f} s of "
                f"--budget-seconds {self.seconds:.0f} are left")


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed_repeats(fn, dev: torch.device, repeats: int, warmup: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of fn after ``warmup`` calls: CUDA events between
    synchronizations on a GPU, perf_counter elsewhere."""
    for _ in range(warmup):
        fn()
    sync(dev)
    out = []
    for _ in range(repeats):
        if dev.type == "cuda":
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(dev)
            begin.record()
            fn()
            end.record()
            end.synchronize()
            out.append(begin.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return out


def wall(fn, dev: torch.device) -> float:
    sync(dev)
    t0 = time.perf_counter()
    fn()
    sync(dev)
    return time.perf_counter() - t0


def peak_extra_bytes(fn, dev: torch.device) -> float | None:
    """Peak CUDA memory allocated during fn above what was allocated before (None off CUDA)."""
    if dev.type != "cuda":
        return None
    torch.cuda.synchronize(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    base = torch.cuda.memory_allocated(dev)
    fn()
    torch.cuda.synchronize(dev)
    return float(torch.cuda.max_memory_allocated(dev) - base)


# ---------------------------------------------------------------- 1. device


def datasheet_bandwidth(name: str) -> dict | None:
    upper = name.upper()
    for pattern, bw, what, source in PEAK_BANDWIDTH:
        if re.search(pattern, upper):
            return {"bytes_per_s": bw, "what": what, "source": source}
    return None


def copy_bandwidth(dev: torch.device, nbytes: int, repeats: int) -> dict:
    """Bandwidth of dst.copy_(src) on one device: 2 x bytes (read + write) / seconds."""
    if dev.type == "cuda":
        nbytes = int(min(nbytes, torch.cuda.get_device_properties(dev).total_memory // 16))
    n = max(nbytes // 4, 1)
    src = torch.empty(n, dtype=torch.float32, device=dev).fill_(1.0)
    dst = torch.empty_like(src)
    secs = timed_repeats(lambda: dst.copy_(src), dev, repeats, warmup=2)
    del src, dst
    return {"bytes_copied": 4 * n, "best_s": min(secs), "median_s": statistics.median(secs),
            "bytes_per_s": 2 * 4 * n / min(secs), "bytes_per_s_median": 2 * 4 * n / statistics.median(secs)}


def nvidia_smi() -> dict | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.memory,"
                              "power.limit", "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    keys = ("name", "driver_version", "memory_total", "max_memory_clock", "power_limit")
    return dict(zip(keys, (v.strip() for v in out.stdout.strip().splitlines()[0].split(","))))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def section_device(cfg: dict, dev: torch.device, ctx: dict) -> dict:
    info: dict = {"torch": torch.__version__, "python": platform.python_version(), "device_type": dev.type,
                  "cpu": cpu_name(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        info.update(name=p.name, total_memory_bytes=int(p.total_memory), compute_capability=f"{p.major}.{p.minor}",
                    multiprocessors=p.multi_processor_count, l2_cache_bytes=getattr(p, "L2_cache_size", None),
                    cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(), nvidia_smi=nvidia_smi())
        sheet = datasheet_bandwidth(p.name)
    else:
        info.update(name=f"CPU: {cpu_name()}", total_memory_bytes=None, compute_capability=None, cuda=None)
        sheet = None
    copy = copy_bandwidth(dev, cfg["copy_bytes"], cfg["copy_repeats"])
    info["datasheet_bandwidth"] = sheet
    info["copy_bandwidth"] = copy
    if sheet:
        info["peak_bandwidth_bytes_per_s"] = sheet["bytes_per_s"]
        info["peak_bandwidth_from"] = f"datasheet ({sheet['source']})"
        info["copy_over_datasheet"] = copy["bytes_per_s"] / sheet["bytes_per_s"]
    else:
        info["peak_bandwidth_bytes_per_s"] = copy["bytes_per_s"]
        info["peak_bandwidth_from"] = ("measured device-to-device copy (no datasheet entry for "
                                       f"{info['name']!r})")
    ctx["peak_bw"] = info["peak_bandwidth_bytes_per_s"]
    ctx["copy_bw"] = copy["bytes_per_s"]
    return {"status": "ok", "rows": [info]}


# ---------------------------------------------------------------- 2. gpu-marked tests


SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|deselected|errors?|xfailed|xpassed|warnings?)")


def section_gpu_tests(cfg: dict, dev: torch.device, ctx: dict) -> dict:
    budget: Budget = ctx["budget"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "tests"]
    limit = max(min(budget.left(), GPU_TESTS_LIMIT_S), 10)
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"status": "skipped", "reason": f"pytest ran past its limit of {limit:.0f} s (killed)", "rows": []}
    seconds = time.perf_counter() - t0
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    summary = next((ln.strip("= ") for ln in reversed(lines) if SUMMARY.search(ln) and " in " in ln), "")
    counts = {k.rstrip("s") if k.startswith("error") else k: int(v) for v, k in SUMMARY.findall(summary)}
    detail = [ln for ln in lines if ln.startswith(("SKIPPED", "FAILED", "ERROR", "XFAIL"))][:20]
    row = {"command": " ".join(["python"] + cmd[1:]), "summary": summary or (lines[-1] if lines else ""),
           "exit_code": out.returncode, "seconds": seconds, "counts": counts, "details": detail,
           "marker": "gpu (pyproject.toml [tool.pytest.ini_options] markers)"}
    if out.returncode not in (0, 5):  # 0: all passed or skipped, 5: none collected
        row["output_tail"] = (out.stdout[-3000:] + "\n" + out.stderr[-2000:]).strip()
    return {"status": "ok", "rows": [row]}


# ---------------------------------------------------------------- 3. cox_nll


RADIX_BITS = 8  # CUB's LSD radix sort digit; torch.sort sorts every bit of the key


def sort_bytes(m: float, key_bytes: int = 8, index_bytes: int = 8) -> float:
    passes = key_bytes * 8 // RADIX_BITS
    return m * key_bytes + passes * 2 * (key_bytes + index_bytes) * m


def cox_bytes_model(n: int, E: int, G: int, f: int, *, has_start: bool, has_strata: bool,
                    built: bool) -> dict:
    """Bytes moved by one cox_nll forward + backward (see the module docstring); returns the
    items, the total and the inputs-only total."""
    B = 2 if has_start else 1
    items: list[tuple[str, float]] = []
    if built:
        items.append(("read stop, event" + (", start" if has_start else "") + (", strata" if has_strata else ""),
                      8.0 * n * (2 + has_start + has_strata)))
        items.append((f"time ranks: radix sort of {B}n float64 times + inverse scatter",
                      sort_bytes(B * n) + 16.0 * B * n))
        if has_strata:
            items.append(("stratum codes: radix sort of n int64 + inverse scatter", sort_bytes(n) + 16.0 * n))
        items.append((f"{B} radix sort(s) of n (stratum, time) int64 keys with index", B * sort_bytes(n)))
        items.append(("event groups: E rows written, 2 radix sorts of E keys + inverse",
                      8.0 * E + 2 * sort_bytes(E) + 16.0 * E))
        items.append(("searchsorted: 2B G probes of log2(n) reads", 2.0 * B * G * 8 * math.ceil(math.log2(max(n, 2)))))
    items.append(("risk read twice (max, exp), gradient written once", 3.0 * f * n))
    items.append(("exp: r written (float64); backward reads r and its gradient", 24.0 * n))
    items.append((f"{B} branch(es): gather into sorted order + reverse cumsum, and their adjoints", B * 80.0 * n))
    items.append(("event terms: 4 passes over E rows of 16 bytes, forward and backward", 128.0 * E))
    total = sum(b for _, b in items)
    if built:
        inputs = n * (2 * f + 8 * (2 + has_start + has_strata))
    else:
        inputs = n * (2 * f + 8 * B) + 24.0 * E
    return {"items": items, "total_bytes": total, "inputs_only_bytes": float(inputs)}


def counting_rows(n: int, dev: torch.device, seed: int = 0):
    """(start, stop, event, strata, risk) as in bench_classical's start/strata case, on dev."""
    g = torch.Generator(device=dev).manual_seed(seed)
    stop = torch.randint(1, 5000, (n,), generator=g, device=dev).to(torch.float64)
    start = (stop - torch.randint(1, 500, (n,), generator=g, device=dev)).clamp(min=0)
    event = torch.bernoulli(torch.full((n,), 0.3, dtype=torch.float64, device=dev), generator=g)
    strata = torch.randint(0, 4, (n,), generator=g, device=dev)
    risk = torch.randn(n, generator=g, device=dev, dtype=torch.float64) * 0.5
    return start, stop, event, strata, risk


def section_cox(cfg: dict, dev: torch.device, ctx: dict) -> dict:
    from pysurvbridge.losses import cox_nll, cox_risk_sets

    budget: Budget = ctx["budget"]
    peak_bw, copy_bw = ctx["peak_bw"], ctx["copy_bw"]
    rows, notes = [], []
    prev_seconds = None  # total seconds of the previous size's configurations
    prev_n = None
    for n in cfg["cox_rows"]:
        if prev_seconds is not None:
            need = prev_seconds * (n / prev_n) * 1.3 + 5
            reason = budget.refuse(need, f"cox_nll at {n:.0e} rows")
            if reason:
                rows.append({"rows": n, "skipped": reason})
                continue
        t_size = time.perf_counter()
        start, stop, event, strata, base = counting_rows(n, dev)
        rs = cox_risk_sets(stop, event, start, strata)
        E, G = int(rs["event_rows"].numel()), int(rs["group_size"].numel())
        for built in (False, True):
            for dtype in (torch.float32, torch.float64):
                for ties in ("efron", "breslow"):
                    risk = base.to(dtype).requires_grad_(True)
                    kw = dict(start=start, strata=strata, ties=ties, risk_sets=None if built else rs)

                    def step():
                        risk.grad = None
                        cox_nll(risk, stop, event, **kw).backward()

                    secs = timed_repeats(step, dev, cfg["cox_repeats"], cfg["cox_warmup"])
                    peak = peak_extra_bytes(step, dev)
                    loss = float(cox_nll(risk.detach(), stop, event, **kw))
                    f = 4 if dtype == torch.float32 else 8
                    model = cox_bytes_model(n, E, G, f, has_start=True, has_strata=True, built=built)
                    med = statistics.median(secs)
                    floor = model["total_bytes"] / peak_bw
                    rows.append({
                        "rows": n, "events": E, "event_groups": G, "strata": 4,
                        "risk_sets": "built in the call" if built else "cached (risk_sets=)",
                        "dtype": str(dtype).replace("torch.", ""), "ties": ties, "loss": loss,
                        "median_ms": med * 1e3, "min_ms": min(secs) * 1e3, "repeats": len(secs),
                        "peak_extra_bytes": peak, "peak_bytes_per_row": None if peak is None else peak / n,
                        "model_bytes": model["total_bytes"], "model_items": model["items"],
                        "floor_ms": floor * 1e3, "ratio_to_floor": med / floor,
                        "floor_copy_ms": model["total_bytes"] / copy_bw * 1e3,
                        "ratio_to_copy_floor": med / (model["total_bytes"] / copy_bw),
                        "inputs_floor_ms": model["inputs_only_bytes"] / peak_bw * 1e3,
                        "ratio_to_inputs_floor": med / (model["inputs_only_bytes"] / peak_bw),
                    })
                    del risk
        del start, stop, event, strata, base, rs
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        prev_seconds, prev_n = time.perf_counter() - t_size, n
    big = max(cfg["cox_rows"])
    at_big = [r for r in rows if r.get("rows") == big and "ratio_to_floor" in r]
    goal = {}
    for variant in ("cached (risk_sets=)", "built in the call"):
        worst = [r["ratio_to_floor"] for r in at_big if r["risk_sets"] == variant]
        if worst:
            goal[variant] = {"rows": big, "worst_ratio": max(worst),
                             "met": max(worst) <= 5.0 if dev.type == "cuda" else None}
    if dev.type != "cuda":
        notes.append("not a GPU: the floor uses the measured copy bandwidth, and the 5x goal (for a GPU) "
                     "is not judged")
    notes.append("the linear path of cox_nll (score spread <= 300, <= 64 strata) is what these inputs take")
    return {"status": "ok", "rows": rows, "goal_5x_at_largest": goal, "notes": notes,
            "peak_bandwidth_bytes_per_s": peak_bw, "copy_bandwidth_bytes_per_s": copy_bw}


# ---------------------------------------------------------------- 4. metrics


def section_metrics(cfg: dict, dev: torch.device, ctx: dict) -> dict:
    from pysurvbridge.metrics.auc import cumulative_dynamic_auc
    from pysurvbridge.metrics.brier import brier_score

    rng = np.random.default_rng(0)
    n, m, reps = cfg["metrics_n"], cfg["metrics_times"], cfg["metrics_repeats"]
    t, e = rng.exponential(5, n), rng.binomial(1, 0.6, n)
    rate = rng.uniform(0.05, 0.4, n)
    times = np.quantile(t[e == 1], np.linspace(0.1, 0.8, m))
    S = np.exp(-np.outer(rate, times))
    metrics = (
        ("brier_score", lambda x: brier_score(x, times, t, e), S),
        ("cumulative_dynamic_auc", lambda x: cumulative_dynamic_auc(x, times, t, e)[0], rate),
    )
    rows = []
    note = ("brier_score and cumulative_dynamic_auc accept torch tensors on any device: the (n x times) "
            "work runs on the tensor's device; the O(n) censoring Kaplan-Meier and weights (and the "
            "AUC's case/control masks, built in numpy) are computed on the CPU and moved on each call, "
            "so they are in the device time")
    for name, fn, x in metrics:
        cpu_value = fn(x)  # warm-up, and the reference
        cpu_secs = timed_repeats(lambda: fn(x), torch.device("cpu"), reps, 0)
        rows.append({"metric": name, "subjects": n, "times": m, "input": "numpy (CPU path)",
                     "median_s": statistics.median(cpu_secs), "subjects_per_s": n / statistics.median(cpu_secs),
                     "max_abs_diff_vs_cpu": 0.0, "on_device": False})
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(dev)
        dev_value = fn(xt)  # warm-up on the device
        dev_secs = timed_repeats(lambda: fn(xt), dev, reps, 0)  # returns numpy: synchronized
        rows.append({"metric": name, "subjects": n, "times": m, "input": f"torch tensor on {dev.type}",
                     "median_s": statistics.median(dev_secs), "subjects_per_s": n / statistics.median(dev_secs),
                     "max_abs_diff_vs_cpu": float(np.max(np.abs(np.asarray(dev_value) - np.asarray(cpu_value)))),
                     "on_device": True})
        del xt
    return {"status": "ok", "rows": rows, "notes": [note]}


# ---------------------------------------------------------------- 5. training


def _nnet_data(n):
    from bench_nnet_survival import make_data

    from pysurvbridge.data import SurvivalData

    X, t, e = make_data(n)
    return SurvivalData.from_arrays(t, e, X)


def _survival_data(n):
    from pysurvbridge.simulate import simulate_survival

    return simulate_survival(n, n_features=10, seed=0).data


def _recurrent_data(subjects):
    from pysurvbridge.simulate import simulate_recurrent

    return simulate_recurrent(subjects, seed=0)


def _multi_event_data(n):
    from pysurvbridge.simulate import simulate_multi_event

    return simulate_multi_event(n, K=2, n_features=10, seed=0).data


def _image_data(n, unique, size):
    """``unique`` simulated lesion images tiled to n (times jittered so ties stay realistic):
    simulating 1e5 images costs ~20 s of the budget and changes nothing about speed."""
    from pysurvbridge.data import SurvivalData
    from pysurvbridge.simulate import simulate_lesion_images

    sim = simulate_lesion_images(min(n, unique), size=size, seed=0).data
    reps = -(-n // len(sim))
    rng = np.random.default_rng(1)
    X = np.tile(np.asarray(sim.X, dtype=np.float32), (reps, 1))[:n]
    t = np.tile(np.asarray(sim.time), reps)[:n] * rng.uniform(0.999, 1.001, n)
    e = np.tile(np.asarray(sim.event), reps)[:n]
    return SurvivalData.from_arrays(t, e, X)


def training_items(cfg: dict) -> list[dict]:
    from pysurvbridge.models import MENSA, CoxVAE, DeepSurv, LSTMCox, NnetSurvival

    items = []
    for b in cfg["nnet_batches"]:
        items.append(dict(model="nnet-survival", batch=b, data=("nnet", cfg["nnet_n"]),
                          config=f"MLP 39-7-19, flexible head, {cfg['nnet_n']:,} subjects, batch {b}",
                          make=lambda: NnetSurvival(19, hidden=(7,))))
    n, b = cfg["deepsurv_n"], cfg["deepsurv_batch"]
    items.append(dict(model="deepsurv", batch=b, data=("surv", n), make=lambda: DeepSurv((32, 32)),
                      config=f"MLP 10-32-32-1, Efron, {n:,} subjects, batch {b}"))
    items.append(dict(model="deepsurv", batch=None, data=("surv", n), make=lambda: DeepSurv((32, 32)),
                      config=f"MLP 10-32-32-1, Efron, {n:,} subjects, full batch"))
    n = cfg["lstm_subjects"]
    items.append(dict(model="lstm-cox", batch=None, data=("recurrent", n), make=lambda: LSTMCox(),
                      config=f"history protocol, LSTM 20, seq 3, {n:,} simulated recurrent-event subjects, "
                             "full batch ((start, stop] Efron)"))
    n, b = cfg["mensa_n"], cfg["mensa_batch"]
    items.append(dict(model="mensa", batch=b, data=("multi", n), make=lambda: MENSA(trajectories=[(0, 1)]),
                      config=f"K = 2, MLP 10-32, 3 Weibulls, float64, {n:,} subjects, batch {b}"))
    n, b, s = cfg["coxvae_n"], cfg["coxvae_batch"], cfg["coxvae_size"]
    items.append(dict(model="coxvae", batch=b, data=("images", n), make=lambda: CoxVAE(encoder="conv", decoder="conv"),
                      config=f"conv encoder/decoder, latent 8, {n:,} lesion images {s}x{s}, batch {b}"))
    return items


def _load(key, cfg, cache):
    if key not in cache:
        kind, n = key
        if kind == "images":
            cache[key] = _image_data(n, cfg["coxvae_unique"], cfg["coxvae_size"])
        else:
            make = {"nnet": _nnet_data, "surv": _survival_data, "recurrent": _recurrent_data,
                    "multi": _multi_event_data}[kind]
            cache[key] = make(n)
    return cache[key]


def _warm_subset(data, fraction: float):
    from pysurvbridge.data.recurrent import RecurrentData

    if isinstance(data, RecurrentData):
        ids = np.asarray(data.ids)
        return data.subset(ids[:max(20, int(len(ids) * fraction))])
    return data.subset(slice(0, max(200, int(len(data) * fraction))))


def measure_fit(item: dict, data, dev: torch.device, cfg: dict, budget: Budget) -> dict:
    """Seconds per epoch by differencing fits of 1 and 1 + e epochs, after a warm-up fit on a
    subset whose time (scaled to the full data) decides what fits in the budget."""
    kw = dict(batch_size=item["batch"], verbose=False, device=dev)
    fit = lambda d, epochs: wall(lambda: item["make"]().fit(d, epochs=epochs, **kw), dev)  # noqa: E731
    warm = _warm_subset(data, cfg["warm_fraction"])
    t_warm = fit(warm, 1)
    est_epoch = t_warm * len(data) / max(len(warm), 1)  # an over-estimate (fixed costs scaled up)
    extra = cfg["extra_epochs"]
    reason = budget.refuse(est_epoch, f"{item['model']} on {dev.type} (one epoch, estimated from a warm-up fit)")
    if reason:
        return {"skipped": reason}
    one = fit(data, 1)
    while extra > 1 and budget.refuse(one * (1 + extra), "") is not None:
        extra -= 1
    out = {"first_fit_s": one}
    if budget.refuse(one * (1 + extra), "") is not None:
        out.update(seconds_per_epoch=one, method="one epoch, set-up included (budget left no second fit)")
    else:
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        more = fit(data, 1 + extra)
        peak = float(torch.cuda.max_memory_allocated(dev)) if dev.type == "cuda" else None
        per = (more - one) / extra
        if per <= 0:
            out.update(seconds_per_epoch=more / (1 + extra), method=f"fit of {1 + extra} epochs / {1 + extra}, "
                       "set-up included (differencing was not positive)")
        else:
            out.update(seconds_per_epoch=per, method=f"(fit of {1 + extra} epochs - fit of 1) / {extra}")
        out["peak_bytes"] = peak
    out["samples_per_s"] = len(data) / out["seconds_per_epoch"]
    return out


def section_training(cfg: dict, dev: torch.device, ctx: dict) -> dict:
    budget: Budget = ctx["budget"]
    rows, cache = [], {}
    devices = [dev] + ([torch.device("cpu")] if ctx["with_cpu"] else [])
    for item in training_items(cfg):
        row = {"model": item["model"], "config": item["config"]}
        reason = budget.refuse(SECTION_MIN_SECONDS["training"] * (0.05 if ctx["smoke"] else 0.5),
                               f"{item['model']} (data and a warm-up fit)")
        if reason:
            row["skipped"] = reason
            rows.append(row)
            continue
        t0 = time.perf_counter()
        data = _load(item["data"], cfg, cache)
        row["data_s"] = time.perf_counter() - t0
        row["rows_per_epoch"] = len(data)
        for key, d in zip(("device", "cpu"), devices):
            try:
                row[key] = measure_fit(item, data, d, cfg, budget)
            except Exception as exc:  # one model's failure must not hide the others'
                row[key] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            row[key]["device"] = str(d)
        if "cpu" in row and "samples_per_s" in row.get("cpu", {}) and "samples_per_s" in row["device"]:
            row["device_over_cpu"] = row["device"]["samples_per_s"] / row["cpu"]["samples_per_s"]
        rows.append(row)
    notes = ["samples = subjects per epoch (LSTM-Cox: at-risk intervals, one sequence each)"]
    if ctx["with_cpu"]:
        notes.append(f"CPU figures: {cpu_name()}, torch {torch.get_num_threads()} threads"
                     + (" (the device is the CPU too: the same run twice)" if dev.type == "cpu" else ""))
    return {"status": "ok", "rows": rows, "notes": notes}


# ---------------------------------------------------------------- output


def _fmt(v, digits=3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.{digits - 1}e}"
        return f"{v:,.{digits}g}" if abs(v) >= 1000 else f"{v:.{digits}g}"
    return str(v)


def md_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _skip_line(sec: dict) -> str:
    return f"skipped: {sec.get('reason', '')}" if sec["status"] == "skipped" else f"error: {sec.get('error', '')}"


def markdown(result: dict) -> str:
    out = [f"## GPU benchmarks (`benchmarks/gpu.py`{' --smoke' if result['meta']['smoke'] else ''})", ""]
    meta = result["meta"]
    out.append(f"{meta['started']}, {meta['elapsed_s']:.0f} s of a {meta['budget_seconds']:.0f} s budget; "
               f"torch {meta['torch']}, git {meta.get('git') or '?'}")
    secs = result["sections"]
    dev = secs.get("device", {})
    out += ["", "### 1. Device", ""]
    if dev.get("status") == "ok":
        d = dev["rows"][0]
        sheet = d.get("datasheet_bandwidth")
        mem = d.get("total_memory_bytes")
        kv = [("name", d["name"]), ("memory", "n/a" if mem is None else f"{mem / 2**30:.1f} GiB"),
              ("compute capability", d.get("compute_capability") or "n/a"),
              ("torch / CUDA / cuDNN", f"{d['torch']} / {d.get('cuda') or 'n/a'} / {d.get('cudnn') or 'n/a'}"),
              ("driver", (d.get("nvidia_smi") or {}).get("driver_version", "n/a")),
              ("peak bandwidth (datasheet)", f"{sheet['bytes_per_s'] / 1e12:.3g} TB/s ({sheet['what']}; "
               f"{sheet['source']})" if sheet else "no datasheet entry"),
              ("device-to-device copy", f"{d['copy_bandwidth']['bytes_per_s'] / 1e12:.3g} TB/s "
               f"({d['copy_bandwidth']['bytes_copied'] / 2**20:.0f} MiB copied; best run)"),
              ("copy / datasheet", _fmt(d.get("copy_over_datasheet"))),
              ("floor uses", d["peak_bandwidth_from"]),
              ("CPU", f"{d['cpu']}, {d['cpu_count']} cores, torch {d['torch_threads']} threads")]
        out.append(md_table(["", "value"], kv))
    else:
        out.append(_skip_line(dev) if dev else "not run")
    tests = secs.get("gpu_tests", {})
    out += ["", "### 2. gpu-marked tests", ""]
    if tests.get("status") == "ok":
        r = tests["rows"][0]
        out.append(md_table(["command", "summary", "exit code", "seconds"],
                            [(f"`{r['command']}`", r["summary"], str(r["exit_code"]), r["seconds"])]))
    else:
        out.append(_skip_line(tests) if tests else "not run")
    cox = secs.get("cox_nll", {})
    out += ["", "### 3. cox_nll forward + backward, (start, stop], 4 strata", ""]
    if cox.get("status") == "ok":
        rows = []
        for r in cox["rows"]:
            if "skipped" in r:
                rows.append((f"{r['rows']:.0e}", "skipped", r["skipped"], *[""] * 9))
                continue
            rows.append((f"{r['rows']:.0e}", r["risk_sets"], r["dtype"], r["ties"], r["median_ms"],
                         None if r["peak_extra_bytes"] is None else r["peak_extra_bytes"] / 2**20,
                         r["model_bytes"] / 1e6, r["floor_ms"], f"{r['ratio_to_floor']:.1f}x",
                         f"{r['ratio_to_copy_floor']:.1f}x", r["inputs_floor_ms"],
                         f"{r['ratio_to_inputs_floor']:.1f}x"))
        out.append(md_table(["rows", "risk sets", "dtype", "ties", "median ms", "peak MiB above inputs",
                             "MB moved (model)", "floor ms (peak BW)", "measured / floor",
                             "measured / floor at copy BW", "inputs-only floor ms", "measured / inputs floor"], rows))
        for variant, g in cox.get("goal_5x_at_largest", {}).items():
            verdict = "not judged (not a GPU)" if g["met"] is None else ("met" if g["met"] else "not met")
            out.append(f"\nGoal (at most 5x the floor at {g['rows']:.0e} rows), risk sets {variant}: worst "
                       f"{g['worst_ratio']:.1f}x, {verdict}.")
        shown = {}
        for r in cox["rows"]:
            if "model_items" in r and r["dtype"] == "float32" and r["ties"] == "efron":
                shown[r["risk_sets"]] = r  # the largest size wins
        for variant, r in shown.items():
            out.append(f"\nBytes-moved model at {r['rows']:.0e} rows ({r['events']} events, {r['event_groups']} "
                       f"groups), float32, risk sets {variant}:\n")
            out.append(md_table(["pass", "MB"], [(k, b / 1e6) for k, b in r["model_items"]]
                                + [("total", r["model_bytes"] / 1e6)]))
        out += [f"\n{n}" for n in cox.get("notes", [])]
    else:
        out.append(_skip_line(cox) if cox else "not run")
    met = secs.get("metrics", {})
    out += ["", "### 4. Brier score and td-AUC", ""]
    if met.get("status") == "ok":
        out.append(md_table(["metric", "subjects", "times", "input", "median s", "subjects/s", "max diff vs CPU path"],
                            [(r["metric"], f"{r['subjects']:.0e}", str(r["times"]), r["input"], r["median_s"],
                              r["subjects_per_s"], r["max_abs_diff_vs_cpu"]) for r in met["rows"]]))
        out += [f"\n{n}" for n in met.get("notes", [])]
    else:
        out.append(_skip_line(met) if met else "not run")
    tr = secs.get("training", {})
    out += ["", "### 5. Training throughput", ""]
    if tr.get("status") == "ok":
        rows = []
        for r in tr["rows"]:
            if "skipped" in r:
                rows.append((r["model"], r["config"], "", "skipped", "", "", "", "", r["skipped"]))
                continue
            d, c = r["device"], r.get("cpu", {})
            why = d.get("error") or d.get("skipped") or d.get("method", "")
            rows.append((r["model"], r["config"], str(r["rows_per_epoch"]), d.get("device", ""),
                         d.get("seconds_per_epoch"), d.get("samples_per_s"),
                         None if d.get("peak_bytes") is None else d["peak_bytes"] / 2**20,
                         c.get("samples_per_s") if c else None,
                         (f"{r['device_over_cpu']:.1f}x" if "device_over_cpu" in r else "n/a") + f"; {why}"
                         + (f"; CPU: {c.get('error') or c.get('skipped') or c.get('method', '')}" if c else "")))
        out.append(md_table(["model", "configuration", "rows/epoch", "device", "s/epoch", "samples/s",
                             "peak MiB", "CPU samples/s", "device / CPU; method"], rows))
        out += [f"\n{n}" for n in tr.get("notes", [])]
    else:
        out.append(_skip_line(tr) if tr else "not run")
    return "\n".join(out) + "\n"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)


def _git() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=False)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


RUNNERS = {"device": section_device, "gpu_tests": section_gpu_tests, "cox_nll": section_cox,
           "metrics": section_metrics, "training": section_training}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="JSON file (the Markdown goes beside it, .md)")
    ap.add_argument("--budget-seconds", type=float, default=420.0)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on any device, to prove the script works")
    ap.add_argument("--with-cpu", action="store_true", help="also train each model on the CPU (same configuration)")
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cuda, cuda:1 or cpu")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections to run")
    a = ap.parse_args(argv)
    budget = Budget(a.budget_seconds)
    only = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown sections {unknown}; choose from {','.join(SECTIONS)}")
    dev = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if a.device == "auto" else a.device))
    if dev.type == "cuda" and not torch.cuda.is_available():
        print(f"--device {a.device}: torch {torch.__version__} sees no CUDA device", file=sys.stderr)
        return 2
    if dev.type != "cuda" and not a.smoke and a.device == "auto":
        print(f"no CUDA device (torch {torch.__version__}, built for CUDA {torch.version.cuda}; a +cpu build "
              "never sees a GPU): nothing written. Use --smoke for the tiny check, or --device cpu to run "
              "the full sizes on the CPU (long).", file=sys.stderr)
        return 2
    cfg = SMOKE if a.smoke else FULL
    ctx = {"budget": budget, "with_cpu": a.with_cpu, "smoke": a.smoke, "peak_bw": None, "copy_bw": None}
    result = {"meta": {"script": "benchmarks/gpu.py", "argv": sys.argv[1:] if argv is None else list(argv),
                       "smoke": a.smoke, "with_cpu": a.with_cpu, "device": str(dev),
                       "started": _dt.datetime.now().isoformat(timespec="seconds"),
                       "budget_seconds": a.budget_seconds, "torch": torch.__version__, "git": _git(),
                       "sizes": cfg, "bytes_model": __doc__.split("Bytes-moved model")[1].strip()},
              "sections": {}}
    if ("cox_nll" in only) and "device" not in only:
        only = ["device"] + only  # the floors need the bandwidth
    for name in SECTIONS:
        if name not in only:
            continue
        need = 1 if a.smoke else SECTION_MIN_SECONDS[name]
        reason = budget.refuse(need, f"section {name}")
        t0 = time.perf_counter()
        if reason:
            sec = {"status": "skipped", "reason": reason, "rows": []}
        else:
            print(f"[{budget.used():6.1f} s] {name} ...", file=sys.stderr, flush=True)
            try:
                sec = RUNNERS[name](cfg, dev, ctx)
            except Exception as exc:
                sec = {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                       "traceback": traceback.format_exc()[-3000:], "rows": []}
        sec["seconds"] = time.perf_counter() - t0
        result["sections"][name] = sec
    result["meta"]["elapsed_s"] = budget.used()
    md = markdown(result)
    result["markdown"] = md
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_jsonable(result), indent=2) + "\n")
    out.with_suffix(".md").write_text(md)
    print(md)
    print(f"wrote {out} and {out.with_suffix('.md')} ({budget.used():.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
