#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nftables backend and IP fragments, as tlsfw(8) describes them: with `fragments: follow`
# the first fragment of a datagram gets the rules and non-first fragments pass (counted), so a
# rejected datagram never reaches the server while an allowed one is reassembled there; with
# `fragments: drop` no fragmented datagram arrives at all. IPv4 and IPv6.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

topo_up
gw sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0

# big_udp NS ADDR PORT COUNT: COUNT datagrams of 3000 bytes (three fragments each at MTU 1500)
big_udp() {
	ip netns exec "$1" $PY - "$2" "$3" "$4" <<'EOP' || fail "sending big datagrams to $2 $3"
import socket, sys, time
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"seq %d " % i + b"x" * 2990, (addr, port))
    time.sleep(0.01)
EOP
}

run() { # MODE
	local mode=$1 p N=4 fam
	p=$(nft_policy "$ROOT/policies/block-quic-port.conf" "frag-$mode")
	sed -i "s/^default: allow/default: allow\nfragments: $mode/" "$p"
	grep -q "^fragments: $mode" "$p" || fail "cannot set fragments: $mode"
	nftfw apply "$p" >"$TMP/apply.out" 2>&1 || { cat "$TMP/apply.out"; fail "apply ($mode)"; }
	# counters are kept across apply (same rule, interface, direction): count from here
	local f0 fc="lan0/in/fragment-allowed"
	[ "$mode" = drop ] && fc="lan0/in/fragment-dropped"
	f0=$(nft_counter "$fc")
	sink_start "s$mode" 443,8080
	for a in "$S4" "$S6"; do
		big_udp "$CLI" "$a" 443 $N
		big_udp "$CLI" "$a" 8080 $N
	done
	sleep 0.5
	sink_stop "s$mode"
	for fam in 4 6; do
		got=$(sink_count "s$mode" $fam 443)
		[ "$got" = 0 ] || fail "fragments: $mode: IPv$fam: $got rejected datagrams were reassembled at the server"
		got=$(sink_count "s$mode" $fam 8080)
		if [ "$mode" = follow ]; then
			[ "$got" = $N ] || fail "fragments: follow: IPv$fam: $got of $N allowed datagrams arrived"
		else
			[ "$got" = 0 ] || fail "fragments: drop: IPv$fam: $got fragmented datagrams arrived"
		fi
	done
	if [ "$mode" = follow ]; then
		# each datagram: a first fragment (rules) and two non-first fragments (passed)
		got=$(($(nft_counter "$fc") - f0))
		[ "$got" = $((2 * 2 * 2 * N)) ] || fail "fragments: follow counted $got non-first fragments, expected $((8 * N))"
		got=$(nft_counter block-quic/lan0/in)
		[ "$got" = $((2 * N)) ] || fail "block-quic counted $got first fragments, expected $((2 * N))"
	else
		got=$(($(nft_counter "$fc") - f0))
		[ "$got" = $((2 * 2 * 3 * N)) ] || fail "fragments: drop counted $got fragments, expected $((12 * N))"
	fi
	ok "fragments: $mode behaves as documented (IPv4, IPv6)"
}

run follow
run drop
nftfw detach >/dev/null || fail "detach"
