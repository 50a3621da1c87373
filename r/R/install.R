# Setting up the Python side from R: a virtual environment with PyTorch and pysurvbridge, recorded
# for later sessions (sb_python_candidates() reads the record), and the advice survbridge_doctor()
# prints when something is missing.

#' Set up the Python side: a virtual environment with PyTorch and pysurvbridge
#'
#' What an R user without the pysurvbridge repository runs once. It creates (or reuses) the
#' virtual environment `envname` with reticulate, installs PyTorch (`torch`, from the CPU wheel
#' index `torch_index`) unless the environment already has a version that satisfies it, then
#' pysurvbridge with its `extras`, from `wheel` (a local file) or from the package index,
#' checks that the environment imports it, and records the environment's Python under
#' [tools::R_user_dir()]`("survbridge", "config")`, so that later R sessions find it (see
#' [sb_python_candidates()]; `RETICULATE_PYTHON`, `options(survbridge.python)` and
#' `SURVBRIDGE_PYTHON` still take precedence). Running it again updates the environment.
#'
#' Python can be started only once in an R session: if this session already runs another
#' Python, restart R to use the new environment.
#' @param envname a virtual environment name (created under reticulate's virtualenv root,
#'   by default `~/.virtualenvs`) or a path (anything containing a `/`).
#' @param wheel `NULL` (install pysurvbridge from the package index) or the path of a
#'   pysurvbridge wheel (`.whl`) or source archive, e.g. one built by `python -m build` in the
#'   pysurvbridge repository.
#' @param extras optional dependencies of pysurvbridge to install with it: `"r"` (rpy2, with
#'   which pysurvbridge itself runs R's survival from Python; 3.5.17 for R before 4.5, which
#'   newer rpy2 does not support), or `character()` for none.
#' @param python the Python (>= 3.10) that creates the environment; `NULL` lets reticulate find
#'   one. Not used when the environment exists.
#' @param torch the PyTorch requirement installed first; `NULL` leaves PyTorch to pip
#'   (pysurvbridge requires torch >= 2.1).
#' @param torch_index the index PyTorch comes from: the CPU wheels by default (an unpinned torch
#'   from PyPI pulls gigabytes of CUDA libraries on Linux); `NULL` for pip's configured index.
#' @param pip_options further options for every `pip install`, e.g.
#'   `c("--no-index", "--find-links", "/path/to/wheels")` offline.
#' @param record write the environment's Python where survbridge looks for it.
#' @param quiet fewer messages from pip.
#' @return invisibly, the path of the environment's Python.
#' @seealso [survbridge_doctor()] checks the result.
#' @examples
#' \dontrun{
#' # once, after install.packages("survbridge"); downloads PyTorch (about 200 MB) and pysurvbridge
#' install_pysurvbridge()
#' # from a wheel built in the pysurvbridge repository, into a folder of your choice
#' install_pysurvbridge("~/envs/survbridge", wheel = "dist/pysurvbridge-0.1.0-py3-none-any.whl")
#' survbridge_doctor()
#' }
#' @export
install_pysurvbridge <- function(envname = "survbridge", wheel = NULL, extras = c("r"), python = NULL,
                                 torch = "torch==2.13.0", torch_index = "https://download.pytorch.org/whl/cpu",
                                 pip_options = character(), record = TRUE, quiet = FALSE) {
  if (!is.null(wheel)) {
    if (!is.character(wheel) || length(wheel) != 1L || !file.exists(wheel)) {
      stop("wheel = must be the path of a pysurvbridge wheel or source archive; not found: ",
           paste(format(wheel), collapse = " "), call. = FALSE)
    }
    wheel <- normalizePath(wheel)
  }
  envname <- path.expand(envname)
  if (!reticulate::virtualenv_exists(envname)) {
    if (is.null(python)) {
      python <- reticulate::virtualenv_starter(">=3.10")
      if (is.null(python)) {
        stop("no Python >= 3.10 was found to create the virtual environment. Install one (e.g. ",
             "reticulate::install_python(\"3.11\"), or your system's python3 with its venv module) or give ",
             "install_pysurvbridge(python = \"/path/to/python3\").", call. = FALSE)
      }
    }
    reticulate::virtualenv_create(envname, python = python, packages = FALSE)
  }
  py <- path.expand(reticulate::virtualenv_python(envname))
  py <- file.path(normalizePath(dirname(py)), basename(py))  # absolute, without resolving the link
  pip <- function(requirement, ...) {
    args <- c("-m", "pip", "install", "--disable-pip-version-check", if (quiet) "-q", ..., pip_options,
              shQuote(requirement))
    message("survbridge: pip install ", requirement)
    status <- system2(py, args, env = .sb_child_env())
    if (!identical(as.integer(status), 0L)) {
      stop("pip could not install ", requirement, " into ", dirname(dirname(py)), " (exit status ", status,
           "); pip's messages above say why. Offline, give pip_options = c(\"--no-index\", \"--find-links\", ",
           "\"/folder/with/wheels\").", call. = FALSE)
    }
  }
  if (!is.null(torch)) {
    if (.sb_py_satisfies(py, torch)) {
      message("survbridge: ", torch, " is already satisfied")
    } else {
      pip(torch, if (!is.null(torch_index)) c("--index-url", torch_index))
    }
  }
  if ("r" %in% extras) {
    # rpy2 >= 3.6 needs R >= 4.5 ('undefined symbol R_getVar' on older R); 3.5.17 works with R 4.2-4.4
    # (the rule of the repository's scripts/setup_python.sh)
    rpy2 <- if (getRversion() >= "4.5") "rpy2>=3.6" else "rpy2==3.5.17"
    if (.sb_py_satisfies(py, rpy2)) message("survbridge: ", rpy2, " is already satisfied") else pip(rpy2)
  }
  extras <- if (length(extras)) paste0("[", paste(extras, collapse = ","), "]") else ""
  pip(paste0(if (is.null(wheel)) "pysurvbridge" else wheel, extras))
  out <- suppressWarnings(system2(py, c("-c", shQuote("import pysurvbridge.rhost, pysurvbridge; print(pysurvbridge.__version__)")),
                                  stdout = TRUE, stderr = TRUE, env = .sb_child_env()))
  if (!is.null(attr(out, "status"))) {
    stop("pysurvbridge was installed into ", dirname(dirname(py)), " but does not import there:\n",
         paste(utils::tail(out, 20), collapse = "\n"), call. = FALSE)
  }
  message("survbridge: pysurvbridge ", utils::tail(out, 1), " is ready in ", dirname(dirname(py)))
  if (record) {
    file <- .sb_recorded_python_file()
    dir.create(dirname(file), recursive = TRUE, showWarnings = FALSE)
    writeLines(py, file)
    message("survbridge: recorded ", py, " in ", file, "; survbridge uses it from now on unless ",
            "RETICULATE_PYTHON, options(survbridge.python) or SURVBRIDGE_PYTHON point elsewhere")
  }
  if (reticulate::py_available(initialize = FALSE)) {
    running <- reticulate::py_config()$python
    if (!identical(normalizePath(running, mustWork = FALSE), normalizePath(py, mustWork = FALSE))) {
      message("survbridge: this R session already runs the Python ", running, "; restart R to use the new environment")
    }
  } else {
    .sb$error <- NULL  # an earlier "no Python found" is no longer true
  }
  invisible(py)
}

# Where install_pysurvbridge() records its Python (R_USER_CONFIG_DIR moves it, as for tools::R_user_dir)
.sb_recorded_python_file <- function() file.path(tools::R_user_dir("survbridge", "config"), "python-path")

.sb_recorded_python <- function() {
  file <- .sb_recorded_python_file()
  if (!file.exists(file)) return("")
  line <- readLines(file, warn = FALSE)
  if (length(line)) trimws(line[1]) else ""
}

# Does the environment of `py` have a distribution that satisfies `requirement` ("torch==2.13.0")?
# A local version such as 2.13.0+cpu satisfies ==2.13.0 (PEP 440). pip's vendored packaging reads
# the requirement, so nothing beyond pip is needed.
.sb_py_satisfies <- function(py, requirement) {
  code <- paste("import sys, importlib.metadata as md",
                "from pip._vendor.packaging.requirements import Requirement",
                "r = Requirement(sys.argv[1])",
                "try: v = md.version(r.name)",
                "except md.PackageNotFoundError: sys.exit(1)",
                "sys.exit(0 if r.specifier.contains(v, prereleases=True) else 1)", sep = "\n")
  status <- suppressWarnings(system2(py, c("-c", shQuote(code), shQuote(requirement)), stdout = FALSE, stderr = FALSE,
                                     env = .sb_child_env()))
  identical(as.integer(status), 0L)
}

# The lines survbridge_doctor() prints under "Missing:" and "Fix:" for the chosen Python (NULL when
# none was found): which Python modules it lacks, and the call that installs them.
.sb_doctor_advice <- function(python) {
  fix_new <- paste0("survbridge::install_pysurvbridge() (once: a virtual environment \"survbridge\" with PyTorch ",
                    "and pysurvbridge, recorded for later sessions)")
  if (is.null(python)) {
    return(c("Missing: a Python with pysurvbridge (none of the candidates above is set and exists).",
             paste("Fix:", fix_new)))
  }
  # a Python chosen before the one install_pysurvbridge() records would still win over it
  cands <- sb_python_candidates()
  from <- cands$source[cands$exists & cands$python == python][1]
  if (!is.na(from) && match(from, cands$source) < match("install_pysurvbridge()", cands$source)) {
    fix_new <- paste0(fix_new, ", and unset ", from, " (it takes precedence)")
  }
  code <- paste("import importlib.util as u",
                "print(' '.join(m for m in ('pysurvbridge', 'torch', 'numpy', 'pandas') if u.find_spec(m) is None))",
                sep = "\n")
  out <- suppressWarnings(system2(python, c("-c", shQuote(code)), stdout = TRUE, stderr = TRUE, env = .sb_child_env()))
  if (!is.null(attr(out, "status"))) {
    return(c(paste("Missing: a working Python at", python, "(it does not run:", utils::tail(out, 1), ")"),
             paste("Fix:", fix_new)))
  }
  missing <- strsplit(trimws(utils::tail(c("", out), 1)), " +")[[1]]
  missing <- missing[nzchar(missing)]
  if (!length(missing)) return(character())
  env <- dirname(dirname(python))
  fix <- if (file.exists(file.path(env, "pyvenv.cfg"))) {
    sprintf("survbridge::install_pysurvbridge(\"%s\") installs them into this virtual environment; or %s", env, fix_new)
  } else {
    paste0(fix_new, " (", python, " is not a virtual environment: survbridge does not install into it)")
  }
  c(paste0("Missing: the Python module", if (length(missing) > 1) "s", " ", paste(missing, collapse = ", "), " in ", python, "."),
    paste("Fix:", fix))
}
