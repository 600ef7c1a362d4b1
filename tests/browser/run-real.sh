#!/usr/bin/env bash
# Headless-Chromium check of the dashboard served by a real `portcullis serve`.
#   tests/browser/run-real.sh [--screenshots DIR]
# Uses $PORTCULLIS_BIN (default target/debug/portcullis; builds nothing), starts it on free
# loopback ports with a temp data dir and config, feeds it traffic (feed.py: benign successes
# and a distributed spray from TEST-NET addresses through the native API), runs dashboard.sh
# against it, and cleans up.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${PORTCULLIS_BIN:-$root/target/debug/portcullis}"
[ -x "$bin" ] || { echo "run-real.sh: $bin not found (cargo build -p portcullis)" >&2; exit 2; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && { npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent; })
fi
tmp="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
read -r p1 p2 < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
token="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
ppw="$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
cat > "$tmp/portcullis.toml" <<TOML
[server]
policy_listen = "127.0.0.1:$p1"
admin_listen = "127.0.0.1:$p2"
data_dir = "$tmp/data"
policy_user = "dovecot"
policy_password = "$ppw"
admin_token = "$token"
TOML
mkdir -p "$tmp/data"
"$bin" serve --config "$tmp/portcullis.toml" >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$p2/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$p2/readyz" >/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
python3 "$here/feed.py" "http://127.0.0.1:$p1" dovecot "$ppw" "${FEED_ROUNDS:-6}" "${FEED_PAUSE:-11}"
"$here/dashboard.sh" "http://127.0.0.1:$p2" operator "$token" "$@" || { tail -20 "$tmp/serve.log" >&2; exit 1; }
