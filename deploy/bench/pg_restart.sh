#!/usr/bin/env bash
# PostgreSQL going away under write load. Starts a PostgreSQL of its own (initdb in a
# temporary directory, loopback port PG_PORT, as the `postgres` user when run as root),
# the release build on it, and BENCH_CONNECTIONS clients registering drivers (wrk,
# register.lua) for BENCH_SECONDS. After 8 s it stops that PostgreSQL with
# `-m immediate` (a crash: no shutdown checkpoint, recovery at the next start) and
# starts it again 4 s later. Reports every answer by status (201; 503
# database_unavailable; 500 and 502, which must be 0) and socket errors, the longest
# wait for an answer, how soon /readyz answered 200 after the restart, then checks that
# every acknowledged registration is stored and that the audit chain verifies with
# nothing left waiting. It stops and restarts only the PostgreSQL it started itself.
# Usage: deploy/bench/pg_restart.sh   (from the repository root; needs curl, python3,
# wrk and PostgreSQL's server binaries, /usr/lib/postgresql/*/bin)
# Tunables: BENCH_SECONDS (30), BENCH_CONNECTIONS (16), PORT (18096), PG_PORT (15499).
set -euo pipefail
cargo build --release --quiet
bin=target/release/truckpass
here=deploy/bench
seconds=${BENCH_SECONDS:-30}
connections=${BENCH_CONNECTIONS:-16}
port=${PORT:-18096}
pg_port=${PG_PORT:-15499}
base="http://127.0.0.1:$port"
dir=$(mktemp -d)
chmod 755 "$dir"
pid=
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_ctl() { as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" "$@"; }
cleanup() {
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null
    pg_ctl stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
source "$here/lib.sh"

mkdir "$dir/pg"
[[ $(id -u) == 0 ]] && chown postgres "$dir/pg"
as_postgres "$pg_bin/initdb" -D "$dir/pg" -U postgres --auth=trust >/dev/null
pg_start() {
    pg_ctl -w -l "$dir/pg/server.log" \
      -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null
}
pg_start
export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
export TRUCKPASS_LISTEN="127.0.0.1:$port" TRUCKPASS_DATA_DIR="$dir/data" RUST_LOG=warn
export TRUCKPASS_ADMIN_PASSWORD='Bench-Ledger-Kiln-47-Orbit'
export TRUCKPASS_PUBLIC_RATE_PER_IP=100000000 TRUCKPASS_PUBLIC_RATE_PER_CODE=100000000
export BENCH_ARRIVAL=$(date -u -d '+8 hours +1 day' +%Y-%m-%dT10:00)
start_server "$dir/server.log"
token=$(admin_token)
code=$(seed_code "$token" 福州故障演练物流有限公司 MA8FAULT1)

# /readyz every 0.1 s: when the service said the database was unavailable.
( while sleep 0.1; do
    printf '%s %s\n' "$(date +%s.%N)" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/readyz")"
  done ) >"$dir/readyz.txt" 2>/dev/null &
probe=$!
# A timeout longer than the service's own wait for a connection, so that every request
# is counted by its answer.
BENCH_CODE_TOKEN=$code wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s --latency \
  -s "$here/register.lua" "$base" >"$dir/wrk.txt" &
load=$!
sleep 8
crashed=$(date +%s.%N)
pg_ctl -m immediate stop >/dev/null
sleep 4
pg_start
restarted=$(date +%s.%N)
wait "$load"
kill "$probe" 2>/dev/null || true

read -r _ rate p50 p99 created other errors < <(grep '^RESULT' "$dir/wrk.txt")
statuses=$(grep '^STATUSES' "$dir/wrk.txt" | cut -d' ' -f2-)
longest=$(awk '$1 == "Latency" { print $4 }' "$dir/wrk.txt")
ready=$(awk -v from="$restarted" '$1 >= from && $2 == "200" { printf "%.1f s", $1 - from; exit }' \
  "$dir/readyz.txt")
stored=$(psql "$DATABASE_URL" -Atc 'select count(*) from registrations')
verified=$(curl -fsS "$base/api/v1/audit/verify" -H "authorization: Bearer $token" |
  python3 -c "import json,sys; v=json.load(sys.stdin); print('ok' if v['ok'] else 'BROKEN', v['checked'], 'entries,', v['waiting'], 'waiting')")
stop_server
printf 'PostgreSQL crashed (-m immediate) 8 s into the run, started again %.1f s later\n' \
  "$(python3 -c "print($restarted - $crashed)")"
printf 'answers: %s   other non-201: %s   socket errors: %s   (%s requests/s over the run, p99 %s ms, longest wait %s)\n' \
  "$statuses" "$other" "$errors" "$rate" "$p99" "$longest"
printf '/readyz answered 200 again %s after PostgreSQL was started again\n' "${ready:-never}"
printf 'acknowledged registrations: %s   stored: %s   audit chain: %s\n' "$created" "$stored" "$verified"
if (( stored < created )); then
    echo "LOST: $((created - stored)) acknowledged registrations are not stored" >&2
    exit 1
fi
