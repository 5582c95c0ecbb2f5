#!/usr/bin/env bash
# Driver registration and pass page figures with the release build, 64 concurrent
# clients on loopback (wrk -t2 -c64):
#   - POST /api/v1/public/codes/{token}/registrations for 20 s, each request a new
#     plate (register.lua); reports registrations/s, p50/p99 and every non-201 answer,
#     then checks the stored count and the audit hash chain
#   - GET /p/{pass_token} for 10 s over 300 passes (pass.lua); statuses outside
#     2xx/3xx are counted by wrk itself
# on SQLite (synchronous=FULL, the default) and, when BENCH_POSTGRES_URL is set, on
# PostgreSQL too, with pgbench's rate of one-row inserts on the same server measured
# first (8 clients, 8 s) and the registrations' rate as a share of it.
# BENCH_POSTGRES_URL names a database the script DROPS and recreates, e.g.
# postgres://postgres@127.0.0.1:5432/truckpass_bench.
# Usage: deploy/bench/register.sh   (from the repository root; needs curl, python3, wrk, psql for PostgreSQL)
# Tunables: BENCH_SECONDS (20), BENCH_CONNECTIONS (64), PORT (18098).
set -euo pipefail
cargo build --release --quiet
bin=target/release/truckpass
here=deploy/bench
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_CONNECTIONS:-64}
port=${PORT:-18098}
base="http://127.0.0.1:$port"
dir=$(mktemp -d)
pid=
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
export TRUCKPASS_LISTEN="127.0.0.1:$port" RUST_LOG=warn
export TRUCKPASS_ADMIN_PASSWORD='Bench-Ledger-Kiln-47-Orbit'
# Rate limits of the public API would otherwise answer most of the benchmark with 429.
export TRUCKPASS_PUBLIC_RATE_PER_IP=100000000 TRUCKPASS_PUBLIC_RATE_PER_CODE=100000000
# Tomorrow 10:00 in the zone (UTC+8).
export BENCH_ARRIVAL=$(date -u -d '+8 hours +1 day' +%Y-%m-%dT10:00)

source "$here/lib.sh"

# bench LABEL DATABASE_URL COUNT_COMMAND...
bench() {
    local label=$1 url=$2
    shift 2
    export TRUCKPASS_DATA_DIR="$dir/$label" DATABASE_URL=$url
    start_server "$dir/$label.log"
    local token auth
    token=$(admin_token)
    auth=(-H "authorization: Bearer $token")
    code=$(seed_code "$token" 福州压测物流有限公司 MA8BENCH1)

    BENCH_CODE_TOKEN=$code wrk -t2 -c"$connections" -d"${seconds}s" --latency \
      -s "$here/register.lua" "$base" >"$dir/$label.register.txt"
    read -r _ reg_rate reg_p50 reg_p99 reg_created reg_other reg_errors \
      < <(grep '^RESULT' "$dir/$label.register.txt")
    grep '^first non-201' "$dir/$label.register.txt" || true

    pass_tokens "$dir/$label.tokens" 300 B "$BENCH_ARRIVAL"
    BENCH_PASS_TOKENS="$dir/$label.tokens" wrk -t2 -c"$connections" -d"$(( (seconds + 1) / 2 ))s" --latency \
      -s "$here/pass.lua" "$base" >"$dir/$label.pass.txt"
    read -r _ pass_rate pass_p50 pass_p99 _ pass_other pass_errors \
      < <(grep '^RESULT' "$dir/$label.pass.txt")

    local stored verified
    stored=$("$@")
    verified=$(curl -fsS "$base/api/v1/audit/verify" "${auth[@]}" |
      python3 -c "import json,sys; v=json.load(sys.stdin); print('ok' if v['ok'] else 'BROKEN', v['checked'])")
    stop_server
    printf -v "${label}_rate" '%s' "$reg_rate"
    printf '%-8s register: %6s reg/s  p50 %6s ms  p99 %6s ms  201: %s  non-201: %s  socket errors: %s\n' \
      "$label" "$reg_rate" "$reg_p50" "$reg_p99" "$reg_created" "$reg_other" "$reg_errors"
    printf '%-8s           stored registrations: %s (incl. 300 for the pass pages)  audit chain (status, entries): %s\n' \
      "$label" "$stored" "$verified"
    printf '%-8s pass page: %6s views/s  p50 %6s ms  p99 %6s ms  non-2xx/3xx: %s  socket errors: %s\n' \
      "$label" "$pass_rate" "$pass_p50" "$pass_p99" "$pass_other" "$pass_errors"
}

sqlite_count() {
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from registrations').fetchone()[0])" \
      "$TRUCKPASS_DATA_DIR/truckpass.db"
}
bench sqlite "sqlite://$dir/sqlite/truckpass.db" sqlite_count

if [[ -n "${BENCH_POSTGRES_URL:-}" ]]; then
    # The yardstick, on the same server and in the same run: pgbench, one small
    # insert per transaction (as ../shared/bench/reference.sh measures it).
    if command -v pgbench >/dev/null; then
        fresh_database "$BENCH_POSTGRES_URL"
        psql "$BENCH_POSTGRES_URL" -qc "create table t(id bigserial primary key, a text, b text)"
        echo "insert into t(a,b) values (repeat('x',50), repeat('y',100));" >"$dir/insert.sql"
        pgbench_tps=$(pgbench -n -f "$dir/insert.sql" -c 8 -j 2 -T 8 "$BENCH_POSTGRES_URL" 2>/dev/null |
          awk '/^tps/ {printf "%.0f", $3}')
        echo "pgbench on the same server, one insert per transaction, 8 clients: $pgbench_tps tx/s"
    fi
    fresh_database "$BENCH_POSTGRES_URL"
    postgres_count() { psql "$BENCH_POSTGRES_URL" -Atc 'select count(*) from registrations'; }
    bench postgres "$BENCH_POSTGRES_URL" postgres_count
    drop_database "$BENCH_POSTGRES_URL"
    if [[ -n "${pgbench_tps:-}" ]]; then
        printf 'postgres registrations / pgbench inserts: %.2f\n' \
          "$(awk -v r="$postgres_rate" -v p="$pgbench_tps" 'BEGIN { print r / p }')"
    fi
fi
