# Classical models in this R session's own survival: the layouts of pysurvbridge's
# classical/design.py, built here in R, and coxph on them. No Python is needed.

.sb_models <- c("cox", "ag", "wlw", "pwp-total", "pwp-gap")

.sb_check_na <- function(data, vars) {
  for (v in vars) {
    if (!v %in% names(data)) stop("column '", v, "' is not in the data", call. = FALSE)
    bad <- which(is.na(data[[v]]))
    if (length(bad)) {
      stop("column '", v, "' has NA in ", length(bad), " row(s) (rows ", paste(utils::head(bad, 5), collapse = ", "),
           if (length(bad) > 5) ", ..." else "", "); survbridge does not drop rows silently: remove or impute them",
           call. = FALSE)
    }
  }
}

#' The data layout of a classical recurrent-event model
#'
#' The same layouts as pysurvbridge (classical/design.py): `ag` the (start, stop] rows (up to
#' `max_events`); `pwp-total` the same rows, stratified by `enum` (1 + events before the row);
#' `pwp-gap` the clock reset after each event, (0, stop - start]; `wlw` `max_events` rows per
#' subject from time 0 (stop = time of the k-th event, or the end of follow-up, censored); `cox`
#' time to first event with the covariates of the first row. `enum` is added to every layout.
#' @param data counting-process rows: one row per at-risk interval (start, stop], event = 1 at stop.
#' @param model one of "ag", "wlw", "pwp-total", "pwp-gap", "cox".
#' @param id,start,stop,event column names.
#' @param max_events keep rows up to this event number (WLW: rows per subject, default 4).
#' @return a data.frame with the layout's rows.
#' @examples
#' b1 <- survival::bladder1
#' b1 <- b1[b1$stop > b1$start, ]
#' b1$event <- as.integer(b1$status == 1)
#' pwp <- sb_layout(b1, "pwp-gap", id = "id", start = "start", stop = "stop", event = "event")
#' head(pwp[, c("id", "start", "stop", "event", "enum")])
#' @export
sb_layout <- function(data, model, id, start, stop, event, max_events = NULL) {
  model <- match.arg(model, .sb_models)
  .sb_check_na(data, c(id, start, stop, event))
  ev <- data[[event]]
  if (!all(ev %in% c(0, 1))) stop("column '", event, "' must be 0/1 (event at stop)", call. = FALSE)
  ord <- order(match(data[[id]], unique(data[[id]])), data[[stop]])
  d <- data[ord, , drop = FALSE]
  rownames(d) <- NULL
  idv <- d[[id]]
  prior <- stats::ave(d[[event]], idv, FUN = cumsum) - d[[event]]
  d$enum <- as.integer(prior + 1)
  if (model == "wlw") {
    K <- if (is.null(max_events)) 4L else as.integer(max_events)
    ids <- unique(idv)
    first <- d[!duplicated(idv), , drop = FALSE]
    end <- tapply(d[[stop]], factor(idv, levels = ids), max)
    ev_rows <- d[d[[event]] == 1, , drop = FALSE]
    key <- paste(ev_rows[[id]], ev_rows$enum, sep = "\r")
    grid <- first[rep(seq_len(nrow(first)), each = K), , drop = FALSE]
    grid$enum <- rep(seq_len(K), times = length(ids))
    hit <- match(paste(grid[[id]], grid$enum, sep = "\r"), key)
    grid[[event]] <- as.integer(!is.na(hit))
    grid[[stop]] <- ifelse(is.na(hit), as.vector(end[as.character(grid[[id]])]), ev_rows[[stop]][hit])
    grid[[start]] <- 0
    rownames(grid) <- NULL
    return(grid)
  }
  if (model == "cox") {
    if (any(tapply(d[[start]], idv, min) > 0)) {
      stop("time to first event needs follow-up from time 0; some subjects enter late", call. = FALSE)
    }
    rows <- d[d$enum == 1, , drop = FALSE]
    out <- rows[!duplicated(rows[[id]]), , drop = FALSE]
    out[[stop]] <- as.vector(tapply(rows[[stop]], factor(rows[[id]], levels = unique(rows[[id]])), max))
    out[[event]] <- as.vector(tapply(rows[[event]], factor(rows[[id]], levels = unique(rows[[id]])), max))
    out[[start]] <- 0
    rownames(out) <- NULL
    return(out)
  }
  if (!is.null(max_events)) d <- d[d$enum <= max_events, , drop = FALSE]
  if (model == "pwp-gap") {
    d[[stop]] <- d[[stop]] - d[[start]]
    d[[start]] <- 0
  }
  rownames(d) <- NULL
  d
}

#' Fit a classical recurrent-event (or Cox) model with this R session's survival
#'
#' Builds the layout of `model` ([sb_layout()]) and calls `coxph` on it with a cluster term on
#' the subject, so `vcov()` is the robust (sandwich) variance, as in pysurvbridge:
#' \describe{
#'   \item{ag}{`Surv(start, stop, event) ~ x + cluster(id)`}
#'   \item{pwp-total}{`Surv(start, stop, event) ~ x + strata(enum) + cluster(id)`}
#'   \item{pwp-gap}{`Surv(stop, event) ~ x + strata(enum) + cluster(id)` on gap times}
#'   \item{wlw}{`Surv(stop, event) ~ x + strata(enum) + cluster(id)` on the marginal layout}
#'   \item{cox}{`Surv(stop, event) ~ x + cluster(id)` on time to first event, or the given
#'     `Surv(time, status)` on single-event data}
#' }
#' The response is read as coxph reads it (`model.frame()`, a `Surv` object): status 0/1, 1/2
#' (2 = event), TRUE/FALSE or an expression such as `status == 2`. `strata()` terms of the
#' formula are kept (beside the layout's own `strata(enum)`). Rows with NA in a formula variable
#' follow `na.action` (default `getOption("na.action")`, i.e. `na.omit`); the fit's
#' `$na.action` holds them, and `print()` says "(n observations deleted due to missingness)"
#' as for any coxph fit.
#' @param formula `Surv(start, stop, event) ~ covariates` (counting-process rows; a
#'   `cluster(id)` term may name the subject), or `Surv(time, status) ~ covariates` with
#'   `model = "cox"`.
#' @param data a data.frame.
#' @param model "ag", "wlw", "pwp-total", "pwp-gap" or "cox".
#' @param id the subject column (a name, quoted or not); or `cluster(id)` in the formula.
#' @param ties "efron" (default) or "breslow".
#' @param max_events see [sb_layout()].
#' @param na.action `na.omit` (the default, through `getOption("na.action")`), `na.exclude`
#'   (for single-event Cox, `predict()` and `residuals()` are then padded to the data's rows) or
#'   `na.fail` (an error naming the columns and rows with NA).
#' @param ... passed to `coxph` (e.g. `control`).
#' @return the `coxph` fit (class `c("sb_classical", "coxph")`): `coef`, `vcov` (robust),
#'   `summary`, `predict`, `survfit`, `tidy`, `glance` work on it; `sb_layout(fit)`-style
#'   details are in `fit$survbridge`.
#' @examples
#' # lung as survival ships it: status 1/2 (2 = death), NA in ph.ecog
#' fit <- sb_fit_classical(Surv(time, status) ~ age + sex + ph.ecog, survival::lung, model = "cox")
#' fit   # "(1 observation deleted due to missingness)"
#' b1 <- survival::bladder1[survival::bladder1$stop > survival::bladder1$start, ]
#' sb_fit_classical(Surv(start, stop, status == 1) ~ treatment + number + size + cluster(id), b1,
#'                  model = "pwp-total")
#' @export
sb_fit_classical <- function(formula, data, model = c("ag", "wlw", "pwp-total", "pwp-gap", "cox"),
                             id = NULL, ties = c("efron", "breslow"), max_events = NULL,
                             na.action = getOption("na.action"), ...) {
  model <- match.arg(model)
  ties <- match.arg(ties)
  if (!inherits(formula, "formula")) stop("formula must be a formula such as Surv(start, stop, event) ~ x", call. = FALSE)
  if (!is.data.frame(data)) stop("data must be a data.frame", call. = FALSE)
  id <- .sb_id_arg(substitute(id), id, data)
  fr <- .sb_frame(formula, data, na.action, id)
  if (!fr$type %in% c("right", "counting")) {
    stop("sb_fit_classical: ", if (fr$type == "multi") "several events" else "a factor status (competing risks)",
         " in the formula; the classical models take Surv(time, status) or Surv(start, stop, event) ",
         "(several events: sb_fit(\"mensa\", ...) or sb_compare())", call. = FALSE)
  }
  labels <- attr(fr$x_terms, "term.labels")  # without cluster(), strata() and the subject
  if (!length(labels)) stop("the formula has no covariates", call. = FALSE)
  rows <- data[fr$keep, , drop = FALSE]
  idn <- if (!is.null(fr$id) && fr$id %in% names(data)) fr$id else ".id"
  omit <- fr$omit
  if (fr$type == "right") {  # single-event data: Cox only
    if (model != "cox") {
      stop("model '", model, "' needs counting-process rows: Surv(start, stop, event) ~ ... with the subject id",
           call. = FALSE)
    }
    layout <- rows
    layout[[idn]] <- if (is.null(fr$ids)) seq_len(nrow(layout)) else fr$ids
    lhs <- formula[[2]]  # coxph reads the user's own Surv() on the same rows, as .sb_frame() did
    resp <- .sb_deparse(lhs)
    strata <- FALSE
  } else {
    if (is.null(fr$ids)) stop("recurrent-event models need the subject: id = \"id\" or + cluster(id) in the formula",
                              call. = FALSE)
    if ("enum" %in% all.vars(fr$x_terms)) stop("'enum' is the layout's event-number column; rename that covariate", call. = FALSE)
    roles <- if (.sb_is_surv_call(formula[[2]])) .sb_surv_roles(formula[[2]])
    resp <- c(start = ".start", stop = ".stop", event = ".event")
    for (k in seq_along(resp)) {  # the user's column names where Surv() names columns
      r <- roles[[c("start", "stop", "status")[k]]]
      if (is.name(r)) resp[k] <- as.character(r)
    }
    m <- unclass(fr$y)
    rows[[resp[["start"]]]] <- m[, "start"]
    rows[[resp[["stop"]]]] <- m[, "stop"]
    rows[[resp[["event"]]]] <- m[, "status"]  # 0/1, as Surv() coded it (1/2 or TRUE/FALSE in the data)
    rows[[idn]] <- fr$ids
    layout <- sb_layout(rows, model, id = idn, start = resp[["start"]], stop = resp[["stop"]], event = resp[["event"]],
                        max_events = max_events)
    counting <- model %in% c("ag", "pwp-total")
    lhs <- if (counting) call("Surv", as.name(resp[["start"]]), as.name(resp[["stop"]]), as.name(resp[["event"]]))
           else call("Surv", as.name(resp[["stop"]]), as.name(resp[["event"]]))
    strata <- model %in% c("pwp-total", "pwp-gap", "wlw")
    if (length(omit)) omit <- structure(omit, class = "omit")  # layout rows are not the data's rows: nothing to pad
  }
  rhs <- paste(c(labels, fr$strata, if (strata) "strata(enum)", paste0("cluster(", .sb_backtick(idn), ")")),
               collapse = " + ")
  f <- stats::as.formula(paste(paste(deparse(lhs), collapse = ""), "~", rhs), env = asNamespace("survival"))
  environment(f) <- list2env(list(), parent = environment(formula))
  fit <- survival::coxph(f, data = layout, ties = ties, model = TRUE, ...)
  fit$call <- call("coxph", formula = f, data = as.name(paste0(gsub("-", "_", model), "_layout")), ties = ties)
  if (length(omit)) fit$na.action <- omit
  fit$survbridge <- list(model = model, id = idn, response = resp, layout_rows = nrow(layout),
                         subjects = length(unique(layout[[idn]])), max_events = max_events)
  class(fit) <- c("sb_classical", class(fit))
  fit
}

.sb_backtick <- function(x) if (make.names(x) == x) x else paste0("`", x, "`")

#' @rdname sb_fit_classical
#' @param x a fit from `sb_fit_classical()`.
#' @export
print.sb_classical <- function(x, ...) {
  info <- x$survbridge
  cat(sprintf("survbridge classical fit: %s (%d subjects, %d rows of the layout; robust SE by %s)\n",
              info$model, info$subjects, info$layout_rows, info$id))
  NextMethod()
}

# The estimates one classical fit gives pysurvbridge's compare() (called from Python).
.sb_host_estimates <- function(kind, payload, ties) {
  kind <- as.character(.sb_vec(kind))
  ties <- as.character(.sb_vec(ties))
  train <- .sb_decode_frame(payload)
  fixed <- c("id", "start", "stop", "event", "enum", "time")
  covs <- setdiff(names(train), fixed)
  terms <- vapply(covs, .sb_backtick, character(1))
  if ("time" %in% names(train)) {
    f <- stats::as.formula(paste("Surv(time, event) ~", paste(terms, collapse = " + ")))
  } else {
    train$enum <- NULL  # rebuilt by the layout, from the events
    f <- stats::as.formula(paste("Surv(start, stop, event) ~", paste(terms, collapse = " + ")))
  }
  environment(f) <- asNamespace("survival")
  warns <- character(0)
  fit <- withCallingHandlers(sb_fit_classical(f, train, model = kind, id = "id", ties = ties),
                             warning = function(w) {
                               warns <<- c(warns, conditionMessage(w))
                               invokeRestart("muffleWarning")
                             })
  list(warnings = warns, coef = unname(as.double(stats::coef(fit))), names = gsub("^`|`$", "", names(stats::coef(fit))),
       var = as.double(fit$naive.var), robust_var = as.double(fit$var),
       loglik = fit$loglik[2], loglik_null = fit$loglik[1], iterations = as.integer(fit$iter),
       concordance = unname(fit$concordance["concordance"]),
       call = paste(deparse(fit$call, width.cutoff = 500L), collapse = " "))
}
