#!/usr/bin/env bash
# The federation gateway audit's adapter for this router (the audit runs
# gateways/<name>/run.sh <test id> from its checkout and then queries the
# gateway). Copy this folder into the audit's checkout as
# gateways/supergraph-go and run `make test-supergraph-go` there, with
# SUPERGRAPH_ROOT naming this repository (Node.js 22 or later).
# The audit's subgraphs (their own SDL, as they serve it) are composed
# with tools/compose/compose.sh; the router serves them on :4000. (Composing
# from the audit's supergraph SDL instead, compose.sh --supergraph, loses
# what extraction cannot recover and fails more tests.)
# The audit starts it with sh: run on in bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
root=${SUPERGRAPH_ROOT:?set SUPERGRAPH_ROOT to the supergraph repository}
here=$(cd "$(dirname "$0")" && pwd)
npm start subgraphs -- --cwd "$here" --test "$1"
node "$here/graph-yaml.mjs" "$here/subgraphs.json" "$here/out"
"$root/tools/compose/compose.sh" "$here/out/graph.yaml" >&2
[[ -x $root/bin/router ]] || (cd "$root" && go build -o bin/router ./router/cmd/router)
export ROUTER_HTTP_ADDR=127.0.0.1:4000 ROUTER_GRAPH_CONFIG=$here/out/config.json ROUTER_DEV_DIR=$here/out/dev \
  ROUTER_ADMIN_ADDR=127.0.0.1:0 ROUTER_RATE_LIMIT=false ROUTER_ACCESS_LOG=false ROUTER_LOG_LEVEL=warn
# The router logs to a file: the audit closes its log stream when a test ends.
exec "$root/bin/router" 2>>"$here/out/router.log"
