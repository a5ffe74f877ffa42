#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A generation is cleared only after a grace period. A program reads the active generation
# once per packet, then looks up that generation's entries; one that read it just before the
# flip may still run after it (a descheduled vCPU: milliseconds), and clearing its generation
# under it would give that packet neither policy. apply therefore waits for an RCU grace
# period (membarrier(MEMBARRIER_CMD_GLOBAL), synchronize_rcu() in the kernel) between the
# flip and clearing the old generation, and between flipping back and clearing the new one
# in a rollback. The race lasts nanoseconds and cannot be provoked from a test, so strace
# witnesses the order of the system calls: after each update of tlsfw_state (the flip), the
# next update of tlsfw_cfg (a clear starts by zeroing the generation's configuration) comes
# after a membarrier. The maps are told apart by their ids (bpftool), which the trace links
# to descriptors (BPF_MAP_GET_FD_BY_ID).
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

# traced OUT RC ARGS...: tlsfw ARGS under strace (environment: $FAULT), expecting exit status RC
FAULT=
traced() {
	local out=$1 want=$2 rc
	shift 2
	# LeakSanitizer cannot run under ptrace; the other tests check leaks.
	gw env TLSFW_FAULT="$FAULT" ASAN_OPTIONS=detect_leaks=0 strace -o "$out" \
		-e trace=bpf,membarrier,close "$TLSFW" "$@" >"$TMP/out" 2>&1
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

# ordered TRACE WHAT FLIPS: after each of the FLIPS updates of tlsfw_state, the next update of
# tlsfw_cfg comes after a membarrier
ordered() {
	$PY - "$1" "$2" "$3" "$STATE_ID" "$CFG_ID" <<'PYEOF' || fail "$2: a generation was cleared without waiting for programs using it"
import re, sys
trace, what, flips, state_id, cfg_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
fds = {}  # descriptor -> map id, as the trace opens and closes them
seen, pending, waiting, bad = 0, False, False, 0
for n, line in enumerate(open(trace), 1):
    m = re.match(r"bpf\(BPF_MAP_GET_FD_BY_ID, \{map_id=(\d+).*\) = (\d+)", line)
    if m:
        fds[m.group(2)] = m.group(1)
        continue
    m = re.match(r"close\((\d+)\)", line)
    if m:
        fds.pop(m.group(1), None)
        continue
    if line.startswith("membarrier(MEMBARRIER_CMD_GLOBAL"):
        waiting = False
        continue
    m = re.match(r"bpf\(BPF_MAP_UPDATE_ELEM, \{map_fd=(\d+)", line)
    if not m:
        continue
    if fds.get(m.group(1)) == state_id:
        seen += 1
        waiting = pending = True
    elif fds.get(m.group(1)) == cfg_id and pending:
        pending = False  # the first configuration written after a flip: a clear
        if waiting:
            print("FAIL: %s: line %d zeroes a configuration after a flip without a grace period" % (what, n))
            bad = 1
if seen != flips or pending:
    print("FAIL: %s: %d flips traced (expected %d)%s" % (what, seen, flips, ", no clear after the last" if pending else ""))
    bad = 1
sys.exit(bad)
PYEOF
}

tlsfw apply "$A" >/dev/null || fail "first apply"
STATE_ID=$(map_id tlsfw_state)
CFG_ID=$(map_id tlsfw_cfg)
traced "$TMP/replace.trace" 0 apply "$B"
ordered "$TMP/replace.trace" "replacement" 1
ok "replacement: the old generation is cleared after a grace period"

# A fault after the flip: the rollback flips back, then clears the new generation.
FAULT=detach-old traced "$TMP/rollback.trace" 2 apply "$A"
grep -q "fault injected" "$TMP/out" || { cat "$TMP/out"; fail "the fault was not injected"; }
ordered "$TMP/rollback.trace" "rollback" 2
tlsfw status | grep -q "$(basename "$B")" || fail "policy B is not enforced after the rollback"
ok "rollback after the flip: the new generation is cleared after a grace period"
