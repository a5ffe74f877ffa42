#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An interface without an Ethernet header: the tun device of a real OpenVPN tunnel between the
# client and the gateway (UDP, a static key made here).
#  - backend bpf refuses it: exit 2, the error at the interface's line and column names its
#    link type, and the policy before stays enforced (its programs read Ethernet frames and
#    would see no IP packet there: enforcing nothing while saying it enforces);
#  - backend nft enforces the same policy on it: a datagram to UDP 9000 through the tunnel is
#    dropped and counted exactly once, one to 9001 is answered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nft_lib.sh"

command -v openvpn >/dev/null || fail "openvpn is not installed"
command -v socat >/dev/null || fail "socat is not installed"
topo_up
openvpn --genkey secret "$TMP/static.key" 2>/dev/null || fail "openvpn --genkey"
ovpn() { # ovpn NS LOG ARGS...: an OpenVPN peer on tun0 with the static key
	local ns=$1 log=$2
	shift 2
	bg ip netns exec "$ns" openvpn --dev tun0 --proto udp --cipher AES-256-CBC --auth SHA256 \
		--verb 3 --log "$log" "$@"
}
ovpn "$GW" "$TMP/gw.log" --lport 1194 --secret "$TMP/static.key" 0 --ifconfig 10.99.0.1 10.99.0.2
ovpn "$CLI" "$TMP/cli.log" --remote 10.10.1.1 1194 --secret "$TMP/static.key" 1 \
	--ifconfig 10.99.0.2 10.99.0.1 --ping 1
for i in $(seq 100); do
	grep -q "Initialization Sequence Completed" "$TMP/cli.log" 2>/dev/null && break
	sleep 0.1
done
cli ping -c1 -W2 10.99.0.1 >/dev/null || { cat "$TMP/cli.log"; fail "no tunnel"; }
gw ip -o link show tun0 | grep -q "link/none" || fail "the gateway's tun0 is not a link/none device"
bg gw socat UDP4-RECVFROM:9000,bind=10.99.0.1,fork,reuseaddr SYSTEM:'read -r x; echo nine-thousand'
bg gw socat UDP4-RECVFROM:9001,bind=10.99.0.1,fork,reuseaddr SYSTEM:'read -r x; echo nine-thousand-one'
sleep 0.3
[ "$(echo x | cli socat -T 2 - UDP:10.99.0.1:9000)" = nine-thousand ] || fail "UDP 9000 through the tunnel gets no answer without a policy"
ok "an OpenVPN tunnel on tun0 (link/none) carries UDP without a policy"

before=$(policy before <<EOF
version: 1
interfaces:
  - name: wan0
rules:
  - name: before
    proto: udp
    dport: 7777
    action: drop
EOF
)
pol=$(policy tun <<EOF
version: 1
interfaces:
  - name: wan0
  - name: tun0
rules:
  - name: no-9000
    proto: udp
    dport: 9000
    action: drop
EOF
)
tlsfw apply "$before" >"$TMP/a0" 2>&1 || { cat "$TMP/a0"; fail "apply of the policy before"; }
tlsfw apply "$pol" >"$TMP/a1" 2>&1
rc=$?
[ $rc = 2 ] || { cat "$TMP/a1"; fail "bpf: apply on tun0 exited $rc, not 2"; }
grep -q "^$pol:4:11: error: interface 'tun0' has no Ethernet header (link/none" "$TMP/a1" ||
	{ cat "$TMP/a1"; fail "bpf: the refusal does not name tun0's line, column and link type"; }
tlsfw status --json >"$TMP/st.json" || fail "status"
[ "$(jget "$TMP/st.json" "d['policy']['file']")" = "$before" ] ||
	{ cat "$TMP/st.json"; fail "bpf: the refused apply changed the enforced policy"; }
gw ip -o link show tun0 | grep -q "xdp" && fail "bpf: the refused apply left an XDP program on tun0"
ok "bpf: tun0 refused at $pol:4:11 (no Ethernet header), exit 2, the policy before still enforced"
tlsfw detach >/dev/null || fail "detach"

tlsfw apply "$(backend_policy "$pol" nft)" >"$TMP/a2" 2>&1 || { cat "$TMP/a2"; fail "nft: apply on tun0"; }
[ "$(echo x | cli socat -T 2 - UDP:10.99.0.1:9001)" = nine-thousand-one ] || fail "nft: UDP 9001 through the tunnel got no answer"
[ -z "$(echo x | cli socat -T 2 - UDP:10.99.0.1:9000)" ] || fail "nft: UDP 9000 through the tunnel was answered"
stats_json "$TMP/s.json"
[ "$(stat_rule "$TMP/s.json" no-9000 tun0 ingress packets)" = 1 ] ||
	{ cat "$TMP/s.json"; fail "nft: no-9000 on tun0 did not count exactly the one datagram"; }
ok "nft: enforces the policy on tun0 (9000 dropped and counted once, 9001 answered)"
