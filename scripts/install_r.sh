#!/usr/bin/env bash
# Install R and the R packages pysurvbridge uses, from Debian's packages: survival and the
# packages rpy2's tests and the Brier cross-check use (pec, ipred), and the R package survbridge's
# tooling: testthat, rcmdcheck (make test runs R CMD check through it), roxygen2 (its man/ and
# NAMESPACE), knitr, rmarkdown and pandoc (its vignette), pkgdown (its reference site, make docs).
# Idempotent: does nothing when Rscript and every one of those R packages are already there.
# On a machine without apt (or without root), prints what to install and exits 0 so
# that set-up continues with the Python-only (native) engine.
set -u
. "$(dirname "$0")/apt_install.sh"
R_DEBS="r-base-core r-base-dev r-cran-survival r-cran-pec r-cran-ipred r-cran-testthat r-cran-rcmdcheck \
r-cran-roxygen2 r-cran-knitr r-cran-rmarkdown r-cran-pkgdown pandoc"
R_PKGS="'survival', 'pec', 'ipred', 'testthat', 'rcmdcheck', 'roxygen2', 'knitr', 'rmarkdown', 'pkgdown'"

if command -v Rscript >/dev/null 2>&1 && command -v pandoc >/dev/null 2>&1 && Rscript -e "quit(status = !all(vapply(c($R_PKGS), requireNamespace, logical(1), quietly = TRUE)))" >/dev/null 2>&1; then
  echo "[setup] R found: $(Rscript --version 2>&1 | head -n 1)"
  exit 0
fi
apt_install "R" "Continuing with the Python-only (native) engine." $R_DEBS || exit 0
echo "[setup] R installed: $(Rscript --version 2>&1 | head -n 1)"
