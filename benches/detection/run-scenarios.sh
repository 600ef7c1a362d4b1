#!/usr/bin/env bash
# benches/detection/run-scenarios.sh — every simulator scenario through the detection engine,
# scored against its ground truth: the results table of docs/detection.md.
#
#   benches/detection/run-scenarios.sh                      # all scenarios, seed 1, default sizes
#   benches/detection/run-scenarios.sh --seeds 1,2,3        # several seeds (one row each)
#   benches/detection/run-scenarios.sh --scenarios brute-force,benign+days=7
#   benches/detection/run-scenarios.sh --docs               # also rewrite the table in docs/detection.md
#
# A scenario may carry sizes: `benign+days=7`, `parliament-2017+accounts=2000+days=14`, and the
# Dovecot release whose log wording is written: `parliament-2017+dovecot=2.4` (default 2.3; the
# row's scenario then reads `parliament-2017 (Dovecot 2.4)`), and the Dovecot auth-process lines:
# `+auth=sha1` (or `plain`) passes `--auth-lines sha1` for a fingerprint-assisted bonus row, read
# `… (+auth=sha1, bonus)`. Without it every run uses simulate's default, `--auth-lines none`:
# Dovecot's default logging (login lines only, no `SHA1 of given password`), which the headline
# rows and every target are measured with. The default list is every scenario
# at its default size, plus `benign+days=7`: a benign week whose log begins in the
# password-expiry wave (the first Monday), the engine's cold start; and `parliament-2017` written
# as Dovecot 2.4 writes it, which must score exactly as the 2.3 log does.
# Per scenario and seed, exactly:
#   portcullis simulate --scenario S --seed N [--days D] [--accounts A] [--dovecot V] \
#       [--auth-lines L] --out OUT/S-N/sim
#   portcullis analyze --format json --no-progress OUT/S-N/sim/mail.log > OUT/S-N/report.json
#   portcullis eval --labels OUT/S-N/sim/labels.json --format json --check OUT/S-N/report.json \
#       > OUT/S-N/eval.json                                                 (exit 1 = a target missed)
# then prints one Markdown row per run from eval.json and labels.json. A simulation is reused when
# OUT/S-N/spec says it was made by the same scenario spec and seed. The binary is $PORTCULLIS,
# else it is built with `cargo build --release -p portcullis` (CARGO_TARGET_DIR honoured).
# Needs python3 for the table.
#
# Options: --out DIR (default target/detection-scenarios), --clean (delete each mail.log after
# scoring: parliament-2017 writes ~1 GB), --docs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCENARIOS="parliament-2017,parliament-2017+dovecot=2.4,rotate-every-attempt,single-use,ipv6-rotation,credential-stuffing,stuffing-single-use,insider,brute-force,benign,benign+days=7"
SEEDS=1
OUT="$ROOT/target/detection-scenarios"
DOCS=0
CLEAN=0
while [ $# -gt 0 ]; do
    case "$1" in
        --scenarios) SCENARIOS=$2; shift 2 ;;
        --seeds) SEEDS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --docs) DOCS=1; shift ;;
        --clean) CLEAN=1; shift ;;
        -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "${PORTCULLIS:-}" ]; then
    (cd "$ROOT" && cargo build --release -p portcullis >&2)
    PORTCULLIS="${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis"
fi
mkdir -p "$OUT"
ROWS=()
for spec in ${SCENARIOS//,/ }; do
    sc=${spec%%+*}
    size=()
    rest=${spec#"$sc"}
    for kv in ${rest//+/ }; do
        case "$kv" in
            days=*|accounts=*|dovecot=*) size+=("--${kv%%=*}" "${kv#*=}") ;;
            auth=*) size+=("--auth-lines" "${kv#*=}") ;;
            *) echo "bad scenario spec $spec" >&2; exit 2 ;;
        esac
    done
    for seed in ${SEEDS//,/ }; do
        dir="$OUT/${spec//+/_}-$seed"
        mkdir -p "$dir"
        # The stamp names simulate's default auth lines, so that a simulation made when the
        # default was sha1 is not reused as a default-logging one.
        stamp="$spec $seed auth-default=none"
        if ! { [ -f "$dir/spec" ] && [ "$(cat "$dir/spec")" = "$stamp" ] \
            && [ -f "$dir/sim/mail.log" ]; }; then
            echo "simulate $spec seed $seed" >&2
            rm -f "$dir/spec"
            "$PORTCULLIS" simulate --scenario "$sc" --seed "$seed" "${size[@]}" --out "$dir/sim" >&2
            echo "$stamp" > "$dir/spec"
        fi
        echo "analyze $spec seed $seed" >&2
        "$PORTCULLIS" analyze --format json --no-progress "$dir/sim/mail.log" > "$dir/report.json"
        status=0
        "$PORTCULLIS" eval --labels "$dir/sim/labels.json" --format json --check \
            "$dir/report.json" > "$dir/eval.json" || status=$?
        if [ "$status" -gt 1 ]; then
            echo "eval failed on $dir (exit $status)" >&2
            exit "$status"
        fi
        "$PORTCULLIS" eval --labels "$dir/sim/labels.json" "$dir/report.json" > "$dir/eval.txt" || true
        [ "$CLEAN" = 1 ] && rm -f "$dir/sim/mail.log"
        ROWS+=("$dir")
    done
done

python3 - "$DOCS" "$ROOT/docs/detection.md" "${ROWS[@]}" <<'PY'
import json, sys

docs, doc_path, dirs = sys.argv[1] == "1", sys.argv[2], sys.argv[3:]

def pct(x):
    return f"{100 * x:.1f} %" if x is not None else "—"

def frac(n, d):
    return f"{n}/{d}"

rows = []
for d in dirs:
    e = json.load(open(f"{d}/eval.json"))
    l = json.load(open(f"{d}/sim/labels.json"))
    spec = open(f"{d}/spec").read().split()[0]
    name = e["scenario"]
    for kv in spec.split("+")[1:]:
        if kv.startswith("dovecot="):
            name += f" (Dovecot {kv.split('=', 1)[1]})"
        if kv.startswith("auth="):
            name += f" (+auth={kv.split('=', 1)[1]}, bonus)"
    s, c = e["sources"], e["compromised"]
    det = e.get("detection")
    if det is None:
        delay, linked = "— (no attack)", "—"
    elif det.get("delay_secs") is None:
        delay, linked = "not raised", "—"
    else:
        delay = f"{det['delay_secs']} s ({det['kind']})"
        lp = det.get("links_probing")
        linked = "—" if lp is None else ("yes" if lp else "**no**")
    size = f"{l['accounts']:,} acc., {l['days']} d, {l['counts']['lines'] / 1e6:.2f} M lines"
    if e["has_attack"]:
        main = f"{pct(s['main_coverage'])} ({frac(s['main_covered'], s['main_addresses'])})"
        src = f"{pct(s['recall'])} / {pct(s['precision'])}"
        comp = f"{pct(c['recall'])} / {pct(c['precision'])} ({c['correct']}/{c['truth']}, {c['reported']} named)"
        sprays = "—"
    else:
        main, src = "—", "—"
        comp = f"{c['reported']} named"
        sprays = str(e["campaigns"].get("password_spray", 0))
    benign = f"{pct(s['benign_flagged_rate'])} ({frac(s['benign_flagged'], s['benign_addresses'])})"
    gw = frac(len(s["gateways_flagged"]), s["gateways"])
    missed = [ch["name"] for ch in e["checks"] if not ch["pass"]]
    verdict = "all met" if e["pass"] else "missed: " + ", ".join(missed)
    unrelated = len(e.get("unrelated_campaigns", []))
    rows.append(
        f"| {name} | {e['seed']} | {size} | {delay} | {linked} | {main} | {src} | "
        f"{benign} | {gw} | {comp} | {sprays} | {unrelated} | {verdict} |"
    )

table = "\n".join(
    [
        "| scenario | seed | size | raised after attack start | probing linked | main-phase addresses covered | attack addresses: recall / precision | benign addresses flagged | gateways flagged | compromised: recall / precision | spray campaigns (benign) | unrelated campaigns | `eval --check` |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    + rows
)
print(table)
if docs:
    begin, end = "<!-- scenarios:begin -->", "<!-- scenarios:end -->"
    text = open(doc_path).read()
    if begin not in text or end not in text:
        sys.exit(f"{doc_path}: markers {begin} … {end} not found")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    open(doc_path, "w").write(f"{head}{begin}\n{table}\n{end}{tail}")
    print(f"rewrote the table in {doc_path}", file=sys.stderr)
PY
