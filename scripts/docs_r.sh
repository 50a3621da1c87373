#!/usr/bin/env bash
# The pkgdown reference site of the R package survbridge (r/_pkgdown.yml) into
# vignettes/_build/r-reference: one page per help topic with its examples run (the \donttest ones
# too, with the project's Python through SURVBRIDGE_PYTHON) and the vignette as an article (fast
# mode, as R CMD build makes it). pkgdown installs r/ into a temporary library first.
# Without R or pkgdown it says why and exits 0 (the Python vignettes are built anyway).
set -u
cd "$(dirname "$0")/.."
if ! command -v Rscript >/dev/null 2>&1 || ! Rscript -e "quit(status = !requireNamespace('pkgdown', quietly = TRUE))" >/dev/null 2>&1; then
  echo "[docs] R reference site skipped: needs R and pkgdown (scripts/install_r.sh installs r-cran-pkgdown)"
  exit 0
fi
export SURVBRIDGE_PYTHON=${SURVBRIDGE_PYTHON:-$PWD/.venv/bin/python}
# pkgdown.internet = FALSE: no look-up of the package on CRAN (it is not there; offline it fails)
TZ=${TZ:-UTC} Rscript -e 'options(pkgdown.internet = FALSE); pkgdown::build_site("r", preview = FALSE, new_process = FALSE)' || exit 1
echo "[docs] R reference site -> vignettes/_build/r-reference/index.html"
