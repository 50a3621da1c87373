#!/usr/bin/env bash
# Install the R packages Debian does not ship (reda) or ships too old (reticulate: Debian's 1.28
# crashes R when Python code that embeds R through rpy2 runs inside it, fixed in 1.31; it also
# cannot convert NumPy 2 arrays). Both are installed from source, from the repository named by
# PYSURVBRIDGE_CRAN (an institution's internal CRAN mirror, or a local CRAN-style folder given
# as a path or a file:// URL) and then CRAN, after their Debian dependencies.
# Idempotent: does nothing when reda >= 0.5 and reticulate >= 1.31 are installed.
# Without R, or when the install fails, it says what is missing and exits 0: the Python package
# and the native engine work without them (tests that need them say why they skip).
set -u
. "$(dirname "$0")/apt_install.sh"
if ! command -v Rscript >/dev/null 2>&1; then
  echo "[setup] no R: skipping reda and reticulate"
  exit 0
fi
have() {  # have <package> <minimum version>
  Rscript -e "quit(status = !(requireNamespace('$1', quietly = TRUE) && packageVersion('$1') >= '$2'))" >/dev/null 2>&1
}
if have reda 0.5 && have reticulate 1.31; then
  echo "[setup] reda $(Rscript -e 'cat(format(packageVersion("reda")))') and reticulate $(Rscript -e 'cat(format(packageVersion("reticulate")))') found"
  exit 0
fi
# Debian dependencies of the two source packages (see ../shared/cran/README.md) and the R
# package's own (broom, generics, riskRegression, callr for the tests)
DEPS="r-cran-rcpp r-cran-rcpparmadillo r-cran-splines2 r-cran-rcpptoml r-cran-here r-cran-png \
r-cran-rappdirs r-cran-withr r-cran-jsonlite r-cran-matrix r-cran-rlang r-cran-broom r-cran-generics \
r-cran-riskregression r-cran-callr"
apt_install "the dependencies of reda and reticulate" "reda/reticulate may fail to build." $DEPS || true

REPOS=""
if [ -n "${PYSURVBRIDGE_CRAN:-}" ]; then
  case "$PYSURVBRIDGE_CRAN" in
    *://*) REPOS="$PYSURVBRIDGE_CRAN" ;;
    *) REPOS="file://$(cd "$PYSURVBRIDGE_CRAN" && pwd)" ;;
  esac
  echo "[setup] extra R repository: $REPOS"
fi
# install into the first writable library (the site library as root, else R_LIBS_USER)
Rscript - "$REPOS" <<'RSCRIPT'
args <- commandArgs(trailingOnly = TRUE)
repos <- c(CRAN = "https://cloud.r-project.org")
if (nzchar(args[1])) repos <- c(local = args[1], repos)
libs <- .libPaths()
writable <- libs[file.access(libs, 2) == 0]
lib <- if (length(writable)) writable[1] else {
  user <- Sys.getenv("R_LIBS_USER"); dir.create(user, recursive = TRUE, showWarnings = FALSE); user
}
need <- c(reda = "0.5", reticulate = "1.31")
todo <- names(need)[!vapply(names(need), function(p)
  requireNamespace(p, quietly = TRUE) && packageVersion(p) >= need[[p]], logical(1))]
message("[setup] installing ", paste(todo, collapse = ", "), " into ", lib, " from ",
        paste(repos, collapse = ", "))
install.packages(todo, lib = lib, repos = repos, type = "source", quiet = TRUE, Ncpus = 2L)
RSCRIPT
if have reda 0.5 && have reticulate 1.31; then
  echo "[setup] reda and reticulate installed"
else
  echo "[setup] reda or reticulate could not be installed (set PYSURVBRIDGE_CRAN to a CRAN mirror or a"
  echo "[setup] local CRAN-style folder); engine='reda' and the R package survbridge will be unavailable"
fi
exit 0
