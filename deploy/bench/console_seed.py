#!/usr/bin/env python3
"""Seeds the console benchmark's roster and filings for deploy/bench/console.sh.

Writes ENTERPRISES enterprises (one of them, made through the API, is kept) and
REGISTRATIONS registrations straight into the database the service created, with the
service's own sectors, parks and admin, and with the one registration it stored
through the public API as the pattern of every stored value (sealed and masked
personal data, answers, form and consent versions, validity around the arrival):
  - enterprises: time-ordered ids (UUIDv7) over the past two years, names and
    credit codes as in export.sh, spread over the sectors and parks
  - registrations: created over the past DAYS days in time order (so ids, UUIDv7 of
    created_at, grow as the service's do), arriving 1 to 72 hours later, at a
    uniformly chosen enterprise; 150,000 drivers, each with their own name, plate,
    document and phone (so a plate comes back about seven times), from real county
    codes (GB/T 2260); past filings mostly approved, upcoming ones often pending;
    filings older than RETENTION_DAYS (30, the service's default) anonymised as its
    retention job leaves them (else its first run at start-up would rewrite them)
SQLite: one transaction of executemany, and no ANALYZE, as the service never runs it
(its planner works without statistics); PostgreSQL: COPY through psql, then VACUUM
ANALYZE, as autovacuum would have done.
Prints one line: the enterprise closest to the average number of filings, its
number of filings, and a plate that came back most often within the retention.

Usage: console_seed.py DATABASE ENTERPRISES REGISTRATIONS
   DATABASE: a SQLite file, or a postgres:// URL (psql must be on the PATH)
"""

import base64
import csv
import datetime as dt
import hashlib
import io
import os
import random
import sqlite3
import subprocess
import sys
from collections import Counter

database, enterprise_count, registration_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
postgres = database.startswith(("postgres://", "postgresql://"))
random.seed(20261203)
DAYS = 88
DRIVERS = 150_000
RETENTION_DAYS = 30
REGIONS = os.path.join(os.path.dirname(__file__), "..", "..", "src", "domain", "regions", "regions.tsv")


def query(sql):
    """Rows of a query, as lists of text (PostgreSQL) or values (SQLite)."""
    if postgres:
        out = subprocess.run(["psql", database, "-qAc", f"\\copy ({sql}) to stdout with (format csv, header)"],
                             check=True, capture_output=True, text=True).stdout
        rows = list(csv.reader(io.StringIO(out)))
        return rows[0], rows[1:]
    db = sqlite3.connect(database)
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = [list(r) for r in cursor.fetchall()]
    db.close()
    return names, rows


def stamp(t):
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def parse(text):
    return dt.datetime.fromisoformat(str(text).replace("T", " ").split("+")[0])


def uuid7(t):
    ms = int(t.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
    r = random.getrandbits(74)
    n = (ms << 80) | (7 << 76) | ((r >> 62) << 64) | (2 << 62) | (r & ((1 << 62) - 1))
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def b32(n):
    return base64.b32encode(os.urandom(n)).decode().rstrip("=")


def b64(n):
    return base64.urlsafe_b64encode(os.urandom(n)).decode().rstrip("=")


# What the service made: sectors, parks, the admin, its enterprise and registration.
_, units = query("SELECT id, kind FROM org_units ORDER BY code")
sectors = [u[0] for u in units if u[1] == "sector"]
parks = [u[0] for u in units if u[1] == "park"]
_, (admin,) = query("SELECT id FROM users WHERE username = 'admin'")
admin = admin[0]
columns, (pattern,) = query("SELECT * FROM registrations")
pattern = dict(zip(columns, pattern))
_, (kept,) = query("SELECT id FROM enterprises")
kept = kept[0]
now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
arrival0 = parse(pattern["expected_arrival"])
before = arrival0 - parse(pattern["valid_from"])
after = parse(pattern["valid_until"]) - arrival0
key_id = pattern["document_sealed"].split(".")[1]

# Enterprises, as export.sh writes them, with ids of their creation time.
charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code(i):
    body = "91350100" + "".join(charset[b % 31] for b in hashlib.sha256(str(i).encode()).digest()[:9])
    check = (31 - sum(charset.index(c) * w for c, w in zip(body, weights)) % 31) % 31
    return body + charset[check]


trades = ["新材料", "物流", "化工", "机械制造", "食品", "电子科技", "建材", "医药"]
statuses = ["operating"] * 8 + ["suspended", "closed"]
start = now - dt.timedelta(days=730)
enterprises = []
for i in range(enterprise_count - 1):
    at = start + dt.timedelta(seconds=i * 700 * 86400 // enterprise_count)
    enterprises.append((uuid7(at), f"福州第{i}号{trades[i % len(trades)]}有限公司", credit_code(i),
                        sectors[i % len(sectors)], parks[i % len(parks)], f"福州市马尾区高新大道{i}号",
                        i % 7 == 0, statuses[i % len(statuses)], 119.0 + (i % 10000) / 10000,
                        26.0 + (i % 1000) / 10000, stamp(at), stamp(at)))
enterprise_ids = [e[0] for e in enterprises] + [kept]

# Drivers: who comes back, with what.
with open(REGIONS, encoding="utf-8") as f:
    counties = [line.split("\t")[0] for line in f if line.strip() and not line.split("\t")[0].endswith("00")]
surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文"
given = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国志海波辉鹏飞斌宇浩凯健俊帆"
provinces = "闽" * 12 + "浙赣粤苏沪皖湘鄂鲁"
letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
serial = "0123456789" * 3 + "ABCDEFGHJKLMNPQRSTUVWXYZ"


def plate():
    return random.choice(provinces) + random.choice(letters[:10]) + "".join(random.choice(serial) for _ in range(5))


drivers = []
for d in range(DRIVERS):
    document = f"{random.choice(counties)}{random.randint(1960, 2000)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}{random.randint(0, 9999):04d}"
    phone = f"1{random.choice('3589')}{random.randint(0, 999999999):09d}"
    drivers.append((
        random.choice(surnames) + "".join(random.choice(given) for _ in range(random.choice((1, 2)))),
        document[:6] + "*" * 8 + document[-4:],
        phone[:3] + "****" + phone[-4:],
        hashlib.sha256(b"document" + document.encode()).hexdigest(),
        hashlib.sha256(b"phone" + phone.encode()).hexdigest(),
        plate(),
        plate()[:-1] + "挂" if d % 10 == 0 else None,
        random.choice(("heavy_truck",) * 4 + ("medium_truck", "light_truck", "hazmat", "van", "reefer")),
        random.choice(counties),
    ))
cargoes = ["钢材", "化工原料", "集装箱", "食品", "机械设备", "建材", "电子元件", "纸浆", "塑料粒子", "医药中间体"]
reasons = ["信息不实", "车辆不符合要求", "非本企业业务", "当日车辆已满"]
zone = dt.timedelta(hours=8)
purged_before = now - dt.timedelta(days=RETENTION_DAYS)
span = DAYS * 86400


def registrations():
    for i in range(registration_count):
        created = now - dt.timedelta(seconds=span - (i * span) / registration_count + random.random())
        arrival = created + dt.timedelta(minutes=random.randint(60, 72 * 60))
        until = arrival + after
        if until < now:
            status = random.choices(("approved", "rejected", "cancelled", "pending"), (82, 6, 7, 5))[0]
        else:
            status = random.choices(("pending", "approved", "rejected", "cancelled"), (35, 58, 3, 4))[0]
        decided = status in ("approved", "rejected") or (status == "cancelled" and random.random() < 0.5)
        decided_at = min(now, created + dt.timedelta(seconds=random.randint(30, 7200))) if decided else None
        name, document, phone, document_index, phone_index, plate_, trailer, vehicle, origin = random.choice(drivers)
        row = dict(pattern)
        if created < purged_before:
            name, document, phone, document_index, phone_index, trailer = "*", "*", "*", "", "", None
            plate_ = plate_[:2] + "*" * (len(plate_) - 4) + plate_[-2:]
        row.update(
            id=uuid7(created), enterprise_id=random.choice(enterprise_ids), pass_token=b32(16),
            idempotency_key=None, status=status, driver_name=name,
            document_sealed=f"v1.{key_id}.{b64(46)}" if document_index else "", document_index=document_index,
            document_masked=document, phone_sealed=f"v1.{key_id}.{b64(39)}" if phone_index else "",
            phone_index=phone_index, phone_masked=phone,
            plate=plate_, trailer_plate=trailer, vehicle_type=vehicle, origin_region=origin,
            cargo=random.choice(cargoes), purpose=random.choice(("deliver", "deliver", "pick_up", "other")),
            expected_arrival=stamp(arrival), arrival_day=(arrival + zone).strftime("%Y-%m-%d"),
            people_in_cab=random.choice((1, 1, 1, 2)), valid_from=stamp(arrival - before), valid_until=stamp(until),
            reject_reason=random.choice(reasons) if status == "rejected" else None,
            decided_at=stamp(decided_at) if decided_at else None,
            decided_by=admin if decided_at and random.random() < 0.3 else None,
            created_at=stamp(created), driver_id=None,
            request_hash=hashlib.sha256(str(i).encode()).hexdigest() if document_index else None)
        if not document_index:
            row["answers"] = '{"zone":{},"enterprise":{}}'
        yield [row[c] for c in columns]


enterprise_columns = ["id", "name", "credit_code", "sector_id", "park_id", "address", "key_enterprise", "status",
                      "longitude", "latitude", "created_at", "updated_at"]
plates, owners = Counter(), Counter()


def counted(rows):
    for row in rows:
        if "*" not in row[columns.index("plate")]:
            plates[row[columns.index("plate")]] += 1
        owners[row[columns.index("enterprise_id")]] += 1
        yield row


if postgres:
    def copy(table, names, rows):
        process = subprocess.Popen(["psql", database, "-qc", f"\\copy {table} ({', '.join(names)}) from stdin with (format csv, null '\\N')"],
                                   stdin=subprocess.PIPE, text=True)
        writer = csv.writer(process.stdin)
        for row in rows:
            writer.writerow(["\\N" if v is None else "t" if v is True else "f" if v is False else v for v in row])
        process.stdin.close()
        if process.wait():
            sys.exit(f"COPY {table} failed")
    copy("enterprises", enterprise_columns, enterprises)
    copy("registrations", columns, counted(registrations()))
    subprocess.run(["psql", database, "-qc", "VACUUM ANALYZE"], check=True)
else:
    db = sqlite3.connect(database)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1000000")
    with db:
        db.executemany(f"INSERT INTO enterprises ({', '.join(enterprise_columns)}) VALUES ({', '.join('?' * len(enterprise_columns))})",
                       enterprises)
        db.executemany(f"INSERT INTO registrations ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                       counted(registrations()))
    db.close()

average = registration_count / len(enterprise_ids)
typical = min(owners, key=lambda e: (abs(owners[e] - average), e))
print(typical, owners[typical], plates.most_common(1)[0][0])
