#!/usr/bin/env bash
# PostgreSQL and Redis for development, tests and CI: reuse what is reachable, else start what is
# installed, else (root on Debian) install it, else say exactly what is missing.
#
#   scripts/services.sh ensure      PostgreSQL and Redis reachable, redis-server on PATH
#   scripts/services.sh databases   create the per-service databases that are missing
#   scripts/services.sh stop        stop the private servers this script started under .dev/data
#
# Environment (defaults in brackets):
#   POSTGRES_URL   admin connection [postgres://postgres@127.0.0.1:5432/postgres]
#   REDIS_ADDR     host:port [127.0.0.1:6379]
#   SERVICES_WAIT  seconds to wait for a server to become ready [60]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEV="$ROOT/.dev"
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_ADDR=${REDIS_ADDR:-127.0.0.1:6379}
SERVICES_WAIT=${SERVICES_WAIT:-60}
# DATABASES, every service's, generated from the service registry (platform/services).
source "$ROOT/scripts/services.env"

PG_DATA="$DEV/data/postgres"
REDIS_DATA="$DEV/data/redis"
APT_LOG="$DEV/log/apt.log"

say() { printf '%s\n' "$*"; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
is_local() { [[ $1 == 127.0.0.1 || $1 == localhost || $1 == ::1 ]]; }
debian_root() { [[ $EUID -eq 0 && -r /etc/debian_version ]] && have apt-get; }

# URL pieces, without a URL parser: scheme://[user[:password]@]host[:port][/db][?query].
url_authority() { local rest=${1#*://}; rest=${rest%%[/?]*}; printf '%s' "${rest##*@}"; }
url_user() {
	local rest=${1#*://}; rest=${rest%%[/?]*}
	if [[ $rest == *@* ]]; then rest=${rest%@*}; printf '%s' "${rest%%:*}"; fi
}
split_hostport() { # authority default_port -> sets HOST and PORT
	local a=$1
	if [[ $a == \[* ]]; then HOST=${a#[}; HOST=${HOST%%]*}; a=${a#*]}; PORT=${a#:}
	elif [[ $a == *:* ]]; then HOST=${a%:*}; PORT=${a##*:}
	else HOST=$a; PORT=""
	fi
	HOST=${HOST:-127.0.0.1}; PORT=${PORT:-$2}
}

split_hostport "$(url_authority "$POSTGRES_URL")" 5432; PG_HOST=$HOST; PG_PORT=$PORT
PG_USER=$(url_user "$POSTGRES_URL"); PG_USER=${PG_USER:-postgres}
split_hostport "$REDIS_ADDR" 6379; REDIS_HOST=$HOST; REDIS_PORT=$PORT

# wait_until COMMAND...: poll COMMAND until it succeeds or SERVICES_WAIT runs out.
wait_until() {
	local deadline=$((SECONDS + SERVICES_WAIT))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# --- probes ---------------------------------------------------------------------------------------

gone() { ! kill -0 "$1" 2>/dev/null; }

# shellcheck disable=SC2016 # the inner bash expands its own arguments
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

pg_ready() {
	if have pg_isready; then
		pg_isready -q -t 2 -d "$POSTGRES_URL"
	else
		tcp_open "$PG_HOST" "$PG_PORT"
	fi
}

# A server that is up but not accepting connections yet (starting, recovering) answers 1.
pg_starting() {
	have pg_isready || return 1
	local rc=0
	pg_isready -q -t 2 -d "$POSTGRES_URL" || rc=$?
	((rc == 1))
}

# A Redis PING over bash's /dev/tcp, so no client is needed.
# shellcheck disable=SC2016 # the inner bash expands its own arguments
redis_ready() {
	timeout 2 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "PING\r\n" >&3
		IFS= read -r line <&3 && [[ $line == "+PONG"* || $line == "-NOAUTH"* ]]' _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null
}

# --- installing -----------------------------------------------------------------------------------

apt_install() { # packages...
	mkdir -p "$(dirname "$APT_LOG")"
	say "services: installing $* with apt-get (log: ${APT_LOG#"$ROOT"/})"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may have no package lists yet: update only when the first attempt fails.
	apt-get install -y -q "$@" >>"$APT_LOG" 2>&1 && return 0
	if ! { apt-get update -q && apt-get install -y -q "$@"; } >>"$APT_LOG" 2>&1; then
		tail -n 20 "$APT_LOG" >&2
		die "apt-get install $* failed"
	fi
}

# The newest PostgreSQL server binaries: PATH first, then Debian's versioned directories.
pg_bindir() {
	if have initdb && have pg_ctl; then
		dirname "$(command -v pg_ctl)"
		return
	fi
	local d
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	[[ -x $d/initdb && -x $d/pg_ctl ]] && printf '%s\n' "$d"
}

# The Debian cluster (version and name) that serves the port we want, if any.
pg_cluster() {
	have pg_lsclusters || return 1
	pg_lsclusters --no-header 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }' | grep .
}

# A cluster apt-get just created authenticates TCP users by password; make loopback trusted, as
# the default URL (no password) expects. Only ever done to a cluster this script installed.
pg_trust_loopback() { # version name
	local hba="/etc/postgresql/$1/$2/pg_hba.conf"
	[[ -w $hba ]] || return 0
	grep -q '^# services.sh: trust loopback' "$hba" && return 0
	say "services: trusting loopback connections in $hba (development cluster)"
	{
		echo '# services.sh: trust loopback for local development'
		echo 'host all all 127.0.0.1/32 trust'
		echo 'host all all ::1/128 trust'
		cat "$hba"
	} >"$hba.new" && cat "$hba.new" >"$hba" && rm -f "$hba.new"
}

# --- starting -------------------------------------------------------------------------------------

start_pg_cluster() { # version name
	local out
	say "postgres: starting cluster $1/$2"
	out=$(pg_ctlcluster --skip-systemctl-redirect "$1" "$2" start 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}

start_pg_private() {
	local bindir=$1 run=()
	local listen=$PG_HOST
	mkdir -p "$PG_DATA" "$DEV/log"
	# initdb and postgres refuse to run as root: use the postgres account that Debian creates.
	if [[ $EUID -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || die "PostgreSQL cannot run as root and there is no 'postgres' user to run it as"
		chown postgres: "$PG_DATA" "$DEV/log"
		run=(runuser -u postgres --)
	fi
	chmod 700 "$PG_DATA"
	if [[ ! -s $PG_DATA/PG_VERSION ]]; then
		say "postgres: initdb ${PG_DATA#"$ROOT"/} (trust auth, superuser $PG_USER)"
		"${run[@]}" "$bindir/initdb" -D "$PG_DATA" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 \
			>"$DEV/log/initdb.log" 2>&1 || { tail -n 20 "$DEV/log/initdb.log" >&2; die "initdb failed"; }
	fi
	say "postgres: starting ${PG_DATA#"$ROOT"/} on $PG_HOST:$PG_PORT"
	# No Unix socket: its default directory may not be writable and the repo path may be too long.
	"${run[@]}" "$bindir/pg_ctl" -D "$PG_DATA" -l "$DEV/log/postgres.log" -w -t "$SERVICES_WAIT" \
		-o "-c listen_addresses='$listen' -p $PG_PORT -c unix_socket_directories=''" start >/dev/null ||
		{ tail -n 20 "$DEV/log/postgres.log" >&2; die "PostgreSQL did not start (log: .dev/log/postgres.log)"; }
}

# Start PostgreSQL from what is installed; returns 1 when nothing usable is installed.
start_pg() {
	local cluster bindir
	if cluster=$(pg_cluster); then
		# shellcheck disable=SC2086 # "version name"
		start_pg_cluster $cluster && return 0
		say "postgres: could not start cluster $cluster; trying a private one"
	fi
	bindir=$(pg_bindir) || return 1
	start_pg_private "$bindir"
}

start_redis() {
	have redis-server || return 1
	mkdir -p "$REDIS_DATA"
	say "redis: starting ${REDIS_DATA#"$ROOT"/} on $REDIS_HOST:$REDIS_PORT (no persistence)"
	redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
		--dir "$REDIS_DATA" --logfile "$REDIS_DATA/redis.log" --pidfile "$REDIS_DATA/redis.pid" ||
		die "redis-server did not start (log: ${REDIS_DATA#"$ROOT"/}/redis.log)"
}

# --- ensure ---------------------------------------------------------------------------------------

ensure_pg() {
	local start=$SECONDS cluster
	if pg_ready; then
		say "postgres: reachable at $PG_HOST:$PG_PORT"
	else
		is_local "$PG_HOST" || die "PostgreSQL is not reachable at $PG_HOST:$PG_PORT (POSTGRES_URL) and is not local, so it is not started here"
		if pg_starting; then
			say "postgres: starting up at $PG_HOST:$PG_PORT; waiting"
		elif ! start_pg; then
			debian_root || die "PostgreSQL is not reachable at $PG_HOST:$PG_PORT and its server is not installed (no pg_ctlcluster cluster, no initdb/pg_ctl): install the Debian package 'postgresql' or set POSTGRES_URL"
			apt_install postgresql
			if cluster=$(pg_cluster); then
				# shellcheck disable=SC2086 # "version name"
				pg_trust_loopback $cluster
				# The package may have started it already; a reload picks up the new pg_hba.conf.
				if pg_ready; then
					# shellcheck disable=SC2086
					pg_ctlcluster --skip-systemctl-redirect $cluster reload >/dev/null 2>&1 || true
				fi
			fi
			pg_ready || start_pg || die "PostgreSQL was installed but no server binaries were found"
		fi
		wait_until pg_ready || die "PostgreSQL did not become ready at $PG_HOST:$PG_PORT within ${SERVICES_WAIT}s"
		say "postgres: ready at $PG_HOST:$PG_PORT after $((SECONDS - start))s"
	fi
	# Reachable is not enough: fail here, clearly, when the admin URL cannot log in.
	if have psql; then
		local err
		err=$(psql "$POSTGRES_URL" -X -Atq -c 'select 1' 2>&1 >/dev/null) ||
			die "PostgreSQL at $PG_HOST:$PG_PORT refused POSTGRES_URL: $err"
	fi
}

ensure_redis() {
	local start=$SECONDS
	if redis_ready; then
		say "redis: reachable at $REDIS_HOST:$REDIS_PORT"
	else
		is_local "$REDIS_HOST" || die "Redis is not reachable at $REDIS_HOST:$REDIS_PORT (REDIS_ADDR) and is not local, so it is not started here"
		if ! have redis-server; then
			debian_root || die "Redis is not reachable at $REDIS_HOST:$REDIS_PORT and redis-server is not installed: install the Debian package 'redis-server' or set REDIS_ADDR"
			apt_install redis-server
		fi
		# The package's own service may already be up by now.
		redis_ready || start_redis
		wait_until redis_ready || die "Redis did not become ready at $REDIS_HOST:$REDIS_PORT within ${SERVICES_WAIT}s"
		say "redis: ready at $REDIS_HOST:$REDIS_PORT after $((SECONDS - start))s"
	fi
	# Tests start private redis-server processes (to stop them at will), so the binary must be here
	# even when the shared Redis is remote.
	if ! have redis-server; then
		debian_root || die "redis-server is not on PATH (the tests start their own): install the Debian package 'redis-server'"
		apt_install redis-server
	fi
}

# --- databases ------------------------------------------------------------------------------------

ensure_databases() {
	if ! have psql; then
		debian_root || die "psql is not on PATH: install the Debian package 'postgresql-client'"
		apt_install postgresql-client
	fi
	local existing missing=() db
	existing=$(psql "$POSTGRES_URL" -X -Atq -v ON_ERROR_STOP=1 -c 'select datname from pg_database') ||
		die "cannot list databases with POSTGRES_URL"
	for db in "${DATABASES[@]}"; do
		grep -qxF "$db" <<<"$existing" || missing+=("$db")
	done
	if ((${#missing[@]} == 0)); then
		say "databases: all ${#DATABASES[@]} present"
		return
	fi
	for db in "${missing[@]}"; do
		# CREATE DATABASE has no IF NOT EXISTS: a concurrent creator is fine, anything else is not.
		local err
		if ! err=$(psql "$POSTGRES_URL" -X -q -v ON_ERROR_STOP=1 -c "create database \"$db\"" 2>&1); then
			[[ $err == *"already exists"* ]] || die "create database $db: $err"
		fi
	done
	say "databases: created ${missing[*]}"
}

# --- stop -----------------------------------------------------------------------------------------

stop_private() {
	local bindir
	if [[ -f $PG_DATA/postmaster.pid ]] && bindir=$(pg_bindir); then
		local run=()
		[[ $EUID -eq 0 ]] && run=(runuser -u postgres --)
		"${run[@]}" "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null && say "postgres: stopped ${PG_DATA#"$ROOT"/}"
	fi
	if [[ -f $REDIS_DATA/redis.pid ]]; then
		local pid
		pid=$(<"$REDIS_DATA/redis.pid")
		if kill "$pid" 2>/dev/null; then
			wait_until gone "$pid" || die "redis-server $pid did not stop"
			say "redis: stopped ${REDIS_DATA#"$ROOT"/}"
		fi
		rm -f "$REDIS_DATA/redis.pid"
	fi
}

# One caller at a time: parallel `make test` runs must not race to start the same servers. The
# script re-runs itself under flock(1); -o keeps the lock out of the daemons it starts, which would
# otherwise hold it for as long as they live.
lock() {
	if [[ -z ${SERVICES_LOCKED:-} ]] && have flock; then
		mkdir -p "$DEV"
		SERVICES_LOCKED=1 exec flock -o -w 600 "$DEV/services.lock" "$BASH" "${BASH_SOURCE[0]}" "$@"
	fi
}

case ${1:-} in
ensure) lock "$@"; ensure_pg; ensure_redis ;;
databases) ensure_databases ;;
stop) lock "$@"; stop_private ;;
*) die "usage: scripts/services.sh ensure|databases|stop" ;;
esac
