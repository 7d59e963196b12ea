#!/usr/bin/env bash
# Writes .env, the secrets docker-compose.yml reads, from deploy/compose.env.example: every
# variable left empty there gets a random value (32 letters and digits). An existing .env is
# kept as it is: its PostgreSQL password is the one the pgdata volume was created with.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -e .env ]]; then
	echo "compose-env: .env exists; left as it is"
	exit 0
fi
random() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true; }
umask 077 # the secrets are the owner's only
tmp=$(mktemp .env.XXXXXX)
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [[ -n $line ]]; do
	if [[ $line =~ ^([A-Z_][A-Z0-9_]*)=$ ]]; then
		line="${BASH_REMATCH[1]}=$(random)"
	fi
	printf '%s\n' "$line"
done <deploy/compose.env.example >"$tmp"
mv "$tmp" .env
trap - EXIT
echo "compose-env: wrote .env (random passwords); now: docker compose up --build"
