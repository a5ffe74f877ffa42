#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A paced, sequence-numbered UDP stream and its receiver, for bench_apply.sh.

  send --to A --port P --rate R --stop F     datagrams "seq N T" (T: send time, CLOCK_REALTIME
                                            ns) at R per second until file F appears; prints
                                            {"sent", "longest_send_gap_us", ...}
  recv --bind A --port P --ready F --stop F  records each datagram's kernel arrival time
                                            (SO_TIMESTAMPNS, so the receiver's own scheduling
                                            does not count) until 1 s after file F appears;
                                            prints distinct, the longest arrival gap, gaps over
                                            1 ms, and the path delay (arrival - send time)

Sender, receiver and the gateway share one host clock, so the path delay is exact: a datagram
held on its way (a stalled hook, a full ring) shows there, while an arrival gap can also come
from a sender that was not scheduled (which the sender reports as its own longest gap).

The sender is paced against an absolute schedule: after a late wake-up it sends every
datagram that is due at once, so a sleep that overshoots does not lower the rate.
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def send(a):
    s = socket.socket(family(a.to), socket.SOCK_DGRAM)
    s.connect((a.to, a.port))
    period = 1e9 / a.rate
    start = time.monotonic_ns()
    sent = errors = 0
    last = start
    longest = 0
    while True:
        if sent % 256 == 0 and os.path.exists(a.stop):
            break
        now = time.monotonic_ns()
        due = int((now - start) / period) + 1
        if sent < due:
            try:
                s.send(b"seq %d %d" % (sent, time.time_ns()))
            except OSError:
                errors += 1
            sent += 1
            longest = max(longest, now - last)
            last = now
            continue
        wait = start + due * period - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
    elapsed = (time.monotonic_ns() - start) / 1e9
    print(json.dumps({"sent": sent, "send_errors": errors, "seconds": round(elapsed, 3),
                      "longest_send_gap_us": longest // 1000}))


def recv(a):
    s = socket.socket(family(a.bind), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 32 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((a.bind, a.port))
    s.setblocking(False)
    open(a.ready, "w").close()
    arrivals = []  # (kernel arrival ns, seq, path delay ns)
    end = None
    while end is None or time.monotonic() < end:
        if end is None and os.path.exists(a.stop):
            end = time.monotonic() + 1.0
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        while True:
            try:
                data, anc, _, _ = s.recvmsg(64, socket.CMSG_SPACE(16))
            except BlockingIOError:
                break
            ts = None
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", cdata[:16])
                    ts = sec * 1000000000 + nsec
            if ts is None or not data.startswith(b"seq "):
                continue
            f = data.split()
            arrivals.append((ts, int(f[1]), ts - int(f[2])))
    arrivals.sort()
    gaps = [b[0] - a_[0] for a_, b in zip(arrivals, arrivals[1:])]
    seqs = {q for _, q, _ in arrivals}
    delays = sorted(d for _, _, d in arrivals)
    print(json.dumps({
        "received": len(arrivals), "distinct": len(seqs),
        "max_seq": max(seqs) if seqs else -1,
        "longest_gap_us": max(gaps) // 1000 if gaps else 0,
        "gaps_over_1ms": sum(1 for g in gaps if g > 1000000),
        "median_gap_us": sorted(gaps)[len(gaps) // 2] // 1000 if gaps else 0,
        "median_delay_us": delays[len(delays) // 2] // 1000 if delays else 0,
        "p999_delay_us": delays[len(delays) * 999 // 1000] // 1000 if delays else 0,
        "max_delay_us": delays[-1] // 1000 if delays else 0,
        # the ten most delayed datagrams: arrival time (CLOCK_REALTIME ns) and delay, to
        # place them against what else ran at that moment
        "worst": [[t, d // 1000] for t, _, d in sorted(arrivals, key=lambda x: -x[2])[:10]],
    }))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("send")
    p.add_argument("--to", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, default=10000)
    p.add_argument("--stop", required=True)
    p = sub.add_parser("recv")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--stop", required=True)
    a = ap.parse_args()
    {"send": send, "recv": recv}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
