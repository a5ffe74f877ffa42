#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The first bytes of TCP flows, for the require: tls tests. One JSON line on stdout.

  server    --bind A --port P --out F [--seconds S]
            accept connections; for each, record the bytes received and how it ended
            ("eof", "reset", "open" when still open at the end) into F (JSON list, rewritten
            after every event); answers every line received with "ok\\n"
  tls       --to A --port P --split N[,N..] [--sni NAME]
            a real TLS handshake (Python's ssl over memory BIOs) whose ClientHello is sent in
            segments cut after N bytes (TCP_NODELAY, 50 ms apart): "handshake" or the error
  send      --to A --port P --data TEXT [--hold S] [--ready F] [--go F]
            connect, send TEXT ("\\n" escapes allowed), wait for a reply: "reply", "reset",
            "eof", "timeout". With --ready/--go: connect, send TEXT, read the reply, touch F,
            wait for file --go, send TEXT again, and report the second exchange.
"""
import argparse
import json
import os
import select
import socket
import ssl
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(a):
    ls = socket.socket(family(a.bind), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family(a.bind) == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind((a.bind, a.port))
    ls.listen(64)
    conns, log = {}, []

    def save():
        with open(a.out + ".tmp", "w") as f:
            json.dump(log, f)
        os.replace(a.out + ".tmp", a.out)

    save()
    end = time.time() + a.seconds
    while time.time() < end:
        r, _, _ = select.select([ls] + list(conns), [], [], 0.2)
        for s in r:
            if s is ls:
                c, peer = ls.accept()
                conns[c] = {"peer": peer[0], "bytes": 0, "end": "open"}
                log.append(conns[c])
                save()
                continue
            rec = conns[s]
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                d, rec["end"] = b"", "reset"
            if d:
                rec["bytes"] += len(d)
                if b"\n" in d:
                    s.sendall(b"ok\n")
            else:
                if rec["end"] == "open":
                    rec["end"] = "eof"
                del conns[s]
                s.close()
            save()
    print(json.dumps({"connections": len(log)}))


def connect(a):
    s = socket.socket(family(a.to), socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(a.timeout)
    s.connect((a.to, a.port))
    return s


def tls(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    t = ctx.wrap_bio(inb, outb, server_hostname=a.sni)
    try:
        s = connect(a)
        try:
            t.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello, pos = outb.read(), 0
        for n in a.split + [len(hello)]:
            if pos < min(n, len(hello)):
                s.sendall(hello[pos:n])
                pos = min(n, len(hello))
                time.sleep(0.05)
        while True:
            try:
                t.do_handshake()
                break
            except ssl.SSLWantReadError:
                out = outb.read()
                if out:
                    s.sendall(out)
                d = s.recv(65536)
                if not d:
                    raise EOFError("eof")
                inb.write(d)
        out = outb.read()
        if out:
            s.sendall(out)
        return {"result": "handshake", "hello_bytes": len(hello)}
    except (OSError, ssl.SSLError, EOFError) as e:
        return {"result": type(e).__name__}


def exchange(s, data):
    try:
        s.sendall(data)
        d = s.recv(100)
        return "reply" if d else "eof"
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"


def send(a):
    data = a.data.encode().decode("unicode_escape").encode("latin-1")
    try:
        s = connect(a)
    except OSError as e:
        return {"result": type(e).__name__}
    first = exchange(s, data)
    if not a.ready:
        return {"result": first}
    open(a.ready, "w").close()
    while not os.path.exists(a.go):
        time.sleep(0.05)
    return {"first": first, "result": exchange(s, data)}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("server")
    p.add_argument("--bind", default="::")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=600)
    for name in ("tls", "send"):
        p = sub.add_parser(name)
        p.add_argument("--to", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--timeout", type=float, default=3)
        if name == "tls":
            p.add_argument("--split", type=lambda v: [int(x) for x in v.split(",")], default=[])
            p.add_argument("--sni", default="server.test")
        else:
            p.add_argument("--data", required=True)
            p.add_argument("--ready")
            p.add_argument("--go")
    a = ap.parse_args()
    if a.cmd == "server":
        server(a)
    else:
        print(json.dumps(tls(a) if a.cmd == "tls" else send(a)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
