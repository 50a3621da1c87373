# The response, the subjects and the design, read as survival reads them: model.frame() with the
# specials strata() and cluster(), model.response() a Surv object whose own columns and type are
# the truth (0/1, 1/2 with 2 = event, TRUE/FALSE, expressions such as status == 2 or time / 365.25,
# counting-process Surv(start, stop, event), a factor status for competing risks). Missing values
# follow R's rule: na.action (default getOption("na.action"), i.e. na.omit) is applied here, in
# R, with the dropped rows in attr(, "na.action"); Python receives complete data and stays strict.
#
# Several events (MENSA's multi-event mode, the multi-event comparison) are one Surv() per event
# on the left side: Surv(rtime, recur) + Surv(dtime, death) ~ x. Each event is named after its
# status argument ("recur", "death"); the left side is read by .sb_surv_events(), which returns
# one time and one 0/1 status column per event, so that model.frame() and na.action see them.

.sb_specials <- c("strata", "cluster")

.sb_is_surv_call <- function(x) {
  if (!is.call(x)) return(FALSE)
  fn <- x[[1]]
  identical(fn, as.name("Surv")) || identical(fn, quote(survival::Surv))
}

# the terms of a left side a + b + c, in order
.sb_plus_leaves <- function(x) {
  if (is.call(x) && identical(x[[1]], as.name("+")) && length(x) == 3) {
    return(c(.sb_plus_leaves(x[[2]]), .sb_plus_leaves(x[[3]])))
  }
  if (is.call(x) && identical(x[[1]], as.name("(")) && length(x) == 2) return(.sb_plus_leaves(x[[2]]))
  list(x)
}

# the arguments of a Surv() call by role: time (or start), stop, status
.sb_surv_roles <- function(call) {
  m <- match.call(survival::Surv, call)
  args <- as.list(m)[-1]
  if (!is.null(args$type)) return(NULL)  # an explicit type: survival's checks and ours after evaluation
  if (!is.null(args$event) && !is.null(args$time2)) return(list(start = args$time, stop = args$time2, status = args$event))
  status <- if (!is.null(args$event)) args$event else args$time2
  list(time = args$time, status = status)
}

.sb_rows <- function(bad, count = TRUE) {
  rows <- which(bad)
  paste0(if (length(rows) == 1) "row " else "rows ", paste(utils::head(rows, 5), collapse = ", "),
         if (length(rows) > 5) paste0(", ...", if (count) sprintf(" (%d rows)", length(rows))) else "")
}

.sb_deparse <- function(x) paste(deparse(x, width.cutoff = 500L), collapse = " ")

# Surv()'s own rules, checked before Surv() turns a bad value into NA with only a warning: status
# 0/1, 1/2 (2 = event), TRUE/FALSE or a factor; stop > start. The error names the Surv() call, the
# argument and the rows of data.
.sb_check_surv_calls <- function(calls, data, env) {
  for (call in calls) {
    roles <- .sb_surv_roles(call)
    if (is.null(roles)) next
    value <- function(expr) tryCatch(eval(expr, data, env), error = function(e) NULL)
    label <- .sb_deparse(call)
    if (!is.null(roles$status)) {
      s <- value(roles$status)
      if (is.numeric(s) && length(s) == nrow(data)) {
        ok <- !is.na(s)
        bad <- ok & !(s %in% c(0, 1, 2))
        mixed <- !any(bad) && any(s[ok] == 2) && any(s[ok] == 0)  # Surv() reads 1/2, and 0 becomes -1
        if (mixed) bad <- ok & s == 0
        if (any(bad)) {
          stop(label, ": the status '", .sb_deparse(roles$status), "' must be 0/1, 1/2 (2 = event, as survival ",
               "reads lung$status), TRUE/FALSE, or a factor whose first level is censoring; it ",
               if (mixed) "mixes 0 and 2 (read as 1/2, a 0 would be -1): 0 in " else
                 paste0("is ", paste(utils::head(unique(s[bad]), 3), collapse = ", "), " in "),
               .sb_rows(bad), call. = FALSE)
        }
      }
    }
    if (!is.null(roles$start)) {
      a <- value(roles$start)
      b <- value(roles$stop)
      if (is.numeric(a) && is.numeric(b) && length(a) == length(b)) {
        bad <- !is.na(a) & !is.na(b) & b <= a
        if (any(bad)) {
          stop(label, ": the stop time '", .sb_deparse(roles$stop), "' must be greater than the start '",
               .sb_deparse(roles$start), "'; it is not in ", .sb_rows(bad), call. = FALSE)
        }
      }
    }
  }
  invisible(NULL)
}

# the left side of a multi-event formula: one Surv() per event, named after the event
.sb_surv_events <- function(...) {
  ys <- list(...)
  cols <- list()
  for (name in names(ys)) {
    y <- ys[[name]]
    if (!inherits(y, "Surv") || !identical(attr(y, "type"), "right")) {
      stop("formula: with several events every term of the left side must be a right-censored ",
           "Surv(time, status); event '", name, "' is ", if (inherits(y, "Surv")) paste0("of type '", attr(y, "type"), "'")
           else class(y)[1], call. = FALSE)
    }
    m <- unclass(y)
    cols[[paste0(name, ":time")]] <- as.double(m[, "time"])
    cols[[paste0(name, ":status")]] <- as.double(m[, "status"])
  }
  do.call(cbind, cols)
}

.sb_na_function <- function(na.action) {
  if (is.null(na.action)) return(stats::na.omit)
  if (is.character(na.action)) return(match.fun(na.action))
  if (!is.function(na.action)) stop("na.action must be a function such as na.omit, na.exclude or na.fail", call. = FALSE)
  na.action
}

# na.fail's error, naming each variable with NA and its rows
.sb_na_fail_error <- function(terms, data, extra = NULL, what = "data") {
  mf <- do.call(stats::model.frame, c(list(terms, data = data, na.action = stats::na.pass), extra))
  msgs <- character(0)
  for (v in names(mf)) {
    x <- mf[[v]]
    na <- is.na(x)
    if (length(dim(na)) == 2) na <- rowSums(na) > 0
    if (any(na)) msgs <- c(msgs, sprintf("column '%s' has NA in %d row(s) (%s)", sub("^\\(id\\)$", "id", v),
                                         sum(na), .sb_rows(na, count = FALSE)))
  }
  stop(if (what != "data") paste0(what, ": "), "na.action = na.fail: ", paste(msgs, collapse = "; "), call. = FALSE)
}

# model.frame() with na.action, survbridge's errors in place of R's terse ones
.sb_model_frame <- function(terms, data, na.action, id_values = NULL, xlev = NULL, what = "data") {
  na_fun <- .sb_na_function(na.action)
  env <- new.env(parent = environment(terms) %||% globalenv())
  environment(terms) <- env
  extra <- NULL
  if (!is.null(id_values)) {
    env$.sb_id <- id_values
    extra <- list(id = quote(.sb_id))
  }
  args <- c(list(terms, data = data, na.action = na_fun, xlev = xlev), extra)
  mf <- tryCatch(withCallingHandlers(do.call(stats::model.frame, args), warning = function(w) {
    msg <- conditionMessage(w)
    if (grepl("Invalid status value|Stop time must be > start time", msg)) {
      stop(what, ": Surv(): ", msg, "; status must be 0/1, 1/2 (2 = event) or TRUE/FALSE, and stop > start",
           call. = FALSE)
    }
  }), error = function(e) {
    msg <- conditionMessage(e)
    if (identical(na_fun, stats::na.fail) && grepl("missing values in object", msg, fixed = TRUE)) {
      .sb_na_fail_error(terms, data, extra, what)
    }
    lev <- regmatches(msg, regexec("^factor (.*) has new levels? (.*)$", msg))[[1]]
    if (length(lev) == 3 && !is.null(xlev[[lev[2]]])) {
      stop(what, ": factor '", lev[2], "' has level(s) ", lev[3], " not seen in training (the fit knows ",
           paste(xlev[[lev[2]]], collapse = ", "), ")", call. = FALSE)
    }
    stop(e)
  })
  if (!nrow(mf)) stop(what, ": no rows are left after na.action", call. = FALSE)
  mf
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# the subject column: id = "name" or a bare name (as in coxph(id = )), else the cluster() term
.sb_id_arg <- function(id_expr, id, data) {
  if (is.null(id_expr)) return(NULL)
  if (is.name(id_expr) && as.character(id_expr) %in% names(data)) return(as.character(id_expr))
  if (is.character(id) && length(id) == 1 && !is.na(id)) {
    if (!id %in% names(data)) stop("id: column '", id, "' is not in the data", call. = FALSE)
    return(id)
  }
  stop("id must name the subject column, e.g. id = \"id\" or id = id", call. = FALSE)
}

#' The response, subjects and design of a survbridge formula (internal)
#'
#' @param formula a formula with a Surv() left side (or one Surv() per event, joined by +).
#' @param data a data.frame.
#' @param na.action a missing-value function or its name.
#' @param id the subject column name, or NULL.
#' @param check_negative refuse negative times (pysurvbridge's data containers do).
#' @return a list: mf, terms (of the model frame), x_terms (without response, specials and the
#'   subject), y (the Surv object, or the multi-event matrix), type ("right", "counting",
#'   "mright", "mcounting" or "multi"), events (event names), omit, keep (rows of data kept),
#'   id (name), ids (values per kept row), strata (labels of strata() terms), data_vars.
#' @noRd
.sb_frame <- function(formula, data, na.action = getOption("na.action"), id = NULL, what = "data") {
  if (!inherits(formula, "formula") || length(formula) != 3) {
    stop("formula must have a Surv() left side, e.g. Surv(time, status) ~ age + sex", call. = FALSE)
  }
  if (!is.data.frame(data)) stop("data must be a data.frame", call. = FALSE)
  env <- environment(formula) %||% globalenv()
  fenv <- new.env(parent = env)
  for (f in c("Surv", "strata", "cluster")) {
    if (!exists(f, envir = env, mode = "function")) assign(f, getExportedValue("survival", f), envir = fenv)
  }
  f2 <- formula
  leaves <- .sb_plus_leaves(formula[[2]])
  multi <- length(leaves) > 1
  if (multi) {
    if (!all(vapply(leaves, .sb_is_surv_call, logical(1)))) {
      stop("formula: a left side with several terms must be one Surv() per event, e.g. ",
           "Surv(rtime, recur) + Surv(dtime, death) ~ age; got ", .sb_deparse(formula[[2]]), call. = FALSE)
    }
    events <- vapply(leaves, function(l) { r <- .sb_surv_roles(l); .sb_deparse(r$status %||% l) }, character(1))
    if (anyDuplicated(events)) stop("formula: two events have the same status ", events[duplicated(events)][1], call. = FALSE)
    names(leaves) <- events
    assign(".sb_surv_events", .sb_surv_events, envir = fenv)
    f2[[2]] <- as.call(c(list(as.name(".sb_surv_events")), leaves))
  }
  environment(f2) <- fenv
  known <- c(names(data), ".")
  for (v in all.vars(formula)) {
    if (!v %in% known && !exists(v, envir = fenv)) stop("column '", v, "' is not in the data", call. = FALSE)
  }
  .sb_check_surv_calls(Filter(.sb_is_surv_call, leaves), data, fenv)
  tt <- stats::terms(f2, specials = .sb_specials, data = data)
  ids <- NULL
  if (!is.null(id)) ids <- data[[id]]
  mf <- .sb_model_frame(tt, data, na.action, id_values = ids, what = what)
  omit <- attr(mf, "na.action")
  keep <- seq_len(nrow(data))
  if (length(omit)) keep <- keep[-as.integer(omit)]
  terms <- attr(mf, "terms")
  y <- stats::model.response(mf)
  if (multi) {
    type <- "multi"
  } else {
    if (!inherits(y, "Surv")) {
      stop("formula: the left side must be a Surv() object, e.g. Surv(time, status) ~ age (or one Surv() ",
           "per event joined by +); got ", .sb_deparse(formula[[2]]), call. = FALSE)
    }
    type <- attr(y, "type")
    if (!type %in% c("right", "counting", "mright", "mcounting")) {
      stop("formula: Surv type '", type, "' is not supported: survbridge models right-censored ",
           "Surv(time, status) and counting-process Surv(start, stop, event) data", call. = FALSE)
    }
    events <- if (type %in% c("mright", "mcounting")) attr(y, "states") else NULL
  }
  times <- if (multi) y[, grepl(":time$", colnames(y)), drop = FALSE]
           else unclass(y)[, intersect(colnames(y), c("time", "start", "stop")), drop = FALSE]
  neg <- rowSums(times < 0, na.rm = TRUE) > 0
  if (any(neg)) {
    stop("formula: ", .sb_deparse(formula[[2]]), " has negative times in ", .sb_rows(seq_len(nrow(data)) %in% keep[neg]),
         " of the data; survival times must be >= 0", call. = FALSE)
  }
  # the subject: id = , else cluster()
  cl <- survival::untangle.specials(terms, "cluster")
  st <- survival::untangle.specials(terms, "strata")
  id_name <- id
  if (is.null(id) && length(cl$vars)) {
    ids <- mf[[cl$vars[1]]]
    inner <- attr(terms, "variables")[[attr(terms, "specials")$cluster[1] + 1]][[2]]
    id_name <- if (is.name(inner)) as.character(inner) else .sb_deparse(inner)
  } else if (!is.null(id)) {
    ids <- mf[["(id)"]]
  }
  labels <- attr(terms, "term.labels")
  drop <- c(cl$terms, st$terms, if (!is.null(id_name)) which(labels == id_name))
  x_terms <- if (length(drop)) terms[-drop] else terms
  list(mf = mf, terms = terms, x_terms = x_terms, y = y, type = type, events = events, omit = omit, keep = keep,
       id = id_name, ids = ids, strata = st$vars, n_data = nrow(data),
       data_vars = intersect(all.vars(terms), names(data)))
}

# the design: model.matrix columns without the intercept (factors one-hot as model.matrix codes them)
.sb_model_matrix <- function(x_terms, mf, contrasts = NULL) {
  if (!length(attr(x_terms, "term.labels"))) stop("the formula has no covariates", call. = FALSE)
  X <- stats::model.matrix(x_terms, mf, contrasts.arg = contrasts)
  contrasts <- attr(X, "contrasts")
  X <- X[, colnames(X) != "(Intercept)", drop = FALSE]
  rownames(X) <- NULL  # model.matrix's "1".."n" row names cost 2.7 s of as.data.frame() at 1e6 rows
  attr(X, "contrasts") <- contrasts
  X
}

# the response as it crosses to Python: time/event; id/start/stop/event; time/cause with the
# causes; or one Surv column per event (multi-event), named after the event
.sb_response_frame <- function(fr) {
  y <- fr$y
  m <- unclass(y)
  switch(fr$type,
    right = data.frame(time = as.double(m[, "time"]), event = as.double(m[, "status"])),
    counting = {
      if (is.null(fr$ids)) {
        stop("Surv(start, stop, event) data need the subject: + cluster(id) in the formula, or id = \"id\"",
             call. = FALSE)
      }
      data.frame(id = fr$ids, start = as.double(m[, "start"]), stop = as.double(m[, "stop"]),
                 event = as.double(m[, "status"]))
    },
    mright = structure(data.frame(time = as.double(m[, "time"]), cause = as.integer(m[, "status"])),
                       causes = attr(y, "states")),
    multi = {
      out <- data.frame(row.names = seq_len(nrow(m)))
      for (e in fr$events) out[[e]] <- survival::Surv(m[, paste0(e, ":time")], m[, paste0(e, ":status")])
      out
    },
    stop("formula: multi-state counting-process data (Surv(start, stop, factor)) are not supported by the ",
         "neural models", call. = FALSE))
}
