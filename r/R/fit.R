# Neural models from R: the formula and design are R's (model.frame / model.matrix), the
# training is pysurvbridge's. The fitted Python model travels with the R object as the bytes of
# its save(), so saveRDS()/readRDS() keep it; the live Python object is rebuilt on first use.

.sb_deep_models <- c("lstm-cox", "deepsurv", "nnet-survival", "coxvae", "mensa")
.sb_fit_args <- c("epochs", "batch_size", "lr", "weight_decay", "validation", "patience", "optimizer", "device")

# The fit's design: the model frame (R's response, na.action, subjects; formula.R), the
# model.matrix columns without the intercept, and the response as it crosses to Python
.sb_design <- function(formula, data, na.action = getOption("na.action"), id = NULL,
                       frame = .sb_frame(formula, data, na.action, id)) {
  fr <- frame
  X <- .sb_model_matrix(fr$x_terms, fr$mf)
  list(X = X, response = .sb_response_frame(fr), frame = fr, xlevels = stats::.getXlevels(fr$x_terms, fr$mf),
       contrasts = attr(X, "contrasts"))
}

# newdata's design with the fit's terms, factor levels and contrasts; rows with NA are left out
# (attr(mf, "na.action") says which) and never cross to Python
.sb_newdata_design <- function(object, newdata, na.action = stats::na.pass) {
  if (!is.data.frame(newdata)) stop("newdata must be a data.frame", call. = FALSE)
  recurrent <- object$model == "lstm-cox"
  terms <- if (recurrent) object$terms else stats::delete.response(object$x_terms)
  needed <- intersect(object$data_vars, c(all.vars(terms), if (recurrent) object$id))
  if (!recurrent) needed <- intersect(needed, all.vars(stats::delete.response(object$x_terms)))
  lacking <- setdiff(needed, names(newdata))
  if (length(lacking)) {
    stop("newdata lacks column(s) ", paste0("'", lacking, "'", collapse = ", "), " used by the fit's formula",
         call. = FALSE)
  }
  na_fun <- .sb_na_function(na.action)
  if (identical(na_fun, stats::na.pass)) na_fun <- stats::na.exclude  # NA rows: NA predictions, as predict.coxph
  ids <- if (recurrent && !is.null(object$id_arg)) newdata[[object$id_arg]] else NULL
  mf <- .sb_model_frame(terms, newdata, na_fun, id_values = ids, xlev = object$xlevels, what = "newdata")
  X <- stats::model.matrix(stats::delete.response(object$x_terms), mf, contrasts.arg = object$contrasts)
  X <- X[, colnames(X) != "(Intercept)", drop = FALSE]
  rownames(X) <- NULL
  if (!identical(colnames(X), object$covariates)) {
    stop("newdata give design columns ", paste(colnames(X), collapse = ", "), "; the fit has ",
         paste(object$covariates, collapse = ", "), call. = FALSE)
  }
  response <- NULL
  if (recurrent) {
    cl <- survival::untangle.specials(attr(mf, "terms"), "cluster")
    ids <- if (!is.null(object$id_arg)) mf[["(id)"]] else mf[[cl$vars[1]]]
    response <- .sb_response_frame(list(y = stats::model.response(mf), type = "counting", ids = ids))
  }
  list(X = X, response = response, mf = mf, omit = attr(mf, "na.action"))
}

# the design (model.matrix columns: numeric, no NA) as one float64 matrix and its column names:
# one conversion instead of one per column (the fixed cost that dominates small fits)
.sb_encode_design <- function(X) {
  .sb_rhost()
  storage.mode(X) <- "double"
  reticulate::r_to_py(list(matrix = .np(unname(X), "float64"), names = .np(colnames(X), "str")))
}

.sb_payload_response <- function(response) {
  p <- .sb_encode_frame(response)
  causes <- attr(response, "causes")
  if (!is.null(causes)) reticulate::py_set_item(p, "causes", reticulate::np_array(causes, dtype = "str"))
  p
}

.sb_seed <- function(seed) {
  if (is.null(seed)) return(sample.int(.Machine$integer.max, 1L))  # R's RNG: set.seed() reproduces fits
  if (!is.numeric(seed) || length(seed) != 1 || is.na(seed) || seed < 0) {
    stop("seed must be NULL or one non-negative number", call. = FALSE)
  }
  as.integer(seed)
}

#' Fit a neural survival model from R
#'
#' The formula is read as `survival::coxph` reads it: `model.frame()` evaluates the left side
#' into a `Surv` object, so status may be 0/1, 1/2 (2 = event, as in `survival::lung`),
#' TRUE/FALSE or an expression (`Surv(time, status == 2)`, `Surv(time / 365.25, status)`).
#' Missing values follow `na.action` (by default `getOption("na.action")`, i.e. `na.omit`): the
#' rows are dropped here in R, counted by `print()` and `summary()` as coxph counts them, and kept
#' in `$na.action`; Python only ever sees complete data.
#'
#' Several events are one `Surv()` per event on the left side, joined by `+`, for MENSA's
#' multi-event mode: `Surv(rtime, recur) + Surv(dtime, death) ~ x`. Each event is named after its
#' status argument (here "recur" and "death"): those names are the ones `trajectories =` uses and
#' `predict()` returns.
#'
#' @param model "lstm-cox" (recurrent events: `Surv(start, stop, event) ~ x + cluster(id)`, or
#'   `id =`), "deepsurv", "nnet-survival", "coxvae" (`Surv(time, status) ~ x`), or "mensa"
#'   (`Surv(time, status)`; competing risks `Surv(time, cause)` with `cause` a factor whose first
#'   level is censoring; several events `Surv(t1, e1) + Surv(t2, e2) ~ x`, with e.g.
#'   `trajectories = list(c("e1", "e2"))` when e1 precedes e2 whenever both occur).
#' @param formula a `Surv()` formula; factors are one-hot coded as `model.matrix` does. `strata()`
#'   is refused (the neural models have no strata; the classical ones in [sb_fit_classical()] use
#'   it); `cluster(id)` names the subject.
#' @param data a data.frame.
#' @param ... hyper-parameters of the Python model (e.g. `hidden = c(32, 32)`, `dropout = 0.1`,
#'   `trajectories = list(c("recur", "death"))`) and training options (`epochs`, `batch_size`,
#'   `lr`, `weight_decay`, `validation`, `patience`, `optimizer`, `device`).
#' @param id the subject column for LSTM-Cox (a name, quoted or not), as `coxph(id = )`; or
#'   `cluster(id)` in the formula.
#' @param na.action what to do with rows that have NA in a formula variable: `na.omit` (the
#'   default, through `getOption("na.action")`) and `na.exclude` drop them, `na.fail` stops with
#'   an error naming the columns and rows.
#' @param seed the training seed; NULL draws one from R's RNG, so `set.seed()` makes the fit
#'   reproducible.
#' @return an object of class `sb_fit` with `print`, `summary`, `predict`, `plot` methods; `$y`
#'   is the response (the `Surv` object coxph would use; for several events a matrix with one
#'   time and one status column per event), `$na.action` the dropped rows.
#' @examples
#' \donttest{
#' if (isTRUE(sb_python_available())) {
#'   # lung codes status 1/2 (2 = death) and has NA in ph.ecog: one row is dropped, as by coxph
#'   fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, data = survival::lung,
#'                 epochs = 5, seed = 1)
#'   fit
#'   predict(fit, survival::lung[1:3, ], type = "survival", times = c(100, 300))
#'   # two events, recurrence before death
#'   me <- sb_fit("mensa", Surv(rtime, recur) + Surv(dtime, death) ~ age + nodes + pgr + er,
#'                data = survival::rotterdam, trajectories = list(c("recur", "death")), epochs = 2,
#'                seed = 1)
#'   predict(me, survival::rotterdam[1:3, ], type = "survival", times = c(1000, 3000))
#' }
#' }
#' @export
sb_fit <- function(model = c("lstm-cox", "deepsurv", "nnet-survival", "coxvae", "mensa"), formula, data, ...,
                   id = NULL, na.action = getOption("na.action"), seed = NULL) {
  model <- match.arg(model)
  seed <- .sb_seed(seed)
  if (!is.data.frame(data)) stop("data must be a data.frame", call. = FALSE)
  id <- .sb_id_arg(substitute(id), id, data)
  fr <- .sb_frame(formula, data, na.action, id)
  if (length(fr$strata)) {
    stop("sb_fit(\"", model, "\"): ", paste(fr$strata, collapse = ", "), " in the formula: the neural models have ",
         "no strata; drop the term, or enter the variable as a covariate (strata() is for sb_fit_classical() ",
         "and coxph)", call. = FALSE)
  }
  if (model == "lstm-cox" && fr$type != "counting") {
    stop("lstm-cox models recurrent events: use Surv(start, stop, event) ~ ... + cluster(id)", call. = FALSE)
  }
  if (fr$type == "counting" && model != "lstm-cox") {
    stop(model, " models time to one event: give Surv(time, status), not Surv(start, stop, event)", call. = FALSE)
  }
  if (fr$type %in% c("multi", "mright") && model != "mensa") {
    stop(model, " is a single-event model; ", if (fr$type == "multi") "several events (Surv(t1, e1) + Surv(t2, e2))"
         else "competing risks (a factor status)", " need model = \"mensa\"", call. = FALSE)
  }
  design <- .sb_design(frame = fr)
  dots <- list(...)
  if (length(dots) && (is.null(names(dots)) || any(!nzchar(names(dots))))) {
    stop("options in ... must be named (e.g. epochs = 50, hidden = c(32, 32))", call. = FALSE)
  }
  fit_args <- dots[names(dots) %in% .sb_fit_args]
  params <- dots[!names(dots) %in% .sb_fit_args]
  if (is.atomic(params$trajectories) && length(params$trajectories) == 2) {
    params$trajectories <- list(params$trajectories)  # one pair given as a vector
  }
  params <- lapply(params, function(v) if (is.atomic(v) && length(v) > 1) as.list(v) else v)
  rhost <- .sb_rhost()
  py_model <- reticulate::py_call(rhost$fit_model, model, .sb_encode_design(design$X),
                                  .sb_payload_response(design$response), reticulate::r_to_py(params),
                                  reticulate::r_to_py(fit_args), as.integer(seed))
  history <- .sb_decode_frame(rhost$encode_frame(py_model$history_))
  state <- .sb_keep(py_model)
  events <- if (fr$type %in% c("multi", "mright")) {
    as.character(reticulate::py_to_r(reticulate::py_get_attr(py_model, "event_names_")))
  }
  structure(list(
    model = model, formula = formula, call = match.call(), seed = seed,
    terms = fr$terms, x_terms = fr$x_terms, xlevels = design$xlevels, contrasts = design$contrasts, id = fr$id,
    id_arg = id, data_vars = fr$data_vars, response_type = fr$type, events = events,
    covariates = colnames(design$X), y = fr$y, na.action = fr$omit,
    n = nrow(design$X), n_events = .sb_count_events(fr),
    params = params, fit_args = fit_args, history = history,
    n_params = as.integer(reticulate::py_to_r(reticulate::py_eval("lambda m: sum(p.numel() for p in m.network_.parameters())",
                                                                  convert = FALSE)(py_model))),
    python_class = reticulate::py_to_r(reticulate::py_get_attr(reticulate::py_get_attr(py_model, "__class__"), "__name__")),
    bytes = as.raw(reticulate::py_to_r(reticulate::py_call(.sb_bytes_to_array(), rhost$model_to_bytes(py_model)))),
    state = state), class = c(paste0("sb_", gsub("-", "_", model)), "sb_fit"))
}

.sb_bytes_to_array <- function() {
  reticulate::py_eval("lambda b: __import__('numpy').frombuffer(b, dtype='uint8').copy()", convert = FALSE)
}

# events in the response: one count, or one per event (named) for several events
.sb_count_events <- function(fr) {
  m <- unclass(fr$y)
  if (fr$type == "multi") {
    status <- m[, grepl(":status$", colnames(m)), drop = FALSE]
    return(stats::setNames(as.integer(colSums(status)), fr$events))
  }
  as.integer(sum(m[, "status"] > 0))
}

# "(n observations deleted due to missingness)", as coxph prints it
.sb_print_na <- function(omit) {
  if (length(omit)) cat("  (", stats::naprint(omit), ")\n", sep = "")
}

.sb_events_text <- function(n_events) {
  if (length(n_events) > 1) paste0("events: ", paste(names(n_events), n_events, collapse = ", "))
  else paste(n_events, "events")
}

# the live Python model: rebuilt from the saved bytes after readRDS() (its pointer is then null)
.sb_py_model <- function(object) {
  py <- .sb_live(object$state)
  if (is.null(py)) {  # after readRDS(), or in another session: rebuild from the saved bytes
    rhost <- .sb_rhost()  # first: reticulate must not start a Python of its own choosing
    py <- reticulate::py_call(rhost$model_from_bytes, reticulate::r_to_py(object$bytes))
    key <- paste0(.sb$session, "#", sprintf("%.0f", stats::runif(1, 0, 2^52)))
    assign(key, py, envir = .sb$live)
    object$state$key <- key  # the handle is an environment: every copy of the object sees it
  }
  py
}

#' Print a survbridge neural fit
#'
#' One line of facts (model, subjects, events, covariates, network size), the formula, the
#' training, and, as `print.coxph` does, the rows that `na.action` dropped.
#' @param x an `sb_fit`.
#' @param ... unused.
#' @return `x`, invisibly.
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]
#'   lung <- lung[stats::complete.cases(lung), ]
#'   fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 5, seed = 1)
#'   print(fit)
#' }
#' }
#' @export
print.sb_fit <- function(x, ...) {
  cat(sprintf("survbridge %s fit (%s in Python): %d %s, %s, %d covariates, %s network parameters\n",
              x$model, x$python_class, x$n, if (x$model == "lstm-cox") "rows" else "subjects",
              .sb_events_text(x$n_events), length(x$covariates), format(x$n_params, big.mark = ",")))
  cat("formula: ", .sb_deparse(x$formula), "\n", sep = "")
  h <- x$history
  if (nrow(h)) cat(sprintf("trained %d epochs (seed %d); final training loss %.4f\n", nrow(h), x$seed,
                           h$train_loss[nrow(h)]))
  .sb_print_na(x$na.action)
  invisible(x)
}

#' Summary of a survbridge neural fit
#'
#' @param object an `sb_fit`.
#' @param ... unused.
#' @return an object of class `summary.sb_fit` (data, hyper-parameters, training, the rows
#'   dropped by `na.action` in `$na.action`), printed by its `print` method.
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]
#'   lung <- lung[stats::complete.cases(lung), ]
#'   fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 5, seed = 1)
#'   s <- summary(fit)
#'   s
#' }
#' }
#' @export
summary.sb_fit <- function(object, ...) {
  h <- object$history
  best <- if (nrow(h) && any(!is.na(h$val_loss))) which.min(h$val_loss) else NA
  structure(list(model = object$model, python_class = object$python_class, n = object$n,
                 n_events = object$n_events, covariates = object$covariates, n_params = object$n_params,
                 params = object$params, fit_args = object$fit_args, seed = object$seed,
                 epochs = nrow(h), final_train_loss = if (nrow(h)) h$train_loss[nrow(h)] else NA,
                 best_val_epoch = best, saved_bytes = length(object$bytes), na.action = object$na.action),
            class = "summary.sb_fit")
}

#' @rdname summary.sb_fit
#' @param x a `summary.sb_fit`.
#' @export
print.summary.sb_fit <- function(x, ...) {
  cat(sprintf("survbridge %s (%s)\n", x$model, x$python_class))
  cat(sprintf("  data: %d %s, %s; covariates: %s\n", x$n, if (x$model == "lstm-cox") "rows" else "subjects",
              .sb_events_text(x$n_events), paste(x$covariates, collapse = ", ")))
  .sb_print_na(x$na.action)
  hp <- if (length(x$params)) paste(names(x$params), vapply(x$params, function(v) paste(unlist(v), collapse = ","),
                                                           character(1)), sep = " = ", collapse = "; ") else "defaults"
  cat("  hyper-parameters:", hp, "\n")
  tr <- if (length(x$fit_args)) paste(names(x$fit_args), unlist(x$fit_args), sep = " = ", collapse = "; ") else "defaults"
  cat("  training:", tr, sprintf("(seed %d)\n", x$seed))
  cat(sprintf("  %d epochs, final training loss %.4f%s; %s network parameters; saved model %s bytes\n", x$epochs,
              x$final_train_loss, if (is.na(x$best_val_epoch)) "" else sprintf(", best validation epoch %d", x$best_val_epoch),
              format(x$n_params, big.mark = ","), format(x$saved_bytes, big.mark = ",")))
  invisible(x)
}

#' Predictions of a survbridge neural fit
#'
#' @param object an `sb_fit`.
#' @param newdata a data.frame with the formula's covariates (for LSTM-Cox also its start, stop,
#'   event and subject columns: the history enters the prediction). A factor level the fit did
#'   not see in training, or a missing column, is an error naming it.
#' @param type "lp" (log-risk), "risk" (exp(lp)), or "survival" (P(no event by t)).
#' @param times the times for type = "survival".
#' @param na.action rows of newdata with NA in a covariate never reach Python. `na.pass` (the
#'   default, as `predict.coxph`) and `na.exclude` give them NA predictions in their place
#'   (`napredict()`), `na.omit` leaves them out, `na.fail` stops with an error naming the columns
#'   and rows. For LSTM-Cox the rows with NA simply leave the subject's history (there is no
#'   row to pad: predictions are per remaining row, or per subject).
#' @param ... unused.
#' @return "lp"/"risk": a numeric vector, one value per row of newdata (LSTM-Cox: per
#'   counting-process row, named by subject id); for MENSA with several events or competing causes a matrix, one
#'   column per event. "survival": a matrix, rows subjects (LSTM-Cox: one per id, named by id),
#'   columns times; for MENSA with several events or causes a named list of such matrices, one
#'   per event.
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]
#'   lung <- lung[stats::complete.cases(lung), ]
#'   fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 5, seed = 1)
#'   predict(fit, lung[1:3, ], type = "lp")
#'   predict(fit, lung[1:3, ], type = "survival", times = c(100, 300))
#' }
#' }
#' @export
predict.sb_fit <- function(object, newdata, type = c("lp", "risk", "survival"), times = NULL,
                           na.action = stats::na.pass, ...) {
  type <- match.arg(type)
  if (missing(newdata)) stop("newdata is required (the training data are not stored in the fit)", call. = FALSE)
  recurrent <- object$model == "lstm-cox"
  if (type == "survival") {
    if (is.null(times)) stop("type = \"survival\" needs times =", call. = FALSE)
    times <- as.double(times)
  }
  design <- .sb_newdata_design(object, newdata, na.action)
  rhost <- .sb_rhost()
  out <- reticulate::py_call(rhost$predict, .sb_py_model(object),
                             .sb_encode_design(design$X),
                             if (recurrent) .sb_payload_response(design$response) else NULL, type,
                             if (is.null(times)) NULL else reticulate::np_array(times, dtype = "float64"))
  values <- reticulate::py_to_r(reticulate::py_get_item(out, "values"))
  values <- matrix(as.double(values), nrow = NROW(values))
  columns <- as.character(as.vector(reticulate::py_to_r(reticulate::py_get_item(out, "columns"))))
  # row labels cross only where they carry information (LSTM-Cox: subject ids), not "1".."n"
  if (recurrent) {
    rows <- as.character(as.vector(reticulate::py_to_r(reticulate::py_get_item(out, "rows"))))
    if (type != "survival") return(stats::setNames(values[, 1], rows))  # per row, in the subjects' order
    dimnames(values) <- list(rows, columns)
    return(values)
  }
  rows <- rownames(design$mf)
  events <- object$events
  if (type != "survival") {
    if (is.null(events)) return(stats::napredict(design$omit, stats::setNames(values[, 1], rows)))
    dimnames(values) <- list(rows, events)
    return(stats::napredict(design$omit, values))
  }
  dimnames(values) <- list(rows, columns)
  if (is.null(events)) return(stats::napredict(design$omit, values))
  m <- length(times)
  out <- lapply(seq_along(events), function(k) {
    s <- values[, (k - 1) * m + seq_len(m), drop = FALSE]
    colnames(s) <- sub("^.*:", "", colnames(s))
    stats::napredict(design$omit, s)
  })
  stats::setNames(out, events)
}

#' Plot a survbridge neural fit: training (and validation) loss per epoch, or survival curves
#'
#' @param x an `sb_fit`.
#' @param newdata,times with both: the predicted survival curves of up to 10 rows of newdata
#'   (one panel per event for MENSA with several events).
#' @param ... passed to `matplot`/`plot`.
#' @return the curves drawn (a matrix, or a list per event), or the training history, invisibly.
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   lung <- survival::lung[, c("time", "status", "age", "sex", "ph.ecog")]
#'   lung <- lung[stats::complete.cases(lung), ]
#'   fit <- sb_fit("deepsurv", Surv(time, status) ~ age + sex + ph.ecog, lung, epochs = 5, seed = 1)
#'   plot(fit)
#'   plot(fit, newdata = lung[1:3, ], times = seq(0, 800, by = 20))
#' }
#' }
#' @export
plot.sb_fit <- function(x, newdata = NULL, times = NULL, ...) {
  if (!is.null(newdata)) {
    if (is.null(times)) {
      stop("give times = to plot survival curves", call. = FALSE)
    }
    s <- predict(x, newdata, type = "survival", times = times)
    draw <- function(s, main) {
      s <- s[seq_len(min(10, nrow(s))), , drop = FALSE]
      graphics::matplot(times, t(s), type = "s", lty = 1, ylim = c(0, 1), xlab = "time", ylab = "P(no event by t)",
                        main = main, ...)
      s
    }
    if (!is.list(s)) return(invisible(draw(s, paste(x$model, "predicted survival"))))
    old <- graphics::par(mfrow = c(1, length(s)))
    on.exit(graphics::par(old))
    return(invisible(Map(function(m, e) draw(m, paste(x$model, "predicted survival:", e)), s, names(s))))
  }
  h <- x$history
  yl <- range(c(h$train_loss, h$val_loss), na.rm = TRUE)
  graphics::plot(h$epoch, h$train_loss, type = "l", ylim = yl, xlab = "epoch", ylab = "loss",
                 main = paste(x$model, "training"), ...)
  if (any(!is.na(h$val_loss))) {
    graphics::lines(h$epoch, h$val_loss, lty = 2)
    graphics::legend("topright", c("training", "validation"), lty = 1:2, bty = "n")
  }
  invisible(h)
}
