# Data across the boundary: plain typed vectors with an explicit NA mask, never a converter's
# guess (reticulate would turn NA_integer_ into -2147483648, and NA in a factor or logical into
# a level or TRUE). The payload is described in pysurvbridge/rhost.py.

.np <- function(x, dtype) reticulate::np_array(x, dtype = dtype)  # only after .sb_rhost() started Python

# x as a plain vector with fill in the cells where na is TRUE: the values (and type) of
# ifelse(na, fill, x), in one pass instead of ifelse's three (ifelse took about 50 ms of the 56 ms
# that encoding a 1e6-row double column took)
.sb_fill <- function(x, na, fill) {
  v <- as.vector(x)
  if (any(na)) v[na] <- fill
  v
}

# a column's payload; the NA mask travels only when there is an NA (Python reads a missing mask
# as "no NA"): one numpy conversion less per column
.sb_column <- function(kind, values, na, ...) {
  col <- list(kind = kind, values = values, ...)
  if (any(na)) col$na <- .np(na, "bool")
  col
}

.sb_encode_column <- function(x, name) {
  if (inherits(x, "Surv")) {
    m <- unclass(x)
    parts <- colnames(m)
    if (is.null(parts)) parts <- paste0("part", seq_len(ncol(m)))
    enc <- lapply(seq_along(parts), function(j) {
      v <- as.double(m[, j])
      na <- is.na(v)
      list(values = .np(.sb_fill(v, na, 0), "float64"), na = .np(na, "bool"))
    })
    names(enc) <- parts
    out <- list(kind = "Surv", type = attr(x, "type"), parts = enc)
    if (!is.null(attr(x, "states"))) out$states <- .np(as.character(attr(x, "states")), "str")
    return(out)
  }
  na <- is.na(x)
  if (is.factor(x)) {
    codes <- as.integer(x)
    return(.sb_column("factor", .np(.sb_fill(codes, na, 0L), "int32"), na,
                      levels = .np(as.character(levels(x)), "str"), ordered = is.ordered(x)))
  }
  if (inherits(x, "Date")) {
    d <- as.double(unclass(x))
    return(.sb_column("Date", .np(.sb_fill(d, na, 0), "float64"), na))
  }
  if (inherits(x, "POSIXct")) {
    s <- as.double(unclass(x))
    tz <- attr(x, "tzone")
    return(.sb_column("POSIXct", .np(.sb_fill(s, na, 0), "float64"), na, tz = if (is.null(tz)) "" else tz[1]))
  }
  if (is.logical(x)) {
    return(.sb_column("logical", .np(.sb_fill(as.integer(x), na, 0L), "int32"), na))
  }
  if (is.integer(x)) {
    return(.sb_column("integer", .np(.sb_fill(x, na, 0L), "int32"), na))
  }
  if (is.double(x)) {
    truly_na <- na & !is.nan(x)  # NaN is a value (it stays NaN); NA is missing
    return(.sb_column("double", .np(.sb_fill(x, truly_na, 0), "float64"), truly_na))
  }
  if (is.character(x)) {
    return(.sb_column("character", .np(.sb_fill(enc2utf8(x), na, ""), "str"), na))
  }
  stop("column '", name, "' has class ", paste(class(x), collapse = "/"),
       ", which survbridge cannot send to Python; convert it to numeric, integer, logical, character, ",
       "factor, Date, POSIXct or Surv first", call. = FALSE)
}

#' Send a data.frame (or a Surv object) to Python as a pandas DataFrame
#'
#' Factors become pandas Categorical (levels and their order kept), integer columns int64
#' (Int64 when they hold NA), logicals bool (boolean with NA), characters object (None for NA),
#' Dates datetime64 (NaT for NA), POSIXct datetime64 with the time zone, and Surv columns one
#' float column per part (`y[time]`, `y[status]`, ...). NA stays NA in every type and NaN stays
#' NaN. [sb_from_pandas()] converts back without loss.
#' @param x a data.frame or a Surv object.
#' @return a Python pandas DataFrame (reticulate object, not converted).
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   df <- sb_to_pandas(survival::lung[1:5, ])
#'   df
#'   sb_from_pandas(df)
#' }
#' }
#' @export
sb_to_pandas <- function(x) {
  rhost <- .sb_rhost()
  reticulate::py_call(rhost$decode_frame, .sb_encode_frame(x))
}

.sb_encode_frame <- function(x) {
  .sb_rhost()  # start survbridge's Python before reticulate makes any object (it would pick its own)
  if (inherits(x, "Surv")) {
    x <- data.frame(y = I(x))
    names(x) <- "y"
  }
  if (!is.data.frame(x)) stop("expected a data.frame or a Surv object, got ", class(x)[1], call. = FALSE)
  cols <- lapply(names(x), function(n) .sb_encode_column(x[[n]], n))
  names(cols) <- names(x)
  reticulate::r_to_py(list(names = .np(names(x), "str"), nrow = nrow(x), columns = cols))
}

.sb_vec <- function(v) {
  if (inherits(v, "python.builtin.object")) v <- reticulate::py_to_r(v)
  as.vector(v)
}

.sb_decode_column <- function(col, nrow) {
  kind <- .sb_vec(col$kind)
  if (kind == "Surv") {
    parts <- col$parts
    m <- do.call(cbind, lapply(names(parts), function(p) {
      v <- as.double(.sb_vec(parts[[p]]$values))
      v[as.logical(.sb_vec(parts[[p]]$na))] <- NA
      v
    }))
    if (is.null(m)) m <- matrix(numeric(0), nrow = nrow, ncol = 0)
    colnames(m) <- names(parts)
    attrs <- list(type = .sb_vec(col$type))
    if (!is.null(col$states)) attrs$states <- as.character(.sb_vec(col$states))
    return(do.call(structure, c(list(m), attrs, list(class = "Surv"))))
  }
  na <- as.logical(.sb_vec(col$na))
  values <- .sb_vec(col$values)
  out <- switch(kind,
    double = as.double(values),
    integer = as.integer(values),
    logical = as.logical(as.integer(values)),
    character = as.character(values),
    factor = factor(as.character(.sb_vec(col$levels))[.sb_fill(as.integer(values), na, NA_integer_)],
                    levels = as.character(.sb_vec(col$levels)), ordered = isTRUE(.sb_vec(col$ordered))),
    Date = structure(as.double(values), class = "Date"),
    POSIXct = structure(as.double(values), class = c("POSIXct", "POSIXt"),
                        tzone = if (is.null(col$tz)) "" else .sb_vec(col$tz)),
    stop("unknown column kind '", kind, "' from Python", call. = FALSE))
  if (length(out) && any(na)) out[na] <- NA
  if (length(out) != nrow) stop("a column from Python has ", length(out), " values, the frame ", nrow, call. = FALSE)
  out
}

.sb_decode_frame <- function(payload) {
  if (inherits(payload, "python.builtin.object")) payload <- reticulate::py_to_r(payload)
  nrow <- as.integer(.sb_vec(payload$nrow))
  names <- as.character(.sb_vec(payload$names))
  cols <- lapply(names, function(n) .sb_decode_column(payload$columns[[n]], nrow))
  names(cols) <- names
  out <- structure(cols, names = names, row.names = .set_row_names(nrow), class = "data.frame")
  out
}

#' Bring a pandas DataFrame back to R
#'
#' The inverse of [sb_to_pandas()]: categorical -> factor, Int64/int -> integer (double when
#' beyond R's integer range), boolean -> logical, object strings -> character, datetime64 ->
#' Date (for columns that came from R Dates) or POSIXct, Surv parts -> a Surv column.
#' @param x a pandas DataFrame (a reticulate object).
#' @return a data.frame.
#' @examples
#' \donttest{
#' # needs Python with pysurvbridge: install_pysurvbridge() sets it up
#' if (isTRUE(sb_python_available())) {
#'   x <- data.frame(n = c(1L, NA), f = factor(c("b", "a"), levels = c("b", "a")))
#'   identical(sb_from_pandas(sb_to_pandas(x)), x)
#' }
#' }
#' @export
sb_from_pandas <- function(x) {
  rhost <- .sb_rhost()
  .sb_decode_frame(reticulate::py_call(rhost$encode_frame, x))
}
