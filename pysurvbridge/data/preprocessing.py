"""Tabular preprocessing fitted on the training part only: the missing-value rule, imputation
and one-hot coding, scikit-learn style, with SUPPORT's settings from the Nnet-survival paper.

``fit(train)`` learns every statistic from the frame it is given; ``transform(frame)`` applies
them unchanged to any frame (a test part included), so no test value reaches an imputation
value, a dropped-column decision or a one-hot level. Scaling is left to the models, which
standardise on their own training part.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.data import validation as v
from pysurvbridge.data.events import SurvivalData
from pysurvbridge.errors import InvalidParameterError, InvalidSurvivalDataError

__all__ = [
    "TabularPreprocessor", "support_preprocessor", "SUPPORT_NORMAL_VALUES",
    "SUPPORT_MAX_MISSING_SHARE", "SUPPORT_PAPER_NUMERIC", "SUPPORT_PAPER_CATEGORICAL",
]


class TabularPreprocessor:
    """Drop mostly-missing numeric columns, impute the rest, one-hot code the categoricals.

    Parameters (keyword-only, stored unchanged): ``numeric`` and ``categorical`` name the input
    columns; ``time``, ``event`` and ``id`` the outcome columns :meth:`to_survival_data` reads;
    ``max_missing_share``: a numeric column missing in more than this share of the fitted rows
    is dropped; ``fill_values``: fixed imputation values (e.g. a laboratory normal value), used
    as given, not estimated; every other kept numeric column is imputed with its median over
    the fitted rows; ``drop_first``: leave out each categorical's first level (the reference),
    so that the indicators are not collinear with a Cox model's baseline.

    Fitted state: ``n_fit_``, ``missing_share_`` (per numeric column, in the fitted rows),
    ``dropped_``, ``numeric_`` (kept), ``fill_values_``, ``fill_source_`` ("given" or
    "median"), ``levels_`` (per categorical: the levels seen in the fitted rows, in category
    order for a pandas Categorical, sorted otherwise), ``feature_names_out_``.

    A categorical value not among ``levels_`` (seen only outside the fitted rows) gets 0 in
    every indicator, i.e. it is coded as the reference level; :meth:`to_survival_data` records
    such rows in the container's ``notes``. Missing values (NaN) in a categorical column are
    an error: code them as a level first (SurvSet uses ``"missing"``).
    """

    def __init__(
        self, *, numeric: Sequence[str] = (), categorical: Sequence[str] = (),
        time: str = "time", event: str = "event", id: str | None = None,
        max_missing_share: float = 1.0, fill_values: Mapping[str, float] | None = None,
        drop_first: bool = True,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.time = time
        self.event = event
        self.id = id
        self.max_missing_share = max_missing_share
        self.fill_values = fill_values
        self.drop_first = drop_first

    # -- checks -------------------------------------------------------------------------------
    def _check_params(self) -> None:
        numeric, categorical = list(self.numeric), list(self.categorical)
        if not numeric and not categorical:
            raise InvalidParameterError("numeric and categorical name no columns at all")
        names = numeric + categorical
        twice = sorted({c for c in names if names.count(c) > 1})
        if twice:
            raise InvalidParameterError(f"columns named twice in numeric/categorical: {twice}")
        share = self.max_missing_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise InvalidParameterError(
                f"max_missing_share must be a number in [0, 1], but was {share!r}")
        fill = dict(self.fill_values or {})
        unknown = sorted(set(fill) - set(numeric))
        if unknown:
            raise InvalidParameterError(
                f"fill_values names columns that are not numeric inputs: {unknown}")
        bad = {c: x for c, x in fill.items() if not np.isfinite(np.float64(x))}
        if bad:
            raise InvalidParameterError(f"fill_values must be finite numbers, but were {bad}")

    def _numeric(self, df: pd.DataFrame, col: str) -> np.ndarray:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)
        ):
            raise InvalidSurvivalDataError(
                f"column {col!r} is declared numeric but has dtype {s.dtype}; "
                f"first values {s.head(3).tolist()}")
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        inf = np.isinf(values)
        if inf.any():
            raise InvalidSurvivalDataError(
                f"column {col!r} has infinite values in {v.describe_rows(df, inf, self._id_in(df))}")
        return values

    def _categorical(self, df: pd.DataFrame, col: str) -> pd.Series:
        s = df[col]
        na = s.isna().to_numpy()
        if na.any():
            raise InvalidSurvivalDataError(
                f"categorical column {col!r} has missing values (NaN) in "
                f"{v.describe_rows(df, na, self._id_in(df))}; code them as a level first "
                "(e.g. 'missing')")
        return s

    def _id_in(self, df: pd.DataFrame) -> str | None:
        return self.id if self.id is not None and self.id in df.columns else None

    def _frame(self, df: object, what: str, columns: Sequence[str]) -> pd.DataFrame:
        df = v.require_frame(df, what)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise InvalidSurvivalDataError(
                f"{what}: required column(s) {missing} not in the data; "
                f"available columns: {list(map(str, df.columns))}")
        return df

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_out_"):
            raise InvalidParameterError(
                f"this {type(self).__name__} is not fitted yet; call fit() first")

    # -- API ----------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> "TabularPreprocessor":
        """Learn the dropped columns, imputation values and levels from ``frame`` alone."""
        self._check_params()
        numeric, categorical = list(self.numeric), list(self.categorical)
        df = self._frame(frame, f"{type(self).__name__}.fit", numeric + categorical)
        fill = {c: float(x) for c, x in (self.fill_values or {}).items()}
        n = len(df)
        share, kept, dropped, values, source = {}, [], [], {}, {}
        for col in numeric:
            x = self._numeric(df, col)
            na = np.isnan(x)
            share[col] = float(na.sum() / n)
            if share[col] > self.max_missing_share:
                dropped.append(col)
                continue
            kept.append(col)
            if col in fill:
                values[col], source[col] = fill[col], "given"
            elif na.all():
                raise InvalidSurvivalDataError(
                    f"column {col!r} is missing in every fitted row: no median to impute with; "
                    "give fill_values or lower max_missing_share")
            else:
                values[col], source[col] = float(np.median(x[~na])), "median"
        levels = {}
        for col in categorical:
            s = self._categorical(df, col)
            if isinstance(s.dtype, pd.CategoricalDtype):
                seen = set(s.unique())
                levels[col] = tuple(c for c in s.cat.categories if c in seen)
            else:
                levels[col] = tuple(sorted(pd.unique(s.to_numpy(dtype=object))))
        self.n_fit_ = n
        self.missing_share_ = share
        self.dropped_ = tuple(dropped)
        self.numeric_ = tuple(kept)
        self.fill_values_ = values
        self.fill_source_ = source
        self.levels_ = levels
        self.feature_names_out_ = tuple(kept) + tuple(
            f"{col}[{level}]" for col in categorical for level in self._coded(col))
        return self

    def _coded(self, col: str) -> tuple:
        return self.levels_[col][1:] if self.drop_first else self.levels_[col]

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """(X, names): X (n, p) float64 without NaN, in ``feature_names_out_`` order."""
        self._check_fitted()
        categorical = list(self.categorical)
        df = self._frame(frame, f"{type(self).__name__}.transform", list(self.numeric_) + categorical)
        blocks = []
        for col in self.numeric_:
            x = self._numeric(df, col)
            blocks.append(np.where(np.isnan(x), self.fill_values_[col], x))
        for col in categorical:
            s = self._categorical(df, col).to_numpy(dtype=object)
            blocks.extend((s == level).astype(np.float64) for level in self._coded(col))
        X = np.column_stack(blocks) if blocks else np.zeros((len(df), 0))
        return X.astype(np.float64, copy=False), list(self.feature_names_out_)

    def fit_transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        return self.fit(frame).transform(frame)

    def unseen_levels(self, frame: pd.DataFrame) -> dict[str, list]:
        """Per categorical column, the values in ``frame`` not seen when fitting (coded 0)."""
        self._check_fitted()
        df = self._frame(frame, f"{type(self).__name__}.unseen_levels", list(self.categorical))
        out = {}
        for col in self.categorical:
            extra = set(pd.unique(df[col].to_numpy(dtype=object))) - set(self.levels_[col])
            if extra:
                out[col] = sorted(extra, key=str)
        return out

    def to_survival_data(self, frame: pd.DataFrame) -> SurvivalData:
        """:class:`SurvivalData` of ``frame``: its time and event, the transformed covariates."""
        self._check_fitted()
        outcome = [self.time, self.event] + ([self.id] if self.id is not None else [])
        df = self._frame(frame, f"{type(self).__name__}.to_survival_data", outcome)
        X, names = self.transform(df)
        clash = sorted(set(names) & set(outcome))
        if clash:
            raise InvalidParameterError(f"covariate names {clash} clash with the outcome columns")
        out = pd.DataFrame(X, columns=names, index=df.index)
        for col in reversed(outcome):
            out.insert(0, col, df[col].to_numpy())
        data = SurvivalData.from_frame(out, time=self.time, event=self.event, covariates=names,
                                       id=self.id)
        notes = [f"{col}: values {vals} not seen when fitting, coded 0 (as the reference level) "
                 f"in {int(df[col].isin(vals).sum())} rows"
                 for col, vals in self.unseen_levels(df).items()]
        return replace(data, notes=tuple(notes)) if notes else data


#: The Nnet-survival paper's imputation values for laboratory variables ("the recommended default
#: value listed on the Vanderbilt Biostatistics web site"; support_study_parse_data.R)
SUPPORT_NORMAL_VALUES = {
    "num_alb": 3.5, "num_pafi": 333.3, "num_bili": 1.01, "num_crea": 1.01, "num_bun": 6.51,
    "num_wblc": 9.0, "num_urine": 2502.0,
}
#: "If more than 4,000 patients were missing a value for the variable, that variable was
#: excluded" (of 9105), as a share so that it applies to a training part
SUPPORT_MAX_MISSING_SHARE = 4000 / 9105
#: The paper's predictors as SurvSet names it (its avtisst and aps are not in SurvSet); the
#: numeric list includes glucose, bun, urine and adlp, which its missing-value rule drops
SUPPORT_PAPER_NUMERIC = (
    "num_num_co", "num_edu", "num_scoma", "num_sps", "num_hday", "num_meanbp", "num_wblc",
    "num_hrt", "num_resp", "num_temp", "num_pafi", "num_alb", "num_bili", "num_crea", "num_sod",
    "num_ph", "num_glucose", "num_bun", "num_urine", "num_adlp", "num_adls",
)
SUPPORT_PAPER_CATEGORICAL = (
    "fac_dzgroup", "fac_income", "fac_race", "fac_diabetes", "fac_dementia", "fac_ca",
)
_SUPPORT_BASELINE_NUMERIC = ("num_age",) + SUPPORT_PAPER_NUMERIC
_SUPPORT_BASELINE_CATEGORICAL = ("fac_sex",) + SUPPORT_PAPER_CATEGORICAL


def support_preprocessor(*, paper_inputs: bool = False) -> TabularPreprocessor:
    """A :class:`TabularPreprocessor` with the Nnet-survival paper's SUPPORT settings.

    Settings (Gensheimer & Narasimhan 2019, "Performance evaluation: SUPPORT study", and its
    ``support_study_parse_data.R``): numeric columns missing in more than 4000 of 9105 rows
    (a share of 43.9%) are dropped -- glucose (4500 missing), bun (4352), urine (4862) and
    adlp (5641) on the whole data, and the same on any sizeable training part, since the kept
    columns are missing in at most 37% (alb, 3372); the laboratory values are imputed with the
    fixed normal values :data:`SUPPORT_NORMAL_VALUES` (albumin 3.5, PaO2/FiO2 333.3, bilirubin
    1.01, creatinine 1.01, BUN 6.51, white blood count 9, urine output 2502); the other numeric
    columns with the training median; categoricals one-hot with the first level left out.

    Inputs. Default (``paper_inputs=False``): every baseline column of :func:`load_support` --
    age, sex and the paper's columns -- 39 predictors: 18 numeric (age, num_co, edu, scoma,
    sps, hday, meanbp, wblc, hrt, resp, temp, pafi, alb, bili, crea, sod, ph, adls) and 21
    indicators (sex 1, dzgroup 7, income 4, race 5, diabetes 1, dementia 1, ca 2). Left out:
    the leaky :data:`~pysurvbridge.data.datasets.SUPPORT_LEAKY` (surv2m, surv6m, sfdm2, dnr) and
    two duplicates (fac_num_co repeats num_num_co; fac_dzclass groups dzgroup, so its
    indicators are collinear with dzgroup's).

    ``paper_inputs=True``: the paper's own list, 37 predictors (17 numeric: num_co, edu, scoma,
    sps, hday and the 12 physiology/laboratory values; 20 indicators: dzgroup 7, income 4,
    race 5, diabetes, dementia, ca 2). The paper has 39 because it also used avtisst (average
    TISS score, days 3-25) and aps (APACHE III physiology score), which SurvSet does not carry;
    like the paper, this list has no age and no sex, and it has none of the leaky columns (the
    paper used none). Fitted on all 9105 rows, as the paper did, the 37 columns equal the
    corresponding columns of the paper's processed file (``data/support_parsed.csv`` of
    github.com/MGensheimer/nnet-survival) exactly, except that income's reference level is
    SurvSet's first, "$11-$25k", where the paper's is ">$50k" (the same column span).

    The default count, 39, equals the paper's by coincidence: it has age and sex where the
    paper has avtisst and aps.
    """
    numeric = SUPPORT_PAPER_NUMERIC if paper_inputs else _SUPPORT_BASELINE_NUMERIC
    categorical = SUPPORT_PAPER_CATEGORICAL if paper_inputs else _SUPPORT_BASELINE_CATEGORICAL
    return TabularPreprocessor(
        numeric=numeric, categorical=categorical, time="time", event="event", id="pid",
        max_missing_share=SUPPORT_MAX_MISSING_SHARE, fill_values=SUPPORT_NORMAL_VALUES,
    )
