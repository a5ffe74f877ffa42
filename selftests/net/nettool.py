#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Traffic helpers for the network tests: counted UDP streams, single probes, TCP connects.

Every subcommand prints one JSON line on stdout so that the shell tests can assert on it.
  udp-sink   --bind A --ports P[,P..] --seconds S [--stop F]
                                       count datagrams per port, answer probes (counted
                                       apart too); ends after S seconds, or 1 s after file F
                                       appears
  udp-stream --to A --ports P[,P..] --count N --rate R [--stop F]
                                       sequence-numbered datagrams per port, N rounds or until
                                       file F appears
  udp-probe  --to A --port P [--timeout S]            one datagram: reply, timeout or the error,
                                                      and for an ICMP error its origin, type,
                                                      code and sender ("icmp": [...])
  tcp-probe  --to A --port P [--timeout S]            connected, refused (RST), or timeout
  tcp-listen --bind A --port P --seconds S [--ready F] [--stop F]
                                       accept (and close) connections, count them
  icmp-send  --to A --type T --count N one ICMP (ICMPv6 for an IPv6 address) message of type T,
                                       code 0, N times, from a raw socket
  icmp-count --family 4|6 --type T --seconds S [--ready F] [--stop F]
                                       count arriving ICMP (ICMPv6) messages of type T
"""
import argparse
import errno
import json
import os
import select
import socket
import struct
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_sink(a):
    socks = {}
    for p in a.ports:
        s = socket.socket(family(a.bind), socket.SOCK_DGRAM)
        if family(a.bind) == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        # FORCE (root) goes past net.core.rmem_max: a sink starved of CPU for a moment must
        # not lose datagrams the test counts.
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 16 << 20)
        s.bind((a.bind, p))
        socks[s] = p
    seen = {p: set() for p in a.ports}
    count = {p: 0 for p in a.ports}
    probes = {p: 0 for p in a.ports}
    # Tell the caller we are listening: tests wait for this file before sending.
    if a.ready:
        open(a.ready, "w").close()
    end = time.monotonic() + a.seconds
    stopping = False
    while True:
        if a.stop and not stopping and os.path.exists(a.stop):
            stopping = True
            end = min(end, time.monotonic() + 1.0)
        left = min(end - time.monotonic(), 0.2)
        if left <= 0:
            break
        r, _, _ = select.select(list(socks), [], [], left)
        for s in r:
            data, peer = s.recvfrom(2048)
            p = socks[s]
            count[p] += 1
            if data.startswith(b"seq "):
                seen[p].add(int(data[4:].split()[0]))
            if data == b"probe":
                probes[p] += 1
                s.sendto(data, peer)
    print(json.dumps({"received": {str(p): count[p] for p in a.ports},
                      "distinct": {str(p): len(seen[p]) for p in a.ports},
                      "probes": {str(p): probes[p] for p in a.ports}}))


def udp_stream(a):
    socks = []
    for p in a.ports:
        s = socket.socket(family(a.to), socket.SOCK_DGRAM)
        socks.append((s, p))
    gap = 1.0 / a.rate
    start = time.monotonic()
    errors = 0
    sent = 0
    for i in range(a.count):
        if a.stop and i % 50 == 0 and os.path.exists(a.stop):
            break
        sent += 1
        for s, p in socks:
            try:
                s.sendto(b"seq %d" % i, (a.to, p))
            except OSError:
                errors += 1
        delay = start + (i + 1) * gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"sent": sent, "send_errors": errors}))


# struct sock_extended_err (linux/errqueue.h): errno, origin, type, code, pad, info, data
EE = struct.Struct("=IBBBBII")
EE_ORIGIN = {2: "icmp", 3: "icmp6"}


def icmp_error(s, fam):
    """The ICMP error queued on s (IP_RECVERR): [origin, type, code, sender] or None."""
    try:
        _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE)
    except OSError:
        return None
    for level, kind, data in anc:
        if (level, kind) not in ((socket.SOL_IP, 11), (socket.IPPROTO_IPV6, 25)):
            continue
        _, origin, typ, code, _, _, _ = EE.unpack_from(data)
        off = EE.size
        if fam == socket.AF_INET:
            sender = socket.inet_ntop(fam, data[off + 4:off + 8])
        else:
            sender = socket.inet_ntop(fam, data[off + 8:off + 24])
        return [EE_ORIGIN.get(origin, str(origin)), typ, code, sender]
    return None


def udp_probe(a):
    fam = family(a.to)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    # IP_RECVERR / IPV6_RECVERR: keep the ICMP error itself, not only its errno
    if fam == socket.AF_INET:
        s.setsockopt(socket.SOL_IP, 11, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, 25, 1)
    s.settimeout(a.timeout)
    s.connect((a.to, a.port))
    res, icmp = "timeout", None
    try:
        s.send(b"probe")
        s.recv(2048)
        res = "reply"
    except socket.timeout:
        res = "timeout"
    except OSError as e:
        res = errno.errorcode.get(e.errno, str(e.errno))
        icmp = icmp_error(s, fam)
    print(json.dumps({"result": res, "icmp": icmp}))


def tcp_probe(a):
    s = socket.socket(family(a.to), socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect((a.to, a.port))
        res = "connected"
    except socket.timeout:
        res = "timeout"
    except OSError as e:
        res = errno.errorcode.get(e.errno, str(e.errno))
    print(json.dumps({"result": res}))


def stop_or_end(a, end):
    if a.stop and os.path.exists(a.stop):
        end = min(end, time.monotonic() + 1.0)
    return end


def tcp_listen(a):
    s = socket.socket(family(a.bind), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(64)
    if a.ready:
        open(a.ready, "w").close()
    n, end = 0, time.monotonic() + a.seconds
    while True:
        end = stop_or_end(a, end)
        left = min(end - time.monotonic(), 0.2)
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if r:
            c, _ = s.accept()
            c.close()
            n += 1
    print(json.dumps({"accepted": n}))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff


def icmp_send(a):
    fam = family(a.to)
    proto = socket.IPPROTO_ICMP if fam == socket.AF_INET else socket.IPPROTO_ICMPV6
    s = socket.socket(fam, socket.SOCK_RAW, proto)
    sent = 0
    for i in range(a.count):
        msg = struct.pack("!BBHHH", a.type, 0, 0, 0x7f5, i) + b"tlsfw" * 4
        if fam == socket.AF_INET:  # the kernel computes ICMPv6's checksum, not ICMP's
            msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
        s.sendto(msg, (a.to, 0))
        sent += 1
        time.sleep(0.01)
    print(json.dumps({"sent": sent}))


def icmp_count(a):
    fam = socket.AF_INET if a.family == 4 else socket.AF_INET6
    proto = socket.IPPROTO_ICMP if fam == socket.AF_INET else socket.IPPROTO_ICMPV6
    s = socket.socket(fam, socket.SOCK_RAW, proto)
    if a.ready:
        open(a.ready, "w").close()
    n, end = 0, time.monotonic() + a.seconds
    while True:
        end = stop_or_end(a, end)
        left = min(end - time.monotonic(), 0.2)
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        data = s.recv(4096)
        if fam == socket.AF_INET:  # raw IPv4 sockets see the IP header, IPv6 ones do not
            data = data[(data[0] & 0xf) * 4:]
        if data and data[0] == a.type:
            n += 1
    print(json.dumps({"received": n}))


def ports(v):
    return [int(x) for x in v.split(",")]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("udp-sink")
    p.add_argument("--bind", required=True)
    p.add_argument("--ports", type=ports, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--ready")
    p.add_argument("--stop")
    p = sub.add_parser("udp-stream")
    p.add_argument("--to", required=True)
    p.add_argument("--ports", type=ports, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--stop")
    for name in ("udp-probe", "tcp-probe"):
        p = sub.add_parser(name)
        p.add_argument("--to", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--timeout", type=float, default=1.0)
    p = sub.add_parser("tcp-listen")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--ready")
    p.add_argument("--stop")
    p = sub.add_parser("icmp-send")
    p.add_argument("--to", required=True)
    p.add_argument("--type", type=int, required=True)
    p.add_argument("--count", type=int, default=1)
    p = sub.add_parser("icmp-count")
    p.add_argument("--family", type=int, choices=(4, 6), required=True)
    p.add_argument("--type", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--ready")
    p.add_argument("--stop")
    a = ap.parse_args()
    {"udp-sink": udp_sink, "udp-stream": udp_stream, "udp-probe": udp_probe,
     "tcp-probe": tcp_probe, "tcp-listen": tcp_listen, "icmp-send": icmp_send,
     "icmp-count": icmp_count}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
