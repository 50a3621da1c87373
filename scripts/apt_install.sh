# Sourced by the install scripts: apt_install "<what>" "<fallback message>" pkg...
# Installs Debian packages as root or with password-less sudo. Without apt, root or success it
# prints the command to run by hand and the fallback message, and returns 1 (set-up goes on).
apt_install() {
  local what=$1 fallback=$2
  shift 2
  local debs="$*" sudo=""
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "[setup] apt-get is not available: install $what by hand ($debs). $fallback"
    return 1
  fi
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "[setup] not root and no password-less sudo: run as root"
      echo "[setup]   apt-get install -y --no-install-recommends $debs"
      echo "[setup] $fallback"
      return 1
    fi
  fi
  echo "[setup] installing $what from Debian packages: $debs"
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y -qq --no-install-recommends $debs >/dev/null 2>&1; then
    if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends $debs; }; then
      echo "[setup] apt-get could not install $what; install by hand:"
      echo "[setup]   apt-get install -y --no-install-recommends $debs"
      echo "[setup] $fallback"
      return 1
    fi
  fi
  return 0
}
