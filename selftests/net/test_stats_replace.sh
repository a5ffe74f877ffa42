#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Counters belong to rule names: across 10 policy replacements (rules added, reordered,
# default and mode changed) the counters of rules whose name stays keep counting; a renamed
# rule starts at zero, and a name that comes back later starts at zero too (its old slot's
# counts are not resurrected). Under each backend of $BACKENDS (nftables: counters are objects
# kept in place by name, and a rule's action, mode and line come from the new rules).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

# gen I: the I-th variant under backend $B; every variant keeps keep-a (udp 5001) and keep-b
# (udp 5002).
gen() {
	local i=$1 def=allow mode=enforce
	[ $((i % 2)) = 1 ] && def=drop && mode=monitor
	backend_policy "$(policy "v$i" <<EOF
version: 1
interfaces:
  - name: lan0
default: $def
rules:
  - name: extra-$i
    proto: udp
    dport: $((6000 + i))
    action: drop
$( [ $((i % 3)) = 0 ] && printf '  - name: keep-b\n    proto: udp\n    dport: 5002\n    action: drop\n    mode: %s\n' $mode)
  - name: allow-ssh
    proto: tcp
    dport: 22
    action: allow
  - name: keep-a
    proto: udp
    dport: 5001
    action: allow
$( [ $((i % 3)) != 0 ] && printf '  - name: keep-b\n    proto: udp\n    dport: 5002\n    action: drop\n    mode: %s\n' $mode)
  - name: old-name
    proto: udp
    dport: 5003
    action: drop
EOF
)" "$B"
}

count() { # RULE: packets on lan0 ingress ("" when the rule is not in the policy)
	stats_json "$TMP/c.json"
	jget "$TMP/c.json" "''.join(str(r['packets']) for r in d['rules'] if r['name']=='$1' and r['interface']=='lan0' and r['direction']=='ingress')"
}

for B in $BACKENDS; do
	topo_up "$B"

	tlsfw apply "$(gen 0)" >/dev/null || fail "$B: apply v0"
	send_udp "$CLI" "$S4" 5001,5002,5003 20
	sleep 0.2
	a0=$(count keep-a)
	b0=$(count keep-b)
	o0=$(count old-name)
	[ "$a0" = 20 ] && [ "$b0" = 20 ] && [ "$o0" = 20 ] || fail "$B: first counts: $a0 $b0 $o0, want 20 each"

	for i in $(seq 1 10); do
		tlsfw apply "$(gen $i)" >/dev/null || fail "$B: apply v$i"
		send_udp "$CLI" "$S4" 5001 1
		sleep 0.05
	done
	sleep 0.2
	a=$(count keep-a)
	b=$(count keep-b)
	[ "$a" = 30 ] || { tlsfw stats --exact; fail "$B: keep-a after 10 replacements: $a, want 30 (20 + 1 per replacement)"; }
	[ "$b" = 20 ] || fail "$B: keep-b after 10 replacements: $b, want 20"
	[ "$(count old-name)" = 20 ] || fail "$B: old-name after 10 replacements: $(count old-name)"
	[ "$(count extra-10)" = 0 ] || fail "$B: extra-10 (new rule) starts at $(count extra-10)"
	[ "$(count extra-9)" = "" ] || fail "$B: extra-9 (removed) still listed"
	mode=$(jget "$TMP/c.json" "[r['mode'] for r in d['rules'] if r['name']=='keep-b'][0]")
	[ "$mode" = enforce ] || fail "$B: keep-b is $mode after v10, which makes it enforce (v9: monitor)"
	ok "$B: 10 replacements: kept rules kept counting (keep-a $a, keep-b $b), a new rule starts at 0"

	# Rename old-name to new-name (same match): the new name starts at zero.
	sed 's/name: old-name/name: new-name/' "$TMP/v10-$B.conf" >"$TMP/renamed.conf"
	tlsfw apply "$TMP/renamed.conf" >/dev/null || fail "$B: apply renamed"
	[ "$(count new-name)" = 0 ] || fail "$B: renamed rule starts at $(count new-name), want 0"
	[ "$(count old-name)" = "" ] || fail "$B: old name still listed after the rename"
	[ "$(count keep-a)" = 30 ] || fail "$B: keep-a changed by the rename: $(count keep-a)"
	send_udp "$CLI" "$S4" 5003 3
	sleep 0.2
	[ "$(count new-name)" = 3 ] || fail "$B: new-name counted $(count new-name), want 3"
	ok "$B: renamed rule starts at 0 and counts from there"

	# The old name comes back: it starts at zero, not at its former 20.
	tlsfw apply "$TMP/v10-$B.conf" >/dev/null || fail "$B: apply v10 again"
	[ "$(count old-name)" = 0 ] || fail "$B: old-name came back with $(count old-name), want 0"
	ok "$B: a name that returns starts at 0"
	tlsfw detach >/dev/null || fail "$B: detach"
done
