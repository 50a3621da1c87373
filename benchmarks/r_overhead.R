# The cost of calling pysurvbridge from R (the survbridge package) against the same call in Python.
#
#   R_LIBS=$PWD/.venv/Rlib Rscript benchmarks/r_overhead.R [--sizes 1e4,1e6] [--epochs 20,20]
#       [--repeats 5,1]
#
# For each n: n single-event rows (10 normal covariates, a factor with 3 levels, exponential
# times, about 30% censored; seed 1), then
#   - sb_to_pandas(df) and sb_from_pandas(p) (median of 5 runs, 3 at n > 1e5);
#   - sb_fit("nnet-survival", Surv(time, status) ~ x1 + ... + x10 + g, df, epochs = E,
#     batch_size = 1024, seed = 1) as a user calls it, and the same work step by step: the
#     design in R (model.frame/model.matrix), the model matrix to a data.frame, encoding and
#     transfer, decoding in Python (rhost.decode_frame and the arrays rhost._training_data
#     takes), SurvivalData.from_arrays, NnetSurvival().fit (what rhost.fit_model runs), and the
#     model's bytes and history back to R;
#   - predict(fit, df, type = "survival", times = 5 times), whole and step by step;
#   - the plain-Python reference (benchmarks/r_overhead.py, its own process, on the very same
#     design matrix, written to a temporary file): SurvivalData.from_arrays + NnetSurvival.fit
#     with the same arguments, and model.predict_survival(X, times).
# Fits are repeated --repeats times per size (median per step), predictions at least 3 times
# (rhost.predict is timed in its pieces: decode, predict_survival, packing the result). Both R
# and Python do a warm-up fit on 2000 rows first (torch's lazy imports). Conversion share = the
# conversion steps' seconds / the fit's seconds (SurvivalData.from_arrays + NnetSurvival.fit,
# measured in this R session), resp. / predict_survival's seconds for predict.
# The table is printed as Markdown; benchmarks/RESULTS.md records it.

suppressPackageStartupMessages({
  library(survival)
  library(survbridge)
})

args <- commandArgs(trailingOnly = TRUE)
opt <- function(name, default) {
  i <- match(paste0("--", name), args)
  if (is.na(i)) default else args[i + 1]
}
split_num <- function(x) as.numeric(strsplit(x, ",", fixed = TRUE)[[1]])
sizes <- split_num(opt("sizes", "1e4,1e6"))
epochs <- rep_len(as.integer(split_num(opt("epochs", "20,20"))), length(sizes))
repeats <- rep_len(as.integer(split_num(opt("repeats", "5,1"))), length(sizes))

here <- local({
  file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])
  if (is.na(file)) "benchmarks" else dirname(normalizePath(file))
})
sb <- asNamespace("survbridge")
started <- proc.time()[["elapsed"]]

now <- function() proc.time()[["elapsed"]]
timed <- function(expr) {  # (value, seconds); gc first so that a collection of earlier garbage is not timed
  invisible(gc(FALSE))
  t0 <- now()
  value <- expr
  list(value = value, s = now() - t0)
}

simulate <- function(n, seed = 1) {
  set.seed(seed)
  X <- matrix(stats::rnorm(n * 10), n, dimnames = list(NULL, paste0("x", 1:10)))
  df <- as.data.frame(X)
  df$g <- factor(sample(c("a", "b", "c"), n, replace = TRUE))
  lp <- 0.5 * df$x1 - 0.3 * df$x2 + 0.2 * df$x3 + 0.4 * (df$g == "b") - 0.3 * (df$g == "c")
  t <- stats::rexp(n, exp(lp))
  cens <- stats::rexp(n, 0.45)
  df$time <- pmin(t, cens)
  df$status <- as.integer(t <= cens)
  df
}
formula <- Surv(time, status) ~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + g

# --------------------------------------------------------------------------- Python side
rh <- sb$.sb_rhost()  # starts the project's Python
helpers <- reticulate::import_from_path("r_overhead", here, convert = FALSE)  # r_overhead.py
pyval <- function(x) reticulate::py_to_r(x)

# --------------------------------------------------------------------------- machine
cpu <- sub(".*:\\s*", "", grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)[1])
mem <- as.numeric(sub("\\D*(\\d+).*", "\\1", grep("^MemTotal", readLines("/proc/meminfo"), value = TRUE))) / 2^20
cat(sprintf("# survbridge R overhead: %s, %d cores, %.0f GiB; %s; reticulate %s, survbridge %s; %s\n",
            cpu, parallel::detectCores(), mem, R.version.string, format(utils::packageVersion("reticulate")),
            format(utils::packageVersion("survbridge")), pyval(helpers$facts())))
cat(sprintf("# sizes %s, epochs %s, fit repeats %s; batch_size 1024, seed 1\n",
            paste(format(sizes, scientific = TRUE), collapse = ","), paste(epochs, collapse = ","),
            paste(repeats, collapse = ",")))

# warm-up: torch's lazy imports and first allocations, in both directions
warm <- simulate(2000)
invisible(sb_fit("nnet-survival", formula, warm, epochs = 1, batch_size = 1024, seed = 1))
invisible(sb_from_pandas(sb_to_pandas(warm)))

# --------------------------------------------------------------------------- steps
fit_steps <- function(df, E) {
  s <- list()
  t <- timed(sb$.sb_design(formula, df)); d <- t$value; s$design <- t$s
  t <- timed(list(sb$.sb_encode_design(d$X), sb$.sb_payload_response(d$response))); s$encode <- t$s
  px <- t$value[[1]]; pr <- t$value[[2]]
  t <- timed(helpers$design_arrays(rh$`_design`(px), rh$decode_frame(pr))); s$decode <- t$s
  arrays <- t$value
  t <- timed(helpers$make_data(arrays)); s$from_arrays <- t$s; data <- t$value
  t <- timed(helpers$fit(data, E)); s$fit <- t$s; m <- t$value
  t <- timed(list(as.raw(reticulate::py_to_r(reticulate::py_call(sb$.sb_bytes_to_array(), rh$model_to_bytes(m)))),
                  sb$.sb_decode_frame(rh$encode_frame(m$history_))))
  s$back <- t$s
  s$bytes <- length(t$value[[1]])
  s$loss <- pyval(helpers$final_loss(m))
  s
}

pred_steps <- function(fit, df, times) {  # predict.sb_fit, with rhost.predict's pieces timed one by one
  s <- list()
  t <- timed(sb$.sb_newdata_design(fit, df))
  d <- t$value; s$design <- t$s
  t <- timed(sb$.sb_encode_design(d$X)); px <- t$value; s$encode <- t$s
  m <- sb$.sb_py_model(fit)
  tt <- reticulate::np_array(times, dtype = "float64")
  t <- timed(rh$`_numeric_design`(rh$`_design`(px))); A <- t$value; s$decode <- t$s
  t <- timed(m$predict_survival(A, tt)); surv <- t$value; s$predict_survival <- t$s
  t <- timed(rh$`_matrix`(surv$to_numpy(), NULL, surv$columns)); out <- t$value; s$pack <- t$s
  t <- timed({  # as predict.sb_fit does: the values and column labels cross, not "1".."n"
    values <- reticulate::py_to_r(reticulate::py_get_item(out, "values"))
    values <- matrix(as.double(values), nrow = NROW(values))
    dimnames(values) <- list(rownames(df), as.character(as.vector(reticulate::py_to_r(reticulate::py_get_item(out, "columns")))))
    values
  })
  s$back <- t$s
  s
}

median_steps <- function(runs) {
  keys <- names(runs[[1]])
  stats::setNames(lapply(keys, function(k) stats::median(vapply(runs, function(r) r[[k]], numeric(1)))), keys)
}

python_reference <- function(d, df, E, reps, times) {
  prefix <- tempfile("r_overhead_")
  on.exit(unlink(paste0(prefix, c(".X", ".time", ".event", ".names"))))
  writeBin(as.double(d$X), paste0(prefix, ".X"))
  writeBin(as.double(df$time), paste0(prefix, ".time"))
  writeBin(as.double(df$status), paste0(prefix, ".event"))
  writeLines(colnames(d$X), paste0(prefix, ".names"), sep = "\n")
  out <- system2(reticulate::py_exe(), c(file.path(here, "r_overhead.py"), prefix, E, reps,
                                          paste(format(times, digits = 17), collapse = ",")),
                 stdout = TRUE, stderr = TRUE)
  kv <- grep("^[a-z_]+=", out, value = TRUE)
  if (!length(kv)) stop("the Python reference failed:\n", paste(out, collapse = "\n"))
  res <- as.list(as.numeric(sub(".*=", "", kv)))
  names(res) <- sub("=.*", "", kv)
  res$facts <- grep("^# ", out, value = TRUE)
  res
}

# --------------------------------------------------------------------------- run
rows <- list()
add <- function(n, step, r, py = NA_real_, share = NA_real_) {
  rows[[length(rows) + 1]] <<- data.frame(n = n, step = step, r = r, py = py, share = share, stringsAsFactors = FALSE)
}

for (k in seq_along(sizes)) {
  n <- as.integer(sizes[k])
  E <- epochs[k]
  reps <- repeats[k]
  conv_reps <- if (n > 1e5) 3L else 5L
  df <- simulate(n)
  times <- unname(signif(stats::quantile(df$time[df$status == 1], c(0.1, 0.25, 0.5, 0.75, 0.9)), 3))
  cat(sprintf("\n# n = %s: %.1f%% censored, epochs %d, predict times %s\n", format(n, big.mark = ","),
              100 * mean(df$status == 0), E, paste(times, collapse = ", ")))

  # plain Python first, on the design matrix R builds (its own process; this R session idles)
  py <- python_reference(sb$.sb_design(formula, df), df, E, reps, times)
  cat(py$facts, sep = "\n")

  to_pd <- replicate(conv_reps, timed(sb_to_pandas(df))$s)
  p <- sb_to_pandas(df)
  from_pd <- replicate(conv_reps, timed(sb_from_pandas(p))$s)
  back <- sb_from_pandas(p)
  rm(p)

  whole <- c()
  for (i in seq_len(reps)) {
    t <- timed(sb_fit("nnet-survival", formula, df, epochs = E, batch_size = 1024, seed = 1))
    whole <- c(whole, t$s)
    fit <- t$value
  }
  fs <- median_steps(lapply(seq_len(reps), function(i) fit_steps(df, E)))
  pred_reps <- max(reps, 3L)  # predict_survival varies by up to 2x from run to run in this R session
  pred_whole <- replicate(pred_reps, timed(predict(fit, df, type = "survival", times = times))$s)
  ps <- median_steps(lapply(seq_len(pred_reps), function(i) pred_steps(fit, df, times)))

  fit_s <- fs$from_arrays + fs$fit
  conv_fit <- fs$encode + fs$decode + fs$back
  conv_pred <- ps$encode + ps$decode + ps$pack + ps$back
  N <- sprintf("%.0e", n)
  add(N, "`sb_to_pandas(df)`", stats::median(to_pd), share = stats::median(to_pd) / fit_s)
  add(N, "`sb_from_pandas(p)`", stats::median(from_pd), share = stats::median(from_pd) / fit_s)
  add(N, sprintf("**`sb_fit()`, whole call** (%d epochs)", E), stats::median(whole), py$py_from_arrays + py$py_fit,
      share = conv_fit / fit_s)
  add(N, "· design in R: model.frame + model.matrix", fs$design)
  add(N, "· encode + transfer, R side: design matrix and response (conversion)", fs$encode, share = fs$encode / fit_s)
  add(N, "· decode_frame + arrays, Python side (conversion)", fs$decode, share = fs$decode / fit_s)
  add(N, "· SurvivalData.from_arrays", fs$from_arrays, py$py_from_arrays)
  add(N, "· NnetSurvival.fit", fs$fit, py$py_fit)
  add(N, sprintf("· model bytes (%.1f MB) + history to R (conversion)", fs$bytes / 1e6), fs$back,
      share = fs$back / fit_s)
  add(N, "**`predict(type = \"survival\")`, whole call**", stats::median(pred_whole), py$py_predict_survival,
      share = conv_pred / ps$predict_survival)
  add(N, "· design in R (model.frame + model.matrix)", ps$design)
  add(N, "· encode + transfer, R side: design matrix (conversion)", ps$encode, share = ps$encode / ps$predict_survival)
  add(N, "· decode_frame + design array, Python side (conversion)", ps$decode, share = ps$decode / ps$predict_survival)
  add(N, "· predict_survival", ps$predict_survival, py$py_predict_survival)
  add(N, "· result packed in Python: rhost._matrix (conversion)", ps$pack,
      share = ps$pack / ps$predict_survival)
  add(N, "· result to an R matrix (conversion)", ps$back, share = ps$back / ps$predict_survival)
  cat(sprintf("# final training loss: sb_fit %.6f, step by step %.6f, plain Python %s; round trip identical: %s\n",
              fit$history$train_loss[nrow(fit$history)], fs$loss,
              if (is.null(py$py_loss)) "-" else sprintf("%.6f", py$py_loss), identical(back, df)))
  cat(sprintf("# sb_fit %.2f s; its steps sum to %.2f s. Conversion %.3f s = %.1f%% of the fit (%.2f s)\n",
              stats::median(whole), fs$design + fs$encode + fs$decode + fs$from_arrays + fs$fit + fs$back,
              conv_fit, 100 * conv_fit / fit_s, fit_s))
  cat(sprintf("# predict %.2f s; its steps sum to %.2f s. Conversion %.3f s = %.0f%% of predict_survival (%.3f s)\n",
              stats::median(pred_whole), sum(unlist(ps)), conv_pred, 100 * conv_pred / ps$predict_survival,
              ps$predict_survival))
  rm(df, fit, back)
}

tab <- do.call(rbind, rows)
f3 <- function(x) ifelse(is.na(x), "–", sprintf("%.3f", x))
cat("\n| n | step | R, survbridge (s) | Python (s) | overhead R - Python (s) | conversion share |\n",
    "|---|---|---|---|---|---|\n", sep = "")
cat(sprintf("| %s | %s | %s | %s | %s | %s |\n", tab$n, tab$step, f3(tab$r), f3(tab$py),
            f3(tab$r - ifelse(is.na(tab$py), 0, tab$py)),
            ifelse(is.na(tab$share), "", sprintf("%.0f%%", 100 * tab$share))),
    sep = "")
cat(sprintf("\n# %.0f s in all\n", proc.time()[["elapsed"]] - started))
