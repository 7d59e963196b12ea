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
self=$here/$(basename "$0")
# absolute: a path from the caller's directory made absolute, its directory
# created if missing.
absolute() { mkdir -p "$(dirname "$1")" && echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }

# Without arguments: every graph of the repository (the platform's and the
# router's and the end-to-end tests' graphs). With arguments: graph.yaml
# [config.json supergraph.graphql], or --supergraph an Apollo Federation
# supergraph SDL (join__ directives) config.json [supergraph.graphql]: its
# subgraphs are extracted (from-supergraph.mjs) and composed like a graph.yaml.
# (--install, used by the others, only installs the pinned packages.)
if [[ ${1:-} == --supergraph ]]; then
  [[ $# -ge 3 ]] || { echo "usage: $0 --supergraph <supergraph SDL> <config.json> [supergraph.graphql]" >&2; exit 2; }
  extracted=$(mktemp -d)
  trap 'rm -rf "$extracted"' EXIT
  "$self" --install
  node "$here/from-supergraph.mjs" "$2" "$extracted"
  out_config=$(absolute "$3")
  "$self" "$extracted/graph.yaml" "$out_config" "$(absolute "${4:-$(dirname "$out_config")/supergraph.graphql}")"
  exit
fi
if [[ ${1:-} == --install ]]; then
  cd "$here"
  # Reinstall when the lock file changed since the last install.
  if [[ ! -x node_modules/.bin/wgc || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  fi
  exit
fi
if [[ $# -eq 0 ]]; then
  "$self" "$root/graph/graph.yaml"
  "$self" "$root/router/testdata/graph.yaml"
  "$self" "$root/e2e/testdata/graph.yaml"
  exit
fi
input=$(absolute "$1")
dir=$(dirname "$input")
out_config=$(absolute "${2:-$dir/config.json}")
out_sdl=$(absolute "${3:-$dir/supergraph.graphql}")

"$self" --install
cd "$here"

dead=http://127.0.0.1:9
export COSMO_TELEMETRY_DISABLED=true DO_NOT_TRACK=1 DISABLE_UPDATE_CHECK=true \
  COSMO_API_URL=$dead CDN_URL=$dead COSMO_WEB_URL=$dead KC_API_URL=$dead \
  PLUGIN_REGISTRY_URL=127.0.0.1:9 POSTHOG_HOST=$dead HTTP_PROXY= HTTPS_PROXY=

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
./node_modules/.bin/wgc router compose -i "$input" -o "$tmp" >/dev/null
node postprocess.mjs "$tmp" "$out_config" "$out_sdl"
echo "composed $(basename "$input") -> ${out_config#$root/}, ${out_sdl#$root/}"
