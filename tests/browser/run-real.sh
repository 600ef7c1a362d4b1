#!/usr/bin/env bash
# Headless-Chromium check of the dashboard served by a real `portcullis serve`.
#   tests/browser/run-real.sh [--screenshots DIR]
# Uses $PORTCULLIS_BIN (default target/debug/portcullis, or $CARGO_TARGET_DIR/debug/portcullis;
# builds nothing). Starts it on free loopback ports with a temp data dir and a config that sets
# no credentials, so `serve` generates them on first run as in production; signs in with the
# admin token it wrote to <data_dir>/credentials.toml. Feeds it traffic (feed.py: benign
# successes and a distributed spray from TEST-NET addresses through the native API), checks
# that the spray became a campaign, runs dashboard.mjs against it (every page without console
# errors, charts with data, an action round trip, CSRF), checks on the server side that the
# round trip is in the audit log, and cleans up. Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${PORTCULLIS_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/portcullis}"
[ -x "$bin" ] || { echo "run-real.sh: $bin not found (cargo build -p portcullis)" >&2; exit 2; }
command -v node >/dev/null || { echo "run-real.sh: node is required" >&2; exit 2; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "run-real.sh: chromium not found (apt-get install -y chromium)" >&2; exit 2; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && { npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent; })
fi
tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
read -r p1 p2 < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
cat > "$tmp/portcullis.toml" <<TOML
[server]
policy_listen = "127.0.0.1:$p1"
admin_listen = "127.0.0.1:$p2"
data_dir = "$tmp/data"
TOML
# Credentials come from the first run, not from this environment.
env -u PORTCULLIS_ADMIN_TOKEN -u PORTCULLIS_POLICY_PASSWORD -u PORTCULLIS_POLICY_API_KEY \
  "$bin" serve --config "$tmp/portcullis.toml" >"$tmp/serve.log" 2>&1 &
pid=$!
admin="http://127.0.0.1:$p2"
for _ in $(seq 150); do
  curl -fsS "$admin/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
curl -fsS "$admin/readyz" >/dev/null || { echo "run-real.sh: serve did not become ready" >&2; cat "$tmp/serve.log" >&2; exit 1; }
cred="$tmp/data/credentials.toml"
[ -f "$cred" ] || { echo "run-real.sh: serve wrote no $cred" >&2; cat "$tmp/serve.log" >&2; exit 1; }
[ "$(stat -c %a "$cred")" = 600 ] || { echo "run-real.sh: $cred is not private (mode $(stat -c %a "$cred"))" >&2; exit 1; }
field() { python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))[sys.argv[2]])' "$cred" "$1"; }
token="$(field admin_token)"
python3 "$here/feed.py" "http://127.0.0.1:$p1" "$(field policy_user)" "$(field policy_password)" "${FEED_ROUNDS:-8}" "${FEED_PAUSE:-5}"

# The spray must be a campaign before the browser looks for one.
api() { curl -fsS -H "Authorization: Bearer $token" "$admin$1"; }
campaigns=0
for _ in $(seq 50); do
  campaigns="$(api /v1/report | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["campaigns"]))')"
  [ "$campaigns" -gt 0 ] && break
  sleep 0.2
done
[ "$campaigns" -gt 0 ] || { echo "run-real.sh: the fed spray raised no campaign" >&2; tail -20 "$tmp/serve.log" >&2; exit 1; }
echo "run-real.sh: $campaigns campaign(s) raised"

node "$here/dashboard.mjs" "$admin" operator "$token" "$@" || { echo "run-real.sh: browser check failed; serve log:" >&2; tail -20 "$tmp/serve.log" >&2; exit 1; }

# Server side: the browser's block and unblock went through the audited admin path.
api '/v1/audit?limit=50' | python3 -c '
import json, sys
log = json.load(sys.stdin)
mine = [e for e in log if e.get("via") == "dashboard" and e["action"].get("prefix") == "198.18.0.0/24"]
kinds = sorted(e["action"]["type"] for e in mine)
assert kinds == ["block", "unblock"], f"audit log lacks the dashboard round trip: {log}"
assert all(e["actor"] == "operator" for e in mine), mine
print("ok   the round trip is in the audit log, by operator via the dashboard")'
api /v1/blocks | python3 -c '
import json, sys
assert not any(b["prefix"] == "198.18.0.0/24" for b in json.load(sys.stdin)), "the test block is still in force"'
if grep -q "$token" "$tmp/serve.log"; then echo "run-real.sh: the admin token appears in the server log" >&2; exit 1; fi
echo "run-real.sh: passed"
