#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The nftables backend on a real gateway: policies/block-quic-port.conf, then (replacing it in
# one batch) policies/block-dot.conf, both with `backend: nft`. Blocked datagrams never reach
# the server, allowed ones all do, over IPv4 and IPv6; a TLS handshake over TCP 443 completes;
# the rules' named counters (read with `nft`, as a witness) move by exactly what was sent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

topo_up
# The gateway answers many rejects in a row: no ICMP rate limit in its (test) namespace.
gw sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
tls_server 443
sink_start s1 443,80,853,53

quic=$(nft_policy "$ROOT/policies/block-quic-port.conf" quic)
nftfw apply "$quic" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply block-quic (nft)"; }
cat "$TMP/apply.out"
gw nft list table inet tlsfw >"$TMP/quic.nft" || fail "no table inet tlsfw after apply"
cat "$TMP/quic.nft"
grep -q 'hook ingress device "lan0"' "$TMP/quic.nft" || fail "no ingress chain on lan0"
grep -q 'udp . 443' "$TMP/quic.nft" || fail "udp . 443 is not in a set"
grep -q 'goto tlsfw_reject comment "block-quic (line' "$TMP/quic.nft" || fail "block-quic is not a commented reject rule"
gw nft list ruleset | grep -q 'prog/xdp' && fail "an XDP program appeared"
gw ip -d link show lan0 | grep -q 'prog/xdp' && fail "the nft backend attached XDP"
nft_reads_back
ok "the listing of table inet tlsfw reads back with nft -f"

N=7
send_udp "$CLI" "$S4" 443,80 $N
send_udp "$CLI" "$S6" 443,80 $N
sleep 0.5
tls_handshake "$S4" 443 || fail "TLS handshake over IPv4 TCP 443 failed"
tls_handshake "$S6" 443 || fail "TLS handshake over IPv6 TCP 443 failed"
ok "TLS over TCP 443 works (IPv4, IPv6)"

got=$(nft_counter block-quic/lan0/in)
[ "$got" = $((4 * N)) ] || fail "block-quic counted $got packets, sent $((4 * N))"
ok "block-quic counted exactly $((4 * N)) packets"
got=$(nft_counter allow-https/lan0/in)
[ "$got" -gt 0 ] || fail "allow-https counted nothing of two TLS handshakes"
ok "allow-https counted $got packets"
bytes=$(nft_counter_bytes block-quic/lan0/in)
[ "$bytes" -ge $((4 * N * 28)) ] || fail "block-quic counted only $bytes bytes"
# reject answers at once: ICMP administratively prohibited (3/13, ICMPv6 1/1), not silence
r=$(udp_probe "$CLI" "$S4" 443)
[ "$r" = EHOSTUNREACH ] || fail "UDP 443 over IPv4: '$r', expected EHOSTUNREACH (ICMP 3/13)"
r=$(udp_probe "$CLI" "$S6" 443)
[ "$r" = EACCES ] || fail "UDP 443 over IPv6: '$r', expected EACCES (ICMPv6 1/1)"
ok "reject answered with ICMP administratively prohibited (IPv4, IPv6)"
got=$(nft_counter block-quic/lan0/in)
[ "$got" = $((4 * N + 2)) ] || fail "block-quic counted $got packets after two probes, expected $((4 * N + 2))"
N2=$((4 * N + 2))
# the product reads the same counters back
nftfw stats --json --exact >"$TMP/stats.json" 2>/dev/null && [ -s "$TMP/stats.json" ] &&
	jget "$TMP/stats.json" "d['rules']" >/dev/null 2>&1 && {
	got=$(stat_rule "$TMP/stats.json" block-quic lan0 ingress packets)
	[ "$got" = $N2 ] || fail "tlsfw stats says block-quic counted $got, sent $N2"
	ok "tlsfw stats agrees"
} || {
	nftfw stats >"$TMP/stats.txt" || fail "stats"
	got=$(awk '$1 == "block-quic" && $4 == "lan0" && $5 == "ingress" { print $6 }' "$TMP/stats.txt")
	[ "$got" = $N2 ] || fail "the stats reader says block-quic counted $got, sent $N2"
	ok "the counter reader agrees"
}

# Replace with block-dot: QUIC passes again, DoQ (udp/853) does not, DNS does.
dot=$(nft_policy "$ROOT/policies/block-dot.conf" dot)
nftfw apply "$dot" >"$TMP/apply2.out" 2>&1 || { cat "$TMP/apply2.out"; fail "apply block-dot (nft)"; }
gw nft list tables | grep -c 'inet tlsfw' | grep -qx 1 || fail "not exactly one table inet tlsfw"
gw nft list table inet tlsfw | grep -q 'block-quic' && fail "block-quic survived the replacement"
send_udp "$CLI" "$S4" 443,853,53 $N
send_udp "$CLI" "$S6" 443,853,53 $N
tcp_probe "$CLI" "$S4" 853 1 >"$TMP/tcp853" || true
[ "$(cat "$TMP/tcp853")" = timeout ] || fail "TCP 853 answered: $(cat "$TMP/tcp853") (expected a silent drop)"
sleep 0.5
sink_stop s1

for fam in 4 6; do
	for port in 80 853; do
		got=$(sink_count s1 $fam $port)
		[ "$got" = 0 ] || fail "IPv$fam UDP $port: $got datagrams reached the server"
	done
	got=$(sink_count s1 $fam 443)
	[ "$got" = $N ] || fail "IPv$fam UDP 443 after the replacement: $got of $N arrived"
	got=$(sink_count s1 $fam 53)
	[ "$got" = $N ] || fail "IPv$fam UDP 53: $got of $N arrived"
done
ok "blocked datagrams never arrived, allowed ones all did (IPv4, IPv6)"

got=$(nft_counter allow-dns/lan0/in)
[ "$got" = $((2 * N)) ] || fail "allow-dns counted $got packets, sent $((2 * N))"
got=$(nft_counter block-dot/lan0/in)
# 2N datagrams plus the SYN (and its retransmissions) of one TCP attempt
[ "$got" -gt $((2 * N)) ] && [ "$got" -le $((2 * N + 4)) ] ||
	fail "block-dot counted $got packets, expected $((2 * N)) datagrams and 1-4 SYNs"
got=$(nft_counter "lan0/in/default")
[ "$got" -ge $((2 * N)) ] || fail "the default rule counted $got packets, expected >= $((2 * N)) (udp/443)"
ok "block-dot, allow-dns and default counters moved as expected"

# one backend at a time: a policy of the other is refused (exit 2), and says what stays
# in force (2026-12-06: it said "nothing is attached")
gw nft list table inet tlsfw >"$TMP/before.nft" || fail "nft list before the bpf apply"
nftfw apply "$ROOT/policies/block-quic.conf" >"$TMP/bpf.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "runs backend: nft" "$TMP/bpf.out" &&
	grep -q "nothing applied; the previous policy is still enforced" "$TMP/bpf.out" ||
	{ cat "$TMP/bpf.out"; fail "a backend: bpf apply over backend: nft: exit $rc, or not the message"; }
gw nft list table inet tlsfw | cmp -s - "$TMP/before.nft" || fail "the refused bpf apply changed table inet tlsfw"
gw ip -d link show lan0 | grep -q 'prog/xdp' && fail "the refused bpf apply attached XDP"
ok "a backend: bpf policy over backend: nft is refused and the nft policy stays"

nftfw detach >/dev/null || fail "detach"
gw nft list table inet tlsfw >/dev/null 2>&1 && fail "table inet tlsfw survived detach"
ok "detach removed table inet tlsfw"

# apply and detach return once the kernel acknowledged the batch; the last close of their
# netlink socket, which waits for the kernel to free the previous ruleset, is a child's
# (nft_socket_close), which must be gone soon after.
out=$(nftfw apply "$dot" 2>&1) || { echo "$out"; fail "apply again"; }
out=$(nftfw detach 2>&1) || { echo "$out"; fail "detach again"; }
for i in $(seq 50); do
	left=$(for pid in $(ip netns pids "$GW"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tlsfw ] && echo "$pid"
	done)
	[ -z "$left" ] && break
	sleep 0.1
done
[ -z "$left" ] || fail "tlsfw processes still in the gateway 5 s after apply and detach: $left"
ok "apply and detach left no process behind"

nftfw apply "$ROOT/policies/block-quic.conf" >"$TMP/bpf.out" 2>&1 || { cat "$TMP/bpf.out"; fail "apply block-quic.conf (bpf)"; }
nftfw apply "$dot" >"$TMP/nft.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "runs backend: bpf" "$TMP/nft.out" &&
	grep -q "nothing applied; the previous policy is still enforced" "$TMP/nft.out" ||
	{ cat "$TMP/nft.out"; fail "a backend: nft apply over backend: bpf: exit $rc, or not the message"; }
gw nft list table inet tlsfw >/dev/null 2>&1 && fail "the refused nft apply made table inet tlsfw"
nftfw status | grep -q "block-quic.conf" || fail "block-quic.conf is no longer enforced after the refused nft apply"
nftfw detach >/dev/null || fail "detach (bpf)"
ok "a backend: nft policy over backend: bpf is refused and the bpf policy stays"
