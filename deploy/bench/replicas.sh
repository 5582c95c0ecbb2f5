#!/usr/bin/env bash
# Two replicas on one PostgreSQL behind nginx, started locally on loopback ports with
# the same keys (TRUCKPASS_JWT_SECRET, TRUCKPASS_DATA_KEY), each run registering
# drivers at an enterprise of its own (wrk -t2 -cBENCH_CONNECTIONS, register.lua, for
# BENCH_SECONDS):
#   1. one replica behind nginx, with the machine's cores (the default threads)
#   2. both replicas behind nginx (least_conn), each with half the cores' worth of
#      HTTP workers and PostgreSQL writers, as if each had a machine of its own
#   3. both behind nginx, and one of them killed with SIGKILL a third of the way in:
#      every acknowledged (201) registration must be stored, and the audit chain,
#      linked and verified through the surviving replica, must be intact with nothing
#      left waiting
# BENCH_POSTGRES_URL names a database the script DROPS and recreates, e.g.
# postgres://postgres@127.0.0.1:5432/truckpass_bench.
# Usage: deploy/bench/replicas.sh   (from the repository root; needs curl, python3, wrk,
# psql and nginx: apt-get install nginx-light)
# Tunables: BENCH_SECONDS (20), BENCH_CONNECTIONS (64), PORT (18095: nginx; the
# replicas take the next two).
set -euo pipefail
: "${BENCH_POSTGRES_URL:?set BENCH_POSTGRES_URL to a database this script may drop}"
command -v nginx >/dev/null || { echo "needs nginx (apt-get install nginx-light)" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/truckpass
here=deploy/bench
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_CONNECTIONS:-64}
port=${PORT:-18095}
dir=$(mktemp -d)
chmod 755 "$dir"
pids=()
cleanup() {
    [[ -f "$dir/nginx.pid" ]] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
    for replica in "${pids[@]}"; do kill "$replica" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
source "$here/lib.sh"
fresh_database "$BENCH_POSTGRES_URL"

export DATABASE_URL=$BENCH_POSTGRES_URL RUST_LOG=warn
export TRUCKPASS_ADMIN_PASSWORD='Bench-Ledger-Kiln-47-Orbit'
export TRUCKPASS_PUBLIC_RATE_PER_IP=100000000 TRUCKPASS_PUBLIC_RATE_PER_CODE=100000000
export TRUCKPASS_JWT_SECRET=$(openssl rand -hex 32) TRUCKPASS_DATA_KEY=$(openssl rand -hex 32)
export BENCH_ARRIVAL=$(date -u -d '+8 hours +1 day' +%Y-%m-%dT10:00)
ports=($((port + 1)) $((port + 2)))
# replicas N THREADS: (re)starts replicas 0..N-1, each with THREADS HTTP workers and
# PostgreSQL writers (0: one per core, the default).
replicas() {
    local n
    for n in "${!pids[@]}"; do kill "${pids[n]}" 2>/dev/null || true; wait "${pids[n]}" 2>/dev/null || true; done
    pids=()
    for ((n = 0; n < $1; n++)); do
        base="http://127.0.0.1:${ports[n]}"
        TRUCKPASS_LISTEN="127.0.0.1:${ports[n]}" TRUCKPASS_DATA_DIR="$dir/replica$n" \
          TRUCKPASS_WORKERS=$2 TRUCKPASS_DB_WRITERS=$2 start_server "$dir/replica$n.log"
        pids+=("$pid")
    done
    base="http://127.0.0.1:${ports[0]}"
}
replicas 1 0
token=$(admin_token)

# nginx_with PORTS...: (re)starts nginx on $port in front of those replicas.
nginx_with() {
    [[ -f "$dir/nginx.pid" ]] && { kill "$(cat "$dir/nginx.pid")"; sleep 0.3; }
    local servers="" replica
    for replica in "$@"; do servers+="server 127.0.0.1:$replica max_fails=3 fail_timeout=10s; "; done
    mkdir -p "$dir/nginx"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    upstream truckpass { least_conn; $servers keepalive 64; }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://truckpass;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
        }
    }
}
CONF
    nginx -c "$dir/nginx.conf" -p "$dir/nginx"
    until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.05; done
}

# run LABEL SEED [KILL_AFTER]: a run through nginx at a fresh enterprise; prints its
# figures and checks that what was acknowledged is stored.
run() {
    local label=$1 code rate p50 p99 created other errors stored statuses
    code=$(seed_code "$token" "福州副本压测${2}有限公司" "$2")
    BENCH_CODE_TOKEN=$code wrk -t2 -c"$connections" -d"${seconds}s" --latency \
      -s "$here/register.lua" "http://127.0.0.1:$port" >"$dir/$label.txt" &
    local load=$!
    if [[ -n "${3:-}" ]]; then
        sleep "$3"
        kill -9 "${pids[1]}"
        wait "${pids[1]}" 2>/dev/null || true
        echo "killed replica 2 (SIGKILL) $3 s into the run"
    fi
    wait "$load"
    read -r _ rate p50 p99 created other errors < <(grep '^RESULT' "$dir/$label.txt")
    statuses=$(grep '^STATUSES' "$dir/$label.txt" | cut -d' ' -f2-)
    stored=$(psql "$DATABASE_URL" -Atc "select count(*) from registrations r
      join enterprise_codes c on c.enterprise_id = r.enterprise_id where c.token = '$code'")
    printf '%-22s %6s reg/s  p50 %6s ms  p99 %6s ms  answers: %s  other: %s  socket errors: %s  acknowledged %s, stored %s\n' \
      "$label" "$rate" "$p50" "$p99" "$statuses" "$other" "$errors" "$created" "$stored"
    if (( stored < created )); then
        echo "LOST: $((created - stored)) acknowledged registrations are not stored" >&2
        exit 1
    fi
}

nginx_with "${ports[0]}"
run "one replica" MA8REPL01
# Two replicas on this one machine share its cores, as each would have a machine of its
# own: half the cores' worth of workers and writers each.
replicas 2 $(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))
token=$(admin_token)
nginx_with "${ports[@]}"
run "two replicas" MA8REPL02
run "two, one killed" MA8REPL03 $((seconds / 3))
verified=$(curl -fsS "$base/api/v1/audit/verify" -H "authorization: Bearer $token" |
  python3 -c "import json,sys; v=json.load(sys.stdin); print('ok' if v['ok'] else 'BROKEN', v['checked'], 'entries,', v['waiting'], 'waiting')")
echo "audit chain, verified through the surviving replica: $verified"
drop_database "$BENCH_POSTGRES_URL"
