#!/usr/bin/env bash
# fail2ban-replay.sh — run Debian's fail2ban-regex with stock filters over one log and apply the
# default jail's arithmetic to its matches: which addresses a stock fail2ban would have banned,
# and when.
#
#   fail2ban-replay.sh LOG OUTDIR [FILTER...]      (default filters: dovecot sshd)
#
# For each filter runs
#     fail2ban-regex -r --timezone=UTC --out '<time> <ip>' LOG FILTER
# (F2B_WRAP, if set, is put in front of that command, e.g. `/usr/bin/time -v -o FILE`), then
# f2b_jail.py with the [DEFAULT] jail of jail.conf (maxretry 5, findtime 10m, bantime 10m).
# Writes OUTDIR/FILTER.matches (one failure per line), OUTDIR/bans.tsv (every ban:
# address<TAB>unix time<TAB>jail) and OUTDIR/flags.tsv (the same; the scorer takes each
# address's first ban). Needs the `fail2ban` package (benches/compare/install-peers.sh).
set -euo pipefail

log=$(realpath "$1")
out=$2
shift 2
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=(dovecot sshd)
here=$(cd "$(dirname "$0")" && pwd)
command -v fail2ban-regex >/dev/null || { echo "fail2ban-replay: fail2ban-regex missing; run benches/compare/install-peers.sh" >&2; exit 2; }
mkdir -p "$out"
: > "$out/bans.tsv"
for f in "${filters[@]}"; do
    # shellcheck disable=SC2086
    ${F2B_WRAP:-} fail2ban-regex -r --timezone=UTC --out '<time> <ip>' "$log" "$f" > "$out/$f.matches"
    /usr/bin/python3 "$here/f2b_jail.py" "$out/$f.matches" "$f" >> "$out/bans.tsv"
done
sort -t $'\t' -k2,2n "$out/bans.tsv" > "$out/flags.tsv"
echo "fail2ban-replay: $(wc -l < "$out/flags.tsv") bans -> $out/flags.tsv" >&2
