#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# policies/block-dot.conf: DNS over TLS (TCP 853) and over QUIC (UDP 853) are dropped, plain
# DNS on port 53 (UDP and TCP) is unaffected. IPv4 and IPv6. Under both backends, which must
# deliver the same datagrams; their counters include TCP SYN retransmissions and handshakes,
# which vary by run, so the counters are checked within bounds under each, not compared.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

N=5
for B in $BACKENDS; do
	topo_up "$B"
	bg srv socat TCP6-LISTEN:853,ipv6only=0,reuseaddr,fork OPEN:/dev/null
	bg srv socat TCP6-LISTEN:53,ipv6only=0,reuseaddr,fork OPEN:/dev/null
	sink_start "dns$B" 53,853

	tlsfw apply "$(backend_policy "$ROOT/policies/block-dot.conf" "$B")" >/dev/null ||
		fail "apply block-dot.conf ($B)"

	for a in "$S4" "$S6"; do
		send_udp "$CLI" "$a" 53,853 $N
		r=$(tcp_probe "$CLI" "$a" 853)
		[ "$r" = timeout ] || fail "$B: TCP 853 to $a: $r (expected a silent drop)"
		r=$(tcp_probe "$CLI" "$a" 53)
		[ "$r" = connected ] || fail "$B: TCP 53 to $a: $r"
	done
	ok "$B: TCP 853 dropped, TCP 53 connects (IPv4, IPv6)"
	sleep 0.3
	sink_stop "dns$B"
	for fam in 4 6; do
		[ "$(sink_count "dns$B" $fam 853)" = 0 ] || fail "$B: IPv$fam UDP 853 reached the server"
		[ "$(sink_distinct "dns$B" $fam 53)" = $N ] || fail "$B: IPv$fam UDP 53: $(sink_distinct "dns$B" $fam 53) of $N arrived"
	done
	ok "$B: UDP 853 dropped, every UDP 53 datagram arrived (IPv4, IPv6)"

	stats_json "$TMP/stats.$B.json"
	# Each TCP 853 probe retransmits its SYN within the 1 s timeout: at least one SYN each.
	got=$(stat_rule "$TMP/stats.$B.json" block-dot lan0 ingress packets)
	[ "$got" -ge $((2 * N + 2)) ] && [ "$got" -le $((2 * N + 8)) ] ||
		fail "$B: block-dot counted $got packets, expected $((2 * N)) datagrams and 2-8 SYNs"
	got=$(stat_rule "$TMP/stats.$B.json" allow-dns lan0 ingress packets)
	[ "$got" -ge $((2 * N)) ] || fail "$B: allow-dns counted $got packets"
	ok "$B: counters: block-dot and allow-dns moved"
	tlsfw detach >/dev/null || fail "detach ($B)"
done
