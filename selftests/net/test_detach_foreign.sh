#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw touches only what it installed. A foreign XDP program on wan0 and foreign tc filters
# (on wan0 ingress and on lan0 egress, next to tlsfw's own) survive apply and detach; a policy
# that wants ingress on wan0 is refused rather than replacing the foreign program; detaching
# one interface leaves the other enforced. ip and tc are the witnesses.
. "$(dirname "$0")/lib.sh"

topo_up

# A foreign XDP program and tc classifier, built here so the test needs nothing else.
cat >"$TMP/foreign.c" <<'EOF2'
struct xdp_md;
struct __sk_buff;
__attribute__((section("xdp"), used)) int foreign_xdp(struct xdp_md *ctx) { return 2; /* XDP_PASS */ }
__attribute__((section("tc"), used)) int foreign_tc(struct __sk_buff *skb) { return -1; /* TC_ACT_UNSPEC */ }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF2
clang -O2 -g -target bpf -c "$TMP/foreign.c" -o "$TMP/foreign.o" || fail "cannot build the foreign program"
gw ip link set dev wan0 xdp obj "$TMP/foreign.o" sec xdp || fail "cannot attach the foreign XDP program"
xdp_id() { gw ip -d link show "$1" 2>/dev/null | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$'; }
FOREIGN=$(xdp_id wan0)
[ -n "$FOREIGN" ] || fail "foreign XDP program not visible"
gw tc qdisc add dev wan0 clsact || fail "clsact wan0"
gw tc filter add dev wan0 ingress prio 60000 bpf da obj "$TMP/foreign.o" sec tc || fail "foreign filter wan0"
gw tc qdisc add dev lan0 clsact || fail "clsact lan0"
gw tc filter add dev lan0 egress prio 60001 bpf da obj "$TMP/foreign.o" sec tc || fail "foreign filter lan0"

foreign_intact() { # context
	[ "$(xdp_id wan0)" = "$FOREIGN" ] || fail "$1: the foreign XDP program on wan0 was replaced or removed"
	gw tc filter show dev wan0 ingress | grep -q 'pref 60000 bpf .*foreign_tc' || fail "$1: foreign filter on wan0 ingress is gone"
	gw tc filter show dev lan0 egress | grep -q 'pref 60001 bpf .*foreign_tc' || fail "$1: foreign filter on lan0 egress is gone"
}

WANTS_WAN_INGRESS=$(policy wi <<'EOF2'
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
EOF2
)
tlsfw apply "$WANTS_WAN_INGRESS" >"$TMP/out" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$TMP/out"; fail "apply over a foreign XDP program: exit $rc, expected 2"; }
grep -q "wan0: another XDP program (id $FOREIGN)" "$TMP/out" || { cat "$TMP/out"; fail "the refusal does not name the foreign program"; }
gw ip -d link show lan0 2>/dev/null | grep -q 'prog/xdp' && fail "refused apply left XDP on lan0"
foreign_intact "refused apply"
ok "apply refuses to replace a foreign XDP program"

POL=$(policy ok <<'EOF2'
version: 1
interfaces:
  - name: lan0
    hooks: [ingress, egress]
  - name: wan0
    hooks: [egress]
default: allow
rules:
  - name: drop-5001
    proto: udp
    dport: 5001
    action: drop
EOF2
)
tlsfw apply "$POL" || fail "apply next to foreign programs"
foreign_intact "apply"
gw tc filter show dev lan0 egress | grep -q tlsfw_tc_egress || fail "tlsfw's filter is not on lan0 egress"
gw tc filter show dev wan0 egress | grep -q tlsfw_tc_egress || fail "tlsfw's filter is not on wan0 egress"
[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = timeout ] || fail "policy not enforced"
ok "apply coexists with foreign XDP and tc filters"

tlsfw detach wan0 >"$TMP/out" || fail "detach wan0"
grep -q '^wan0: detached (egress tc)' "$TMP/out" || { cat "$TMP/out"; fail "detach wan0 output"; }
gw tc filter show dev wan0 egress | grep -q tlsfw && fail "tlsfw filter left on wan0 egress"
foreign_intact "detach wan0"
[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = timeout ] || fail "lan0 lost the policy when wan0 was detached"
tlsfw status --json >"$TMP/st.json"
[ "$(jget "$TMP/st.json" "[i['name'] for i in d['interfaces']]")" = "['lan0']" ] || fail "status after detach wan0: $(cat "$TMP/st.json")"
stats_json "$TMP/s.json"
[ "$(jget "$TMP/s.json" "sorted(set(r['interface'] for r in d['rules']))")" = "['lan0']" ] || fail "stats still shows wan0"
ok "detach wan0 leaves lan0 enforced and foreign programs intact"

tlsfw detach >"$TMP/out" || fail "detach"
gw ip -d link show lan0 2>/dev/null | grep -q 'prog/xdp' && fail "XDP left on lan0"
gw tc filter show dev lan0 egress | grep -q tlsfw && fail "tlsfw filter left on lan0 egress"
gw tc filter show dev lan0 ingress | grep -q tlsfw && fail "tlsfw filter left on lan0 ingress"
foreign_intact "detach"
tlsfw status | grep -q "nothing enforced" || fail "status after detach"
[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = timeout ] && fail "UDP 5001 still dropped after detach" # no sink: timeout would mean dropped
ok "detach removed exactly tlsfw's programs"

tlsfw detach lan0 >"$TMP/out" || fail "detach of an interface without tlsfw must succeed"
grep -q "nothing of tlsfw" "$TMP/out" || fail "detach lan0 again: $(cat "$TMP/out")"
tlsfw detach nosuch0 >/dev/null 2>&1
[ $? = 2 ] || fail "detach of a missing interface must exit 2"
ok "detach is idempotent and names missing interfaces"
