#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tlsfw touches only what it installed, under each backend. A foreign XDP program on wan0,
# foreign tc filters (on wan0 ingress and on lan0 egress, next to tlsfw's own) and foreign
# nftables tables (`inet filter` with a rule and a named counter, a `netdev` table with an
# ingress chain on lan0) survive apply and detach: ip and tc are the witnesses of the BPF
# objects, `nft list table` of the tables (byte for byte, counters included). Under bpf a
# policy that wants ingress on wan0 is refused rather than replacing the foreign program;
# under nft (which uses no XDP) it applies next to it. Detaching one interface leaves the
# other enforced; detaching everything lets traffic flow again; naming a missing interface is
# refused (exit 2) with nothing detached, also while a policy is enforced.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

# A foreign XDP program and tc classifier, built here so the test needs nothing else.
cat >"$TMP/foreign.c" <<'EOF2'
struct xdp_md;
struct __sk_buff;
__attribute__((section("xdp"), used)) int foreign_xdp(struct xdp_md *ctx) { return 2; /* XDP_PASS */ }
__attribute__((section("tc"), used)) int foreign_tc(struct __sk_buff *skb) { return -1; /* TC_ACT_UNSPEC */ }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF2
clang -O2 -g -target bpf -c "$TMP/foreign.c" -o "$TMP/foreign.o" || fail "cannot build the foreign program"

xdp_id() { gw ip -d link show "$1" 2>/dev/null | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$'; }

# foreign_up: the foreign objects in the current topology; sets FOREIGN (the XDP program's id)
# and snapshots the foreign tables after moving their counters, so that a reset or a rewrite
# of them would show.
foreign_up() {
	gw ip link set dev wan0 xdp obj "$TMP/foreign.o" sec xdp || fail "$B: cannot attach the foreign XDP program"
	FOREIGN=$(xdp_id wan0)
	[ -n "$FOREIGN" ] || fail "$B: foreign XDP program not visible"
	gw tc qdisc add dev wan0 clsact || fail "$B: clsact wan0"
	gw tc filter add dev wan0 ingress prio 60000 bpf da obj "$TMP/foreign.o" sec tc || fail "$B: foreign filter wan0"
	gw tc qdisc add dev lan0 clsact || fail "$B: clsact lan0"
	gw tc filter add dev lan0 egress prio 60001 bpf da obj "$TMP/foreign.o" sec tc || fail "$B: foreign filter lan0"
	gw nft -f - <<'EOF2' || fail "$B: cannot create the foreign nftables tables"
table inet filter {
	counter seen {
		comment "foreign"
	}
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 5000 counter name "seen"
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		udp dport 9999 counter drop
	}
}
table netdev foreign {
	chain lan0_in {
		type filter hook ingress device "lan0" priority filter; policy accept;
		udp dport 5002 counter
	}
}
EOF2
	send_udp "$CLI" 10.10.1.1 5000 3
	send_udp "$CLI" 10.10.1.1 5002 4
	sleep 0.3
	gw nft list table inet filter >"$TMP/$B.filter.0" || fail "$B: no table inet filter"
	gw nft list table netdev foreign >"$TMP/$B.netdev.0" || fail "$B: no table netdev foreign"
	if ! grep -q 'packets 3 ' "$TMP/$B.filter.0" || ! grep -q 'packets 4 ' "$TMP/$B.netdev.0"; then
		cat "$TMP/$B.filter.0" "$TMP/$B.netdev.0"
		fail "$B: the foreign counters did not move (3 and 4 packets)"
	fi
}

foreign_intact() { # context
	[ "$(xdp_id wan0)" = "$FOREIGN" ] || fail "$B: $1: the foreign XDP program on wan0 was replaced or removed"
	gw tc filter show dev wan0 ingress | grep -q 'pref 60000 bpf .*foreign_tc' || fail "$B: $1: foreign filter on wan0 ingress is gone"
	gw tc filter show dev lan0 egress | grep -q 'pref 60001 bpf .*foreign_tc' || fail "$B: $1: foreign filter on lan0 egress is gone"
	gw nft list table inet filter >"$TMP/$B.filter.1" 2>&1 || fail "$B: $1: table inet filter is gone"
	cmp -s "$TMP/$B.filter.0" "$TMP/$B.filter.1" ||
		{ diff "$TMP/$B.filter.0" "$TMP/$B.filter.1"; fail "$B: $1: changed table inet filter"; }
	gw nft list table netdev foreign >"$TMP/$B.netdev.1" 2>&1 || fail "$B: $1: table netdev foreign is gone"
	cmp -s "$TMP/$B.netdev.0" "$TMP/$B.netdev.1" ||
		{ diff "$TMP/$B.netdev.0" "$TMP/$B.netdev.1"; fail "$B: $1: changed table netdev foreign"; }
}

# no_tlsfw_bpf CONTEXT IFACE...: no XDP program (but wan0's foreign one) and no tlsfw tc
# filter on the interfaces
no_tlsfw_bpf() {
	local what=$1 i
	shift
	for i in "$@"; do
		[ "$i" = wan0 ] || ! gw ip -d link show "$i" 2>/dev/null | grep -q 'prog/xdp' ||
			fail "$B: $what: XDP on $i"
		gw tc filter show dev "$i" ingress | grep -q tlsfw && fail "$B: $what: tlsfw filter on $i ingress"
		gw tc filter show dev "$i" egress | grep -q tlsfw && fail "$B: $what: tlsfw filter on $i egress"
	done
	return 0
}

WANTS_WAN_INGRESS=$(policy wi <<'EOF2'
version: 1
interfaces:
  - name: lan0
  - name: wan0
default: allow
rules:
  - name: drop-5001
    proto: udp
    dport: 5001
    action: drop
EOF2
)
POL=$(policy ok <<'EOF2'
version: 1
interfaces:
  - name: lan0
    hooks: [ingress, egress]
  - name: wan0
    hooks: [egress]
default: allow
rules:
  - name: drop-5001
    proto: udp
    dport: 5001
    action: drop
EOF2
)
# nft: wan0 with both hooks, so that detach wan0 has a chain and a dispatch entry to remove
POL_NFT=$(policy both <<'EOF2'
version: 1
backend: nft
interfaces:
  - name: lan0
    hooks: [ingress, egress]
  - name: wan0
    hooks: [ingress, egress]
default: allow
rules:
  - name: drop-5001
    proto: udp
    dport: 5001
    action: drop
EOF2
)

for B in $BACKENDS; do
	topo_up "$B"
	foreign_up
	foreign_intact "setup"

	case $B in
	bpf)
		tlsfw apply "$WANTS_WAN_INGRESS" >"$TMP/out" 2>&1
		rc=$?
		[ $rc = 2 ] || { cat "$TMP/out"; fail "$B: apply over a foreign XDP program: exit $rc, expected 2"; }
		grep -q "wan0: another XDP program (id $FOREIGN)" "$TMP/out" || { cat "$TMP/out"; fail "$B: the refusal does not name the foreign program"; }
		gw ip -d link show lan0 2>/dev/null | grep -q 'prog/xdp' && fail "$B: refused apply left XDP on lan0"
		foreign_intact "refused apply"
		ok "$B: apply refuses to replace a foreign XDP program"

		# a foreign filter at tlsfw's own handle and priority (0x7f5) on wan0's egress
		gw tc filter add dev wan0 egress prio 2037 handle 0x7f5 bpf da obj "$TMP/foreign.o" \
			sec tc || fail "$B: a foreign filter at tlsfw's handle and priority"
		tlsfw apply "$POL" >"$TMP/out" 2>&1
		rc=$?
		[ $rc = 2 ] || { cat "$TMP/out"; fail "$B: apply over a foreign filter at tlsfw's place: exit $rc, expected 2"; }
		grep -q "wan0: a tc filter already sits at tlsfw's handle and priority (0x7f5) on egress; remove it first" \
			"$TMP/out" || { cat "$TMP/out"; fail "$B: the refusal does not name the taken place"; }
		grep -qi 'libbpf\|Filter already exists' "$TMP/out" &&
			{ cat "$TMP/out"; fail "$B: libbpf's own message next to tlsfw's"; }
		no_tlsfw_bpf "refused apply (tc)" lan0 wan0
		gw tc filter del dev wan0 egress prio 2037 handle 0x7f5 bpf ||
			fail "$B: cannot remove the foreign filter at tlsfw's place"
		foreign_intact "refused apply (tc)"
		ok "$B: apply refuses a foreign filter at tlsfw's tc place, in its own words only"

		tlsfw apply "$POL" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: apply next to foreign programs"; }
		foreign_intact "apply"
		gw tc filter show dev lan0 egress | grep -q tlsfw_tc_egress || fail "$B: tlsfw's filter is not on lan0 egress"
		gw tc filter show dev wan0 egress | grep -q tlsfw_tc_egress || fail "$B: tlsfw's filter is not on wan0 egress"
		;;
	nft)
		tlsfw apply "$POL_NFT" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: apply with wan0 ingress next to a foreign XDP program"; }
		foreign_intact "apply"
		no_tlsfw_bpf "apply" lan0 wan0
		gw nft list table inet tlsfw >"$TMP/t1" || fail "$B: no table inet tlsfw after apply"
		for c in lan0_in lan0_out wan0_in wan0_out; do
			grep -q "chain $c {" "$TMP/t1" || { cat "$TMP/t1"; fail "$B: chain $c is missing"; }
		done
		grep -q '"wan0" : jump wan0_out' "$TMP/t1" || { cat "$TMP/t1"; fail "$B: no egress dispatch for wan0"; }
		;;
	*)
		fail "unknown backend '$B'"
		;;
	esac
	[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = timeout ] || fail "$B: policy not enforced"
	foreign_intact "probe"
	ok "$B: apply coexists with foreign XDP, tc filters and nftables tables"

	tlsfw detach wan0 >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: detach wan0"; }
	case $B in
	bpf)
		grep -q '^wan0: detached (egress tc)' "$TMP/out" || { cat "$TMP/out"; fail "$B: detach wan0 output"; }
		gw tc filter show dev wan0 egress | grep -q tlsfw && fail "$B: tlsfw filter left on wan0 egress"
		;;
	nft)
		grep -q '^wan0: detached (nftables)$' "$TMP/out" || { cat "$TMP/out"; fail "$B: detach wan0 output"; }
		gw nft list table inet tlsfw >"$TMP/t2" || fail "$B: detach wan0 removed the whole table"
		grep -q 'chain wan0_' "$TMP/t2" && { cat "$TMP/t2"; fail "$B: wan0's chains survived detach wan0"; }
		grep -q '"wan0"' "$TMP/t2" && { cat "$TMP/t2"; fail "$B: wan0's dispatch entry survived detach wan0"; }
		for c in lan0_in lan0_out; do
			grep -q "chain $c {" "$TMP/t2" || { cat "$TMP/t2"; fail "$B: detach wan0 removed chain $c"; }
		done
		grep -q '"lan0" : jump lan0_out' "$TMP/t2" || { cat "$TMP/t2"; fail "$B: detach wan0 removed lan0's dispatch entry"; }
		no_tlsfw_bpf "detach wan0" lan0 wan0
		;;
	esac
	foreign_intact "detach wan0"
	[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = timeout ] || fail "$B: lan0 lost the policy when wan0 was detached"
	tlsfw status --json >"$TMP/st.json" || fail "$B: status --json after detach wan0"
	[ "$(jget "$TMP/st.json" "[i['name'] for i in d['interfaces']]")" = "['lan0']" ] || fail "$B: status after detach wan0: $(cat "$TMP/st.json")"
	stats_json "$TMP/s.json"
	[ "$(jget "$TMP/s.json" "sorted(set(r['interface'] for r in d['rules']))")" = "['lan0']" ] || fail "$B: stats still shows wan0: $(cat "$TMP/s.json")"
	ok "$B: detach wan0 leaves lan0 enforced and foreign programs and tables intact"

	tlsfw detach >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: detach"; }
	no_tlsfw_bpf "detach" lan0 wan0
	gw nft list table inet tlsfw >/dev/null 2>&1 && fail "$B: table inet tlsfw left after detach"
	foreign_intact "detach"
	tlsfw status >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: status after detach"; }
	grep -q "nothing enforced" "$TMP/out" || fail "$B: status after detach: $(cat "$TMP/out")"
	[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = timeout ] && fail "$B: UDP 5001 still dropped after detach" # no sink: timeout would mean dropped
	ok "$B: detach removed exactly tlsfw's programs and table"

	tlsfw detach lan0 >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: detach of an interface without tlsfw must succeed"; }
	grep -q "nothing of tlsfw" "$TMP/out" || fail "$B: detach lan0 again: $(cat "$TMP/out")"
	tlsfw detach >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: a second detach must succeed"; }
	grep -q "nothing enforced" "$TMP/out" || fail "$B: a second detach: $(cat "$TMP/out")"
	tlsfw detach nosuch0 >"$TMP/out" 2>&1
	rc=$?
	[ $rc = 2 ] || { cat "$TMP/out"; fail "$B: detach of a missing interface: exit $rc, expected 2"; }
	foreign_intact "detach again"
	ok "$B: detach is idempotent and names missing interfaces"

	# A missing interface named while a policy is enforced: refused as a whole (exit 2),
	# nothing detached, also not the interfaces named next to it. Last, so that a failure
	# here leaves the scenario above complete.
	again=$POL
	[ "$B" = nft ] && again=$POL_NFT
	tlsfw apply "$again" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: apply again"; }
	[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = timeout ] || fail "$B: policy not enforced after apply again"
	for args in nosuch0 "wan0 nosuch0"; do
		# shellcheck disable=SC2086 # two interface names
		tlsfw detach $args >"$TMP/out" 2>&1
		rc=$?
		[ $rc = 2 ] || { cat "$TMP/out"; fail "$B: detach $args while enforced: exit $rc, expected 2"; }
		grep -q "no interface 'nosuch0'" "$TMP/out" || fail "$B: detach $args does not name the missing interface: $(cat "$TMP/out")"
		tlsfw status --json >"$TMP/st.json" || fail "$B: status --json after detach $args"
		[ "$(jget "$TMP/st.json" "sorted(i['name'] for i in d['interfaces'])")" = "['lan0', 'wan0']" ] ||
			fail "$B: detach $args changed what is enforced: $(cat "$TMP/st.json")"
		foreign_intact "detach $args"
	done
	[ "$(udp_probe "$CLI" "$S4" 5001 0.5)" = timeout ] || fail "$B: policy not enforced after a refused detach"
	tlsfw detach >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "$B: final detach"; }
	foreign_intact "final detach"
	ok "$B: detach of a missing interface while enforced exits 2 and detaches nothing"
done
