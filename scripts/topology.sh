#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A three-namespace topology for the demo and the network tests:
#
#   PREFIXc  veth0 ---- lan0  PREFIXgw  wan0 ---- veth0  PREFIXs
#   10.10.1.2/24        10.10.1.1/24    10.10.2.1/24     10.10.2.2/24
#   fd00:1::2/64        fd00:1::1/64    fd00:2::1/64     fd00:2::2/64
#
# The gateway forwards IPv4 and IPv6; client and server route through it. The gateway's
# interfaces are called lan0 and wan0 because the shipped policies name them so. Every name
# carries PREFIX, so tests and the demo can run side by side. The client's and server's veth
# ends are left as users have them: no XDP program, default offloads (tlsfw must answer
# rejects that reach them as they are).
#
# With TOPO_BRIDGE=1 the gateway bridges instead of routing: lan0 and wan0 are ports of br0
# (no addresses), client and server share 10.10.0.0/16 and fd00::/16 with the same
# addresses as above, so a test runs unchanged on a transparent (bridge-mode) gateway.
#
#   topology.sh up PREFIX      create (fails if PREFIXgw already exists)
#   topology.sh down PREFIX    delete whatever exists of it, ending what still runs inside
#   topology.sh reap NAMESPACE end the processes left in one namespace of ours (by PID)
set -eu

usage() {
	echo "usage: $0 up|down PREFIX | reap NAMESPACE" >&2
	exit 1
}

[ $# -eq 2 ] || usage
P=$2
C=${P}c
G=${P}gw
S=${P}s

# reap NS: end the processes still running in a namespace of ours (daemons that outlived a
# failed stop would keep the namespace alive after `ip netns del`), by PID: TERM, then KILL.
reap() {
	local ns=$1 pids i
	pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null || true
	for i in $(seq 20); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -9 $pids 2>/dev/null || true
}

down() {
	local ns
	for ns in "$C" "$G" "$S"; do
		reap "$ns"
		ip netns del "$ns" 2>/dev/null || true
	done
}

# Addresses are configured without duplicate address detection, so IPv6 is usable at once.
addr() { # ns dev v4 v6
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" -6 addr add "$4" dev "$2" nodad
	ip -n "$1" link set "$2" up
}

up() {
	if ip netns list | grep -qw "^$G"; then
		echo "$0: namespace $G exists already; run '$0 down $P' first" >&2
		exit 1
	fi
	trap 'down' ERR
	for ns in "$C" "$G" "$S"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0
	done
	# Create each pair with its ends already in their namespaces: no name ever exists in the
	# caller's namespace, so parallel topologies cannot collide.
	ip link add lan0 netns "$G" type veth peer name veth0 netns "$C"
	ip link add wan0 netns "$G" type veth peer name veth0 netns "$S"
	[ "${TOPO_BRIDGE:-0}" = 1 ] || addr "$C" veth0 10.10.1.2/24 fd00:1::2/64
	if [ "${TOPO_BRIDGE:-0}" = 1 ]; then
		bridge
		trap - ERR
		return
	fi
	addr "$G" lan0 10.10.1.1/24 fd00:1::1/64
	addr "$G" wan0 10.10.2.1/24 fd00:2::1/64
	addr "$S" veth0 10.10.2.2/24 fd00:2::2/64
	ip netns exec "$G" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$C" route add default via 10.10.1.1
	ip -n "$C" -6 route add default via fd00:1::1
	ip -n "$S" route add default via 10.10.2.1
	ip -n "$S" -6 route add default via fd00:2::1
	trap - ERR
}

# The gateway as a bridge: one link for client and server, no route.
bridge() {
	addr "$C" veth0 10.10.1.2/16 fd00:1::2/16
	addr "$S" veth0 10.10.2.2/16 fd00:2::2/16
	ip -n "$G" link add br0 type bridge
	ip -n "$G" link set lan0 master br0
	ip -n "$G" link set wan0 master br0
	ip -n "$G" link set lan0 up
	ip -n "$G" link set wan0 up
	ip -n "$G" link set br0 up
}

case $1 in
up) up ;;
down) down ;;
reap) reap "$P" ;; # P is a whole namespace name here
*) usage ;;
esac
