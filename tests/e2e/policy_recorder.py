#!/usr/bin/env python3
"""A recording auth_policy server for the end-to-end tests: answers every request as an allowed
login ({"status":0,"msg":"","r_attrs":{}}) and appends one JSON line per request to FILE:
{"method", "path", "authorization", "body"} (the body as decoded JSON).

  policy_recorder.py PORT FILE      (listens on 127.0.0.1 only)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ANSWER = b'{"status":0,"msg":"","r_attrs":{}}'


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(sys.argv[2], "a") as out:
            out.write(json.dumps({
                "method": self.command,
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "body": json.loads(body) if body else None,
            }) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Recorder).serve_forever()
