"""The verdict of a comparison, tuned and untuned, with what tuning costs.

Runs ``compare(data, seeds=S, reference=..., tune=...)`` and prints the verdict's sentences,
the differences of the primary metric and of the IBS, the chosen configurations and the
seconds spent (tuning and fitting), then writes them to ``benchmarks/results/verdict-*.json``.

    .venv/bin/python benchmarks/verdict.py --data support --seeds 10 --tune default
    .venv/bin/python benchmarks/verdict.py --data rotterdam-multi --seeds 5 --tune default --trials 20 --folds 3

The issue's cost goal: ``compare("rotterdam-multi", seeds=5, tune="default", tune_trials=20,
tune_folds=3)`` in under 30 minutes on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pysurvbridge  # noqa: E402
from pysurvbridge.report.verdict import caveats, sentences  # noqa: E402

MODELS = {"support": ["cox", "cox-nnet", "deepsurv", "nnet-survival"],
          "rotterdam-multi": ["cox-per-event", "multistate-cox", "deepsurv-per-event", "mensa"],
          "bladder1": ["cox", "ag", "wlw", "pwp-total", "lstm-cox"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(MODELS), default="support")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--tune", choices=["none", "default"], default="default")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes for the cells (compare's n_jobs)")
    args = parser.parse_args()
    options = {} if args.tune == "none" else dict(tune="default", tune_trials=args.trials, tune_folds=args.folds)
    if args.n_jobs != 1:
        options["n_jobs"] = args.n_jobs
    t0 = time.perf_counter()
    result = pysurvbridge.compare(args.data, models=MODELS[args.data], seeds=args.seeds, verbose=False, **options)
    diff = result.differences
    seconds = time.perf_counter() - t0
    res = result.results
    cost = res.groupby("model", sort=False)[["tune_seconds", "fit_seconds"]].sum().round(1)
    print(f"{args.data}, {args.seeds} splits, tune={args.tune}"
          + (f" ({args.trials} trials x {args.folds} folds)" if args.tune != "none" else "")
          + f", n_jobs={args.n_jobs}: {seconds:.0f} s in all on {os.cpu_count()} cores\n")
    for s in sentences(result):
        print(f"- {s}")
    for c in caveats(result):
        print(f"caveat: {c}")
    print("\nseconds per model (sum over splits):\n" + cost.to_string())
    if "tuned_params" in result.table:
        print("\nmost frequent configuration:\n" + result.table[["model", "tuned_params"]].to_string(index=False))
    out = Path(__file__).parent / "results" / f"verdict-{args.data}-{args.tune}-{args.seeds}splits.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "data": args.data, "seeds": args.seeds, "tune": args.tune, "trials": args.trials, "folds": args.folds,
        "n_jobs": args.n_jobs, "seconds": seconds, "sentences": sentences(result), "caveats": caveats(result),
        "differences": diff.to_dict(orient="records"), "cost": cost.reset_index().to_dict(orient="records"),
        "configurations": result.table[["model", "tuned_params"]].to_dict(orient="records")}, indent=1, default=str))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
