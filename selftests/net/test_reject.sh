#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# action: reject. In XDP (lan0 ingress) and in tc (wan0 egress): a UDP client gets an ICMP
# error at once (EHOSTUNREACH / EACCES / ECONNREFUSED on a connected socket) instead of a
# timeout, a TCP client gets a RST (ECONNREFUSED). IPv4 and IPv6.
. "$(dirname "$0")/lib.sh"

topo_up
sink_start r 6000,6001
bg srv socat TCP6-LISTEN:6000,ipv6only=0,reuseaddr,fork OPEN:/dev/null
bg srv socat TCP6-LISTEN:6001,ipv6only=0,reuseaddr,fork OPEN:/dev/null

pol=$(policy reject <<'EOF2'
version: 1
interfaces:
  - name: lan0
  - name: wan0
    hooks: [egress]
default: allow
rules:
  - name: reject-6000-in
    dport: 6000
    direction: ingress
    action: reject
  - name: reject-6001-out
    dport: 6001
    direction: egress
    action: reject
EOF2
)
tlsfw apply "$pol" || fail "apply"

for a in "$S4" "$S6"; do
	for port in 6000 6001; do
		r=$(udp_probe "$CLI" "$a" $port 2)
		case $r in
		EHOSTUNREACH | EACCES | ECONNREFUSED) ;;
		*) fail "UDP $a port $port: '$r', expected an ICMP error" ;;
		esac
		r=$(tcp_probe "$CLI" "$a" $port 2)
		[ "$r" = ECONNREFUSED ] || fail "TCP $a port $port: '$r', expected a RST (ECONNREFUSED)"
	done
	r=$(udp_probe "$CLI" "$a" 6002 2)
	[ "$r" = timeout ] || [ "$r" = ECONNREFUSED ] || fail "control: UDP $a port 6002: $r"
done
ok "reject answered UDP with ICMP and TCP with RST, in XDP and in tc, IPv4 and IPv6"
sink_stop r
[ "$(sink_count r 4 6000)" = 0 ] && [ "$(sink_count r 6 6001)" = 0 ] || fail "a rejected datagram reached the server"
stats_json "$TMP/s.json"
[ "$(stat_rule "$TMP/s.json" reject-6000-in lan0 ingress packets)" = 4 ] || fail "reject-6000-in did not count 4"
[ "$(stat_rule "$TMP/s.json" reject-6001-out wan0 egress packets)" = 4 ] || fail "reject-6001-out did not count 4"
sent=$(jget "$TMP/s.json" "sum(r['packets'] for r in d['reasons'] if r['reason']=='reject-sent')")
[ "$sent" -ge 8 ] || fail "reject-sent is $sent, expected 8"
ok "counters: 4 + 4 rejects, $sent answers sent"
