# Shared by the real-Dovecot end-to-end tests, sourced (not run): tests/e2e/dovecot.sh (the
# machine's own Dovecot, 2.3 on Debian 12) and tests/e2e/dovecot24.sh (Debian 13's Dovecot 2.4
# in a chroot). Both run the same scenario against `portcullis serve` through Dovecot's
# auth_policy, then read Dovecot's own log back with `portcullis analyze`.
#
# The caller sets ROOT, BIN, DIR (scratch directory), PPORT, APORT, IPORT, SCHEME (http|https),
# ADMIN (array: the `portcullis admin` command line), DOVECOT_LOG (the log Dovecot writes), and
# writes "$DIR/portcullis.toml" (see write_portcullis_toml).

log() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The serve configuration both tests start from (TLS settings are appended by the caller).
write_portcullis_toml() { # write_portcullis_toml POLICY_PASSWORD ADMIN_TOKEN
    cat > "$DIR/portcullis.toml" <<EOF
[server]
policy_listen = "127.0.0.1:$PPORT"
admin_listen = "127.0.0.1:$APORT"
data_dir = "$DIR/state"
policy_user = "dovecot"
policy_password = "$1"
admin_token = "$2"
EOF
}

PC_PID=""
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

wait_for_imap() {
    for _ in $(seq 1 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $IPORT), 1)" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "Dovecot does not listen on 127.0.0.1:$IPORT"
}

# Every login the scenario makes, by how it ended: what `analyze` must find in Dovecot's log.
N_OK=0
N_REFUSED=0
GOOD='correct horse battery staple'
DRIVER=(timeout 120 python3 "$ROOT/tests/e2e/imap_driver.py")
expect_login() { # expect_login WANT USER PASSWORD SOURCE   (WANT: OK | NO | ALERT)
    local got
    got=$("${DRIVER[@]}" login "$IPORT" "$2" "$3" "$4")
    case "$got" in
        "$1"*) printf '   %-5s %s from %s\n' "$1" "$2" "$4" ;;
        *) echo "--- Dovecot's log"; tail -20 "$DOVECOT_LOG"; fail "$2 from $4: wanted $1, got: $got" ;;
    esac
    if [ "$1" = OK ]; then N_OK=$((N_OK + 1)); else N_REFUSED=$((N_REFUSED + 1)); fi
}

# The scenario: a legitimate user in, a spray refused, the user still in, an admin block that
# holds across a SIGKILL restart, a clean stop. ACCOUNTS: the 40 spray targets (user01…user40,
# each with the password $GOOD, like alice).
ACCOUNTS=()
for i in $(seq -w 1 40); do ACCOUNTS+=("user$i"); done
run_scenario() {
    log "1. the legitimate user logs in"
    expect_login OK alice "$GOOD" 192.0.2.10

    log "2. spray: 4 addresses x ${#ACCOUNTS[@]} accounts, one wrong password per account per round"
    local sources=203.0.113.10,203.0.113.11,203.0.113.12,203.0.113.13 summary
    summary=$("${DRIVER[@]}" spray "$IPORT" "$sources" "$(IFS=,; echo "${ACCOUNTS[*]}")" 1)
    echo "   $summary"
    python3 - "$summary" <<'PY' || fail "the spray was not stopped"
import json, sys
s = json.loads(sys.argv[1])
assert s["logged_in"] == 0, s
assert s["policy_refused"] > 0, "no attempt was refused by the policy: %s" % s
assert all(v is not None for v in s["first_refusal"].values()), "a source was never refused: %s" % s
assert s["refusal_held"], "a refused source got through again: %s" % s
PY
    N_REFUSED=$((N_REFUSED + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["attempts"])' "$summary")))
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
    grep -q '"198.51.100.0/24"' <<<"$("${ADMIN[@]}" blocks)" || fail "block not listed after restart"
    grep -q '"e2e-operator"' <<<"$("${ADMIN[@]}" audit)" || fail "audit entry lost"
    local reqs
    reqs=$("${ADMIN[@]}" metrics | awk '/^portcullis_requests_total\{endpoint="allow"\}/ {print $2}')
    [ "${reqs:-0}" -gt 0 ] || fail "no allow requests counted after restart"
}

stop_portcullis_gracefully() {
    log "6. graceful stop (SIGTERM) flushes and exits 0"
    kill -TERM "$PC_PID"
    wait "$PC_PID" || fail "portcullis did not exit cleanly on SIGTERM"
    PC_PID=""
    grep -q "store flushed and closed" "$DIR/portcullis.log" || fail "no clean shutdown logged"
}

# `portcullis analyze` on the log Dovecot wrote during the run must count exactly the logins the
# run made: N_OK successes and N_REFUSED failures (each attempt once, though Dovecot logs a
# failure on both its auth and its login process), and no line it could not read.
check_analyze() {
    log "7. portcullis analyze on Dovecot's own log: $N_OK successes, $N_REFUSED failed attempts"
    timeout 60 "$BIN" analyze --format json "$DOVECOT_LOG" > "$DIR/analyze.json" \
        || fail "portcullis analyze failed on $DOVECOT_LOG"
    python3 - "$DIR/analyze.json" "$N_OK" "$N_REFUSED" <<'PY' || { tail -40 "$DOVECOT_LOG"; fail "analyze does not count what the run did"; }
import json, sys
r = json.load(open(sys.argv[1]))["input"]
ok, refused = int(sys.argv[2]), int(sys.argv[3])
by = r["events_by_outcome"]
print("   analyze: %d events %s; skipped %s" % (r["events"], json.dumps(by, sort_keys=True),
                                                json.dumps(r["skipped_by_reason"], sort_keys=True)))
assert by.get("success", 0) == ok, "successes: analyze %s, the run %d" % (by.get("success", 0), ok)
failed = sum(v for k, v in by.items() if k != "success")
assert failed == refused, "failures: analyze %d, the run %d" % (failed, refused)
assert r["events"] == ok + refused, r
assert r["skipped_by_reason"].get("unrecognised", 0) == 0, r["skipped_by_reason"]
PY
}
