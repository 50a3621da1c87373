# Finding and loading Python. Nothing starts Python before the first call that needs it.

.sb <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  # delay-loaded, convert = FALSE: every value crosses through sb_encode_frame()/sb_decode_frame()
  .sb$modules <- list()
  # identifies this R session: a fit's cached Python object is valid only in the session that made it
  .sb$session <- paste(Sys.getpid(), format(Sys.time(), "%Y%m%d%H%M%OS6"), sep = ":")
  # live Python objects of this session's fits and comparisons, by key. They are never stored in
  # the R objects themselves: reticulate would pickle them on saveRDS() and start a Python of its
  # own choosing on readRDS().
  .sb$live <- new.env(parent = emptyenv())
  .sb$python <- NULL
  .sb$error <- NULL
}

#' The Python survbridge would use, and where each candidate came from
#'
#' In order: the environment variable `RETICULATE_PYTHON`, the option `survbridge.python`,
#' the environment variable `SURVBRIDGE_PYTHON`, the Python recorded by
#' [install_pysurvbridge()], and the project's `.venv` recorded when the package was installed
#' from the pysurvbridge repository. The first that exists is used.
#' @return a data.frame with columns source, python, exists.
#' @examples
#' sb_python_candidates()
#' @export
sb_python_candidates <- function() {
  recorded <- system.file("python-path", package = "survbridge")
  venv <- if (nzchar(recorded)) trimws(readLines(recorded, warn = FALSE)[1]) else ""
  out <- data.frame(
    source = c("RETICULATE_PYTHON", "option survbridge.python", "SURVBRIDGE_PYTHON",
               "install_pysurvbridge()", "the project's .venv"),
    python = c(Sys.getenv("RETICULATE_PYTHON"), getOption("survbridge.python", ""),
               Sys.getenv("SURVBRIDGE_PYTHON"), .sb_recorded_python(), venv),
    stringsAsFactors = FALSE)
  out$exists <- nzchar(out$python) & file.exists(out$python)
  out
}

.sb_fix_message <- function() {
  paste0("Fix: run survbridge::install_pysurvbridge() once (it creates the virtual environment \"survbridge\" ",
         "with PyTorch and pysurvbridge and records it for later sessions), then restart R; or point survbridge ",
         "at a Python that has pysurvbridge: options(survbridge.python = \"/path/to/python\") before the first ",
         "call (in the pysurvbridge repository `make setup` and `make r-package` do this). survbridge_doctor() ",
         "checks the whole set-up.")
}

.sb_choose_python <- function() {
  cands <- sb_python_candidates()
  if (reticulate::py_available(initialize = FALSE)) {
    return(reticulate::py_config()$python)  # Python already runs in this R session: use it
  }
  given <- cands[nzchar(cands$python), , drop = FALSE]
  usable <- given[given$exists, , drop = FALSE]
  if (!nrow(usable)) {
    tried <- if (nrow(given)) paste0(given$source, " (", given$python, ": not found)", collapse = "; ")
             else paste("none of", paste(cands$source, collapse = ", "), "is set")
    stop("survbridge needs Python with the pysurvbridge package, and found none. Tried: ", tried, ". ",
         .sb_fix_message(), call. = FALSE)
  }
  # RETICULATE_PYTHON, set until Python has started, is the one choice reticulate never second-guesses
  # (use_python() still lets it look for a Poetry/uv project in the working directory)
  if (!nzchar(Sys.getenv("RETICULATE_PYTHON"))) {
    Sys.setenv(RETICULATE_PYTHON = usable$python[1])
    .sb$restore_env <- TRUE
  }
  usable$python[1]
}

#' Import a module of pysurvbridge (convert = FALSE), starting Python on first use
#' @noRd
.sb_module <- function(name = "pysurvbridge") {
  if (!is.null(.sb$modules[[name]])) return(.sb$modules[[name]])
  if (!is.null(.sb$error)) stop(.sb$error, call. = FALSE)
  python <- tryCatch(.sb_choose_python(), error = function(e) {
    .sb$error <- conditionMessage(e)
    stop(e)
  })
  on.exit(if (isTRUE(.sb$restore_env)) {
    Sys.unsetenv("RETICULATE_PYTHON")
    .sb$restore_env <- FALSE
  }, add = TRUE)
  module <- tryCatch(reticulate::import(name, convert = FALSE), error = function(e) {
    .sb$error <- paste0("survbridge could not import the Python module ", name, " from ", python, ": ",
                        conditionMessage(e), "\n", .sb_fix_message())
    stop(.sb$error, call. = FALSE)
  })
  .sb$python <- python
  .sb$modules[[name]] <- module
  module
}

.sb_rhost <- function() .sb_module("pysurvbridge.rhost")

#' Is Python with pysurvbridge usable from this R session?
#' @return TRUE or FALSE; the reason is in attr(, "reason").
#' @examples
#' \donttest{
#' sb_python_available()
#' }
#' @export
sb_python_available <- function() {
  ok <- tryCatch({ .sb_rhost(); TRUE }, error = function(e) structure(FALSE, reason = conditionMessage(e)))
  ok
}

#' Check the set-up: R side, Python side (`pysurvbridge doctor`)
#'
#' Prints which Python survbridge uses and why (each of [sb_python_candidates()]), the
#' reticulate version, and the report of `pysurvbridge doctor` (torch, rpy2, R packages, with
#' the command that fixes each problem). When no Python is found, or the one found lacks
#' pysurvbridge or PyTorch, it says what is missing and the call that fixes it, usually
#' [install_pysurvbridge()].
#' @return invisibly, the doctor's exit status (0 when everything needed works).
#' @examples
#' \donttest{
#' survbridge_doctor()
#' }
#' @export
survbridge_doctor <- function() {
  cat("survbridge", format(utils::packageVersion("survbridge")), "| R", format(getRversion()),
      "| reticulate", format(utils::packageVersion("reticulate")), "\n")
  cands <- sb_python_candidates()
  for (i in seq_len(nrow(cands))) {
    cat(sprintf("  %-26s %s\n", cands$source[i],
                if (!nzchar(cands$python[i])) "(unset)" else if (cands$exists[i]) cands$python[i]
                else paste(cands$python[i], "(not found)")))
  }
  python <- tryCatch(.sb_choose_python(), error = function(e) NULL)
  if (isTRUE(.sb$restore_env)) {  # .sb_choose_python() set it for a Python start that is not coming
    Sys.unsetenv("RETICULATE_PYTHON")
    .sb$restore_env <- FALSE
  }
  if (!is.null(python)) cat("Python used:", python, "\n")
  advice <- .sb_doctor_advice(python)
  if (length(advice)) {
    cat("", advice, sep = "\n")
    return(invisible(1L))
  }
  cat("\n")
  out <- suppressWarnings(system2(python, c("-m", "pysurvbridge.cli", "doctor"), env = .sb_child_env(),
                                  stdout = TRUE, stderr = TRUE))
  cat(out, sep = "\n")
  status <- attr(out, "status")
  status <- if (is.null(status)) 0L else as.integer(status)
  if (!identical(status, 0L)) {
    cat("\n`pysurvbridge doctor` exited with status ", status, ": the lines above name the command that fixes ",
        "each problem; survbridge::install_pysurvbridge() (re)installs PyTorch and pysurvbridge in a virtual ",
        "environment.\n", sep = "")
  }
  invisible(status)
}

# Keep a Python object for an R object: returns the handle to store in the R object. The entry is
# dropped when the handle (an environment shared by every copy of the R object) is collected.
.sb_keep <- function(py) {
  key <- paste0(.sb$session, "#", sprintf("%.0f", stats::runif(1, 0, 2^52)))
  assign(key, py, envir = .sb$live)
  handle <- new.env(parent = emptyenv())
  handle$key <- key
  reg.finalizer(handle, function(h) if (exists(h$key, envir = .sb$live, inherits = FALSE))
    rm(list = h$key, envir = .sb$live), onexit = FALSE)
  handle
}

# The kept Python object, or NULL after readRDS() / in another session.
.sb_live <- function(handle) {
  if (is.null(handle) || is.null(handle$key) || !exists(handle$key, envir = .sb$live, inherits = FALSE)) return(NULL)
  get(handle$key, envir = .sb$live, inherits = FALSE)
}

# The environment for a Python started from R as a child process. R's start-up script puts its own
# library folders first in LD_LIBRARY_PATH (etc/ldpaths: R's lib, /usr/lib/<arch>, Java's server
# folder); a child inherits them, and a pyenv or conda Python then loads the system libpython over
# its own (survbridge_doctor() reported Debian's 3.11.2 for a pyenv 3.11.7). Those entries are
# dropped; the loader searches the system folders anyway, after the Python's own.
.sb_child_env <- function() {
  parts <- strsplit(Sys.getenv("LD_LIBRARY_PATH"), ":", fixed = TRUE)[[1]]
  system_dir <- grepl("^/(usr/)?lib(64)?(/[^/]+-linux-gnu)?/?$", parts)
  drop <- !nzchar(parts) | startsWith(parts, R.home()) | grepl("/jvm/", parts, fixed = TRUE) | system_dir
  paste0("LD_LIBRARY_PATH=", shQuote(paste(parts[!drop], collapse = ":")))
}
