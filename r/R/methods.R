# broom-style tables, and pec / riskRegression prediction methods for the neural fits.

#' @importFrom generics tidy glance
#' @export
generics::tidy

#' @export
generics::glance

#' Tidy a classical survbridge fit: one row per coefficient
#'
#' `std.error` is the robust (cluster-by-subject) SE that coxph's summary uses; the naive SE is in
#' `naive.std.error`.
#' @param x an `sb_classical` fit.
#' @param exponentiate hazard ratios instead of log hazard ratios (estimate and interval).
#' @param conf.int,conf.level confidence intervals from the robust SE.
#' @param ... unused.
#' @method tidy sb_classical
#' @examples
#' b1 <- survival::bladder1
#' b1 <- b1[b1$stop > b1$start, ]
#' b1$event <- as.integer(b1$status == 1)
#' fit <- sb_fit_classical(Surv(start, stop, event) ~ treatment + number + cluster(id), b1,
#'                         model = "ag")
#' tidy(fit)
#' tidy(fit, exponentiate = TRUE, conf.level = 0.9)
#' @export
tidy.sb_classical <- function(x, exponentiate = FALSE, conf.int = TRUE, conf.level = 0.95, ...) {
  est <- stats::coef(x)
  robust <- sqrt(diag(x$var))
  naive <- sqrt(diag(x$naive.var))
  z <- est / robust
  q <- stats::qnorm(1 - (1 - conf.level) / 2)
  out <- data.frame(term = names(est), estimate = unname(est), std.error = unname(robust),
                    naive.std.error = unname(naive), statistic = unname(z),
                    p.value = unname(2 * stats::pnorm(-abs(z))), stringsAsFactors = FALSE)
  if (conf.int) {
    out$conf.low <- out$estimate - q * out$std.error
    out$conf.high <- out$estimate + q * out$std.error
  }
  if (exponentiate) {
    out$estimate <- exp(out$estimate)
    if (conf.int) { out$conf.low <- exp(out$conf.low); out$conf.high <- exp(out$conf.high) }
  }
  out$model <- x$survbridge$model
  out
}

#' Glance at a classical survbridge fit: one row of fit statistics
#' @param x an `sb_classical` fit.
#' @param ... unused.
#' @method glance sb_classical
#' @examples
#' b1 <- survival::bladder1
#' b1 <- b1[b1$stop > b1$start, ]
#' b1$event <- as.integer(b1$status == 1)
#' fit <- sb_fit_classical(Surv(start, stop, event) ~ treatment + number + cluster(id), b1,
#'                         model = "wlw")
#' glance(fit)
#' @export
glance.sb_classical <- function(x, ...) {
  data.frame(model = x$survbridge$model, n.subjects = x$survbridge$subjects, n.rows = x$n, nevent = x$nevent,
             logLik = x$loglik[2], AIC = stats::AIC(x), concordance = unname(x$concordance["concordance"]),
             robust.score = unname(x$rscore), iterations = x$iter, stringsAsFactors = FALSE)
}

#' Tidy a comparison: one row per model and metric
#' @param x an `sb_comparison`.
#' @param type "metrics" (mean and SD over seeds of each model's scores) or "differences" (each
#'   model minus the reference, per metric: estimate, conf.low, conf.high, p.value, p.adjusted,
#'   n.splits, method, better).
#' @param ... unused.
#' @method tidy sb_comparison
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   x <- sb_compare("bladder1", models = c("cox", "ag", "deepsurv"), seeds = 1, epochs = 5)
#'   tidy(x)
#'   tidy(x, type = "differences")
#' }
#' }
#' @export
tidy.sb_comparison <- function(x, type = c("metrics", "differences"), ...) {
  type <- match.arg(type)
  if (type == "differences") {
    d <- x$differences
    if (is.null(d)) {
      return(data.frame(model = character(), reference = character(), metric = character(), estimate = numeric(),
                        conf.low = numeric(), conf.high = numeric(), p.value = numeric(), p.adjusted = numeric(),
                        n.splits = integer(), method = character(), better = character(), stringsAsFactors = FALSE))
    }
    return(data.frame(model = d$model, reference = d$reference, metric = d$metric, estimate = d$estimate,
                      conf.low = d$ci_low, conf.high = d$ci_high, p.value = d$p_value, p.adjusted = d$p_adjusted,
                      n.splits = as.integer(d$n_splits), method = d$method, better = d$better,
                      stringsAsFactors = FALSE))
  }
  t <- x$table
  metrics <- grep("^(c_|brier_|ibs$|aic$)", names(t), value = TRUE)
  metrics <- metrics[!grepl("_sd$", metrics)]
  rows <- lapply(metrics, function(m) data.frame(
    model = t$model, family = t$family, metric = m, estimate = t[[m]],
    std.error = if (paste0(m, "_sd") %in% names(t)) t[[paste0(m, "_sd")]] else NA_real_,
    n_seeds = t$n_seeds, stringsAsFactors = FALSE))
  out <- do.call(rbind, rows)
  out[order(match(out$model, t$model)), , drop = FALSE]
}

#' Glance at a comparison: models, seeds and the largest engine disagreement
#' @param x an `sb_comparison`.
#' @param ... unused.
#' @method glance sb_comparison
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   x <- sb_compare("bladder1", models = c("cox", "ag", "deepsurv"), seeds = 1, epochs = 5)
#'   glance(x)
#' }
#' }
#' @export
glance.sb_comparison <- function(x, ...) {
  a <- x$agreement
  data.frame(n.models = nrow(x$table), n.seeds = length(unique(x$results$seed)),
             failures = if ("error" %in% names(x$results)) sum(!is.na(x$results$error)) else 0L,
             max.engine.difference = if (is.null(a) || all(is.na(a$max_abs_diff))) NA_real_
                                     else max(a$max_abs_diff, na.rm = TRUE),
             best.c_harrell = if (is.null(x$table$c_harrell)) NA_character_  # multi-event: c_global, c_local
                              else x$table$model[which.max(x$table$c_harrell)], stringsAsFactors = FALSE)
}

#' Glance at a neural survbridge fit
#' @param x an `sb_fit`.
#' @param ... unused.
#' @method glance sb_fit
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]
#'   lung <- lung[stats::complete.cases(lung), ]
#'   fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 5, seed = 1)
#'   glance(fit)
#' }
#' }
#' @export
glance.sb_fit <- function(x, ...) {
  h <- x$history
  data.frame(model = x$model, n = x$n, nevent = sum(x$n_events), n.params = x$n_params, epochs = nrow(h),
             final.train.loss = if (nrow(h)) h$train_loss[nrow(h)] else NA_real_, seed = x$seed,
             stringsAsFactors = FALSE)
}

#' P(no event by t) of a neural fit, for pec
#'
#' The method `pec::pec()` and `pec::predictSurvProb()` call: a matrix, rows newdata, columns times.
#' @param object an `sb_fit`.
#' @param newdata a data.frame.
#' @param times times.
#' @param ... unused.
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]
#'   lung <- lung[stats::complete.cases(lung), ]
#'   fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 5, seed = 1)
#'   if (requireNamespace("pec", quietly = TRUE))
#'     pec::predictSurvProb(fit, lung[1:3, ], times = c(100, 300))
#' }
#' }
#' @rawNamespace S3method(pec::predictSurvProb, sb_fit)
predictSurvProb.sb_fit <- function(object, newdata, times, ...) {
  .sb_one_event(object)
  s <- predict.sb_fit(object, newdata, type = "survival", times = times)
  unname(s)
}

#' P(event by t) of a neural fit, for riskRegression::Score
#' @param object an `sb_fit`.
#' @param newdata a data.frame.
#' @param times times.
#' @param cause unused (single-event models).
#' @param ... unused.
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]
#'   lung <- lung[stats::complete.cases(lung), ]
#'   fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 5, seed = 1)
#'   if (requireNamespace("riskRegression", quietly = TRUE))
#'     riskRegression::predictRisk(fit, lung[1:3, ], times = c(100, 300))
#' }
#' }
#' @rawNamespace S3method(riskRegression::predictRisk, sb_fit)
predictRisk.sb_fit <- function(object, newdata, times, cause, ...) {
  .sb_one_event(object)
  1 - unname(predict.sb_fit(object, newdata, type = "survival", times = times))
}

.sb_one_event <- function(object) {
  if (!is.null(object$events)) {
    stop("this fit has several events (", paste(object$events, collapse = ", "), "); pec and riskRegression score ",
         "one event: use predict(fit, newdata, type = \"survival\", times = )[[event]]", call. = FALSE)
  }
}
