# Shared by the benchmark scripts in deploy/bench (sourced, from the repository root):
# starting and stopping the release build, seeding an enterprise code, fresh
# PostgreSQL databases, API calls and accounts, and a page measured with wrk. Expects
# `bin`, `base` and `dir` to be set, and the server's TRUCKPASS_* settings exported.

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# A valid unified social credit code (GB 32100 check character) from a seed of 9
# characters of [0-9A-HJ-NPQRTUWXY].
credit_code() {
    python3 - "$1" <<'PY'
import sys
charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
body = "91350100" + sys.argv[1]
check = (31 - sum(charset.index(c) * w for c, w in zip(body, weights)) % 31) % 31
print(body + charset[check])
PY
}

# start_server LOG: starts $bin in the background (pid in $pid) and waits until
# $base/readyz answers. Never benchmarks (and writes into) somebody else's server.
start_server() {
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then
        echo "$base is already serving; set PORT" >&2
        exit 1
    fi
    "$bin" >"$1" 2>&1 &
    pid=$!
    until curl -fsS "$base/readyz" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { cat "$1"; exit 1; }
        sleep 0.05
    done
}

stop_server() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
}

# admin_token [BASE]: signs the first admin in ($TRUCKPASS_ADMIN_PASSWORD).
admin_token() {
    curl -fsS "${1:-$base}/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"username\":\"admin\",\"password\":\"$TRUCKPASS_ADMIN_PASSWORD\"}" | json "['access_token']"
}

# seed_code TOKEN NAME SEED [BASE]: a sector, a park and an enterprise named NAME
# (codes and credit code from SEED, 9 characters of [0-9A-HJ-NPQRTUWXY]); prints the
# enterprise's code token.
seed_code() {
    local token=$1 name=$2 seed=$3 at=${4:-$base} sector park enterprise
    local auth=(-H "authorization: Bearer $token" -H 'content-type: application/json')
    sector=$(curl -fsS "$at/api/v1/sectors" "${auth[@]}" \
      -d "{\"code\":\"S$seed\",\"name\":\"物流行业$seed\",\"authority\":\"交通运输局\"}" | json "['id']")
    park=$(curl -fsS "$at/api/v1/parks" "${auth[@]}" \
      -d "{\"code\":\"P$seed\",\"name\":\"压测园区$seed\"}" | json "['id']")
    enterprise=$(curl -fsS "$at/api/v1/enterprises" "${auth[@]}" \
      -d "{\"name\":\"$name\",\"credit_code\":\"$(credit_code "$seed")\",\"sector_id\":\"$sector\",\"park_id\":\"$park\"}" | json "['id']")
    curl -fsS "$at/api/v1/enterprises/$enterprise/code" "${auth[@]}" | json "['token']"
}

# fresh_database URL: drops and recreates the PostgreSQL database URL names.
fresh_database() {
    local database=${1##*/} maintenance=${1%/*}/postgres
    database=${database%%\?*}
    psql "$maintenance" -qc "DROP DATABASE IF EXISTS \"$database\"" -c "CREATE DATABASE \"$database\""
}

# drop_database URL
drop_database() {
    local database=${1##*/} maintenance=${1%/*}/postgres
    database=${database%%\?*}
    psql "$maintenance" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)"
}

# ms START END: milliseconds between two `date +%s.%N` (or curl's seconds) readings.
ms() { python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$1" "$2"; }

# api METHOD PATH TOKEN [JSON]: the API's answer, or the script stops.
api() {
    curl -fsS -X "$1" "$base$2" -H "authorization: Bearer $3" -H 'content-type: application/json' ${4:+-d "$4"}
}

# account ADMIN_TOKEN USERNAME JSON_FIELDS: an account made through the API with its
# first password ($first_password) changed to $password, as every new account must.
account() {
    api POST /api/v1/users "$1" "{\"username\":\"$2\",\"display_name\":\"压测$2\",\"password\":\"$first_password\",$3}" >/dev/null
    local first
    first=$(curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"username\":\"$2\",\"password\":\"$first_password\"}" | json "['access_token']")
    api PUT /api/v1/me/password "$first" \
      "{\"current_password\":\"$first_password\",\"new_password\":\"$password\"}" >/dev/null
}

# status_and_size COOKIE AUTHORIZATION PATH: "STATUS BYTES SECONDS" of one
# uncompressed GET.
status_and_size() {
    curl -sS --max-time 300 -o /dev/null -w '%{http_code} %{size_download} %{time_total}\n' "$base$3" \
      ${1:+-H "cookie: tp_console=$1"} ${2:+-H "authorization: $2"}
}

# page LABEL COOKIE AUTHORIZATION PATH: one page under wrk (console.lua) with
# $connections connections for $seconds s, printed as one line with its verdict
# against $page_p99_ms (20) and $page_max_bytes (102400). Skipped unless LABEL matches
# BENCH_ONLY. Expects `label`, `connections`, `seconds` and `here` to be set.
page() {
    local name=$1 cookie=$2 authorization=$3 path=$4 before limit=${page_p99_ms:-20} most=${page_max_bytes:-102400}
    [[ $name =~ ${BENCH_ONLY:-.} ]] || return 0
    before=$(status_and_size "$cookie" "$authorization" "$path")
    [[ ${before%% *} == 200 ]] || { echo "$name: $path answered ${before%% *}" >&2; exit 1; }
    BENCH_PATH=$path BENCH_COOKIE=$cookie BENCH_AUTHORIZATION=$authorization \
      wrk -t2 -c"$connections" -d"${seconds}s" --timeout 30s --latency -s "$here/console.lua" "$base" >"$dir/wrk.txt"
    local status bytes single rate p50 p99 ok other errors verdict=""
    read -r status bytes single < <(status_and_size "$cookie" "$authorization" "$path")
    [[ $status == 200 ]] || verdict+="  ANSWERED $status after the run"
    read -r _ rate p50 p99 ok other errors < <(grep '^RESULT' "$dir/wrk.txt")
    awk -v p="$p99" -v l="$limit" 'BEGIN { exit !(p >= l) }' && verdict+="  p99 OVER $limit ms"
    (( bytes >= most )) && verdict+="  page OVER $((most / 1024)) KB"
    printf '%-8s %-32s %6s req/s  p50 %6s ms  p99 %6s ms  non-2xx/3xx: %s  socket errors: %s  page: %s bytes  alone: %s ms%s\n' \
      "$label" "$name" "$rate" "$p50" "$p99" "$other" "$errors" "$bytes" "$(ms 0 "$single")" "$verdict"
}

# pass_tokens OUT COUNT LETTER ARRIVAL [approved]: registers COUNT drivers one by one at
# the code $code (plates 闽<LETTER>....., arriving at ARRIVAL in the zone's time) and
# writes their pass tokens to OUT; with `approved`, each pass must come back approved
# (the enterprise approves automatically).
pass_tokens() {
    python3 - "$base" "$code" "$4" "$2" "$3" "$1" "${5:-}" <<'PY'
import json, sys, urllib.request
base, code, arrival, count, letter, out, approved = sys.argv[1:]
serials = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
with open(out, "w") as f:
    for i in range(int(count)):
        body = {"consent": True, "driver_name": "李四", "document_type": "resident_id",
                "document_number": "11010519491231002X", "phone": "13800138000",
                "plate": "闽" + letter + "".join(serials[(i // 34 ** k) % 34] for k in (4, 3, 2, 1, 0)),
                "vehicle_type": "heavy_truck", "origin_region": "350102", "cargo": "钢材",
                "purpose": "deliver", "expected_arrival": arrival, "people_in_cab": 1}
        request = urllib.request.Request(
            f"{base}/api/v1/public/codes/{code}/registrations", json.dumps(body).encode(),
            {"content-type": "application/json"})
        with urllib.request.urlopen(request) as response:
            answer = json.load(response)
            assert response.status == 201, response.status
            assert not approved or answer["status"] == "approved", answer
            f.write(answer["token"] + "\n")
PY
}
