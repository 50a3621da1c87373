#!/usr/bin/env bash
# Install R and the R packages pysurvbridge uses, from Debian's packages.
# Idempotent: does nothing when Rscript and the survival package are already there.
# On a machine without apt (or without root), prints what to install and exits 0 so
# that set-up continues with the Python-only (native) engine.
set -u
. "$(dirname "$0")/apt_install.sh"
R_DEBS="r-base-core r-base-dev r-cran-survival r-cran-pec r-cran-ipred r-cran-testthat"

if command -v Rscript >/dev/null 2>&1 && Rscript -e 'quit(status = !requireNamespace("survival", quietly = TRUE))' >/dev/null 2>&1; then
  echo "[setup] R found: $(Rscript --version 2>&1 | head -n 1)"
  exit 0
fi
apt_install "R" "Continuing with the Python-only (native) engine." $R_DEBS || exit 0
echo "[setup] R installed: $(Rscript --version 2>&1 | head -n 1)"
