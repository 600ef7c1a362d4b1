#!/usr/bin/env bash
# The workspace's rust-version is a promise: check what can be checked without a second
# toolchain. (1) No dependency in Cargo.lock declares a newer rust-version than ours (cargo
# metadata). (2) Standard-library APIs newer than it are caught by clippy's incompatible_msrv
# lint, which the clippy step runs with warnings as errors. Language features newer than it
# (there is no older toolchain to build with here) are not checked: say so, not more.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
m = json.load(sys.stdin)
def v(s): return tuple(int(x) for x in (s.split(".") + ["0", "0"])[:3])
ours = {p["rust_version"] for p in m["packages"] if p["source"] is None}
assert len(ours) == 1, f"workspace crates disagree on rust-version: {ours}"
ours = ours.pop()
newer = sorted((p["name"], p["version"], p["rust_version"]) for p in m["packages"]
               if p["source"] is not None and p.get("rust_version") and v(p["rust_version"]) > v(ours))
if newer:
    for n in newer: print("needs a newer Rust than rust-version %s: %s %s (rust-version %s)" % ((ours,) + n))
    sys.exit(1)
top = max((p for p in m["packages"] if p["source"] is not None and p.get("rust_version")), key=lambda p: v(p["rust_version"]))
print("rust-version %s: no dependency needs more (the highest: %s %s)" % (ours, top["name"], top["rust_version"]))
'
