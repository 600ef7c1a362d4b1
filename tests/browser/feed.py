#!/usr/bin/env python3
"""Feeds a running `portcullis serve` some traffic through the native API v1 (batch report):
benign users signing in from their usual addresses (192.0.2.0/24), now and then mistyping, and
a ramping distributed password spray from TEST-NET-2/3 and 2001:db8::/32 addresses, in ROUNDS
rounds PAUSE seconds apart so the dashboard's timeline has several buckets. Deterministic. No
passwords: only outcomes.
Usage: feed.py POLICY_URL USER PASSWORD [ROUNDS] [PAUSE]"""
import base64, json, sys, time, urllib.request

url, user, pw = sys.argv[1], sys.argv[2], sys.argv[3]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 6
pause = float(sys.argv[5]) if len(sys.argv) > 5 else 11
auth = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()

def post(items):
    req = urllib.request.Request(url + "/v1/report/batch", data=json.dumps({"items": items}).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": auth})
    with urllib.request.urlopen(req, timeout=10) as r:
        res = json.load(r)["results"]
        bad = [x for x in res if "error" in x]
        if bad:
            sys.exit(f"feed: rejected items: {bad[:3]}")

n = 0
for r in range(rounds):
    items = []
    for u in range(8 + (r * 7) % 13):  # benign: staff from their usual addresses, varying
        k = (r * 5 + u) % 20
        items.append({"account": f"staff{k:02d}@example.org", "outcome": "success",
                      "source": f"192.0.2.{10 + k}", "protocol": "imap"})
    for i in range(min(60, 40 + 4 * r)):  # spray: ramping up, one wrong password per account
        src = (f"198.51.100.{1 + n % 200}" if n % 3 == 0 else
               f"203.0.113.{1 + n % 200}" if n % 3 == 1 else f"2001:db8:{n % 97:x}::{1 + n % 7}")
        items.append({"account": f"user{(n * 7) % 300:03d}@example.org", "outcome": "bad_password",
                      "source": src, "protocol": "imap"})
        n += 1
    for t in range(1 + r % 3):  # staff typos from their own addresses: familiar failures
        k = (r + 3 * t) % 20
        items.append({"account": f"staff{k:02d}@example.org", "outcome": "bad_password",
                      "source": f"192.0.2.{10 + k}", "protocol": "imap"})
    post(items)
    if r + 1 < rounds:
        time.sleep(pause)
print(f"feed: {rounds} rounds sent")
