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
# ingress filter decides and builds the answers itself. In every BPF mode a datagram behind
# an 802.1Q tag is answered behind the same tag. Then the same rules on the gateway's lo,
# probed from the gateway itself, on each backend.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

MODES=${MODES:-auto native generic jumbo tc}

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
			r=$(udp_icmp "$ns" "$a" $port 2)
			[ "$r" = "$want" ] || fail "$run: UDP $a port $port: '$r', expected ICMP '$want' (administratively prohibited)"
			r=$(tcp_probe "$ns" "$a" $port 2)
			[ "$r" = ECONNREFUSED ] || fail "$run: TCP $a port $port: '$r', expected a RST (ECONNREFUSED)"
		done
		r=$(udp_probe "$ns" "$a" 6002 2)
		[ "$r" = timeout ] || [ "$r" = ECONNREFUSED ] || fail "$run: control: UDP $a port 6002: $r"
	done
}

# vlan_reject: a UDP datagram to port 6000 behind an 802.1Q tag (VLAN 100), sent by hand
# from the client's veth0; prints the VLAN of the ICMP "administratively prohibited" that
# answers it ("untagged"), or "none" within 2 s. Where XDP hands the answer to tc without
# metadata (architecture.md, "Kernels without XDP metadata"), tc rewrites the headers in
# front of the tag: the answer must come back tagged.
vlan_reject() {
	ip netns exec "$CLI" $PY - "$(gw cat /sys/class/net/lan0/address)" "$S4" <<'EOP' || fail "vlan_reject"
import socket, struct, sys, time
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
src = bytes.fromhex(open("/sys/class/net/veth0/address").read().strip().replace(":", ""))
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
udp = struct.pack("!HHHH", 40000, 6000, 12, 0) + b"vlan"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("10.10.1.2"), socket.inet_aton(sys.argv[2]))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("veth0", 0))
s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA: a tag the kernel took off the frame
s.send(dst + src + struct.pack("!HH", 0x8100, 100) + b"\x08\x00" + ip + udp)
end = time.time() + 2
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        data, anc, _, addr = s.recvmsg(4096, socket.CMSG_SPACE(20))
    except socket.timeout:
        break
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    vid, off = "untagged", 12
    for lvl, typ, d in anc:
        if lvl == 263 and typ == 8 and struct.unpack("I", d[:4])[0] & 0x10:  # TP_STATUS_VLAN_VALID
            vid = struct.unpack("H", d[16:18])[0] & 0xfff
    if data[12:14] == b"\x81\x00":
        vid, off = struct.unpack("!H", data[14:16])[0] & 0xfff, 16
    if data[off:off + 2] != b"\x08\x00":
        continue
    q = data[off + 2:]
    # ICMP 3/13 quoting our datagram (its destination port 6000)
    if q[9] == 1 and q[20:22] == b"\x03\x0d" and q[28 + 22:28 + 24] == struct.pack("!H", 6000):
        print(vid)
        sys.exit(0)
print("none")
EOP
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
	local B=$1 mode=$2 name="$1-$2" sent failed fault= r
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
	# the nft backend warns of what nftables cannot do (fragments, QinQ) on stderr
	[ "$B" != bpf ] || [ ! -s "$TMP/apply.err" ] ||
		{ cat "$TMP/apply.err"; fail "$name: apply wrote to stderr"; }
	if [ "$name" = bpf-jumbo ]; then
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
		gw tc filter show dev lan0 ingress | grep -q tlsfw_tc_reply ||
			fail "$name: no reply program on lan0's tc ingress"
	fi
	expect_rejects "$name"
	ok "$name: reject answered UDP with ICMP administratively prohibited and TCP with RST, on ingress and egress, IPv4 and IPv6"
	sink_stop "r$name"
	[ "$(sink_count "r$name" 4 6000)" = 0 ] && [ "$(sink_count "r$name" 6 6001)" = 0 ] ||
		fail "$name: a rejected datagram reached the server"
	stats_json "$TMP/s.$name.json"
	[ "$(stat_rule "$TMP/s.$name.json" reject-6000-in lan0 ingress packets)" = 4 ] || fail "$name: reject-6000-in did not count 4"
	[ "$(stat_rule "$TMP/s.$name.json" reject-6001-out wan0 egress packets)" = 4 ] || fail "$name: reject-6001-out did not count 4"
	if [ "$B" = bpf ]; then
		# the nft backend has no reason counters: nftables sends the answers itself
		sent=$(jget "$TMP/s.$name.json" "sum(r['packets'] for r in d['reasons'] if r['reason']=='reject-sent')")
		failed=$(jget "$TMP/s.$name.json" "sum(r['packets'] for r in d['reasons'] if r['reason']=='reject-failed')")
		[ "$sent" = 8 ] && [ "$failed" = 0 ] || fail "$name: reject-sent $sent, reject-failed $failed; expected 8 and 0"
		ok "$name: 8 answers sent, none failed"
	fi
	ok "$name: counters: 4 + 4 rejects"
	counters_save "$TMP/s.$name.json" "$TMP/c.$B"
	# after the counters the backends compare
	if [ "$B" = bpf ]; then
		r=$(vlan_reject)
		[ "$r" = 100 ] || fail "$name: a datagram behind VLAN 100 was answered '$r', expected a tagged ICMP (VLAN 100)"
		ok "$name: a datagram behind an 802.1Q tag got its answer behind the same tag"
	fi
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
