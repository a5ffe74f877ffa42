#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# policies/block-quic.conf on a real gateway: UDP 443 (QUIC) from the client never reaches the
# server, over IPv4 and IPv6; a TLS handshake over TCP 443 completes; the rule's counter moves
# by exactly the datagrams sent.
. "$(dirname "$0")/lib.sh"

topo_up
tls_server 443
sink_start quic 443,80

tlsfw apply "$ROOT/policies/block-quic.conf" >"$TMP/apply.out" 2>&1 ||
	{ cat "$TMP/apply.out"; fail "apply block-quic.conf"; }
cat "$TMP/apply.out"
grep -q '^lan0: ingress XDP native' "$TMP/apply.out" || fail "apply did not report XDP native on lan0"

N=7
send_udp "$CLI" "$S4" 443,80 $N
send_udp "$CLI" "$S6" 443,80 $N
sleep 0.5
tls_handshake "$S4" 443 || fail "TLS handshake over IPv4 TCP 443 failed"
ok "TLS handshake over IPv4"
tls_handshake "$S6" 443 || fail "TLS handshake over IPv6 TCP 443 failed"
ok "TLS handshake over IPv6"
sink_stop quic

for fam in 4 6; do
	for port in 443 80; do
		got=$(sink_count quic $fam $port)
		[ "$got" = 0 ] || fail "IPv$fam UDP $port: $got datagrams reached the server"
	done
done
ok "no UDP 443/80 datagram reached the server (IPv4, IPv6)"

stats_json "$TMP/stats.json"
got=$(stat_rule "$TMP/stats.json" block-quic lan0 ingress packets)
[ "$got" = $((4 * N)) ] || fail "block-quic counted $got packets, sent $((4 * N))"
ok "block-quic counted exactly $((4 * N)) packets"
got=$(stat_rule "$TMP/stats.json" allow-https lan0 ingress packets)
[ "$got" -gt 0 ] || fail "allow-https counted no packet of two TLS handshakes"
ok "allow-https counted $got packets"
bytes=$(stat_rule "$TMP/stats.json" block-quic lan0 ingress bytes)
[ "$bytes" -ge $((4 * N * 42)) ] || fail "block-quic counted only $bytes bytes"

tlsfw status >"$TMP/status" || fail "status"
grep -q "block-quic.conf" "$TMP/status" || fail "status does not name the policy"
tlsfw detach >/dev/null || fail "detach"
tlsfw status | grep -q "nothing enforced" || fail "status after detach"
gw ip -d link show lan0 | grep -q 'prog/xdp' && fail "an XDP program is still on lan0"
ok "detach removed everything"
