#!/usr/bin/env bash
# Headless-Chromium check of the dashboard.
#   tests/browser/dashboard.sh BASE_URL USER PASSWORD [--screenshots DIR]   against a running `serve`
#   tests/browser/dashboard.sh --mock [--screenshots DIR]                   against mock_server.mjs
# Needs node, Debian's chromium (apt-get install -y chromium) and playwright-core (installed
# here with npm on first use; playwright-core downloads no browser).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "dashboard.sh: node is required" >&2; exit 2; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "dashboard.sh: chromium not found (apt-get install -y chromium)" >&2; exit 2; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent)
fi
if [ "${1:-}" = "--mock" ]; then
  shift
  port="${MOCK_PORT:-8765}"
  export MOCK_PASSWORD="${MOCK_PASSWORD:-demo-password}"
  node "$here/mock_server.mjs" "$port" &
  mock=$!
  trap 'kill "$mock" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$port/api/session" >/dev/null 2>&1 && break
    sleep 0.1
  done
  node "$here/dashboard.mjs" "http://127.0.0.1:$port" admin "$MOCK_PASSWORD" "$@"
else
  exec node "$here/dashboard.mjs" "$@"
fi
