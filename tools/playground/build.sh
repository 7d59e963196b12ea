#!/usr/bin/env bash
# Builds the router's GraphiQL playground from the npm packages pinned in
# package.json/package-lock.json into router/internal/playground/assets/
# (playground.js, playground.css), which the router embeds and serves with no
# internet access. `make generate-playground` runs it; the output is committed,
# and `make verify` fails when it is stale. The build is deterministic: same
# lock file, same bytes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/router/internal/playground/assets

cd "$here"
# Reinstall when the lock file changed since the last install. No install
# scripts: esbuild's binary comes as an optional dependency package.
if [[ ! -x node_modules/.bin/esbuild || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi

mkdir -p "$out"
./node_modules/.bin/esbuild src/main.jsx \
  --bundle --minify --format=iife --target=es2020 \
  --jsx=automatic --loader:.js=jsx \
  --define:process.env.NODE_ENV='"production"' \
  --legal-comments=none --log-level=warning \
  --outfile="$out/playground.js"
echo "built playground -> ${out#$root/}: $(du -h "$out/playground.js" | cut -f1) js, $(du -h "$out/playground.css" | cut -f1) css"
