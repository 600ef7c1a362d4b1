#!/usr/bin/env bash
# End-to-end test against a REAL Dovecot 2.4: Debian 13's dovecot-imapd (2.4.1), run in a
# Debian 13 (trixie) chroot that this script makes with debootstrap, asks `portcullis serve`
# (running outside the chroot) about every login through 2.4's auth_policy.
#
#  0. what Dovecot 2.4 sends: one failed, one unknown-account and one good login (and a client
#     that leaves without trying) against a small recording policy server
#     (tests/e2e/policy_recorder.py): the endpoints, the Basic credentials, each body's
#     attributes, `fail_type`, and `pwhash` recomputed from the nonce (SHA-256 of nonce, login,
#     NUL, password, its first 12 bits);
#  1–6. the scenario of tests/e2e/dovecot.sh (lib.sh): a legitimate user in, a spray refused,
#     an admin block that holds across a SIGKILL restart of portcullis;
#  7. `portcullis analyze` on the 2.4 log Dovecot wrote counts exactly the logins of 0–6.
#
# The chroot is cached in $PORTCULLIS_TEST_CACHE (default /var/cache/portcullis-tests) under a
# key naming its recipe; a cache that does not run `dovecot --version` as 2.4 is rebuilt. The
# chroot shares the machine's network namespace: Dovecot listens on 127.0.0.1 and reaches
# portcullis on 127.0.0.1; nothing leaves loopback. Nothing is mounted into the chroot (Dovecot
# needs no /proc for this), so there is nothing to unmount. Runs as root (chroot).
# Everything of a run lives in a scratch directory inside the chroot, removed at exit.
#
# Usage: tests/e2e/dovecot24.sh   (PORTCULLIS_BIN=path/to/portcullis to skip the build;
#        DEBIAN_MIRROR=URL to choose the mirror, default: the machine's own Debian mirror;
#        E2E_KEEP_LOG=FILE to keep a copy of the 2.4 log Dovecot wrote)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

[ "$(id -u)" = 0 ] || fail "run as root (debootstrap and chroot)"
command -v python3 >/dev/null || fail "python3 is required"
if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    (apt-get install -y -qq debootstrap >/dev/null 2>&1) || (apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null)
fi

BIN=${PORTCULLIS_BIN:-}
if [ -z "$BIN" ]; then
    log "building portcullis"
    cargo build -q -p portcullis
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/portcullis"
fi
[ -x "$BIN" ] || fail "no portcullis binary at $BIN"

# --- the chroot: Debian 13 minbase + dovecot-imapd, cached ------------------------------------
# The mirror the machine's own apt uses (deb822 `URIs:` or one-line `deb URL`), else Debian's.
debian_mirror() {
    local u
    u=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '/^URIs:/ {print $2} /^deb / {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' \
        | grep -E '/debian/?$' | grep -v security | head -1 || true)
    echo "${u:-http://deb.debian.org/debian}"
}
CACHE=${PORTCULLIS_TEST_CACHE:-/var/cache/portcullis-tests}
KEY="trixie-minbase-dovecot-imapd-$(dpkg --print-architecture 2>/dev/null || uname -m)-v1"
CHROOT="$CACHE/$KEY"
chroot_ok() { [ -f "$CHROOT/.portcullis-ready" ] && grep -q '^2\.4\.' <<<"$(chroot "$CHROOT" dovecot --version 2>/dev/null)"; }
mkdir -p "$CACHE"
exec 9>"$CACHE/$KEY.lock"
flock 9 # one builder at a time; runs using a ready chroot share it (each in its own scratch dir)
if ! chroot_ok; then
    MIRROR=${DEBIAN_MIRROR:-$(debian_mirror)}
    log "making the Debian 13 chroot (debootstrap --variant=minbase trixie, $MIRROR) in $CHROOT"
    rm -rf "$CHROOT" "$CHROOT.new"
    t=$(date +%s)
    debootstrap --variant=minbase trixie "$CHROOT.new" "$MIRROR" > "$CACHE/$KEY.debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/$KEY.debootstrap.log"; rm -rf "$CHROOT.new"; fail "debootstrap failed"; }
    log "   installing dovecot-imapd in it"
    # No init system in the chroot: policy-rc.d keeps the package from starting a service.
    printf '#!/bin/sh\nexit 101\n' > "$CHROOT.new/usr/sbin/policy-rc.d"
    chmod 755 "$CHROOT.new/usr/sbin/policy-rc.d"
    chroot "$CHROOT.new" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd && apt-get clean' \
        > "$CACHE/$KEY.install.log" 2>&1 \
        || { tail -20 "$CACHE/$KEY.install.log"; rm -rf "$CHROOT.new"; fail "installing dovecot-imapd in the chroot failed"; }
    chroot "$CHROOT.new" dovecot --version > "$CHROOT.new/.portcullis-ready"
    mv "$CHROOT.new" "$CHROOT"
    chroot_ok || fail "the new chroot does not run Dovecot 2.4"
    log "   chroot ready in $(( $(date +%s) - t ))s"
fi
flock -u 9
log "Dovecot $(chroot "$CHROOT" dovecot --version) in $CHROOT"
in_chroot() { chroot "$CHROOT" "$@"; }

# --- the run's scratch directory, inside the chroot ---------------------------------------
DIR=$(mktemp -d "$CHROOT/tmp/portcullis-e2e24.XXXXXX")
CDIR=${DIR#"$CHROOT"} # the same directory as Dovecot sees it
chmod 755 "$DIR" # the imap process runs as nobody and needs to reach its maildir
REC_PID=""
cleanup() {
    set +e
    [ -n "$PC_PID" ] && kill "$PC_PID" 2>/dev/null && wait "$PC_PID" 2>/dev/null
    [ -n "$REC_PID" ] && kill "$REC_PID" 2>/dev/null && wait "$REC_PID" 2>/dev/null
    [ -f "$DIR/dovecot.conf" ] && in_chroot doveadm -c "$CDIR/dovecot.conf" stop >/dev/null 2>&1
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

PPORT=$(free_port); APORT=$(free_port); IPORT=$(free_port); RPORT=$(free_port)
POLICY_PW="e2e-policy-$RANDOM$RANDOM"
TOKEN="e2e-admin-token-$RANDOM$RANDOM$RANDOM"
NONCE="e2e-nonce-$RANDOM$RANDOM"
export PORTCULLIS_ADMIN_TOKEN="$TOKEN"
SCHEME=http
ADMIN=(timeout 20 "$BIN" admin --url "http://127.0.0.1:$APORT" --actor e2e-operator)
DOVECOT_LOG="$DIR/dovecot.log"
write_portcullis_toml "$POLICY_PW" "$TOKEN"

mkdir -p "$DIR/run" "$DIR/mail"
chown nobody "$DIR/mail" 2>/dev/null || chmod 777 "$DIR/mail"
HASH=$(in_chroot doveadm pw -s SHA512-CRYPT -p "$GOOD")
for u in alice "${ACCOUNTS[@]}"; do echo "$u:$HASH::::::"; done > "$DIR/users"

# Dovecot 2.4's own configuration syntax: dovecot_config_version first, named passdb/userdb
# blocks, passwd_file_path, auth_allow_cleartext, mail_driver/mail_path, listener `listen`.
write_dovecot_conf() { # write_dovecot_conf POLICY_URL
    cat > "$DIR/dovecot.conf" <<EOF
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
base_dir = $CDIR/run
state_dir = $CDIR/run
protocols = imap
listen = 127.0.0.1
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
log_path = $CDIR/dovecot.log
auth_verbose = yes
auth_verbose_passwords = sha1:6
auth_failure_delay = 0
mail_driver = maildir
mail_path = $CDIR/mail/%{user}
mail_home = $CDIR/mail/%{user}
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
    listen = 127.0.0.1
    port = $IPORT
  }
  inet_listener imaps {
    port = 0
  }
}
passdb passwd-file {
  passwd_file_path = $CDIR/users
  default_password_scheme = SHA512-CRYPT
}
userdb static {
  fields {
    uid = nobody
    gid = nogroup
    home = $CDIR/mail/%{user}
  }
}
auth_policy_server_url = $1
auth_policy_hash_nonce = $NONCE
auth_policy_hash_mech = sha256
auth_policy_hash_truncate = 12
auth_policy_reject_on_fail = no
EOF
}
start_dovecot() {
    in_chroot dovecot -c "$CDIR/dovecot.conf" || { tail -5 "$DOVECOT_LOG" 2>/dev/null; fail "dovecot did not start"; }
    wait_for_imap
}
stop_dovecot() {
    in_chroot doveadm -c "$CDIR/dovecot.conf" stop >/dev/null
    for _ in $(seq 1 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $IPORT), 1)" 2>/dev/null || return 0
        sleep 0.1
    done
    fail "Dovecot did not stop"
}

log "0. what Dovecot 2.4 sends to a policy server (a recorder on :$RPORT)"
python3 "$ROOT/tests/e2e/policy_recorder.py" "$RPORT" "$DIR/policy-requests.jsonl" &
REC_PID=$!
for _ in $(seq 1 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $RPORT), 1)" 2>/dev/null && break
    sleep 0.1
done
write_dovecot_conf "http://dovecot:$POLICY_PW@127.0.0.1:$RPORT/"
start_dovecot
expect_login NO alice "not-her-password" 203.0.113.5
expect_login NO nosuchuser "not-her-password" 203.0.113.5
expect_login OK alice "$GOOD" 192.0.2.10
# A client that leaves without trying: a `no auth attempts` line, which is not an attempt.
python3 -c "import imaplib; imaplib.IMAP4('127.0.0.1', $IPORT).logout()"
stop_dovecot
kill "$REC_PID"; wait "$REC_PID" 2>/dev/null || true; REC_PID=""
python3 - "$DIR/policy-requests.jsonl" "$POLICY_PW" "$NONCE" "$GOOD" <<'PY' || fail "Dovecot 2.4's auth_policy requests are not what docs/server.md says"
import base64, hashlib, json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
pw, nonce, good = sys.argv[2:5]
def pwhash(login, password):
    # SHA-256 of nonce, login, NUL, password; the first 12 bits, as 4 hex digits.
    h = hashlib.sha256((nonce + login + "\0" + password).encode()).digest()
    return "%04x" % ((h[0] << 4) | (h[1] >> 4))
seq = [(r["path"], r["body"]["login"]) for r in reqs]
want = [("/?command=allow", "alice"), ("/?command=report", "alice"),
        ("/?command=allow", "nosuchuser"), ("/?command=report", "nosuchuser"),
        ("/?command=allow", "alice"), ("/?command=allow", "alice"), ("/?command=report", "alice")]
assert seq == want, "requests: %s" % seq
auth = "Basic " + base64.b64encode(("dovecot:" + pw).encode()).decode()
allow_keys = {"device_id", "fail_type", "login", "protocol", "pwhash", "remote", "session_id", "tls"}
for r in reqs:
    b = r["body"]
    assert r["method"] == "POST" and r["authorization"] == auth, r
    keys = allow_keys | ({"success", "policy_reject"} if "report" in r["path"] else set())
    assert set(b) == keys, "attributes %s, not %s" % (sorted(b), sorted(keys))
    assert b["protocol"] == "imap" and b["device_id"] == "" and b["tls"] is False, b
    assert all(isinstance(b[k], str) for k in allow_keys - {"tls"}), b
    assert b["session_id"], b
ft = [(r["body"]["fail_type"], r["body"].get("success"), r["body"].get("policy_reject")) for r in reqs]
assert ft == [("", None, None), ("credentials", False, False), ("", None, None),
              ("account", False, False), ("", None, None), ("", None, None), ("", True, False)], ft
remotes = [r["body"]["remote"] for r in reqs]
assert remotes == ["203.0.113.5"] * 4 + ["192.0.2.10"] * 3, remotes
hashes = [r["body"]["pwhash"] for r in reqs]
assert hashes == [pwhash("alice", "not-her-password")] * 2 + [pwhash("nosuchuser", "not-her-password")] * 2 \
    + [pwhash("alice", good)] * 3, hashes
print("   %d requests as documented: attributes %s (+ success, policy_reject in reports);"
      " fail_type credentials/account; pwhash = 12 bits of SHA-256(nonce|login|NUL|password)"
      % (len(reqs), ",".join(sorted(allow_keys))))
PY

log "starting portcullis (policy :$PPORT, admin :$APORT)"
start_portcullis
log "starting Dovecot 2.4 (imap :$IPORT) with auth_policy pointing at portcullis"
write_dovecot_conf "http://dovecot:$POLICY_PW@127.0.0.1:$PPORT/"
start_dovecot

run_scenario
stop_portcullis_gracefully
stop_dovecot
check_analyze
grep -q ' imap-login: Info: Logged in: ' "$DOVECOT_LOG" || fail "no 2.4 'Logged in:' line in the log"
if [ -n "${E2E_KEEP_LOG:-}" ]; then cp "$DOVECOT_LOG" "$E2E_KEEP_LOG"; echo "   the 2.4 log kept in $E2E_KEEP_LOG"; fi
echo "e2e (Dovecot 2.4): 1 passed, 0 failed"
