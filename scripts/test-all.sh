#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with a Rust toolchain. Installs what the tests
# need when it is missing (Debian's dovecot-imapd for the end-to-end test, whois (mkpasswd) and
# apache2-utils (htpasswd) for the password-scheme test, Chromium and
# playwright-core for the dashboard check, cargo-fuzz for bounded fuzzing), then runs:
#   formatting, clippy (warnings are errors), every crate's unit and integration tests,
#   real Dovecot against `portcullis serve`, the dashboard in headless Chromium, and each
#   fuzz target for a bounded time.
# Environment: FUZZ_SECONDS (default 5), SKIP_FUZZ=1, SKIP_E2E=1, SKIP_BROWSER=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never
t0=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" $(( $(date +%s) - t0 )); }

# --- what the tests need from Debian -------------------------------------------------------
need=()
[ "${SKIP_E2E:-}" = 1 ] || { command -v dovecot >/dev/null && command -v doveadm >/dev/null; } || need+=(dovecot-imapd)
[ "${SKIP_E2E:-}" = 1 ] || command -v mkpasswd >/dev/null || need+=(whois)
[ "${SKIP_E2E:-}" = 1 ] || command -v htpasswd >/dev/null || need+=(apache2-utils)
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

step "cargo test (all crates)"
cargo test --workspace

BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/portcullis"

if [ "${SKIP_E2E:-}" != 1 ]; then
    step "end to end: real Dovecot against portcullis serve"
    PORTCULLIS_BIN="$BIN" tests/e2e/dovecot.sh
    step "end to end: real Dovecot against portcullis serve, over TLS"
    E2E_TLS=1 PORTCULLIS_BIN="$BIN" tests/e2e/dovecot.sh
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
            cargo install -q --locked cargo-fuzz
        fi
    fi
    if cargo +nightly fuzz --version >/dev/null 2>&1; then
        scripts/fuzz.sh "${FUZZ_SECONDS:-5}"
    else
        echo "fuzzing skipped: no nightly toolchain here (cargo-fuzz needs one)"
    fi
fi

step "all tests passed"
