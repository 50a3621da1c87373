#!/usr/bin/env bash
# Install headless Chromium and its WebDriver (Debian packages chromium, chromium-driver) for
# the test that renders the HTML comparison report. Idempotent; on a machine without apt or
# root it prints what to install and exits 0 (the browser test then skips and says why).
set -u
DEBS="chromium chromium-driver"
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "[setup] browser found: $(chromium --version 2>/dev/null | head -n 1)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup] apt-get is not available: install Chromium and chromedriver by hand for the report test"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "[setup] not root and no password-less sudo: run as root  apt-get install -y --no-install-recommends $DEBS"
    exit 0
  fi
fi
echo "[setup] installing $DEBS from Debian"
$SUDO apt-get install -y --no-install-recommends $DEBS >/dev/null 2>&1 || {
  $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends $DEBS >/dev/null 2>&1
} || echo "[setup] could not install $DEBS; the report test will skip"
command -v chromium >/dev/null 2>&1 && echo "[setup] $(chromium --version 2>/dev/null | head -n 1)"
exit 0
