# Neural models from R: the formula and design are R's (model.frame / model.matrix), the
# training is pysurvbridge's. The fitted Python model travels with the R object as the bytes of
# its save(), so saveRDS()/readRDS() keep it; the live Python object is rebuilt on first use.

.sb_deep_models <- c("lstm-cox", "deepsurv", "nnet-survival", "coxvae", "mensa")
.sb_fit_args <- c("epochs", "batch_size", "lr", "weight_decay", "validation", "patience", "optimizer", "device")

# model.frame pieces of a Surv() formula: response parts, design matrix, subject id
.sb_design <- function(formula, data, terms = NULL, xlevels = NULL, contrasts = NULL, need_response = TRUE) {
  if (!is.data.frame(data)) stop("data must be a data.frame", call. = FALSE)
  id <- .sb_id_name(NULL, formula, data)
  labels <- setdiff(.sb_rhs_without_cluster(formula, data), id)  # "." must not make the id a covariate
  resp <- .sb_response_vars(formula)
  vars <- all.vars(stats::reformulate(labels))
  .sb_check_na(data, c(if (need_response) resp, vars, id))
  rhs <- stats::reformulate(labels)
  if (is.null(terms)) {
    mf <- stats::model.frame(rhs, data = data, na.action = stats::na.fail)
    terms <- stats::terms(mf)
    X <- stats::model.matrix(terms, mf)
    xlevels <- stats::.getXlevels(terms, mf)
    contrasts <- attr(X, "contrasts")
  } else {
    mf <- stats::model.frame(terms, data = data, na.action = stats::na.fail, xlev = xlevels)
    X <- stats::model.matrix(terms, mf, contrasts.arg = contrasts)
  }
  X <- X[, colnames(X) != "(Intercept)", drop = FALSE]
  rownames(X) <- NULL  # model.matrix's "1".."n" row names cost 2.7 s of as.data.frame() at 1e6 rows
  response <- NULL
  if (need_response) {
    if (length(resp) == 3) {
      if (is.null(id)) stop("Surv(start, stop, event) data need the subject: + cluster(id) in the formula", call. = FALSE)
      response <- data.frame(id = data[[id]], start = as.double(data[[resp[1]]]), stop = as.double(data[[resp[2]]]),
                             event = as.double(data[[resp[3]]]))
    } else {
      status <- data[[resp[2]]]
      if (is.factor(status)) {  # competing risks: the first level is censoring
        response <- data.frame(time = as.double(data[[resp[1]]]), cause = as.integer(status) - 1L)
        attr(response, "causes") <- levels(status)[-1]
      } else {
        if (!all(status %in% c(0, 1))) {
          stop("column '", resp[2], "' must be 0/1 (or TRUE/FALSE); for competing risks make it a factor whose ",
               "first level is censoring", call. = FALSE)
        }
        response <- data.frame(time = as.double(data[[resp[1]]]), event = as.double(status))
      }
    }
  }
  list(X = X, response = response, terms = terms, xlevels = xlevels, contrasts = contrasts, id = id, resp = resp)
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
#' @param model "lstm-cox" (recurrent events: `Surv(start, stop, event) ~ x + cluster(id)`),
#'   "deepsurv", "nnet-survival", "coxvae" (`Surv(time, status) ~ x`), or "mensa"
#'   (`Surv(time, status)`, or competing risks `Surv(time, cause)` with `cause` a factor whose
#'   first level is censoring).
#' @param formula a `Surv()` formula; factors are one-hot coded as `model.matrix` does.
#' @param data a data.frame (no NA in the formula's columns: an error names them).
#' @param ... hyper-parameters of the Python model (e.g. `hidden = c(32, 32)`, `dropout = 0.1`)
#'   and training options (`epochs`, `batch_size`, `lr`, `weight_decay`, `validation`,
#'   `patience`, `optimizer`, `device`).
#' @param seed the training seed; NULL draws one from R's RNG, so `set.seed()` makes the fit
#'   reproducible.
#' @return an object of class `sb_fit` with `print`, `summary`, `predict`, `plot` methods.
#' @export
sb_fit <- function(model = c("lstm-cox", "deepsurv", "nnet-survival", "coxvae", "mensa"), formula, data, ...,
                   seed = NULL) {
  model <- match.arg(model)
  seed <- .sb_seed(seed)
  design <- .sb_design(formula, data)
  if (model == "lstm-cox" && length(design$resp) != 3) {
    stop("lstm-cox models recurrent events: use Surv(start, stop, event) ~ ... + cluster(id)", call. = FALSE)
  }
  dots <- list(...)
  fit_args <- dots[names(dots) %in% .sb_fit_args]
  params <- dots[!names(dots) %in% .sb_fit_args]
  if (length(dots) && (is.null(names(dots)) || any(!nzchar(names(dots))))) {
    stop("options in ... must be named (e.g. epochs = 50, hidden = c(32, 32))", call. = FALSE)
  }
  params <- lapply(params, function(v) if (length(v) > 1) as.list(v) else v)
  rhost <- .sb_rhost()
  py_model <- reticulate::py_call(rhost$fit_model, model, .sb_encode_design(design$X),
                                  .sb_payload_response(design$response), reticulate::r_to_py(params),
                                  reticulate::r_to_py(fit_args), as.integer(seed))
  history <- .sb_decode_frame(rhost$encode_frame(py_model$history_))
  state <- .sb_keep(py_model)
  structure(list(
    model = model, formula = formula, call = match.call(), seed = seed,
    terms = design$terms, xlevels = design$xlevels, contrasts = design$contrasts, id = design$id,
    response = design$resp, covariates = colnames(design$X),
    n = nrow(design$response), n_events = .sb_count_events(design$response),
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

.sb_count_events <- function(response) {
  if ("event" %in% names(response)) return(as.integer(sum(response$event)))
  as.integer(sum(response$cause > 0))
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

#' @export
print.sb_fit <- function(x, ...) {
  cat(sprintf("survbridge %s fit (%s in Python): %d %s, %d events, %d covariates, %s network parameters\n",
              x$model, x$python_class, x$n, if (x$model == "lstm-cox") "rows" else "subjects", x$n_events,
              length(x$covariates), format(x$n_params, big.mark = ",")))
  cat("formula: ", paste(deparse(x$formula), collapse = " "), "\n", sep = "")
  h <- x$history
  if (nrow(h)) cat(sprintf("trained %d epochs (seed %d); final training loss %.4f\n", nrow(h), x$seed,
                           h$train_loss[nrow(h)]))
  invisible(x)
}

#' @export
summary.sb_fit <- function(object, ...) {
  h <- object$history
  best <- if (nrow(h) && any(!is.na(h$val_loss))) which.min(h$val_loss) else NA
  structure(list(model = object$model, python_class = object$python_class, n = object$n,
                 n_events = object$n_events, covariates = object$covariates, n_params = object$n_params,
                 params = object$params, fit_args = object$fit_args, seed = object$seed,
                 epochs = nrow(h), final_train_loss = if (nrow(h)) h$train_loss[nrow(h)] else NA,
                 best_val_epoch = best, saved_bytes = length(object$bytes)), class = "summary.sb_fit")
}

#' @export
print.summary.sb_fit <- function(x, ...) {
  cat(sprintf("survbridge %s (%s)\n", x$model, x$python_class))
  cat(sprintf("  data: %d %s, %d events; covariates: %s\n", x$n, if (x$model == "lstm-cox") "rows" else "subjects",
              x$n_events, paste(x$covariates, collapse = ", ")))
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
#'   event and cluster columns: the history enters the prediction).
#' @param type "lp" (log-risk), "risk" (exp(lp)), or "survival" (P(no event by t)).
#' @param times the times for type = "survival".
#' @param ... unused.
#' @return "lp"/"risk": a numeric vector (one value per row of newdata; LSTM-Cox: per
#'   counting-process row). "survival": a matrix, rows subjects (LSTM-Cox: one per id, named by
#'   id), columns times; competing-risks MENSA: columns "cause:time".
#' @export
predict.sb_fit <- function(object, newdata, type = c("lp", "risk", "survival"), times = NULL, ...) {
  type <- match.arg(type)
  if (missing(newdata)) stop("newdata is required (the training data are not stored in the fit)", call. = FALSE)
  recurrent <- object$model == "lstm-cox"
  design <- .sb_design(object$formula, newdata, object$terms, object$xlevels, object$contrasts,
                       need_response = recurrent)
  if (!identical(colnames(design$X), object$covariates)) {
    stop("newdata give design columns ", paste(colnames(design$X), collapse = ", "), "; the fit has ",
         paste(object$covariates, collapse = ", "), call. = FALSE)
  }
  if (type == "survival") {
    if (is.null(times)) stop("type = \"survival\" needs times =", call. = FALSE)
    times <- as.double(times)
  }
  rhost <- .sb_rhost()
  out <- reticulate::py_call(rhost$predict, .sb_py_model(object),
                             .sb_encode_design(design$X),
                             if (recurrent) .sb_payload_response(design$response) else NULL, type,
                             if (is.null(times)) NULL else reticulate::np_array(times, dtype = "float64"))
  values <- reticulate::py_to_r(reticulate::py_get_item(out, "values"))
  values <- matrix(as.double(values), nrow = NROW(values))
  # row labels cross only where they carry information (LSTM-Cox: subject ids), not "1".."n"
  rows <- if (recurrent) as.character(as.vector(reticulate::py_to_r(reticulate::py_get_item(out, "rows"))))
          else rownames(newdata)
  if (type != "survival") return(stats::setNames(values[, 1], rows))
  dimnames(values) <- list(rows, as.character(as.vector(reticulate::py_to_r(reticulate::py_get_item(out, "columns")))))
  values
}

#' Plot a survbridge neural fit: training (and validation) loss per epoch, or survival curves
#'
#' @param x an `sb_fit`.
#' @param newdata,times with both: the predicted survival curves of up to 10 rows of newdata.
#' @param ... passed to `matplot`/`plot`.
#' @export
plot.sb_fit <- function(x, newdata = NULL, times = NULL, ...) {
  if (!is.null(newdata)) {
    if (is.null(times)) {
      stop("give times = to plot survival curves", call. = FALSE)
    }
    s <- predict(x, newdata, type = "survival", times = times)
    s <- s[seq_len(min(10, nrow(s))), , drop = FALSE]
    graphics::matplot(times, t(s), type = "s", lty = 1, ylim = c(0, 1), xlab = "time", ylab = "P(no event by t)",
                      main = paste(x$model, "predicted survival"), ...)
    return(invisible(s))
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
