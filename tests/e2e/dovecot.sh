#!/usr/bin/env bash
# End-to-end test: a REAL Dovecot (Debian's dovecot-imapd) asks `portcullis serve` about every
# login through auth_policy (HTTP Basic credentials in auth_policy_server_url).
#
#  1. a legitimate user logs in over IMAP;
#  2. a scripted password spray across many accounts from several public (TEST-NET) addresses
#     is refused by the policy once detected, and stays refused;
#  3. the legitimate user still gets in, from her usual address and from a new one;
#  4. `portcullis admin block` blocks a network; a login from it is refused;
#  5. portcullis is killed with SIGKILL and restarted: the block still holds, the audit log
#     still names who made it and why.
#
# With E2E_TLS=1 both listeners speak TLS (a certificate made with openssl for this run):
# Dovecot reaches the policy listener at https://…, verifying the certificate
# (ssl_client_ca_file), `portcullis admin` uses https with --ca-cert, and the run also checks
# that the policy listener completed TLS handshakes.
#
# Everything lives in a scratch directory; nothing under /etc is touched. Bounded in time
# (each step has a timeout); exits non-zero on failure; cleans up its processes.
# Usage: tests/e2e/dovecot.sh   (PORTCULLIS_BIN=path/to/portcullis to skip the build;
#        E2E_TLS=1 for https between Dovecot and portcullis)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

log() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

if ! command -v dovecot >/dev/null || ! command -v doveadm >/dev/null; then
    log "installing dovecot-imapd"
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y dovecot-imapd >/dev/null 2>&1) || (apt-get update >/dev/null && apt-get install -y dovecot-imapd >/dev/null)
fi
command -v python3 >/dev/null || fail "python3 is required"
if [ "${E2E_TLS:-0}" = 1 ] && ! command -v openssl >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y openssl >/dev/null 2>&1) || fail "openssl is required for E2E_TLS=1"
fi

BIN=${PORTCULLIS_BIN:-}
if [ -z "$BIN" ]; then
    log "building portcullis"
    cargo build -q -p portcullis
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/portcullis"
fi
[ -x "$BIN" ] || fail "no portcullis binary at $BIN"

DIR=$(mktemp -d /tmp/portcullis-e2e.XXXXXX)
chmod 755 "$DIR" # the imap process runs as nobody and needs to reach its maildir
PC_PID=""
cleanup() {
    set +e
    [ -n "$PC_PID" ] && kill "$PC_PID" 2>/dev/null && wait "$PC_PID" 2>/dev/null
    [ -f "$DIR/dovecot.conf" ] && doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PPORT=$(free_port); APORT=$(free_port); IPORT=$(free_port)
POLICY_PW="e2e-policy-$RANDOM$RANDOM"
TOKEN="e2e-admin-token-$RANDOM$RANDOM$RANDOM"
export PORTCULLIS_ADMIN_TOKEN="$TOKEN"
ADMIN=(timeout 20 "$BIN" admin --url "http://127.0.0.1:$APORT" --actor e2e-operator)

cat > "$DIR/portcullis.toml" <<EOF
[server]
policy_listen = "127.0.0.1:$PPORT"
admin_listen = "127.0.0.1:$APORT"
data_dir = "$DIR/state"
policy_user = "dovecot"
policy_password = "$POLICY_PW"
admin_token = "$TOKEN"
EOF
SCHEME=http
DOVECOT_TLS=""
if [ "${E2E_TLS:-0}" = 1 ]; then
    log "TLS: a certificate for 127.0.0.1 (openssl), policy listener over https"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" >/dev/null 2>&1 || fail "openssl req failed"
    cat >> "$DIR/portcullis.toml" <<EOF
tls_cert = "$DIR/cert.pem"
tls_key = "$DIR/key.pem"
tls_listeners = "both"
EOF
    SCHEME=https
    # The admin CLI over https too, trusting the run's certificate.
    ADMIN=(timeout 20 "$BIN" admin --url "https://127.0.0.1:$APORT" --ca-cert "$DIR/cert.pem" --actor e2e-operator)
    DOVECOT_TLS="ssl_client_ca_file = $DIR/cert.pem"
fi

start_portcullis() {
    "$BIN" serve --config "$DIR/portcullis.toml" >>"$DIR/portcullis.log" 2>&1 &
    PC_PID=$!
    for _ in $(seq 1 100); do
        if python3 - "$APORT" "$SCHEME" "$DIR/cert.pem" <<'PY' 2>/dev/null; then return 0; fi
import ssl, sys, urllib.request
port, scheme, cert = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=cert) if scheme == "https" else None
urllib.request.urlopen("%s://127.0.0.1:%s/readyz" % (scheme, port), timeout=1, context=ctx)
PY
        kill -0 "$PC_PID" 2>/dev/null || { cat "$DIR/portcullis.log"; fail "portcullis exited"; }
        sleep 0.1
    done
    cat "$DIR/portcullis.log"; fail "portcullis not ready"
}

log "starting portcullis (policy :$PPORT, admin :$APORT)"
start_portcullis

log "starting dovecot (imap :$IPORT)"
mkdir -p "$DIR/run" "$DIR/mail"
chown nobody "$DIR/mail" 2>/dev/null || chmod 777 "$DIR/mail"
HASH=$(doveadm pw -s SHA512-CRYPT -p 'correct horse battery staple')
ACCOUNTS=()
{
    echo "alice:$HASH::::::"
    for i in $(seq -w 1 40); do echo "user$i:$HASH::::::"; ACCOUNTS+=("user$i"); done
} > "$DIR/users"
cat > "$DIR/dovecot.conf" <<EOF
base_dir = $DIR/run
state_dir = $DIR/run
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = $DIR/dovecot.log
auth_verbose = yes
auth_failure_delay = 0
mail_location = maildir:$DIR/mail/%u
default_login_user = nobody
default_internal_user = root
default_internal_group = root
login_trusted_networks = 127.0.0.0/8
# Dovecot's own per-address auth penalty (anvil) would slow the scripted spray to a crawl:
# mode 0 on its socket disables it, so what stops the spray here is portcullis alone.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IPORT
  }
  inet_listener imaps {
    port = 0
  }
}
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $DIR/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DIR/mail/%u
}
auth_policy_server_url = $SCHEME://dovecot:$POLICY_PW@127.0.0.1:$PPORT/
$DOVECOT_TLS
auth_policy_hash_nonce = e2e-nonce-$RANDOM
auth_policy_reject_on_fail = no
EOF
dovecot -c "$DIR/dovecot.conf" || fail "dovecot did not start"
for _ in $(seq 1 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $IPORT), 1)" 2>/dev/null && break
    sleep 0.1
done

DRIVER=(timeout 120 python3 "$ROOT/tests/e2e/imap_driver.py")
GOOD='correct horse battery staple'
expect_login() { # expect_login WANT USER PASSWORD SOURCE
    local got
    got=$("${DRIVER[@]}" login "$IPORT" "$2" "$3" "$4")
    case "$got" in
        "$1"*) printf '   %-5s %s from %s\n' "$1" "$2" "$4" ;;
        *) echo "--- dovecot.log"; tail -20 "$DIR/dovecot.log"; fail "$2 from $4: wanted $1, got: $got" ;;
    esac
}

log "1. the legitimate user logs in"
expect_login OK alice "$GOOD" 192.0.2.10

log "2. spray: 4 addresses x ${#ACCOUNTS[@]} accounts, one wrong password per account per round"
SOURCES=203.0.113.10,203.0.113.11,203.0.113.12,203.0.113.13
SUMMARY=$("${DRIVER[@]}" spray "$IPORT" "$SOURCES" "$(IFS=,; echo "${ACCOUNTS[*]}")" 1)
echo "   $SUMMARY"
python3 - "$SUMMARY" <<'PY' || fail "the spray was not stopped"
import json, sys
s = json.loads(sys.argv[1])
assert s["logged_in"] == 0, s
assert s["policy_refused"] > 0, "no attempt was refused by the policy: %s" % s
assert all(v is not None for v in s["first_refusal"].values()), "a source was never refused: %s" % s
assert s["refusal_held"], "a refused source got through again: %s" % s
PY
log "   the sprayer now tries the right password: refused by the policy all the same"
expect_login ALERT user07 "$GOOD" 203.0.113.12

log "3. the legitimate user still gets in (usual address, and a new one)"
expect_login OK alice "$GOOD" 192.0.2.10
expect_login OK alice "$GOOD" 192.0.2.77
expect_login OK user01 "$GOOD" 192.0.2.11

log "4. admin block of 198.51.100.0/24"
"${ADMIN[@]}" block 198.51.100.0/24 --reason "e2e: spray infrastructure" --for 1h >/dev/null
expect_login ALERT alice "$GOOD" 198.51.100.5

log "5. kill -9 portcullis and restart it"
kill -9 "$PC_PID"; wait "$PC_PID" 2>/dev/null || true; PC_PID=""
start_portcullis
expect_login ALERT alice "$GOOD" 198.51.100.5
expect_login OK alice "$GOOD" 192.0.2.10
"${ADMIN[@]}" blocks | grep -q '"198.51.100.0/24"' || fail "block not listed after restart"
"${ADMIN[@]}" audit | grep -q '"e2e-operator"' || fail "audit entry lost"
REQS=$("${ADMIN[@]}" metrics | awk '/^portcullis_requests_total\{endpoint="allow"\}/ {print $2}')
[ "${REQS:-0}" -gt 0 ] || fail "no allow requests counted after restart"
if [ "$SCHEME" = https ]; then
    HS=$("${ADMIN[@]}" metrics | awk '/^portcullis_tls_handshakes_total\{listener="policy"\}/ {print $2}')
    [ "${HS:-0}" -gt 0 ] || fail "Dovecot completed no TLS handshake with the policy listener"
    echo "   Dovecot's requests came over TLS: $HS handshakes since the restart"
fi

log "6. graceful stop (SIGTERM) flushes and exits 0"
kill -TERM "$PC_PID"
wait "$PC_PID" || fail "portcullis did not exit cleanly on SIGTERM"
PC_PID=""
grep -q "store flushed and closed" "$DIR/portcullis.log" || fail "no clean shutdown logged"
echo "e2e ($SCHEME): 1 passed, 0 failed"
