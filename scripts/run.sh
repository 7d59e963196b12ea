#!/usr/bin/env bash
# `make run`: the whole platform on this machine. Ensures PostgreSQL and Redis, creates the
# service databases, builds every service into bin/, migrates and seeds each subgraph, prints
# the URLs, then runs them all under bin/devrun (the Procfile) until Ctrl-C. The services, their
# ports and databases come from the registry (platform/services) through scripts/services.env.
#
# Environment: POSTGRES_URL and REDIS_ADDR as in scripts/services.sh; a non-default POSTGRES_URL
# also becomes each service's <SERVICE>_DATABASE_URL unless that is set. <SERVICE>_HTTP_ADDR only
# changes the URLs printed here to match the services.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# SUBGRAPHS, DATABASE and PORT, generated from the registry.
source scripts/services.env

command -v go >/dev/null || [[ ! -x /usr/local/go/bin/go ]] || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "run: go is not on PATH: install Go first" >&2; exit 1; }

scripts/services.sh ensure
scripts/services.sh databases

# Every process of the Procfile: the development mail catcher (the worker sends e-mail to
# it), the subgraphs, the worker and the router.
procs=(mailcatcher "${SUBGRAPHS[@]}" worker router)
pkgs=(./worker/cmd/mailcatcher ./worker/cmd/worker ./router/cmd/router)
for svc in "${SUBGRAPHS[@]}"; do pkgs+=("./subgraphs/$svc/cmd/$svc"); done

# A POSTGRES_URL pointing elsewhere must reach the services too, not only services.sh.
url_for_db() { # database: POSTGRES_URL with its path replaced
	local url=${POSTGRES_URL%%\?*} query=""
	[[ $POSTGRES_URL == *\?* ]] && query="?${POSTGRES_URL#*\?}"
	local scheme=${url%%://*} rest=${url#*://}
	printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$1" "$query"
}
if [[ -n ${POSTGRES_URL:-} ]]; then
	for svc in "${SUBGRAPHS[@]}" worker; do
		var="${svc^^}_DATABASE_URL"
		[[ -n ${!var:-} ]] || export "$var=$(url_for_db "${DATABASE[$svc]}")"
	done
fi

echo "build: ${procs[*]} devrun"
mkdir -p bin
go build -o bin/ "${pkgs[@]}"
(cd tools && GOWORK=off go build -o ../bin/devrun ./devrun)

# The router's assertion key (generated once into .dev/keys) and its public
# half, which is all the subgraphs read: they need it before they start.
bin/router keys

for svc in "${SUBGRAPHS[@]}"; do
	echo "seed: $svc"
	"bin/$svc" seed
done

url() { # service: its base URL on this machine, from <SERVICE>_HTTP_ADDR when set
	local var="${1^^}_HTTP_ADDR" addr host
	addr=${!var:-:${PORT[$1]}}
	host=${addr%:*}
	[[ -z $host || $host == 0.0.0.0 || $host == "[::]" ]] && host=127.0.0.1
	printf 'http://%s:%s' "$host" "${addr##*:}"
}
echo
printf '  %-14s %s/\n' "GraphiQL" "$(url router)"
printf '  %-14s %s/graphql   health %s/api/health/\n' "router" "$(url router)" "$(url router)"
for svc in "${SUBGRAPHS[@]}"; do
	printf '  %-14s %s/graphql   health %s/api/health/\n' "$svc" "$(url "$svc")" "$(url "$svc")"
done
printf '  %-14s %s\n' mail "http://127.0.0.1:8025/  (SMTP 127.0.0.1:1025)"
printf '  %-14s %s\n' queues "$(url worker)/monitor/  (worker admin port, never routed)"
echo "  Ctrl-C stops everything."
echo

exec bin/devrun -f Procfile "${procs[@]}"
