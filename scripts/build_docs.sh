#!/usr/bin/env bash
# The documentation site into OUT (default docs/_build/html): `make docs` (full mode) and
# tests/test_docs.py (fast mode, DOCS_FAST=1) both build it with this script.
#   1. Sphinx: the guide, the API reference and the five Python vignettes (executed by myst-nb),
#      with warnings as errors and every cross-reference checked (-W --keep-going -n);
#   2. the R package's pkgdown site into OUT/r (reference pages with their examples run, and the
#      R vignette as its article), then scripts/offline_pkgdown.py removes what pkgdown 2.0.7
#      (Debian's) would fetch from CDNs, so no page of the site loads anything from the network.
# Without R or pkgdown, step 2 says why and the site's links to r/ are left dangling (the link
# check of tests/test_docs.py then fails: the R reference is part of the site).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/_build/html}
PY=${PYTHON:-.venv/bin/python}
export DOCS_FAST=${DOCS_FAST:-0}
export SURVBRIDGE_PYTHON=${SURVBRIDGE_PYTHON:-$PWD/.venv/bin/python}
mode=$([ "$DOCS_FAST" = "1" ] && echo fast || echo full)

t0=$(date +%s)
echo "[docs] Sphinx ($mode mode) -> $OUT"
"$PY" -m sphinx -W --keep-going -n -q -b html -d "$OUT/../doctrees-$(basename "$OUT")" docs "$OUT"
t1=$(date +%s)
echo "[docs] Sphinx: $((t1 - t0)) s"

if ! command -v Rscript >/dev/null 2>&1 || ! Rscript -e "quit(status = !requireNamespace('pkgdown', quietly = TRUE))" >/dev/null 2>&1; then
  echo "[docs] R reference skipped: needs R and pkgdown (scripts/install_r.sh installs r-cran-pkgdown)"
  exit 0
fi
R_OUT=$(cd "$OUT" && pwd)/r
# pkgdown.internet = FALSE: no look-up of the package on CRAN (it is not there; offline it fails)
# fast mode (make test) shows the help pages' examples without running them (R CMD check runs them
# in make test anyway); full mode runs them, the \donttest ones too, as the site shows their output
TZ=${TZ:-UTC} Rscript -e 'options(pkgdown.internet = FALSE)
pkgdown::build_site("r", preview = FALSE, new_process = FALSE, examples = commandArgs(TRUE)[2] != "1",
                    override = list(destination = commandArgs(TRUE)[1]))' "$R_OUT" "$DOCS_FAST" >"$OUT/../pkgdown.log" 2>&1 \
  || { tail -40 "$OUT/../pkgdown.log"; exit 1; }
"$PY" scripts/offline_pkgdown.py "$R_OUT"
t2=$(date +%s)
echo "[docs] R reference (pkgdown): $((t2 - t1)) s -> $R_OUT/index.html"
echo "[docs] site: $((t2 - t0)) s -> $OUT/index.html"
