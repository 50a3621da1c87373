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
