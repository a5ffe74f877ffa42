#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# state: on a gateway that masquerades (source NAT out of wan0), under both backends. tc egress
# sees a packet after NAT, so a conntrack lookup by its addresses finds no entry; its state is
# the entry netfilter attached to it, as nftables' ct state reads it (bpf/ct.h). With default
# drop, lan0 and wan0 hooked both ways, new flows allowed only in from lan0 and out of wan0:
#  - the server sees the gateway's address, IPv4 and IPv6 (the NAT is there: witness);
#  - UDP exchanges and ping (3 echoes) cross, both families: the answers leave lan0 as
#    established, and out of wan0 the first packet of each flow is new, the later ones
#    established; the default line counts nothing; the backends' counters agree exactly;
#  - TCP (curl) crosses, both families: out of wan0 exactly one packet per connection is new
#    (its SYN), and the default line counts nothing; the FIN exchange completes;
#  - a connection the server starts towards the client is dropped on wan0's ingress (new).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

command -v socat >/dev/null || fail "socat (UDP and TCP servers) is not installed"
command -v curl >/dev/null || fail "curl is not installed"

pol=$(policy natstate <<EOF
version: 1
interfaces:
  - name: lan0
    hooks: [ingress, egress]
  - name: wan0
    hooks: [ingress, egress]
default: drop
rules:
  - name: from-lan
    interface: lan0
    direction: ingress
    action: allow
  # XDP's lookup knows TCP and UDP only (an echo reply is new there): a rule of its own
  - name: echo-back
    proto: [icmp, icmpv6]
    icmp_type: [echo-reply]
    interface: wan0
    direction: ingress
    action: allow
  - name: established
    state: [established, related]
    action: allow
  - name: new-out
    state: [new]
    interface: wan0
    direction: egress
    action: allow
EOF
)

# count JSON RULE IFACE DIR: packets
count() { stat_rule "$1" "$2" "$3" "$4" packets; }
# default_total JSON: packets on every default line; default_of JSON IFACE DIR: on one
default_total() { jget "$1" "sum(i['default']['packets'] for i in d['interfaces'])"; }
default_of() {
	jget "$1" "sum(i['default']['packets'] for i in d['interfaces'] if i['interface']=='$2' and i['direction']=='$3')"
}

for B in $BACKENDS; do
	topo_up "$B"
	gw nft -f - <<EOF || fail "$B: masquerade on wan0 (nft)"
table inet tlsfw_test_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade
	}
}
EOF
	bg srv socat UDP4-RECVFROM:5300,fork,reuseaddr SYSTEM:'read -r x; echo $SOCAT_PEERADDR'
	bg srv socat UDP6-RECVFROM:5300,fork,reuseaddr,ipv6only=1 SYSTEM:'read -r x; echo $SOCAT_PEERADDR'
	bg srv socat TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=0 SYSTEM:'echo hello'
	bg cli socat TCP-LISTEN:2222,fork,reuseaddr SYSTEM:'echo inside'
	sleep 0.5
	tlsfw apply "$(backend_policy "$pol" "$B")" >"$TMP/apply.$B" 2>&1 ||
		{ cat "$TMP/apply.$B"; fail "$B: apply"; }
	stats_json "$TMP/s0.$B.json"

	r=$(echo ping | cli socat -T 2 - UDP:$S4:5300)
	case $r in *10.10.2.1*) ;; *) fail "$B: UDP over IPv4 got '$r', not the gateway's address (masqueraded)" ;; esac
	r=$(echo ping | cli socat -T 2 - "UDP6:[$S6]:5300")
	case $r in *fd00:0002:0000:0000:0000:0000:0000:0001*) ;; *) fail "$B: UDP over IPv6 got '$r', not the gateway's address (masqueraded)" ;; esac
	ok "$B: UDP crosses, both families, and the server sees the gateway's address (NAT)"
	cli ping -c 3 -i 0.2 -W 1 -q "$S4" >/dev/null || fail "$B: ping over IPv4 through the NAT failed"
	cli ping -6 -c 3 -i 0.2 -W 1 -q "$S6" >/dev/null || fail "$B: ping over IPv6 through the NAT failed"
	ok "$B: ping crosses, both families"

	stats_json "$TMP/s1.$B.json"
	counters_save "$TMP/s1.$B.json" "$TMP/c.$B"
	for x in "established lan0 egress 8" "new-out wan0 egress 4" "established wan0 egress 4" \
		"established wan0 ingress 2" "echo-back wan0 ingress 6"; do
		set -- $x
		n=$(($(count "$TMP/s1.$B.json" $1 $2 $3) - $(count "$TMP/s0.$B.json" $1 $2 $3)))
		[ "$n" = "$4" ] || fail "$B: $1 on $2 $3 counted $n packets of the UDP and ping exchanges, expected $4"
	done
	[ "$(default_total "$TMP/s1.$B.json")" = 0 ] || fail "$B: the default line counted packets of the UDP and ping exchanges"
	ok "$B: answers leave lan0 established; out of wan0 one new packet per flow, the rest established"

	for a in "$S4" "[$S6]"; do
		r=$(cli curl -s -m 3 "telnet://$a:8080" </dev/null)
		[ "$r" = hello ] || fail "$B: TCP to $a through the NAT got '$r'"
	done
	sleep 0.3 # the last ACK of the FIN exchange
	stats_json "$TMP/s2.$B.json"
	n=$(($(count "$TMP/s2.$B.json" new-out wan0 egress) - $(count "$TMP/s1.$B.json" new-out wan0 egress)))
	[ "$n" = 2 ] || fail "$B: two TCP connections counted $n new packets out of wan0, expected their 2 SYNs"
	n=$(($(count "$TMP/s2.$B.json" established wan0 egress) - $(count "$TMP/s1.$B.json" established wan0 egress)))
	[ "$n" -ge 6 ] || fail "$B: two TCP connections counted $n established packets out of wan0 (ACK, FIN, ACK each at least)"
	[ "$(default_total "$TMP/s2.$B.json")" = 0 ] || fail "$B: the default line counted packets of the TCP connections"
	# the server closes first: its end waits in TIME-WAIT once the client's FIN came back
	srv ss -Htan '( sport = :8080 )' >"$TMP/ss.$B"
	[ "$(grep -c '^TIME-WAIT' "$TMP/ss.$B")" = 2 ] ||
		{ cat "$TMP/ss.$B"; fail "$B: the server's ends of the two connections are not both in TIME-WAIT"; }
	ok "$B: TCP crosses, both families: one new packet per connection out of wan0, none dropped, closed"

	[ "$(tcp_probe "$SRV" "$C4" 2222 2)" = timeout ] || fail "$B: a connection from the server towards the client was not dropped"
	stats_json "$TMP/s3.$B.json"
	[ "$(default_of "$TMP/s3.$B.json" wan0 ingress)" -ge 1 ] ||
		fail "$B: the server's SYN was not counted on wan0's default line"
	ok "$B: a connection started from the outside is dropped (new)"
	tlsfw detach >/dev/null || fail "$B: detach"
	gw nft delete table inet tlsfw_test_nat || fail "$B: delete the NAT table"
done
if [ "$BACKENDS" = "bpf nft" ]; then
	backends_agree "$TMP/c.bpf" "$TMP/c.nft" || fail "the backends' counters of the UDP and ping exchanges differ"
	ok "bpf and nft counted the UDP and ping exchanges alike"
fi
