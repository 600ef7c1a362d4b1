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
#     still names who made it and why;
#  6. a graceful stop; 7. `portcullis analyze` on Dovecot's own log counts exactly the logins
#     the run made.
# The scenario and its helpers are shared with tests/e2e/dovecot24.sh (Dovecot 2.4): lib.sh.
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
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

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
cleanup() {
    set +e
    [ -n "$PC_PID" ] && kill "$PC_PID" 2>/dev/null && wait "$PC_PID" 2>/dev/null
    [ -f "$DIR/dovecot.conf" ] && doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

PPORT=$(free_port); APORT=$(free_port); IPORT=$(free_port)
POLICY_PW="e2e-policy-$RANDOM$RANDOM"
TOKEN="e2e-admin-token-$RANDOM$RANDOM$RANDOM"
export PORTCULLIS_ADMIN_TOKEN="$TOKEN"
ADMIN=(timeout 20 "$BIN" admin --url "http://127.0.0.1:$APORT" --actor e2e-operator)

DOVECOT_LOG="$DIR/dovecot.log"
write_portcullis_toml "$POLICY_PW" "$TOKEN"
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

log "starting portcullis (policy :$PPORT, admin :$APORT)"
start_portcullis

log "starting dovecot (imap :$IPORT)"
mkdir -p "$DIR/run" "$DIR/mail"
chown nobody "$DIR/mail" 2>/dev/null || chmod 777 "$DIR/mail"
HASH=$(doveadm pw -s SHA512-CRYPT -p "$GOOD")
for u in alice "${ACCOUNTS[@]}"; do echo "$u:$HASH::::::"; done > "$DIR/users"
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
auth_policy_hash_mech = sha256
auth_policy_hash_truncate = 12
auth_policy_reject_on_fail = no
EOF
dovecot -c "$DIR/dovecot.conf" || fail "dovecot did not start"
wait_for_imap

run_scenario
if [ "$SCHEME" = https ]; then
    HS=$("${ADMIN[@]}" metrics | awk '/^portcullis_tls_handshakes_total\{listener="policy"\}/ {print $2}')
    [ "${HS:-0}" -gt 0 ] || fail "Dovecot completed no TLS handshake with the policy listener"
    echo "   Dovecot's requests came over TLS: $HS handshakes since the restart"
fi

stop_portcullis_gracefully
check_analyze
echo "e2e ($SCHEME): 1 passed, 0 failed"
