#!/usr/bin/python3
"""tables.py — the comparison's results (results.json from benches/compare/run) as tables:
aligned text on stdout, Markdown in a file, optionally spliced into a document between
`<!-- compare:begin -->` and `<!-- compare:end -->`.

    tables.py OUT/results.json [--markdown FILE] [--docs docs/bench/compare.md]
"""

import argparse
import json
import sys

TOOLS = ["portcullis", "fail2ban", "crowdsec"]
NAMES = {"portcullis": "portcullis", "fail2ban": "fail2ban 1.0.2", "crowdsec": "CrowdSec 1.4.6"}
BEGIN, END = "<!-- compare:begin -->", "<!-- compare:end -->"


def dur(secs):
    if secs is None:
        return "never"
    sign = "−" if secs < 0 else "+"
    s = abs(secs)
    if s < 120:
        v = f"{s:.0f} s"
    elif s < 2 * 3600:
        v = f"{s / 60:.0f} min"
    elif s < 48 * 3600:
        v = f"{s / 3600:.1f} h"
    else:
        v = f"{s / 86400:.1f} d"
    return sign + v


def pct(n, d):
    if not d:
        return "—"
    return f"{100.0 * n / d:.1f} % ({n}/{d})"


def human_rate(x):
    if x is None:
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def detection_rows(sc):
    hdr = [
        "tool",
        "first alert",
        "campaign named",
        "main-phase addresses flagged",
        "attack addresses flagged",
        "benign addresses flagged",
        "gateways flagged",
        "compromised named",
        "attack attempts refused",
        "legitimate logins refused",
    ]
    rows = []
    for t in TOOLS:
        e = sc["tools"][t]
        s = e.get("score")
        if s is None:
            why = e.get("error") or "no score"
            rows.append([NAMES[t], f"n/a: {why}"] + [""] * (len(hdr) - 2))
            continue
        d = s.get("detection") or {}
        src = s["sources"]
        camps = s.get("campaigns") or {}
        if s["has_attack"]:
            first = dur(d.get("first_alert_delay_secs"))
            if t != "portcullis":
                camp = "no campaigns (per-address rules)"
            elif d.get("campaign"):
                camp = f"{d['kind']} {dur(d['campaign_delay_secs'])}"
            else:
                camp = "not named"
            main = pct(src["main_covered"], src["main_addresses"])
            att = pct(src["attack_covered"], src["attack_addresses"])
        else:
            first = "—"
            sprays = camps.get("password_spray", 0)
            camp = (
                f"{sprays} password_spray; "
                + (", ".join(f"{k} {v}" for k, v in sorted(camps.items())) or "none")
                if t == "portcullis"
                else "—"
            )
            main = att = "—"
        ben = pct(src["benign_flagged"], src["benign_addresses"])
        gw = f"{len(src['gateways_flagged'])} of {src['gateways']}"
        if src.get("gateway_flags"):
            gw += f" ({src['gateway_flags']} {'bans' if t == 'fail2ban' else 'alerts' if t == 'crowdsec' else 'flags'})"
        c = s["compromised"]
        comp = f"{c['correct']}/{c['truth']}"
        wrong = c["reported"] - c["correct"]
        if wrong:
            comp += f" (+{wrong} wrong)"
        rf = s.get("refused")
        if rf:
            stop = pct(rf["attack_refused"], rf["attack_attempts"]) if rf["attack_attempts"] else "—"
            legit = str(rf["benign_logins_refused"])
        else:  # portcullis decides per attempt; its verdicts are not in the report by truth
            stop = legit = "—"
        rows.append([NAMES[t], first, camp, main, att, ben, gw, comp, stop, legit])
    return hdr, rows


def speed_rows(sc):
    hdr = ["tool", "wall s (median)", "lines/s", "CPU s", "peak RSS", "portcullis is ×"]
    rows = []
    p = sc["tools"]["portcullis"].get("lines_per_s")
    for t in TOOLS:
        e = sc["tools"][t]
        if e.get("median_wall_s") is None:
            rows.append([NAMES[t], f"n/a: {e.get('error', 'failed')}", "", "", "", ""])
            continue
        lps = e.get("lines_per_s")
        ratio = "—"
        if p and lps:
            ratio = "1×" if t == "portcullis" else f"{p / lps:.0f}×" if p / lps >= 10 else f"{p / lps:.1f}×"
        n_ok = sum(1 for r in e["runs"] if r["ok"])
        rows.append(
            [
                NAMES[t],
                f"{e['median_wall_s']:.2f} ({n_ok} runs)",
                human_rate(lps),
                f"{e['median_cpu_s']:.2f}",
                f"{e['median_rss_kb'] / 1024:.0f} MiB",
                ratio,
            ]
        )
    return hdr, rows


def text_table(hdr, rows):
    w = [max(len(str(r[i])) for r in [hdr] + rows) for i in range(len(hdr))]
    out = ["  ".join(str(h).ljust(w[i]) for i, h in enumerate(hdr))]
    out.append("  ".join("-" * x for x in w))
    for r in rows:
        out.append("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
    return "\n".join(out)


def md_table(hdr, rows):
    out = ["| " + " | ".join(hdr) + " |", "|" + "|".join("---" for _ in hdr) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def scenario_head(sc):
    return (
        f"{sc['scenario']}: {sc['lines']:,} lines, {sc['accounts']} accounts, {sc['days']} days; "
        f"{sc['attack_addresses']} attack addresses, {sc['benign_addresses']} benign "
        f"({sc['gateways']} gateways), {sc['compromised_truth']} accounts fell "
        f"(`{sc['sim_command']}`)"
    )


def render(res, md):
    m = res["machine"]
    parts = []
    intro = (
        f"Machine: {m['nproc']} cores, {m['cpu']}, load {m['load_at_start']:.1f} at start; "
        f"{m['fail2ban']}, crowdsec {m['crowdsec']}; {m['date']}; "
        f"{res['runs']} runs per tool, medians; seed {res['seed']}."
    )
    parts.append(intro)
    for sc in res["scenarios"]:
        head = scenario_head(sc)
        dh, dr = detection_rows(sc)
        shh, sr = speed_rows(sc)
        if md:
            parts.append(f"#### {sc['scenario']}\n\n{head}\n\n{md_table(dh, dr)}\n\n{md_table(shh, sr)}")
        else:
            parts.append(f"== {head}\n\n{text_table(dh, dr)}\n\n{text_table(shh, sr)}")
    return "\n\n".join(parts) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--markdown")
    ap.add_argument("--docs")
    a = ap.parse_args()
    res = json.load(open(a.results))
    print(render(res, md=False))
    md = render(res, md=True)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)
    if a.docs:
        doc = open(a.docs).read()
        if BEGIN not in doc or END not in doc:
            sys.exit(f"tables: {a.docs} has no {BEGIN} … {END} markers")
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(a.docs, "w") as f:
            f.write(f"{head}{BEGIN}\n{md}{END}{tail}")
        print(f"tables: updated {a.docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
