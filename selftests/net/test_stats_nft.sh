#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw stats with the nftables backend: the same table, JSON and Prometheus text, counted by
# nftables' named counters (nft as the witness); --reset zeroes them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

command -v promtool >/dev/null ||
	fail "promtool not found: install the Debian package prometheus (scripts/install-deps.sh)"
topo_up
pol=$(nft_policy "$ROOT/policies/block-quic-port.conf" quic)
nftfw apply "$pol" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply (nft)"; }
N=9
send_udp "$CLI" "$S4" 443 $N
sleep 0.2
v4=$(nft_counter block-quic/lan0/in)
send_udp "$CLI" "$S6" 443 $N
sleep 0.2
witness=$(nft_counter block-quic/lan0/in)
wbytes=$(nft_counter_bytes block-quic/lan0/in)
[ "$witness" = $((2 * N)) ] || fail "nft counts $witness ($v4 IPv4, $((witness - v4)) IPv6), sent $N of each"

stats_json "$TMP/s.json"
[ "$(stat_rule "$TMP/s.json" block-quic lan0 ingress packets)" = "$witness" ] ||
	fail "stats --json: $(stat_rule "$TMP/s.json" block-quic lan0 ingress packets), nft: $witness"
[ "$(stat_rule "$TMP/s.json" block-quic lan0 ingress bytes)" = "$wbytes" ] || fail "bytes differ"
[ "$(jget "$TMP/s.json" "d['policy']['backend']")" = nft ] || fail "backend not nft"
[ "$(jget "$TMP/s.json" "d['policy']['file']")" = "$pol" ] || fail "policy file"
ok "stats --json reads nftables' counters: $witness packets, $wbytes bytes"

tlsfw stats --prometheus >"$TMP/m.prom" || fail "--prometheus"
promtool check metrics <"$TMP/m.prom" || fail "promtool rejects the nft exposition"
grep -qx 'tlsfw_rule_packets_total{rule="block-quic",action="reject",interface="lan0",direction="ingress"} '"$witness" \
	"$TMP/m.prom" || fail "prometheus rule counter"
tlsfw stats --exact | grep -q "block-quic .* $witness " || fail "table"
ok "Prometheus text and table from nftables"

tlsfw stats --reset | grep -q 'counters reset' || fail "--reset"
[ "$(nft_counter block-quic/lan0/in)" = 0 ] || fail "nft counter after --reset: $(nft_counter block-quic/lan0/in)"
ok "--reset zeroed nftables' counters"
