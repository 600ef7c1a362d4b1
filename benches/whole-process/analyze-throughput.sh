#!/usr/bin/env bash
# analyze-throughput.sh — whole-process speed of `portcullis analyze` on a ≥ 1M-line Dovecot log,
# beside Debian's `fail2ban-regex` (stock dovecot filter) on the same file in the same run
# (issue 2, item 8; goal: portcullis ≥ 1M lines/s on one core, memory flat).
#
#   benches/whole-process/analyze-throughput.sh [--runs N] [--f2b-runs M] [--min-lines L]
#                                               [--sim-args 'ARGS'] [--out DIR] [--no-build]
#                                               [--portcullis BIN] [--docs] [--report-only]
#
# 1. builds portcullis (release) once into $CARGO_TARGET_DIR (default target-compare);
# 2. writes the log with `portcullis simulate` (default: parliament-2017, 2,000 accounts, 26 days,
#    seed 1 — real Dovecot 2.3 syslog lines, benign life plus the spray), checks it has at least
#    --min-lines lines (default 1,000,000); reused when the same command made it before;
# 3. times, with hyperfine, both tools pinned to core 0 (`taskset -c 0`), output to /dev/null:
#       portcullis analyze --format json LOG          (--runs, default 5, after 1 warm-up)
#       fail2ban-regex -r --timezone=UTC LOG dovecot   (--f2b-runs, default 3)
#    and takes each one's median wall time;
# 4. measures peak RSS with `/usr/bin/time -v` (one run each), and portcullis's peak RSS on the
#    first quarter of the log too: flat memory means the two are about equal;
# 5. prints a Markdown table and writes it to OUT/analyze-throughput.md (+ the raw JSON); with
#    --docs also between the throughput markers of docs/bench/compare.md; --report-only redoes
#    this step from the last run's measurements.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=5
f2b_runs=3
min_lines=1000000
sim_args="--scenario parliament-2017 --accounts 2000 --days 26 --seed 1"
out=$root/target-compare/whole-process
build=1
bin=
docs=
report_only=
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --f2b-runs) f2b_runs=$2; shift 2 ;;
        --min-lines) min_lines=$2; shift 2 ;;
        --sim-args) sim_args=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-build) build=; shift ;;
        --portcullis) bin=$2; build=; shift 2 ;;
        --docs) docs=$root/docs/bench/compare.md; shift ;;
        --report-only) report_only=1; shift ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "analyze-throughput: unknown argument $1" >&2; exit 2 ;;
    esac
done

bash "$root/benches/compare/install-peers.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target-compare}
if [ -n "$build" ]; then
    (cd "$root" && cargo build --release -p portcullis --quiet)
fi
bin=${bin:-$CARGO_TARGET_DIR/release/portcullis}
[ -x "$bin" ] || { echo "analyze-throughput: no binary at $bin" >&2; exit 2; }

mkdir -p "$out"
data=$out/data
stamp="$sim_args $(stat -c '%s:%Y' "$bin")"
if [ ! -f "$data/.stamp" ] || [ "$(cat "$data/.stamp")" != "$stamp" ]; then
    rm -rf "$data"
    # shellcheck disable=SC2086
    "$bin" simulate $sim_args --out "$data"
    echo "$stamp" > "$data/.stamp"
fi
log=$data/mail.log
lines=$(wc -l < "$log")
if [ "$lines" -lt "$min_lines" ]; then
    echo "analyze-throughput: $log has $lines lines (< $min_lines); pass bigger --sim-args" >&2
    exit 2
fi
quarter=$data/quarter.log
[ -f "$quarter" ] && [ "$quarter" -nt "$log" ] || head -n $((lines / 4)) "$log" > "$quarter"

echo "analyze-throughput: $lines lines in $log; load $(cut -d' ' -f1 /proc/loadavg)" >&2
p_cmd="taskset -c 0 $bin analyze --format json $log"
f_cmd="taskset -c 0 fail2ban-regex -r --timezone=UTC $log dovecot"
rss() { /usr/bin/time -f '%M' -o "$out/rss.tmp" "$@" > /dev/null 2>&1 || true; cat "$out/rss.tmp"; }
if [ -z "$report_only" ]; then
    hyperfine --style basic --warmup 1 --runs "$runs" --output null \
        --export-json "$out/portcullis.hyperfine.json" -n portcullis "$p_cmd" >&2
    hyperfine --style basic --runs "$f2b_runs" --output null \
        --export-json "$out/fail2ban.hyperfine.json" -n fail2ban-regex "$f_cmd" >&2
    {
        rss taskset -c 0 "$bin" analyze --format json "$log"
        rss taskset -c 0 "$bin" analyze --format json "$quarter"
        rss taskset -c 0 fail2ban-regex -r --timezone=UTC "$log" dovecot
    } > "$out/rss.txt"
fi
{ read -r p_rss; read -r p_rss_q; read -r f_rss; } < "$out/rss.txt"

/usr/bin/python3 - "$out" "$lines" "$p_rss" "$p_rss_q" "$f_rss" "$sim_args" "$docs" <<'EOF'
import json, os, statistics, subprocess, sys
out, lines, p_rss, p_rss_q, f_rss, sim_args, docs = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6]), sys.argv[6], sys.argv[7]
def med(name):
    r = json.load(open(os.path.join(out, f"{name}.hyperfine.json")))["results"][0]
    return statistics.median(r["times"]), len(r["times"]), r["user"] + r["system"]
pt, pn, pc = med("portcullis")
ft, fn, fc = med("fail2ban")
model = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if l.startswith("Model name")), "?")
f2b = subprocess.run(["fail2ban-regex", "--version"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[0]
res = {"lines": lines, "sim": sim_args, "cpu": model, "nproc": os.cpu_count(), "load": load,
       "portcullis": {"cpu_s": pc, "median_s": pt, "runs": pn, "lines_per_s": lines / pt, "rss_kb": p_rss, "rss_quarter_kb": p_rss_q},
       "fail2ban": {"version": f2b, "cpu_s": fc, "median_s": ft, "runs": fn, "lines_per_s": lines / ft, "rss_kb": f_rss}}
json.dump(res, open(os.path.join(out, "analyze-throughput.json"), "w"), indent=1)
md = f"""`portcullis simulate {sim_args}` → {lines:,} Dovecot lines; both tools pinned to one core
(`taskset -c 0`); {os.cpu_count()} cores, {model}, load {load} at the end; wall time is the
median (hyperfine), CPU time (user + system) the mean. On a shared, loaded machine the core is
shared too, so lines per CPU-second is the steadier figure.

| tool | runs | wall s (median) | lines/s (wall) | CPU s | lines per CPU-second | peak RSS (whole log) | peak RSS (first quarter) |
|---|---|---|---|---|---|---|---|
| portcullis analyze --format json | {pn} | {pt:.2f} | {lines/pt/1e6:.2f} M | {pc:.2f} | {lines/pc/1e6:.2f} M | {p_rss/1024:.0f} MiB | {p_rss_q/1024:.0f} MiB |
| {f2b} (dovecot filter) | {fn} | {ft:.2f} | {lines/ft/1e3:.1f} k | {fc:.2f} | {lines/fc/1e3:.1f} k | {f_rss/1024:.0f} MiB | — |

portcullis reads this log {ft/pt:.0f}× faster than fail2ban-regex (wall), {fc/pc:.0f}× per CPU-second.
"""
open(os.path.join(out, "analyze-throughput.md"), "w").write(md)
print(md)
if docs:
    b, e = "<!-- throughput:begin -->", "<!-- throughput:end -->"
    doc = open(docs).read()
    head, rest = doc.split(b, 1)
    _, tail = rest.split(e, 1)
    open(docs, "w").write(f"{head}{b}\n{md}{e}{tail}")
    print(f"analyze-throughput: updated {docs}", file=sys.stderr)
EOF
