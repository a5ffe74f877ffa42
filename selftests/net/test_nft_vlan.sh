#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nftables backend and VLAN tags, the difference tlsfw(8) documents: the ingress chain of lan0
# sees IP packets only: UDP 443 behind one 802.1Q tag is matched (the kernel strips that tag
# first), UDP 443 inside QinQ (802.1ad then 802.1Q) is not inspected there (no counter
# moves). Frames are built by hand and sent from the client's veth with a packet socket.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

topo_up
gw sysctl -qw net.ipv4.icmp_ratelimit=0
p=$(nft_policy "$ROOT/policies/block-quic-port.conf" quic)
nftfw apply "$p" >"$TMP/a1" 2>&1 || { cat "$TMP/a1"; fail "apply"; }

LANMAC=$(gw cat /sys/class/net/lan0/address)
# frames TAGS N: N UDP 443 datagrams client -> server, behind TAGS ("", "8100", "88a8 8100")
frames() {
	ip netns exec "$CLI" $PY - "$LANMAC" "$1" "$2" <<'EOP' || fail "sending frames"
import socket, struct, sys
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
src = bytes.fromhex(open("/sys/class/net/veth0/address").read().strip().replace(":", ""))
tags = b"".join(struct.pack("!HH", int(t, 16), 100 + i) for i, t in enumerate(sys.argv[2].split()))
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
payload = b"quic"
udp = struct.pack("!HHHH", 40000, 443, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("10.10.1.2"), socket.inet_aton("10.10.2.2"))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
frame = dst + src + tags + b"\x08\x00" + ip + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("veth0", 0))
for _ in range(int(sys.argv[3])):
    s.send(frame)
EOP
}

N=5
frames "" $N
sleep 0.3
got=$(nft_counter block-quic/lan0/in)
[ "$got" = $N ] || fail "untagged: block-quic counted $got, sent $N"
ok "untagged UDP 443 frames were counted by lan0's chain"
# one 802.1Q tag: the kernel moves it into the packet's metadata before the ingress hook, so
# the chain sees an IP packet and rejects it
frames "8100" $N
sleep 0.3
got=$(nft_counter block-quic/lan0/in)
[ "$got" = $((2 * N)) ] || fail "802.1Q: block-quic counted $((got - N)) of $N tagged frames"
ok "UDP 443 behind one 802.1Q tag was matched by lan0's chain"
# QinQ: after the outer 802.1ad tag is stripped the frame is still 802.1Q, not IP: the inet
# ingress hook lets it by uninspected
# The client's own IPv6 traffic (router solicitations, MLD reports, sent late on a loaded
# machine) would count on the default line in the window: keep the client quiet first.
cli sysctl -qw net.ipv6.conf.veth0.disable_ipv6=1
sleep 0.3
sum() { echo $(( $(nft_counter block-quic/lan0/in) + $(nft_counter "lan0/in/default") + $(nft_counter "lan0/in/fragment-allowed") )); }
before=$(sum)
frames "88a8 8100" $N
sleep 0.3
after=$(sum)
[ "$after" = "$before" ] || fail "lan0's chain counted $((after - before)) QinQ frames; tlsfw(8) says it sees none"
ok "QinQ frames bypass lan0's ingress chain, as documented (list the QinQ VLAN device instead)"
