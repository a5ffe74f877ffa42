#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A generation is cleared only after a grace period. A program reads the active generation
# once per packet, then looks up that generation's entries; one that read it just before the
# flip may still run after it (a descheduled vCPU: milliseconds), and clearing its generation
# under it would give that packet neither policy. apply therefore waits for an RCU grace
# period (membarrier(MEMBARRIER_CMD_GLOBAL), synchronize_rcu() in the kernel) between the
# flip and clearing the old generation, and between flipping back and clearing the new one
# in a rollback. The race lasts nanoseconds and cannot be provoked from a test, so strace
# witnesses the order of the system calls: once programs are swapped (the RTM_SETLINK of the
# XDP replacement), no map of a generation is batch-cleared before a membarrier.
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
	gw env TLSFW_FAULT="$FAULT" ASAN_OPTIONS=detect_leaks=0 strace -o "$out" -e trace=bpf,membarrier,sendto "$TLSFW" "$@" \
		>"$TMP/out" 2>&1
	rc=$?
	[ $rc = "$want" ] || { cat "$TMP/out"; fail "tlsfw $* exited $rc, expected $want"; }
}

# ordered TRACE WHAT: no batch update of a generation between the first XDP swap and a
# membarrier, and a membarrier after the swap
ordered() {
	awk -v what="$2" '
		/RTM_SETLINK/ && !swap { swap = NR }
		/^membarrier\(MEMBARRIER_CMD_GLOBAL/ && swap { mb = NR }
		/BPF_MAP_UPDATE_BATCH/ && swap && !mb {
			printf "FAIL: %s: line %d clears a generation after the swap (line %d) without a grace period\n", what, NR, swap
			bad = 1
		}
		END {
			if (!swap) { printf "FAIL: %s: no XDP swap traced\n", what; exit 1 }
			if (!mb) { printf "FAIL: %s: no membarrier after the swap\n", what; exit 1 }
			exit bad
		}' "$1" || fail "$2: a generation was cleared without waiting for programs using it"
}

tlsfw apply "$A" >/dev/null || fail "first apply"
traced "$TMP/replace.trace" 0 apply "$B"
ordered "$TMP/replace.trace" "replacement"
ok "replacement: the old generation is cleared after a grace period"

# A fault after the flip: the rollback flips back, then clears the new generation.
FAULT=detach-old traced "$TMP/rollback.trace" 2 apply "$A"
grep -q "fault injected" "$TMP/out" || { cat "$TMP/out"; fail "the fault was not injected"; }
ordered "$TMP/rollback.trace" "rollback"
tlsfw status | grep -q "$(basename "$B")" || fail "policy B is not enforced after the rollback"
ok "rollback after the flip: the new generation is cleared after a grace period"
