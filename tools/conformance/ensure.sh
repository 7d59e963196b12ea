#!/usr/bin/env bash
# Installs the pinned reference clients (package-lock.json) that
# conformance.mjs uses, when the lock file changed since the last install.
# e2e/conformance_test.go calls it. Needs Node.js and npm, as make generate does.
set -euo pipefail
cd "$(dirname "$0")"
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed: run 'apt-get install nodejs npm'" >&2; exit 1; }
done
if [[ ! -d node_modules/graphql-http || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
fi
