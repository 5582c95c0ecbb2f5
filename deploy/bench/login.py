#!/usr/bin/env python3
"""Sign-in clients for deploy/bench/login.sh.

CLIENTS threads, each a browser with its own keep-alive connection and device cookie,
sign in as one account with its right password for SECONDS, one sign-in after the
other. A 503 or 429 is tried again after its Retry-After, as a well-behaved client
does (a client that retries at once only measures how fast refusals are). Prints one
line: RESULT sign-ins/s, p50 and p99 of the answered 200s (ms), p50 and p99 of the
whole sign-in including waits after refusals (ms), counts of 200, 503, 429 and other
answers.

Usage: login.py BASE_URL USERNAME PASSWORD CLIENTS SECONDS
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse

base, username, password = sys.argv[1:4]
clients, seconds = int(sys.argv[4]), float(sys.argv[5])
url = urllib.parse.urlsplit(base)
body = json.dumps({"username": username, "password": password})
deadline = time.monotonic() + seconds
lock = threading.Lock()
answered = []  # ms of each 200 answer
signed_in = []  # ms of each whole sign-in, waits included
counts = {"200": 0, "503": 0, "429": 0, "other": 0}
first_other = []


def client():
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    cookie = None
    while time.monotonic() < deadline:
        started = time.monotonic()
        while True:
            headers = {"content-type": "application/json"}
            if cookie:
                headers["cookie"] = cookie
            sent = time.monotonic()
            conn.request("POST", "/api/v1/auth/login", body, headers)
            response = conn.getresponse()
            text = response.read()
            now = time.monotonic()
            status = response.status
            key = str(status) if str(status) in counts else "other"
            with lock:
                counts[key] += 1
                if key == "other" and not first_other:
                    first_other.append(f"{status} {text[:200]!r}")
            if status == 200:
                set_cookie = response.getheader("set-cookie")
                if set_cookie:
                    cookie = set_cookie.split(";")[0]
                with lock:
                    answered.append((now - sent) * 1000)
                    signed_in.append((now - started) * 1000)
                break
            if status not in (429, 503) or now >= deadline:
                break
            time.sleep(float(response.getheader("retry-after") or 1))


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


threads = [threading.Thread(target=client) for _ in range(clients)]
started = time.monotonic()
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
elapsed = time.monotonic() - started
print(
    "RESULT %.1f %.1f %.1f %.1f %.1f %d %d %d %d"
    % (
        len(answered) / elapsed,
        percentile(answered, 50),
        percentile(answered, 99),
        percentile(signed_in, 50),
        percentile(signed_in, 99),
        counts["200"],
        counts["503"],
        counts["429"],
        counts["other"],
    )
)
if first_other:
    print("first other answer: " + first_other[0])
