#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw apply --wait SECONDS (issue 17, item 6: boot with interfaces that appear later).
#  - an interface created 1 s after `apply --wait 5` started: apply waits for it, then
#    enforces (exit 0, not before 1 s; status lists it);
#  - an interface that appears under another name and is then renamed (as udev renames eth0):
#    the wait ends with the rename;
#  - an interface that never appears: exit 2 after the timeout, naming it, nothing changed
#    (the policy enforced before stays, with its hash);
#  - interfaces that exist already: no wait (--wait 0.2 suffices); a bad policy is exit 1 at
#    once, without waiting;
#    a bad --wait value is exit 1;
#  - the waiting is on netlink notifications: strace, an independent witness, sees no sleep
#    and one poll per wakeup, not a loop.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || fail "strace not found (scripts/install-deps.sh)"

topo_up
pol() { # NAME IFACE...: a policy for the interfaces
	local f=$TMP/$1.conf i
	shift
	{
		echo "version: 1"
		echo "interfaces:"
		for i in "$@"; do echo "  - name: $i"; done
		echo "rules:"
		echo "  - name: no-quic"
		echo "    proto: udp"
		echo "    dport: 443"
		echo "    action: drop"
	} >"$f"
	echo "$f"
}
ms() { echo $(($(date +%s%N) / 1000000)); }

# Present already: the wait ends with the first listing of the links (a timeout of 0.2 s would
# fail otherwise: the sanitized apply alone takes longer than that).
first=$(pol first lan0)
tlsfw apply --wait 0.2 "$first" >"$TMP/out" 2>&1 || fail "apply --wait with lan0 present: $(cat "$TMP/out")"
ok "interfaces present: enforced without waiting"

# Created 1 s after the start; strace records the system calls of the wait.
late=$(pol late lan0 late0)
t0=$(ms)
# LeakSanitizer cannot run under ptrace
bg ip netns exec "$GW" env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=poll,ppoll,nanosleep,clock_nanosleep,select,bpf \
	-o "$TMP/strace" "$TLSFW" apply --wait 5 "$late" >"$TMP/late.out" 2>&1
apid=$BG_PID
sleep 1
gw ip link add late0 type veth peer name late0p || fail "create late0"
wait $apid
rc=$?
el=$(($(ms) - t0))
[ $rc = 0 ] || fail "apply --wait 5 with late0 created after 1 s: exit $rc: $(cat "$TMP/late.out")"
[ $el -ge 1000 ] || fail "apply --wait returned after $el ms, before late0 was created (1000)"
tlsfw status >"$TMP/status" || fail "status"
grep -q '^late0 ' "$TMP/status" || fail "late0 not enforced: $(cat "$TMP/status")"
# the wait is what happens before the first bpf() call (loading the programs)
sed -n '/bpf(/q;p' "$TMP/strace" >"$TMP/wait.strace"
grep -Eq 'nanosleep|select\(' "$TMP/wait.strace" && fail "the wait sleeps: $(grep -E 'nanosleep|select' "$TMP/wait.strace" | head -3)"
polls=$(grep -c '^[0-9]* *poll(' "$TMP/wait.strace")
[ "$polls" -ge 1 ] && [ "$polls" -le 20 ] || fail "$polls polls during a 1 s wait"
ok "late0 created after 1 s: enforced after $el ms; $polls poll(s), no sleep"

# Renamed into place, as udev renames: eth7 appears at 0.5 s, becomes late1 at 1 s.
gw ip link del late0
renamed=$(pol renamed lan0 late1)
bg ip netns exec "$GW" "$TLSFW" apply --wait 5 "$renamed" >"$TMP/ren.out" 2>&1
apid=$BG_PID
sleep 0.5
gw ip link add eth7 type veth peer name eth7p || fail "create eth7"
sleep 0.5
kill -0 $apid 2>/dev/null || fail "apply ended before the rename: $(cat "$TMP/ren.out")"
gw ip link set eth7 name late1 || fail "rename eth7 to late1"
wait $apid || fail "apply --wait with a renamed interface: $(cat "$TMP/ren.out")"
tlsfw status | grep -q '^late1 ' || fail "late1 not enforced"
ok "an interface renamed into place ends the wait"

# Never created: exit 2 after the timeout, naming it; the enforced policy stays.
hash=$(tlsfw status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["policy"]["hash"])')
never=$(pol never lan0 never0 never1)
t0=$(ms)
tlsfw apply --wait 2 "$never" >"$TMP/never.out" 2>&1
rc=$?
el=$(($(ms) - t0))
[ $rc = 2 ] || fail "apply --wait 2 for never0: exit $rc, want 2: $(cat "$TMP/never.out")"
[ $el -ge 2000 ] && [ $el -lt 6000 ] || fail "the timeout of 2 s took $el ms"
grep -q '^tlsfw: error: interfaces never0, never1 did not appear within 2 s$' "$TMP/never.out" &&
	grep -q '^tlsfw: 1 error, 0 warnings; nothing applied$' "$TMP/never.out" ||
	fail "timeout message: $(cat "$TMP/never.out")"
now=$(tlsfw status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["policy"]["hash"])')
[ "$now" = "$hash" ] || fail "the enforced policy changed after a timeout ($hash -> $now)"
ok "never0, never1: exit 2 after $el ms naming both; the previous policy stays"

# Usage and bad policies do not wait.
for bad in abc 0 -1 3601; do
	tlsfw apply --wait "$bad" "$never" >/dev/null 2>&1
	[ $? = 1 ] || fail "--wait $bad: not exit 1"
done
tlsfw apply "$never" --wait >/dev/null 2>&1
[ $? = 1 ] || fail "--wait without a value: not exit 1"
printf 'version: 1\ninterfaces:\n  - name: never0\ndefault: dorp\n' >"$TMP/bad.conf"
t0=$(ms)
tlsfw apply --wait 5 "$TMP/bad.conf" >/dev/null 2>&1
rc=$?
el=$(($(ms) - t0))
[ $rc = 1 ] && [ $el -lt 3000 ] || fail "a bad policy with --wait 5: exit $rc after $el ms"
ok "bad --wait values and a bad policy: exit 1 without waiting"
