#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A generation is written again only after a grace period (userspace/grace.h). A program reads
# the active generation once per packet, then looks up that generation's entries; one that
# read it just before the flip may still run after it (a descheduled vCPU: milliseconds), and
# clearing its generation under it would give that packet neither policy. An RCU grace period
# (membarrier(MEMBARRIER_CMD_GLOBAL), synchronize_rcu() in the kernel) that began after the
# flip must end before the generation the flip retired is cleared. apply leaves that
# generation alone after its flip; the next apply clears it, after a wait that it starts in a
# child process as soon as it has read the policy, and again under the lock when an apply
# flipped after that wait began (a counter in the namespace's lock file says so). The race
# lasts nanoseconds and cannot be provoked from a test, so strace witnesses the order of the
# system calls: the first update of tlsfw_cfg (a clear starts by zeroing the generation's
# configuration) comes after a membarrier that ended, and that began after the last flip;
# after a rollback's flip back, the same. The maps are told apart by their ids (bpftool),
# which the trace links to descriptors (BPF_MAP_GET_FD_BY_ID).
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || fail "strace is needed as the witness of this test"
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
B=$(policy b <<'EOF2'
version: 1
interfaces:
  - name: lan0
rules:
  - name: b1
    proto: udp
    dport: 7001
    action: drop
EOF2
)

# traced OUT RC ARGS...: tlsfw ARGS under strace -f (its early wait is a child process;
# environment: $FAULT), expecting exit status RC
FAULT=
traced() {
	local out=$1 want=$2 rc
	shift 2
	# LeakSanitizer cannot run under ptrace; the other tests check leaks.
	gw env TLSFW_FAULT="$FAULT" ASAN_OPTIONS=detect_leaks=0 strace -f -o "$out" \
		-e trace=bpf,membarrier,close,flock,clone "$TLSFW" "$@" >"$TMP/out" 2>&1
	rc=$?
	[ $rc = "$want" ] || { cat "$TMP/out"; fail "tlsfw $* exited $rc, expected $want"; }
}

# map_id NAME: the id of tlsfw's map NAME, found from lan0's XDP program
map_id() {
	local prog
	prog=$(gw ip -d -j link show lan0 | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])')
	for m in $(bpftool prog show id "$prog" -j | $PY -c 'import json,sys; print(*json.load(sys.stdin)["map_ids"])'); do
		[ "$(bpftool map show id "$m" -j | $PY -c 'import json,sys; print(json.load(sys.stdin)["name"])')" = "$1" ] &&
			echo "$m" && return
	done
	fail "no map $1 behind lan0's XDP program"
}

# ordered TRACE WHAT FLIPS CLEARS WAITS_UNDER_LOCK: the trace has FLIPS updates of tlsfw_state
# and CLEARS clears (a first update of tlsfw_cfg: before the fill, after a flip back); each
# clear comes after a membarrier that ended after the last flip (or, for the first, one that
# began in this process). WAITS_UNDER_LOCK: 1 if the wait before the first clear must have
# begun after the lock was taken (another apply flipped in between), 0 if it must have begun
# before (the early wait, which the compiling hides).
ordered() {
	$PY - "$@" "$STATE_ID" "$CFG_ID" <<'PYEOF' || fail "$2: a generation was cleared without waiting for programs using it"
import re, sys
trace, what, flips, clears, under_lock, state_id, cfg_id = sys.argv[1:8]
flips, clears, under_lock = int(flips), int(clears), int(under_lock)
fds = {}  # descriptor -> map id, as the trace opens and closes them
seen, cleared, bad = 0, 0, 0
need_clear = True        # before the fill, or after a flip back
ended_since_flip = False  # a membarrier ended since the last flip
locked, began_locked = False, None
for n, line in enumerate(open(trace), 1):
    line = re.sub(r"^\d+ +", "", line)
    m = re.match(r"bpf\(BPF_MAP_GET_FD_BY_ID, \{map_id=(\d+).*\) = (\d+)", line)
    if m:
        fds[m.group(2)] = m.group(1)
        continue
    m = re.match(r"close\((\d+)\)", line)
    if m:
        fds.pop(m.group(1), None)
        continue
    if re.match(r"flock\(\d+, LOCK_EX.*= 0", line):
        locked = True
        continue
    if line.startswith("membarrier(MEMBARRIER_CMD_GLOBAL"):
        if began_locked is None or locked:
            began_locked = locked
    if re.match(r"(membarrier\(MEMBARRIER_CMD_GLOBAL|<\.\.\. membarrier resumed>).* = 0", line):
        ended_since_flip = True
        continue
    m = re.match(r"bpf\(BPF_MAP_UPDATE_ELEM, \{map_fd=(\d+)", line)
    if not m:
        continue
    if fds.get(m.group(1)) == state_id:
        seen += 1
        ended_since_flip = False
        need_clear = seen > 1  # the flip back of a rollback clears the new generation
    elif fds.get(m.group(1)) == cfg_id and need_clear:
        need_clear = False
        cleared += 1
        if not ended_since_flip:
            print("FAIL: %s: line %d zeroes a configuration without a grace period since the last flip" % (what, n))
            bad = 1
        if cleared == 1 and began_locked != bool(under_lock):
            print("FAIL: %s: the wait before the first clear began %s the lock was taken (expected %s)"
                  % (what, "after" if began_locked else "before", "after" if under_lock else "before"))
            bad = 1
if seen != flips or cleared != clears:
    print("FAIL: %s: %d flips and %d clears traced (expected %d and %d)" % (what, seen, cleared, flips, clears))
    bad = 1
sys.exit(bad)
PYEOF
}

tlsfw apply "$A" >/dev/null || fail "first apply"
STATE_ID=$(map_id tlsfw_state)
CFG_ID=$(map_id tlsfw_cfg)
traced "$TMP/replace.trace" 0 apply "$B"
ordered "$TMP/replace.trace" "replacement" 1 1 0
ok "replacement: the retired generation is cleared by the next apply, after a wait begun while it compiled"

# A fault after the flip: the rollback flips back, then clears the new generation.
FAULT=detach-old traced "$TMP/rollback.trace" 2 apply "$A"
grep -q "fault injected" "$TMP/out" || { cat "$TMP/out"; fail "the fault was not injected"; }
ordered "$TMP/rollback.trace" "rollback" 2 2 0
tlsfw status | grep -q "$(basename "$B")" || fail "policy B is not enforced after the rollback"
ok "rollback after the flip: the new generation is cleared after a grace period"

# An apply that flips while another one compiles: the other's early wait may have begun
# before that flip, so it waits again under the lock. C waits for interface lan9 (--wait),
# having read its policy; A is applied meanwhile; then lan9 appears.
C=$(policy c <<'EOF2'
version: 1
interfaces:
  - name: lan0
  - name: lan9
rules:
  - name: c1
    proto: udp
    dport: 7002
    action: drop
EOF2
)
traced "$TMP/late.trace" 0 apply --wait 20 "$C" &
LATE=$!
for i in $(seq 100); do
	grep -q "membarrier(MEMBARRIER_CMD_GLOBAL" "$TMP/late.trace" 2>/dev/null && break
	sleep 0.1
done
tlsfw apply "$A" >/dev/null || fail "apply of A while C waits"
gw ip link add lan9 type veth peer name lan9p || fail "cannot add lan9"
gw ip link set lan9p up
gw ip link set lan9 up
wait $LATE || fail "apply of C"
ordered "$TMP/late.trace" "a flip while compiling" 1 1 1
ok "a flip after the early wait began: the next apply waits again under the lock"

# An apply killed between its flip and its end leaves the counter odd: the next one waits
# under the lock. The counter is the lock file's first four bytes.
NS=$(gw stat -L -c %i /proc/self/ns/net)
$PY - "/run/tlsfw/netns-$NS.lock" <<'PYEOF' || fail "cannot write the flip counter"
import struct, sys
with open(sys.argv[1], "r+b") as f:
    v = struct.unpack("<I", f.read(4))[0]
    f.seek(0)
    f.write(struct.pack("<I", v | 1))
PYEOF
traced "$TMP/odd.trace" 0 apply "$B"
ordered "$TMP/odd.trace" "after a killed apply" 1 1 1
ok "an apply that did not finish its flip: the next apply waits under the lock"
