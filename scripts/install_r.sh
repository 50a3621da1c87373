#!/usr/bin/env bash
# Install R and the R packages pysurvbridge uses, from Debian's packages.
# Idempotent: does nothing when Rscript and the survival package are already there.
# On a machine without apt (or without root), prints what to install and exits 0 so
# that set-up continues with the Python-only (native) engine.
set -u
R_DEBS="r-base-core r-base-dev r-cran-survival r-cran-pec r-cran-ipred r-cran-testthat r-cran-reticulate"

if command -v Rscript >/dev/null 2>&1 && Rscript -e 'quit(status = !requireNamespace("survival", quietly = TRUE))' >/dev/null 2>&1; then
  echo "[setup] R found: $(Rscript --version 2>&1 | head -n 1)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup] apt-get is not available: install R >= 4.2 and the R packages survival, pec, ipred,"
  echo "[setup] testthat and reticulate by hand (e.g. install.packages(c('survival','pec','ipred'))),"
  echo "[setup] then run 'make setup' again. Continuing with the Python-only (native) engine."
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "[setup] not root and no password-less sudo: run as root"
    echo "[setup]   apt-get install -y --no-install-recommends $R_DEBS"
    echo "[setup] Continuing with the Python-only (native) engine."
    exit 0
  fi
fi

echo "[setup] installing R from Debian packages: $R_DEBS"
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $R_DEBS; }; then
  echo "[setup] apt-get could not install R; install by hand:"
  echo "[setup]   apt-get install -y --no-install-recommends $R_DEBS"
  echo "[setup] Continuing with the Python-only (native) engine."
  exit 0
fi
echo "[setup] R installed: $(Rscript --version 2>&1 | head -n 1)"
