#!/usr/bin/env bash
# R CMD check of the R package survbridge (r/), the way CRAN runs it, plus Python:
# scripts/check_r.R builds the tarball with rcmdcheck (the vignette included) and checks it with
# --no-manual. The tests and the vignette find the project's Python through SURVBRIDGE_PYTHON
# (the check copies the package away from the repository, so nothing relative to it would work),
# and tests/testthat/test-install.R installs a pysurvbridge wheel built here (SURVBRIDGE_TEST_WHEEL)
# into a new virtual environment. The last two lines are
#   R CMD check: Status: OK (0 errors, 0 warnings, 0 notes), <seconds> s
#   R tests (testthat): N passed, F failed, S skipped, W warnings (inside R CMD check)
# It exits 1 on any ERROR, WARNING or NOTE (SURVBRIDGE_CHECK_ERROR_ON=warning lets NOTEs pass) or a
# failed test. Without R, rcmdcheck, reticulate >= 1.31, testthat, knitr or rmarkdown it says why and
# exits 0: there is nothing to check then, and pytest has already run.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
if ! command -v Rscript >/dev/null 2>&1; then
  echo "R CMD check: skipped: Rscript not found (scripts/install_r.sh installs R)"
  echo "R tests (testthat): skipped: Rscript not found"
  exit 0
fi
if ! Rscript -e "quit(status = !(requireNamespace('reticulate', quietly = TRUE) && packageVersion('reticulate') >= '1.31' && all(vapply(c('testthat', 'rcmdcheck', 'knitr', 'rmarkdown'), requireNamespace, logical(1), quietly = TRUE))))" >/dev/null 2>&1; then
  echo "R CMD check: skipped: survbridge's check needs reticulate >= 1.31, testthat, rcmdcheck, knitr and rmarkdown (make setup installs them; set PYSURVBRIDGE_CRAN to a CRAN mirror or a local CRAN-style folder)"
  echo "R tests (testthat): skipped: see the line above"
  exit 0
fi
export SURVBRIDGE_PYTHON=${SURVBRIDGE_PYTHON:-$ROOT/.venv/bin/python}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/survbridge-check.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
# the wheel test-install.R installs: built offline (no build isolation, no dependencies) from a copy
# of the package's sources (and LICENSE, which pyproject.toml's license-files puts in the wheel), so that
# setuptools leaves no build/ folder in the checkout
mkdir -p "$OUT/src"
tar -C "$ROOT" --exclude=__pycache__ -cf - pyproject.toml README.md LICENSE pysurvbridge | tar -C "$OUT/src" -xf -
if [ -x "$SURVBRIDGE_PYTHON" ] && "$SURVBRIDGE_PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w "$OUT/wheel" "$OUT/src" >"$OUT/wheel.log" 2>&1; then
  SURVBRIDGE_TEST_WHEEL=$(ls "$OUT"/wheel/pysurvbridge-*.whl | head -n 1)
  export SURVBRIDGE_TEST_WHEEL
else
  echo "[test-r] no pysurvbridge wheel could be built with $SURVBRIDGE_PYTHON; test-install.R will skip"
  tail -n 5 "$OUT/wheel.log" 2>/dev/null
fi
Rscript scripts/check_r.R "$ROOT/r" "$OUT/check"
