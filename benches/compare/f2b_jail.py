#!/usr/bin/python3
"""f2b_jail.py — what a stock fail2ban jail would have banned, given fail2ban-regex's matches.

    f2b_jail.py MATCHES JAIL [--maxretry 5 --findtime 600 --bantime 600] > bans.tsv

MATCHES holds `fail2ban-regex --out '<time> <ip>'` output (one failure per line, unix time and
address, in log order). The jail arithmetic is fail2ban's own: this script imports Debian's
`fail2ban.server.failmanager.FailManager` and `FailTicket`, feeds them the failures the way
`Filter.processLineAndAdd` does (ignoreip of the default jail: 127.0.0.1/8 and ::1; a ban as soon
as an address's retry count reaches maxretry; the failure list cleaned up every 5 s), with the
log's time standing in for the clock, as a live jail would have seen it. While an address is
banned its failures are dropped (the firewall keeps it from reaching the service); after
bantime it starts again from zero. Defaults are the [DEFAULT] section of Debian's jail.conf
(fail2ban 1.0.2): maxretry 5, findtime 10m, bantime 10m, no bantime.increment.

Writes one line per ban: address<TAB>ban time (unix)<TAB>JAIL, and a summary on stderr.
"""

import argparse
import ipaddress
import sys

try:
    from fail2ban.server.failmanager import FailManager
    from fail2ban.server.ticket import FailTicket
except ImportError:  # pragma: no cover - depends on the Debian package
    sys.exit("f2b_jail: fail2ban is not installed (benches/compare/install-peers.sh)")

IGNORE = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
SVC_INTERVAL = 5  # Filter.performSvc runs the cleanup at most every 5 s


def ignored(ip):
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False  # a host name: fail2ban-regex -r never yields one, keep it
    return any(a.version == n.version and a in n for n in IGNORE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("matches")
    ap.add_argument("jail")
    ap.add_argument("--maxretry", type=int, default=5)
    ap.add_argument("--findtime", type=int, default=600)
    ap.add_argument("--bantime", type=int, default=600)
    a = ap.parse_args()

    fm = FailManager()
    fm.setMaxRetry(a.maxretry)
    fm.setMaxTime(a.findtime)
    fm.maxMatches = 0
    banned_until = {}
    next_svc = None
    failures = dropped = bans = bad = 0
    out = sys.stdout
    with open(a.matches, errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                bad += 1
                continue
            try:
                t = float(parts[0])
            except ValueError:
                bad += 1
                continue
            ip = parts[1]
            if ignored(ip):
                continue
            failures += 1
            until = banned_until.get(ip)
            if until is not None:
                if t < until:
                    dropped += 1
                    continue
                del banned_until[ip]
            if next_svc is None or t >= next_svc:
                next_svc = t + SVC_INTERVAL
                fm.cleanup(t)
            attempts = fm.addFailure(FailTicket(ip, t))
            if attempts >= fm.getMaxRetry():
                try:
                    fm.toBan(ip)
                except Exception:  # FailManagerEmpty: nothing to ban after all
                    continue
                banned_until[ip] = t + a.bantime
                bans += 1
                out.write(f"{ip}\t{t:.0f}\t{a.jail}\n")
    print(
        f"f2b_jail[{a.jail}]: {failures} failures, {bans} bans, "
        f"{dropped} failures while banned, {bad} unreadable lines",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
