#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An egress rule, enforced by the tc program: on the gateway's server-facing wan0 (hooks:
# [egress] only, so no XDP there), UDP 5002 leaving towards the server is dropped, UDP 5003
# passes; the counters are on wan0/egress.
. "$(dirname "$0")/lib.sh"

topo_up
sink_start e 5002,5003

pol=$(policy egress <<'EOF2'
version: 1
interfaces:
  - name: wan0
    hooks: [egress]
default: allow
rules:
  - name: no-5002-out
    proto: udp
    dport: 5002
    direction: egress
    action: drop
EOF2
)
tlsfw apply "$pol" >"$TMP/apply.out" || fail "apply"
grep -q '^wan0: egress tc' "$TMP/apply.out" || { cat "$TMP/apply.out"; fail "apply did not report tc egress on wan0"; }
gw tc filter show dev wan0 egress | grep -q 'tlsfw_tc_egress' || fail "tc does not show tlsfw's egress filter"
gw ip -d link show wan0 | grep -q 'prog/xdp' && fail "XDP attached on an egress-only interface"

N=8
send_udp "$CLI" "$S4" 5002,5003 $N
send_udp "$CLI" "$S6" 5002,5003 $N
sleep 0.3
sink_stop e
for fam in 4 6; do
	[ "$(sink_count e $fam 5002)" = 0 ] || fail "IPv$fam UDP 5002 left wan0"
	[ "$(sink_distinct e $fam 5003)" = $N ] || fail "IPv$fam UDP 5003: $(sink_distinct e $fam 5003) of $N"
done
ok "egress rule dropped UDP 5002 and passed UDP 5003 (IPv4, IPv6)"
stats_json "$TMP/s.json"
got=$(stat_rule "$TMP/s.json" no-5002-out wan0 egress packets)
[ "$got" = $((2 * N)) ] || fail "no-5002-out counted $got, sent $((2 * N))"
ok "egress counter moved by exactly $((2 * N))"
