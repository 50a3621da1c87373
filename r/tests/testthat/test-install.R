# install_pysurvbridge() end to end and offline: a new virtual environment, a pysurvbridge wheel built
# from the repository (scripts/test_r.sh builds it and names it in SURVBRIDGE_TEST_WHEEL), the record
# under R_user_dir("survbridge", "config"), and a fresh R process that finds the recorded Python by
# itself. PyTorch and the other dependencies are not downloaded: a .pth file makes the site-packages
# of the Python the other tests use visible in the new environment, so pip finds them installed and
# the test takes seconds. References: pip's own view of the environment (the wheel's copy of
# pysurvbridge is the one imported), and the Python a fresh R session starts.

test_that("survbridge_doctor's advice names what is missing and install_pysurvbridge()", {
  advice <- survbridge:::.sb_doctor_advice(NULL)
  expect_match(advice[1], "^Missing: a Python with pysurvbridge")
  expect_match(advice[2], "^Fix: survbridge::install_pysurvbridge\\(\\)")
  expect_error(install_pysurvbridge(tempfile(), wheel = tempfile(fileext = ".whl")), "wheel = must be the path")
})

test_that("install_pysurvbridge() installs a wheel, records its Python, and a new R session uses it", {
  skip_on_cran()
  skip_if_not_installed("callr")
  skip_if_not_installed("withr")
  wheel <- Sys.getenv("SURVBRIDGE_TEST_WHEEL")
  if (!nzchar(wheel) || !file.exists(wheel)) {
    skip("SURVBRIDGE_TEST_WHEEL does not name a pysurvbridge wheel (scripts/test_r.sh builds one)")
  }
  base <- survbridge_python()
  if (is.na(base)) skip("no Python with pysurvbridge's dependencies to lend them to the new environment")
  purelib <- function(py) system2(py, c("-c", shQuote("import sysconfig; print(sysconfig.get_paths()['purelib'])")),
                                  stdout = TRUE, env = survbridge:::.sb_child_env())
  torch <- system2(base, c("-c", shQuote("import importlib.metadata as m; print(m.version('torch'))")), stdout = TRUE,
                   stderr = FALSE, env = survbridge:::.sb_child_env())
  if (!length(torch) || !nzchar(torch[1])) skip(paste(base, "has no torch to lend to the new environment"))
  torch <- paste0("torch==", sub("\\+.*$", "", torch[1]))  # 2.13.0+cpu -> torch==2.13.0

  config <- withr::local_tempdir("sb-config-")
  withr::local_envvar(R_USER_CONFIG_DIR = config)
  env <- file.path(withr::local_tempdir("sb-env-"), "survbridge")

  # 1. A new environment without the dependencies (pip --no-deps): created, the wheel installed,
  # but pysurvbridge does not import there, so nothing is recorded; the doctor names the modules.
  expect_error(suppressMessages(install_pysurvbridge(env, wheel = wheel, extras = character(), python = base,
                                                     torch = NULL, pip_options = "--no-deps", quiet = TRUE)),
               "does not import there")
  py <- file.path(normalizePath(file.path(env, "bin")), "python")
  expect_true(file.exists(py))
  expect_false(file.exists(survbridge:::.sb_recorded_python_file()))
  advice <- survbridge:::.sb_doctor_advice(py)
  expect_match(advice[1], "Missing: the Python modules torch, numpy, pandas in", fixed = TRUE)
  expect_match(advice[2], sprintf("survbridge::install_pysurvbridge(\"%s\")", env), fixed = TRUE)

  # 2. The dependencies lent by the other tests' Python (the environment's own setuptools would
  # shadow the newer one some packages require), then the real call: torch and rpy2 are already
  # satisfied, pysurvbridge[r] comes from the wheel, and the Python is recorded.
  writeLines(purelib(base), file.path(purelib(py), "survbridge-test-deps.pth"))
  system2(py, c("-m", "pip", "uninstall", "-q", "-y", "setuptools"), stdout = FALSE, stderr = FALSE)
  msgs <- testthat::capture_messages(got <- install_pysurvbridge(env, wheel = wheel, torch = torch, quiet = TRUE))
  expect_identical(got, py)
  expect_true(any(grepl(paste(torch, "is already satisfied"), msgs, fixed = TRUE)))
  expect_true(any(grepl("rpy2.* is already satisfied", msgs)))  # the one the lender has, fit for this R
  expect_identical(readLines(survbridge:::.sb_recorded_python_file()), py)
  cands <- sb_python_candidates()
  expect_identical(cands$python[cands$source == "install_pysurvbridge()"], py)
  where <- system2(py, c("-c", shQuote("import pysurvbridge; print(pysurvbridge.__file__)")), stdout = TRUE,
                   env = survbridge:::.sb_child_env())
  expect_true(startsWith(where, normalizePath(env)))  # the wheel's copy, not the lender's

  # 3. The next session: nothing but the record points at the environment.
  child <- callr::r(function() {
    ok <- survbridge::sb_python_available()
    list(ok = isTRUE(ok), reason = attr(ok, "reason"), python = reticulate::py_config()$python,
         module = reticulate::py_to_r(reticulate::import("pysurvbridge")$`__file__`))
  }, env = c(callr::rcmd_safe_env(), R_USER_CONFIG_DIR = config, RETICULATE_PYTHON = "", SURVBRIDGE_PYTHON = "",
             R_LIBS = Sys.getenv("R_LIBS"), R_LIBS_USER = Sys.getenv("R_LIBS_USER")))
  expect_true(child$ok, info = child$reason)
  expect_identical(child$python, py)
  expect_true(startsWith(child$module, normalizePath(env)))
})
