#!/usr/bin/python3
"""benches/detection/real-diff.py OLD NEW [DIR] — two portcullis binaries on every real log.

Runs `portcullis analyze --format json --no-progress FILE` with both binaries on every file
under DIR (default ../shared/data/real beside the checkout) and prints, per file whose
results differ, what each found: events, campaigns (kind and number of sources), compromised
accounts and the number of flagged sources. Ends with a count. For a detection change: what
it changes on logs nobody here wrote."""

import json
import os
import subprocess
import sys


def summary(binary, path):
    r = subprocess.run([binary, "analyze", "--format", "json", "--no-progress", path],
                       capture_output=True)
    if r.returncode != 0:
        return ("exit", r.returncode)
    j = json.loads(r.stdout)
    return (
        j["input"].get("events"),
        sorted((c["kind"], len(c.get("sources", []))) for c in j["campaigns"]),
        sorted(c["account"] for c in j["compromised_accounts"]),
        len(j["flagged_sources"]),
    )


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    old, new = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.abspath(__file__))
    data = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "..", "..", "..", "shared", "data", "real")
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs)
    differ = with_campaigns = 0
    for f in files:
        a, b = summary(old, f), summary(new, f)
        if b[0] != "exit" and b[1]:
            with_campaigns += 1
        if a != b:
            differ += 1
            print(f"{os.path.relpath(f, data)}\n  old {a}\n  new {b}")
    print(f"{len(files)} files, {with_campaigns} with campaigns (new), {differ} differ")


if __name__ == "__main__":
    main()
