#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# action: reject on lan0's ingress and wan0's egress, with nothing on the client's or the
# server's veth (no XDP program, default offloads: what users have). A UDP client must get
# ICMP "administratively prohibited" (type 3 code 13; ICMPv6 type 1 code 1) from the address
# it sent to, and a TCP client a RST (ECONNREFUSED), at once, IPv4 and IPv6. Under the BPF
# backend in each xdp_mode of lan0 (auto, native, generic: XDP on veth hands the reply to tc,
# see architecture.md "Reject everywhere"), and under the nft backend (ingress hook, forward
# chain); every run counts exactly 4 + 4, and the backends must agree. Mode jumbo: auto with
# lan0 and its peer at MTU 9000, where veth refuses native XDP: xdp_mode native fails with the
# kernel's reason and changes nothing, auto falls back to generic and says why. Mode tc: auto
# where XDP cannot attach at all (TLSFW_XDP_FAULT=refuse stands in for such a device): a tc
# ingress filter decides and builds the answers itself. Then the same rules on the gateway's
# lo, probed from the gateway itself, on each backend.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

MODES=${MODES:-auto native generic jumbo tc}
# Without XDP metadata (some kernels refuse bpf_xdp_adjust_meta to XDP), XDP cannot hand an
# answer to tc: auto takes tc ingress on a veth; native answers with XDP_TX, which the veth
# drops (its peer runs no XDP), and apply warns; generic's XDP_TX reaches the client.
NO_META=
xdp_meta || NO_META=1
NO_XDP_LINE="  XDP not used: its XDP_TX does not reach the sender here and this kernel's XDP cannot hand a reject's answer to tc (bpf_xdp_adjust_meta refused)"

# policy_in MODE: the reject policy with lan0 in xdp_mode MODE
policy_in() {
	policy_of "reject-$1" "  - name: lan0
    xdp_mode: $1
  - name: wan0
    hooks: [egress]"
}

# policy_of NAME INTERFACES: the two reject rules with that interfaces: list
policy_of() {
	policy "$1" <<EOF2
version: 1
interfaces:
$2
default: allow
rules:
  - name: reject-6000-in
    dport: 6000
    direction: ingress
    action: reject
  - name: reject-6001-out
    dport: 6001
    direction: egress
    action: reject
EOF2
}

# expect_rejects RUN [NS ADDRESS...]: every probe from NS (the client) to each ADDRESS (the
# server's) is answered by the reject, nothing else is
# LOST=PORT: that port's answers are expected to be lost (timeouts)
expect_rejects() {
	local run=$1 ns=$CLI a port r want addrs=("$S4" "$S6")
	if [ $# -gt 1 ]; then
		ns=$2
		shift 2
		addrs=("$@")
	fi
	for a in "${addrs[@]}"; do
		want="icmp 3 13"
		[[ $a == *:* ]] && want="icmp6 1 1"
		for port in 6000 6001; do
			if [ "$port" = "${LOST:-}" ]; then
				# UDP only: a TCP client would retransmit its SYN, and the count
				# below is exact
				r=$(udp_icmp "$ns" "$a" $port 1)
				[ "$r" = timeout ] || fail "$run: UDP $a port $port: '$r', expected no answer"
				continue
			fi
			r=$(udp_icmp "$ns" "$a" $port 2)
			[ "$r" = "$want" ] || fail "$run: UDP $a port $port: '$r', expected ICMP '$want' (administratively prohibited)"
			r=$(tcp_probe "$ns" "$a" $port 2)
			[ "$r" = ECONNREFUSED ] || fail "$run: TCP $a port $port: '$r', expected a RST (ECONNREFUSED)"
		done
		r=$(udp_probe "$ns" "$a" 6002 2)
		[ "$r" = timeout ] || [ "$r" = ECONNREFUSED ] || fail "$run: control: UDP $a port 6002: $r"
	done
}

# expect_jumbo: lan0 and its peer at MTU 9000; xdp_mode native is refused with the kernel's
# reason at lan0's line, exit 2, nothing attached
expect_jumbo() {
	local rc=0
	gw ip link set lan0 mtu 9000 && cli ip link set veth0 mtu 9000 || fail "MTU 9000"
	tlsfw apply "$(policy_in native)" >"$TMP/native.out" 2>&1 || rc=$?
	[ $rc = 2 ] && grep -q ":3:11: error: lan0: cannot attach XDP in native mode: veth: Peer MTU is too large to set XDP (Numerical result out of range)" "$TMP/native.out" ||
		{ cat "$TMP/native.out"; fail "native XDP at MTU 9000: exit $rc, expected 2 and the kernel's reason at lan0's line"; }
	! grep -q "^libbpf" "$TMP/native.out" || fail "native XDP at MTU 9000: libbpf's own message printed"
	tlsfw status | grep -q "nothing enforced" || fail "native XDP at MTU 9000 left something attached"
	ok "MTU 9000: xdp_mode native refused with the kernel's reason, nothing attached"
}

# run B MODE: one backend (and xdp_mode) on a fresh topology
run() {
	local B=$1 mode=$2 name="$1-$2" sent failed fault= lost=
	topo_up "$name"
	# Eight rejects in a row: no ICMP rate limit for the answers the gateway's stack sends
	# (the nft backend's reject; the BPF backend builds its own).
	gw sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
	sink_start "r$name" 6000,6001
	bg srv socat TCP6-LISTEN:6000,ipv6only=0,reuseaddr,fork OPEN:/dev/null
	bg srv socat TCP6-LISTEN:6001,ipv6only=0,reuseaddr,fork OPEN:/dev/null
	if [ "$mode" = jumbo ]; then
		expect_jumbo
		mode=auto
	fi
	[ "$mode" = tc ] && fault=refuse mode=auto
	TLSFW_XDP_FAULT=$fault tlsfw apply "$(backend_policy "$(policy_in "$mode")" "$B")" \
		>"$TMP/apply.out" 2>"$TMP/apply.err" ||
		{ cat "$TMP/apply.out" "$TMP/apply.err"; fail "apply ($name)"; }
	if [ "$name" = bpf-native ] && [ -n "$NO_META" ]; then
		grep -q "warning: lan0: a reject's answer leaves native XDP with XDP_TX, .*bpf_xdp_adjust_meta refused" \
			"$TMP/apply.err" || { cat "$TMP/apply.err"; fail "$name: no warning that the answers cannot reach"; }
		ok "$name: no XDP metadata here: apply warns that native XDP's answers are lost on a veth"
		: >"$TMP/apply.err"
		lost=6000 # lan0's ingress: XDP_TX into a veth whose peer runs no XDP
	fi
	# the nft backend warns of what nftables cannot do (fragments, QinQ) on stderr
	[ "$B" != bpf ] || [ ! -s "$TMP/apply.err" ] ||
		{ cat "$TMP/apply.err"; fail "$name: apply wrote to stderr"; }
	if [ "$B" = bpf ] && [ -n "$NO_META" ] && { [ "$mode" = auto ] || [ "$mode" = tc ]; }; then
		grep -qx "lan0: ingress tc" "$TMP/apply.out" && grep -qxF "$NO_XDP_LINE" "$TMP/apply.out" ||
			{ cat "$TMP/apply.out"; fail "$name: no XDP metadata here: lan0 should take tc ingress and say why"; }
		! gw ip link show lan0 | grep -q xdp || fail "$name: an XDP program is attached to lan0"
		gw tc filter show dev lan0 ingress | grep -q tlsfw_tc_ingres ||
			fail "$name: no tlsfw_tc_ingress on lan0's tc ingress"
		ok "$name: no XDP metadata here: auto takes a tc ingress filter, which answers itself"
	elif [ "$name" = bpf-jumbo ]; then
		grep -q "^lan0: ingress XDP generic" "$TMP/apply.out" &&
			grep -qx "  native XDP refused by the kernel: veth: Peer MTU is too large to set XDP" \
				"$TMP/apply.out" || { cat "$TMP/apply.out"; fail "$name: no fallback to generic with the kernel's reason"; }
		ok "$name: MTU 9000: auto falls back to XDP generic and prints the kernel's reason"
	elif [ "$name" = bpf-tc ]; then
		grep -qx "lan0: ingress tc" "$TMP/apply.out" ||
			{ cat "$TMP/apply.out"; fail "$name: lan0 did not fall back to tc ingress"; }
		! gw ip link show lan0 | grep -q xdp || fail "$name: an XDP program is attached to lan0"
		gw tc filter show dev lan0 ingress | grep -q tlsfw_tc_ingres ||
			fail "$name: no tlsfw_tc_ingress on lan0's tc ingress"
		ok "$name: XDP refused in both modes: auto falls back to a tc ingress filter"
	elif [ "$B" = bpf ]; then
		grep -q "^lan0: ingress XDP ${mode/auto/native}" "$TMP/apply.out" ||
			{ cat "$TMP/apply.out"; fail "$name: lan0 is not on XDP ${mode/auto/native}"; }
		if [ -n "$NO_META" ]; then
			! gw tc filter show dev lan0 ingress | grep -q tlsfw_tc_reply ||
				fail "$name: a reply program on lan0's tc ingress, with no XDP metadata to read"
		else
			gw tc filter show dev lan0 ingress | grep -q tlsfw_tc_reply ||
				fail "$name: no reply program on lan0's tc ingress"
		fi
	fi
	LOST=$lost expect_rejects "$name"
	if [ -n "$lost" ]; then
		ok "$name: reject answered on egress, IPv4 and IPv6; ingress answers lost as warned"
	else
		ok "$name: reject answered UDP with ICMP administratively prohibited and TCP with RST, on ingress and egress, IPv4 and IPv6"
	fi
	sink_stop "r$name"
	[ "$(sink_count "r$name" 4 6000)" = 0 ] && [ "$(sink_count "r$name" 6 6001)" = 0 ] ||
		fail "$name: a rejected datagram reached the server"
	stats_json "$TMP/s.$name.json"
	local want_in=4
	[ -z "$lost" ] || want_in=2 # UDP only (expect_rejects)
	[ "$(stat_rule "$TMP/s.$name.json" reject-6000-in lan0 ingress packets)" = $want_in ] || fail "$name: reject-6000-in did not count $want_in"
	[ "$(stat_rule "$TMP/s.$name.json" reject-6001-out wan0 egress packets)" = 4 ] || fail "$name: reject-6001-out did not count 4"
	if [ "$B" = bpf ]; then
		# the nft backend has no reason counters: nftables sends the answers itself
		sent=$(jget "$TMP/s.$name.json" "sum(r['packets'] for r in d['reasons'] if r['reason']=='reject-sent')")
		failed=$(jget "$TMP/s.$name.json" "sum(r['packets'] for r in d['reasons'] if r['reason']=='reject-failed')")
		[ "$sent" = $((want_in + 4)) ] && [ "$failed" = 0 ] || fail "$name: reject-sent $sent, reject-failed $failed; expected $((want_in + 4)) and 0"
		ok "$name: $((want_in + 4)) answers sent, none failed"
	fi
	ok "$name: counters: $want_in + 4 rejects"
	counters_save "$TMP/s.$name.json" "$TMP/c.$B"
	tlsfw detach >/dev/null || fail "detach ($name)"
}

# run_lo B: the same rules on the gateway's lo, probed from the gateway itself. lo's egress
# is its ingress: a reply re-received there would be routed anew and dropped as a martian
# (IPv4 source 127.0.0.1 or another local address), so tc sends it out of lo again.
run_lo() {
	local B=$1
	topo_up "lo-$B"
	gw ip addr add 10.99.0.1/32 dev lo || fail "address on lo"
	bg gw socat TCP6-LISTEN:6000,ipv6only=0,reuseaddr,fork OPEN:/dev/null
	bg gw socat TCP6-LISTEN:6001,ipv6only=0,reuseaddr,fork OPEN:/dev/null
	policy_of reject-lo "  - name: lo
    hooks: [ingress, egress]" >/dev/null
	tlsfw apply "$(backend_policy "$TMP/reject-lo.conf" "$B")" >"$TMP/apply.out" 2>&1 ||
		{ cat "$TMP/apply.out"; fail "apply on lo ($B)"; }
	expect_rejects "lo ($B)" "$GW" 127.0.0.1 10.99.0.1 ::1
	stats_json "$TMP/s.lo-$B.json"
	[ "$(stat_rule "$TMP/s.lo-$B.json" reject-6000-in lo ingress packets)" = 6 ] &&
		[ "$(stat_rule "$TMP/s.lo-$B.json" reject-6001-out lo egress packets)" = 6 ] ||
		fail "lo ($B): each rule should count 6"
	ok "lo ($B): reject answered on lo's ingress and egress, 127.0.0.1, a local address, ::1"
	tlsfw detach >/dev/null || fail "detach lo ($B)"
}

for B in $BACKENDS; do
	if [ "$B" = bpf ]; then
		for mode in $MODES; do
			run bpf "$mode"
		done
	else
		run "$B" auto # xdp_mode means nothing to nftables
	fi
	run_lo "$B"
done
[ "$BACKENDS" = "bpf nft" ] || exit 0
backends_agree "$TMP/c.bpf" "$TMP/c.nft" || fail "the backends' counters differ"
ok "bpf and nft agree on every counter (packets; bytes + Ethernet)"
