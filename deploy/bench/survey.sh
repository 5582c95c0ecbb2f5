#!/usr/bin/env bash
# Enterprise survey (企业摸排) figures with the release build over a zone of 12 sectors
# and 5 parks, BENCH_ENTERPRISES (10,000) enterprises, BENCH_SURVEYORS (500)
# surveyors spread over the 17 sector and park teams, and one running campaign over
# the whole zone with every enterprise a case and BENCH_VISITS (100,000) visits:
#   - starting a draft campaign (PATCH status=running, which creates its cases), one
#     request through the API, in ms (target under 2 s)
#   - assigning its cases balanced over every surveyor (POST
#     /api/v1/survey/campaigns/{id}/cases/assign, mode=balanced), one request, in ms
#     (target under 2 s)
#   - the full ledger matrix GET /api/v1/survey/campaigns/{id}/coverage as the
#     regulator, and a surveyor's case list GET /api/v1/me/cases (first page) of a
#     surveyor with about the average number of cases, each under BENCH_CONNECTIONS
#     (16) users on loopback (wrk -t2) for BENCH_SECONDS (10): requests/s, p50 and p99
#     (target p99 under 50 ms), checked to answer 200 before and after, as console.sh
#     measures its pages. The server is warmed up for 3 s first, unreported.
#   - scoring every enterprise (POST /api/v1/survey/campaigns/{id}/scoring/run as the
#     regulator, the default rules over BENCH_ENTERPRISES approved submissions), one
#     request, in ms (target under 1 s), twice: the first run writes the version's
#     scores, the second replaces them.
# Seeding: sectors, parks and the regulator through the API; the surveyors through
# the team sheet import (POST /api/v1/survey/surveyors/import, one CSV), the one
# measured activating their account with the code it gave; the roster straight into
# the database (survey_seed.py); the campaign created, started and assigned through
# the API (the two timed figures come from this, on the freshly seeded database);
# then the visits straight into the database over the past 30 days, each moving its
# case as the service would have, and one approved submission on every case
# (survey_seed.py); on PostgreSQL the bulk load is then settled (VACUUM ANALYZE,
# CHECKPOINT) as a database in service would be.
# SQLite (synchronous=FULL, the default); PostgreSQL instead when BENCH_POSTGRES_URL
# names a database the script DROPS and recreates (its user needs CREATEDB), e.g.
# postgres://postgres@127.0.0.1:5432/truckpass_survey.
# Usage: deploy/bench/survey.sh   (from the repository root; needs curl, python3, wrk, psql for PostgreSQL)
# Tunables: BENCH_ENTERPRISES (10000), BENCH_SURVEYORS (500, at most 1000: one sheet),
# BENCH_VISITS (100000), BENCH_SECONDS (10), BENCH_CONNECTIONS (16), BENCH_THINK_MS
# (0): each user's pause between pages, BENCH_ONLY: a regex of the pages to measure;
# PORT (18097), BIN: measure that binary instead of building this tree; BENCH_DIR:
# keep the seeded database there (and a PostgreSQL database in place) and reuse it on
# the next run with the same BENCH_DIR (the start and assignment figures are then the
# ones measured when it was seeded, and say so).
set -euo pipefail
if [[ -z "${BIN:-}" ]]; then
    cargo build --release --quiet
fi
bin=${BIN:-target/release/truckpass}
here=deploy/bench
enterprises=${BENCH_ENTERPRISES:-10000}
surveyors=${BENCH_SURVEYORS:-500}
visits=${BENCH_VISITS:-100000}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
port=${PORT:-18097}
base="http://127.0.0.1:$port"
dir=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$dir"
pid=
page_p99_ms=50
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
sectors=(HG JX WL SP DZ JC YY XC FZ NY HB GX)
parks=(EAST WEST SOUTH NORTH PORT)

# timed METHOD PATH TOKEN JSON: one API call; prints "HTTP_STATUS MS", the answer in
# $dir/answer.json.
timed() {
    curl -sS -o "$dir/answer.json" -w '%{http_code} %{time_total}\n' -X "$1" "$base$2" \
      -H "authorization: Bearer $3" -H 'content-type: application/json' -d "$4" |
      while read -r status seconds; do echo "$status $(ms 0 "$seconds")"; done
}

# The service's own database, sectors, parks, surveyors, regulator and campaign made
# through the API; the roster and visits written straight into it.
seed() {
    [[ $label == postgres ]] && fresh_database "$database"
    rm -rf "$TRUCKPASS_DATA_DIR"
    start_server "$dir/seed.log"
    local token code i
    token=$(admin_token)
    for code in "${sectors[@]}"; do
        api POST /api/v1/sectors "$token" "{\"code\":\"$code\",\"name\":\"${code}行业\",\"authority\":\"${code}主管局\"}" >/dev/null
    done
    for code in "${parks[@]}"; do
        api POST /api/v1/parks "$token" "{\"code\":\"$code\",\"name\":\"${code}园区\"}" >/dev/null
    done
    stop_server

    local t0 t1
    t0=$(date +%s.%N)
    python3 "$here/survey_seed.py" enterprises "$database" "$enterprises"
    t1=$(date +%s.%N)
    echo "seeded $enterprises enterprises by direct inserts: $(ms "$t0" "$t1") ms"

    start_server "$dir/seed.log"
    token=$(admin_token)
    local teams=("${sectors[@]}" "${parks[@]}")
    {
        echo "姓名,手机号,所属行业或园区"
        for ((i = 0; i < surveyors; i++)); do
            printf '压测员%d,139%08d,%s\n' "$i" "$i" "${teams[i % ${#teams[@]}]}"
        done
    } >"$dir/surveyors.csv"
    curl -fsS "$base/api/v1/survey/surveyors/import" -H "authorization: Bearer $token" \
      -H 'content-type: text/csv' --data-binary "@$dir/surveyors.csv" >"$dir/surveyors.json"
    [[ $(json "['written']" <"$dir/surveyors.json") == True ]] ||
      { echo "surveyor import wrote nothing:" >&2; head -c 2000 "$dir/surveyors.json" >&2; exit 1; }
    account "$token" regulator1 '"role":"regulator"'

    local campaign ids start assign
    campaign=$(api POST /api/v1/survey/campaigns "$token" \
      "{\"name\":\"压测全区摸排\",\"starts_on\":\"$(TZ=Asia/Shanghai date +%F)\",\"ends_on\":\"$(TZ=Asia/Shanghai date -d '+90 days' +%F)\"}" |
      json "['id']")
    start=$(timed PATCH "/api/v1/survey/campaigns/$campaign" "$token" '{"status":"running"}')
    [[ ${start%% *} == 200 ]] || { echo "start answered ${start%% *}:" >&2; cat "$dir/answer.json" >&2; exit 1; }
    ids=$(python3 -c "import json,sys; print(json.dumps([a['id'] for a in json.load(sys.stdin)['accounts']]))" <"$dir/surveyors.json")
    assign=$(timed POST "/api/v1/survey/campaigns/$campaign/cases/assign" "$token" \
      "{\"mode\":\"balanced\",\"surveyor_ids\":$ids}")
    [[ ${assign%% *} == 200 ]] || { echo "assignment answered ${assign%% *}:" >&2; cat "$dir/answer.json" >&2; exit 1; }
    local assigned uncovered
    assigned=$(json "['assigned']" <"$dir/answer.json")
    uncovered=$(json "['uncovered']" <"$dir/answer.json")
    stop_server

    t0=$(date +%s.%N)
    local surveyor username cases
    read -r surveyor username cases < <(python3 "$here/survey_seed.py" visits "$database" "$campaign" "$visits" 30)
    t1=$(date +%s.%N)
    echo "seeded $visits visits by direct inserts: $(ms "$t0" "$t1") ms"
    t0=$(date +%s.%N)
    local approved
    approved=$(python3 "$here/survey_seed.py" answers "$database" "$campaign")
    t1=$(date +%s.%N)
    echo "seeded $approved approved submissions by direct inserts: $(ms "$t0" "$t1") ms"
    if [[ $label == postgres ]]; then
        # What a database in service has long since had: the bulk load's hint bits
        # set, its statistics gathered and its pages checkpointed. Measured straight
        # after a bulk load, PostgreSQL is still doing this (the surveyor's list had
        # a p99 of 114-374 ms then, 23 ms once settled).
        t0=$(date +%s.%N)
        psql "$database" -qc 'VACUUM (ANALYZE)' -c 'CHECKPOINT'
        t1=$(date +%s.%N)
        echo "settled the bulk load (VACUUM ANALYZE, CHECKPOINT): $(ms "$t0" "$t1") ms"
    fi

    start_server "$dir/seed.log"
    code=$(python3 -c "import json,sys; print(next(a['activation']['code'] for a in json.load(sys.stdin)['accounts'] if a['id'] == sys.argv[1]))" \
      "$surveyor" <"$dir/surveyors.json")
    curl -fsS "$base/api/v1/auth/activate" -H 'content-type: application/json' -o /dev/null \
      -d "{\"username\":\"$username\",\"code\":\"$code\",\"password\":\"$password\"}"
    stop_server
    echo "$campaign $username $cases ${start#* } ${assign#* } $assigned $uncovered" >"$seeded"
}

fresh=
if [[ ! -s "$seeded" ]]; then
    seed
    fresh=1
fi
read -r campaign surveyor cases start_ms assign_ms assigned uncovered <"$seeded"
echo "cores: $(nproc)   load average before: $(cut -d' ' -f1-3 /proc/loadavg)   binary: $bin"
verdict() { (( $1 < 2000 )) || echo "  OVER 2000 ms"; }
when=$([[ -n $fresh ]] && echo "" || echo " (measured when $dir was seeded)")
printf '%-8s %-32s %6s ms%s%s\n' "$label" "start ($enterprises cases)" "$start_ms" "$(verdict "$start_ms")" "$when"
printf '%-8s %-32s %6s ms  assigned: %s  uncovered: %s%s%s\n' "$label" "assign balanced ($surveyors)" \
  "$assign_ms" "$assigned" "$uncovered" "$(verdict "$assign_ms")" "$when"

t0=$(date +%s.%N)
start_server "$dir/server.log"
t1=$(date +%s.%N)
echo "$label: $enterprises enterprises, $surveyors surveyors, $visits visits; server ready in $(ms "$t0" "$t1") ms (migrations included)"
echo "surveyor measured: $surveyor with $cases cases; case states: $( [[ $label == postgres ]] &&
  psql "$database" -Atc "select string_agg(state || ' ' || n, ', ' order by state) from (select state, count(*) n from survey_cases group by state) s" ||
  python3 -c "import sqlite3,sys; print(', '.join(f'{s} {n}' for s, n in sqlite3.connect(sys.argv[1]).execute('select state, count(*) from survey_cases group by state order by state')))" "$database")"
login() {
    curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"username\":\"$1\",\"password\":\"$password\"}" | json "['access_token']"
}
regulator="Bearer $(login regulator1)"
mine="Bearer $(login "$surveyor")"

# Warm-up, not reported.
BENCH_PATH="/api/v1/survey/campaigns/$campaign/coverage" BENCH_AUTHORIZATION=$regulator \
  wrk -t2 -c"$connections" -d3s -s "$here/console.lua" "$base" >/dev/null

page "regulator coverage ledger" "" "$regulator" "/api/v1/survey/campaigns/$campaign/coverage"
page "surveyor my cases" "" "$mine" /api/v1/me/cases
for attempt in first again; do
    scored=$(timed POST "/api/v1/survey/campaigns/$campaign/scoring/run" "${regulator#Bearer }" '{}')
    [[ ${scored%% *} == 200 ]] || { echo "scoring answered ${scored%% *}:" >&2; cat "$dir/answer.json" >&2; exit 1; }
    (( ${scored#* } < 1000 )) && over="" || over="  OVER 1000 ms"
    printf '%-8s %-32s %6s ms  scored: %s  classes: %s%s\n' "$label" "scoring run ($attempt)" "${scored#* }" \
      "$(json "['scored']" <"$dir/answer.json")" "$(json "['classes']" <"$dir/answer.json")" "$over"
done
stop_server
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
