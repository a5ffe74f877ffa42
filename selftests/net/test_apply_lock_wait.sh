#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Commands of one namespace take turns on the namespace lock. apply blocks SIGINT, SIGTERM,
# SIGHUP and SIGQUIT so that it can roll back rather than die half-way, but while it only
# waits for the lock nothing has changed: SIGTERM (or Ctrl-C) must end it at once, not after
# the other command finishes. And once the lock is free, a waiting apply must go on and
# enforce its policy.
. "$(dirname "$0")/lib.sh"

topo_up
A=$(policy a <<'EOF2'
version: 1
interfaces:
  - name: lan0
rules:
  - name: a1
    proto: udp
    dport: 7000
    action: drop
EOF2
)
ino=$(gw stat -L -c %i /proc/self/ns/net) || fail "no namespace inode"
mkdir -p /run/tlsfw
LOCK=/run/tlsfw/netns-$ino.lock

# hold: take the namespace lock as another tlsfw command would; the holder's PID in HOLD
hold() {
	rm -f "$TMP/held"
	bg bash -c 'exec 9>"$1"; flock 9; touch "$2"; exec sleep 60' _ "$LOCK" "$TMP/held"
	HOLD=$BG_PID
	wait_file "$TMP/held"
}

# waiting PID ERRFILE: wait until the apply says it waits for the lock
waiting() {
	local i
	for i in $(seq 100); do
		grep -q "waiting for another tlsfw command" "$2" && return 0
		kill -0 "$1" 2>/dev/null || fail "apply exited instead of waiting: $(cat "$2")"
		sleep 0.05
	done
	fail "apply did not report that it waits for the lock"
}

hold
bg ip netns exec "$GW" "$TLSFW" apply "$A" >"$TMP/apply1.out" 2>"$TMP/apply1.err"
AP=$BG_PID
waiting $AP "$TMP/apply1.err"
kill -TERM $AP
for i in $(seq 40); do
	kill -0 $AP 2>/dev/null || break
	sleep 0.05
done
if kill -0 $AP 2>/dev/null; then
	kill $HOLD
	wait $AP
	fail "apply waiting for the lock ignored SIGTERM (held until the lock was free)"
fi
wait $AP
rc=$?
[ $rc = 143 ] || fail "apply ended with $rc after SIGTERM, expected 143 (killed by SIGTERM)"
gw ip -d link show lan0 | grep -q "prog/xdp" && fail "an apply ended while waiting left a program on lan0"
ok "SIGTERM ends an apply waiting for the lock; nothing attached"

bg ip netns exec "$GW" "$TLSFW" apply "$A" >"$TMP/apply2.out" 2>"$TMP/apply2.err"
AP=$BG_PID
waiting $AP "$TMP/apply2.err"
kill $HOLD
wait $AP || fail "apply after the lock was released failed: $(cat "$TMP/apply2.err")"
tlsfw status | grep -q "$(basename "$A")" || fail "policy a is not enforced after waiting"
ok "an apply that waited for the lock enforces its policy once the lock is free"
