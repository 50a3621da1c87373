# sb_compare(): pysurvbridge's compare() run from R. The classical models are fitted by this R
# session's coxph (sb_fit_classical), the neural ones in Python; Python scores every model's
# predictions with the same metrics on the same splits.

#' Classical and neural models side by side, from R
#'
#' @param data a data set name pysurvbridge knows ("bladder1", "bladder", "cgd", "rotterdam",
#'   "support"), or a data.frame with `formula`.
#' @param models registry names: classical "cox", "ag", "wlw", "pwp-total", "pwp-gap" (fitted
#'   here, in R's survival) and neural "lstm-cox", "deepsurv", "nnet-survival", "coxvae", ...
#' @param seeds a number n (seeds 0..n-1, as in Python) or a vector of seeds.
#' @param formula for a data.frame: `Surv(start, stop, event) ~ x + cluster(id)` (recurrent) or
#'   `Surv(time, status) ~ x`; factors are one-hot coded as `model.matrix` does.
#' @param crosscheck compare this session's `coxph` with pysurvbridge's native engine on the
#'   first split (largest differences of coefficients, robust SEs, log-likelihood); the result is
#'   in `$agreement` and the report.
#' @param epochs training epochs of the neural models (NULL: each model's default).
#' @param reference the model every other is compared with in `$differences` and the verdict
#'   (NULL: the first classical model).
#' @param tune NULL or "none" (no tuning), "default" (every neural model over the search space
#'   declared beside it, nested inside each split's training subjects), or a named list of
#'   spaces, e.g. `list(deepsurv = list(hidden = list(16, c(32, 32)), lr = list("log", 1e-4, 1e-2)))`
#'   (a vector is one value; a number stands for a one-layer `hidden`).
#' @param tune_trials configurations tried per model and split.
#' @param tune_folds inner cross-validation folds.
#' @param ... further arguments of Python's `compare()` (e.g. `test_size`, `times`, `tune_metric`).
#' @return an `sb_comparison`: `$table` (one row per model: means and SDs over seeds),
#'   `$results` (per model and seed, with `tuned_params` as JSON), `$notes`, `$agreement`,
#'   `$differences` (model minus reference per metric, with 95% intervals), `$verdict` (one
#'   sentence per model), `$reference`, `$tuning` (every tuning trial); the Python result stays
#'   in this session for [sb_report()].
#' @export
sb_compare <- function(data, models = c("ag", "wlw", "pwp-total", "lstm-cox"), seeds = 3, formula = NULL,
                       crosscheck = TRUE, epochs = NULL, reference = NULL, tune = NULL, tune_trials = 20,
                       tune_folds = 3, ...) {
  rhost <- .sb_rhost()
  if (is.character(data) && length(data) == 1) {
    payload <- data
  } else if (is.data.frame(data)) {
    if (is.null(formula)) stop("a data.frame needs formula = Surv(...) ~ covariates", call. = FALSE)
    payload <- .sb_encode_frame(.sb_compare_frame(formula, data))
  } else {
    stop("data must be a data set name or a data.frame", call. = FALSE)
  }
  fitter <- reticulate::r_to_py(function(kind, train, ties) .sb_host_estimates(kind, train, ties))
  extra <- list(...)
  args <- c(list(payload, reticulate::np_array(as.character(models), dtype = "str"), fitter,
                 seeds = if (length(seeds) == 1) as.integer(seeds) else as.list(as.integer(seeds)),
                 crosscheck = isTRUE(crosscheck), verbose = FALSE),
            if (!is.null(epochs)) list(epochs = as.integer(epochs)),
            if (!is.null(reference)) list(reference = as.character(reference)),
            if (!is.null(tune)) list(tune = tune, tune_trials = as.integer(tune_trials),
                                     tune_folds = as.integer(tune_folds)), extra)
  result <- do.call(reticulate::py_call, c(list(rhost$compare_from_r), args))
  tables <- reticulate::py_to_r(rhost$comparison_tables(result))
  structure(list(
    table = .sb_decode_frame(tables$table), results = .sb_decode_frame(tables$results),
    notes = as.character(as.vector(tables$notes)),
    agreement = if (is.null(tables$agreement)) NULL else .sb_decode_frame(tables$agreement),
    differences = if (is.null(tables$differences)) NULL else .sb_decode_frame(tables$differences),
    verdict = as.character(as.vector(tables$verdict)), reference = tables$reference,
    tuning = if (is.null(tables$tuning)) NULL else .sb_decode_frame(tables$tuning),
    models = models, seeds = seeds, python = .sb_keep(result)), class = "sb_comparison")
}

.sb_compare_frame <- function(formula, data) {
  design <- .sb_design(formula, data)
  X <- as.data.frame(design$X, optional = TRUE)
  if (length(design$resp) == 3) cbind(design$response, X) else cbind(design$response, X)
}

#' @export
print.sb_comparison <- function(x, digits = 3, ...) {
  cols <- intersect(c("model", "family", "engine", "n_seeds", "c_harrell", "c_intervals", "c_uno", "ibs", "aic",
                      "fit_seconds"), names(x$table))
  cat("survbridge comparison:", nrow(x$table), "models,", length(unique(x$results$seed)), "seed(s)\n")
  tab <- x$table[, cols, drop = FALSE]
  num <- vapply(tab, is.numeric, logical(1))
  tab[num] <- lapply(tab[num], round, digits)
  if (length(x$verdict)) cat("verdict:\n", paste0("  - ", x$verdict, collapse = "\n"), "\n", sep = "")
  print(tab, row.names = FALSE)
  a <- x$agreement
  if (!is.null(a) && any(!is.na(a$max_abs_diff))) {
    cat(sprintf("agreement between engines: largest difference %.2g over %d checks (%d outside tolerance)\n",
                max(a$max_abs_diff, na.rm = TRUE), sum(!is.na(a$max_abs_diff)), sum(a$agrees %in% FALSE)))
  }
  if (length(x$notes)) cat("notes:\n", paste0("  - ", x$notes, collapse = "\n"), "\n", sep = "")
  invisible(x)
}

#' Write the comparison's self-contained HTML report (the same report as Python's)
#' @param x an `sb_comparison`.
#' @param file the HTML file to write.
#' @return `file`, invisibly.
#' @export
sb_report <- function(x, file = "report.html") {
  if (!inherits(x, "sb_comparison")) stop("x must come from sb_compare()", call. = FALSE)
  py <- .sb_live(x$python)
  if (is.null(py)) {
    stop("this comparison's Python result is gone (it was saved and reloaded); run sb_compare() again",
         call. = FALSE)
  }
  reticulate::py_call(py$to_html, normalizePath(file, mustWork = FALSE))
  invisible(file)
}
