#!/usr/bin/env bash
# Cluster benchmark (BENCHMARKS.md): three `portcullis serve` nodes and one `nats-server -js`
# on loopback, all on this machine's cores.
# Usage: tests/e2e/bench_cluster.sh [DURATION] [CONNECTIONS PER NODE]
#   (PORTCULLIS_BIN=... to skip the release build)
# Runs:
#   (0) one node without [cluster], wrk with 3 x CONNECTIONS connections: the reference in the
#       same sitting;
#   (1) propagation at a light load: 3,000 Dovecot reports one at a time to node a; nodes b
#       and c give the delay from a's intake of each input to their applying it (p50/p99);
#   (2) throughput: one wrk per node at once (realistic mix, allow+report), the sum of their
#       requests per second; then how long the nodes take to converge after the load stops,
#       and the propagation delay under that load (the newest 65,536 inputs of other nodes).
# Loopback only; stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-15s}
CONNS=${2:-16}
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null); }
command -v nats-server >/dev/null || { apt-get install -y nats-server >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y nats-server >/dev/null); }
BIN=${PORTCULLIS_BIN:-}
if [ -z "$BIN" ]; then
    cargo build -q --release -p portcullis
    BIN="${CARGO_TARGET_DIR:-$(pwd)/target}/release/portcullis"
fi
DIR=$(mktemp -d /tmp/portcullis-bench-cluster.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TOKEN="bench-admin-token-0123456789"
export PC_AUTH="Basic $(printf 'dovecot:bench' | base64)"
declare -A PPORT APORT

node() { # node NAME [cluster]: writes its config, starts it, waits until ready
    local n=$1 p a
    p=$(free); a=$(free); PPORT[$n]=$p; APORT[$n]=$a
    mkdir -p "$DIR/$n"
    cat > "$DIR/$n/p.toml" <<EOT
[server]
policy_listen = "127.0.0.1:$p"
admin_listen = "127.0.0.1:$a"
data_dir = "$DIR/$n/state"
policy_password = "bench"
admin_token = "$TOKEN"
log_format = "text"
EOT
    if [ "${2:-}" = cluster ]; then
        printf '[cluster]\nnats_url = "nats://127.0.0.1:%s"\nnode = "%s"\n' "$NATS_PORT" "$n" >> "$DIR/$n/p.toml"
    fi
    RUST_LOG=warn "$BIN" serve --config "$DIR/$n/p.toml" 2>"$DIR/$n/log" &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$a/readyz" >/dev/null && return; sleep 0.1; done
    echo "node $n did not start"; cat "$DIR/$n/log"; exit 1
}
status() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${APORT[$1]}/v1/cluster"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }
wrk_run() { # wrk_run PORT CONNS -> prints Requests/sec
    PC_SPACE=ipv4 PC_MIX=realistic wrk -t1 -c"$2" -d"$DUR" --latency -s tests/e2e/bench.lua "http://127.0.0.1:$1" \
        | awk '/Requests\/sec/ {print $2} / 99%/ {print "p99 " $2 > "/dev/stderr"} /Non-2xx/ {print "non-2xx " $NF > "/dev/stderr"}'
}

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== nats-server $(nats-server --version 2>&1 | head -1)"

if [ "${PC_SINGLE:-1}" = 1 ]; then
    node single
    echo "== (0) one node, no cluster: wrk $((3 * CONNS)) connections, $DUR"
    echo "   req/s: $(wrk_run "${PPORT[single]}" $((3 * CONNS)))"
    kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
fi

NATS_PORT=$(free)
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$DIR/nats" 2>"$DIR/nats.log" &
PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$NATS_PORT") 2>/dev/null && break; sleep 0.1; done
node a cluster; node b cluster; node c cluster

echo "== (1) propagation at a light load: 3000 reports one at a time to node a"
python3 - "${PPORT[a]}" <<'EOT'
import http.client, json, sys, base64
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
auth = "Basic " + base64.b64encode(b"dovecot:bench").decode()
for i in range(3000):
    body = json.dumps({"login": f"u{i % 500}@example.org", "remote": f"198.18.{i % 200}.{1 + i % 250}",
                       "protocol": "imap", "pwhash": "abc", "success": i % 10 != 0})
    c.request("POST", "/?command=report", body, {"Authorization": auth, "Content-Type": "application/json"})
    r = c.getresponse(); r.read(); assert r.status == 200
EOT
sleep 1
for n in b c; do echo "   node $n: $(status $n | field "['propagation_us']") (µs, from a's intake to $n's apply)"; done

echo "== (2) throughput: wrk on each of the three nodes at once, $CONNS connections each, $DUR"
for n in a b c; do (wrk_run "${PPORT[$n]}" "$CONNS" > "$DIR/$n.rps" 2> "$DIR/$n.lat") & done
sleep 1; while [ "$(ls "$DIR"/*.rps 2>/dev/null | xargs -r cat | wc -l)" -lt 3 ]; do sleep 0.2; done
t_end=$(date +%s.%N)
total=0
for n in a b c; do r=$(cat "$DIR/$n.rps"); total=$(awk -v a="$total" -v b="$r" 'BEGIN {print a + b}'); echo "   node $n: $r req/s, $(tr '\n' ' ' < "$DIR/$n.lat")"; done
echo "   cluster total: $total req/s"
for n in a b c; do echo "   node $n at the end of the load: $(status $n | field "['applied_seq'], d['buffered'], d['propagation_us']")"; done
# Converged: same applied_seq and digest on all three, nothing buffered.
while :; do
    s=$(for n in a b c; do status $n | field "['applied_seq'], d['digest'], d['buffered']"; done | sort -u | wc -l)
    [ "$s" = 1 ] && break; sleep 0.2
done
t_conv=$(date +%s.%N)
echo "   converged $(awk -v a="$t_end" -v b="$t_conv" 'BEGIN {printf "%.1f", b - a}') s after the load stopped: $(status a | field "['applied_seq'], d['digest'][:16]")"
for n in a b c; do echo "   node $n: $(status $n | field "['applied'], d['duplicates_skipped'], d['propagation_us']") (applied, duplicates, propagation µs)"; done
