#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Rules with a destination prefix and with a source prefix: only the addresses inside the
# prefix are affected, in each family. Run under both backends (a fresh topology each); they
# must deliver the same datagrams and count the same packets (nft_lib.sh, backends_agree).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

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

N=6
for B in $BACKENDS; do
	topo_up "$B"
	sink_start "p$B" 5000,5001
	tlsfw apply "$(backend_policy "$pol" "$B")" >/dev/null || fail "apply ($B)"

	send_udp "$CLI" "$S4" 5000,5001 $N
	send_udp "$CLI" "$S6" 5000,5001 $N
	sleep 0.3
	sink_stop "p$B"
	[ "$(sink_count "p$B" 4 5000)" = 0 ] || fail "$B: UDP 5000 to 10.10.2.2 was not dropped (dst prefix)"
	[ "$(sink_distinct "p$B" 6 5000)" = $N ] || fail "$B: UDP 5000 to fd00:2::2 was dropped (outside the dst prefix)"
	ok "$B: dst prefix: IPv4 inside dropped, IPv6 outside passed"
	[ "$(sink_count "p$B" 6 5001)" = 0 ] || fail "$B: UDP 5001 from fd00:1::2 was not dropped (src prefix)"
	[ "$(sink_distinct "p$B" 4 5001)" = $N ] || fail "$B: UDP 5001 from 10.10.1.2 was dropped (outside the src prefix)"
	ok "$B: src prefix: IPv6 inside dropped, IPv4 outside passed"

	stats_json "$TMP/s.$B.json"
	[ "$(stat_rule "$TMP/s.$B.json" no-5000-to-server-v4 lan0 ingress packets)" = $N ] ||
		fail "$B: dst rule counter is not $N"
	[ "$(stat_rule "$TMP/s.$B.json" no-5001-from-client-v6 lan0 ingress packets)" = $N ] ||
		fail "$B: src rule counter is not $N"
	ok "$B: each prefix rule counted exactly $N"
	counters_save "$TMP/s.$B.json" "$TMP/c.$B"
	tlsfw detach >/dev/null || fail "detach ($B)"
done
[ "$BACKENDS" = "bpf nft" ] || exit 0
backends_agree "$TMP/c.bpf" "$TMP/c.nft" || fail "the backends' counters differ"
ok "bpf and nft delivered the same datagrams and agree on every counter (packets; bytes + Ethernet)"
