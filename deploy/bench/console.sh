#!/usr/bin/env bash
# Staff console figures with the release build over a zone of BENCH_ENTERPRISES
# (10,000) enterprises and BENCH_REGISTRATIONS (1,000,000) filings, BENCH_CONNECTIONS
# (16) users on loopback (wrk -t2) for BENCH_SECONDS (10) per page:
#   - an enterprise contact (of an enterprise with about the average number of
#     filings): GET /console/registrations, and the home page GET /console/
#   - a regulator (sees the whole zone): GET /console/registrations unfiltered, by
#     status, by status and day of arrival (today, and a day a month ago), by plate,
#     by origin province and day;
#     the same query as the status-and-day page through GET /api/v1/registrations
#     with limit=50; the roster GET /console/enterprises, and searched (q=); the home
#     page GET /console/ (counts of pending and approved filings arriving from today)
# For each: requests/s, p50 and p99, answers outside 2xx/3xx, and the page's size as
# served without compression and the time of one request alone after the run; every
# page is checked to answer 200 before and after its run (wrk alone would not see a
# 303 to the sign-in). The server is warmed up for 3 s first, unreported.
# The roster and filings are seeded by console_seed.py straight into the database the
# binary created (its migrations, its sectors, parks and admin), with one filing the
# service stored through the public API as the pattern of every stored value; the
# two accounts are made through the API and sign in through the console's form.
# SQLite (synchronous=FULL, the default); PostgreSQL instead when BENCH_POSTGRES_URL
# names a database the script DROPS and recreates (its user needs CREATEDB), e.g.
# postgres://postgres@127.0.0.1:5432/truckpass_console.
# Usage: deploy/bench/console.sh   (from the repository root; needs curl, python3, wrk, psql for PostgreSQL)
# Tunables: BENCH_ENTERPRISES (10000), BENCH_REGISTRATIONS (1000000), BENCH_SECONDS (10),
# BENCH_CONNECTIONS (16), BENCH_THINK_MS (0): each user's pause between pages (0: none,
# every connection asks again at once, which measures the server saturated), BENCH_ONLY: a regex, measure only the pages whose label
# (as printed) matches it; PORT (18096), BIN: measure that binary instead of building
# this tree; BENCH_DIR: keep the seeded database there (and a PostgreSQL database in
# place) and reuse it on the next run with the same BENCH_DIR, to compare binaries
# without seeding 1,000,000 filings again (a binary with new migrations applies them
# to it at start).
set -euo pipefail
if [[ -z "${BIN:-}" ]]; then
    cargo build --release --quiet
fi
bin=${BIN:-target/release/truckpass}
here=deploy/bench
enterprises=${BENCH_ENTERPRISES:-10000}
filings=${BENCH_REGISTRATIONS:-1000000}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
port=${PORT:-18096}
base="http://127.0.0.1:$port"
dir=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$dir"
pid=
source "$here/lib.sh"

if [[ -n "${BENCH_POSTGRES_URL:-}" ]]; then
    label=postgres
    database=$BENCH_POSTGRES_URL
else
    label=sqlite
    database=$dir/$label/truckpass.db
fi
cleanup() {
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null
    if [[ -z "${BENCH_DIR:-}" ]]; then
        [[ $label == postgres ]] && drop_database "$database"
        rm -rf "$dir"
    fi
    return 0
}
trap cleanup EXIT
export TRUCKPASS_DATA_DIR="$dir/$label" TRUCKPASS_LISTEN="127.0.0.1:$port" RUST_LOG=warn
export DATABASE_URL=$([[ $label == postgres ]] && echo "$database" || echo "sqlite://$database")
export TRUCKPASS_ADMIN_PASSWORD='Bench-Ledger-Kiln-47-Orbit'
first_password='Copper-Meadow-29-Signal-Bench'
password='Quartz-Violin-83-Harbor-Bench'
seeded=$dir/seeded-$label
# The service's own database, sectors, parks, admin and one enterprise with one
# filing registered through the public API; the rest written straight into it.
seed() {
    [[ $label == postgres ]] && fresh_database "$database"
    rm -rf "$TRUCKPASS_DATA_DIR"
    start_server "$dir/seed.log"
    local token sectors=() parks=() enterprise code
    token=$(admin_token)
    for code in HG JX WL; do
        sectors+=("$(api POST /api/v1/sectors "$token" \
          "{\"code\":\"$code\",\"name\":\"${code}行业\",\"authority\":\"应急管理局\"}" | json "['id']")")
    done
    for code in EAST WEST SOUTH NORTH PORT; do
        parks+=("$(api POST /api/v1/parks "$token" "{\"code\":\"$code\",\"name\":\"${code}园区\"}" | json "['id']")")
    done
    enterprise=$(api POST /api/v1/enterprises "$token" \
      "{\"name\":\"福州压测物流有限公司\",\"credit_code\":\"$(credit_code MA8BENCH1)\",\"sector_id\":\"${sectors[0]}\",\"park_id\":\"${parks[0]}\"}" |
      json "['id']")
    code=$(api GET "/api/v1/enterprises/$enterprise/code" "$token" | json "['token']")
    curl -fsS "$base/api/v1/public/codes/$code/registrations" -H 'content-type: application/json' -o /dev/null -d \
      "{\"consent\":true,\"driver_name\":\"李四\",\"document_type\":\"resident_id\",\"document_number\":\"11010519491231002X\",\"phone\":\"13800138000\",\"plate\":\"闽B12345\",\"vehicle_type\":\"heavy_truck\",\"origin_region\":\"350102\",\"cargo\":\"钢材\",\"purpose\":\"deliver\",\"expected_arrival\":\"$(date -u -d '+8 hours +1 day' +%Y-%m-%dT10:00)\",\"people_in_cab\":1}"
    stop_server

    local t0 t1 choice
    t0=$(date +%s.%N)
    choice=$(python3 "$here/console_seed.py" "$database" "$enterprises" "$filings")
    t1=$(date +%s.%N)
    echo "seeded $enterprises enterprises and $filings filings by direct inserts: $(ms "$t0" "$t1") ms"

    start_server "$dir/seed.log"
    token=$(admin_token)
    account "$token" regulator1 '"role":"regulator"'
    account "$token" contact1 "\"role\":\"enterprise_contact\",\"enterprise_id\":\"${choice%% *}\""
    stop_server
    echo "$choice" >"$seeded"
}

# console_session USERNAME: signs in through the console's form; prints the session
# cookie's value.
console_session() {
    local jar=$dir/jar-$1 csrf
    rm -f "$jar"
    csrf=$(curl -fsS -c "$jar" "$base/console/login" |
      python3 -c "import re,sys; print(re.search(r'name=\"csrf\" value=\"([^\"]+)\"', sys.stdin.read())[1])")
    curl -fsS -b "$jar" -c "$jar" -o /dev/null "$base/console/login" \
      --data-urlencode "username=$1" --data-urlencode "password=$password" --data-urlencode "csrf=$csrf"
    awk '$6 == "tp_console" { print $7 }' "$jar"
}

if [[ ! -s "$seeded" ]]; then
    seed
fi
read -r enterprise own plate <"$seeded"
echo "cores: $(nproc)   load average before: $(cut -d' ' -f1-3 /proc/loadavg)   binary: $bin"
t0=$(date +%s.%N)
start_server "$dir/server.log"
t1=$(date +%s.%N)
echo "$label: $enterprises enterprises, $filings filings; server ready in $(ms "$t0" "$t1") ms (migrations included)"
echo "contact's enterprise: $own filings; plate searched: $plate ($( [[ $label == postgres ]] &&
  psql "$database" -Atc "select count(*) from registrations where plate = '$plate'" ||
  python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from registrations where plate = ?', (sys.argv[2],)).fetchone()[0])" "$database" "$plate") filings)"
regulator=$(console_session regulator1)
contact=$(console_session contact1)
bearer="Bearer $(curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"regulator1\",\"password\":\"$password\"}" | json "['access_token']")"
today=$(TZ=Asia/Shanghai date +%F)
month_ago=$(TZ=Asia/Shanghai date -d '-30 days' +%F)
encoded_plate=$(python3 -c "import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))" "$plate")

# Warm-up, not reported: caches, and the retention job's first run at start-up.
BENCH_PATH=/console/registrations BENCH_COOKIE=$regulator \
  wrk -t2 -c"$connections" -d3s -s "$here/console.lua" "$base" >/dev/null

page "contact filings" "$contact" "" /console/registrations
page "contact home" "$contact" "" /console/
page "regulator filings" "$regulator" "" /console/registrations
page "regulator filings pending" "$regulator" "" "/console/registrations?status=pending"
page "regulator approved today" "$regulator" "" "/console/registrations?status=approved&from=$today&to=$today"
page "regulator approved a month ago" "$regulator" "" "/console/registrations?status=approved&from=$month_ago&to=$month_ago"
page "regulator filings on a day" "$regulator" "" "/console/registrations?from=$today&to=$today"
page "regulator filings from a province, a day" "$regulator" "" "/console/registrations?origin=440000&from=$today&to=$today"
page "regulator filings by plate" "$regulator" "" "/console/registrations?plate=$encoded_plate"
page "API approved today, limit=50" "" "$bearer" "/api/v1/registrations?status=approved&from=$today&to=$today&limit=50"
page "regulator roster" "$regulator" "" /console/enterprises
page "regulator roster q=第123" "$regulator" "" "/console/enterprises?q=%E7%AC%AC123"
page "regulator home" "$regulator" "" /console/
stop_server
