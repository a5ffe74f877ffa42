#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# state: from the kernel's conntrack (issue 17 item 1), under both backends. With default drop,
# lan0 open to what the client starts and wan0 opened only by `state: [established, related]`:
#  - curl (TCP) and socat (UDP) from client source ports 40000, 55000, 62000 and 64000 reach
#    the server and get its answer, over IPv4, and TCP over IPv6 from port 64000;
#  - a connection the server starts towards the client is dropped (it connects without tlsfw);
#  - the ICMP errors of those flows pass (related): port unreachable, ICMP and ICMPv6;
#  - an ICMP error about no known flow is dropped (invalid), counted on the default line;
#  - the return rule and the default line moved (counters of real traffic, so at least);
#  - bpf: a table inet tlsfw_conntrack that tlsfw did not make is refused, never taken over.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

command -v socat >/dev/null || fail "socat (UDP client and servers) is not installed"
command -v curl >/dev/null || fail "curl is not installed"
PORTS="40000 55000 62000 64000"

pol=$(policy state <<EOF
version: 1
interfaces:
  - name: lan0
  - name: wan0
default: drop
rules:
  - name: from-lan
    interface: lan0
    action: allow
  - name: return
    state: [established, related]
    interface: wan0
    action: allow
EOF
)

# outside_connect: the server connects to the client's port 2222: "connected" or a failure
outside_connect() {
	tcp_probe "$SRV" "$C4" 2222 2
}

for B in $BACKENDS; do
	topo_up "$B"
	bg srv socat TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=0 SYSTEM:'echo hello'
	bg srv socat UDP-RECVFROM:5300,fork,reuseaddr SYSTEM:'read -r x; echo pong'
	bg cli socat TCP-LISTEN:2222,fork,reuseaddr SYSTEM:'echo inside'
	sleep 0.5
	[ "$(outside_connect)" = connected ] || fail "$B: without tlsfw the server cannot reach the client (witness)"

	tlsfw apply "$(backend_policy "$pol" "$B")" >"$TMP/apply.$B" 2>&1 ||
		{ cat "$TMP/apply.$B"; fail "$B: apply"; }
	stats_json "$TMP/s0.$B.json"
	for p in $PORTS; do
		r=$(cli curl -s -m 3 --local-port $p telnet://$S4:8080 </dev/null)
		[ "$r" = hello ] || fail "$B: TCP from source port $p got '$r', not the server's answer"
		r=$(echo ping | cli socat -T 2 - UDP:$S4:5300,sourceport=$p)
		[ "$r" = pong ] || fail "$B: UDP from source port $p got '$r', not the server's answer"
	done
	r=$(cli curl -s -m 3 --local-port 64000 "telnet://[$S6]:8080" </dev/null)
	[ "$r" = hello ] || fail "$B: TCP over IPv6 from source port 64000 got '$r'"
	ok "$B: TCP and UDP from source ports $PORTS came back (state established)"

	[ "$(outside_connect)" = timeout ] || fail "$B: a connection from the outside was not dropped"
	ok "$B: a connection started from the outside is dropped (state new)"

	[ "$(udp_icmp "$CLI" "$S4" 9)" = "icmp 3 3" ] || fail "$B: the port unreachable of a UDP flow did not pass"
	[ "$(udp_icmp "$CLI" "$S6" 9)" = "icmp6 1 4" ] || fail "$B: the ICMPv6 port unreachable of a UDP flow did not pass"
	ok "$B: ICMP errors of the client's flows pass (state related)"

	stats_json "$TMP/s1.$B.json"
	d0=$(stat_rule "$TMP/s1.$B.json" return wan0 ingress packets)
	bg cli $PY "$NETTOOL" icmp-count --family 4 --type 3 --seconds 30 \
		--ready "$TMP/ic.$B.ready" --stop "$TMP/ic.$B.stop" >"$TMP/ic.$B"
	wait_file "$TMP/ic.$B.ready"
	srv $PY "$NETTOOL" icmp-send --to "$C4" --type 3 --count 3 >/dev/null || fail "icmp-send"
	sleep 0.3
	touch "$TMP/ic.$B.stop"
	for i in $(seq 50); do [ -s "$TMP/ic.$B" ] && break; sleep 0.1; done
	[ "$(jget "$TMP/ic.$B" "d['received']")" = 0 ] || fail "$B: an ICMP error about no flow reached the client"
	stats_json "$TMP/s2.$B.json"
	[ "$(stat_rule "$TMP/s2.$B.json" return wan0 ingress packets)" = "$d0" ] ||
		fail "$B: the return rule counted an ICMP error about no flow"
	ok "$B: an ICMP error about no known flow is dropped (state invalid)"

	r0=$(stat_rule "$TMP/s0.$B.json" return wan0 ingress packets)
	r1=$(stat_rule "$TMP/s1.$B.json" return wan0 ingress packets)
	# each TCP exchange brings back at least SYN-ACK, data and FIN; each UDP one a datagram
	[ $((r1 - r0)) -ge $((4 * 4 + 3 + 2)) ] || fail "$B: the return rule counted $((r1 - r0))"
	ok "$B: the return rule counted $((r1 - r0)) packets"

	# explain of the enforced policy: the state decides, and without --state it says so
	for a in "established allow" "related allow" "new drop" "invalid drop"; do
		set -- $a
		tlsfw explain tcp $S4:8080 $C4:40000 --iface wan0 --dir ingress --state $1 >"$TMP/x.$B" ||
			fail "$B: explain --state $1"
		grep -q "^verdict  $2\$" "$TMP/x.$B" || { cat "$TMP/x.$B"; fail "$B: explain --state $1 is not $2"; }
	done
	tlsfw explain tcp $S4:8080 $C4:40000 --iface wan0 --dir ingress >"$TMP/x.$B" || fail "$B: explain"
	grep -q "needs --state" "$TMP/x.$B" || { cat "$TMP/x.$B"; fail "$B: explain without --state does not say the rule needs it"; }
	ok "$B: explain --state gives the verdict of each state; without it the return rule needs --state"
	tlsfw detach >/dev/null || fail "$B: detach"
	if [ "$B" = bpf ]; then
		gw nft list tables | grep -q tlsfw_conntrack &&
			fail "bpf: table inet tlsfw_conntrack is left after detach"
		ok "bpf: detach removes table inet tlsfw_conntrack"
		# a table of that name that tlsfw did not make: state: refuses to take it over, and
		# an apply without state: and detach leave it as it is
		foreign_table tlsfw_conntrack 9999
		tlsfw apply "$(backend_policy "$pol" bpf)" >"$TMP/ct.out" 2>&1
		rc=$?
		[ $rc = 2 ] || { cat "$TMP/ct.out"; fail "bpf: state: next to a foreign table inet tlsfw_conntrack: exit $rc, expected 2"; }
		grep -q "error: state: table inet tlsfw_conntrack exists but tlsfw did not make it" "$TMP/ct.out" ||
			{ cat "$TMP/ct.out"; fail "bpf: the refusal does not name the foreign table"; }
		printf 'version: 1\ninterfaces:\n  - name: lan0\n' >"$TMP/nostate.conf"
		tlsfw apply "$TMP/nostate.conf" >/dev/null 2>&1 || fail "bpf: apply without state:"
		tlsfw detach >/dev/null || fail "bpf: detach"
		foreign_same tlsfw_conntrack "bpf: apply and detach"
		ok "bpf: a foreign table inet tlsfw_conntrack: state: refused (exit 2), apply and detach leave it"
	fi
done
