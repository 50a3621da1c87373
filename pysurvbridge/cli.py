"""The `pysurvbridge` command line.

    pysurvbridge doctor              what is installed and how to fix what is not
    pysurvbridge describe bladder1   a summary of a prepared data set
    pysurvbridge compare bladder1 --models ag,wlw,pwp-total,lstm-cox --seeds 5 --out report.html
    pysurvbridge compare bladder1 --models cox,ag --no-crosscheck   (skip the engine agreement check)
    pysurvbridge compare data.csv --id id --start start --stop stop --event event --covariates x1,x2
    pysurvbridge simulate recurrent --n 1000 --out sim.csv
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from pysurvbridge.errors import SurvBridgeError


def _doctor(args: argparse.Namespace) -> int:
    from pysurvbridge import doctor

    return doctor.main()


def _describe(args: argparse.Namespace) -> int:
    from pysurvbridge.data.datasets import prepared

    data = prepared(args.dataset, source=args.source)
    print(f"{args.dataset} (source: {args.source})")
    print(data.describe())
    return 0


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from pysurvbridge.comparison import compare
    from pysurvbridge.data import catalog
    from pysurvbridge.data.events import SurvivalData
    from pysurvbridge.data.recurrent import RecurrentData
    from pysurvbridge.errors import InvalidParameterError

    if args.data in catalog.names():
        data = args.data
    else:
        path = Path(args.data)
        if not path.exists():
            names = ", ".join(catalog.names())
            raise InvalidParameterError(f"{args.data!r} is neither a data set ({names}) nor a file")
        covariates, one_hot = _names(args.covariates or ""), _names(args.one_hot or "")
        if args.time is not None:  # one row per subject: single-event data
            if args.event is None or args.start is not None or args.stop is not None:
                raise InvalidParameterError("a single-event CSV needs --time and --event (and no --start/--stop)")
            data = SurvivalData.from_frame(pd.read_csv(path), time=args.time, event=args.event,
                                           covariates=covariates, id=args.id, one_hot=one_hot)
        else:
            missing = [f"--{k}" for k in ("id", "start", "stop", "event") if getattr(args, k) is None]
            if missing:
                raise InvalidParameterError(f"a CSV needs {' '.join(missing)} to name its columns (recurrent "
                                            "events), or --time --event (one row per subject)")
            frame = pd.read_csv(path)
            data = RecurrentData.from_frame(frame, id=args.id, start=args.start, stop=args.stop, event=args.event,
                                            covariates=covariates, one_hot=one_hot,
                                            drop_zero_length=args.drop_zero_length)
    options = {} if not args.no_crosscheck else {"crosscheck": False}
    if args.reference:
        options["reference"] = args.reference
    if args.bootstrap != 2000:
        options["bootstrap"] = args.bootstrap
    if args.store:
        options["store"] = args.store
    if args.n_jobs != 1 or args.timeout is not None:
        options.update(n_jobs=args.n_jobs, timeout=args.timeout)
    if args.tune != "none":
        options.update(tune=args.tune, tune_trials=args.tune_trials, tune_folds=args.tune_folds,
                       tune_metric=args.tune_metric)
    result = compare(data, models=_names(args.models) if args.models else None, seeds=args.seeds, test_size=args.test_size,
                     epochs=args.epochs, verbose=not args.quiet, **options)
    print(result.to_markdown())
    agreement = result.agreement_markdown() if hasattr(result, "agreement_markdown") else ""
    if agreement:
        print(f"\n{agreement}\n")
    for note in result.notes:
        print(f"note: {note}")
    if args.out:
        result.to_html(args.out)
        print(f"report written to {args.out}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from pysurvbridge.simulate import simulate_recurrent

    data = simulate_recurrent(args.n, shape=args.shape, scale=args.scale, end_time=("fixed", args.end_time),
                              seed=args.seed)
    data.frame.to_csv(args.out, index=False)
    print(f"{data.describe().splitlines()[0]}; written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pysurvbridge",
        description="Classical (R survival) and neural (PyTorch) survival models side by side.",
        epilog=("examples:\n  pysurvbridge doctor\n  pysurvbridge describe bladder1\n"
                "  pysurvbridge compare bladder1 --models ag,wlw,pwp-total,lstm-cox --seeds 5 --out report.html\n"
                "  pysurvbridge compare rotterdam-multi --seeds 3 --epochs 20 --out report.html\n"
                "  pysurvbridge simulate recurrent --n 1000 --out sim.csv"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("doctor", help="check Python, torch, R, rpy2 and R packages; exit 1 "
                       "when the R engine is unusable")
    p.set_defaults(func=_doctor)
    p = sub.add_parser("describe", help="summarise a prepared data set",
                       epilog="example: pysurvbridge describe bladder1 --source csv")
    p.add_argument("dataset", choices=["bladder1", "bladder", "bladder2", "cgd", "rotterdam"])
    p.add_argument("--source", choices=["auto", "r", "csv"], default="auto",
                   help="load from R's survival or the CSV copy shipped with the package")
    p.set_defaults(func=_describe)

    p = sub.add_parser(
        "compare", help="fit classical and deep models on the same subject splits; print the table, write a report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=("examples:\n  pysurvbridge compare bladder1 --models ag,wlw,pwp-total,lstm-cox --seeds 5 --out report.html\n"
                "  pysurvbridge compare sim.csv --id id --start start --stop stop --event event "
                "--covariates x1,x2 --models cox,ag,lstm-cox\n"
                "  pysurvbridge compare lung.csv --time time --event dead --covariates age,sex --models cox,deepsurv\n"
                "  pysurvbridge compare rotterdam-multi --seeds 3 --epochs 20 --out report.html\n"
                "  pysurvbridge compare bladder1 --models cox,deepsurv --seeds 5 --tune default --tune-trials 10\n\n"
                "models: cox, ag, wlw, pwp-total, pwp-gap, deepsurv, nnet-survival, lstm-cox, lstm-cox-paper "
                "(bladder1 only);\nmulti-event: cox-per-event, multistate-cox, deepsurv-per-event, mensa, "
                "mensa-no-trajectory, earlier-event-first"))
    p.add_argument("data", help="a data set of the catalogue (bladder1, bladder, cgd, rotterdam, support, "
                                "surv-digits, lesions, rotterdam-multi, rotterdam-competing) or a CSV file")
    p.add_argument("--models", default=None,
                   help="comma-separated model names (default: cox,ag,wlw,pwp-total,lstm-cox; for multi-event data "
                        "cox-per-event,multistate-cox,deepsurv-per-event,mensa,earlier-event-first)")
    p.add_argument("--seeds", type=int, default=3, help="number of subject splits (seeds 0..n-1); default 3")
    p.add_argument("--test-size", type=float, default=None,
                   help="fraction of subjects held out (default 0.3; 0.2 for multi-event data)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs of the deep models")
    p.add_argument("--out", help="write the HTML report here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--reference", help="the model the others are compared with in the verdict (default: the first "
                                       "classical model)")
    p.add_argument("--tune", choices=["none", "default"], default="none",
                   help="default: tune every deep model over its declared search space, nested inside each split's "
                        "training subjects (Optuna); none (default): their fixed defaults")
    p.add_argument("--tune-trials", type=int, default=20, help="configurations tried per model and split (default 20)")
    p.add_argument("--tune-folds", type=int, default=3, help="inner cross-validation folds (default 3)")
    p.add_argument("--tune-metric", default=None,
                   help="loss (default: each model's held-out loss), c_harrell, or c_global for multi-event data")
    p.add_argument("--bootstrap", type=int, default=2000, metavar="B",
                   help="resamples of the paired bootstrap that gives a one-split comparison its intervals "
                        "(default 2000)")
    p.add_argument("--store", metavar="DIR",
                   help="keep every finished cell in DIR; a rerun with the same arguments reads them back instead "
                        "of fitting again (an interrupted comparison resumes)")
    p.add_argument("--n-jobs", type=int, default=1,
                   help="cells run in this many worker processes (-1: one per core); default 1")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds after which a cell is stopped and reported as failed (runs cells in child processes)")
    p.add_argument("--no-crosscheck", action="store_true",
                   help="skip the agreement check between engines (native vs R coxph, Python vs R Brier score) "
                        "on the first split; by default it runs when R is usable")
    for col in ("id", "start", "stop", "event", "time"):
        p.add_argument(f"--{col}", help=f"CSV column holding {col}" + (" (single-event CSV: one row per subject)"
                                                                        if col == "time" else ""))
    p.add_argument("--covariates", help="CSV: comma-separated covariate columns")
    p.add_argument("--one-hot", help="CSV: comma-separated categorical covariates to expand")
    p.add_argument("--drop-zero-length", action="store_true", help="CSV: drop start == stop rows (counted in notes)")
    p.set_defaults(func=_compare)

    p = sub.add_parser("simulate", help="simulate data with known truth and write a CSV",
                       epilog="example: pysurvbridge simulate recurrent --n 1000 --out sim.csv")
    p.add_argument("kind", choices=["recurrent"], help="recurrent: Weibull proportional-intensity recurrent events")
    p.add_argument("--n", type=int, default=200, help="subjects (default 200)")
    p.add_argument("--shape", type=float, default=1.5)
    p.add_argument("--scale", type=float, default=10.0)
    p.add_argument("--end-time", type=float, default=20.0, help="fixed end of follow-up (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="CSV path")
    p.set_defaults(func=_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except SurvBridgeError as exc:
        print(f"pysurvbridge: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
