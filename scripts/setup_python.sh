#!/usr/bin/env bash
# Create .venv/ at the repository root and install pysurvbridge into it.
# Order matters: torch==2.13.0 first (a local CPU wheel; an unpinned torch pulls GB of CUDA
# packages), then the package with its extras. rpy2 is chosen from the installed R:
# rpy2 >= 3.6 needs R >= 4.5 (on older R it fails with 'undefined symbol R_getVar'),
# rpy2 3.5.17 works with R 4.2-4.4.
# Idempotent: re-running only installs what is missing or changed.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $($PY --version)"
  $PY -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"

if ! "$VENV/bin/python" -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.13.0") else 1)' 2>/dev/null; then
  echo "[setup] installing torch==2.13.0 (CPU wheel when one is available locally)"
  $PIP install "torch==2.13.0"
fi

EXTRAS="dev,fast,docs"
if command -v Rscript >/dev/null 2>&1; then
  R_VERSION=$(Rscript -e 'cat(paste(R.version$major, R.version$minor, sep="."))' 2>/dev/null || echo "")
  if [ -n "$R_VERSION" ]; then
    R_MAJOR=${R_VERSION%%.*}; R_REST=${R_VERSION#*.}; R_MINOR=${R_REST%%.*}
    if [ "$R_MAJOR" -gt 4 ] || { [ "$R_MAJOR" -eq 4 ] && [ "$R_MINOR" -ge 5 ]; }; then
      RPY2_SPEC="rpy2>=3.6"
    else
      RPY2_SPEC="rpy2==3.5.17"
    fi
    echo "[setup] R $R_VERSION found: installing $RPY2_SPEC"
    $PIP install "$RPY2_SPEC"
    EXTRAS="dev,r,fast,docs"
  fi
else
  echo "[setup] no R found: skipping rpy2; classical models will use the native engine"
fi

echo "[setup] installing pysurvbridge[$EXTRAS] (editable)"
$PIP install -e ".[$EXTRAS]"
echo "[setup] done: $($VENV/bin/python -c 'import pysurvbridge; print("pysurvbridge", pysurvbridge.__version__)')"
