#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# policies/block-quic-port.conf on a real gateway: UDP 443 (QUIC) from the client never
# reaches the server, over IPv4 and IPv6; a TLS handshake over TCP 443 completes; the rule's
# counter moves by exactly the datagrams sent. Under both backends (XDP; nftables ingress hook), which must
# agree on what arrived and on the block-quic counter (allow-https counts TLS handshakes,
# whose segments vary by run: it must move under both). `status --json` and `stats --json`
# have one schema for both backends.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

N=7
for B in $BACKENDS; do
	topo_up "$B"
	tls_server 443
	sink_start "quic$B" 443,80

	P=$(backend_policy "$ROOT/policies/block-quic-port.conf" "$B")
	tlsfw apply "$P" >"$TMP/apply.out" 2>&1 ||
		{ cat "$TMP/apply.out"; fail "apply block-quic.conf ($B)"; }
	cat "$TMP/apply.out"
	if [ "$B" = bpf ]; then
		grep -q "^lan0: ingress $AUTO_INGRESS" "$TMP/apply.out" || fail "apply did not report $AUTO_INGRESS on lan0"
	else
		gw nft list table inet tlsfw | grep -q 'hook ingress device "lan0"' || fail "nft: no ingress chain on lan0"
		gw ip -d link show lan0 | grep -q 'prog/xdp' && fail "nft: an XDP program is on lan0"
	fi

	send_udp "$CLI" "$S4" 443,80 $N
	send_udp "$CLI" "$S6" 443,80 $N
	sleep 0.5
	tls_handshake "$S4" 443 || fail "$B: TLS handshake over IPv4 TCP 443 failed"
	ok "$B: TLS handshake over IPv4"
	tls_handshake "$S6" 443 || fail "$B: TLS handshake over IPv6 TCP 443 failed"
	ok "$B: TLS handshake over IPv6"
	sink_stop "quic$B"

	for fam in 4 6; do
		for port in 443 80; do
			got=$(sink_count "quic$B" $fam $port)
			[ "$got" = 0 ] || fail "$B: IPv$fam UDP $port: $got datagrams reached the server"
		done
	done
	ok "$B: no UDP 443/80 datagram reached the server (IPv4, IPv6)"

	stats_json "$TMP/stats.$B.json"
	got=$(stat_rule "$TMP/stats.$B.json" block-quic lan0 ingress packets)
	[ "$got" = $((4 * N)) ] || fail "$B: block-quic counted $got packets, sent $((4 * N))"
	ok "$B: block-quic counted exactly $((4 * N)) packets"
	got=$(stat_rule "$TMP/stats.$B.json" allow-https lan0 ingress packets)
	[ "$got" -gt 0 ] || fail "$B: allow-https counted no packet of two TLS handshakes"
	ok "$B: allow-https counted $got packets"
	bytes=$(stat_rule "$TMP/stats.$B.json" block-quic lan0 ingress bytes)
	[ "$bytes" -ge $((4 * N * 28)) ] || fail "$B: block-quic counted only $bytes bytes"
	counters_save "$TMP/stats.$B.json" "$TMP/c.$B" block-quic

	tlsfw status --json >"$TMP/status.$B.json" || fail "$B: status --json"
	one_schema "$B" "$P" "$TMP/status.$B.json" "$TMP/stats.$B.json" ||
		fail "$B: status --json and stats --json are not the one documented schema"
	ok "$B: status --json and stats --json have the one schema, sha256 hash, ifindex, generation"

	tlsfw status >"$TMP/status" || fail "status"
	grep -q "block-quic" "$TMP/status" || fail "$B: status does not name the policy"
	tlsfw detach >/dev/null || fail "detach"
	tlsfw status | grep -q "nothing enforced" || fail "$B: status after detach"
	gw ip -d link show lan0 | grep -q 'prog/xdp' && fail "an XDP program is still on lan0"
	gw nft list table inet tlsfw >/dev/null 2>&1 && fail "table inet tlsfw survived detach"
	ok "$B: detach removed everything"
done
[ "$BACKENDS" = "bpf nft" ] || exit 0
backends_agree "$TMP/c.bpf" "$TMP/c.nft" || fail "the backends' counters differ"
ok "bpf and nft agree on block-quic (packets; bytes + Ethernet)"
