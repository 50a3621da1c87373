"""benchmarks/gpu.py --smoke on the CPU: every section runs and reports numbers or a skip reason.

The script is written for a lent GPU that this project's machines rarely have; running its
smoke mode here (about 15 s on 2 cores) keeps it from rotting. No timings are asserted.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu.py"
SECTIONS = ("device", "gpu_tests", "cox_nll", "metrics", "training")
MODELS = {"nnet-survival", "deepsurv", "lstm-cox", "mensa", "coxvae"}


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_script") / "gpu_results.json"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--with-cpu", "--device", "cpu",
                           "--budget-seconds", "900", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text()), out, proc.stdout


def test_every_section_has_numbers_or_a_reason(smoke):
    result, _, _ = smoke
    assert result["meta"]["smoke"] is True
    assert set(result["sections"]) == set(SECTIONS)
    for name, sec in result["sections"].items():
        assert sec["status"] in ("ok", "skipped"), (name, sec.get("error"), sec.get("traceback"))
        if sec["status"] == "skipped":
            assert sec["reason"].strip(), name
        else:
            assert sec["rows"], name


def test_device_section_reports_a_bandwidth(smoke):
    sec = smoke[0]["sections"]["device"]
    if sec["status"] == "skipped":
        pytest.skip(sec["reason"])
    d = sec["rows"][0]
    assert d["name"] and d["torch"]
    assert positive(d["copy_bandwidth"]["bytes_per_s"])
    assert positive(d["peak_bandwidth_bytes_per_s"]) and d["peak_bandwidth_from"]


def test_cox_rows_cover_every_case_with_a_floor(smoke):
    sec = smoke[0]["sections"]["cox_nll"]
    assert sec["status"] == "ok", sec.get("reason") or sec.get("error")
    measured = [r for r in sec["rows"] if "skipped" not in r]
    skipped = [r for r in sec["rows"] if "skipped" in r]
    assert all(r["skipped"].strip() for r in skipped)
    cases = {(r["rows"], r["risk_sets"], r["dtype"], r["ties"]) for r in measured}
    for n in {r["rows"] for r in measured}:
        assert {c[1:] for c in cases if c[0] == n} == {
            (rs, dt, t) for rs in ("cached (risk_sets=)", "built in the call")
            for dt in ("float32", "float64") for t in ("efron", "breslow")}
    for r in measured:
        for key in ("median_ms", "model_bytes", "floor_ms", "ratio_to_floor", "inputs_floor_ms",
                    "ratio_to_inputs_floor", "events", "event_groups"):
            assert positive(r[key]), (key, r)
        assert math.isfinite(r["loss"])
        assert sum(b for _, b in r["model_items"]) == pytest.approx(r["model_bytes"])
        # no algorithm moves fewer bytes than reading its inputs once
        assert r["inputs_floor_ms"] < r["floor_ms"]


def test_the_bytes_model_counts_the_sorts_only_when_risk_sets_are_built():
    sys.path.insert(0, str(SCRIPT.parent))
    import gpu

    kw = dict(has_start=True, has_strata=True)
    cached = gpu.cox_bytes_model(1000, 300, 200, 4, built=False, **kw)
    built = gpu.cox_bytes_model(1000, 300, 200, 4, built=True, **kw)
    # a radix sort of n int64 keys with an int64 index: one histogram read + 8 passes of 32 bytes
    assert gpu.sort_bytes(1000) == 1000 * (8 + 8 * 32)
    assert built["total_bytes"] - cached["total_bytes"] > 4 * gpu.sort_bytes(1000)
    assert gpu.cox_bytes_model(1000, 300, 200, 8, built=False, **kw)["total_bytes"] == \
        cached["total_bytes"] + 3 * 4 * 1000


def test_metrics_compare_the_tensor_path_with_the_numpy_path(smoke):
    sec = smoke[0]["sections"]["metrics"]
    if sec["status"] == "skipped":
        pytest.skip(sec["reason"])
    assert {r["metric"] for r in sec["rows"]} == {"brier_score", "cumulative_dynamic_auc"}
    for r in sec["rows"]:
        assert positive(r["median_s"]) and positive(r["subjects_per_s"])
        assert r["max_abs_diff_vs_cpu"] < 1e-9


def test_training_reports_every_model(smoke):
    sec = smoke[0]["sections"]["training"]
    if sec["status"] == "skipped":
        pytest.skip(sec["reason"])
    assert {r["model"] for r in sec["rows"]} == MODELS
    for r in sec["rows"]:
        if "skipped" in r:
            assert r["skipped"].strip()
            continue
        for key in ("device", "cpu"):  # --with-cpu was passed
            fig = r[key]
            assert "error" not in fig, (r["model"], fig)
            assert positive(fig.get("samples_per_s")) or fig.get("skipped", "").strip(), (r["model"], fig)


def test_gpu_tests_ran_with_the_marker(smoke):
    sec = smoke[0]["sections"]["gpu_tests"]
    if sec["status"] == "skipped":
        pytest.skip(sec["reason"])
    row = sec["rows"][0]
    assert "-m gpu" in row["command"]
    assert row["summary"] and row["exit_code"] in (0, 5), row.get("output_tail", row)
    assert row["counts"].get("failed", 0) == 0 and row["counts"].get("error", 0) == 0
    assert sum(row["counts"].get(k, 0) for k in ("passed", "skipped")) > 0


def test_markdown_is_printed_and_written(smoke):
    result, out, stdout = smoke
    md = out.with_suffix(".md").read_text()
    assert md == result["markdown"]
    for heading in ("### 1. Device", "### 2. gpu-marked tests", "### 3. cox_nll", "### 4. Brier", "### 5. Training"):
        assert heading in md and heading in stdout
    assert md.count("\n|") > 20


def test_refuses_a_full_run_without_cuda(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], cwd=ROOT,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr
    assert not out.exists()
