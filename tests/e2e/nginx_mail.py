#!/usr/bin/env python3
"""Helpers of tests/e2e/nginx.sh (the real nginx mail proxy in front of `portcullis serve`).

  nginx_mail.py upstream PORT BACKEND_PORT USER PASSWORD SECRET
      the site's own auth_http server: USER with PASSWORD gets Auth-Status OK and the backend
      127.0.0.1:BACKEND_PORT, anyone else "Invalid login or password". Counts what it is
      asked; GET /count (no Auth-* headers) answers the counts as JSON. Every request must
      carry X-Auth-Key: SECRET (nginx's auth_http_header) and never portcullis's X-API-Key.
  nginx_mail.py backend PORT
      a tiny IMAP server standing for the mail store: accepts any LOGIN (nginx sends it only
      after the auth_http server said OK), answers NOOP ("backend here") and LOGOUT.
  nginx_mail.py login PORT USER PASSWORD SOURCE_IP
      logs in through nginx as if from SOURCE_IP (a PROXY protocol v1 line first, which nginx
      trusts from 127.0.0.1): prints OK | NO <message> | CLOSED <why>
  nginx_mail.py timed-login PORT USER PASSWORD SOURCE_IP
      the same, printing first the seconds the client waited for nginx's answer to LOGIN:
      SECONDS OK | SECONDS NO <message> | ...
  nginx_mail.py spray PORT UPSTREAM_PORT SOURCE ACCOUNTS PASSWORD USER USER_PASSWORD USER_SOURCE
      one address tries PASSWORD on each of ACCOUNTS in turn, noting for each attempt what the
      client was told and whether the upstream was asked; after each refusal the known USER
      logs in from USER_SOURCE. Prints a JSON summary.
"""
import http.server
import imaplib
import json
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

counts = {"requests": 0, "ok": 0, "failed": 0, "leaked_portcullis_key": 0,
          "without_site_secret": 0, "users": []}
lock = threading.Lock()


def upstream(port, backend_port, user, password, secret):
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path == "/count":
                with lock:
                    body = json.dumps(counts).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            u = urllib.parse.unquote(self.headers.get("Auth-User", ""))
            p = urllib.parse.unquote(self.headers.get("Auth-Pass", ""))
            with lock:
                counts["requests"] += 1
                counts["users"].append(u)
                if self.headers.get("X-API-Key") is not None or self.headers.get("Authorization"):
                    counts["leaked_portcullis_key"] += 1
                if self.headers.get("X-Auth-Key") != secret:
                    counts["without_site_secret"] += 1
                good = (u, p) == (user, password)
                counts["ok" if good else "failed"] += 1
            self.send_response(200)
            if good:
                self.send_header("Auth-Status", "OK")
                self.send_header("Auth-Server", "127.0.0.1")
                self.send_header("Auth-Port", str(backend_port))
            else:
                self.send_header("Auth-Status", "Invalid login or password")
            self.send_header("Content-Length", "0")
            self.end_headers()

    http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


def backend(port):
    class H(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"* OK [CAPABILITY IMAP4rev1] backend ready\r\n")
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                parts = line.split(b" ", 2)
                # Literals ({n}), as nginx sends LOGIN: ask for each, read it, then the rest of
                # the command (the tag and the command word are on the first line).
                while line.rstrip(b"\r\n").endswith(b"}") and b"{" in line:
                    n = int(line.rstrip(b"\r\n").rsplit(b"{", 1)[1][:-1].rstrip(b"+"))
                    self.wfile.write(b"+ OK\r\n")
                    self.wfile.flush()
                    self.rfile.read(n)
                    line = self.rfile.readline()
                    if not line:
                        return
                tag = parts[0]
                cmd = parts[1].strip().upper() if len(parts) > 1 else b""
                if cmd == b"LOGOUT":
                    self.wfile.write(b"* BYE bye\r\n" + tag + b" OK LOGOUT completed\r\n")
                    return
                if cmd == b"NOOP" or cmd == b"CAPABILITY":
                    if cmd == b"CAPABILITY":
                        self.wfile.write(b"* CAPABILITY IMAP4rev1\r\n")
                    self.wfile.write(tag + b" OK backend here\r\n")
                    continue
                self.wfile.write(tag + b" OK LOGIN completed\r\n")

    class S(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    S(("127.0.0.1", port), H).serve_forever()


class ProxiedIMAP(imaplib.IMAP4):
    """imaplib with a PROXY protocol v1 line naming the client's address."""

    def __init__(self, port, source):
        self._source = source
        super().__init__("127.0.0.1", port, timeout=20)

    def _create_socket(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout)
        fam = "TCP6" if ":" in self._source else "TCP4"
        dst = "::1" if fam == "TCP6" else "127.0.0.1"
        s.sendall(("PROXY %s %s %s 40000 %d\r\n" % (fam, self._source, dst, self.port)).encode())
        return s


def login(port, user, password, source, timing=None):
    try:
        m = ProxiedIMAP(port, source)
    except (OSError, imaplib.IMAP4.abort) as e:
        return "CLOSED %s" % e
    try:
        try:
            t0 = time.monotonic()
            try:
                m.login(user, password)
            finally:
                if timing is not None:
                    timing.append(time.monotonic() - t0)
        except imaplib.IMAP4.abort as e:
            return "CLOSED %s" % e
        except imaplib.IMAP4.error as e:
            return "NO %s" % e
        # The NOOP is answered by the backend: nginx logged in there and proxies the session.
        typ, data = m.noop()
        m.logout()
        return "OK" if (typ, data) == ("OK", [b"backend here"]) else "NO noop %s %s" % (typ, data)
    finally:
        try:
            m.shutdown()
        except Exception:
            pass


def upstream_requests(port):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/count" % port, timeout=5) as r:
        return json.load(r)["requests"]


def spray(port, up_port, source, accounts, password, user, user_password, user_source):
    attempts, user_logins = [], []
    for a in accounts:
        before = upstream_requests(up_port)
        got = login(port, a, password, source)
        asked = upstream_requests(up_port) - before
        attempts.append({"account": a, "got": got, "upstream_asked": asked})
        if "Authentication failed" in got:
            user_logins.append(login(port, user, user_password, user_source))
    return {"attempts": attempts, "user_logins_during_spray": user_logins}


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "upstream":
        upstream(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
    elif cmd == "backend":
        backend(int(sys.argv[2]))
    elif cmd == "spray":
        print(json.dumps(spray(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                               sys.argv[5].split(","), *sys.argv[6:10])))
    elif cmd == "login":
        print(login(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]))
    elif cmd == "timed-login":
        took = []
        got = login(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], took)
        print("%.3f %s" % (took[0] if took else -1.0, got))
    else:
        sys.exit("unknown command " + cmd)
