#!/usr/bin/env bash
# Install the R package survbridge (r/) into the project's own R library (.venv/Rlib, no root
# needed) and run its testthat tests; the last line is "R tests (testthat): N passed, F failed,
# S skipped, ...". Without R, or without reticulate >= 1.31 (make setup installs it), it says why
# and exits 0: there is nothing to test then, and pytest has already run.
set -u
cd "$(dirname "$0")/.."
LIB="$PWD/.venv/Rlib"
if ! command -v Rscript >/dev/null 2>&1; then
  echo "R tests (testthat): skipped: Rscript not found (scripts/install_r.sh installs R)"
  exit 0
fi
if ! Rscript -e "quit(status = !(requireNamespace('reticulate', quietly = TRUE) && packageVersion('reticulate') >= '1.31' && requireNamespace('testthat', quietly = TRUE)))" >/dev/null 2>&1; then
  echo "R tests (testthat): skipped: survbridge needs reticulate >= 1.31 and testthat (make setup installs them; set PYSURVBRIDGE_CRAN to a CRAN mirror or a local CRAN-style folder)"
  exit 0
fi
mkdir -p "$LIB"
if ! R_LIBS="$LIB" R CMD INSTALL --no-test-load --library="$LIB" r >"$LIB/install.log" 2>&1; then
  cat "$LIB/install.log"
  echo "R tests (testthat): 0 passed, 1 failed: R CMD INSTALL r failed"
  exit 1
fi
R_LIBS="$LIB" Rscript r/tests/run_tests.R
