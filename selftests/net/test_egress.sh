#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An egress rule on the gateway's server-facing wan0 (hooks: [egress] only): UDP 5002 leaving
# towards the server is dropped, UDP 5003 passes; the counters are on wan0/egress. Under the
# BPF backend the tc program enforces it (no XDP on wan0); under the nft backend the forward
# chain's egress verdict map. Both must deliver the same datagrams and count the same. Without
# privilege, status and stats of the tc-only policy exit 2 naming what is missing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

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

N=8
for B in $BACKENDS; do
	topo_up "$B"
	sink_start "e$B" 5002,5003
	tlsfw apply "$(backend_policy "$pol" "$B")" >"$TMP/apply.out" || fail "apply ($B)"
	if [ "$B" = bpf ]; then
		grep -q '^wan0: egress tc' "$TMP/apply.out" || { cat "$TMP/apply.out"; fail "apply did not report tc egress on wan0"; }
		gw tc filter show dev wan0 egress | grep -q 'tlsfw_tc_egress' || fail "tc does not show tlsfw's egress filter"
	else
		gw nft list table inet tlsfw | grep -q '"wan0" : jump wan0_out' || fail "nft: no egress dispatch for wan0"
	fi
	gw ip -d link show wan0 | grep -q 'prog/xdp' && fail "$B: XDP attached on an egress-only interface"

	send_udp "$CLI" "$S4" 5002,5003 $N
	send_udp "$CLI" "$S6" 5002,5003 $N
	sleep 0.3
	sink_stop "e$B"
	for fam in 4 6; do
		[ "$(sink_count "e$B" $fam 5002)" = 0 ] || fail "$B: IPv$fam UDP 5002 left wan0"
		[ "$(sink_distinct "e$B" $fam 5003)" = $N ] || fail "$B: IPv$fam UDP 5003: $(sink_distinct "e$B" $fam 5003) of $N"
	done
	ok "$B: egress rule dropped UDP 5002 and passed UDP 5003 (IPv4, IPv6)"
	stats_json "$TMP/s.$B.json"
	got=$(stat_rule "$TMP/s.$B.json" no-5002-out wan0 egress packets)
	[ "$got" = $((2 * N)) ] || fail "$B: no-5002-out counted $got, sent $((2 * N))"
	ok "$B: egress counter moved by exactly $((2 * N))"
	counters_save "$TMP/s.$B.json" "$TMP/c.$B"
	if [ "$B" = bpf ]; then
		# only tc programs: without privilege they cannot be opened either, and the error
		# must say so, not fall through to the nftables table
		for c in status stats; do
			gw setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all \
				"$TLSFW" $c >/dev/null 2>"$TMP/p.err"
			rc=$?
			[ $rc = 2 ] && grep -q "cannot query wan0 (tlsfw needs CAP_NET_ADMIN" "$TMP/p.err" ||
				fail "$c as nobody with only tc programs: exit $rc: $(cat "$TMP/p.err")"
		done
		ok "bpf: status and stats without privilege name CAP_NET_ADMIN (only tc programs)"
	fi
	tlsfw detach >/dev/null || fail "detach ($B)"
done
[ "$BACKENDS" = "bpf nft" ] || exit 0
backends_agree "$TMP/c.bpf" "$TMP/c.nft" || fail "the backends' counters differ"
ok "bpf and nft agree on every counter (packets; bytes + Ethernet)"
