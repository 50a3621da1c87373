"""The only door to R.

Everything that talks to R goes through this module: dataset loaders, the classical models,
the R metrics and the reda simulator. It

* starts embedded R lazily, on the first call (importing pysurvbridge never needs R);
* serialises every call into R with one re-entrant lock (rpy2 is not thread-safe);
* converts pandas <-> R data.frames column by column through numpy, keeping integer ids,
  factors (levels and order), logicals, dates and NA; it never activates global converters;
* turns R errors into :class:`~pysurvbridge.errors.RCallError` carrying R's message and R
  warnings into :class:`~pysurvbridge.errors.RWarning`;
* never evaluates a user-supplied string as R code: functions are looked up by name with
  ``get``/``getExportedValue``, data travel as R objects, and formulas are assembled from
  symbols (``as.name``), so a column called ``x); system("..."); (`` stays a name.
"""
from __future__ import annotations

import os
import threading
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from pysurvbridge.errors import RCallError, RUnavailableError, RWarning

__all__ = [
    "R_INSTALL_COMMAND",
    "is_available",
    "start",
    "call",
    "to_r",
    "to_pandas",
    "to_numpy",
    "formula",
    "helper",
    "element",
    "names",
    "has_r_package",
    "package_version",
    "r_version",
    "load_r_dataset",
    "explain_start_failure",
    "reticulate_host",
    "host_refusal",
    "MIN_HOST_RETICULATE",
]

R_INSTALL_COMMAND = (
    "apt-get install -y --no-install-recommends r-base-core r-base-dev r-cran-survival "
    "r-cran-pec r-cran-ipred r-cran-testthat"
)
_NA_INT = -(2**31)  # R's NA_integer_ and NA (logical) as seen through numpy

_LOCK = threading.RLock()
_STATE: dict[str, Any] = {}

# Fixed R code, written here and never built from user input.
_HELPERS = {
    # Call f with a list of arguments; collect warnings, catch the error message.
    # Arguments are bound to symbols in a fresh environment, so the call R records (match.call)
    # is `.f(.a1, data = .a2)`, not a deparse of the whole data (slow and unreadable).
    # A formula argument gets this environment too (its parent is the formula's own), so
    # arguments that model.frame evaluates non-standardly (id =, weights =) are found.
    "call": """function(f, args) {
        parent <- globalenv()
        for (a in args) if (inherits(a, "formula")) { parent <- environment(a); break }
        env <- new.env(parent = parent)
        assign(".f", f, envir = env)
        syms <- if (length(args)) paste0(".a", seq_along(args)) else character(0)
        for (i in seq_along(args)) {
            a <- args[[i]]
            if (inherits(a, "formula")) environment(a) <- env
            assign(syms[i], a, envir = env)
        }
        cl <- as.call(c(list(as.name(".f")), lapply(syms, as.name)))
        if (!is.null(names(args))) names(cl) <- c("", names(args))
        warns <- character(0)
        res <- withCallingHandlers(
            tryCatch(list(ok = TRUE, value = eval(cl, env)),
                     error = function(e) list(ok = FALSE, value = conditionMessage(e))),
            warning = function(w) {
                warns <<- c(warns, conditionMessage(w))
                invokeRestart("muffleWarning")
            })
        res$warnings <- warns
        res
    }""",
    # Attributes set from C (do_slot_assign) do not set R's OBJECT bit, so C code such as
    # model.matrix would not see a factor; `class<-` does.
    "classed": """function(x, levels, cls) {
        if (length(levels)) attr(x, "levels") <- levels
        class(x) <- cls
        x
    }""",
    "fun": """function(name, pkg) {
        if (is.na(pkg)) get(name, mode = "function", envir = baseenv())
        else getExportedValue(pkg, name)
    }""",
    "frame": """function(cols, nrow) {
        attr(cols, "row.names") <- .set_row_names(as.integer(nrow))
        class(cols) <- "data.frame"
        cols
    }""",
    "formula": """function(lhs_fun, lhs_vars, rhs_vars, special_funs, special_vars, ns) {
        lhs <- as.call(c(as.name(lhs_fun), lapply(lhs_vars, as.name)))
        terms <- lapply(rhs_vars, as.name)
        for (i in seq_along(special_funs))
            terms <- c(terms, list(call(special_funs[[i]], as.name(special_vars[[i]]))))
        rhs <- if (length(terms)) Reduce(function(a, b) call("+", a, b), terms) else 1
        f <- eval(call("~", lhs, rhs))
        environment(f) <- if (is.na(ns)) globalenv() else asNamespace(ns)
        f
    }""",
    # Weibull baseline rate (k/s)(t/s)^(k-1), the rho function given to reda::simEventData
    "weibull_rate": """function(timeVec, shape, scale) (shape / scale) * (timeVec / scale)^(shape - 1)""",
    "dataset": """function(name, pkg) {
        lazy <- getNamespaceInfo(asNamespace(pkg), "lazydata")
        if (exists(name, envir = lazy, inherits = FALSE)) return(get(name, envir = lazy))
        e <- new.env()
        utils::data(list = name, package = pkg, envir = e)
        get(name, envir = e)
    }""",
}


def explain_start_failure(error_text: str, r_version_text: str | None = None) -> str:
    """Plain-words reason why embedded R could not start, with the command that fixes it.

    ``error_text`` is the exception text ('ImportError: ...') seen when importing rpy2.
    """
    if "No module named 'rpy2" in error_text or "import of rpy2 halted" in error_text:
        return (
            "rpy2 is not installed, so the R engine is unavailable. The r extra installs it: "
            "`pip install \"pysurvbridge[r]\" 'rpy2==3.5.17'` for R < 4.5, or "
            "`pip install \"pysurvbridge[r]\"` for R >= 4.5 (rpy2 >= 3.6 needs R >= 4.5); "
            "`make setup` picks the right one."
        )
    if "R_getVar" in error_text:
        return (
            "rpy2 was built for R >= 4.5 but an older R is installed "
            f"({r_version_text or 'see `R --version`'}): the symbol R_getVar only exists from "
            "R 4.5 on, hence 'undefined symbol: R_getVar'. Install the last rpy2 for older R: "
            "`pip install 'rpy2==3.5.17'` (make setup picks it automatically)."
        )
    if "R_HOME" in error_text or "libR.so" in error_text or "R home" in error_text:
        return f"R is not installed or not found ({error_text}). Install it with: {R_INSTALL_COMMAND}"
    return f"embedded R could not start ({error_text})."


@contextmanager
def _session() -> Iterator[Any]:
    """Hold the lock, start R if needed, and use rpy2's default converter locally.

    The converter lives in a context variable, so it is set here for whichever thread calls.
    """
    with _LOCK:
        start()
        with _STATE["ro"].default_converter.context():
            yield _STATE["ri"]


#: reticulate releases from which rpy2 may run inside an R session hosting Python (reticulate
#: issues #208 and #1236: older ones free Python objects during R's garbage collection without
#: the GIL that rpy2 released, and the R process segfaults after a few fits; fixed in 1.31)
MIN_HOST_RETICULATE = (1, 31)


def reticulate_host() -> dict[str, Any] | None:
    """When this Python runs inside R through reticulate: {"pid", "version", "path"}, else None.

    reticulate sets ``R_SESSION_INITIALIZED=PID=<pid>:NAME="reticulate"`` when it starts Python
    in an R process; it counts only when the pid is this process (a child process inherits the
    variable). The version is read from the DESCRIPTION of the reticulate that is loaded: the
    package folder of its ``rpytools`` Python module, else of its shared library in
    /proc/self/maps; "unknown" when neither is found.
    """
    import os
    import re

    marker = os.environ.get("R_SESSION_INITIALIZED", "")
    found = re.search(r"PID=(\d+)", marker)
    if 'NAME="reticulate"' not in marker or not found or int(found.group(1)) != os.getpid():
        return None
    folder = _loaded_reticulate_folder()
    version = _description_version(folder) if folder else None
    return {"pid": os.getpid(), "version": version or "unknown", "path": folder}


def _loaded_reticulate_folder() -> str | None:
    import os
    import sys

    module = sys.modules.get("rpytools")
    origin = getattr(module, "__file__", None) if module is not None else None
    if origin:  # <lib>/reticulate/python/rpytools/__init__.py
        return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(origin))))
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.rstrip().endswith("/reticulate/libs/reticulate.so"):
                    return os.path.dirname(os.path.dirname(line.split()[-1]))
    except OSError:
        pass
    return None


def _description_version(folder: str) -> str | None:
    import os

    try:
        with open(os.path.join(folder, "DESCRIPTION"), encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def host_refusal(host: dict[str, Any] | None) -> str | None:
    """Why rpy2 must not start inside this reticulate host (None: it may, or no host)."""
    if host is None:
        return None
    try:
        version = tuple(int(x) for x in str(host["version"]).split(".")[:2])
    except ValueError:
        version = None
    if version is not None and version >= MIN_HOST_RETICULATE:
        return None
    need = ".".join(map(str, MIN_HOST_RETICULATE))
    return (f"this Python runs inside R through reticulate {host['version']} (pid {host['pid']}), older than "
            f"{need}: starting rpy2 here crashes the R process (reticulate issues #208 and #1236, fixed in "
            f"{need}), so the R engine is refused and engine='auto' uses the native engine. Update reticulate in "
            f"that R (install.packages('reticulate'), or `make setup`, which installs it from PYSURVBRIDGE_CRAN); "
            f"from R, the survbridge package fits the classical models in R's own survival instead")


def _restore_library_path(value: str | None) -> None:
    """Undo rpy2's ``LD_LIBRARY_PATH`` (R's lib folders and /usr/lib/<arch>).

    The loader of this process read the variable at start-up, so the change only reaches child
    processes; there it made other Pythons load system libraries over their own (a child
    ``python -c "import ssl"`` failed with "undefined symbol: _PyModule_Add")."""
    if value is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = value


def start() -> None:
    """Start embedded R if it is not running; raise RUnavailableError saying how to fix it.

    Inside an R session that hosts Python through a reticulate older than 1.31 it refuses
    (see :func:`host_refusal`)."""
    with _LOCK:
        if "ro" in _STATE:
            return
        if "error" in _STATE:
            raise RUnavailableError(_STATE["error"])
        host = reticulate_host()
        refusal = host_refusal(host)
        if refusal is not None:
            _STATE["error"] = refusal
            raise RUnavailableError(refusal)
        ld_library_path = os.environ.get("LD_LIBRARY_PATH")
        try:
            import logging

            rpy2_log = logging.getLogger("rpy2.rinterface_lib.embedded")
            level = rpy2_log.level
            with warnings.catch_warnings():
                if host is not None:  # expected inside a reticulate host: rpy2 joins the running R
                    warnings.filterwarnings("ignore", "R was initialized outside of rpy2", UserWarning)
                    rpy2_log.setLevel(logging.ERROR)  # rpy2 also logs that message
                try:
                    import rpy2.rinterface as ri
                    import rpy2.robjects as ro
                finally:
                    rpy2_log.setLevel(level)
                    _restore_library_path(ld_library_path)
        except Exception as exc:  # ImportError, OSError, RRuntimeError from R's start-up
            _STATE["error"] = explain_start_failure(f"{type(exc).__name__}: {exc}")
            raise RUnavailableError(_STATE["error"]) from exc
        _STATE["ri"], _STATE["ro"] = ri, ro
        _STATE["helpers"] = {name: ro.r(code) for name, code in _HELPERS.items()}


def is_available() -> bool:
    """True when embedded R starts (R, rpy2 and a matching version pair are installed)."""
    try:
        start()
    except RUnavailableError:
        return False
    return True


def call(function: str, *args: Any, package: str | None = None, **kwargs: Any) -> Any:
    """Call the R function ``package::function`` with converted arguments.

    ``function`` and ``package`` are names looked up with ``getExportedValue`` (never parsed);
    arguments go through :func:`to_r`. Returns the raw rpy2 object; convert it with
    :func:`to_pandas` or :func:`to_numpy`. R errors raise :class:`RCallError`, R warnings are
    re-issued as :class:`RWarning`.
    """
    where = f"{package}::{function}" if package else function
    with _session() as ri:
        pkg = ri.StrSexpVector([package]) if package else ri.StrSexpVector([ri.NA_Character])
        try:
            fun = _STATE["helpers"]["fun"](ri.StrSexpVector([function]), pkg)
        except Exception as exc:  # the name does not exist in that package
            raise RCallError(f"R function {where} not found: {exc}", str(exc)) from exc
        return _invoke(fun, list(args), kwargs, where)


def _invoke(fun: Any, args: list[Any], kwargs: Mapping[str, Any], where: str) -> Any:
    """Run an R function under the lock, re-issue its warnings, raise its error."""
    with _session():
        result = _STATE["helpers"]["call"](fun, _named_list(args, kwargs))
        out = dict(zip(result.names, list(result)))
        r_warnings = [str(w) for w in out["warnings"]]
        ok = bool(out["ok"][0])
        value = out["value"]
    for message in r_warnings:
        warnings.warn(f"R warning in {where}: {message}", RWarning, stacklevel=3)
    if not ok:
        message = str(value[0])
        raise RCallError(f"R error in {where}: {message}", message)
    return value


def element(obj: Any, *path: str) -> Any:
    """``obj[[path[0]]][[path[1]]]...``: an element of an R list by name, from any thread (rpy2's
    ``rx2`` needs its converter, which lives in a context variable each thread sets)."""
    with _session():
        for name in path:
            obj = obj.rx2(name)
        return obj


def names(obj: Any) -> list[str]:
    """The names of an R object (empty when it has none), from any thread."""
    with _session():
        value = obj.names
        return [] if value is None or value is _STATE["ri"].NULL else [str(x) for x in value]


def helper(name: str) -> Any:
    """One of this module's fixed R functions (e.g. "weibull_rate"), to pass as an argument."""
    with _session():
        if name not in _STATE["helpers"]:
            raise KeyError(f"no R helper named {name!r}")
        return _STATE["helpers"][name]


def _named_list(args: list[Any], kwargs: Mapping[str, Any]) -> Any:
    ri = _STATE["ri"]
    values = [to_r(a) for a in args] + [to_r(v) for v in kwargs.values()]
    names = [""] * len(args) + list(kwargs)
    lst = ri.ListSexpVector(values)
    lst.do_slot_assign("names", ri.StrSexpVector(names))
    return lst


def formula(
    response: str,
    response_vars: Sequence[str],
    terms: Sequence[str] = (),
    specials: Sequence[tuple[str, str]] = (),
    namespace: str | None = None,
) -> Any:
    """Build an R formula from names, e.g. ``Surv(start, stop, event) ~ x + strata(enum)``.

    ``response`` and the special functions (``strata``, ``cluster``) are chosen by our code;
    every variable name becomes an R symbol, so any string is safe as a column name.
    ``namespace`` (e.g. "survival") is the formula's environment, so ``Surv`` and ``strata``
    resolve without attaching the package; variables still come from the data first.
    """
    with _session() as ri:
        return _STATE["helpers"]["formula"](
            ri.StrSexpVector([response]),
            ri.StrSexpVector(list(response_vars)),
            ri.StrSexpVector(list(terms)),
            ri.StrSexpVector([f for f, _ in specials]),
            ri.StrSexpVector([v for _, v in specials]),
            ri.StrSexpVector([namespace if namespace else ri.NA_Character]),
        )


# ---------------------------------------------------------------- Python -> R


def to_r(obj: Any) -> Any:
    """Convert a Python object to R: DataFrame -> data.frame, Series/array -> vector,
    dict -> named list, scalars -> length-1 vectors, None -> NULL; rpy2 objects pass through."""
    with _session() as ri:
        if isinstance(obj, ri.Sexp):
            return obj
        if obj is None:
            return ri.NULL
        if isinstance(obj, pd.DataFrame):
            return _frame_to_r(obj)
        if isinstance(obj, Mapping):
            return _named_list([], obj)
        if isinstance(obj, (str, bool, int, float, np.generic)):
            return _series_to_r(pd.Series([obj]))
        if isinstance(obj, pd.Series):
            return _series_to_r(obj)
        if isinstance(obj, (list, tuple, np.ndarray, pd.Categorical)):
            arr = np.asarray(obj) if not isinstance(obj, pd.Categorical) else obj
            if isinstance(arr, np.ndarray) and arr.ndim == 2:
                return _matrix_to_r(arr)
            return _series_to_r(pd.Series(arr))
        raise TypeError(f"cannot convert {type(obj).__name__} to an R object")


def _frame_to_r(df: pd.DataFrame) -> Any:
    ri = _STATE["ri"]
    if not df.columns.is_unique:
        dup = df.columns[df.columns.duplicated()].tolist()
        raise ValueError(f"DataFrame has duplicated column names {dup}; R needs unique names")
    cols = ri.ListSexpVector([_series_to_r(df[c]) for c in df.columns])
    cols.do_slot_assign("names", ri.StrSexpVector([str(c) for c in df.columns]))
    return _STATE["helpers"]["frame"](cols, ri.IntSexpVector([len(df)]))


def _matrix_to_r(arr: np.ndarray) -> Any:
    ri = _STATE["ri"]
    vec = ri.FloatSexpVector(np.asarray(arr, dtype=np.float64).ravel(order="F"))
    vec.do_slot_assign("dim", ri.IntSexpVector(list(arr.shape)))
    return vec


def _float_vector(values: np.ndarray) -> Any:
    """A double vector with R's NA (not NaN) where ``values`` is NaN."""
    ri = _STATE["ri"]
    values = np.ascontiguousarray(values, dtype=np.float64)
    vec = ri.FloatSexpVector.from_memoryview(memoryview(values))
    for i in np.flatnonzero(np.isnan(values)):
        vec[int(i)] = ri.NA_Real
    return vec


def _series_to_r(s: pd.Series) -> Any:
    ri = _STATE["ri"]
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        vec = ri.IntSexpVector(np.where(codes < 0, _NA_INT, codes + 1).tolist())
        return _STATE["helpers"]["classed"](
            vec, ri.StrSexpVector([str(c) for c in dtype.categories]),
            ri.StrSexpVector(["ordered", "factor"] if dtype.ordered else ["factor"]))
    na = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(dtype):
        values = [ri.NA_Logical if m else bool(v) for v, m in zip(s.to_numpy(object), na)]
        return ri.BoolSexpVector(values)
    if pd.api.types.is_integer_dtype(dtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.all(np.abs(values[~na]) < 2**31 - 1):
            ints = np.where(na, _NA_INT, np.nan_to_num(values)).astype(np.int32)
            return ri.IntSexpVector.from_memoryview(memoryview(np.ascontiguousarray(ints)))
        return _float_vector(values)  # beyond R's 32-bit integers: exact as double
    if pd.api.types.is_float_dtype(dtype):
        return _float_vector(s.to_numpy(dtype=np.float64, na_value=np.nan))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        days = (s - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy() / 86400.0
        return _STATE["helpers"]["classed"](_float_vector(days), ri.StrSexpVector([]),
                                            ri.StrSexpVector(["Date"]))
    values = [ri.NA_Character if m else str(v) for v, m in zip(s.to_numpy(object), na)]
    return ri.StrSexpVector(values)


# ---------------------------------------------------------------- R -> Python


def to_pandas(r_frame: Any) -> pd.DataFrame:
    """Convert an R data.frame to pandas: integer -> int64 (Int64 when NA), double ->
    float64 (NA -> NaN), factor -> Categorical with R's levels, logical -> bool, character ->
    object (NA -> None), Date -> datetime64[ns]. Row names are dropped."""
    with _session():
        names = [str(n) for n in r_frame.names]
        data = {name: to_numpy(col) for name, col in zip(names, list(r_frame))}
    return pd.DataFrame(data, columns=names)


def to_numpy(vec: Any) -> Any:
    """Convert an R atomic vector to a numpy array, Categorical or pandas extension array."""
    with _session() as ri:
        rclass = list(vec.rclass) if vec.rclass is not None else []
        typeof = vec.typeof
        if "factor" in rclass:
            codes = np.array(vec, dtype=np.int64)
            levels = [str(x) for x in vec.do_slot("levels")]
            return pd.Categorical.from_codes(
                np.where(codes == _NA_INT, -1, codes - 1), categories=levels,
                ordered="ordered" in rclass,
            )
        if "Date" in rclass:
            days = np.array(vec, dtype=np.float64)
            return pd.to_datetime(days, unit="D").astype("datetime64[ns]").to_numpy()
        if typeof == ri.RTYPES.INTSXP:
            arr = _flat(vec, np.int32).astype(np.int64)
            na = arr == _NA_INT
            return pd.arrays.IntegerArray(np.where(na, 0, arr), na) if na.any() else arr
        if typeof == ri.RTYPES.REALSXP:
            return _flat(vec, np.float64).copy()
        if typeof == ri.RTYPES.LGLSXP:
            arr = np.array(vec, dtype=np.int64)
            na = arr == _NA_INT
            if na.any():
                return pd.arrays.BooleanArray(arr.astype(bool), na)
            return arr.astype(bool)
        if typeof == ri.RTYPES.STRSXP:
            return np.array([None if x is ri.NA_Character else str(x) for x in vec], dtype=object)
        raise TypeError(f"cannot convert R vector of type {typeof} (class {rclass}) to numpy")


def _flat(vec: Any, dtype: type) -> np.ndarray:
    """The vector's data in R's (column-major) order, without copying element by element."""
    view = vec.memoryview()
    if view.ndim == 1:
        return np.frombuffer(view, dtype=dtype)
    return np.asarray(view).ravel(order="F")


# ---------------------------------------------------------------- versions and data


def r_version() -> str:
    """R's version as 'major.minor', e.g. '4.2.2'."""
    version = call("R.Version", package="base")
    parts = dict(zip(version.names, [str(v[0]) for v in version]))
    return f"{parts['major']}.{parts['minor']}"


def has_r_package(name: str) -> bool:
    """True when the R package ``name`` can be loaded (``requireNamespace``)."""
    if not is_available():
        return False
    found = call("requireNamespace", name, quietly=True, package="base")
    return bool(found[0])


def package_version(name: str) -> str | None:
    """The installed version of R package ``name``, or None when it is not installed."""
    if not has_r_package(name):
        return None
    version = call("packageVersion", name, package="utils")
    return str(call("as.character", version, package="base")[0])


def load_r_dataset(name: str, package: str) -> pd.DataFrame:
    """A data set shipped with an R package (``utils::data``) as a pandas DataFrame."""
    with _session():
        frame = _invoke(_STATE["helpers"]["dataset"], [name, package], {}, f"{package}::{name}")
        return to_pandas(frame)
