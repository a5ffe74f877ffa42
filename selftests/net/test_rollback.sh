#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Never half-applied. With policy A enforced, apply B with a fault injected at every step
# (TLSFW_FAULT): each attempt exits 2 naming the step, and A is still enforced - shown by
# traffic in both directions and by ip/tc as witnesses. Also: a failing first apply leaves
# nothing attached, --dry-run changes nothing, a bad policy exits 1, a missing interface 2
# with an error at the policy line that names it.
. "$(dirname "$0")/lib.sh"

STEPS="find load fill replace attach-new names flip post-flip-attach detach-old meta"

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
check_a() { # context
	local r
	r=$(udp_probe "$CLI" "$S4" 5001 0.5)
	[ "$r" = timeout ] || fail "$1: UDP 5001 was not dropped ($r): policy A is not enforced"
	r=$(udp_probe "$CLI" "$S6" 5002 0.5)
	[ "$r" = reply ] || fail "$1: UDP 5002 did not pass ($r): policy B leaked in"
	r=$(udp_probe "$SRV" "$C4" 7001 0.5)
	[ "$r" = timeout ] || fail "$1: UDP 7001 from the server passed ($r): wan0 lost policy A"
	gw ip -d link show lan0 2>/dev/null | grep -q 'prog/xdp .*name tlsfw_xdp' || fail "$1: no XDP program on lan0"
	gw ip -d link show lan0 2>/dev/null | grep -q 'xdpgeneric' && fail "$1: lan0 was switched to generic XDP"
	gw ip -d link show wan0 2>/dev/null | grep -q 'prog/xdp .*name tlsfw_xdp' || fail "$1: no XDP program on wan0"
	gw tc filter show dev lan0 egress 2>/dev/null | grep -q tlsfw && fail "$1: a tc egress filter was left on lan0"
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

tlsfw apply "$A" >/dev/null || fail "apply A"
HASH_A="sha256:$(sha256sum "$A" | cut -d' ' -f1)"
check_a "after apply A"
ok "policy A enforced"

for step in $STEPS; do
	TLSFW_FAULT=$step tlsfw apply "$B" >"$TMP/out" 2>&1
	rc=$?
	[ $rc = 2 ] || { cat "$TMP/out"; fail "fault at $step: exit $rc, expected 2"; }
	grep -q "error: $step: fault injected" "$TMP/out" || { cat "$TMP/out"; fail "fault at $step: message does not name the step"; }
	grep -q "previous policy is still enforced" "$TMP/out" || { cat "$TMP/out"; fail "fault at $step: no rollback message"; }
	check_a "fault at $step"
	ok "fault at $step: exit 2, rolled back, A still enforced"
done

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

# And B does apply when nothing is injected: the faults were the only reason.
tlsfw apply "$B" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "apply B"; }
grep -q '^lan0: ingress XDP generic, egress tc' "$TMP/out" || { cat "$TMP/out"; fail "B: wrong hooks"; }
grep -q "^tlsfw: enforcing $B (1 rule, default allow" "$TMP/out" || { cat "$TMP/out"; fail "B: not '(1 rule, ...'"; }
[ "$(udp_probe "$CLI" "$S4" 5002 0.5)" = timeout ] || fail "B: UDP 5002 not dropped"
[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = reply ] || fail "B: UDP 5001 still dropped"
[ "$(udp_probe "$SRV" "$C4" 7001 0.5)" = reply ] || fail "B: wan0 still filters"
gw ip -d link show wan0 2>/dev/null | grep -q 'prog/xdp' && fail "B: XDP left on wan0"
ok "B applies cleanly afterwards (generic XDP, tc egress, wan0 detached)"
