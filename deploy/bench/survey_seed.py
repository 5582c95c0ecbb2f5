#!/usr/bin/env python3
"""Seeds the survey benchmark's roster and visits for deploy/bench/survey.sh, straight
into the database the service created (its migrations, sectors, parks and admin).

  enterprises DATABASE ENTERPRISES
      the roster: time-ordered ids (UUIDv7) over the past two years, names and credit
      codes as console_seed.py writes them, spread evenly over the sectors and parks
      (so every sector meets every park), every one operating (a whole-zone campaign
      takes every roster enterprise as a case, whatever its status)
  visits DATABASE CAMPAIGN VISITS DAYS
      VISITS attempts on the cases of CAMPAIGN (started and assigned through the API),
      each by the case's surveyor, over the past DAYS days, as the surveyors would
      have recorded them through POST /api/v1/survey/cases/{id}/visits: every visit
      moves its case exactly as src/survey/visits.rs does (state, next method on the
      escalation ladder, attempts, last method, outcome and time, urgency, version),
      and the campaign and its cases are dated back to DAYS days ago, when it would
      have started. Surveyors follow the ladder's method. No audit entries are
      written for them (the hash chain is the service's), as console_seed.py writes
      none for its filings. Prints one line: the surveyor with about the average
      number of cases (id, username) and their number of cases.
  answers DATABASE CAMPAIGN
      one approved submission of the default questionnaire on every case of CAMPAIGN
      (whatever the case's state: the scoring benchmark scores them all), by the
      case's surveyor, with figures spread as a zone's would be (revenue, its year
      before, tax, land, employees, R&D, high-tech) and a sealed-looking phone of the
      stored size, as POST /api/v1/survey/cases/{id}/answers and an approval would
      leave them (the case's review `approved`; no review rows or audit entries).

SQLite: one transaction of executemany, no ANALYZE (the service never runs it);
PostgreSQL: COPY through psql, the cases updated from a COPY'd table, then VACUUM
ANALYZE, as autovacuum would have done.

Usage: survey_seed.py enterprises DATABASE ENTERPRISES
       survey_seed.py visits DATABASE CAMPAIGN VISITS DAYS
       survey_seed.py answers DATABASE CAMPAIGN
   DATABASE: a SQLite file, or a postgres:// URL (psql must be on the PATH)
"""

import csv
import datetime as dt
import hashlib
import io
import json
import random
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter

stage, database = sys.argv[1], sys.argv[2]
postgres = database.startswith(("postgres://", "postgresql://"))
random.seed(20261203)
now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def query(sql):
    """Rows of a query, as lists of text (PostgreSQL) or values (SQLite)."""
    if postgres:
        out = subprocess.run(["psql", database, "-qAc", f"\\copy ({sql}) to stdout with (format csv)"],
                             check=True, capture_output=True, text=True).stdout
        return list(csv.reader(io.StringIO(out)))
    db = sqlite3.connect(database)
    rows = [list(r) for r in db.execute(sql).fetchall()]
    db.close()
    return rows


def psql_script(script):
    """Runs a psql script (COPY ... FROM STDIN data inline) in one transaction."""
    subprocess.run(["psql", database, "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", "-"],
                   input=script, check=True, text=True)


def csv_rows(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(["\\N" if v is None else "t" if v is True else "f" if v is False else v for v in row])
    return out.getvalue()


def stamp(t):
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def uuid7(t):
    ms = int(t.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
    r = random.getrandbits(74)
    n = (ms << 80) | (7 << 76) | ((r >> 62) << 64) | (2 << 62) | (r & ((1 << 62) - 1))
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def write(table, names, rows, sqlite_db=None):
    if postgres:
        psql_script(f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, NULL '\\N');\n"
                    + csv_rows(rows) + "\\.\n")
    else:
        sqlite_db.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", rows)


def seed_enterprises(count):
    units = query("SELECT id, kind FROM org_units ORDER BY code")
    sectors = [u[0] for u in units if u[1] == "sector"]
    parks = [u[0] for u in units if u[1] == "park"]
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    def credit_code(i):
        body = "91350100" + "".join(charset[b % 31] for b in hashlib.sha256(str(i).encode()).digest()[:9])
        check = (31 - sum(charset.index(c) * w for c, w in zip(body, weights)) % 31) % 31
        return body + charset[check]

    trades = ["新材料", "物流", "化工", "机械制造", "食品", "电子科技", "建材", "医药"]
    start = now - dt.timedelta(days=730)
    names = ["id", "name", "credit_code", "sector_id", "park_id", "address", "key_enterprise", "status",
             "longitude", "latitude", "created_at", "updated_at"]
    rows = []
    for i in range(count):
        at = start + dt.timedelta(seconds=i * 700 * 86400 // count)
        rows.append((uuid7(at), f"福州第{i}号{trades[i % len(trades)]}有限公司", credit_code(i),
                     sectors[i % len(sectors)], parks[(i // len(sectors)) % len(parks)], f"福州市马尾区高新大道{i}号",
                     i % 7 == 0, "operating", 119.0 + (i % 10000) / 10000, 26.0 + (i % 1000) / 10000,
                     stamp(at), stamp(at)))
    if postgres:
        write("enterprises", names, rows)
    else:
        db = sqlite3.connect(database)
        with db:
            write("enterprises", names, rows, db)
        db.close()


# The service's rules (src/survey/mod.rs), for consistent cases.
LADDER = [("phone", 2), ("site_visit", 1), ("door_knock", 1)]
FAILURES = {"no_answer", "refused"}


def case_state(outcome):
    if outcome == "completed":
        return "reached"
    if outcome in ("closed", "moved", "not_found"):
        return "closed"
    return "attempted"


def urgency(state, outcome):
    if state == "attempted":
        return 0 if outcome == "call_back" else 1
    return {"unassigned": 2, "assigned": 2, "lost": 3, "reached": 4, "closed": 4}[state]


# What a surveyor hears, while the enterprise is not yet reached (after: follow-ups).
OUTCOMES = ["completed", "no_answer", "refused", "call_back", "closed", "moved", "not_found"]
WEIGHTS = [22, 30, 5, 35, 4, 2, 2]
NOTES = ["", "", "", "电话无人接听", "负责人出差，约下周再联系", "已现场核实", "门卫不让进", "企业已搬迁"]


def seed_visits(campaign, visit_count, days):
    cases = query(f"SELECT id, assignee_id, state, next_method, attempts, version, created_at "
                  f"FROM survey_cases WHERE campaign_id = '{campaign}' AND assignee_id IS NOT NULL ORDER BY id")
    began = now - dt.timedelta(days=days)
    # Visits per case: uneven, as some enterprises take many calls.
    per_case = Counter(random.choices(range(len(cases)), weights=[random.random() + 0.2 for _ in cases],
                                      k=visit_count))
    visit_names = ["id", "case_id", "surveyor_id", "method", "outcome", "notes", "visited_at", "client_id",
                   "created_at"]
    visits, updates, cases_of = [], [], Counter()
    for index, (case_id, assignee, state, next_method, attempts, version, _) in enumerate(cases):
        cases_of[assignee] += 1
        attempts, version = int(attempts), int(version)
        failures = Counter()
        last = None
        count = per_case.get(index, 0)
        times = sorted(began + dt.timedelta(seconds=random.uniform(0, days * 86400 - 3600)) for _ in range(count))
        for visited_at in times:
            method = next_method
            if state in ("reached", "closed"):
                outcome = random.choice(("completed", "call_back"))
            else:
                outcome = random.choices(OUTCOMES, WEIGHTS)[0]
            if outcome in FAILURES:
                failures[method] += 1
            ladder = next((m for m, n in LADDER if failures[m] < n), None)
            new_state = case_state(outcome)
            if new_state == "attempted" and state in ("reached", "closed"):
                new_state = state
            elif new_state == "attempted" and ladder is None and outcome in FAILURES:
                new_state = "lost"
            state = new_state
            next_method = ladder or next_method
            attempts += 1
            version += 1
            created = visited_at + dt.timedelta(seconds=random.uniform(0.05, 2))
            visits.append((uuid7(created), case_id, assignee, method, outcome, random.choice(NOTES),
                           stamp(visited_at), str(uuid.uuid4()), stamp(created)))
            last = (method, outcome, stamp(visited_at), stamp(created))
        if last:
            updates.append((case_id, state, next_method, attempts, last[0], last[1], last[2],
                            urgency(state, last[1]), version, last[3]))
    start = stamp(began - dt.timedelta(hours=1))
    dated = (f"UPDATE survey_campaigns SET created_at = '{start}', updated_at = '{start}', "
             f"starts_on = '{(began + dt.timedelta(hours=8)).strftime('%Y-%m-%d')}' WHERE id = '{campaign}';\n"
             f"UPDATE survey_cases SET created_at = '{start}', updated_at = '{start}' WHERE campaign_id = '{campaign}';\n")
    update_names = ["id", "state", "next_method", "attempts", "last_method", "last_outcome", "last_visit_at",
                    "urgency", "version", "updated_at"]
    if postgres:
        psql_script(
            dated
            + f"COPY survey_visits ({', '.join(visit_names)}) FROM STDIN WITH (FORMAT csv, NULL '\\N');\n"
            + csv_rows(visits) + "\\.\n"
            + "CREATE TEMP TABLE moved (id TEXT PRIMARY KEY, state TEXT, next_method TEXT, attempts INTEGER, "
              "last_method TEXT, last_outcome TEXT, last_visit_at TIMESTAMP, urgency INTEGER, version INTEGER, "
              "updated_at TIMESTAMP) ON COMMIT DROP;\n"
            + "COPY moved FROM STDIN WITH (FORMAT csv, NULL '\\N');\n" + csv_rows(updates) + "\\.\n"
            + "UPDATE survey_cases c SET " + ", ".join(f"{n} = m.{n}" for n in update_names[1:])
            + " FROM moved m WHERE c.id = m.id;\n")
        subprocess.run(["psql", database, "-qc", "VACUUM ANALYZE"], check=True)
    else:
        db = sqlite3.connect(database)
        db.execute("PRAGMA synchronous = OFF")
        with db:
            for statement in dated.strip().rstrip(";").split(";\n"):
                db.execute(statement)
            write("survey_visits", visit_names, visits, db)
            db.executemany("UPDATE survey_cases SET " + ", ".join(f"{n} = ?" for n in update_names[1:]) + " WHERE id = ?",
                           [u[1:] + (u[0],) for u in updates])
        db.close()
    average = sum(cases_of.values()) / len(cases_of)
    typical = min(cases_of, key=lambda s: (abs(cases_of[s] - average), s))
    (username,), = query(f"SELECT username FROM users WHERE id = '{typical}'")
    print(typical, username, cases_of[typical])


def seed_answers(campaign):
    cases = query(f"SELECT c.id, COALESCE(c.assignee_id, c.created_by), e.name, e.credit_code "
                  f"FROM (SELECT survey_cases.*, survey_campaigns.created_by FROM survey_cases "
                  f"JOIN survey_campaigns ON survey_campaigns.id = survey_cases.campaign_id "
                  f"WHERE survey_cases.campaign_id = '{campaign}') c "
                  f"JOIN enterprises e ON e.id = c.enterprise_id ORDER BY c.id")
    names = ["id", "case_id", "version", "questionnaire_version", "answers", "explanations", "warnings",
             "client_id", "digest", "submitted_by", "created_at"]
    rows = []
    for case_id, surveyor, name, credit_code in cases:
        revenue = round(random.lognormvariate(7, 1.2), 1)
        answers = {
            "name": name, "credit_code": credit_code, "contact_person": "王敏",
            "contact_phone": {"masked": "138****0000", "sealed": "v1." + "A" * 76, "index": "f" * 64},
            "status": "正常经营", "employees": random.randint(3, 400), "revenue": revenue,
            "tax": round(revenue * random.uniform(0.01, 0.08), 1),
            "land_area": round(random.uniform(2, 120), 1),
            "products": [{"name": "主导产品", "annual_output": revenue}],
            "receives_trucks": True, "trucks_per_day": random.randint(0, 40),
            "demands": [], "revenue_prior": round(revenue / random.uniform(0.7, 1.5), 1),
            "rd_spend": round(revenue * random.uniform(0, 0.08), 1),
            "high_tech": random.random() < 0.2, "expansion_plan": "无",
        }
        at = stamp(now - dt.timedelta(days=random.uniform(1, 20)))
        rows.append((uuid7(now), case_id, 1, 1, json.dumps(answers, ensure_ascii=False), "{}", "[]",
                     str(uuid.uuid4()), "bench", surveyor, at))
    approve = f"UPDATE survey_cases SET review = 'approved' WHERE campaign_id = '{campaign}'"
    if postgres:
        psql_script(f"COPY survey_answers ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, NULL '\\N');\n"
                    + csv_rows(rows) + "\\.\n" + approve + ";\n")
        subprocess.run(["psql", database, "-qc", "VACUUM ANALYZE"], check=True)
    else:
        db = sqlite3.connect(database)
        with db:
            write("survey_answers", names, rows, db)
            db.execute(approve)
        db.close()
    print(len(rows))


if stage == "enterprises":
    seed_enterprises(int(sys.argv[3]))
elif stage == "visits":
    seed_visits(sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
elif stage == "answers":
    seed_answers(sys.argv[3])
else:
    sys.exit(__doc__)
