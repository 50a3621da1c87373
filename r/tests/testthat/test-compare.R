# sb_compare() equals Python's compare() on the same data and seeds. Reference: pysurvbridge's
# compare() run in a separate plain-Python process (classical rows there use R's coxph via rpy2).
#
# The neural rows are bit-identical only when both processes multiply matrices with the same
# BLAS: inside R, torch's BLAS symbols bind to the BLAS R loaded (R's libblas is in the process's
# global namespace before torch is imported), while plain Python uses torch's MKL. So the Python
# reference is run twice: with R's BLAS preloaded (every column to 1e-9) and as users run it
# (classical columns to 1e-9; LSTM-Cox within float32 training noise, measured 3e-7 relative).

python_compare_table <- function(models, seeds, epochs, preload = "") {
  out <- tempfile(fileext = ".csv")
  code <- sprintf(paste0(
    "from pysurvbridge import compare\n",
    "c = compare('bladder1', %s, seeds=%d, epochs=%d, verbose=False, crosscheck=False)\n",
    "t = c.table.copy()\n",
    "t.to_csv(%s, index=False)\n"),
    paste0("[", paste0("'", models, "'", collapse = ", "), "]"), seeds, epochs, deparse(out))
  script <- tempfile(fileext = ".py")
  writeLines(code, script)
  env <- c(survbridge:::.sb_child_env(), if (nzchar(preload)) paste0("LD_PRELOAD=", preload))
  status <- system2(survbridge_python(), script, env = env, stdout = FALSE, stderr = FALSE)
  if (status != 0) stop("the Python reference run failed (status ", status, ")")
  utils::read.csv(out, stringsAsFactors = FALSE)
}

metric_columns <- function(t) grep("^(c_|brier_|ibs|aic)", setdiff(names(t), "aic_counts"), value = TRUE)

test_that("sb_compare on bladder1 equals Python's compare(), classical rows from R's own coxph", {
  skip_if_no_python()
  models <- c("cox", "ag", "wlw", "pwp-total", "lstm-cox")
  x <- sb_compare("bladder1", models = models, seeds = 2, epochs = 5)
  expect_s3_class(x, "sb_comparison")
  expect_identical(x$table$model, models)
  expect_identical(x$table$engine, c(rep("r-host", 4), "torch"))  # classical rows: this R session's coxph
  cols <- metric_columns(x$table)
  blas <- unname(extSoftVersion()["BLAS"])
  if (nzchar(blas) && file.exists(blas)) {
    same_blas <- python_compare_table(models, 2, 5, preload = blas)
    expect_equal(as.matrix(x$table[cols]), as.matrix(same_blas[cols]), tolerance = 1e-9, ignore_attr = TRUE)
  }
  plain <- python_compare_table(models, 2, 5)
  classical <- x$table$family == "classical"
  expect_equal(as.matrix(x$table[classical, cols]), as.matrix(plain[classical, cols]), tolerance = 1e-9,
               ignore_attr = TRUE)
  expect_equal(x$table$c_harrell[!classical], plain$c_harrell[!classical], tolerance = 1e-5)

  # the agreement check: the R session's coxph against the native engine, every quantity within 1e-6
  a <- x$agreement
  expect_setequal(unique(a$model), c("cox", "ag", "wlw", "pwp-total"))
  fits <- a[a$check == "classical fit", ]
  expect_true(all(fits$agrees))
  expect_true(all(fits$max_abs_diff < 1e-6))
  expect_match(fits$engines[1], "the R session's coxph")
  expect_true(any(grepl("^agreement: ag native vs the R session's coxph", x$notes)))

  html <- tempfile(fileext = ".html")
  sb_report(x, html)
  page <- paste(readLines(html, warn = FALSE), collapse = "\n")
  expect_match(page, "Agreement between engines")
  expect_match(page, "r-host")
  td <- tidy(x)
  expect_identical(unique(td$model), models)
  expect_equal(td$estimate[td$model == "ag" & td$metric == "c_harrell"], x$table$c_harrell[2])
  expect_equal(glance(x)$n.models, 5L)
})

test_that("sb_compare on a data.frame with a formula equals compare() on the same rows", {
  skip_if_no_python()
  x <- sb_compare(bladder2, models = c("ag", "pwp-total"), seeds = 1,
                  formula = Surv(start, stop, event) ~ rx + number + size + cluster(id))
  rh <- reticulate::import("pysurvbridge", convert = FALSE)
  ref <- rh$compare("bladder", list("ag", "pwp-total"), seeds = 1L, verbose = FALSE, crosscheck = FALSE)
  ref_table <- survbridge::sb_from_pandas(reticulate::import("pysurvbridge.rhost", convert = FALSE)$`_plain`(ref$table))
  cols <- metric_columns(x$table)
  expect_equal(as.matrix(x$table[cols]), as.matrix(ref_table[cols]), tolerance = 1e-9, ignore_attr = TRUE)
  expect_error(sb_compare(bladder2, models = "ag"), "formula")
})

test_that("sb_compare gives the verdict: a reference, tuning, and differences R can check by hand", {
  skip_if_no_python()
  tune <- list(deepsurv = list(hidden = list(4, c(8, 8)), lr = list("log", 1e-3, 1e-1)))
  x <- sb_compare("bladder1", models = c("cox", "ag", "deepsurv"), seeds = 3, epochs = 3, reference = "ag",
                  tune = tune, tune_trials = 2, tune_folds = 2, crosscheck = FALSE)
  expect_identical(x$reference, "ag")
  d <- tidy(x, "differences")
  expect_named(d, c("model", "reference", "metric", "estimate", "conf.low", "conf.high", "p.value", "p.adjusted",
                    "n.splits", "method", "better"))
  expect_setequal(unique(d$model), c("cox", "deepsurv"))
  # the corrected resampled t by hand (Nadeau & Bengio 2003), from the per-seed results, in R
  r <- x$results
  dj <- r$c_harrell[r$model == "cox"] - r$c_harrell[r$model == "ag"]
  n <- nrow(r[r$model == "ag", ])
  row <- d[d$model == "cox" & d$metric == "c_harrell", ]
  expect_equal(row$estimate, mean(dj), tolerance = 1e-12)
  split_sizes <- c(train = 81, test = 35)  # bladder1's 116 subjects, test_size 0.3
  se <- sqrt(var(dj) * (1 / length(dj) + split_sizes[["test"]] / split_sizes[["train"]]))
  expect_equal(c(row$conf.low, row$conf.high), mean(dj) + c(-1, 1) * qt(0.975, length(dj) - 1) * se,
               tolerance = 1e-10)
  expect_equal(row$p.value, 2 * pt(abs(mean(dj) / se), length(dj) - 1, lower.tail = FALSE), tolerance = 1e-10)
  expect_true(any(grepl("^deepsurv \\(tuned\\) vs ag", x$verdict)))
  chosen <- jsonlite::fromJSON(r$tuned_params[r$model == "deepsurv"][1])
  expect_true(list(chosen$hidden) %in% list(4L, c(8L, 8L)))
  expect_true(chosen$lr >= 1e-3 && chosen$lr <= 1e-1)
  expect_equal(nrow(x$tuning), 3 * 2)
  html <- tempfile(fileext = ".html")
  sb_report(x, html)
  expect_match(paste(readLines(html, warn = FALSE), collapse = "\n"), 'id="verdict"')
  expect_error(sb_compare("bladder1", models = c("cox", "ag"), seeds = 1, reference = "mensa"),
               "reference 'mensa' is not among the models")
})
