#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The large policies of issue 14's item 3, for bench_check.sh and bench_apply.sh.

    bigpol.py KIND N [VARIANT]

KIND: port (one UDP dport each, all different), pfx (tcp/443 to 50 random /24s of 10.0.0.0/8
each), ports (tcp to 200 random ports each). Fixed seeds, so that every run measures the same
files. VARIANT a (the default) is what bench_check.sh measures; b has other rule names and
other random draws, for a replacement that rewrites every map entry.
"""
import random
import sys

kind, n = sys.argv[1], int(sys.argv[2])
variant = sys.argv[3] if len(sys.argv) > 3 else "a"
r = random.Random(14 if variant == "a" else 15)
name = "r" if variant == "a" else "s"
base = 10000 if variant == "a" else 20000
out = ["version: 1\ninterfaces:\n  - name: lan0\ndefault: allow\nrules:"]
for i in range(n):
    out.append("  - name: %s%d" % (name, i))
    if kind == "port":
        out.append("    proto: udp\n    dport: %d" % (base + i))
    elif kind == "pfx":
        out.append("    proto: tcp\n    dport: 443\n    dst: [%s]" % ", ".join(
            "10.%d.%d.0/24" % (x >> 8, x & 255) for x in r.sample(range(65536), 50)))
    elif kind == "ports":
        out.append("    proto: tcp\n    dport: [%s]" % ", ".join(
            str(p) for p in r.sample(range(1, 65536), 200)))
    else:
        sys.exit("bigpol.py: unknown kind %s" % kind)
    out.append("    action: drop")
print("\n".join(out))
