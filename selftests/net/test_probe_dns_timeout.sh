#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A name whose resolver never answers: tlsfw probe gives up at its --timeout, not after the
# system resolver's own retries (5 s per try, two tries), and says why. The namespace's
# resolver is a UDP socket on 127.0.0.1:53 that reads queries and never replies.
set -u
source "$(dirname "$0")/lib.sh"

NS=${NS_PREFIX}dns
ip netns add "$NS" || fail "netns add"
_cleanup_ns() { "$ROOT/scripts/topology.sh" reap "$NS"; ip netns del "$NS" 2>/dev/null; rm -rf "/etc/netns/$NS"; }
trap '_rc=$?; _cleanup_ns; (exit $_rc); _cleanup' EXIT
ip -n "$NS" link set lo up
mkdir -p "/etc/netns/$NS"
echo "nameserver 127.0.0.1" >"/etc/netns/$NS/resolv.conf"

ip netns exec "$NS" $PY -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
open(sys.argv[1], "w").close()
while True:
    s.recvfrom(2048)
' "$TMP/ready" >/dev/null 2>&1 &
_pids+=($!)
for _ in $(seq 50); do [ -e "$TMP/ready" ] && break; sleep 0.1; done
[ -e "$TMP/ready" ] || fail "silent resolver did not start"

start=$(date +%s%N)
out=$(ip netns exec "$NS" "$TLSFW" probe mail.blackhole.test:25 --timeout 1000 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
echo "$out"
[ $rc -eq 2 ] || fail "exit $rc, want 2 (unreachable)"
grep -q "cannot resolve mail.blackhole.test: no answer within 1000 ms" <<<"$out" ||
	fail "the report does not say the look-up timed out"
# The deadline is one step (1 s); allow generous slack for a loaded machine, far below the
# resolver's own 10 s.
[ $ms -lt 4000 ] || fail "took ${ms} ms, want about 1000"
ok "look-up abandoned after ${ms} ms"
