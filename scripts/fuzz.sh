#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time each (default 15 s), seeded with the
# real-log samples in fuzz/seeds/<target>/. Exits non-zero on the first crash (the input is
# left in fuzz/artifacts/<target>/). Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
secs="${1:-15}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz for the nightly toolchain is missing (cargo install cargo-fuzz)" >&2
    exit 2
fi
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    echo "== fuzz $t for ${secs}s"
    cargo +nightly fuzz run "$t" "corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$secs" -max_len=4096 -rss_limit_mb=1024 -print_final_stats=1
done
echo "fuzz.sh: all ${#targets[@]} targets ran ${secs}s without a crash"
