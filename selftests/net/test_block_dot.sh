#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# policies/block-dot.conf: DNS over TLS (TCP 853) and over QUIC (UDP 853) are dropped, plain
# DNS on port 53 (UDP and TCP) is unaffected. IPv4 and IPv6.
. "$(dirname "$0")/lib.sh"

topo_up
bg srv socat TCP6-LISTEN:853,ipv6only=0,reuseaddr,fork OPEN:/dev/null
bg srv socat TCP6-LISTEN:53,ipv6only=0,reuseaddr,fork OPEN:/dev/null
sink_start dns 53,853

tlsfw apply "$ROOT/policies/block-dot.conf" || fail "apply block-dot.conf"

N=5
for a in "$S4" "$S6"; do
	send_udp "$CLI" "$a" 53,853 $N
	r=$(tcp_probe "$CLI" "$a" 853)
	[ "$r" = timeout ] || fail "TCP 853 to $a: $r (expected a silent drop)"
	r=$(tcp_probe "$CLI" "$a" 53)
	[ "$r" = connected ] || fail "TCP 53 to $a: $r"
done
ok "TCP 853 dropped, TCP 53 connects (IPv4, IPv6)"
sleep 0.3
sink_stop dns
for fam in 4 6; do
	[ "$(sink_count dns $fam 853)" = 0 ] || fail "IPv$fam UDP 853 reached the server"
	[ "$(sink_distinct dns $fam 53)" = $N ] || fail "IPv$fam UDP 53: $(sink_distinct dns $fam 53) of $N arrived"
done
ok "UDP 853 dropped, every UDP 53 datagram arrived (IPv4, IPv6)"

stats_json "$TMP/stats.json"
# Each TCP 853 probe retransmits its SYN within the 1 s timeout: at least one SYN each.
got=$(stat_rule "$TMP/stats.json" block-dot lan0 ingress packets)
[ "$got" -ge $((2 * N + 2)) ] || fail "block-dot counted $got packets, expected at least $((2 * N + 2))"
got=$(stat_rule "$TMP/stats.json" allow-dns lan0 ingress packets)
[ "$got" -ge $((2 * N)) ] || fail "allow-dns counted $got packets"
ok "counters: block-dot and allow-dns moved"
