#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""UDP datagrams shaped like protocols that are not QUIC but whose first bytes come close:
DNS queries whose ID's first byte has the long-header and fixed bits (0xc3c3, ...), a STUN
binding request, a WireGuard handshake initiation, an RTP packet. Sent to --to ADDR on
--port P, each kind --count times; prints {"sent": N} as JSON.
"""
import argparse
import json
import os
import socket
import struct


def dns(qid):
    q = b"".join(bytes([len(p)]) + p.encode() for p in "server.test".split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def stun():
    return struct.pack("!HHI", 0x0001, 0, 0x2112A442) + os.urandom(12)


def wireguard():
    return struct.pack("<I", 1) + os.urandom(144)


def rtp(seq):
    return struct.pack("!BBHII", 0x80, 96, seq, seq * 160, 0x1234) + os.urandom(160)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET6 if ":" in a.to else socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    for i in range(a.count):
        for d in (dns(0xC3C3), dns(0xC0FF), dns(0xCAFF), stun(), wireguard(), rtp(i)):
            s.sendto(d, (a.to, a.port))
            sent += 1
    print(json.dumps({"sent": sent}))


if __name__ == "__main__":
    main()
