#!/usr/bin/env python3
"""IMAP client for the portcullis end-to-end test: logs in to a real Dovecot as if from a given
public source address (Dovecot's ID x-originating-ip, honoured because the test connects from
127.0.0.0/8, which is in login_trusted_networks), and runs a password spray.

  imap_driver.py login PORT USER PASSWORD SOURCE_IP   -> prints OK | NO <msg> | ALERT <msg>
  imap_driver.py spray PORT SOURCES ACCOUNTS ROUNDS   -> prints a JSON summary

Outcomes: OK = logged in; NO = the password was refused (Dovecot's own answer); ALERT = the
policy server refused the attempt (Dovecot shows the policy message as [ALERT]).
"""
import imaplib
import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

imaplib.Commands["ID"] = ("NONAUTH", "AUTH", "SELECTED")


def login(port, user, password, source):
    socket.setdefaulttimeout(30)
    m = imaplib.IMAP4("127.0.0.1", port)
    try:
        m._simple_command(
            "ID", '("x-originating-ip" "%s" "x-originating-port" "40000")' % source
        )
        try:
            m.login(user, password)
        except imaplib.IMAP4.error as e:
            msg = str(e)
            return ("ALERT " if "ALERT" in msg else "NO ") + msg
        m.logout()
        return "OK"
    finally:
        try:
            m.shutdown()
        except Exception:
            pass


def spray(port, sources, accounts, rounds):
    """Each source tries each account with a wrong password, `rounds` times; the attempts of
    one source go in order (so detection has a 'before' and an 'after'), sources in parallel."""

    def one_source(src_idx):
        src = sources[src_idx]
        out = []
        for r in range(rounds):
            for a in accounts:
                out.append(login(port, a, "Winter2017!-%d" % r, src).split(" ")[0])
        return src, out

    with ThreadPoolExecutor(max_workers=len(sources)) as ex:
        results = dict(ex.map(one_source, range(len(sources))))
    total = sum(len(v) for v in results.values())
    alerts = sum(v.count("ALERT") for v in results.values())
    oks = sum(v.count("OK") for v in results.values())
    # Once a source is refused by the policy, is it refused for the rest of the spray?
    held = all(
        ("ALERT" not in v) or all(x == "ALERT" for x in v[v.index("ALERT"):])
        for v in results.values()
    )
    return {"attempts": total, "policy_refused": alerts, "logged_in": oks,
            "refusal_held": held,
            "first_refusal": {s: (v.index("ALERT") if "ALERT" in v else None)
                              for s, v in results.items()}}


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "login":
        print(login(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]))
    elif cmd == "spray":
        port = int(sys.argv[2])
        sources = sys.argv[3].split(",")
        accounts = sys.argv[4].split(",")
        print(json.dumps(spray(port, sources, accounts, int(sys.argv[5]))))
    else:
        sys.exit("unknown command " + cmd)
