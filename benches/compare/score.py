#!/usr/bin/python3
"""score.py — score any tool's output against simulation labels with the definitions of
`portcullis eval` (crates/sim/src/eval.rs), so portcullis, fail2ban and CrowdSec are measured
with one ruler.

    score.py --labels DIR/labels.json --tool NAME --flags flags.tsv      (a peer)
    score.py --labels DIR/labels.json --tool portcullis --report report.json
    score.py ... --flags flags.tsv --log DIR/mail.log --ban-secs 600   (+ attempts refused)

flags.tsv: one flag per line, `address-or-CIDR<TAB>unix time[<TAB>anything]` (a ban, an alert).
A report is `portcullis.report/v1`: its flags are `flagged_sources` plus every campaign's
`sources`, as in eval.

Definitions (the same as eval's):
- an address is *covered* when a flagged address or prefix contains it;
- main-phase coverage: covered / all attack addresses whose roles include the attack's
  `main_role` (spray, stuffing, brute_force) — the issue-3 target (>= 90 %);
- recall: covered / all attack addresses (probes and the attacker's return included);
- benign flagged: benign addresses covered / all benign addresses; gateways flagged: gateway
  addresses covered;
- gateway flags (an addition): how many bans/alerts/flagged sources hit a gateway — fail2ban
  bans the same office again and again, each ban locking everyone behind it out;
- refused (peers, with --log and --ban-secs; an addition): the login attempts in the log made
  while a ban covered their address — attack attempts stopped, and legitimate logins (benign
  successes, those through gateways apart) the ban turned away;
- campaign delay: the earliest-raised campaign of an expected kind overlapping the attack,
  `detected_at - main_start` (peers never name campaigns);
- compromised: the accounts a report names against the labels (peers name none).
One addition eval does not have, so peers can be compared at all:
- first alert: the earliest moment, from main_start on, at which a main-phase address was
  covered by a flag (a ban, an alert, a flagged source), or the expected-kind campaign's
  detection if earlier (which may precede main_start, when it grew out of the probing); minus
  main_start. A ban of a probe address hours before the spray (fail2ban's 10-minute ban is long
  over) does not count as seeing the spray; it still counts in the coverage.

Prints the score as JSON (schema portcullis.compare-score/v1).
"""

import argparse
import ipaddress
import json
import math
import re
import sys
from datetime import datetime, timezone


def ts(s):
    """RFC 3339 (as portcullis writes it) to unix seconds (float)."""
    if s is None:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def iso(t):
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def norm_ip(s):
    a = ipaddress.ip_address(s.strip())
    if a.version == 6 and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


def norm_net(s):
    s = s.strip()
    if "/" in s:
        n = ipaddress.ip_network(s, strict=False)
        if n.version == 6 and n.network_address.ipv4_mapped is not None and n.prefixlen >= 96:
            n = ipaddress.ip_network(
                f"{n.network_address.ipv4_mapped}/{n.prefixlen - 96}", strict=False
            )
        return n
    a = norm_ip(s)
    return ipaddress.ip_network(a)


class Cover:
    """Flagged prefixes grouped by (family, length): "which flags cover this address?" in a
    handful of set lookups, as eval's Cover does. Each flag keeps its earliest time."""

    def __init__(self):
        self.by_len = {}

    def add(self, net, t):
        d = self.by_len.setdefault((net.version, net.prefixlen), {})
        if net not in d:
            d[net] = t
        elif t is not None and (d[net] is None or t < d[net]):
            d[net] = t

    def covering(self, ip):
        for (ver, plen), d in self.by_len.items():
            if ver != ip.version:
                continue
            net = ipaddress.ip_network(f"{ip}/{plen}", strict=False)
            if net in d:
                yield net, d[net]

    def nets(self):
        for d in self.by_len.values():
            yield from d


def ratio(n, d):
    return 1.0 if d == 0 else n / d


def load_flags_tsv(path, cover, raw):
    bad = 0
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0]:
                bad += 1
                continue
            try:
                net, t = norm_net(parts[0]), float(parts[1])
            except ValueError:
                bad += 1
                continue
            cover.add(net, t)
            raw.append((net, t))
    return bad


LOGIN = re.compile(
    r"^(\S+) \S+ dovecot: \w+-login: (Login|.*\(auth failed)[^\n]*?\brip=([0-9A-Fa-f.:]+)"
)


def refused_attempts(log, raw, ban_secs, labels):
    """Login attempts (Dovecot login-process lines: `Login:` successes and `auth failed`
    failures) made while a ban from `raw` covered their address, split by truth. A host ban
    only (peers ban addresses); each ban lasts ban_secs from its time."""
    bans = {}
    for net, t in raw:
        if t is not None and net.num_addresses == 1:
            bans.setdefault(net.network_address, []).append(t)
    for v in bans.values():
        v.sort()
    attack_ips = {norm_ip(x["address"]) for x in (labels.get("attack") or {}).get("sources", [])}
    benign_ips = {norm_ip(x["address"]) for x in labels["benign"]["sources"]}
    gateways = {norm_ip(x) for x in labels["benign"].get("gateways", [])}
    r = {"ban_secs": ban_secs, "attack_attempts": 0, "attack_refused": 0,
         "benign_attempts": 0, "benign_refused": 0, "benign_logins_refused": 0,
         "gateway_logins_refused": 0, "unlabelled_lines": 0}
    with open(log, errors="replace") as f:
        for line in f:
            if "-login: " not in line:
                continue
            m = LOGIN.match(line)
            if not m:
                continue
            try:
                ip = norm_ip(m.group(3))
                t = ts(m.group(1))
            except ValueError:
                continue
            success = m.group(2) == "Login"
            banned = False
            for bt in bans.get(ip, ()):
                if bt > t:
                    break
                if t < bt + ban_secs:
                    banned = True
            if ip in attack_ips:
                r["attack_attempts"] += 1
                r["attack_refused"] += banned
            elif ip in benign_ips:
                r["benign_attempts"] += 1
                r["benign_refused"] += banned
                if success:
                    r["benign_logins_refused"] += banned
                    r["gateway_logins_refused"] += banned and ip in gateways
            else:
                r["unlabelled_lines"] += 1
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--tool", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--flags")
    g.add_argument("--report")
    ap.add_argument("--log", help="the log the tool read: also count the login attempts its bans refused")
    ap.add_argument("--ban-secs", type=float, default=0,
                    help="how long each flag bans its address (fail2ban 600, CrowdSec's profile 14400)")
    a = ap.parse_args()

    labels = json.load(open(a.labels))
    attack = labels.get("attack")
    cover = Cover()
    campaigns = []
    compromised_reported = set()
    unreadable = 0
    raw = []  # every flag (a peer bans the same address again and again)
    if a.flags:
        unreadable = load_flags_tsv(a.flags, cover, raw)
    else:
        rep = json.load(open(a.report))
        for fs in rep.get("flagged_sources", []):
            cover.add(norm_net(fs["source"]), ts(fs.get("first_flagged")))
            raw.append((norm_net(fs["source"]), ts(fs.get("first_flagged"))))
        for c in rep.get("campaigns", []):
            campaigns.append(c)
            for s in c.get("sources", []):
                # a campaign's sources are flagged from the moment the campaign was raised
                cover.add(norm_net(s), ts(c.get("detected_at")))
        compromised_reported = {
            c["account"].strip().lower() for c in rep.get("compromised_accounts", [])
        }

    flagged = list(cover.nets())
    hits = {}  # net -> [attack, benign]
    benign_total = benign_cov = 0
    for b in labels["benign"]["sources"]:
        benign_total += 1
        hit = False
        for net, _ in cover.covering(norm_ip(b["address"])):
            hits.setdefault(net, [0, 0])[1] += 1
            hit = True
        benign_cov += hit
    gateways = [norm_ip(g) for g in labels["benign"].get("gateways", [])]
    gw_flagged = [str(g) for g in gateways if any(True for _ in cover.covering(g))]
    gw_bans = sum(1 for n, _ in raw if any(g.version == n.version and g in n for g in gateways))

    att_total = att_cov = main_total = main_cov = 0
    first_alert = None
    main_start = ts(attack.get("main_start")) if attack else None
    if attack:
        main_role = attack["main_role"]
        for s in attack["sources"]:
            att_total += 1
            main = main_role in s["roles"]
            main_total += main
            hit = False
            for net, t in cover.covering(norm_ip(s["address"])):
                hits.setdefault(net, [0, 0])[0] += 1
                hit = True
                if main and t is not None and (first_alert is None or t < first_alert):
                    if main_start is None or t >= main_start:
                        first_alert = t
            att_cov += hit
            main_cov += main and hit

    # Campaign detection, as eval.
    detection = None
    if attack and attack.get("main_start"):
        start = ts(attack["main_start"])
        end = ts(attack.get("last_attempt")) or start
        kinds = attack["expected_kinds"]
        best = None
        for c in campaigns:
            if c["kind"] not in kinds:
                continue
            if ts(c["last_seen"]) >= start and ts(c["first_seen"]) <= end:
                key = (ts(c["detected_at"]), c["id"])
                if best is None or key < best[0]:
                    best = (key, c)
        camp_t = best[0][0] if best else None
        if camp_t is not None and (first_alert is None or camp_t < first_alert):
            first_alert = camp_t
        detection = {
            "attack_start": attack["main_start"],
            "target_secs": attack["detect_within_secs"],
            "campaign": best[1]["id"] if best else None,
            "kind": best[1]["kind"] if best else None,
            "campaign_delay_secs": None if camp_t is None else math.floor(camp_t - start),
            "first_alert": iso(first_alert),
            "first_alert_delay_secs": None if first_alert is None else math.floor(first_alert - start),
        }

    refused = None
    if a.log and a.ban_secs > 0:
        refused = refused_attempts(a.log, raw, a.ban_secs, labels)

    truth = set()
    if attack:
        truth = {c["account"].lower() for c in attack.get("compromised", [])}
    correct = len(truth & compromised_reported)
    kinds = {}
    for c in campaigns:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1

    out = {
        "schema": "portcullis.compare-score/v1",
        "tool": a.tool,
        "scenario": labels["scenario"],
        "seed": labels["seed"],
        "has_attack": attack is not None,
        "detection": detection,
        "campaigns": kinds,
        "sources": {
            "flagged": len(flagged),
            "flagged_unlabelled": len(flagged) - len(hits),
            "flagged_benign_only": sum(1 for x in hits.values() if x[0] == 0 and x[1] > 0),
            "attack_addresses": att_total,
            "attack_covered": att_cov,
            "main_addresses": main_total,
            "main_covered": main_cov,
            "main_coverage": ratio(main_cov, main_total),
            "recall": ratio(att_cov, att_total),
            "precision": ratio(att_cov, att_cov + benign_cov),
            "benign_addresses": benign_total,
            "benign_flagged": benign_cov,
            "benign_flagged_rate": 0.0 if benign_total == 0 else benign_cov / benign_total,
            "gateways": len(gateways),
            "gateways_flagged": gw_flagged,
            "flags_total": len(raw),
            "gateway_flags": gw_bans,
        },
        "compromised": {
            "truth": len(truth),
            "reported": len(compromised_reported),
            "correct": correct,
            "recall": ratio(correct, len(truth)),
            "precision": ratio(correct, len(compromised_reported)),
        },
        "refused": refused,
        "unreadable_flag_lines": unreadable,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
