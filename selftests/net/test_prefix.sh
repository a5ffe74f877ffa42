#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Rules with a destination prefix and with a source prefix: only the addresses inside the
# prefix are affected, in each family.
. "$(dirname "$0")/lib.sh"

topo_up
sink_start p 5000,5001

pol=$(policy prefix <<'EOF2'
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: no-5000-to-server-v4
    proto: udp
    dport: 5000
    dst: 10.10.2.0/24
    action: drop
  - name: no-5001-from-client-v6
    proto: udp
    dport: 5001
    src: "fd00:1::/64"
    action: drop
EOF2
)
tlsfw apply "$pol" || fail "apply"

N=6
send_udp "$CLI" "$S4" 5000,5001 $N
send_udp "$CLI" "$S6" 5000,5001 $N
sleep 0.3
sink_stop p
[ "$(sink_count p 4 5000)" = 0 ] || fail "UDP 5000 to 10.10.2.2 was not dropped (dst prefix)"
[ "$(sink_distinct p 6 5000)" = $N ] || fail "UDP 5000 to fd00:2::2 was dropped (outside the dst prefix)"
ok "dst prefix: IPv4 inside dropped, IPv6 outside passed"
[ "$(sink_count p 6 5001)" = 0 ] || fail "UDP 5001 from fd00:1::2 was not dropped (src prefix)"
[ "$(sink_distinct p 4 5001)" = $N ] || fail "UDP 5001 from 10.10.1.2 was dropped (outside the src prefix)"
ok "src prefix: IPv6 inside dropped, IPv4 outside passed"

stats_json "$TMP/s.json"
[ "$(stat_rule "$TMP/s.json" no-5000-to-server-v4 lan0 ingress packets)" = $N ] ||
	fail "dst rule counter is not $N"
[ "$(stat_rule "$TMP/s.json" no-5001-from-client-v6 lan0 ingress packets)" = $N ] ||
	fail "src rule counter is not $N"
ok "each prefix rule counted exactly $N"
