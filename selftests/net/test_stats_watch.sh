#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw stats --watch: in a pseudo-terminal it redraws in place (ANSI clear and home) and shows
# per-rule packets/s and bytes/s that match a paced stream within 10 percent; SIGINT ends it
# with exit 0. Without a terminal it appends plain blocks; --json prints one document a line.
. "$(dirname "$0")/lib.sh"

RATE=250
SECS=7
SIZE=100
FRAME=$((14 + 20 + 8 + SIZE))

topo_up
pol=$(policy watch <<'EOF'
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: paced-5001
    proto: udp
    dport: 5001
    action: drop
  - name: idle-5002
    proto: udp
    dport: 5002
    action: drop
EOF
)
tlsfw apply "$pol" >/dev/null || fail "apply"

# The watcher in a pseudo-terminal: everything it draws goes to $TMP/pty.out; SIGINT after
# the stream; its exit status in $TMP/pty.rc.
ip netns exec "$GW" $PY - "$TMP" "$TLSFW" $((SECS + 3)) <<'EOF' &
import os, pty, signal, subprocess, sys, time
tmp, tlsfw, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
master, slave = pty.openpty()
p = subprocess.Popen([tlsfw, "stats", "--watch", "1", "--exact"], stdin=slave, stdout=slave,
                     stderr=slave, close_fds=True)
os.close(slave)
open(os.path.join(tmp, "pty.ready"), "w").close()
out = b""
end = time.monotonic() + secs
import select
while time.monotonic() < end:
    r, _, _ = select.select([master], [], [], 0.1)
    if r:
        try:
            out += os.read(master, 65536)
        except OSError:
            break
p.send_signal(signal.SIGINT)
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "hung"
while True:
    r, _, _ = select.select([master], [], [], 0.2)
    if not r:
        break
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
open(os.path.join(tmp, "pty.out"), "wb").write(out)
open(os.path.join(tmp, "pty.rc"), "w").write(str(rc))
EOF
WPID=$!
_pids+=("$WPID")
wait_file "$TMP/pty.ready"
sleep 1.5

# A paced stream: absolute deadlines, so the rate holds over every one-second window.
cli $PY - "$S4" 5001 $RATE $SECS $SIZE <<'EOF' || fail "paced sender"
import socket, sys, time
to, port, rate, secs, size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = int(rate * secs)
start = time.monotonic()
for i in range(n):
    s.sendto(b"r" * size, (to, port))
    d = start + (i + 1) / rate - time.monotonic()
    if d > 0:
        time.sleep(d)
EOF
wait $WPID || fail "pty driver failed"
[ "$(cat "$TMP/pty.rc")" = 0 ] || fail "--watch after SIGINT: exit $(cat "$TMP/pty.rc"), want 0"

# Parse the screens: each starts with clear + home; take paced-5001's rates from each.
$PY - "$TMP/pty.out" $RATE $FRAME <<'EOF' || fail "rates do not match the stream"
import re, sys
data = open(sys.argv[1], "rb").read().decode()
rate, frame = float(sys.argv[2]), float(sys.argv[3])
screens = [s for s in data.split("\x1b[H\x1b[2J") if s.strip()]
if len(screens) < 6:
    sys.exit("only %d screens drawn (want one a second); output:\n%s" % (len(screens), data[-2000:]))
if data.count("\x1b[H\x1b[2J") < len(screens):
    sys.exit("screens are not redrawn in place (no clear/home before each)")
pps, bps, idle = [], [], []
for s in screens:
    m = re.search(r"^\s+paced-5001\s+drop\s+enforce\s+\d+\s+\d+ B\s+(\S+)/s\s+(\S+) B/s", s, re.M)
    i = re.search(r"^\s+idle-5002\s+drop\s+enforce\s+0\s+0 B\s+(\S+)/s", s, re.M)
    if m:
        pps.append(float(m.group(1)))
        bps.append(float(m.group(2)))
    if i:
        idle.append(float(i.group(1)))
print("packets/s per refresh:", pps)
print("bytes/s per refresh:", bps)
if len(pps) < 5:
    sys.exit("only %d refreshes with rates" % len(pps))
near = [(p, b) for p, b in zip(pps, bps) if abs(p - rate) <= 0.1 * rate]
if len(near) < 3:
    sys.exit("fewer than 3 refreshes within 10%% of %g/s: %s" % (rate, pps))
# The first and last windows overlap the stream's start and end; in between, the median must
# hold too (a sender starved for a moment catches up, so one window may be off on a busy host).
inner = sorted(p for p in pps if p > 0.5 * rate)
med = inner[len(inner) // 2]
if abs(med - rate) > 0.1 * rate:
    sys.exit("median rate %g/s is not within 10%% of %g/s: %s" % (med, rate, pps))
for p, b in near:
    if abs(b - p * frame) > 0.1 * p * frame:
        sys.exit("bytes/s %g does not match %g packets/s of %d-byte frames" % (b, p, frame))
if any(idle):
    sys.exit("the idle rule shows a rate: %s" % idle)
EOF
ok "pty: redrawn in place, rates within 10% of $RATE packets/s ($FRAME-byte frames), exit 0 on SIGINT"

# Not a terminal: plain blocks appended, no escape sequences; SIGTERM ends it with exit 0.
bg ip netns exec "$GW" "$TLSFW" stats --watch 0.3 >"$TMP/plain.out" 2>&1
P=$BG_PID
sleep 1.2
kill -TERM $P
wait $P
rc=$?
[ $rc = 0 ] || fail "--watch to a file: exit $rc after SIGTERM, want 0"
grep -q $'\x1b' "$TMP/plain.out" && fail "escape sequences written to a file"
n=$(grep -c '^tlsfw stats every 0.3s' "$TMP/plain.out")
[ "$n" -ge 3 ] || fail "only $n blocks appended in 1.2 s at 0.3 s"
grep -q 'PACKETS/S' "$TMP/plain.out" || fail "no rate columns"
ok "no terminal: $n plain blocks, exit 0 on SIGTERM"

# --watch --json: one JSON document a line, rates from the second on.
bg ip netns exec "$GW" "$TLSFW" stats --watch 0.3 --json >"$TMP/w.jsonl" 2>&1
P=$BG_PID
sleep 1
kill -INT $P
wait $P || fail "--watch --json: exit $? after SIGINT"
$PY - "$TMP/w.jsonl" <<'EOF' || fail "--watch --json output"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if len(docs) < 3:
    sys.exit("%d documents" % len(docs))
r = [x for x in docs[-1]["rules"] if x["name"] == "paced-5001"][0]
if r["packets_per_second"] is None or "interval_seconds" not in docs[-1]:
    sys.exit("no rate in %s" % docs[-1])
if docs[0]["rules"][0]["packets_per_second"] is not None:
    sys.exit("first document has a rate")
EOF
ok "--watch --json: one document a line"
