#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A monitor-mode rule counts what it would drop and lets it pass; then the same rule name in
# enforce mode drops, and its counter continues from where monitor left it (counters are kept
# per rule name across apply). A renamed rule starts at zero, also when it gets a slot an
# earlier rule counted in. Under both backends (the nft backend carries a rule's counter into
# the replacing table), which must deliver the same datagrams and count the same.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

mk() { # backend mode [rule name]
	local p
	p=$(policy "mon-$2-${3:-x}" <<EOF2
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: ${3:-would-drop-5004}
    proto: udp
    dport: 5004
    action: drop
    mode: $2
EOF2
)
	backend_policy "$p" "$1"
}

N=9
for B in $BACKENDS; do
	topo_up "$B"
	sink_start "m$B" 5004
	tlsfw apply "$(mk "$B" monitor)" >/dev/null || fail "apply monitor ($B)"
	send_udp "$CLI" "$S4" 5004 $N
	send_udp "$CLI" "$S6" 5004 $N
	sleep 0.3
	stats_json "$TMP/s1.$B.json"
	got=$(stat_rule "$TMP/s1.$B.json" would-drop-5004 lan0 ingress packets)
	[ "$got" = $((2 * N)) ] || { tlsfw stats --exact; fail "$B: monitor rule counted $got, sent $((2 * N))"; }
	mode=$(jget "$TMP/s1.$B.json" "[r['mode'] for r in d['rules'] if r['name']=='would-drop-5004'][0]")
	[ "$mode" = monitor ] || fail "$B: stats shows mode '$mode'"
	if [ "$B" = bpf ]; then
		# the BPF backend also keeps verdict totals per hook (nft: rule counters only)
		mon=$(jget "$TMP/s1.$B.json" "[i['monitor']['packets'] for i in d['interfaces'] if i['interface']=='lan0'][0]")
		[ "$mon" = $((2 * N)) ] || fail "monitor verdict total is $mon"
	fi
	ok "$B: monitor rule counted $((2 * N)) packets"

	tlsfw apply "$(mk "$B" enforce)" >/dev/null || fail "apply enforce ($B)"
	send_udp "$CLI" "$S4" 5004 $N
	sleep 0.3
	sink_stop "m$B"
	[ "$(sink_count "m$B" 4 5004)" = $N ] || fail "$B: IPv4: $(sink_count "m$B" 4 5004) of $N passed (monitor phase: all must pass, enforce: none)"
	[ "$(sink_count "m$B" 6 5004)" = $N ] || fail "$B: IPv6: monitor mode dropped packets"
	ok "$B: monitor passed every packet, enforce dropped every packet"
	stats_json "$TMP/s2.$B.json"
	got=$(stat_rule "$TMP/s2.$B.json" would-drop-5004 lan0 ingress packets)
	[ "$got" = $((3 * N)) ] || fail "$B: counter after enforce is $got, expected $((3 * N)) (kept across apply)"
	ok "$B: counter kept across apply: $got"
	counters_save "$TMP/s2.$B.json" "$TMP/c.$B"

	# Renamed: a fresh slot, zero. Renamed again: the first name's slot is free again and may
	# be taken; whatever it gets, it starts at zero.
	tlsfw apply "$(mk "$B" enforce renamed-5004)" >/dev/null || fail "apply renamed ($B)"
	stats_json "$TMP/s3.$B.json"
	[ "$(stat_rule "$TMP/s3.$B.json" renamed-5004 lan0 ingress packets)" = 0 ] || fail "$B: a renamed rule did not start at zero"
	send_udp "$CLI" "$S4" 5004 $N
	sleep 0.3
	tlsfw apply "$(mk "$B" enforce third-5004)" >/dev/null || fail "apply third ($B)"
	stats_json "$TMP/s4.$B.json"
	[ "$(stat_rule "$TMP/s4.$B.json" third-5004 lan0 ingress packets)" = 0 ] || fail "$B: a new rule inherited counts from a released slot"
	ok "$B: renamed rules start at zero"
	tlsfw detach >/dev/null || fail "detach ($B)"
done
[ "$BACKENDS" = "bpf nft" ] || exit 0
backends_agree "$TMP/c.bpf" "$TMP/c.nft" || fail "the backends' counters differ"
ok "bpf and nft agree on every counter (packets; bytes + Ethernet)"
