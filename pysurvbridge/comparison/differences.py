"""The paired differences of a finished comparison: which model is the reference, the
per-split scores to compare, the bootstrap over test subjects when only one split exists, and
the notes that say what weakens the conclusion (:mod:`pysurvbridge.comparison.inference` does
the statistics)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.comparison.bootstrap import draws_for
from pysurvbridge.comparison.inference import BOOTSTRAP_RESAMPLES, COLUMNS, difference_metrics, paired_differences
from pysurvbridge.comparison.runner import CellResult
from pysurvbridge.comparison.spec import ModelSpec
from pysurvbridge.errors import InvalidParameterError

__all__ = ["choose_reference", "compute_differences", "empty_differences", "check_bootstrap"]

MIN_SPLITS = 5
MIN_RESAMPLES = 100


def check_bootstrap(resamples: Any) -> None:
    """``compare(bootstrap=)``: a whole number of resamples, at least 100 (a 95% percentile
    interval from fewer rests on a handful of resamples in each tail)."""
    if (not isinstance(resamples, (int, np.integer)) or isinstance(resamples, bool)
            or resamples < MIN_RESAMPLES):
        raise InvalidParameterError(f"bootstrap must be a whole number of resamples >= {MIN_RESAMPLES} (default "
                                    f"{BOOTSTRAP_RESAMPLES}), but was {resamples!r}")


def empty_differences() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)


def choose_reference(specs: Sequence[ModelSpec], reference: str | None) -> tuple[str | None, list[str]]:
    """(the reference model's name, notes): the given name, which must be among the models, or
    the first classical model (the first model when none is classical); None with one model."""
    names = [s.name for s in specs]
    if reference is not None:
        if reference not in names:
            raise InvalidParameterError(f"reference {reference!r} is not among the models {names}")
        return reference, [f"differences: every model against the reference {reference!r} (chosen)"]
    if len(names) < 2:
        return None, []
    classical = [s.name for s in specs if s.family == "classical"]
    chosen = classical[0] if classical else names[0]
    why = "the first classical model" if classical else "the first model (no classical model was given)"
    return chosen, [f"differences: every model against the reference {chosen!r}, {why}; reference= chooses another"]


def _bootstrap(done: list[CellResult], splits: dict, reference: str,
               resample: Callable[[Any, Any, np.ndarray], dict[str, np.ndarray]], n_subjects: Callable[[Any], int],
               verbose: bool, resamples: int):
    """The bootstrap of :func:`paired_differences`: the model and the reference rescored on
    the same B resamples of the test subjects of their one shared split (seeded by that
    split's seed; :mod:`pysurvbridge.comparison.bootstrap`)."""
    from pysurvbridge.models.training import progress_bar  # imports torch: not at package import

    by_key = {(r.cell.spec.name, r.cell.seed): r for r in done if r.predictions is not None}
    cache: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    models = {m for (m, _) in by_key} - {reference}
    bar = progress_bar(verbose and len(splits) == 1, total=len(models), desc="verdict (bootstrap)", leave=False)

    def bootstrap(model: str, metrics: list[str]) -> dict[str, np.ndarray]:
        seeds = [s for (m, s) in by_key if m == model and (reference, s) in by_key]
        if len(seeds) != 1:
            return {}
        seed = seeds[0]
        split = splits[seed]
        if seed not in cache:
            draws = draws_for(seed, n_subjects(split), resamples)
            cache[seed] = draws, resample(by_key[(reference, seed)].predictions, split, draws)
        draws, ref = cache[seed]
        mine = resample(by_key[(model, seed)].predictions, split, draws)
        bar.update(1)
        return {m: mine[m] - ref[m] for m in metrics if m in mine and m in ref}
    return bootstrap, bar


def compute_differences(done: list[CellResult], splits: dict, results: pd.DataFrame, reference: str | None,
                        resample: Callable, n_subjects: Callable[[Any], int], n_train: Callable[[Any], int], *,
                        verbose: bool = False, resamples: int = BOOTSTRAP_RESAMPLES
                        ) -> tuple[pd.DataFrame | Callable[[], pd.DataFrame], list[str]]:
    """(the differences table, notes) of a finished comparison; ``resample(predictions,
    split, draws)`` scores stored predictions on each resample of the test subjects. With one
    split the table is returned as a function that runs the bootstrap when first called (the
    result's ``differences`` calls it on first use), so a comparison nobody asks a verdict of
    does not pay for 2000 rescorings per model."""
    if reference is None:
        return empty_differences(), []
    metrics = difference_metrics(results.columns)
    counts = [(n_train(s), n_subjects(s)) for s in splits.values()]
    tr, te = float(np.mean([c[0] for c in counts])), float(np.mean([c[1] for c in counts]))
    _, notes = paired_differences(results, reference, metrics, n_train=tr, n_test=te)
    J = len(splits)
    if J == 1:
        notes.append(f"differences: one split, so each interval is a paired bootstrap over its test subjects "
                     f"(B = {resamples}, whole subjects resampled); it leaves out how the fit varies with "
                     "the training subjects: use 5 or more seeds for the corrected t")

        def with_bootstrap() -> pd.DataFrame:
            bootstrap, bar = _bootstrap(done, splits, reference, resample, n_subjects, verbose, resamples)
            table = paired_differences(results, reference, metrics, n_train=tr, n_test=te, bootstrap=bootstrap)[0]
            bar.close()
            return table
        return with_bootstrap, notes
    if J < MIN_SPLITS:
        notes.append(f"differences: {J} splits; the corrected resampled t intervals (Nadeau & Bengio 2003) with "
                     f"{J - 1} degrees of freedom are wide and rough: use {MIN_SPLITS} or more seeds")
    return paired_differences(results, reference, metrics, n_train=tr, n_test=te)[0], notes
