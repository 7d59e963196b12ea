#!/usr/bin/env bash
# `make run`: the whole platform on this machine. Ensures PostgreSQL and Redis, creates the
# service databases, builds every service that exists into bin/, migrates and seeds each one,
# prints the URLs, then runs them all under bin/devrun until Ctrl-C.
#
# Environment: POSTGRES_URL and REDIS_ADDR as in scripts/services.sh; a non-default POSTGRES_URL
# also becomes each service's <SERVICE>_DATABASE_URL unless that is set. <SERVICE>_HTTP_ADDR only
# changes the URLs printed here to match the services.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUBGRAPHS=(users notifications freelance content marketplace)
declare -A DATABASE=(
	[users]=user_service_db [notifications]=notification_service_db [freelance]=freelance_service_db
	[content]=content_service_db [marketplace]=marketplace_service_db
)
declare -A PORT=([users]=8000 [notifications]=8001 [freelance]=8002 [content]=8003 [marketplace]=8004 [router]=8080)

command -v go >/dev/null || [[ ! -x /usr/local/go/bin/go ]] || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "run: go is not on PATH: install Go first" >&2; exit 1; }

scripts/services.sh ensure
scripts/services.sh databases

# What exists today: the other subgraphs, the router and the worker arrive over time.
procs=() pkgs=() seeded=()
for svc in "${SUBGRAPHS[@]}"; do
	if [[ -d subgraphs/$svc/cmd/$svc ]]; then
		procs+=("$svc") pkgs+=("./subgraphs/$svc/cmd/$svc") seeded+=("$svc")
	fi
done
for svc in worker router; do
	if [[ -d $svc/cmd/$svc ]]; then
		procs+=("$svc") pkgs+=("./$svc/cmd/$svc")
	fi
done
# The development mail catcher: the worker sends e-mail to it.
if [[ -d worker/cmd/mailcatcher ]]; then procs=(mailcatcher "${procs[@]}") pkgs+=(./worker/cmd/mailcatcher); fi
if ((${#procs[@]} == 0)); then
	echo "run: nothing to run yet: no subgraphs/<name>/cmd/<name>, router/cmd/router or worker/cmd/worker" >&2
	exit 1
fi

# A POSTGRES_URL pointing elsewhere must reach the services too, not only services.sh.
url_for_db() { # database: POSTGRES_URL with its path replaced
	local url=${POSTGRES_URL%%\?*} query=""
	[[ $POSTGRES_URL == *\?* ]] && query="?${POSTGRES_URL#*\?}"
	local scheme=${url%%://*} rest=${url#*://}
	printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$1" "$query"
}
if [[ -n ${POSTGRES_URL:-} ]]; then
	[[ -n ${WORKER_DATABASE_URL:-} ]] || export WORKER_DATABASE_URL="$(url_for_db notification_service_db)"
	for svc in "${seeded[@]}"; do
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
if [[ -x bin/router ]]; then bin/router keys; fi

for svc in "${seeded[@]}"; do
	# A main that does not know `seed` yet would start serving and never return.
	if ! grep -qs '"seed"' "subgraphs/$svc/cmd/$svc"/*.go; then
		echo "seed: $svc has no seed subcommand yet, skipped"
		continue
	fi
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
if [[ -d router/cmd/router ]]; then
	printf '  %-14s %s/\n' "GraphiQL" "$(url router)"
	printf '  %-14s %s/graphql   health %s/api/health/\n' "router" "$(url router)" "$(url router)"
fi
for svc in "${seeded[@]}"; do
	printf '  %-14s %s/graphql   health %s/api/health/\n' "$svc" "$(url "$svc")" "$(url "$svc")"
done
if [[ -d worker/cmd/mailcatcher ]]; then
	printf '  %-14s %s\n' mail "http://127.0.0.1:8025/  (SMTP 127.0.0.1:1025)"
fi
if [[ -d worker/cmd/worker ]]; then
	printf '  %-14s %s\n' queues "http://127.0.0.1:8090/monitor/  (worker admin port, never routed)"
fi
echo "  Ctrl-C stops everything."
echo

exec bin/devrun -f Procfile "${procs[@]}"
