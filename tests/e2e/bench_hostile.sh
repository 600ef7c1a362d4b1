#!/usr/bin/env bash
# Legitimate load under slow, hostile connections (docs/bench/server.md, "Under 20,000 slow
# connections"). Usage: tests/e2e/bench_hostile.sh [DURATION] [SLOW] [CONNECTIONS]
#   (PORTCULLIS_BIN=... to skip the build; defaults 15s, 20000 slow, 16 wrk connections;
#   PC_MAX_CONN=N sets the server's max_connections, default 4096 as shipped)
# Runs wrk with tests/e2e/bench.lua (allow+report, worst mix, IPv4 sources) twice: without
# and then with SLOW connections from tests/e2e/slow_clients.py (half a request line each,
# from SLOW/100 loopback addresses, reopened as soon as the server closes them). wrk connects
# after the slow clients are in place. Prints wrk's latency, the server's RSS and its
# connection counters. Loopback only; stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-15s}
SLOW=${2:-20000}
CONNS=${3:-16}
BIN=${PORTCULLIS_BIN:-}
if [ -z "$BIN" ]; then
    cargo build -q --release -p portcullis
    BIN="${CARGO_TARGET_DIR:-$(pwd)/target}/release/portcullis"
fi
DIR=$(mktemp -d /tmp/portcullis-hostile.XXXXXX)
PID=""
SPID=""
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT
# 20,000 slow clients need more descriptors than some hosts' default hard limit (20,000 on the
# development VM): root may raise it.
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 65536 ] || ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
APORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$DIR/p.toml" <<EOT
[server]
policy_listen = "127.0.0.1:$PORT"
admin_listen = "127.0.0.1:$APORT"
data_dir = "$DIR/state"
policy_password = "bench"
admin_token = "bench-admin-token-0123456789"
max_connections = ${PC_MAX_CONN:-4096}
EOT
RUST_LOG=warn "$BIN" serve --config "$DIR/p.toml" 2>"$DIR/log" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$APORT/readyz" >/dev/null && break; sleep 0.1; done
export PC_AUTH="Basic $(printf 'dovecot:bench' | base64)"
rss() { awk '/VmRSS|VmHWM/ {printf "%s %s %s  ", $1, $2, $3}' "/proc/$PID/status"; echo; }
conns() { curl -s "http://127.0.0.1:$APORT/metrics" | grep -E '^portcullis_connections_[a-z_]+(_total)?\{listener="policy"' | grep -v ' 0$' | sed 's/^/   /'; }
run() {
    PC_SPACE=ipv4 PC_MIX=worst wrk -t1 -c"$CONNS" -d"$DUR" --latency -s tests/e2e/bench.lua "http://127.0.0.1:$PORT" \
        | grep -E "Requests/sec|requests in|Latency|Socket errors|Non-2xx| 50%| 90%| 99%"
}
echo "== start: $(rss)"
echo "== without slow clients: $CONNS connections, $DUR (load: $(cut -d' ' -f1-3 /proc/loadavg))"
run
echo "== after: $(rss)"
SECS=$(( ${DUR%s} + 40 ))
python3 tests/e2e/slow_clients.py 127.0.0.1 "$PORT" "$SLOW" "$SECS" &
SPID=$!
sleep 20
echo "== $SLOW slow clients in place: $(rss)"
conns
echo "== with $SLOW slow clients: $CONNS connections, $DUR (load: $(cut -d' ' -f1-3 /proc/loadavg))"
run
echo "== after: $(rss)"
conns
# Shutdown with the slow clients still connected.
T0=$(date +%s.%N)
kill -TERM "$PID"
wait "$PID" 2>/dev/null || true
PID=""
echo "== SIGTERM to exit, $SLOW slow clients connected: $(echo "$(date +%s.%N) - $T0" | bc) s"
kill "$SPID" 2>/dev/null || true
wait "$SPID" 2>/dev/null || true
SPID=""
