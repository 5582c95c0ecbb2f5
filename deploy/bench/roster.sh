#!/usr/bin/env bash
# Roster and poster figures on SQLite (synchronous=FULL) with the release build:
#   - import of a 10,000-row CSV through POST /api/v1/enterprises/import
#   - the same file as XLSX (converted by the service's own export)
#   - one ZIP of the 500 posters of one park through GET /api/v1/posters.zip
# Usage: deploy/bench/roster.sh   (from the repository root; needs curl and python3)
set -euo pipefail
cargo build --release --quiet
bin=target/release/truckpass
dir=$(mktemp -d)
port=${PORT:-18097}
base="http://127.0.0.1:$port"
export TRUCKPASS_DATA_DIR="$dir/data" TRUCKPASS_LISTEN="127.0.0.1:$port" RUST_LOG=warn
export TRUCKPASS_ADMIN_PASSWORD='Bench-Ledger-Kiln-47-Orbit'
"$bin" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
until curl -fsS "$base/readyz" >/dev/null 2>&1; do sleep 0.05; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$TRUCKPASS_ADMIN_PASSWORD\"}" | json "['access_token']")
auth=(-H "authorization: Bearer $token")
post() { curl -fsS "$base$1" "${auth[@]}" -H 'content-type: application/json' -d "$2"; }
post /api/v1/sectors '{"code":"HG","name":"化工行业","authority":"应急管理局"}' >/dev/null
park500=$(post /api/v1/parks '{"code":"P500","name":"五百园区"}' | json "['id']")
post /api/v1/parks '{"code":"REST","name":"其他园区"}' >/dev/null

python3 - "$dir/roster.csv" <<'PY'
import sys, hashlib
charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
def code(i):
    body = "91350100" + "".join(charset[b % 31] for b in hashlib.sha256(str(i).encode()).digest()[:9])
    check = (31 - sum(charset.index(c) * w for c, w in zip(body, weights)) % 31) % 31
    return body + charset[check]
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("企业名称,统一社会信用代码,行业,园区,地址,重点企业,状态,经度,纬度\n")
    for i in range(10000):
        park = "P500" if i < 500 else "REST"
        f.write(f"福州第{i}号新材料有限公司,{code(i)},HG,{park},高新大道{i}号,{'是' if i % 7 == 0 else '否'},在营,119.{i:04d},26.0{i % 10}\n")
PY

ms() { python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$1" "$2"; }
t0=$(date +%s.%N)
curl -fsS "$base/api/v1/enterprises/import" "${auth[@]}" -H 'content-type: text/csv' \
  --data-binary "@$dir/roster.csv" | json "['inserted']" >"$dir/inserted"
t1=$(date +%s.%N)
echo "import 10,000 CSV rows (inserted $(cat "$dir/inserted")): $(ms "$t0" "$t1") ms"

curl -fsS "$base/api/v1/enterprises/export.xlsx" "${auth[@]}" -o "$dir/roster.xlsx"
t0=$(date +%s.%N)
curl -fsS "$base/api/v1/enterprises/import?dry_run=true" "${auth[@]}" \
  -H 'content-type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' \
  --data-binary "@$dir/roster.xlsx" | json "['unchanged']" >"$dir/unchanged"
t1=$(date +%s.%N)
echo "re-import 10,000 XLSX rows, dry run (unchanged $(cat "$dir/unchanged")): $(ms "$t0" "$t1") ms"

t0=$(date +%s.%N)
curl -fsS "$base/api/v1/posters.zip?park_id=$park500" "${auth[@]}" -o "$dir/posters.zip"
t1=$(date +%s.%N)
entries=$(python3 -c "import zipfile,sys; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))" "$dir/posters.zip")
echo "ZIP of $entries posters ($(stat -c %s "$dir/posters.zip") bytes): $(ms "$t0" "$t1") ms"
