#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Never half-applied. With policy A enforced, apply B with a fault injected at every step
# (TLSFW_FAULT), once while the programs in use are this build's (kept: the fast path) and
# once after making them look like another build's (metaedit.py: loaded, verified, replaced):
# each attempt exits 2 naming the step, and A is still enforced - shown by
# traffic in both directions and by ip/tc as witnesses. A rejects on lan0 (a veth: answered
# through tlsfw_tc_reply), B does not, so B also removes that program, and every rollback puts
# it back. Also: a failing first apply leaves nothing attached, --dry-run changes nothing, a
# bad policy exits 1, a missing interface 2 with an error at the policy line that names it.
# Under TLSFW_XDP_FAULT=refuse (test_tc_ingress.sh) A's interfaces take tc ingress, and B moves
# lan0 from tc to generic XDP: the same faults, with tc as the witness of A's hooks.
. "$(dirname "$0")/lib.sh"
TC=
[ "${TLSFW_XDP_FAULT:-}" = refuse ] && TC=1

STEPS="find reuse load fill replace attach-new names flip post-flip-attach detach-old meta"

topo_up
sink_start s 5001,5002
sink_start c 7001 "$CLI"

A=$(policy a <<'EOF2'
version: 1
interfaces:
  - name: lan0
  - name: wan0
default: allow
rules:
  - name: drop-5001
    proto: udp
    dport: 5001
    action: drop
  - name: drop-7001-from-server
    proto: udp
    dport: 7001
    interface: wan0
    action: drop
  - name: reject-5003
    proto: udp
    dport: 5003
    interface: lan0
    action: reject
EOF2
)
B=$(policy b <<'EOF2'
version: 1
interfaces:
  - name: lan0
    hooks: [ingress, egress]
    xdp_mode: generic
default: allow
rules:
  - name: drop-5002
    proto: udp
    dport: 5002
    action: drop
EOF2
)

# A is enforced: what traffic and the kernel show.
xdp_id() { gw ip -d -j link show "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])'; }
tc_in_id() { gw tc filter show dev "$1" ingress | sed -n 's/.*tlsfw_tc_ingres.* id \([0-9]*\) .*/\1/p'; }

hooks_a() { # context: A's ingress hooks, XDP native (or tc under TLSFW_XDP_FAULT=refuse)
	local i
	if [ -n "$TC" ]; then
		for i in lan0 wan0; do
			gw ip -d link show $i 2>/dev/null | grep -q 'prog/xdp' && fail "$1: XDP on $i"
			[ "$(tc_in_id $i)" = "${TC_A[$i]}" ] ||
				fail "$1: $i's tc ingress runs '$(tc_in_id $i)', not A's tlsfw_tc_ingress (${TC_A[$i]})"
		done
		return
	fi
	gw ip -d link show lan0 2>/dev/null | grep -q 'prog/xdp .*name tlsfw_xdp' || fail "$1: no XDP program on lan0"
	gw ip -d link show lan0 2>/dev/null | grep -q 'xdpgeneric' && fail "$1: lan0 was switched to generic XDP"
	gw ip -d link show wan0 2>/dev/null | grep -q 'prog/xdp .*name tlsfw_xdp' || fail "$1: no XDP program on wan0"
	[ "$(xdp_id lan0)" = "$XDP_A" ] || fail "$1: lan0 runs XDP program $(xdp_id lan0), not A's ($XDP_A)"
	# A's reject on lan0 is answered through tc (veth): the reply program must be back
	gw tc filter show dev lan0 ingress 2>/dev/null | grep -q tlsfw_tc_reply || fail "$1: no reply program on lan0"
}

check_a() { # context
	local r
	r=$(udp_probe "$CLI" "$S4" 5001 0.5)
	[ "$r" = timeout ] || fail "$1: UDP 5001 was not dropped ($r): policy A is not enforced"
	r=$(udp_probe "$CLI" "$S6" 5002 0.5)
	[ "$r" = reply ] || fail "$1: UDP 5002 did not pass ($r): policy B leaked in"
	r=$(udp_probe "$SRV" "$C4" 7001 0.5)
	[ "$r" = timeout ] || fail "$1: UDP 7001 from the server passed ($r): wan0 lost policy A"
	hooks_a "$1"
	gw tc filter show dev lan0 egress 2>/dev/null | grep -q tlsfw && fail "$1: a tc egress filter was left on lan0"
	r=$(udp_icmp "$CLI" "$S4" 5003 0.5)
	[ "$r" = "icmp 3 13" ] || fail "$1: UDP 5003 got '$r', not A's reject answer"
	tlsfw status --json >"$TMP/st.json" || fail "$1: status"
	[ "$(jget "$TMP/st.json" "d['policy']['file']")" = "$A" ] || fail "$1: status names another policy"
	[ "$(jget "$TMP/st.json" "d['policy']['hash']")" = "$HASH_A" ] || fail "$1: status shows another hash"
	[ "$(jget "$TMP/st.json" "len(d['interfaces'])")" = 2 ] || fail "$1: status shows other interfaces"
}

# A first apply that fails leaves nothing behind.
TLSFW_FAULT=meta tlsfw apply "$A" >"$TMP/out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$TMP/out"; fail "failing first apply exited $rc, expected 2"; }
grep -q "nothing is attached" "$TMP/out" || { cat "$TMP/out"; fail "no 'nothing is attached' message"; }
gw ip -d link show lan0 2>/dev/null | grep -q 'prog/xdp' && fail "a failing first apply left XDP on lan0"
gw ip -d link show wan0 2>/dev/null | grep -q 'prog/xdp' && fail "a failing first apply left XDP on wan0"
tlsfw status | grep -q "nothing enforced" || fail "status after a failing first apply"
ok "a failing first apply leaves nothing attached"

tlsfw apply "$A" >"$TMP/out" || fail "apply A"
# with XDP refused, XDP and its reply helper were loaded for the attempt, then tc ingress
want='programs: tlsfw_xdp tlsfw_tc_reply loaded'
[ -n "$TC" ] && want='programs: tlsfw_xdp tlsfw_tc_ingres tlsfw_tc_reply loaded'
grep -qx "$want" "$TMP/out" || { cat "$TMP/out"; fail "A: not '$want'"; }
HASH_A="sha256:$(sha256sum "$A" | cut -d' ' -f1)"
declare -A TC_A
if [ -n "$TC" ]; then
	TC_A[lan0]=$(tc_in_id lan0) TC_A[wan0]=$(tc_in_id wan0)
else
	XDP_A=$(xdp_id lan0)
fi
check_a "after apply A"
ok "policy A enforced"

# faults PATH: B with a fault at every step, A enforced before and after each
faults() {
	local step rc
	for step in $STEPS; do
		TLSFW_FAULT=$step tlsfw apply "$B" >"$TMP/out" 2>&1
		rc=$?
		[ $rc = 2 ] || { cat "$TMP/out"; fail "$1: fault at $step: exit $rc, expected 2"; }
		grep -q "error: $step: fault injected" "$TMP/out" || { cat "$TMP/out"; fail "$1: fault at $step: message does not name the step"; }
		grep -q "previous policy is still enforced" "$TMP/out" || { cat "$TMP/out"; fail "$1: fault at $step: no rollback message"; }
		check_a "$1: fault at $step"
		ok "$1: fault at $step: exit 2, rolled back, A still enforced"
	done
}

# The programs in use are this build's: B keeps them (and loads tc egress, which A lacks).
faults "same build"

# A signal that arrives during apply makes it roll back. Deterministic: a signal that is
# blocked and pending survives execve, so tlsfw starts with SIGTERM already pending.
apply_signalled "$B" "$TMP/out"
check_a "after a signal"
ok "a signal during apply rolls back (exit 2)"

tlsfw apply --dry-run "$B" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "dry run of B"; }
grep -q "dry run" "$TMP/out" || fail "dry run did not say so"
check_a "after --dry-run"
ok "--dry-run changed nothing"

printf 'version: 1\ninterfaces:\n  - name: lan0\nrules:\n  - name: x\n    action: dorp\n' >"$TMP/bad.conf"
tlsfw apply "$TMP/bad.conf" >"$TMP/out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$TMP/out"; fail "bad policy: exit $rc, expected 1"; }
grep -q "nothing applied" "$TMP/out" || fail "bad policy: no 'nothing applied'"
check_a "after a bad policy"
ok "a bad policy exits 1 and changes nothing"

sed 's/name: lan0/name: lan9/' "$B" >"$TMP/missing.conf"
tlsfw apply "$TMP/missing.conf" >"$TMP/out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$TMP/out"; fail "missing interface: exit $rc, expected 2"; }
# the error points at the policy's line, not at a step of apply
grep -q "^$TMP/missing.conf:3:11: error: interface 'lan9' does not exist in this network namespace" "$TMP/out" ||
	{ cat "$TMP/out"; fail "missing interface: the error does not name missing.conf:3:11 and lan9"; }
grep -q "find:" "$TMP/out" && { cat "$TMP/out"; fail "missing interface: the error names a step of apply"; }
grep -q "nothing applied; the previous policy is still enforced" "$TMP/out" ||
	{ cat "$TMP/out"; fail "missing interface: the summary does not say that A is still enforced"; }
check_a "after a missing interface"
ok "a missing interface exits 2 and changes nothing"

# Programs of another build in use (tlsfw_meta says so): B must load and verify its own and
# replace them; every rollback restores A's programs and records.
gw $PY "$ROOT/selftests/net/metaedit.py" other-build lan0 >/dev/null || fail "cannot edit tlsfw_meta"
faults "other build"

# And B does apply when nothing is injected: the faults were the only reason. The records
# still said "another build" after every rollback, so B loads everything it needs.
tlsfw apply "$B" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "apply B"; }
grep -qx 'programs: tlsfw_xdp tlsfw_tc_egress loaded' "$TMP/out" || { cat "$TMP/out"; fail "B over another build: not loaded whole"; }
grep -q '^lan0: ingress XDP generic, egress tc' "$TMP/out" || { cat "$TMP/out"; fail "B: wrong hooks"; }
grep -q "^tlsfw: enforcing $B (1 rule, default allow" "$TMP/out" || { cat "$TMP/out"; fail "B: not '(1 rule, ...'"; }
[ "$(udp_probe "$CLI" "$S4" 5002 0.5)" = timeout ] || fail "B: UDP 5002 not dropped"
[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = reply ] || fail "B: UDP 5001 still dropped"
[ "$(udp_probe "$SRV" "$C4" 7001 0.5)" = reply ] || fail "B: wan0 still filters"
gw ip -d link show wan0 2>/dev/null | grep -q 'prog/xdp' && fail "B: XDP left on wan0"
gw tc filter show dev lan0 ingress 2>/dev/null | grep -q tlsfw && fail "B: reply program left on lan0 (B rejects nothing)"
ok "B applies cleanly afterwards (generic XDP, tc egress, wan0 detached)"

# B recorded this build: A takes B's programs and loads only the reply program B lacks.
tlsfw apply "$A" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "apply A after B"; }
# (with XDP refused, lan0 stays on B's generic XDP, and wan0 needs tc ingress)
want='programs: tlsfw_tc_reply loaded, the others reused'
[ -n "$TC" ] && want='programs: tlsfw_tc_ingres tlsfw_tc_reply loaded, the others reused'
grep -qx "$want" "$TMP/out" || { cat "$TMP/out"; fail "A after B: not '$want'"; }
ok "A after B reuses B's programs and loads only what B lacks"
