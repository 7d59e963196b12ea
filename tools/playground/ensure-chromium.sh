#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is installed (Debian's `chromium`) and
# prints its path. The playground's browser test calls it before starting the
# browser; CI may call it up front to warm the machine. Installs with apt-get
# (as root, or through sudo when available); nothing is downloaded from elsewhere.
set -euo pipefail

find_chromium() {
  for c in chromium chromium-browser google-chrome-stable google-chrome; do
    if p=$(command -v "$c" 2>/dev/null); then
      echo "$p"
      return 0
    fi
  done
  return 1
}

if p=$(find_chromium); then
  echo "$p"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "chromium is not installed and this user cannot install it: run 'apt-get install chromium' as root" >&2
    exit 1
  fi
fi
# A lock held by another apt run makes apt-get wait (up to 10 minutes) instead of failing.
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >&2
find_chromium
