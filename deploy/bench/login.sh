#!/usr/bin/env bash
# Sign-in figures with the release build on loopback: POST /api/v1/auth/login with the
# right password of one account, from CLIENTS closed-loop clients (login.py: one
# keep-alive connection and device cookie each, and a 503 or 429 tried again after
# its Retry-After, as a well-behaved client does) for BENCH_SECONDS per run:
#   - 8 and 64 clients with the default cap on concurrent argon2 work
#     (TRUCKPASS_PASSWORD_HASH_CONCURRENCY=0: one per core): sign-ins/s, p50/p99 of the
#     200 answers and of the whole sign-in (waits after a 503 included), and the share
#     of answers that were 503 `hashing_busy`
#   - 64 clients with the cap raised to 64, for comparison: every sign-in queues for
#     the blocking pool instead of being refused
# Each sign-in is an argon2id verification (19 MiB, t=2) and two write transactions
# (the throttle's reservation; then the session, audit entry and, the first time,
# the device). SQLite (synchronous=FULL, the default); PostgreSQL too when
# BENCH_POSTGRES_URL names a database the script DROPS and recreates (its user needs
# CREATEDB), e.g. postgres://postgres@127.0.0.1:5432/truckpass_bench.
# The clients share the machine with the server: on a small or busy machine the
# figures are a floor, and noisy.
# Usage: deploy/bench/login.sh   (from the repository root; needs curl, python3, psql for PostgreSQL)
# Tunables: BENCH_SECONDS (15), PORT (18097).
set -euo pipefail
cargo build --release --quiet
bin=target/release/truckpass
here=deploy/bench
seconds=${BENCH_SECONDS:-15}
port=${PORT:-18097}
base="http://127.0.0.1:$port"
dir=$(mktemp -d)
pid=
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
export TRUCKPASS_LISTEN="127.0.0.1:$port" RUST_LOG=warn
export BENCH_USERNAME=admin BENCH_PASSWORD='Bench-Ledger-Kiln-47-Orbit'
export TRUCKPASS_ADMIN_PASSWORD=$BENCH_PASSWORD
source "$here/lib.sh"
echo "cores: $(nproc)   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL DATABASE_URL CONNECTIONS HASH_CONCURRENCY: a fresh database each time
run() {
    local label=$1 url=$2 connections=$3 cap=$4
    export TRUCKPASS_DATA_DIR="$dir/$label-$connections-$cap" DATABASE_URL=$url
    export TRUCKPASS_PASSWORD_HASH_CONCURRENCY=$cap
    start_server "$dir/server.log"
    python3 "$here/login.py" "$base" "$BENCH_USERNAME" "$BENCH_PASSWORD" "$connections" "$seconds" >"$dir/clients.txt"
    stop_server
    local signins p50 p99 whole50 whole99 ok busy throttled other share shown=$cap
    [[ $cap == 0 ]] && shown="cores"
    read -r _ signins p50 p99 whole50 whole99 ok busy throttled other < <(grep '^RESULT' "$dir/clients.txt")
    grep '^first other answer' "$dir/clients.txt" || true
    share=$(awk -v b="$busy" -v t="$((ok + busy + throttled + other))" 'BEGIN { printf "%.1f", t ? 100 * b / t : 0 }')
    printf '%-8s clients=%-3s cap=%-5s %6s sign-ins/s  200 answer p50 %6s p99 %6s ms  whole sign-in p50 %6s p99 %6s ms  answers 200: %s 503: %s (%s%%) 429: %s other: %s\n' \
      "$label" "$connections" "$shown" "$signins" "$p50" "$p99" "$whole50" "$whole99" "$ok" "$busy" "$share" "$throttled" "$other"
}

runs=("8 0" "64 0" "64 64")
for connections_cap in "${runs[@]}"; do
    set -- $connections_cap
    run sqlite "sqlite://$dir/sqlite-$1-$2.db" "$1" "$2"
done

if [[ -n "${BENCH_POSTGRES_URL:-}" ]]; then
    for connections_cap in "${runs[@]}"; do
        set -- $connections_cap
        fresh_database "$BENCH_POSTGRES_URL"
        run postgres "$BENCH_POSTGRES_URL" "$1" "$2"
    done
    drop_database "$BENCH_POSTGRES_URL"
fi
