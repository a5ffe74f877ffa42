#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Counters honest across applies (issue 17 item 5), under each backend of $BACKENDS: after
# traffic through the gateway under a default-allow policy with a reject rule and a
# monitor-mode rule, a default-drop policy replaces it in which no rule rejects, the monitor
# rule enforces and one rule is renamed. apply says which totals it reset; `stats` then shows
# (default), reject and monitor at 0, while the pass total and the rules' own lines (kept by
# name, also the one turned enforcing) carry on and the renamed rule starts at 0. Traffic
# after the flip counts exactly under the new labels. With backend nft the reset is part of
# the switch transaction: a refused switch and a dry run leave every counter as it was (read
# by `nft` too, an independent witness).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

N=4 M=3
pa=$(policy allow <<EOF
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: blocky
    proto: udp
    dport: 9999
    action: reject
  - name: kept
    proto: udp
    dport: 5301
    action: allow
  - name: watch
    proto: udp
    dport: 5302
    action: drop
    mode: monitor
  - name: old-name
    proto: udp
    dport: 5303
    action: allow
EOF
)
pb=$(policy drop <<EOF
version: 1
interfaces:
  - name: lan0
default: drop
rules:
  - name: blocky
    proto: udp
    dport: 9999
    action: drop
  - name: kept
    proto: udp
    dport: 5301
    action: allow
  - name: watch
    proto: udp
    dport: 5302
    action: drop
  - name: new-name
    proto: udp
    dport: 5303
    action: allow
EOF
)
# iface JSON STAT: packets of lan0 ingress's STAT (default, pass, drop, reject, monitor)
iface() { jget "$1" "[i for i in d['interfaces'] if i['interface']=='lan0' and i['direction']=='ingress'][0]['$2']['packets']"; }
rule() { stat_rule "$1" "$2" lan0 ingress packets; }
# want JSON WHAT N: WHAT is "stat:NAME" or "rule:NAME"; its packets must be N
want() {
	local got
	case $2 in
	stat:*) got=$(iface "$1" "${2#stat:}") ;;
	rule:*) got=$(rule "$1" "${2#rule:}") ;;
	esac
	[ "$got" = "$3" ] || { tlsfw stats --exact; fail "$B: $4: ${2#*:} shows $got packets, want $3"; }
}

# A refused switch (nft) or flip (bpf) and a dry run of the default-drop policy keep every
# counter: the resets happen with the switch itself.
unchanged() {
	local what fault=TLSFW_FAULT=flip
	[ "$B" = nft ] && fault=TLSFW_NFT_FAULT=switch
	for what in "$fault" "--dry-run"; do
		if [ "$what" = --dry-run ]; then
			tlsfw apply "$b" --dry-run >"$TMP/try.out" 2>&1 || { cat "$TMP/try.out"; fail "$B: apply --dry-run"; }
		else
			gw env "$what" "$TLSFW" apply "$b" >"$TMP/try.out" 2>&1 &&
				fail "$B: apply with a refused switch succeeded"
		fi
		grep -q "^counters:" "$TMP/try.out" && { cat "$TMP/try.out"; fail "$B: $what said it reset counters"; }
		stats_json "$TMP/try.json"
		want "$TMP/try.json" stat:default $N "$what"
		want "$TMP/try.json" stat:reject $N "$what"
		want "$TMP/try.json" stat:monitor $N "$what"
		[ "$B" = nft ] || continue
		[ "$(nft_counter lan0/in/default)" = $N ] || fail "$B: $what: nft shows lan0/in/default $(nft_counter lan0/in/default)"
		[ "$(nft_counter lan0/in/reject)" = $N ] || fail "$B: $what: nft shows lan0/in/reject $(nft_counter lan0/in/reject)"
	done
	ok "$B: a refused switch and a dry run keep (default), reject and monitor"
}

for B in $BACKENDS; do
	topo_up "$B"
	a=$(backend_policy "$pa" "$B")
	b=$(backend_policy "$pb" "$B")

	tlsfw apply "$a" >/dev/null || fail "$B: apply the default-allow policy"
	send_udp "$CLI" "$S4" 9999,5300,5301,5302,5303 $N
	stats_json "$TMP/a.json"
	want "$TMP/a.json" stat:default $N "default allow"
	want "$TMP/a.json" stat:reject $N "default allow"
	want "$TMP/a.json" stat:monitor $N "default allow"
	pass=$(iface "$TMP/a.json" pass)
	unchanged

	tlsfw apply "$b" >"$TMP/apply.out" || fail "$B: apply the default-drop policy"
	grep -qx "counters: (default) reset: the default changed from allow to drop" "$TMP/apply.out" ||
		{ cat "$TMP/apply.out"; fail "$B: apply did not say that the (default) line was reset"; }
	grep -qx "counters: reject totals reset: no rule of the new policy rejects" "$TMP/apply.out" ||
		{ cat "$TMP/apply.out"; fail "$B: apply did not say that the reject totals were reset"; }
	stats_json "$TMP/b.json"
	want "$TMP/b.json" stat:default 0 "(default) drop after allow -> drop"
	want "$TMP/b.json" stat:reject 0 "a policy that cannot reject"
	want "$TMP/b.json" stat:monitor 0 "a policy without monitor rules"
	want "$TMP/b.json" rule:blocky $N "'blocky' (kept by name, reject -> drop)"
	want "$TMP/b.json" rule:kept $N "'kept' (unchanged)"
	want "$TMP/b.json" rule:watch $N "'watch' (monitor -> enforce)"
	want "$TMP/b.json" rule:new-name 0 "'new-name' (renamed from old-name)"
	[ "$(rule "$TMP/b.json" old-name)" = 0 ] || fail "$B: 'old-name' (renamed) is still listed"
	# it may only grow: neighbour discovery passes (the essentials)
	[ "$(iface "$TMP/b.json" pass)" -ge "$pass" ] || fail "$B: the pass total did not carry on"
	tlsfw stats >"$TMP/b.txt" || fail "$B: stats"
	grep -q "reject [1-9]" "$TMP/b.txt" && { cat "$TMP/b.txt"; fail "$B: stats shows a reject count"; }
	if [ "$B" = nft ]; then
		[ "$(nft_counter lan0/in/default)" = 0 ] || fail "$B: nft shows lan0/in/default $(nft_counter lan0/in/default)"
		[ "$(nft_counter lan0/in/reject)" = 0 ] || fail "$B: nft shows lan0/in/reject $(nft_counter lan0/in/reject)"
	fi
	ok "$B: after allow -> drop: (default), reject and monitor start at 0 (said by apply); rule lines and pass carry on"

	# traffic under the new policy counts under its labels, exactly
	send_udp "$CLI" "$S4" 9999,5300,5301,5302,5303 $M
	stats_json "$TMP/c.json"
	want "$TMP/c.json" stat:default $M "(default) drop after traffic"
	want "$TMP/c.json" stat:reject 0 "reject after traffic"
	want "$TMP/c.json" stat:monitor 0 "monitor after traffic"
	want "$TMP/c.json" rule:blocky $((N + M)) "'blocky' after traffic"
	want "$TMP/c.json" rule:kept $((N + M)) "'kept' after traffic"
	want "$TMP/c.json" rule:watch $((N + M)) "'watch' after traffic"
	want "$TMP/c.json" rule:new-name $M "'new-name' after traffic"
	ok "$B: $M datagrams per port after the flip: (default) drop $M, blocky/kept/watch $((N + M)), new-name $M"

	# the same policy again: nothing is relabelled, nothing said
	tlsfw apply "$b" >"$TMP/again.out" || fail "$B: apply the default-drop policy again"
	grep -q "^counters:" "$TMP/again.out" && { cat "$TMP/again.out"; fail "$B: apply of the same policy reset counters"; }
	stats_json "$TMP/d.json"
	want "$TMP/d.json" stat:default $M "the same policy again"
	ok "$B: the same policy again keeps (default) drop at $M and says nothing"
done
