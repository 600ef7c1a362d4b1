#!/usr/bin/env bash
# `portcullis passwords audit` on files the real tools write, made now, with every scheme each
# tool offers:
#   /etc/shadow-style:  mkpasswd -m <every method of `mkpasswd -m help`>   (Debian: whois)
#   Dovecot passwd-file: doveadm pw -s <every scheme of `doveadm pw -l`>   (dovecot-core)
#   htpasswd:           htpasswd -m, -B, -2, -5, -d, -s                    (apache2-utils)
# Every scheme gets an account with a password from the audit's built-in top 10 (it must be
# found) and one with a strong password (it must not be). Both the text and the JSON report are
# checked: per account found / not found, no account "not testable", every line read, and per
# scheme every account tested.
#
# Not covered: `htpasswd -p` (plaintext, "might not work on this platform": Apache on Unix
# refuses such entries, so they are no login to protect, and a bare password cannot be told
# from a DES hash).
#
# Environment: PORTCULLIS_BIN (default target/debug/portcullis).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${PORTCULLIS_BIN:-${CARGO_TARGET_DIR:-target}/debug/portcullis}"
for tool in mkpasswd doveadm htpasswd python3; do
    command -v "$tool" >/dev/null || { echo "password-schemes: $tool is missing" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "password-schemes: no binary at $BIN (cargo build -p portcullis)" >&2; exit 2; }

# Schemes that cannot be attacked offline at all, and so may be reported as not testable.
# None of the schemes these tools offer is such a scheme: each stores what the server needs to
# check a password, which is what an offline guess needs too.
ALLOWED_UNTESTABLE=""

DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
WEAK=(password qwerty 123456 111111 123123)
STRONG='Quartz-Lantern-Moss-57'
n=0
# Sets $pw to the next weak password (not in a subshell, so the rotation advances).
next_weak() { n=$((n + 1)); pw=${WEAK[$((n % ${#WEAK[@]}))]}; }

# --- shadow: every mkpasswd method ------------------------------------------------------------
methods=$(mkpasswd -m help | awk 'NR > 1 && NF { print $1 }')
: > "$DIR/shadow"
for m in $methods; do
    next_weak
    echo "$m-weak:$(mkpasswd -m "$m" "$pw"):20100:0:99999:7:::" >> "$DIR/shadow"
    echo "$m-strong:$(mkpasswd -m "$m" "$STRONG"):20100:0:99999:7:::" >> "$DIR/shadow"
done

# --- Dovecot passwd-file: every doveadm scheme ------------------------------------------------
schemes=$(doveadm pw -l)
: > "$DIR/dovecot-users"
for s in $schemes; do
    lc=$(echo "$s" | tr 'A-Z' 'a-z')
    for kind in weak strong; do
        user="dovecot-$lc-$kind@example.org"
        if [ "$kind" = weak ]; then next_weak; else pw=$STRONG; fi
        # -u: DIGEST-MD5 hashes the user and realm too.
        echo "$user:$(doveadm pw -s "$s" -u "$user" -p "$pw"):1000:1000::/home/x::" >> "$DIR/dovecot-users"
    done
done

# --- htpasswd ---------------------------------------------------------------------------------
: > "$DIR/htpasswd"
for f in m B 2 5 d s; do
    next_weak
    htpasswd -nb"$f" "ht$f-weak" "$pw" 2>/dev/null | head -1 >> "$DIR/htpasswd"
    htpasswd -nb"$f" "ht$f-strong" "$STRONG" 2>/dev/null | head -1 >> "$DIR/htpasswd"
done

echo "password-schemes: $(wc -l < "$DIR/shadow") shadow, $(wc -l < "$DIR/dovecot-users") passwd-file, $(wc -l < "$DIR/htpasswd") htpasswd accounts"
echo "  mkpasswd methods: $(echo $methods)"
echo "  doveadm schemes:  $(echo $schemes)"

fail=0
for f in shadow dovecot-users htpasswd; do
    # The weak passwords are in the top 10; 20 guesses per slow account keep the strong
    # Argon2 and yescrypt accounts affordable in a debug build. Exit status 1 = found something.
    args=("$DIR/$f" --max-guesses 20 --year 2026)
    set +e
    "$BIN" passwords audit "${args[@]}" > "$DIR/$f.txt"; rc_text=$?
    "$BIN" passwords audit "${args[@]}" --format json > "$DIR/$f.json"; rc_json=$?
    set -e
    if [ "$rc_text" != 1 ] || [ "$rc_json" != 1 ]; then
        echo "FAIL $f: exit status $rc_text (text), $rc_json (json), want 1" >&2
        fail=1
    fi
    if grep -q "NOT TESTABLE" "$DIR/$f.txt" && [ -z "$ALLOWED_UNTESTABLE" ]; then
        echo "FAIL $f: text report has NOT TESTABLE accounts:" >&2
        sed -n '/NOT TESTABLE/,/^$/p' "$DIR/$f.txt" >&2
        fail=1
    fi
    grep -q "^COVERAGE per scheme" "$DIR/$f.txt" || { echo "FAIL $f: no COVERAGE section" >&2; fail=1; }
    if grep -q -w -e "$STRONG" -e qwerty -e 123123 "$DIR/$f.txt" "$DIR/$f.json"; then
        echo "FAIL $f: a password is in the report without --reveal" >&2
        fail=1
    fi
    python3 - "$DIR/$f" "$DIR/$f.json" "$ALLOWED_UNTESTABLE" <<'PY' || fail=1
import json, sys
src, report, allowed = sys.argv[1], sys.argv[2], set(sys.argv[3].split())
r = json.load(open(report))
users = [line.split(":", 1)[0] for line in open(src) if line.strip()]
guessed = {g["user"] for g in r["guessed"]} | {a["user"] for a in r["empty"]}
untestable = {a["user"]: a["scheme"] for a in r["untestable"]}
bad = []
rejected = sum(i["rejected"] for i in r["inputs"])
if rejected:
    bad.append(f"{rejected} lines rejected: {[i['rejected_examples'] for i in r['inputs']]}")
if r["accounts"] != len(users):
    bad.append(f"{r['accounts']} accounts read, {len(users)} written")
for u in users:
    if u in untestable and untestable[u] not in allowed:
        bad.append(f"{u}: not testable ({untestable[u]})")
    elif u.endswith("-weak") or "-weak@" in u:
        if u not in guessed:
            bad.append(f"{u}: weak password not found")
    elif u in guessed:
        bad.append(f"{u}: strong password reported as found")
for scheme, c in r["coverage"].items():
    if c["tested"] != c["accounts"] and scheme not in allowed:
        bad.append(f"coverage {scheme}: {c['tested']} of {c['accounts']} tested")
    if c["tested"] > c["found"] and c["min_guesses"] == 0:
        bad.append(f"coverage {scheme}: accounts tested with 0 guesses")
for b in bad:
    print(f"FAIL {src.rsplit('/', 1)[-1]}: {b}", file=sys.stderr)
print(f"  {src.rsplit('/', 1)[-1]}: {len(users)} accounts, {len(guessed)} found, "
      f"schemes {sorted(r['coverage'])}")
sys.exit(1 if bad else 0)
PY
done
if [ "$fail" != 0 ]; then
    echo "password-schemes: FAILED (reports kept in $DIR.kept)" >&2
    cp -r "$DIR" "$DIR.kept"
    exit 1
fi
echo "password-schemes: ok"
