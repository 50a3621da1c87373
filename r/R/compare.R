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
#' @param formula for a data.frame: `Surv(start, stop, event) ~ x + cluster(id)` (recurrent),
#'   `Surv(time, status) ~ x`, or one `Surv()` per event for the multi-event comparison,
#'   `Surv(rtime, recur) + Surv(dtime, death) ~ x` (events named after their status argument, as
#'   in [sb_fit()]; pass `trajectories = list(c("recur", "death"))` through `...`). The response
#'   is read as coxph reads it (1/2 status, expressions); factors are one-hot coded as
#'   `model.matrix` does.
#' @param na.action for a data.frame: rows with NA in a formula variable are dropped by
#'   `na.omit` (the default, through `getOption("na.action")`) or `na.exclude`, or are an error
#'   naming the columns and rows with `na.fail`; the count is in the result's `$na.action` and
#'   its print. Python receives complete rows.
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
#' @param ... further arguments of Python's `compare()` (e.g. `test_size`, `times`, `tune_metric`,
#'   `trajectories` for multi-event data).
#' @return an `sb_comparison`: `$table` (one row per model: means and SDs over seeds),
#'   `$results` (per model and seed, with `tuned_params` as JSON), `$notes`, `$agreement`,
#'   `$differences` (model minus reference per metric, with 95% intervals), `$verdict` (one
#'   sentence per model), `$reference`, `$tuning` (every tuning trial); the Python result stays
#'   in this session for [sb_report()]; `$na.action` the rows dropped from a data.frame.
#' @examples
#' \donttest{
#' if (isTRUE(sb_python_available())) {
#'   # several events from a formula: MENSA against the earlier-event-first reference
#'   x <- sb_compare(survival::rotterdam, models = c("mensa", "earlier-event-first"), seeds = 1,
#'                   formula = Surv(rtime, recur) + Surv(dtime, death) ~ age + meno + size + grade +
#'                     nodes + pgr + er + hormon + chemo,
#'                   trajectories = list(c("recur", "death")), epochs = 2)
#'   x
#' }
#' }
#' @export
sb_compare <- function(data, models = c("ag", "wlw", "pwp-total", "lstm-cox"), seeds = 3, formula = NULL,
                       crosscheck = TRUE, epochs = NULL, reference = NULL, tune = NULL, tune_trials = 20,
                       tune_folds = 3, na.action = getOption("na.action"), ...) {
  rhost <- .sb_rhost()
  omit <- NULL
  if (is.character(data) && length(data) == 1) {
    payload <- data
  } else if (is.data.frame(data)) {
    if (is.null(formula)) stop("a data.frame needs formula = Surv(...) ~ covariates", call. = FALSE)
    frame <- .sb_compare_frame(formula, data, na.action)
    omit <- attr(frame, "na.action")
    payload <- .sb_encode_frame(frame)
  } else {
    stop("data must be a data set name or a data.frame", call. = FALSE)
  }
  fitter <- reticulate::r_to_py(function(kind, train, ties) .sb_host_estimates(kind, train, ties))
  extra <- list(...)
  if (is.atomic(extra$trajectories) && length(extra$trajectories) == 2) extra$trajectories <- list(extra$trajectories)
  if (!is.null(extra$trajectories)) extra$trajectories <- lapply(extra$trajectories, as.list)
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
    models = models, seeds = seeds, na.action = omit, python = .sb_keep(result)), class = "sb_comparison")
}

# the rows compare() receives: the response (time/event; id/start/stop/event; or one Surv column
# per event) and the design columns, after na.action (attr(, "na.action"))
.sb_compare_frame <- function(formula, data, na.action = getOption("na.action")) {
  design <- .sb_design(formula, data, na.action)
  fr <- design$frame
  if (length(fr$strata)) {
    stop("sb_compare: ", paste(fr$strata, collapse = ", "), " in the formula: the comparison's models have no ",
         "user strata (the PWP and WLW layouts add their own); drop the term", call. = FALSE)
  }
  if (fr$type == "mright") {
    stop("sb_compare: a factor status (competing risks) is not a comparison pysurvbridge runs from a formula; ",
         "give one Surv() per event (Surv(t1, e1) + Surv(t2, e2) ~ x) or a data set name", call. = FALSE)
  }
  out <- design$response
  X <- design$X
  for (j in seq_len(ncol(X))) out[[colnames(X)[j]]] <- X[, j]
  attr(out, "na.action") <- fr$omit
  out
}

#' @rdname sb_compare
#' @param x an `sb_comparison`.
#' @param digits digits of the printed table.
#' @export
print.sb_comparison <- function(x, digits = 3, ...) {
  cols <- intersect(c("model", "family", "engine", "n_seeds", "c_harrell", "c_intervals", "c_uno", "c_global",
                      "c_local", "ibs", "mae_margin", "aic", "fit_seconds"), names(x$table))
  cat("survbridge comparison:", nrow(x$table), "models,", length(unique(x$results$seed)), "seed(s)\n")
  tab <- x$table[, cols, drop = FALSE]
  num <- vapply(tab, is.numeric, logical(1))
  tab[num] <- lapply(tab[num], round, digits)
  if (length(x$verdict)) cat("verdict:\n", paste0("  - ", x$verdict, collapse = "\n"), "\n", sep = "")
  print(tab, row.names = FALSE)
  .sb_print_na(x$na.action)
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
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   x <- sb_compare("bladder1", models = c("cox", "ag", "deepsurv"), seeds = 1, epochs = 5)
#'   sb_report(x, file.path(tempdir(), "report.html"))
#' }
#' }
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
