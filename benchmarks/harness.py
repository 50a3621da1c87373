"""Shared by the benchmark scripts: one measurement per subprocess under a wall-clock limit."""
from __future__ import annotations

import json
import subprocess
import sys


def measure(script: str, args: list[str], limit: float) -> dict:
    """Run ``script --one *args`` and parse the JSON it prints last; {"timeout": s} when it
    runs past ``limit``, {"error": text} ("memory" for a failed allocation) when it fails."""
    cmd = [sys.executable, script, "--one", *map(str, args)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return {"timeout": limit}
    if out.returncode != 0:
        last = ((out.stderr or out.stdout).strip().splitlines() or ["?"])[-1]
        lowered = last.lower()
        return {"error": "memory" if "memory" in lowered or "allocate" in lowered else last[:120]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(r: dict) -> str:
    """'23 ms', '1.21 s', '> 120 s' or the error."""
    if "timeout" in r:
        return f"> {r['timeout']:.0f} s"
    if "error" in r:
        return r["error"] if r["error"] == "memory" else f"error: {r['error']}"
    s = r["seconds"]
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def markdown(df, digits: int = 3) -> str:
    """A DataFrame as a Markdown table, floats to ``digits`` places (pandas' to_markdown needs
    tabulate, which the project does not install)."""
    cells = df.map(lambda v: f"{v:.{digits}f}" if isinstance(v, float) else str(v))
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.to_numpy()]
    return "\n".join(lines)


def memory_mb(field: str = "VmRSS") -> float:
    """A memory figure of this process from /proc/self/status, MB: "VmRSS" (resident now) or
    "VmHWM" (peak resident)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not found in /proc/self/status")
