#!/usr/bin/env bash
# Installs the pinned reference clients (package-lock.json) that
# conformance.mjs uses, when the lock file changed since the last install.
# e2e/conformance_test.go calls it. Needs Node.js and npm (as make generate
# does): as root on Debian they are installed with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [[ $EUID -ne 0 || ! -r /etc/debian_version ]]; then
    echo "Node.js and npm are not installed: install the Debian packages 'nodejs' and 'npm'" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # A lock held by another apt run makes apt-get wait instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends nodejs npm >&2
fi
if [[ ! -d node_modules/graphql-http || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
fi
