# Shared by the benchmark scripts in deploy/bench (sourced, from the repository root):
# starting and stopping the release build, seeding an enterprise code, fresh
# PostgreSQL databases. Expects `bin`, `base` and `dir` to be set, and the server's
# TRUCKPASS_* settings exported.

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
