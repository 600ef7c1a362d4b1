#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with a Rust toolchain. Installs what the tests
# need when it is missing (Debian's dovecot-imapd, nginx-light with libnginx-mod-mail,
# crowdsec-custom-bouncer, crowdsec-firewall-bouncer, nftables and debootstrap for the
# end-to-end tests, whois (mkpasswd) and apache2-utils (htpasswd) for the password-scheme test,
# Chromium and playwright-core for the dashboard check, nats-server for the three-node cluster
# test; cargo-deny and cargo-fuzz at pinned
# versions from crates.io), then runs: formatting, clippy (warnings are errors), the MSRV check,
# cargo deny (licences, bans, sources; advisories when a RustSec database is on disk), every
# crate's unit and integration tests, real Dovecot 2.3 and 2.4 against `portcullis serve`,
# nginx's mail proxy asking it through auth_http, Debian's CrowdSec bouncers enforcing its
# decisions (in a network namespace of their own), a passwords audit of files made with every
# scheme the system tools offer, the dashboard in headless Chromium, and each fuzz target for a
# bounded time.
# Environment: FUZZ_SECONDS (default 5), SKIP_FUZZ=1, SKIP_E2E=1, SKIP_BROWSER=1,
# PORTCULLIS_SKIP_CLUSTER=1 (no nats-server, no three-node cluster test),
# PORTCULLIS_ADVISORY_DB (a clone of github.com/rustsec/advisory-db: the advisories check runs
# against it offline; without it that check is skipped and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never
t0=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" $(( $(date +%s) - t0 )); }

# --- what the tests need from Debian -------------------------------------------------------
need=()
[ "${SKIP_E2E:-}" = 1 ] || { command -v dovecot >/dev/null && command -v doveadm >/dev/null; } || need+=(dovecot-imapd)
[ "${SKIP_E2E:-}" = 1 ] || command -v nginx >/dev/null || need+=(nginx-light)
[ "${SKIP_E2E:-}" = 1 ] || [ -f /usr/lib/nginx/modules/ngx_mail_module.so ] || need+=(libnginx-mod-mail)
[ "${SKIP_E2E:-}" = 1 ] || command -v crowdsec-custom-bouncer >/dev/null || need+=(crowdsec-custom-bouncer)
[ "${SKIP_E2E:-}" = 1 ] || command -v crowdsec-firewall-bouncer >/dev/null || need+=(crowdsec-firewall-bouncer)
[ "${SKIP_E2E:-}" = 1 ] || command -v nft >/dev/null || need+=(nftables)
# debootstrap: the Dovecot 2.4 test makes a Debian 13 chroot (cached in /var/cache/portcullis-tests).
[ "${SKIP_E2E:-}" = 1 ] || command -v debootstrap >/dev/null || need+=(debootstrap)
[ "${SKIP_E2E:-}" = 1 ] || command -v mkpasswd >/dev/null || need+=(whois)
[ "${SKIP_E2E:-}" = 1 ] || command -v htpasswd >/dev/null || need+=(apache2-utils)
# nats-server (Debian 12: 2.9) for the three-node cluster test in `cargo test`
# (crates/portcullis/tests/cluster.rs), which fails without it unless PORTCULLIS_SKIP_CLUSTER=1.
[ -n "${PORTCULLIS_SKIP_CLUSTER:-}" ] || command -v nats-server >/dev/null || need+=(nats-server)
[ "${SKIP_BROWSER:-}" = 1 ] || command -v chromium >/dev/null || need+=(chromium)
[ "${SKIP_BROWSER:-}" = 1 ] || command -v node >/dev/null || need+=(nodejs npm)
if [ "${#need[@]}" -gt 0 ]; then
    step "installing ${need[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "MSRV: no dependency needs a newer Rust than rust-version"
scripts/check-msrv.sh

step "cargo deny"
CARGO_DENY_VERSION=0.20.2
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    cargo install -q --locked cargo-deny --version "$CARGO_DENY_VERSION"
fi
# cargo metadata (which cargo deny reads) wants every platform's crates on disk.
cargo fetch --locked -q
cargo deny --offline check licenses bans sources
if [ -n "${PORTCULLIS_ADVISORY_DB:-}" ]; then
    # cargo-deny looks for the database under db-path in a folder named after its URL.
    adv=$(mktemp -d)
    ln -s "$(realpath "$PORTCULLIS_ADVISORY_DB")" "$adv/advisory-db-3157b0e258782691"
    sed "s|^yanked = \"deny\"|yanked = \"deny\"\ndb-path = \"$adv\"|" deny.toml > "$adv/deny.toml"
    cargo deny --offline --config "$adv/deny.toml" check advisories
    rm -rf "$adv"
else
    echo "advisories skipped: set PORTCULLIS_ADVISORY_DB to a clone of the RustSec advisory-db"
fi

step "cargo test (all crates)"
cargo test --workspace

BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/portcullis"

if [ "${SKIP_E2E:-}" != 1 ]; then
    step "end to end: real Dovecot against portcullis serve"
    PORTCULLIS_BIN="$BIN" tests/e2e/dovecot.sh
    step "end to end: real Dovecot against portcullis serve, over TLS"
    E2E_TLS=1 PORTCULLIS_BIN="$BIN" tests/e2e/dovecot.sh
    step "end to end: real nginx mail proxy (auth_http) through portcullis serve to an upstream"
    PORTCULLIS_BIN="$BIN" tests/e2e/nginx.sh
    step "end to end: Debian's CrowdSec bouncers and nftables enforce portcullis's decisions (own netns)"
    PORTCULLIS_BIN="$BIN" tests/e2e/enforcement.sh
    step "end to end: real Dovecot 2.4 (Debian 13, in a chroot) against portcullis serve"
    PORTCULLIS_BIN="$BIN" tests/e2e/dovecot24.sh
    step "end to end: passwords audit of files made by mkpasswd, doveadm pw and htpasswd"
    PORTCULLIS_BIN="$BIN" tests/e2e/password-schemes.sh
fi

if [ "${SKIP_BROWSER:-}" != 1 ] && [ -x tests/browser/run-real.sh ]; then
    step "dashboard in headless Chromium against portcullis serve"
    PORTCULLIS_BIN="$BIN" tests/browser/run-real.sh
fi

if [ "${SKIP_FUZZ:-}" != 1 ]; then
    step "fuzzing each parser for ${FUZZ_SECONDS:-5}s"
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        if rustup toolchain list | grep -q nightly; then
            cargo install -q --locked cargo-fuzz --version 0.13.2
        fi
    fi
    if cargo +nightly fuzz --version >/dev/null 2>&1; then
        scripts/fuzz.sh "${FUZZ_SECONDS:-5}"
    else
        echo "fuzzing skipped: no nightly toolchain here (cargo-fuzz needs one)"
    fi
fi

step "all tests passed"
