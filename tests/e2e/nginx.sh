#!/usr/bin/env bash
# End-to-end test: Debian's REAL nginx mail proxy (nginx-light + libnginx-mod-mail) asks
# `portcullis serve` about every IMAP login through auth_http (GET /nginx/auth), and portcullis
# stands in front of the site's own auth_http server (a small Python one here, the "upstream":
# one user, one password, a backend it names; the backend is a tiny Python IMAP server).
# Clients speak to nginx through the PROXY protocol (trusted from 127.0.0.1) so that each
# can come from a public TEST-NET address while everything stays on loopback.
#
#  1. the known user logs in through nginx (the upstream said OK, nginx proxied her to the
#     backend, whose NOOP answer she reads); a wrong password gets the upstream's refusal;
#  2. one address sprays one wrong password over 40 accounts: the upstream refuses the first
#     ones, then portcullis refuses the rest itself — the client reads portcullis's
#     reject_message ("Authentication failed", not the upstream's "Invalid login or password")
#     and the upstream is not asked (it counts its requests);
#  3. after each refusal the known user logs in again, from her usual address: she gets in;
#  4. portcullis's own credential (X-API-Key) never reached the upstream, nginx's
#     auth_http_header for the site (X-Auth-Key) always did; portcullis counted the requests;
#  4b. a tarpit reaches the client as a delay: alice's account is put at risk (wrong passwords
#     from ten new networks), so a new address of hers is tarpitted (tarpit_secs = 2);
#     portcullis holds its answer to nginx that long, then asks the upstream, and the client
#     logs in — after waiting at least the tarpit for LOGIN's answer (nginx's Auth-Wait is
#     for refusals only, so a tarpit is a held answer, not an Auth-Wait: docs/integrations.md);
#     her familiar address is not delayed; the tarpit is counted;
#  5. the upstream is stopped: the client is told "Temporary server problem, try again
#     later" (after nginx's Auth-Wait) and portcullis counts upstream errors (fail-closed);
#  6. after a graceful stop, no password the clients typed is in portcullis's log or store.
#
# Everything lives in a scratch directory; nothing under /etc is touched. Bounded in time
# (each step has a timeout); exits non-zero on failure; cleans up its processes.
# Usage: tests/e2e/nginx.sh   (PORTCULLIS_BIN=path/to/portcullis to skip the build)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
T0=$(date +%s)

MAIL_MODULE=/usr/lib/nginx/modules/ngx_mail_module.so
if ! command -v nginx >/dev/null || [ ! -f "$MAIL_MODULE" ]; then
    log "installing nginx-light libnginx-mod-mail"
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y nginx-light libnginx-mod-mail >/dev/null 2>&1) \
        || (apt-get update >/dev/null && apt-get install -y nginx-light libnginx-mod-mail >/dev/null)
fi
command -v python3 >/dev/null || fail "python3 is required"

BIN=${PORTCULLIS_BIN:-}
if [ -z "$BIN" ]; then
    log "building portcullis"
    cargo build -q -p portcullis
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/portcullis"
fi
[ -x "$BIN" ] || fail "no portcullis binary at $BIN"

DIR=$(mktemp -d /tmp/portcullis-e2e-nginx.XXXXXX)
UP_PID=""; BE_PID=""; NGINX_PID=""
cleanup() {
    set +e
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    [ -n "$PC_PID" ] && kill "$PC_PID" 2>/dev/null && wait "$PC_PID" 2>/dev/null
    [ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null
    [ -n "$BE_PID" ] && kill "$BE_PID" 2>/dev/null && wait "$BE_PID" 2>/dev/null
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

PPORT=$(free_port); APORT=$(free_port); NPORT=$(free_port); UPORT=$(free_port); BPORT=$(free_port)
SCHEME=http
KEY="e2e-nginx-key-$RANDOM$RANDOM"
SITE_SECRET="site-secret-$RANDOM"
TOKEN="e2e-admin-token-$RANDOM$RANDOM$RANDOM"
export PORTCULLIS_ADMIN_TOKEN="$TOKEN"
ADMIN=(timeout 20 "$BIN" admin --url "http://127.0.0.1:$APORT" --actor e2e-operator)
GOOD='correct horse battery staple'
TARPIT=2   # [engine] tarpit_secs: what step 4b measures
HELPER=(timeout 60 python3 "$ROOT/tests/e2e/nginx_mail.py")

wait_port() { # wait_port PORT WHAT
    for _ in $(seq 1 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$2 does not listen on 127.0.0.1:$1"
}

log "starting the backend IMAP server (:$BPORT) and the site's auth_http server (:$UPORT)"
python3 "$ROOT/tests/e2e/nginx_mail.py" backend "$BPORT" >"$DIR/backend.log" 2>&1 &
BE_PID=$!
python3 "$ROOT/tests/e2e/nginx_mail.py" upstream "$UPORT" "$BPORT" alice "$GOOD" "$SITE_SECRET" \
    >"$DIR/upstream.log" 2>&1 &
UP_PID=$!
wait_port "$BPORT" "the backend"
wait_port "$UPORT" "the upstream"

log "starting portcullis (policy :$PPORT, admin :$APORT)"
{
    echo '[server]'
    echo "policy_listen = \"127.0.0.1:$PPORT\""
    echo "admin_listen = \"127.0.0.1:$APORT\""
    echo "data_dir = \"$DIR/state\""
    echo "policy_api_key = \"$KEY\""
    echo "admin_token = \"$TOKEN\""
    echo "nginx_auth_upstream = \"http://127.0.0.1:$UPORT/auth\""
    echo 'nginx_auth_timeout_ms = 2000'
    echo '[engine]'
    echo '# Short tarpits keep the run short (the defaults are 5 and 10 s).'
    echo "tarpit_secs = $TARPIT"
    echo 'spray_tarpit_secs = 1'
} > "$DIR/portcullis.toml"
start_portcullis

log "starting nginx (imap :$NPORT, PROXY protocol from 127.0.0.1)"
mkdir -p "$DIR/nginx/logs"
{
    echo "load_module $MAIL_MODULE;"
    echo 'worker_processes 1;'
    echo "error_log $DIR/nginx/error.log info;"
    echo "pid $DIR/nginx/nginx.pid;"
    echo 'events { worker_connections 256; }'
    echo 'mail {'
    echo '    server_name mail.example.test;'
    echo "    auth_http 127.0.0.1:$PPORT/nginx/auth;"
    echo "    auth_http_header X-API-Key \"$KEY\";"
    echo "    auth_http_header X-Auth-Key \"$SITE_SECRET\";"
    echo '    auth_http_timeout 30s;'
    echo '    proxy_pass_error_message on;'
    echo '    server {'
    echo "        listen 127.0.0.1:$NPORT proxy_protocol;"
    echo '        protocol imap;'
    echo '        set_real_ip_from 127.0.0.1;'
    echo '    }'
    echo '}'
} > "$DIR/nginx.conf"
nginx -t -p "$DIR/nginx" -c "$DIR/nginx.conf" >"$DIR/nginx-t.log" 2>&1 \
    || { cat "$DIR/nginx-t.log"; fail "nginx -t refused the configuration"; }
nginx -p "$DIR/nginx" -c "$DIR/nginx.conf" -g 'daemon off;' >"$DIR/nginx.out" 2>&1 &
NGINX_PID=$!
wait_port "$NPORT" "nginx"

expect() { # expect WANT USER PASSWORD SOURCE   (WANT: a prefix of the answer)
    local got
    got=$("${HELPER[@]}" login "$NPORT" "$2" "$3" "$4")
    case "$got" in
        "$1"*) printf '   %-60s %s from %s\n' "$got" "$2" "$4" ;;
        *) echo "--- nginx"; tail -20 "$DIR/nginx/error.log"
           echo "--- portcullis"; tail -20 "$DIR/portcullis.log"
           fail "$2 from $4: wanted $1, got: $got" ;;
    esac
}

log "1. the known user logs in through nginx (and reaches the backend)"
expect OK alice "$GOOD" 198.51.100.20
expect "NO" alice "not her password" 198.51.100.20

log "2+3. one address sprays one wrong password over 40 accounts; the known user logs in meanwhile"
ACCOUNTS=$(for i in $(seq -w 1 40); do printf 'user%s,' "$i"; done)
SUMMARY=$("${HELPER[@]}" spray "$NPORT" "$UPORT" 203.0.113.50 "${ACCOUNTS%,}" 'Winter2025!' \
    alice "$GOOD" 198.51.100.20)
python3 - "$SUMMARY" <<'PY' || { tail -20 "$DIR/portcullis.log"; fail "the spray was not stopped as it should be"; }
import json, sys
s = json.loads(sys.argv[1])
a = s["attempts"]
refused = [i for i, x in enumerate(a) if "Authentication failed" in x["got"]]
assert refused, "portcullis never refused the spray: %s" % a
first = refused[0]
# Before the first refusal: the upstream was asked, and said no (its own message).
for x in a[:first]:
    assert x["upstream_asked"] == 1 and "Invalid login or password" in x["got"], x
# From the first refusal on: every attempt refused by portcullis, the upstream never asked.
for x in a[first:]:
    assert "Authentication failed" in x["got"] and x["got"].startswith("NO"), x
    assert x["upstream_asked"] == 0, "the upstream was asked for a refused attempt: %s" % x
assert 5 <= first <= 20, "refused from attempt %d" % first
# The known user, after each refusal: in, through to the backend.
u = s["user_logins_during_spray"]
assert len(u) == len(refused) and all(x == "OK" for x in u), u
print("   the upstream refused attempts 1-%d itself; portcullis refused %d-%d without asking it"
      % (first, first + 1, len(a)))
print("   nginx told the sprayer: %s" % a[first]["got"])
print("   the known user logged in %d times during the spray" % len(u))
PY

log "4. what the upstream saw, and portcullis's counters"
COUNTS=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$UPORT/count', timeout=5).read().decode())")
python3 - "$COUNTS" <<'PY' || fail "the upstream saw what it should not"
import json, sys
c = json.loads(sys.argv[1])
assert c["leaked_portcullis_key"] == 0, c
assert c["without_site_secret"] == 0, c
print("   upstream: %d requests (%d OK), never portcullis's key, always the site's secret"
      % (c["requests"], c["ok"]))
PY
METRICS=$("${ADMIN[@]}" metrics)
metric() { awk -v s="$1" '$1 == s {print $2}' <<<"$METRICS"; }
N=$(metric 'portcullis_requests_total{endpoint="nginx_auth"}')
D=$(metric 'portcullis_verdicts_total{action="deny"}')
echo "   portcullis: $N nginx_auth requests, $D denied"
[ "${N:-0}" -ge 42 ] || fail "nginx_auth requests not counted: $N"
[ "${D:-0}" -ge 20 ] || fail "denials not counted: $D"

log "4b. a tarpit is a delay the client sees, then the login proceeds"
for i in $(seq 1 10); do
    expect NO alice "guess number $i" "198.18.$i.5"
done
METRICS=$("${ADMIN[@]}" metrics)
TARPITS0=$(metric 'portcullis_verdicts_total{action="tarpit"}')
BASE=$("${HELPER[@]}" timed-login "$NPORT" alice "$GOOD" 198.51.100.20)
HELD=$("${HELPER[@]}" timed-login "$NPORT" alice "$GOOD" 198.19.77.7)
echo "   familiar address: $BASE"
echo "   new address:      $HELD"
python3 - "$BASE" "$HELD" "$TARPIT" <<'PY' || { tail -20 "$DIR/portcullis.log"; fail "the tarpit did not reach the client as a delay"; }
import sys
base, held, tarpit = sys.argv[1].split(" ", 1), sys.argv[2].split(" ", 1), float(sys.argv[3])
assert base[1] == "OK" and held[1] == "OK", (base, held)
# A lower bound only: the client waited at least the tarpit for LOGIN's answer.
assert float(held[0]) >= tarpit, "waited %s s for a %s s tarpit" % (held[0], tarpit)
PY
METRICS=$("${ADMIN[@]}" metrics)
TARPITS=$(metric 'portcullis_verdicts_total{action="tarpit"}')
# Exactly one tarpit: the new address's, not the familiar one's.
[ "${TARPITS:-0}" -eq $((${TARPITS0:-0} + 1)) ] || fail "tarpits counted: ${TARPITS0:-0} -> $TARPITS, wanted one more"
echo "   portcullis_verdicts_total{action=\"tarpit\"} ${TARPITS0:-0} -> $TARPITS"

log "5. the upstream goes down: a temporary error, counted (fail-closed)"
kill "$UP_PID"; wait "$UP_PID" 2>/dev/null || true; UP_PID=""
expect "NO" alice "$GOOD" 198.51.100.20
got=$("${HELPER[@]}" login "$NPORT" alice "$GOOD" 198.51.100.20)
case "$got" in
    *"Temporary server problem"*) echo "   $got" ;;
    *) fail "wanted a temporary error, got: $got" ;;
esac
E=$("${ADMIN[@]}" metrics | awk '$1 == "portcullis_nginx_upstream_errors_total" {print $2}')
[ "${E:-0}" -eq 2 ] || fail "upstream errors counted: $E, wanted 2"
echo "   portcullis_nginx_upstream_errors_total $E"

kill -TERM "$PC_PID"; wait "$PC_PID" || fail "portcullis did not exit cleanly on SIGTERM"; PC_PID=""
log "6. no password the clients typed is in portcullis's log or its data directory"
if grep -r -a -q -F -e 'Winter2025!' -e "$GOOD" -e 'not her password' "$DIR/state" "$DIR/portcullis.log"; then
    fail "a plaintext password was written by portcullis"
fi
echo "   none (store, log)"
echo "e2e nginx: 1 passed, 0 failed ($(($(date +%s) - T0)) s)"
