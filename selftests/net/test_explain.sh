#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `tlsfw explain` without a policy, against what a namespace gateway enforces, under both
# backends: the deciding rule and the reasons of the rules before it, checked against real
# datagrams (a rule explained as drop gets none through, reject draws ICMP 3/13, the default
# allow lets them all through); the same answer as `explain POLICY`; then the policy file is
# edited: backend bpf still explains from the maps (verdict and rule, reasons unknown, said
# why), backend nft refuses (exit 2) naming the change.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

base=$(policy explain <<EOF2
version: 1
interfaces:
  - name: lan0
default: allow
rules:
  - name: dns-server
    dport: 53
    dst: 10.10.2.2/32
    action: allow
  - name: no-quic
    service: quic
    action: reject
  - name: drop-5004
    proto: udp
    dport: 5004
    src: 10.10.1.0/24
    action: drop
EOF2
)

# ex OUT ARGS...: tlsfw explain --json ARGS on the gateway into OUT; its exit status.
ex() {
	local out=$1
	shift
	tlsfw explain --json "$@" >"$out" 2>"$out.err"
}
field() { jget "$1" "d['explanations'][0]$2"; }

N=5
for B in $BACKENDS; do
	topo_up "$B"
	p=$(backend_policy "$base" "$B")
	tlsfw apply "$p" >/dev/null || fail "apply ($B)"

	ex "$TMP/drop.json" udp "$C4:40000" "$S4:5004" --iface lan0 --dir ingress || { cat "$TMP/drop.json.err"; fail "$B: explain exit $?"; }
	[ "$(field "$TMP/drop.json" "['rule']['name']")" = drop-5004 ] || { cat "$TMP/drop.json"; fail "$B: udp 5004 not decided by drop-5004"; }
	[ "$(field "$TMP/drop.json" "['verdict']")" = drop ] || fail "$B: verdict is not drop"
	[ "$(field "$TMP/drop.json" "['rule']['line']")" = 14 ] || fail "$B: drop-5004 is not at line 14"
	[ "$(field "$TMP/drop.json" "['reasons_known']")" = True ] || fail "$B: reasons unknown with the file unchanged"
	got=$(jget "$TMP/drop.json" "' '.join(r['name'] + ':' + r['failed'] for r in d['explanations'][0]['not_matched'])")
	[ "$got" = "(essentials):dport dns-server:dport no-quic:dport" ] || fail "$B: reasons '$got'"
	tlsfw explain udp "$C4:40000" "$S4:5004" --iface lan0 --dir ingress >"$TMP/drop.txt" || fail "$B: explain (text)"
	grep -Fxq "  no match  rule '(essentials)' (built in, see essentials: in tlsfw.conf(5)): dport does not match" "$TMP/drop.txt" &&
		grep -Eq "^  match     rule 'drop-5004' at .+:14: action drop$" "$TMP/drop.txt" || { cat "$TMP/drop.txt"; fail "$B: explain's text form"; }
	ex "$TMP/pass.json" udp "$C4:40000" "$S4:5005" --iface lan0 --dir ingress || fail "$B: explain 5005"
	[ "$(field "$TMP/pass.json" "['default']")" = True ] && [ "$(field "$TMP/pass.json" "['verdict']")" = allow ] || fail "$B: udp 5005 is not the default allow"
	ex "$TMP/rej.json" udp "[$C6]:40000" "[$S6]:443" --iface lan0 || fail "$B: explain 443"
	[ "$(field "$TMP/rej.json" "['rule']['name']")" = no-quic ] && [ "$(field "$TMP/rej.json" "['verdict']")" = reject ] || fail "$B: udp 443 not rejected by no-quic"
	ex "$TMP/other.json" udp "192.0.2.9:40000" "$S4:5004" --iface lan0 || fail "$B: explain from another source"
	[ "$(field "$TMP/other.json" "['default']")" = True ] || fail "$B: drop-5004 matched another source"
	[ "$(jget "$TMP/other.json" "[r['failed'] for r in d['explanations'][0]['not_matched'] if r['name']=='drop-5004'][0]")" = src ] || fail "$B: drop-5004 did not fail on src"
	ok "$B: explain names the rules and the failing fields"

	# explain with the policy file says the same
	tlsfw explain --json "$p" udp "$C4:40000" "$S4:5004" --iface lan0 --dir ingress >"$TMP/file.json" || fail "$B: explain POLICY"
	[ "$(field "$TMP/file.json" "['rule']['name']")" = drop-5004 ] || fail "$B: explain POLICY disagrees"

	# the data plane does what explain said
	sink_start "s$B" 5004,5005
	send_udp "$CLI" "$S4" 5004,5005 $N
	sleep 0.3
	sink_stop "s$B"
	[ "$(sink_count "s$B" 4 5004)" = 0 ] || fail "$B: $(sink_count "s$B" 4 5004) datagrams to 5004 passed, explain said drop"
	[ "$(sink_count "s$B" 4 5005)" = $N ] || fail "$B: $(sink_count "s$B" 4 5005) of $N datagrams to 5005 passed, explain said allow"
	[ "$(udp_icmp "$CLI" "$S6" 443)" = "icmp6 1 1" ] || fail "$B: udp 443 drew no ICMPv6 1/1, explain said reject"
	ok "$B: the traffic agrees (5004 dropped, 5005 passed, 443 rejected)"

	echo "# edited after apply" >>"$p"
	if [ $B = bpf ]; then
		ex "$TMP/edit.json" udp "$C4:40000" "$S4:5004" --iface lan0 || fail "bpf: explain after the file changed: exit $?"
		[ "$(field "$TMP/edit.json" "['rule']['name']")" = drop-5004 ] || fail "bpf: the maps' rule is not drop-5004"
		[ "$(field "$TMP/edit.json" "['reasons_known']")" = False ] || fail "bpf: reasons claimed from a changed file"
		grep -q "changed since it was applied" "$TMP/edit.json" || fail "bpf: no note that the file changed"
		ok "bpf: a changed file: verdict and rule from the maps, reasons unknown, said why"
	else
		ex "$TMP/edit.json" udp "$C4:40000" "$S4:5004" --iface lan0
		rc=$?
		[ $rc = 2 ] || fail "nft: explain after the file changed: exit $rc, expected 2"
		grep -q "changed since it was applied" "$TMP/edit.json.err" || { cat "$TMP/edit.json.err"; fail "nft: the refusal does not say the file changed"; }
		ok "nft: a changed file: refused with the reason"
	fi
	tlsfw detach >/dev/null || fail "detach ($B)"
	ex "$TMP/none.json" udp "$C4:1" "$S4:2"
	[ $? = 2 ] || fail "$B: explain with nothing enforced did not exit 2"
done

# Content rules (backend bpf only: nft refuses them) explained from the enforced maps: the
# packet's payload is an option; without it the rule needs it, with it the rule decides.
topo_up content
tlsfw apply "$ROOT/policies/block-quic.conf" >/dev/null || fail "apply block-quic.conf"
ex "$TMP/q0.json" udp "$C4:40000" "$S4:8443" --iface lan0 --dir ingress || fail "explain without --payload"
[ "$(field "$TMP/q0.json" "['not_matched'][1]['failed']")" = "needs --payload" ] ||
	fail "a payload rule without --payload: $(cat "$TMP/q0.json")"
[ "$(field "$TMP/q0.json" "['verdict']")" = allow ] || fail "UDP 8443 without --payload is not allowed"
ex "$TMP/q1.json" udp "$C4:40000" "$S4:8443" --iface lan0 --dir ingress --payload quic || fail "explain --payload quic"
[ "$(field "$TMP/q1.json" "['rule']['name']")" = block-quic ] || fail "--payload quic: $(cat "$TMP/q1.json")"
[ "$(field "$TMP/q1.json" "['verdict']")" = reject ] || fail "--payload quic is not rejected"
[ "$(field "$TMP/q1.json" "['packet']['payload']")" = quic ] || fail "--payload not in the packet"
ex "$TMP/q2.json" tcp "$C4:40000" "$S4:443" --payload quic
[ $? = 1 ] || fail "--payload quic on TCP was not a usage error"
tlsfw detach >/dev/null || fail "detach block-quic.conf"
ok "bpf: content rules explained from the maps with --payload"
