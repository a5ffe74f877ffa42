#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `tlsfw diff` against what a namespace gateway enforces, under both backends: added, removed
# and changed rules (with the fields that differ and a move), default and interface changes,
# and the counters kept or started at zero, which the apply that follows must honour (a kept
# rule's counter goes on, a new one starts at zero). With the enforced policy file edited
# after apply: backend bpf compares the maps' rule records (names, actions, modes) and says
# why, backend nft refuses (exit 2) naming the change.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

old=$(policy old <<EOF2
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: keep-same
    proto: udp
    dport: 5004
    action: drop
  - name: gets-changed
    proto: udp
    dport: 5005
    action: drop
  - name: goes-away
    proto: udp
    dport: 5006
    action: drop
EOF2
)
new=$(policy new <<EOF2
version: 1
interfaces:
  - name: lan0
  - name: wan0
    hooks: [egress]
default: drop
rules:
  - name: comes-new
    proto: udp
    dport: 5007
    action: allow
  - name: gets-changed
    proto: udp
    dport: [5005, 5008]
    action: reject
    mode: monitor
  - name: keep-same
    proto: udp
    dport: 5004
    action: drop
  - name: allow-rest
    action: allow
EOF2
)

N=4
for B in $BACKENDS; do
	topo_up "$B"
	po=$(backend_policy "$old" "$B")
	pn=$(backend_policy "$new" "$B")
	tlsfw apply "$po" >/dev/null 2>&1 || fail "apply old ($B)"
	send_udp "$CLI" "$S4" 5004 $N
	tlsfw diff --json "$pn" >"$TMP/d.json" 2>"$TMP/d.err" || { cat "$TMP/d.err"; fail "$B: diff exit $?"; }
	q() { jget "$TMP/d.json" "$1"; }
	[ "$(q "d['enforced']['fields_known']")" = True ] || fail "$B: fields unknown with the file unchanged"
	[ "$(q "[r['name'] for r in d['rules']['added']]")" = "['comes-new', 'allow-rest']" ] || fail "$B: added $(q "d['rules']['added']")"
	[ "$(q "[r['name'] for r in d['rules']['removed']]")" = "['goes-away']" ] || fail "$B: removed $(q "d['rules']['removed']")"
	got=$(q "';'.join(r['name'] + ':' + ','.join('%s=%s>%s' % (f['field'], f['old'], f['new']) for f in r['fields']) for r in d['rules']['changed'])")
	[ "$got" = "gets-changed:action=drop>reject,mode=enforce>monitor,dport=5005>5005,5008,position=2>1;keep-same:position=1>2" ] || fail "$B: changed '$got'"
	[ "$(q "d['rules']['unchanged']")" = 0 ] || fail "$B: unchanged count"
	[ "$(q "[d['default']['old'], d['default']['new']]")" = "['allow', 'drop']" ] || fail "$B: default change"
	[ "$(q "[(i['name'], i['change'], i['new']) for i in d['interfaces']]")" = "[('wan0', 'added', 'egress')]" ] || fail "$B: interfaces $(q "d['interfaces']")"
	[ "$(q "[d['counters']['kept'], d['counters']['reset'], d['counters']['released']]")" = "[['gets-changed', 'keep-same'], ['comes-new', 'allow-rest'], ['goes-away']]" ] || fail "$B: counters $(q "d['counters']")"
	tlsfw diff "$pn" >"$TMP/d.txt" || fail "$B: diff (text)"
	grep -q "^~ rule 'gets-changed' at line 13: action drop -> reject; mode enforce -> monitor; dport 5005 -> 5005,5008; position 2 -> 1$" "$TMP/d.txt" || { cat "$TMP/d.txt"; fail "$B: text form"; }
	ok "$B: diff names added, removed and changed rules, default, interfaces and counters"

	# apply honours what diff said about counters
	stats_json "$TMP/s1.json"
	before=$(stat_rule "$TMP/s1.json" keep-same lan0 ingress packets)
	[ "$before" = $N ] || fail "$B: keep-same counted $before, sent $N"
	tlsfw apply "$pn" >/dev/null 2>&1 || fail "apply new ($B)"
	stats_json "$TMP/s2.json"
	[ "$(stat_rule "$TMP/s2.json" keep-same lan0 ingress packets)" = $N ] || fail "$B: a kept counter did not go on"
	[ "$(stat_rule "$TMP/s2.json" comes-new lan0 ingress packets)" = 0 ] || fail "$B: a new rule did not start at zero"
	tlsfw diff --json "$pn" >"$TMP/same.json" || fail "$B: diff against itself"
	[ "$(jget "$TMP/same.json" "[len(d['rules'][k]) for k in ('added','removed','changed')] + [d['rules']['unchanged'], d['default'], d['interfaces']]")" = "[0, 0, 0, 4, None, []]" ] || fail "$B: a policy differs from itself"
	ok "$B: apply kept and reset the counters diff named; no change against itself"

	echo "# edited" >>"$pn"
	if [ $B = bpf ]; then
		tlsfw diff --json "$po" >"$TMP/rec.json" || fail "bpf: diff with a changed file: exit $?"
		[ "$(jget "$TMP/rec.json" "d['enforced']['fields_known']")" = False ] || fail "bpf: claims fields of a changed file"
		grep -q "changed since it was applied" "$TMP/rec.json" || fail "bpf: no reason given"
		got=$(jget "$TMP/rec.json" "';'.join(r['name'] + ':' + ','.join(f['field'] for f in r['fields']) for r in d['rules']['changed'])")
		[ "$got" = "keep-same:position;gets-changed:action,mode,position" ] || fail "bpf: records-only changes '$got'"
		ok "bpf: a changed file: the records' names, actions and modes compared, said why"
	else
		tlsfw diff "$po" >/dev/null 2>"$TMP/nft.err"
		rc=$?
		[ $rc = 2 ] && grep -q "changed since it was applied" "$TMP/nft.err" || { cat "$TMP/nft.err"; fail "nft: a changed file: exit $rc"; }
		ok "nft: a changed file: refused with the reason"
	fi
	tlsfw detach >/dev/null || fail "detach ($B)"
	tlsfw diff "$po" >/dev/null 2>&1
	[ $? = 2 ] || fail "$B: diff with nothing enforced did not exit 2"
done

# The match keys beyond ports and addresses are fields too (backend bpf: nft refuses some).
content=$(policy content <<EOF2
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: keep-same
    proto: udp
    dport: 5004
    payload: quic
    log: 5/s
    action: drop
  - name: gets-changed
    proto: udp
    dport: 5005
    state: [established, related]
    action: drop
  - name: goes-away
    proto: icmp
    icmp_type: [echo-request, 13]
    action: drop
EOF2
)
topo_up content
tlsfw apply "$(backend_policy "$old" bpf)" >/dev/null 2>&1 || fail "apply old (content)"
tlsfw diff --json "$content" >"$TMP/c.json" 2>"$TMP/c.err" || { cat "$TMP/c.err"; fail "diff of the content policy: exit $?"; }
got=$(jget "$TMP/c.json" "';'.join(r['name'] + ':' + ','.join('%s=%s>%s' % (f['field'], f['old'], f['new']) for f in r['fields']) for r in d['rules']['changed'])")
[ "$got" = "keep-same:payload=any>quic,log=false>5/s;gets-changed:state=any>established,related;goes-away:proto=udp>icmp,dport=5006>any,icmp_type=any>echo-request,timestamp-request" ] || { cat "$TMP/c.json"; fail "content fields: '$got'"; }
tlsfw detach >/dev/null || fail "detach (content)"
ok "bpf: payload, state, log and icmp_type changes named with their values"
