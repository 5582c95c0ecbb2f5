#!/usr/bin/env bash
# Roster export figures on SQLite with the release build: BENCH_ENTERPRISES (100,000)
# enterprises, seeded by direct inserts into the database the binary itself created
# (its migrations, its sectors and parks), then GET /api/v1/enterprises/export.csv and
# export.xlsx, each from a freshly started server. For each: time to the first byte and
# to the last, the size, the rows in the file, and the server's resident memory
# before the download and its peak during it (VmRSS, then VmHWM from
# /proc/PID/status, the peak reset after sign-in with clear_refs so that the argon2
# hash of the sign-in does not count).
# Usage: deploy/bench/export.sh   (from the repository root; needs curl and python3)
# Tunables: BENCH_ENTERPRISES (100000), PORT (18099), BIN: measure that binary instead
# of building this tree (e.g. a release build of an older commit, to compare).
set -euo pipefail
if [[ -z "${BIN:-}" ]]; then
    cargo build --release --quiet
fi
bin=${BIN:-target/release/truckpass}
here=deploy/bench
count=${BENCH_ENTERPRISES:-100000}
port=${PORT:-18099}
base="http://127.0.0.1:$port"
dir=$(mktemp -d)
pid=
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
export TRUCKPASS_DATA_DIR="$dir/data" TRUCKPASS_LISTEN="127.0.0.1:$port" RUST_LOG=warn
export TRUCKPASS_ADMIN_PASSWORD='Bench-Ledger-Kiln-47-Orbit'

source "$here/lib.sh"

# The database, the admin, three sectors and five parks, made by the service.
start_server "$dir/server.log"
token=$(admin_token)
auth=(-H "authorization: Bearer $token" -H 'content-type: application/json')
for code in HG JX WL; do
    curl -fsS "$base/api/v1/sectors" "${auth[@]}" \
      -d "{\"code\":\"$code\",\"name\":\"${code}行业\",\"authority\":\"应急管理局\"}" >/dev/null
done
for code in EAST WEST SOUTH NORTH PORT; do
    curl -fsS "$base/api/v1/parks" "${auth[@]}" -d "{\"code\":\"$code\",\"name\":\"${code}园区\"}" >/dev/null
done
stop_server

t0=$(date +%s.%N)
python3 - "$TRUCKPASS_DATA_DIR/truckpass.db" "$count" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
count = int(sys.argv[2])
units = {kind: [row[0] for row in db.execute("SELECT id FROM org_units WHERE kind = ? ORDER BY code", (kind,))]
         for kind in ("sector", "park")}
(at,) = db.execute("SELECT created_at FROM org_units LIMIT 1").fetchone()
charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
def code(i):
    body = "91350100" + "".join(charset[b % 31] for b in hashlib.sha256(str(i).encode()).digest()[:9])
    check = (31 - sum(charset.index(c) * w for c, w in zip(body, weights)) % 31) % 31
    return body + charset[check]
statuses = ["operating"] * 8 + ["suspended", "closed"]
rows = ((f"00000000-0000-7000-8000-{i:012d}", f"福州第{i}号新材料有限公司", code(i),
         units["sector"][i % len(units["sector"])], units["park"][i % len(units["park"])],
         f"福州市马尾区高新大道{i}号", i % 7 == 0, statuses[i % len(statuses)],
         119.0 + (i % 10000) / 10000, 26.0 + (i % 1000) / 10000, at, at) for i in range(count))
with db:
    db.executemany("INSERT INTO enterprises (id, name, credit_code, sector_id, park_id, address, "
                   "key_enterprise, status, longitude, latitude, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
PY
t1=$(date +%s.%N)
ms() { python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$1" "$2"; }
echo "seeded $count enterprises by direct inserts: $(ms "$t0" "$t1") ms"
echo "binary: $bin"

kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$pid/status"; }
mib() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1024:.1f}')" "$1"; }

# Rows in an export: CSV lines after the header (no cell of ours spans lines), or the
# <row> elements of the XLSX sheet after the header row.
rows_in() {
    python3 - "$1" <<'PY'
import sys, zipfile
path = sys.argv[1]
if zipfile.is_zipfile(path):
    with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as sheet:
        rows, tail = 0, b""
        while chunk := sheet.read(1 << 20):
            rows += (tail + chunk).count(b"<row ")
            tail = chunk[-4:]
    print(rows - 1)
else:
    with open(path, "rb") as f:
        print(sum(1 for _ in f) - 1)
PY
}

for format in csv xlsx; do
    start_server "$dir/server-$format.log"
    token=$(admin_token)
    echo 5 >"/proc/$pid/clear_refs"
    before=$(kib VmRSS)
    timing=$(curl -fsS "$base/api/v1/enterprises/export.$format" -H "authorization: Bearer $token" \
      -o "$dir/export.$format" -w '%{time_starttransfer} %{time_total} %{size_download}') \
      || { grep -m3 -i error "$dir/server-$format.log" | cut -c1-300; exit 1; }
    peak=$(kib VmHWM)
    read -r first last bytes <<<"$timing"
    echo "export.$format: $(rows_in "$dir/export.$format") rows, $bytes bytes," \
      "first byte $(ms 0 "$first") ms, last byte $(ms 0 "$last") ms;" \
      "server RSS $(mib "$before") MiB before, peak $(mib "$peak") MiB (+$(mib $((peak - before))) MiB)"
    stop_server
done
