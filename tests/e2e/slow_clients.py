#!/usr/bin/env python3
"""Hostile slow clients for the benchmark (docs/bench/server.md, "Under 20,000 slow connections").

Usage: slow_clients.py HOST PORT COUNT SECONDS [ADDRESSES]

Keeps COUNT connections open to HOST:PORT for SECONDS, from ADDRESSES loopback source
addresses (127.1.0.1 ...; default COUNT / 100). Each connection sends half a request line
and then nothing; whenever the server closes one, it is opened again at once, so the server
faces COUNT slow clients for the whole run. Loopback only; bounded in count and time.
"""
import errno
import resource
import selectors
import socket
import sys
import time

host, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
addresses = int(sys.argv[5]) if len(sys.argv) > 5 else max(1, count // 100)
assert host.startswith("127."), "loopback only"
assert count <= 30000 and seconds <= 300, "bounded"
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

sel = selectors.DefaultSelector()
HALF = b"POST /?command=allow HTT"
opened = reopened = failed = 0


def source(i):
    n = i % addresses
    return "127.1.%d.%d" % (n // 250, n % 250 + 1)


def open_one(i):
    global opened, failed
    try:
        s = socket.socket()
    except OSError:  # out of file descriptors: counted, the run goes on
        failed += 1
        return
    s.setblocking(False)
    try:
        s.bind((source(i), 0))
        e = s.connect_ex((host, port))
    except OSError:
        s.close()
        failed += 1
        return
    if e not in (0, errno.EINPROGRESS):
        s.close()
        failed += 1
        return
    opened += 1
    sel.register(s, selectors.EVENT_WRITE, (i, "connecting"))


for i in range(count):
    open_one(i)
    if i % 1000 == 999:
        # Let the kernel and the server keep up with the connects.
        for key, ev in sel.select(timeout=0):
            pass
start = time.time()
last = start
while time.time() - start < seconds:
    for key, ev in sel.select(timeout=0.2):
        s = key.fileobj
        i, state = key.data
        if state == "connecting":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            sel.unregister(s)
            if err:
                s.close()
                reopened += 1
                open_one(i)
                continue
            try:
                s.send(HALF)
            except OSError:
                pass
            sel.register(s, selectors.EVENT_READ, (i, "waiting"))
        else:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                reopened += 1
                open_one(i)
    if time.time() - last >= 5:
        last = time.time()
        print("slow clients: %d open, %d reopened after the server closed them, %d failed"
              % (len(sel.get_map()), reopened, failed), flush=True)
print("slow clients done: %d reopened, %d failed" % (reopened, failed), flush=True)
