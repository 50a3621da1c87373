"""Checks shared by the data containers.

Each check raises :class:`~pysurvbridge.errors.InvalidSurvivalDataError` with a message that
names the column, says what is wrong in words and lists the first offending rows (index labels
of the user's DataFrame). Nothing here changes the data.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

MAX_ROWS_SHOWN = 5


def describe_rows(df: pd.DataFrame, mask: np.ndarray, id_col: str | None = None) -> str:
    """'rows [3, 17] (ids [2, 9]); 2 rows in all' for the rows where ``mask`` is True."""
    mask = np.asarray(mask, dtype=bool)
    labels = df.index[mask]
    shown = [_plain(x) for x in labels[:MAX_ROWS_SHOWN]]
    text = f"rows {shown}"
    if id_col is not None:
        ids = list(dict.fromkeys(_plain(x) for x in df.loc[mask, id_col].iloc[:MAX_ROWS_SHOWN]))
        text += f" (id {ids})"
    n = int(mask.sum())
    if n > MAX_ROWS_SHOWN:
        text += f"; {n} rows in all"
    return text


def _plain(x: object) -> object:
    return x.item() if isinstance(x, np.generic) else x


def positive_number(name: str, value: float) -> float:
    """``value`` as a float when it is a positive finite number; else an error naming ``name``."""
    if not (isinstance(value, (int, float, np.floating, np.integer)) and np.isfinite(value) and value > 0):
        raise InvalidParameterError(f"{name} must be a positive number, but was {value!r}")
    return float(value)


def require_frame(df: object, what: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InvalidSurvivalDataError(
            f"{what} expects a pandas DataFrame, got {type(df).__name__}"
        )
    if len(df) == 0:
        raise InvalidSurvivalDataError(f"{what}: the DataFrame has no rows")
    return df


def require_columns(df: pd.DataFrame, roles: dict[str, str | None]) -> None:
    """Every named column exists; the message says which argument named the missing one."""
    for role, col in roles.items():
        if col is not None and col not in df.columns:
            raise InvalidSurvivalDataError(
                f"column {col!r} (given as {role}=) is not in the data; "
                f"available columns: {list(map(str, df.columns))}"
            )


def require_unique(names: Sequence[str]) -> None:
    seen = [n for i, n in enumerate(names) if n in names[:i]]
    if seen:
        raise InvalidSurvivalDataError(f"column {seen[0]!r} is named for two roles")


def numeric_column(df: pd.DataFrame, col: str, id_col: str | None = None) -> np.ndarray:
    """The column as float64, refusing non-numeric values, NaN and infinities."""
    s = df[col]
    if isinstance(s.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)
    ):
        raise InvalidSurvivalDataError(
            f"column {col!r} must be numeric but has dtype {s.dtype}; "
            f"first values {s.head(3).tolist()}"
        )
    na = s.isna().to_numpy()
    if na.any():
        raise InvalidSurvivalDataError(
            f"column {col!r} has missing values (NaN) in {describe_rows(df, na, id_col)}"
        )
    values = s.to_numpy(dtype=np.float64)
    inf = ~np.isfinite(values)
    if inf.any():
        raise InvalidSurvivalDataError(
            f"column {col!r} has infinite values in {describe_rows(df, inf, id_col)}"
        )
    return values


def weights_column(df: pd.DataFrame, col: str, id_col: str | None = None) -> np.ndarray:
    """Case weights as float64: numeric, finite and strictly positive (a 0, a negative value
    or a NaN is an error naming the column and the rows, never dropped)."""
    values = numeric_column(df, col, id_col)
    bad = ~(values > 0)
    if bad.any():
        raise InvalidSurvivalDataError(
            f"column {col!r} (case weights) must be positive, but has {sorted({_plain(v) for v in values[bad]})[:3]} "
            f"in {describe_rows(df, bad, id_col)}; drop those rows yourself if they should not count"
        )
    return values


def weights_array(weights: object, n: int, name: str = "weights") -> np.ndarray:
    """``weights`` (n,) as float64, finite and strictly positive; else an error naming ``name``
    and the first offending positions."""
    w = np.asarray(weights)
    if w.ndim != 1 or len(w) != n:
        raise InvalidSurvivalDataError(f"{name} must have one value per row ({n}), but has shape {w.shape}")
    try:
        w = w.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidSurvivalDataError(f"{name} must be numeric, got dtype {w.dtype}") from None
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        pos = np.flatnonzero(bad)
        raise InvalidSurvivalDataError(
            f"{name} must be positive and finite, but has {w[pos[:3]].tolist()} at positions "
            f"{pos[:MAX_ROWS_SHOWN].tolist()}" + (f"; {len(pos)} in all" if len(pos) > MAX_ROWS_SHOWN else ""))
    return w


def id_column(df: pd.DataFrame, col: str) -> np.ndarray:
    """Subject ids: any hashable values, but no missing ones."""
    s = df[col]
    na = s.isna().to_numpy()
    if na.any():
        raise InvalidSurvivalDataError(
            f"column {col!r} (subject id) has missing values (NaN) in {describe_rows(df, na)}"
        )
    return s.to_numpy()


def event_column(
    df: pd.DataFrame, col: str, allowed: Iterable[int], id_col: str | None = None,
    hint: str = "",
) -> np.ndarray:
    """Event codes as int64, all within ``allowed``, with at least one non-zero code."""
    values = numeric_column(df, col, id_col)
    allowed = sorted(set(allowed))
    bad = ~np.isin(values, allowed)
    if bad.any():
        shown = sorted({_plain(v) for v in values[bad]})[:MAX_ROWS_SHOWN]
        raise InvalidSurvivalDataError(
            f"column {col!r} has event codes {shown} outside the allowed set {allowed} in "
            f"{describe_rows(df, bad, id_col)}{hint}"
        )
    if not np.any(values != 0):
        raise InvalidSurvivalDataError(
            f"column {col!r} has no events at all (every row is censored, code 0): "
            "no survival model can be fitted"
        )
    return values.astype(np.int64)


def times_column(df: pd.DataFrame, col: str, id_col: str | None = None) -> np.ndarray:
    """Times as float64: finite, not missing, not negative."""
    values = numeric_column(df, col, id_col)
    neg = values < 0
    if neg.any():
        raise InvalidSurvivalDataError(
            f"column {col!r} has negative times in {describe_rows(df, neg, id_col)}"
        )
    return values


def covariate_matrix(
    df: pd.DataFrame, covariates: Sequence[str], one_hot: Sequence[str] = (),
    id_col: str | None = None,
) -> tuple[np.ndarray, list[str]]:
    """The (n, p) float64 design matrix and its column names.

    Columns listed in ``one_hot`` are expanded to 0/1 indicators for every level but the first
    (named ``col[level]``); any other non-numeric covariate is an error that says so.
    """
    unknown = [c for c in one_hot if c not in covariates]
    if unknown:
        raise InvalidSurvivalDataError(
            f"one_hot names {unknown}, which are not among the covariates {list(covariates)}"
        )
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for col in covariates:
        s = df[col]
        if col in one_hot:
            na = s.isna().to_numpy()
            if na.any():
                raise InvalidSurvivalDataError(
                    f"column {col!r} has missing values (NaN) in {describe_rows(df, na, id_col)}"
                )
            cat = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
            levels = list(cat.cat.categories)
            for level in levels[1:]:
                blocks.append((cat == level).to_numpy(dtype=np.float64)[:, None])
                names.append(f"{col}[{level}]")
            continue
        numeric = pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)
        if isinstance(s.dtype, pd.CategoricalDtype) or not numeric:
            raise InvalidSurvivalDataError(
                f"covariate {col!r} is not numeric (dtype {s.dtype}, values like "
                f"{s.dropna().unique()[:3].tolist()}); encode it first or pass one_hot=[{col!r}]"
            )
        blocks.append(numeric_column(df, col, id_col)[:, None])
        names.append(str(col))
    if not blocks:
        return np.zeros((len(df), 0)), []
    return np.hstack(blocks), names
