#!/usr/bin/env bash
# Start-up figures of a release build on an empty SQLite database: time from exec to
# the first `/readyz` 200, and resident memory once idle.
# Usage: deploy/bench/startup.sh [path/to/truckpass]   (default target/release/truckpass)
set -euo pipefail
bin=${1:-target/release/truckpass}
dir=$(mktemp -d)
port=${PORT:-18099}
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

start=$(date +%s%N)
TRUCKPASS_DATA_DIR="$dir/data" TRUCKPASS_LISTEN="127.0.0.1:$port" RUST_LOG=warn "$bin" >"$dir/out.log" 2>&1 &
pid=$!
until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/out.log"; exit 1; }
    sleep 0.005
done
ready=$(date +%s%N)
echo "start to /readyz OK: $(( (ready - start) / 1000000 )) ms (includes migrations, key generation and the first admin's argon2 hash)"
sleep 2
echo "idle RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
echo "binary size: $(stat -c %s "$bin") bytes"
