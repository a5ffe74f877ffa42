#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# action: reject on lan0's ingress and wan0's egress: a UDP client gets an ICMP error at once
# (EHOSTUNREACH / EACCES / ECONNREFUSED on a connected socket) instead of a timeout, a TCP
# client gets a RST (ECONNREFUSED). IPv4 and IPv6. Under the BPF backend (XDP and tc) and the
# nft backend (ingress hook, forward chain); both count exactly 4 + 4 and must agree.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

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

for B in $BACKENDS; do
	topo_up "$B"
	# Eight rejects in a row: no ICMP rate limit for the answers the gateway's stack sends
	# (the nft backend's reject; the BPF backend builds its own).
	gw sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
	sink_start "r$B" 6000,6001
	bg srv socat TCP6-LISTEN:6000,ipv6only=0,reuseaddr,fork OPEN:/dev/null
	bg srv socat TCP6-LISTEN:6001,ipv6only=0,reuseaddr,fork OPEN:/dev/null
	tlsfw apply "$(backend_policy "$pol" "$B")" >/dev/null || fail "apply ($B)"

	for a in "$S4" "$S6"; do
		for port in 6000 6001; do
			r=$(udp_probe "$CLI" "$a" $port 2)
			case $r in
			EHOSTUNREACH | EACCES | ECONNREFUSED) ;;
			*) fail "$B: UDP $a port $port: '$r', expected an ICMP error" ;;
			esac
			r=$(tcp_probe "$CLI" "$a" $port 2)
			[ "$r" = ECONNREFUSED ] || fail "$B: TCP $a port $port: '$r', expected a RST (ECONNREFUSED)"
		done
		r=$(udp_probe "$CLI" "$a" 6002 2)
		[ "$r" = timeout ] || [ "$r" = ECONNREFUSED ] || fail "$B: control: UDP $a port 6002: $r"
	done
	ok "$B: reject answered UDP with ICMP and TCP with RST, on ingress and egress, IPv4 and IPv6"
	sink_stop "r$B"
	[ "$(sink_count "r$B" 4 6000)" = 0 ] && [ "$(sink_count "r$B" 6 6001)" = 0 ] || fail "$B: a rejected datagram reached the server"
	stats_json "$TMP/s.$B.json"
	[ "$(stat_rule "$TMP/s.$B.json" reject-6000-in lan0 ingress packets)" = 4 ] || fail "$B: reject-6000-in did not count 4"
	[ "$(stat_rule "$TMP/s.$B.json" reject-6001-out wan0 egress packets)" = 4 ] || fail "$B: reject-6001-out did not count 4"
	if [ "$B" = bpf ]; then
		# the nft backend has no reason counters: nftables sends the answers itself
		sent=$(jget "$TMP/s.$B.json" "sum(r['packets'] for r in d['reasons'] if r['reason']=='reject-sent')")
		[ "$sent" -ge 8 ] || fail "reject-sent is $sent, expected 8"
		ok "$B: $sent answers sent"
	fi
	ok "$B: counters: 4 + 4 rejects"
	counters_save "$TMP/s.$B.json" "$TMP/c.$B"
	tlsfw detach >/dev/null || fail "detach ($B)"
done
[ "$BACKENDS" = "bpf nft" ] || exit 0
backends_agree "$TMP/c.bpf" "$TMP/c.nft" || fail "the backends' counters differ"
ok "bpf and nft agree on every counter (packets; bytes + Ethernet)"
