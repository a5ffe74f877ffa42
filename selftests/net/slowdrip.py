#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A slow-drip HTTP client (the attack of issue 17): hold CONNS connections to ADDR:PORT,
each sending a request line and then one header line every INTERVAL seconds, never ending
the headers; a connection the server closes is opened again --reopen seconds later (default
half a second). With --idle a connection sends nothing at all (not even a TLS ClientHello).
Source addresses are taken in turn from --from (default: the kernel's choice).

Runs until the file --stop exists (or --seconds pass), then prints one JSON document:
  opened          connections opened
  closed          connections the server closed (end of stream or reset)
  refused         connections that could not be opened
  max_lifetime    the longest any connection stayed open before the server closed it (s)
  max_held        the most connections open at once that had been open for more than 1 s
                  (a connection refused at once by a limit is closed within milliseconds)
"""
import argparse
import json
import os
import selectors
import socket
import time


class Conn:
    def __init__(self, addr, port, src, idle):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        if src:
            self.sock.bind((src, 0))
        self.sock.settimeout(2)
        self.sock.connect((addr, port))
        self.sock.setblocking(False)
        if not idle:
            self.sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: tlsfw\r\n")
        self.opened = self.last = time.monotonic()
        self.n = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--conns", type=int, default=40)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--from", dest="src", default="")
    ap.add_argument("--idle", action="store_true")
    ap.add_argument("--reopen", type=float, default=0.5)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--seconds", type=float, default=120)
    a = ap.parse_args()
    srcs = [s for s in a.src.split(",") if s] or [""]
    sel = selectors.DefaultSelector()
    st = {"opened": 0, "closed": 0, "refused": 0, "max_lifetime": 0.0, "max_held": 0}
    conns = {}
    reopen = {}  # slot -> when it may connect again (a refused slot must not spin)

    def open_one(i):
        try:
            c = Conn(a.addr, a.port, srcs[i % len(srcs)], a.idle)
        except OSError:
            st["refused"] += 1
            reopen[i] = time.monotonic() + 0.5
            return
        conns[i] = c
        sel.register(c.sock, selectors.EVENT_READ, i)
        st["opened"] += 1

    def lost(i):
        reopen[i] = time.monotonic() + a.reopen
        c = conns.pop(i)
        sel.unregister(c.sock)
        c.sock.close()
        st["closed"] += 1
        st["max_lifetime"] = max(st["max_lifetime"], time.monotonic() - c.opened)

    end = time.monotonic() + a.seconds
    for i in range(a.conns):
        open_one(i)
    open(a.ready, "w").close()
    while not os.path.exists(a.stop) and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                lost(key.data)
        now = time.monotonic()
        for i in range(a.conns):
            c = conns.get(i)
            if c is None:
                if now >= reopen.get(i, 0):
                    open_one(i)
            elif not a.idle and now - c.last >= a.interval:
                c.last = now
                c.n += 1
                try:
                    c.sock.send(b"X-Drip-%d: %d\r\n" % (c.n, c.n))
                except OSError:
                    lost(i)
        held = sum(1 for c in conns.values() if now - c.opened > 1)
        st["max_held"] = max(st["max_held"], held)
    st["max_lifetime"] = round(st["max_lifetime"], 2)
    print(json.dumps(st))


if __name__ == "__main__":
    main()
