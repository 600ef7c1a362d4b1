#!/usr/bin/env bash
# Load test of `portcullis serve` with wrk over keep-alive (docs/bench/server.md).
# Usage: tests/e2e/bench.sh [DURATION] [CONNECTIONS]   (PORTCULLIS_BIN=... to skip the build)
# Knobs (environment):
#   PC_WORKERS=N   the server's worker_threads (default 0: one per CPU)
#   PC_MIX=worst|realistic   the mix of run 1 (default worst; see tests/e2e/bench.lua)
#   PC_FLOOD=0     skip run 2
#   PC_PIN=1       pin the server to CPU 1 and wrk to CPU 0 (taskset), instead of sharing both
#   PC_FAMILIAR_MS=N  the server's store_familiar_interval_ms (default 1000)
#   PC_DEAD_WEBHOOK=1 a webhook on a closed loopback port wanting every event (a receiver
#                  that is down: its deliveries fail, are retried, then dropped and counted)
#   PC_PREGEN=N    requests wrk builds before its clock starts (default 1048576; 0 = one Lua
#                  call per request, the old, costlier load generator; see tests/e2e/bench.lua)
# Runs: (1) allow+report over IPv4 sources from 198.18.0.0/15 in the chosen mix; (2) the worst
# mix with a fresh random IPv6 source on nearly every request (a flood of distinct addresses),
# then prints the server's RSS. Loopback only; stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-20s}
CONNS=${2:-64}
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null); }
BIN=${PORTCULLIS_BIN:-}
if [ -z "$BIN" ]; then
    cargo build -q --release -p portcullis
    BIN="${CARGO_TARGET_DIR:-$(pwd)/target}/release/portcullis"
fi
DIR=$(mktemp -d /tmp/portcullis-bench.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
APORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$DIR/p.toml" <<EOT
[server]
policy_listen = "127.0.0.1:$PORT"
admin_listen = "127.0.0.1:$APORT"
data_dir = "$DIR/state"
policy_password = "bench"
admin_token = "bench-admin-token-0123456789"
log_format = "text"
worker_threads = ${PC_WORKERS:-0}
store_familiar_interval_ms = ${PC_FAMILIAR_MS:-1000}
EOT
if [ "${PC_DEAD_WEBHOOK:-0}" = 1 ]; then
    DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >> "$DIR/p.toml" <<EOT
webhooks = [{ name = "down", url = "http://127.0.0.1:$DEAD/", format = "slack", timeout_ms = 200, events = ["campaign_opened", "campaign_updated", "source_flagged", "account_compromised", "account_at_risk"] }]
EOT
fi
MIX=${PC_MIX:-worst}
SRV_PIN=()
WRK_PIN=()
if [ "${PC_PIN:-0}" = 1 ]; then
    SRV_PIN=(taskset -c 1)
    WRK_PIN=(taskset -c 0)
fi
RUST_LOG=warn "${SRV_PIN[@]}" "$BIN" serve --config "$DIR/p.toml" 2>"$DIR/log" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$APORT/readyz" >/dev/null && break; sleep 0.1; done
export PC_AUTH="Basic $(printf 'dovecot:bench' | base64)"
rss() { awk '/VmRSS|VmHWM/ {printf "%s %s %s  ", $1, $2, $3}' "/proc/$PID/status"; echo; }
# Server CPU time (user+system) in ms: under a shared, loaded machine, CPU per request is the
# figure that does not depend on what else runs.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); split($0, f, " "); print int((f[12] + f[13]) * 1000 / hz) }' "/proc/$PID/stat"; }
reqs() { curl -s "http://127.0.0.1:$APORT/metrics" | awk '/^portcullis_requests_total\{endpoint="(allow|report)"\}/ {n += $2} END {print n + 0}'; }
# The machine's stolen and total CPU time (jiffies, all CPUs) from /proc/stat: on a VM, time the
# hypervisor gave to someone else shows up as steal, and a run with much of it is disturbed.
cpu_stat() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t }' /proc/stat; }
steal() { # steal "STEAL0 TOTAL0"
    local s0 t0 s1 t1; read -r s0 t0 <<<"$1"; read -r s1 t1 < <(cpu_stat)
    awk -v s="$((s1 - s0))" -v t="$((t1 - t0))" 'BEGIN { if (t > 0) printf "   CPU stolen by the hypervisor: %.1f %%\n", s * 100 / t }'
}
# The server's own decision-time histogram (portcullis_decision_seconds): "le count" pairs,
# cumulative. Quantiles of the difference of two snapshots are the server's time for one run,
# without the queueing in sockets and the scheduling of wrk that its latency figures include.
dec_snap() { curl -s "http://127.0.0.1:$APORT/metrics" | awk -F'[{}" ]+' '/^portcullis_decision_seconds_bucket/ { printf "%s %s ", $3, $4 }'; }
dec_quant() { # dec_quant "SNAPSHOT0"
    awk -v a="$1" -v b="$(dec_snap)" 'BEGIN {
        n = split(a, x, " "); split(b, y, " ")
        for (i = 1; i < n; i += 2) { le[i] = y[i]; c[i] = y[i + 1] - x[i + 1] }
        total = c[n - 1]; if (total <= 0) exit
        split("0.5 0.99 0.999", q, " "); out = ""
        for (k = 1; k <= 3; k++) for (i = 1; i < n; i += 2) if (c[i] >= q[k] * total) {
            v = (le[i] == "+Inf") ? "> 1 s" : sprintf("<= %g ms", le[i] * 1000)
            out = out sprintf("p%s %s  ", q[k] * 100, v); break }
        over = 0; top = ""
        for (i = 1; i < n; i += 2) { if (le[i] != "+Inf" && le[i] + 0 <= 0.001) over = total - c[i]
            if (c[i] > (i > 2 ? c[i - 2] : 0)) top = (le[i] == "+Inf") ? "> 1 s" : sprintf("<= %g ms", le[i] * 1000) }
        printf "   server decision time (own histogram, %d requests): %s over 1 ms: %d  slowest: %s\n", total, out, over, top }'
}
per_req() { # per_req CPU0 REQ0
    local c r; c=$(cpu_ms); r=$(reqs)
    awk -v c="$((c - $1))" -v r="$((r - $2))" 'BEGIN { if (r > 0) printf "   server CPU: %.1f us per request (%d requests, %d ms CPU) => %.0f requests per CPU-second\n", c * 1000 / r, r, c, r * 1000 / (c > 0 ? c : 1) }'
}
echo "== start: $(rss)"
echo "== IPv4 sources, allow+report, mix $MIX, $CONNS connections, $DUR, pinned ${PC_PIN:-0}, workers ${PC_WORKERS:-0} (load: $(cut -d' ' -f1-3 /proc/loadavg))"
C0=$(cpu_ms); R0=$(reqs); S0=$(cpu_stat); D0=$(dec_snap)
TIMEFORMAT="   wrk CPU: %U s user + %S s system in %R s"
time PC_SPACE=ipv4 PC_MIX=$MIX "${WRK_PIN[@]}" wrk -t1 -c"$CONNS" -d"$DUR" --latency -s tests/e2e/bench.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|requests:|Latency|Non-2xx"
per_req "$C0" "$R0"
dec_quant "$D0"
steal "$S0"
echo "== after IPv4: $(rss)"
if [ "${PC_FLOOD:-1}" != 0 ]; then
echo "== distinct IPv6 sources (flood), allow+report, $CONNS connections, $DUR (load: $(cut -d' ' -f1-3 /proc/loadavg))"
C0=$(cpu_ms); R0=$(reqs); S0=$(cpu_stat); D0=$(dec_snap)
time PC_SPACE=ipv6 PC_MIX=worst "${WRK_PIN[@]}" wrk -t1 -c"$CONNS" -d"$DUR" --latency -s tests/e2e/bench.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|requests:|Latency|Non-2xx"
per_req "$C0" "$R0"
dec_quant "$D0"
steal "$S0"
echo "== after IPv6 flood: $(rss)"
fi
curl -s "http://127.0.0.1:$APORT/metrics" | grep -E "^portcullis_(requests_total\{endpoint=\"(allow|report)\"|verdicts|findings|webhook_|store_(commits|relaxed_commits|items|dropped|errors|commit_micro))"
