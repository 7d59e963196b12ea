#!/usr/bin/env bash
# Composes federation graphs offline with Cosmo's composition CLI (wgc, pinned in
# package.json/package-lock.json): graph/graph.yaml -> graph/config.json (the
# router's execution config) and graph/supergraph.graphql (the readable client
# schema), likewise router/testdata/ and e2e/testdata/. `make generate` runs it; `make verify` then
# fails on any difference.
#
# No network beyond the npm registry on first install: telemetry and update checks
# are off and every control-plane URL points at a closed loopback port, so wgc
# cannot phone home even by mistake.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# Without arguments: every graph of the repository (the platform's and the
# router's and the end-to-end tests' graphs). With arguments: graph.yaml [config.json supergraph.graphql].
if [[ $# -eq 0 ]]; then
  "$0" "$root/graph/graph.yaml"
  "$0" "$root/router/testdata/graph.yaml"
  "$0" "$root/e2e/testdata/graph.yaml"
  exit
fi
input=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$(dirname "$input")
out_config=${2:-$dir/config.json}
out_sdl=${3:-$dir/supergraph.graphql}

cd "$here"
# Reinstall when the lock file changed since the last install.
if [[ ! -x node_modules/.bin/wgc || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi

dead=http://127.0.0.1:9
export COSMO_TELEMETRY_DISABLED=true DO_NOT_TRACK=1 DISABLE_UPDATE_CHECK=true \
  COSMO_API_URL=$dead CDN_URL=$dead COSMO_WEB_URL=$dead KC_API_URL=$dead \
  PLUGIN_REGISTRY_URL=127.0.0.1:9 POSTHOG_HOST=$dead HTTP_PROXY= HTTPS_PROXY=

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
./node_modules/.bin/wgc router compose -i "$input" -o "$tmp" >/dev/null
node postprocess.mjs "$tmp" "$out_config" "$out_sdl"
echo "composed $(basename "$input") -> ${out_config#$root/}, ${out_sdl#$root/}"
