# Data across the boundary: every R column type survives R -> pandas -> R unchanged (identical()),
# and pandas sees the type a Python user expects. Reference: R itself (identical, is.na, levels).

all_types <- function() {
  d <- data.frame(
    int = c(1L, NA, 3L, -2147483647L), dbl = c(1.5, NA, NaN, -Inf),
    fac = factor(c("a", NA, "b", "a"), levels = c("b", "a")),
    ord = factor(c("lo", "hi", NA, "lo"), levels = c("lo", "hi"), ordered = TRUE),
    lgl = c(TRUE, NA, FALSE, TRUE), chr = c("x", NA, "", "\u00e9t\u00e9"),
    date = as.Date(c("2020-01-01", NA, "1969-12-31", "2000-02-29")),
    id = c(10L, 10L, 11L, 12L), stringsAsFactors = FALSE)
  d$posix <- as.POSIXct(c("2020-01-01 10:00:00", NA, "2021-06-01 00:00:01", "1970-01-01 00:00:00"),
                        tz = "Europe/Paris")
  d$y <- Surv(c(1, 2, NA, 4), c(1, 0, 1, NA))
  d$yc <- Surv(c(0, 1, 0, 2), c(1, 2, 5, 3), c(1, 0, 1, 0))
  d
}

test_that("a data.frame with NA in every column type round-trips unchanged", {
  skip_if_no_python()
  d <- all_types()
  back <- sb_from_pandas(sb_to_pandas(d))
  expect_identical(back, d)
})

test_that("pandas sees the expected types, NA as NA and NaN as NaN", {
  skip_if_no_python()
  p <- sb_to_pandas(all_types())
  dtypes <- reticulate::py_to_r(reticulate::py_eval("lambda f: {c: str(t) for c, t in f.dtypes.items()}")(p))
  expect_identical(dtypes$int, "Int64")
  expect_identical(dtypes$id, "int64")          # integer ids without NA stay plain integers
  expect_identical(dtypes$fac, "category")
  expect_identical(dtypes$lgl, "boolean")
  expect_identical(dtypes$dbl, "Float64")       # masked: NA and NaN are different things
  expect_identical(dtypes$date, "datetime64[ns]")
  expect_identical(dtypes$posix, "datetime64[ns, Europe/Paris]")
  checks <- reticulate::py_to_r(reticulate::py_eval(paste0(
    "lambda f: {'int_na': bool(f['int'].isna()[1]), 'int_min': int(f['int'][3]), ",
    "'dbl_na': bool(f['dbl'].isna()[1]), 'dbl_nan_is_na': bool(f['dbl'].isna()[2]), ",
    "'fac_levels': list(f['fac'].cat.categories), 'fac_na': bool(f['fac'].isna()[1]), ",
    "'ordered': bool(f['ord'].cat.ordered), 'chr_na': f['chr'][1] is None, 'chr_empty': f['chr'][2], ",
    "'surv_cols': [c for c in f.columns if c.startswith('y')]}"))(p))
  expect_true(checks$int_na)
  expect_identical(checks$int_min, -2147483647L)  # reticulate's own converter would give NA_integer_ here
  expect_true(checks$dbl_na)
  expect_false(checks$dbl_nan_is_na)
  expect_identical(checks$fac_levels, c("b", "a"))
  expect_true(checks$fac_na)
  expect_true(checks$ordered)
  expect_true(checks$chr_na)
  expect_identical(checks$chr_empty, "")
  expect_identical(checks$surv_cols, c("y[time]", "y[status]", "yc[start]", "yc[stop]", "yc[status]"))
})

test_that("a Surv object, including a multi-state one, round-trips", {
  skip_if_no_python()
  s <- Surv(c(5, 8, 3), factor(c(0, 1, 2), labels = c("censor", "relapse", "death")))
  back <- sb_from_pandas(sb_to_pandas(s))
  # survival keeps the status factor's own attributes in "inputAttributes" (for printing only):
  # they do not cross; times, codes, type and states do
  expect_identical(back$y, structure(s, inputAttributes = NULL))
  expect_identical(attr(back$y, "states"), c("relapse", "death"))
  r <- Surv(c(1.5, 2), c(0, 1))
  expect_identical(sb_from_pandas(sb_to_pandas(r))$y, r)
})

test_that("a column survbridge cannot send gets an error naming it", {
  skip_if_no_python()
  d <- data.frame(a = 1:2)
  d$z <- complex(real = 1:2, imaginary = 0)
  expect_error(sb_to_pandas(d), "column 'z' has class complex")
})
