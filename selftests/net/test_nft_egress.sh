#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nftables backend, the other hooks and modes: rules on wan0's egress (forward and output
# through the egress verdict map) drop and reject forwarded traffic, TCP rejects answer with a
# reset, a monitor rule counts and lets pass, a rule for one interface and direction stays
# there. Counters are exact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

topo_up
gw sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
sink_start s 443,5353,6000
eg=$(policy eg <<'EOP'
version: 1
backend: nft
interfaces:
  - name: lan0
  - name: wan0
    hooks: [egress]
rules:
  - name: watch-dns
    dport: 5353
    action: drop
    mode: monitor
  - name: out-quic
    interface: wan0
    direction: egress
    proto: udp
    dport: 443
    action: drop
  - name: out-tcp
    interface: wan0
    dport: 8443
    proto: tcp
    action: reject
  - name: in-tcp
    interface: lan0
    direction: ingress
    proto: tcp
    dport: 7443
    action: reject
  - name: in-only
    direction: ingress
    dport: 6000
    action: drop
EOP
)
nftfw apply "$eg" >"$TMP/a" 2>&1 || { cat "$TMP/a"; fail "apply"; }
gw nft list table inet tlsfw >"$TMP/t"
grep -q '"wan0" : jump wan0_out' "$TMP/t" || fail "no egress dispatch for wan0"
grep -q 'chain wan0_in' "$TMP/t" && fail "wan0 has an ingress chain without hooks: [ingress]"
grep -q 'out-quic/lan0' "$TMP/t" && fail "out-quic (wan0 egress only) has a counter on lan0"
grep -q 'in-only/wan0' "$TMP/t" && fail "in-only (ingress only) has a counter on wan0's egress"
nft_reads_back

N=6
send_udp "$CLI" "$S4" 443,5353,6000 $N
send_udp "$CLI" "$S6" 443,5353,6000 $N
r=$(tcp_probe "$CLI" "$S4" 8443)
[ "$r" = ECONNREFUSED ] || fail "TCP 8443 over IPv4: '$r', expected a reset"
r=$(tcp_probe "$CLI" "$S6" 8443)
[ "$r" = ECONNREFUSED ] || fail "TCP 8443 over IPv6: '$r', expected a reset"
ok "reject on wan0's egress answered TCP with a reset (IPv4, IPv6)"
r=$(tcp_probe "$CLI" "$S4" 7443)
[ "$r" = ECONNREFUSED ] || fail "TCP 7443 over IPv4 (lan0 ingress): '$r', expected a reset"
r=$(tcp_probe "$CLI" "$S6" 7443)
[ "$r" = ECONNREFUSED ] || fail "TCP 7443 over IPv6 (lan0 ingress): '$r', expected a reset"
ok "reject on lan0's ingress hook answered TCP with a reset (IPv4, IPv6)"
sleep 0.5
sink_stop s
for fam in 4 6; do
	[ "$(sink_count s $fam 443)" = 0 ] || fail "IPv$fam UDP 443 passed wan0's egress"
	[ "$(sink_count s $fam 5353)" = $N ] || fail "IPv$fam UDP 5353 (monitor): $(sink_count s $fam 5353) of $N arrived"
	[ "$(sink_count s $fam 6000)" = 0 ] || fail "IPv$fam UDP 6000 passed lan0's ingress"
done
ok "egress drop, monitor pass and ingress drop acted on the traffic (IPv4, IPv6)"
got=$(nft_counter out-quic/wan0/out)
[ "$got" = $((2 * N)) ] || fail "out-quic counted $got, sent $((2 * N))"
got=$(nft_counter watch-dns/lan0/in)
[ "$got" = $((2 * N)) ] || fail "watch-dns (monitor) counted $got on lan0, sent $((2 * N))"
# lan0's ingress and wan0's egress are separate hooks: the monitored datagrams pass both
got=$(nft_counter watch-dns/wan0/out)
[ "$got" = $((2 * N)) ] || fail "watch-dns counted $got on wan0's egress, sent $((2 * N))"
got=$(nft_counter in-only/lan0/in)
[ "$got" = $((2 * N)) ] || fail "in-only counted $got, sent $((2 * N))"
got=$(nft_counter out-tcp/wan0/out)
[ "$got" -ge 2 ] || fail "out-tcp counted $got, expected at least the two SYNs"
ok "every counter moved by exactly the packets sent"
