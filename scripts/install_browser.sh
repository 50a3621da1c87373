#!/usr/bin/env bash
# Install headless Chromium and its WebDriver (Debian packages chromium, chromium-driver) for
# the test that renders the HTML comparison report. Idempotent; on a machine without apt or
# root it prints what to install and exits 0 (the browser test then skips and says why).
set -u
. "$(dirname "$0")/apt_install.sh"
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "[setup] browser found: $(chromium --version 2>/dev/null | head -n 1)"
  exit 0
fi
apt_install "Chromium" "The report test will skip." chromium chromium-driver || exit 0
echo "[setup] $(chromium --version 2>/dev/null | head -n 1)"
