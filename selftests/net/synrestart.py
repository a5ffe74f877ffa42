#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A TCP client of raw segments (IPv4), for the SYN-restart case of the require: tls tests.
One JSON line on stdout.

  hello    --to A --port P [--wait S]
           handshake with ISN A, ACK, then a TLS ClientHello record at A+1 (the control)
  restart  --to A --port P [--wait S]
           handshake with ISN A, ACK, a second SYN with ISN B = A-1000 (a gateway that takes
           it for a new connection restarts its flow state; the server keeps its connection
           and answers with a challenge ACK), a ClientHello at B+1 (out of the server's
           window: dropped), 50 ms later "GET / HTTP/1.0\\n" at A+1 (the server's next byte);
           with --then-sni NAME, a ClientHello for NAME at A+1 instead
  keep     --to A --port P [--wait S]
           handshake with ISN A, ACK, a ClientHello at A+1 (the flow passes as TLS), a second
           SYN with ISN B = A-1000 (spoofed on an open connection: the server keeps it), then
           21 bytes of a TLS application data record at the server's next byte
  residual --to A --port P [--wait S]
           handshake with ISN A, ACK, the first 5 bytes of a ClientHello record at A+1 (too
           few to decide: they pass), a second SYN with ISN B = A-1000 and a ClientHello at B+1
           (dropped by the server), then a whole ClientHello record at A+6, after those 5:
           the server's stream reads 16 03 01 LL LL 16 ..., a record whose handshake type is
           22, not a ClientHello
  resync   --to A --port P --ready F --go F [--wait S]
           handshake with ISN A, ACK, touch --ready, wait for file --go (meanwhile the
           caller makes the server forget the connection without a word), then a new
           handshake on the same 5-tuple with ISN B = A+5000 and a ClientHello at B+1: the
           server answers the SYN with a SYN-ACK of B+1, which conntrack, holding the old
           connection, resynchronises on

The segments go out of a raw IPPROTO_TCP socket: the kernel builds the IPv4 header and
routes it, the TCP checksum is computed here. The source port is random, below the ephemeral
range (20000-25999 for hello and resync, 26000-27999 for restart, 28000-29999 for keep,
30000-31999 for residual). The client's own kernel answers the server's segments with RSTs
(it knows no such connection): the caller drops them (nft, output hook) for the time of the
run. After the last segment the server's segments are collected for --wait seconds (default
0.5).
Prints {"result": "done" | "no SYN-ACK", "hello_bytes": N, "data": N, "text": "...",
"rst": bool}: "data" counts the payload bytes the server sent (each sequence number once),
"text" shows the first 100 of them, "rst" says whether the server reset.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time

SYN, RST, PSH, ACK = 0x02, 0x04, 0x08, 0x10


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def client_hello(sni="server.test"):
    """A minimal well-formed TLS 1.3 ClientHello record (legacy record version 3.1): SNI,
    supported_versions, supported_groups, signature_algorithms, an x25519 key_share."""
    host = sni.encode()
    exts = struct.pack("!HHHBH", 0, len(host) + 5, len(host) + 3, 0, len(host)) + host
    exts += struct.pack("!HHBH", 43, 3, 2, 0x0304)  # supported_versions: TLS 1.3
    exts += struct.pack("!HHHH", 10, 4, 2, 0x001D)  # supported_groups: x25519
    exts += struct.pack("!HHHH", 13, 4, 2, 0x0403)  # signature_algorithms: ecdsa P-256
    exts += struct.pack("!HHHHH", 51, 2 + 4 + 32, 4 + 32, 0x001D, 32) + b"\x42" * 32
    body = struct.pack("!H", 0x0303) + b"\xa5" * 32 + b"\x20" + b"\x5a" * 32
    body += struct.pack("!HH", 2, 0x1301) + b"\x01\x00" + struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return struct.pack("!BHH", 22, 0x0301, len(hs)) + hs


class Conn:
    def __init__(self, to, port, ports):
        self.dst, self.dport = to, port
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect((to, port))
        self.src = probe.getsockname()[0]
        probe.close()
        self.sport = random.randint(*ports)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.s.settimeout(0.05)
        self.seen = []  # (flags, seq, ack, payload) of the server's segments

    def send(self, seq, ack, flags, data=b""):
        seg = struct.pack("!HHIIBBHHH", self.sport, self.dport, seq & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0) + data
        ph = socket.inet_aton(self.src) + socket.inet_aton(self.dst) + \
            struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(seg))
        seg = seg[:16] + struct.pack("!H", csum(ph + seg)) + seg[18:]
        self.s.sendto(seg, (self.dst, 0))

    def collect(self, seconds, until=None):
        """The server's segments for up to seconds, or until one satisfies until."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                pkt = self.s.recv(65535)
            except socket.timeout:
                continue
            ihl = (pkt[0] & 15) * 4
            if pkt[9] != socket.IPPROTO_TCP or pkt[12:16] != socket.inet_aton(self.dst):
                continue
            tot = struct.unpack("!H", pkt[2:4])[0]
            sp, dp, seq, ack, off, flags = struct.unpack("!HHIIBB", pkt[ihl:ihl + 14])
            if sp != self.dport or dp != self.sport:
                continue
            seg = (flags, seq, ack, pkt[ihl + (off >> 4) * 4:tot])
            self.seen.append(seg)
            if until and until(seg):
                return seg
        return None


def run(a):
    # the modes' port ranges do not meet: a run never lands on the 5-tuple of another mode's
    # connection, which the server may still hold open
    ports = {"restart": (26000, 27999), "keep": (28000, 29999), "residual": (30000, 31999)}
    c = Conn(a.to, a.port, ports.get(a.cmd, (20000, 25999)))
    isn = random.randint(1 << 20, (1 << 32) - (1 << 20))
    hello = client_hello()
    c.send(isn, 0, SYN)
    synack = c.collect(1.0, lambda s: s[0] & (SYN | ACK) == SYN | ACK)
    if not synack:
        return {"result": "no SYN-ACK", "hello_bytes": len(hello)}
    srv = synack[1] + 1
    c.seen.clear()
    c.send(isn + 1, srv, ACK)
    if a.cmd == "hello":
        c.send(isn + 1, srv, PSH | ACK, hello)
    elif a.cmd == "keep":
        c.send(isn + 1, srv, PSH | ACK, hello)
        time.sleep(0.05)
        c.send(isn - 1000, 0, SYN)
        time.sleep(0.05)
        c.send(isn + 1 + len(hello), srv, PSH | ACK, b"\x17\x03\x03\x00\x10" + b"\x99" * 16)
    elif a.cmd == "residual":
        c.send(isn + 1, srv, PSH | ACK, hello[:5])
        time.sleep(0.05)
        b = isn - 1000
        c.send(b, 0, SYN)
        c.send(b + 1, srv, PSH | ACK, hello)
        time.sleep(0.05)
        c.send(isn + 6, srv, PSH | ACK, hello)
    elif a.cmd == "resync":
        open(a.ready, "w").close()
        while not os.path.exists(a.go):
            time.sleep(0.02)
        isn += 5000
        c.send(isn, 0, SYN)
        synack = c.collect(1.0, lambda s: s[0] & (SYN | ACK) == SYN | ACK and
                           s[2] == (isn + 1) & 0xFFFFFFFF)
        if not synack:
            return {"result": "no SYN-ACK of the new ISN", "hello_bytes": len(hello)}
        srv = synack[1] + 1
        c.seen.clear()
        c.send(isn + 1, srv, ACK)
        c.send(isn + 1, srv, PSH | ACK, hello)
    else:
        b = isn - 1000
        c.send(b, 0, SYN)
        c.send(b + 1, srv, PSH | ACK, hello)
        time.sleep(0.05)
        second = client_hello(a.then_sni) if a.then_sni else b"GET / HTTP/1.0\n"
        c.send(isn + 1, srv, PSH | ACK, second)
    c.collect(a.wait)
    # a segment the server sent again (nobody acknowledges its data) counts once
    data = b"".join(d for _, d in sorted({s[1]: s[3] for s in c.seen if s[3]}.items()))
    return {"result": "done", "hello_bytes": len(hello), "data": len(data),
            "text": data[:100].decode("latin-1"), "rst": any(s[0] & RST for s in c.seen)}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("hello", "restart", "keep", "residual", "resync"):
        p = sub.add_parser(name)
        p.add_argument("--to", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--wait", type=float, default=0.5)
        if name == "restart":
            p.add_argument("--then-sni")
        if name == "resync":
            p.add_argument("--ready", required=True)
            p.add_argument("--go", required=True)
    a = ap.parse_args()
    r = run(a)
    print(json.dumps(r))
    sys.stdout.flush()
    return 0 if r["result"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
